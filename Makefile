# scooptrace: every target builds .venv from the lock file first, so a fresh clone needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The app's port for `make demo` (`make demo PORT=8600` when 8501 is taken).
PORT ?= 8501

.PHONY: install native test lint demo bench bench-dates clean lock

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.lock
	@# setuptools prints an information box on every editable install; it is not an error, so it is hushed.
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The clustering core compiled with mypyc (cluster/native.py): rebuilt when one of its sources changes; until
# then, and wherever it cannot be built (no C compiler), the same core runs as pure Python: a failed build is not
# a failed install (its last line says why; the whole log is in .venv/native-build.log).
NATIVE := cluster/_native/manifest.json
NATIVE_SOURCES := $(addprefix cluster/,stories.py features.py text.py syndication.py model.py params.py)

$(NATIVE): $(STAMP) $(NATIVE_SOURCES)
	$(BIN)/python -m cluster.native_build > $(VENV)/native-build.log 2>&1; tail -n 1 $(VENV)/native-build.log

native: $(NATIVE)

install: $(STAMP) $(NATIVE)

# One test file per worker process, as many workers as cores: a file's fixtures (a demo database, a server)
# are built once, and the slow files run side by side.
test: $(STAMP) $(NATIVE)
	$(BIN)/python -m pytest -q -n auto --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The port is checked first, before anything is installed or built: a busy port is an error, not a success.
demo:
	@$(PYTHON) scooptrace/demo/portcheck.py $(PORT)
	@test -f $(STAMP) || echo "first run: building .venv from requirements.lock (a few minutes)"
	@$(MAKE) -s --no-print-directory install
	$(BIN)/scooptrace demo --port $(PORT)

bench: $(STAMP) $(NATIVE)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/cluster.py
	$(BIN)/python bench/app.py
	$(BIN)/python bench/alerts.py
	$(BIN)/python bench/dates.py
	$(BIN)/python bench/storage.py

# Publication times on the saved real pages (tests/data/pages) behind weak feeds.
bench-dates: $(STAMP)
	$(BIN)/python bench/dates.py --show-misses

# Re-pin every dependency (run by a developer, never by CI).
lock:
	$(PYTHON) -m venv /tmp/scooptrace-lock
	/tmp/scooptrace-lock/bin/pip install --quiet --upgrade pip
	/tmp/scooptrace-lock/bin/pip install --quiet -e ".[dev]"
	/tmp/scooptrace-lock/bin/pip freeze --exclude-editable | grep -v '^scooptrace' > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache cluster/_native
