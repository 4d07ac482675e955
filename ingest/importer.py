"""``scooptrace import FILE``: coverage exported from other tools (CSV, JSON Lines, Parquet).

Idempotent by normalised URL. A row with a problem is reported with its line (or row) number and skipped;
the rest are loaded.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.errors import UsageError
from common.settings import Settings
from common.text import plural
from common.timeclaims import SECOND, describe_claims, from_instant
from common.urls import normalize_url, stable_id
from ingest.dates import ZONED, parse_time_claim
from ingest.extract import detect_language
from ingest.feeds import normalize_language
from storage import connection as db
from storage.articles import insert_imported, known_urls
from storage.helpers import transaction

REQUIRED = ("url", "title", "outlet", "published_at")
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
MAX_REPORTED = 50
NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
EPOCH = re.compile(
    r"\d{9,11}(\.\d+)?"
)  # epoch seconds (common.timeclaims reads them); other bare numbers are not dates
# A file that is not UTF-8 is most often an Excel export: Windows-1252 first (it has the curly quotes and the
# euro sign), Latin-1 last (it decodes any byte, so it always succeeds).
LEGACY_ENCODINGS = (("cp1252", "Windows-1252 (Western European)"), ("latin-1", "Latin-1 (ISO 8859-1)"))


@dataclass
class ImportSummary:
    rows: int = 0
    added: int = 0
    already_known: int = 0
    skipped: int = 0
    assumed_utc: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cluster: dict[str, Any] | None = None
    cluster_text: str = field(default="", repr=False)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["cluster_text"]
        return out

    def describe(self) -> str:
        lines = [f"  {problem}" for problem in self.problems[:MAX_REPORTED]]
        if len(self.problems) > MAX_REPORTED:
            lines.append(f"  ... and {len(self.problems) - MAX_REPORTED} more")
        head = (
            f"{plural(self.rows, 'row')}: {self.added} added, {self.already_known} already known, "
            f"{self.skipped} skipped"
            + (f"; {plural(self.assumed_utc, 'time')} without a zone read as UTC" if self.assumed_utc else "")
            + f"; {self.seconds:.1f}s"
        )
        lines = [*self.notes, *lines]
        if self.cluster_text:
            head += f"\n{self.cluster_text}"
        return "\n".join([head, *lines])


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise UsageError(
            f"{path}: cannot tell the format from the extension; use --format csv|jsonl|parquet"
        ) from None


def read_rows(path: Path, fmt: str, notes: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line or row number, row) pairs; a row that could not be read holds ``__error__`` (and ``__lines__``,
    the physical lines it swallowed). Raises UsageError when the file as a whole is unusable. Notes about
    the whole file (an encoding other than UTF-8) are appended to ``notes``."""
    if fmt == "parquet":
        yield from _read_parquet(path)
        return
    text = decode_text(path, notes)
    yield from (_read_csv(path, text) if fmt == "csv" else _read_jsonl(text))


