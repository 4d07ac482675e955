"""The README's examples work as written.

Every statement of every ```sql block runs through the real CLI (``scooptrace sql --db DB "QUERY"``, a
subprocess) against a database the tool itself writes (``scooptrace import`` of the outage set plus
``scooptrace signals import`` of the Amazon complaint curve). Queries about "the last hour", "this week" or
"this month" must count back from the data, not from the wall clock, so they answer on an imported archive
and on the demo (dated October 2026): they must return at least one row here. And every command line the
README shows uses only options the command has.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import click
import pytest

from scooptrace.cli import cli, register_commands
from tests.conftest import SCOOPTRACE

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DATA = ROOT / "tests" / "data"
# Words that make a query depend on time: such a query must count back from the newest data.
RELATIVE = re.compile(r"\bINTERVAL\b|date_trunc\s*\(\s*'(?:month|week|year)'", re.IGNORECASE)
WALL_CLOCK = re.compile(r"\bnow\s*\(\s*\)|\bcurrent_(?:timestamp|date)\b|\btoday\s*\(", re.IGNORECASE)
SHELL_BLOCKS = ("sh", "cron", "ini")


def code_blocks(text: str, language: str) -> list[tuple[int, str]]:
    """The ```LANGUAGE blocks of a markdown text, each with the line its fence opens on."""
    blocks: list[tuple[int, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == f"```{language}":
            start = i + 1
            end = start
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            blocks.append((start, "\n".join(lines[start:end])))
            i = end
        i += 1
    return blocks


def statements(block: str) -> list[str]:
    """The statements of a SQL block: split where a line ends with ';', comment lines dropped."""
    found: list[str] = []
    current: list[str] = []
    for line in block.splitlines():
        if line.strip().startswith("--") or not line.strip():
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            found.append("\n".join(current).rstrip().rstrip(";"))
            current = []
    if current:
        found.append("\n".join(current))
    return found


def readme_queries() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    out = []
    for line, block in code_blocks(text, "sql"):
        for n, query in enumerate(statements(block), 1):
            out.append((f"README.md:{line}#{n}", query))
    return out


QUERIES = readme_queries()


def run_sql(db: Path, query: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCOOPTRACE, "sql", "--db", str(db), query], capture_output=True, text=True, timeout=180, check=False
    )


