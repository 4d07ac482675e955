"""``scooptrace signals import`` and ``scooptrace eval-citations``: thin commands over the report cores."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from common.errors import UsageError
from common.text import plural
from scooptrace.options import build_settings, db_options

if TYPE_CHECKING:
    from cluster.citations import LabelledSentence
    from cluster.signals import ParsedSignals, SignalPoint
    from common.settings import Settings

# The labelled sentence sets shipped with the source tree, in the order they were written (see docs/reports.md).
LABELLED_SETS = (
    "citations_sentences.csv",
    "citations_heldout.csv",
    "citations_fresh.csv",
    "citations_test.csv",
    "citations_final.csv",
)
LABELLED_DIR = Path(__file__).resolve().parents[2] / "tests" / "data"
_FEED_SUFFIXES = (".xml", ".atom", ".rss", ".feed")


def register(cli: click.Group) -> None:
    """Add ``signals import`` and ``eval-citations`` to the ``scooptrace`` group."""

    @cli.group("signals")
    def signals_group() -> None:
        """Outage signals: complaint counts and status-page incident feeds."""

    @signals_group.command("import")
    @db_options
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option(
        "--service",
        help="Service name for rows without one (default: the CSV's file name, the feed's title).",
    )
    @click.option("--source", help="Name recorded as the signals' source (default: the file name).")
    @click.option(
        "--format", "fmt", type=click.Choice(["csv", "feed"]), default=None, help="Default: by content."
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
    def signals_import(
        db: str | None,
        config: str | None,
        file: str,
        service: str | None,
        source: str | None,
        fmt: str | None,
        as_json: bool,
    ) -> None:
        """Load an outage signal series: a CSV with columns ts,count[,service] (e.g. complaints per minute) or a
        status-page Atom/RSS feed. Rows with problems are reported by line and skipped; re-importing a file
        replaces its rows. Then lines stories up with the signals (spike onset, lag, official statement)."""
        settings = build_settings(db, config)
        run_signals_import(settings, Path(file), service=service, source=source, fmt=fmt, as_json=as_json)

    @cli.command("eval-citations")
    @click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
    @click.option("--errors", "show_errors", is_flag=True, help="List every sentence the detector got wrong.")
    @click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
    def eval_citations(files: tuple[str, ...], show_errors: bool, as_json: bool) -> None:
        """Precision and recall of mention citations on labelled sentences (CSV: lang, citing_outlet,
        expected (outlets separated by |, empty for none), sentence). Default: the shipped sets."""
        run_eval_citations(files, show_errors=show_errors, as_json=as_json)


def run_signals_import(
    settings: Settings, path: Path, *, service: str | None, source: str | None, fmt: str | None, as_json: bool
) -> None:
    """Parse, report problems by line, store, and line stories up with the signals."""
    from cluster.report_store import import_signals, update_reports
    from storage.connection import writer

    parsed = parse_signal_file(path, service=service, source=source, fmt=fmt)
    for problem in parsed.problems:
        where = f"{path}:{problem.line}" if problem.line else str(path)
        click.echo(f"{where}: {problem.message}" + ("; skipped" if problem.line else ""), err=True)
    with writer(settings.db, settings.lock_wait_seconds, data_path=settings.data_path) as w:
        stored = import_signals(w.conn, parsed.points)
        summary = update_reports(w.conn)
        _run_alerts(w.conn, settings)
    report = signal_report(parsed.points, stored, len([p for p in parsed.problems if p.line]))
    if as_json:
        click.echo(json.dumps({**report, "reports": summary.as_dict()}, ensure_ascii=False, default=str))
    else:
        click.echo(describe_signal_report(report, str(path)), err=True)
        click.echo(summary.describe(), err=True)


def _run_alerts(conn: Any, settings: Settings) -> None:
    """A complaint spike nobody has covered is an alert: run the alerts stage after the signals."""
    from alerts.run import run_alerts

    click.echo(run_alerts(conn, settings).describe(), err=True)


def run_eval_citations(files: Sequence[str], *, show_errors: bool, as_json: bool) -> None:
    paths = [Path(f) for f in files] or [LABELLED_DIR / name for name in LABELLED_SETS]
    results = [evaluate_file(path) for path in paths]
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False))
        return
    for result in results:
        click.echo(describe_evaluation(result))
        if show_errors:
            for line in result["errors"]:
                click.echo(f"  {line}")


def parse_signal_file(
    path: Path, *, service: str | None, source: str | None, fmt: str | None
) -> ParsedSignals:
    """Read and parse a signal file; an unusable file is a UsageError (exit 2) naming the file."""
    from cluster.signals import SignalFormatError, parse_counts_csv, parse_status_feed

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read signal file: {exc.strerror}") from exc
    kind = fmt or ("feed" if path.suffix.lower() in _FEED_SUFFIXES or data.lstrip()[:1] == b"<" else "csv")
    name = source or path.name
    try:
        if kind == "feed":
            return parse_status_feed(data, name, service)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SignalFormatError(f"not UTF-8 text (byte {exc.start})") from exc
        return parse_counts_csv(text, name, service or path.stem)
    except SignalFormatError as exc:
        raise UsageError(f"{path}: {exc}") from exc


def signal_report(points: Sequence[SignalPoint], stored: int, skipped: int) -> dict[str, Any]:
    """What was imported, per service, with the complaint spikes found."""
    from cluster.signals import detect_onsets

    services: dict[str, dict[str, Any]] = {}
    for service in sorted({p.service for p in points}):
        mine = [p for p in points if p.service == service]
        series = [(p.ts, p.value) for p in mine if p.kind == "complaints" and p.value is not None]
        onsets = detect_onsets(series, service)
        services[service] = {
            "complaints": len(series),
            "status_entries": sum(1 for p in mine if p.kind == "status"),
            "spikes": [
                {"onset_at": o.onset_at.isoformat(), "peak_at": o.peak_at.isoformat(), "peak": o.peak_value}
                for o in onsets
            ],
        }
    return {"stored": stored, "skipped_rows": skipped, "services": services}


def describe_signal_report(report: dict[str, Any], file: str) -> str:
    lines = [
        f"{file}: {plural(report['stored'], 'signal')} stored, {plural(report['skipped_rows'], 'row')} skipped"
    ]
    for service, info in report["services"].items():
        spikes = info["spikes"]
        lines.append(
            f"  {service}: {plural(info['complaints'], 'count')}, "
            f"{plural(info['status_entries'], 'status entry', 'status entries')}, "
            f"{plural(len(spikes), 'complaint spike')}"
        )
        for spike in spikes:
            lines.append(f"    spike began {spike['onset_at']}, peak {spike['peak']:g} at {spike['peak_at']}")
    return "\n".join(lines)


_REQUIRED = ("lang", "citing_outlet", "expected", "sentence")


def read_labelled(path: Path) -> list[LabelledSentence]:
    """Labelled sentences from CSV; a missing column or unreadable file is a UsageError naming it."""
    from cluster.citations import LabelledSentence

    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise UsageError(
                    f"{path}:1: missing column(s) {', '.join(missing)}; need {', '.join(_REQUIRED)}"
                )
            rows = []
            for row in reader:
                if not (row.get("sentence") or "").strip():
                    raise UsageError(f"{path}:{reader.line_num}: empty sentence")
                expected = frozenset(x.strip() for x in (row["expected"] or "").split("|") if x.strip())
                rows.append(LabelledSentence(row["lang"], row["citing_outlet"], expected, row["sentence"]))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{path}: not a UTF-8 CSV: {exc}") from exc
    return rows


def evaluate_file(path: Path) -> dict[str, Any]:
    from cluster.citations import evaluate_mentions, load_directory

    sentences = read_labelled(path)
    scores = evaluate_mentions(sentences, load_directory())
    return {
        "file": str(path),
        "sentences": len(sentences),
        "true_positives": scores.true_positives,
        "false_positives": scores.false_positives,
        "false_negatives": scores.false_negatives,
        "precision": round(scores.precision, 3),
        "recall": round(scores.recall, 3),
        "by_language": {
            lang: dict(zip(("tp", "fp", "fn"), v, strict=True)) for lang, v in scores.by_language.items()
        },
        "errors": list(scores.errors),
    }


def describe_evaluation(result: dict[str, Any]) -> str:
    by_language = result["by_language"]
    langs = "  ".join(
        f"{lang} tp={v['tp']} fp={v['fp']} fn={v['fn']}" for lang, v in sorted(by_language.items())
    )
    return (
        f"{result['file']}: {plural(result['sentences'], 'sentence')}, precision {result['precision']:.3f}, "
        f"recall {result['recall']:.3f} (tp={result['true_positives']} fp={result['false_positives']} "
        f"fn={result['false_negatives']})\n  {langs}"
    )
