"""Delivery shells: webhook (signed JSON POST), e-mail (SMTP with STARTTLS) and the Atom feed of alerts.

``deliver_pending`` sends every delivery that is due, grouped by channel and address; a group larger than the
burst threshold goes as one summary message. Each group's outcome is recorded right after its attempt, so a
run killed at any point leaves the undelivered rows pending for the next run. Nothing here raises into the
caller: a failure is recorded against the delivery (and retried by a later run), and the whole of it stops
after the time budget.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from itertools import groupby
from typing import Any
from xml.etree import ElementTree as ET

import duckdb
import httpx

from alerts import store
from alerts.model import Alert
from alerts.params import PARAMS, AlertParams
from common.settings import AlertSettings

log = logging.getLogger("scooptrace.alerts")
ATOM_NS = "http://www.w3.org/2005/Atom"
SIGNATURE_HEADER = "X-Scooptrace-Signature"
DELIVERY_HEADER = "X-Scooptrace-Delivery"


class DeliveryError(Exception):
    """One delivery attempt failed; the message says why (recorded as the delivery's last error)."""


@dataclass(frozen=True)
class DeliverySummary:
    delivered: int = 0
    failed: int = 0
    messages: int = 0
    left_pending: int = 0


def signature(body: bytes, secret: str) -> str:
    """The value of X-Scooptrace-Signature: ``sha256=`` and the HMAC-SHA256 hex digest of the body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def alert_payload(alert: Alert, app_url: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "alert_id": alert.alert_id,
        "watch": alert.watch,
        "story_id": alert.story_id,
        "trigger": alert.trigger,
        "raised_at": alert.raised_at.isoformat(),
        "detail": alert.detail,
        "data": alert.data,
    }
    link = story_link(alert, app_url)
    if link:
        payload["url"] = link
    return payload


def story_link(alert: Alert, app_url: str | None) -> str | None:
    if not app_url or alert.story_id.startswith("spike:"):
        return None
    return f"{app_url.rstrip('/')}/story?id={alert.story_id}"


def message_body(alerts: Sequence[Alert], app_url: str | None) -> dict[str, Any]:
    """One alert as itself; a burst as one summary carrying every alert."""
    if len(alerts) == 1:
        return alert_payload(alerts[0], app_url)
    return {
        "summary": True,
        "count": len(alerts),
        "detail": summary_line(alerts),
        "alerts": [alert_payload(a, app_url) for a in alerts],
    }


def summary_line(alerts: Sequence[Alert]) -> str:
    counts: dict[str, int] = {}
    for alert in alerts:
        counts[alert.trigger] = counts.get(alert.trigger, 0) + 1
    parts = ", ".join(f"{n} {trigger}" for trigger, n in sorted(counts.items()))
    watches = ", ".join(sorted({a.watch for a in alerts}))
    return f"{len(alerts)} alerts for {watches}: {parts}"


def post_webhook(
    client: httpx.Client,
    url: str,
    body: bytes,
    delivery_id: str,
    secret: str | None,
    params: AlertParams,
    deadline: float,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """POST with retries and doubling backoff on network errors, 429 and 5xx; stops at ``deadline``."""
    headers = {"Content-Type": "application/json", DELIVERY_HEADER: delivery_id}
    if secret:
        headers[SIGNATURE_HEADER] = signature(body, secret)
    error = "not attempted: time budget spent"
    for attempt in range(params.webhook_attempts):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            timeout = min(params.request_timeout_seconds, remaining)
            response = client.post(url, content=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        else:
            if 200 <= response.status_code < 300:
                return
            error = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code != 429:
                break  # the receiver refuses this message: retrying now will not change its mind
        pause = params.webhook_backoff_seconds * 2**attempt
        if attempt + 1 < params.webhook_attempts and time.monotonic() + pause < deadline:
            sleep(pause)
    raise DeliveryError(error)


def email_message(alerts: Sequence[Alert], sender: str, to: str, app_url: str | None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if len(alerts) == 1:
        alert = alerts[0]
        headline = alert.data.get("headline") or alert.data.get("service") or alert.story_id
        message["Subject"] = f"[scooptrace] {alert.watch}: {alert.trigger.replace('_', ' ')}: {headline}"[
            :200
        ]
    else:
        message["Subject"] = f"[scooptrace] {summary_line(alerts)}"[:200]
    lines = []
    for alert in alerts:
        lines.append(f"{alert.raised_at:%Y-%m-%d %H:%M} UTC  [{alert.watch}] {alert.trigger}")
        lines.append(f"  {alert.detail}")
        link = story_link(alert, app_url)
        if link:
            lines.append(f"  {link}")
        lines.append("")
    message.set_content("\n".join(lines))
    message["Message-ID"] = (
        f"<{hashlib.sha1(''.join(a.alert_id for a in alerts).encode()).hexdigest()}@scooptrace>"
    )
    return message


def send_email(settings: AlertSettings, message: EmailMessage, timeout: float) -> None:
    """One SMTP session: STARTTLS (verifying the server's certificate) when configured, login if a user is set."""
    if not settings.smtp_host:
        raise DeliveryError("no SMTP host configured ([alerts] smtp_host)")
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
            smtp.ehlo()
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=settings.smtp_cafile))
                smtp.ehlo()
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