@pytest.fixture(scope="module")
def readme_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("readme") / "news.ducklake"
    for args in (
        ["import", "--db", str(db), str(DATA / "cluster_outages.csv")],
        ["signals", "import", "--db", str(db), str(DATA / "signals_amazon_complaints.csv")],
    ):
        done = subprocess.run([SCOOPTRACE, *args], capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
    return db


def test_readme_has_sql_examples() -> None:
    # The extraction itself: a README rewrite that broke the fences would make the tests below vacuous.
    assert len(QUERIES) >= 15
    assert sum(bool(RELATIVE.search(q)) for _, q in QUERIES) >= 3


@pytest.mark.parametrize(("where", "query"), QUERIES, ids=[where for where, _ in QUERIES])
def test_readme_query_runs(readme_db: Path, where: str, query: str) -> None:
    assert not WALL_CLOCK.search(query), f"{where}: count back from the data, not from the wall clock"
    done = run_sql(readme_db, query)
    assert done.returncode == 0, f"{where}: {done.stderr}"
    assert done.stderr.strip() == "", f"{where}: {done.stderr}"
    assert "Error" not in done.stdout, f"{where}: {done.stdout}"
    if RELATIVE.search(query):
        counted = run_sql(readme_db, f"SELECT count(*) AS n FROM ({query}) AS q")
        assert counted.returncode == 0, f"{where}: {counted.stderr}"
        numbers = re.findall(r"│\s*(\d+)\s*│", counted.stdout)
        assert numbers, f"{where}: no count in {counted.stdout!r}"
        assert int(numbers[-1]) >= 1, f"{where}: a query relative to the data returned no row"


def open_quote(row: str) -> bool:
    """Whether a shell line leaves a quoted string open (it goes on over the next lines)."""
    try:
        shlex.split(row, comments=True)
    except ValueError:
        return True
    return False


def shell_rows(block: str) -> list[tuple[int, str]]:
    """The lines of a shell block as the shell reads them: continuations joined, here-document bodies
    (a Python script fed to .venv/bin/python) left out."""
    rows: list[tuple[int, str]] = []
    lines = block.split("\n")
    i, heredoc_end = 0, None
    while i < len(lines):
        start, row = i, lines[i]
        while (row.endswith("\\") or open_quote(row)) and i + 1 < len(lines):
            i += 1
            row = (row[:-1] + " " if row.endswith("\\") else row + "\n") + lines[i]
        i += 1
        if heredoc_end is not None:
            heredoc_end = None if row.strip() == heredoc_end else heredoc_end
            continue
        heredoc = re.search(r"<<-?\s*'?(\w+)'?", row)
        heredoc_end = heredoc.group(1) if heredoc else None
        rows.append((start, row))
    return rows


def readme_command_lines() -> list[tuple[str, list[str]]]:
    """Every ``scooptrace ...`` invocation in the README's shell, cron and systemd blocks, as arguments."""
    text = README.read_text(encoding="utf-8")
    found: list[tuple[str, list[str]]] = []
    for language in SHELL_BLOCKS:
        for line, block in code_blocks(text, language):
            for offset, row in shell_rows(block):
                lexer = shlex.shlex(row, posix=True, punctuation_chars=True)
                lexer.whitespace_split = True
                tokens = list(lexer)
                for n, token in enumerate(tokens):
                    if token.rsplit("=", 1)[-1] not in ("scooptrace", ".venv/bin/scooptrace") and not (
                        token.endswith("/.venv/bin/scooptrace")
                    ):
                        continue
                    words = []
                    for word in tokens[n + 1 :]:
                        if word in ("&&", "||", ";", "|", ">", ">>", "<", "&"):
                            break
                        words.append(word)
                    found.append((f"README.md:{line + offset + 1}", words))
    return found


def resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    """Walk ``scooptrace`` groups down to the command; the rest of the words are its arguments."""
    register_commands()
    command: click.Command = cli
    rest = list(words)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.commands.get(rest[0])
        assert sub is not None, f"no command {rest[0]!r} under {command.name!r}"
        command, rest = sub, rest[1:]
    return command, rest


def test_readme_command_lines_use_real_options() -> None:
    lines = readme_command_lines()
    assert len(lines) >= 20
    for where, words in lines:
        command, rest = resolve(words)
        known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        known |= {"--help", "-h"}
        for word in rest:
            if word.startswith("-"):
                assert word.split("=", 1)[0] in known, f"{where}: {command.name} has no option {word}"


def test_readme_exports_name_the_database() -> None:
    exports = [(where, words) for where, words in readme_command_lines() if words[:1] == ["export"]]
    assert exports
    for where, words in exports:
        assert "--db" in words, f"{where}: scooptrace export without --db reads ./scooptrace.ducklake"


def test_readme_toml_blocks_load(tmp_path: Path) -> None:
    """A TOML block is either a feeds file (``[[feed]]``) or a settings file; both load as written."""
    from common.settings import load_settings
    from ingest.feeds import parse_toml_feeds

    blocks = code_blocks(README.read_text(encoding="utf-8"), "toml")
    assert len(blocks) >= 3
    for line, block in blocks:
        if "[[feed]]" in block:
            specs = parse_toml_feeds(block.encode(), f"README.md:{line}")
            assert specs and all(spec.url.startswith("https://") for spec in specs)
            continue
        path = tmp_path / f"settings-{line}.toml"
        path.write_text(block, encoding="utf-8")
        settings = load_settings(config=str(path), env={})
        assert settings.db == "scooptrace.ducklake"
        if "smtp_host" in block:
            assert settings.alerts.smtp_host == "smtp.example.org"
        if "[fetch]" in block:
            assert settings.fetch.max_body_bytes == 10 * 1024 * 1024


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_readme_links_resolve() -> None:
    """Every #anchor of the README names a heading, and every linked file exists."""
    text = README.read_text(encoding="utf-8")
    outside_code = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    anchors: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", outside_code, flags=re.MULTILINE):
        anchor = github_anchor(heading)
        n = 1
        while anchor in anchors:  # GitHub numbers repeated headings: -1, -2, ...
            anchor = f"{github_anchor(heading)}-{n}"
            n += 1
        anchors.add(anchor)
    links = re.findall(r"\]\(([^)\s]+)\)", outside_code)
    assert len(links) >= 20
    for link in links:
        if link.startswith("http"):
            continue
        target, _, anchor = link.partition("#")
        if target:
            assert (ROOT / target).exists(), f"README links to a missing file: {link}"
        elif anchor:
            assert anchor in anchors, f"README links to a missing heading: #{anchor}"
