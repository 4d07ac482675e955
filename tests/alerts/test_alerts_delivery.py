"""Delivery with real parts on loopback: a threaded HTTP receiver that checks the HMAC, an aiosmtpd server
that requires STARTTLS (self-signed certificate made with openssl), a database built by the real import."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click
import feedparser
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from alerts.params import AlertParams
from alerts.run import run_alerts
from common.errors import UsageError
from common.settings import Settings, load_settings
from scooptrace.commands.alerts import register
from scooptrace.pipeline import import_file
from storage.connection import open_reader, writer

DATA = Path(__file__).parent.parent / "data"
SECRET = "s3cret-for-tests"
FAST = AlertParams(webhook_backoff_seconds=0.01, webhook_attempts=2, request_timeout_seconds=3.0)


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: records every POST, answers ``status``, checks the signature."""

    status: int = 200
    delay: float = 0.0
    posts: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def accepted(self) -> list[dict[str, Any]]:
        return [p for p in self.posts if p["status"] == 200]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            time.sleep(state.delay)
            status = state.status
            state.posts.append(
                {
                    "status": status,
                    "signed": hmac.compare_digest(self.headers.get("X-Scooptrace-Signature", ""), expected),
                    "delivery": self.headers.get("X-Scooptrace-Delivery"),
                    "json": json.loads(body),
                }
            )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class Mailbox:
    port: int
    cafile: Path
    messages: list[dict[str, Any]] = field(default_factory=list)


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.box.messages.append(
            {
                "tls": session.ssl is not None,
                "to": list(envelope.rcpt_tos),
                "message": message_from_bytes(envelope.content, policy=policy.default),
            }
        )
        return "250 OK"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    import ssl

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Mailbox(_free_port(), cert)
    controller = Controller(
        _Handler(box), hostname="127.0.0.1", port=box.port, tls_context=context, require_starttls=True
    )
    controller.start()
    yield box
    controller.stop()


def settings_for(tmp_path: Path, box: Mailbox | None = None) -> Settings:
    config = tmp_path / "alerts.toml"
    smtp = f'smtp_host = "127.0.0.1"\nsmtp_port = {box.port}\nsmtp_cafile = "{box.cafile}"\n' if box else ""
    config.write_text(
        f'lock_wait_seconds = 2.0\n[alerts]\n{smtp}sender = "scooptrace@example.org"\nstarttls = true\n'
        f'webhook_secret = "{SECRET}"\napp_url = "http://news.example:8501"\n',
        encoding="utf-8",
    )
    return load_settings(db=str(tmp_path / "news.duckdb"), config=str(config), env={})


@pytest.fixture
def cli() -> click.Group:
    @click.group()
    def group() -> None:
        """A stand-in for the scooptrace group."""

    register(group)
    return group


def build_db(settings: Settings) -> None:
    """Articles through the real import and clustering (no watch yet, so nothing is raised)."""
    import_file(settings, DATA / "cluster_outages.csv", fmt=None, cluster=True)


def add_watch(cli: click.Group, settings: Settings, *args: str) -> None:
    result = CliRunner().invoke(cli, ["watch", "add", *args, "--db", str(settings.db_path)])
    assert result.exit_code == 0, result.output