def decode_text(path: Path, notes: list[str]) -> str:
    """The file as text: UTF-8 (with or without BOM), else Windows-1252 or Latin-1, said aloud in ``notes``."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from exc
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise UsageError(f"{path}:{line}: a NUL byte: not a text file (UTF-16? save it as UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        where = f"byte 0x{data[exc.start]:02x} on line {line}"
        for codec, name in LEGACY_ENCODINGS:
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                continue
            notes.append(f"{path}: not UTF-8 ({where}); read as {name}")
            return text
        raise UsageError(f"{path}:{line}: not UTF-8 text ({where})") from exc  # unreachable: latin-1


def _read_csv(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip() for name in next(reader)]
    except (StopIteration, csv.Error):
        header = []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise UsageError(f"{path}:1: missing column(s) {', '.join(missing)} (header: {header})")
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, _unreadable(text, start, reader.line_num, str(exc))
            continue
        if not cells:
            continue  # a blank line is not a row
        yield start, _csv_row(header, cells, start, reader.line_num)


def _unreadable(text: str, start: int, end: int, error: str) -> dict[str, Any]:
    """The problem with CSV lines start..end that the csv module could not read as a row."""
    lines = text.splitlines()[start - 1 : end]
    count = sum(1 for line in lines if line.strip()) or 1
    if "unexpected end of data" in error:
        span = f"lines {start}-{end} were read as one field" if end > start else "the line ends inside it"
        return {"__error__": f"a quote opened on this line is never closed ({span})", "__lines__": count}
    if end > start:
        cause = f"a quote opened on this line closes on line {end} ({error}): probably an unclosed quote"
        return {"__error__": cause, "__lines__": count}
    return {"__error__": f"malformed quoting ({error})", "__lines__": count}


def _csv_row(header: list[str], cells: list[str], start: int, end: int) -> dict[str, Any]:
    lines = end - start + 1
    if len(cells) == len(header):
        return dict(zip(header, cells, strict=True))
    count = f"{plural(len(cells), 'field')}, the header has {len(header)}"
    if lines > 1:
        cause = f"a quote opened on this line closes on line {end} ({count}): probably an unclosed quote"
        return {"__error__": cause, "__lines__": lines}
    if len(cells) > len(header):
        extra = ", ".join(repr(cell) for cell in cells[len(header) :])
        return {"__error__": f"{count} (extra: {extra})"}
    return {"__error__": f"{count} (missing: {', '.join(header[len(cells) :])})"}


def _read_jsonl(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, {"__error__": f"invalid JSON: {exc.msg}"}
            continue
        yield number, row if isinstance(row, dict) else {"__error__": "not a JSON object"}


def _read_parquet(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise UsageError(f"{path}: not a readable Parquet file: {exc}") from exc
    missing = [c for c in REQUIRED if c not in table.column_names]
    if missing:
        raise UsageError(f"{path}: missing column(s) {', '.join(missing)}")
    yield from enumerate(table.to_pylist(), start=1)


@dataclass(frozen=True)
class ImportRow:
    url: str
    title: str
    outlet: str
    published_at: datetime
    text: str | None
    summary: str | None
    language: str | None
    assumed_utc: bool
    precision: str = SECOND  # second | minute | day, as written (common.timeclaims)
    earliest: datetime | None = None  # the interval the truth lies in; a naive time spans UTC-12..UTC+14
    latest: datetime | None = None
    claims: str | None = None  # published_claims JSON


def validate(row: dict[str, Any], now: datetime) -> ImportRow | str:
    """An ImportRow, or the problem with this row."""
    if "__error__" in row:
        return str(row["__error__"])
    values = {key: (str(row[key]).strip() if row.get(key) is not None else "") for key in REQUIRED}
    empty = [key for key in REQUIRED if not values[key]]
    if empty:
        return f"empty {', '.join(empty)}"
    if not values["url"].startswith(("http://", "https://")):
        return f"url {values['url']!r} is not http(s)"
    raw_time = row["published_at"]
    if isinstance(raw_time, datetime):
        claim = from_instant(raw_time, "import")
    else:
        bare_number = NUMBER.fullmatch(values["published_at"]) and not EPOCH.fullmatch(values["published_at"])
        parsed = None if bare_number else parse_time_claim(values["published_at"], "import")
        if parsed is None:
            hint = " (a number must be epoch seconds)" if NUMBER.fullmatch(values["published_at"]) else ""
            return f"published_at {values['published_at']!r} is not a date{hint}"
        claim = parsed
    assumed = claim.kind != ZONED
    published = claim.value if not assumed else claim.value.replace(tzinfo=UTC)  # the file's contract: UTC
    if published > now:
        return f"published_at {values['published_at']!r} is in the future"
    earliest, latest = claim.interval()
    latest = min(latest, now)
    claims = json.dumps(
        {"claims": describe_claims([claim]), "source": "import", "precision": claim.precision,
         "note": "no zone: read as UTC, the interval says where it may lie" if assumed else None},
        ensure_ascii=False,
    )  # fmt: skip
    text = str(row["text"]) if row.get("text") else None
    summary = str(row["summary"]) if row.get("summary") else None
    language = normalize_language(str(row["language"])) if row.get("language") else None
    return ImportRow(
        normalize_url(values["url"]), values["title"], values["outlet"], published.astimezone(UTC), text, summary,
        language or detect_language(text or values["title"]), assumed,
        claim.precision, min(earliest, latest), latest, claims,
    )  # fmt: skip


def run_import(settings: Settings, path: Path, *, fmt: str | None) -> ImportSummary:
    """Load the file's usable rows (idempotent by url); the story update after it is the pipeline's."""
    started = time.monotonic()
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    kind = detect_format(path, fmt)
    summary = ImportSummary()
    now = db.utcnow()
    rows = []
    for number, raw in read_rows(path, kind, summary.notes):
        lines = int(raw.get("__lines__", 1))
        summary.rows += lines
        checked = validate(raw, now)
        if isinstance(checked, str):
            summary.skipped += lines
            what = f"lines {number}-{number + lines - 1} skipped" if lines > 1 else "row skipped"
            summary.problems.append(f"{path}:{number}: {checked}; {what}")
            continue
        summary.assumed_utc += checked.assumed_utc
        rows.append(checked)
    if not rows:
        problems = "; ".join(summary.problems[:3]) or "the file has no rows"
        notes = "".join(f"{note}\n" for note in summary.notes)
        raise UsageError(f"{notes}{path}: no usable row ({summary.rows} read): {problems}")
    with db.writer(settings.db, settings.lock_wait_seconds, data_path=settings.data_path) as writer:
        store_rows(writer, rows, summary, now, settings.batch_size)
    summary.seconds = round(time.monotonic() - started, 2)
    return summary


def store_rows(
    writer: db.Writer, rows: list[ImportRow], summary: ImportSummary, now: datetime, batch: int
) -> None:
    conn = writer.conn
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        with transaction(conn):
            seen = known_urls(conn, [row.url for row in chunk])
            for row in chunk:
                if row.url in seen:
                    summary.already_known += 1
                    continue
                seen.add(row.url)
                values = (stable_id(row.url), row.url, row.outlet, row.title, row.language, row.published_at,
                          row.summary, row.text, row.precision, row.earliest, row.latest, row.claims)  # fmt: skip
                insert_imported(conn, values, now)
                summary.added += 1