def deliver_pending(
    conn: duckdb.DuckDBPyConnection,
    settings: AlertSettings,
    now: datetime,
    params: AlertParams = PARAMS,
    client: httpx.Client | None = None,
) -> DeliverySummary:
    """Send every due delivery, recording each outcome at once; never raises for a delivery failure."""
    pending = store.pending_deliveries(conn, now)
    if not pending:
        return DeliverySummary()
    deadline = time.monotonic() + params.delivery_budget_seconds
    # Only when a webhook is due: building the client's TLS context alone costs ~0.1 s.
    needs_http = any(p.channel == "webhook" for p in pending)
    http = (client or httpx.Client(follow_redirects=False)) if needs_http else None
    outcomes: list[tuple[int, bool]] = []  # (alerts in the message, delivered?)
    try:
        for _, group in groupby(pending, key=lambda p: (p.channel, p.target)):
            items = list(group)
            batches = [items] if len(items) > params.burst_threshold else [[item] for item in items]
            for batch in batches:
                if time.monotonic() >= deadline:
                    break  # the rest stays pending for the next run
                ok = _deliver_batch(conn, batch, settings, params, http, now, deadline)
                outcomes.append((len(batch), ok))
    finally:
        if client is None and http is not None:
            http.close()
    delivered = sum(n for n, ok in outcomes if ok)
    failed = sum(n for n, ok in outcomes if not ok)
    return DeliverySummary(delivered, failed, len(outcomes), len(pending) - delivered - failed)


def _deliver_batch(
    conn: duckdb.DuckDBPyConnection,
    batch: Sequence[store.PendingDelivery],
    settings: AlertSettings,
    params: AlertParams,
    http: httpx.Client | None,
    now: datetime,
    deadline: float,
) -> bool:
    """One message (an alert, or a burst's summary) to one address; its outcome recorded at once."""
    channel, target = batch[0].channel, batch[0].target
    alerts = [item.alert for item in batch]
    ids = [a.alert_id for a in alerts]
    try:
        _send(channel, target, alerts, settings, params, http, deadline)
    except DeliveryError as exc:
        failures = max(item.failures for item in batch) + 1
        store.mark_failed(conn, ids, channel, str(exc), retry_at(now, failures, params), params.max_failures)
        log.warning(
            "alert delivery failed channel=%s target=%s alerts=%d error=%s", channel, target, len(ids), exc
        )
        return False
    store.mark_delivered(conn, ids, channel, datetime.now(UTC))
    log.info("alert delivered channel=%s target=%s alerts=%d", channel, target, len(ids))
    return True


def _send(
    channel: str,
    target: str,
    alerts: Sequence[Alert],
    settings: AlertSettings,
    params: AlertParams,
    client: httpx.Client | None,
    deadline: float,
) -> None:
    if channel == "webhook":
        if client is None:
            raise DeliveryError("no HTTP client")  # deliver_pending makes one whenever a webhook is due
        body = json.dumps(message_body(alerts, settings.app_url), ensure_ascii=False, sort_keys=True).encode()
        delivery_id = (
            alerts[0].alert_id
            if len(alerts) == 1
            else hashlib.sha1("".join(a.alert_id for a in alerts).encode()).hexdigest()[:16]
        )
        post_webhook(client, target, body, delivery_id, settings.webhook_secret, params, deadline)
    elif channel == "email":
        timeout = max(0.1, min(params.request_timeout_seconds, deadline - time.monotonic()))
        send_email(settings, email_message(alerts, settings.sender, target, settings.app_url), timeout)
    else:
        raise DeliveryError(f"unknown channel {channel!r}")


def retry_at(now: datetime, failures: int, params: AlertParams = PARAMS) -> datetime:
    """When a delivery that failed ``failures`` times is tried again."""
    wait = params.retry_base * 2 ** max(0, failures - 1)
    return now + min(wait, params.retry_max)


def atom_feed(alerts: Sequence[Alert], *, feed_id: str, now: datetime, app_url: str | None) -> bytes:
    """A valid Atom 1.0 document of the alerts, newest first, that a feed reader can subscribe to."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _text(feed, "title", "scooptrace alerts")
    _text(feed, "id", feed_id)
    newest = max((a.raised_at for a in alerts), default=now)
    _text(feed, "updated", _rfc3339(newest))
    author = ET.SubElement(feed, f"{{{ATOM_NS}}}author")
    _text(author, "name", "scooptrace")
    _text(feed, "generator", "scooptrace")
    for alert in sorted(alerts, key=lambda a: (a.raised_at, a.alert_id), reverse=True):
        entry = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        _text(entry, "id", f"urn:scooptrace:alert:{alert.alert_id}")
        headline = alert.data.get("headline") or alert.data.get("service") or alert.story_id
        _text(entry, "title", f"{alert.watch}: {alert.trigger.replace('_', ' ')}: {headline}")
        _text(entry, "updated", _rfc3339(alert.raised_at))
        _text(entry, "published", _rfc3339(alert.raised_at))
        ET.SubElement(entry, f"{{{ATOM_NS}}}category", {"term": alert.trigger})
        link = story_link(alert, app_url)
        if link:
            ET.SubElement(entry, f"{{{ATOM_NS}}}link", {"rel": "alternate", "href": link})
        _text(entry, "summary", alert.detail)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _text(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}").text = text


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