def view(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    with writer(settings.db_path) as w:  # the working copy: what a killed run committed
        return w.conn.execute(sql).fetchall()


KILL_AFTER_RAISING = """
import os, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from alerts.run import raise_alerts
from storage.connection import open_reader, writer
from common.errors import UsageError

with writer(Path(sys.argv[1])) as w:
    _, _, raised = raise_alerts(w.conn, datetime.now(UTC))
    print(len(raised), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_killed_after_raising_then_rerun_delivers_each_alert_exactly_once(
    tmp_path: Path, cli: click.Group, receiver: Receiver, mailbox: Mailbox
) -> None:
    settings = settings_for(tmp_path, mailbox)
    build_db(settings)
    add_watch(cli, settings, "amazon", "--terms", "Amazon outage", "--webhook", receiver.url,
              "--email", "watcher@example.org")  # fmt: skip
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_RAISING, str(settings.db_path)], capture_output=True, text=True
    )
    assert killed.returncode == -9, killed.stderr
    raised = int(killed.stdout)
    assert raised >= 3  # new stories and the languages they reached
    pending = view(settings, "SELECT pending_channels FROM alerts")
    assert len(pending) == raised and all(p == (["email", "webhook"],) for p in pending)
    assert receiver.posts == [] and mailbox.messages == []

    with writer(settings.db_path) as w:
        summary = run_alerts(w.conn, settings, params=FAST)
    assert summary.raised == 0 and summary.delivered == 2 * raised
    ids = {row[0] for row in view(settings, "SELECT alert_id FROM alerts")}
    assert sorted(p["delivery"] for p in receiver.posts) == sorted(ids)
    assert all(p["signed"] for p in receiver.posts)
    assert {p["json"]["url"].split("=")[0] for p in receiver.posts if "url" in p["json"]} == {
        "http://news.example:8501/story?id"
    }
    assert len(mailbox.messages) == raised
    assert all(m["tls"] and m["to"] == ["watcher@example.org"] for m in mailbox.messages)
    subjects = [str(m["message"]["Subject"]).strip() for m in mailbox.messages]
    assert all(s.startswith("[scooptrace] amazon: ") for s in subjects), [
        s for s in subjects if not s.startswith("[scooptrace] amazon: ")
    ]

    with writer(settings.db_path) as w:  # a third run: nothing new, nothing sent again
        again = run_alerts(w.conn, settings, params=FAST)
    assert (again.raised, again.delivered) == (0, 0)
    assert len(receiver.posts) == raised and len(mailbox.messages) == raised
    delivered = view(
        settings, "SELECT delivered_at.webhook, delivered_at.email, pending_channels FROM alerts"
    )
    assert all(web is not None and mail is not None and left == [] for web, mail, left in delivered)


def test_receiver_answering_500_gets_the_alert_on_a_later_run(
    tmp_path: Path, cli: click.Group, receiver: Receiver
) -> None:
    settings = settings_for(tmp_path)
    build_db(settings)
    add_watch(cli, settings, "teams", "--terms", "Teams outage", "--webhook", receiver.url)
    receiver.status = 500
    with writer(settings.db_path) as w:
        first = run_alerts(w.conn, settings, params=FAST)
    assert first.raised >= 1 and first.delivered == 0 and first.delivery_failed == first.raised
    assert len(receiver.posts) == first.raised * FAST.webhook_attempts  # retried within the run
    errors = view(settings, "SELECT pending_channels, delivery_error FROM alerts")
    assert all(left == ["webhook"] and error == "webhook: HTTP 500" for left, error in errors)

    receiver.status = 200
    with writer(settings.db_path) as w:  # too soon: the retry waits for its backoff
        assert run_alerts(w.conn, settings, params=FAST).delivered == 0
    later = datetime.now(UTC) + timedelta(minutes=2)
    with writer(settings.db_path) as w:
        second = run_alerts(w.conn, settings, later, params=FAST)
    assert second.delivered == first.raised
    accepted = [p["delivery"] for p in receiver.accepted()]
    assert sorted(accepted) == sorted({row[0] for row in view(settings, "SELECT alert_id FROM alerts")})


def test_a_burst_is_one_summary_message(tmp_path: Path, cli: click.Group, receiver: Receiver) -> None:
    settings = settings_for(tmp_path)
    build_db(settings)
    add_watch(cli, settings, "outages", "--terms", "outage", "--webhook", receiver.url)
    with writer(settings.db_path) as w:
        summary = run_alerts(w.conn, settings, params=replace(FAST, burst_threshold=3))
    assert summary.raised > 3 and summary.delivered == summary.raised
    assert len(receiver.posts) == 1
    body = receiver.posts[0]["json"]
    assert body["summary"] is True and body["count"] == summary.raised == len(body["alerts"])
    assert receiver.posts[0]["signed"]


def test_a_dead_receiver_never_holds_the_run_past_its_budget(
    tmp_path: Path, cli: click.Group, receiver: Receiver
) -> None:
    settings = settings_for(tmp_path)
    build_db(settings)
    add_watch(cli, settings, "amazon", "--terms", "Amazon outage", "--webhook", receiver.url)
    receiver.delay = 1.5
    params = replace(FAST, webhook_attempts=1, request_timeout_seconds=0.4, delivery_budget_seconds=0.5)
    with writer(settings.db_path) as w:
        summary = run_alerts(w.conn, settings, params=params)
    assert summary.delivered == 0 and summary.left_pending >= 1
    assert summary.delivery_failed + summary.left_pending == summary.raised
    assert all(row == (["webhook"],) for row in view(settings, "SELECT pending_channels FROM alerts"))


def test_a_spike_nobody_covered_reaches_the_watcher(
    tmp_path: Path, cli: click.Group, receiver: Receiver
) -> None:
    settings = settings_for(tmp_path)
    build_db(settings)
    add_watch(cli, settings, "amazon", "--terms", "Amazon outage", "--webhook", receiver.url)
    from scooptrace.commands.signals import run_signals_import

    run_signals_import(
        settings,
        DATA / "signals_amazon_complaints.csv",
        service="Amazon",
        source=None,
        fmt=None,
        as_json=True,
    )
    onset, detected = view(
        settings, "SELECT onset_at, detected_at FROM signal_spike WHERE service = 'Amazon'"
    )[0]
    assert onset <= detected
    with writer(settings.db_path) as w:  # a run twenty minutes into the spike
        run_alerts(w.conn, settings, onset + timedelta(minutes=20), params=FAST)
    rows = view(settings, "SELECT story_id, detail FROM alerts WHERE trigger = 'spike_without_coverage'")
    assert [r[0] for r in rows] == [f"spike:Amazon:{onset.astimezone(UTC):%Y-%m-%dT%H:%MZ}"]
    assert "nobody has written about it" in rows[0][1]
    spike_posts = [p for p in receiver.posts if p["json"].get("trigger") == "spike_without_coverage"]
    assert len(spike_posts) == 1 and spike_posts[0]["signed"]


def test_alerts_command_json_and_atom_feed(tmp_path: Path, cli: click.Group) -> None:
    settings = settings_for(tmp_path)
    build_db(settings)
    add_watch(cli, settings, "amazon", "--terms", "Amazon outage")
    runner = CliRunner()
    result = runner.invoke(cli, ["alerts", "--deliver", "--db", str(settings.db_path)])
    assert result.exit_code == 0, result.output
    listed = json.loads(runner.invoke(cli, ["alerts", "--json", "--db", str(settings.db_path)]).stdout)
    assert listed and {row["watch"] for row in listed} == {"amazon"}
    assert all(row["delivered_at"] is None for row in listed)  # no channel configured: nothing to deliver
    atom = tmp_path / "alerts.atom"
    result = runner.invoke(cli, ["alerts", "--atom", str(atom), "--db", str(settings.db_path)])
    assert result.exit_code == 0, result.output
    feed = feedparser.parse(atom.read_bytes())
    assert feed.bozo == 0 and feed.feed.title == "scooptrace alerts"
    assert [e.id for e in feed.entries] == [f"urn:scooptrace:alert:{row['alert_id']}" for row in listed]
    assert all(e.updated_parsed and e.summary for e in feed.entries)


def test_watch_add_list_remove(tmp_path: Path, cli: click.Group) -> None:
    db = str(tmp_path / "w.duckdb")
    runner = CliRunner()
    added = runner.invoke(
        cli,
        ["watch", "add", "amazon", "--terms", "Amazon outage", "--outlet", "GeekWire", "--language", "AR",
         "--min-outlets", "5", "--webhook", "https://hooks.example/x", "--email", "me@example.org", "--db", db],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "amazon" in added.output and "outage" in added.output
    listed = json.loads(runner.invoke(cli, ["watch", "list", "--json", "--db", db]).stdout)
    assert listed == [
        {"name": "amazon", "terms": "Amazon outage", "outlets": ["GeekWire"], "languages": ["ar"],
         "min_outlets": 5, "webhook": "https://hooks.example/x", "email": "me@example.org"}
    ]  # fmt: skip
    again = runner.invoke(cli, ["watch", "add", "amazon", "--terms", "x", "--db", db])
    assert "exists already" in usage_error(again)
    bad = runner.invoke(cli, ["watch", "add", "b", "--terms", "x", "--min-outlets", "0", "--db", db])
    assert "--min-outlets" in usage_error(bad)
    bad = runner.invoke(cli, ["watch", "add", "b", "--terms", "x", "--webhook", "ftp://x", "--db", db])
    assert "--webhook" in usage_error(bad)
    assert runner.invoke(cli, ["watch", "remove", "amazon", "--db", db]).exit_code == 0
    assert json.loads(runner.invoke(cli, ["watch", "list", "--json", "--db", db]).stdout) == []
    missing = runner.invoke(cli, ["watch", "remove", "amazon", "--db", db])
    assert "no watch named" in usage_error(missing)


def usage_error(result: Any) -> str:
    """The message of the UsageError a command raised (``main`` turns it into exit status 2)."""
    assert isinstance(result.exception, UsageError), result.output
    assert result.exception.exit_code == 2
    return str(result.exception)


def test_the_installed_command_sets_a_watch_in_one_line(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    db = str(tmp_path / "cmd.duckdb")
    added = run_cli("watch", "add", "amazon", "--terms", "Amazon outage", "--db", db)
    assert added.returncode == 0, added.stderr
    assert run_cli("watch", "list", "--db", db).stdout.startswith("amazon\tAmazon outage")
    again = run_cli("watch", "add", "amazon", "--terms", "Amazon outage", "--db", db)
    assert again.returncode == 2 and "exists already" in again.stderr
    conn = open_reader(db)
    try:
        columns = [r[0] for r in conn.execute("DESCRIBE watches").fetchall()]
    finally:
        conn.close()
    assert columns[:7] == ["name", "terms", "outlets", "languages", "min_outlets", "webhook", "email"]


def test_alerts_settings_section(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[alerts]\nsmtp_host = "mail.example"\nsmtp_port = 2525\nstarttls = false\n', encoding="utf-8"
    )
    settings = load_settings(config=str(config), env={"SCOOPTRACE_WEBHOOK_SECRET": "from-env"})
    assert (settings.alerts.smtp_host, settings.alerts.smtp_port, settings.alerts.starttls) == (
        "mail.example",
        2525,
        False,
    )
    assert settings.alerts.webhook_secret == "from-env"
    config.write_text("[alerts]\nsmtp_hots = 'typo'\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"\[alerts\]: unknown setting 'smtp_hots'"):
        load_settings(config=str(config), env={})


def test_alerts_view_columns(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    columns = [row[0] for row in view(settings, "DESCRIBE alerts")]
    assert columns[:7] == ["alert_id", "watch", "story_id", "trigger", "raised_at", "detail", "delivered_at"]


def test_import_raises_and_delivers_and_a_dead_mail_server_never_fails_it(
    tmp_path: Path, cli: click.Group, receiver: Receiver
) -> None:
    from tests.conftest import run_cli

    closed_port = _free_port()  # nothing listens there
    config = tmp_path / "dead-smtp.toml"
    config.write_text(
        f'lock_wait_seconds = 2.0\n[alerts]\nsmtp_host = "127.0.0.1"\nsmtp_port = {closed_port}\n'
        f'webhook_secret = "{SECRET}"\n',
        encoding="utf-8",
    )
    db = tmp_path / "pipeline.duckdb"
    add_watch(cli, load_settings(db=str(db), env={}), "teams", "--terms", "Teams outage",
              "--webhook", receiver.url, "--email", "ops@example.org")  # fmt: skip
    result = run_cli(
        "import", str(DATA / "cluster_outages.csv"), "--db", str(db), "--config", str(config), "--json"
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)["cluster"]["alerts"]
    assert figures["raised"] >= 2 and figures["delivered"] == figures["raised"]  # the webhooks
    assert figures["delivery_failed"] == figures["raised"]  # the e-mails: connection refused
    assert sorted(p["delivery"] for p in receiver.accepted()) == sorted(
        {p["delivery"] for p in receiver.accepted()}
    )
    assert len(receiver.accepted()) == figures["raised"] and all(p["signed"] for p in receiver.posts)
    conn = open_reader(db)
    try:
        rows = conn.execute("SELECT pending_channels, delivery_error FROM alerts").fetchall()
    finally:
        conn.close()
    assert all(left == ["email"] and "email: " in error for left, error in rows)
