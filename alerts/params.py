"""Every threshold of the alerts stage, in one table, each with why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class AlertParams:
    # Characters of each member's text matched besides the titles: the lead names the subject; deeper in the
    # body an article mentions neighbouring events ("a week after the AWS outage") that are not its subject.
    text_chars: int = 400
    # A complaint spike older than this with no story is history, not news: importing last month's signals
    # must not page anyone. The same 12 hours the signals stage allows between a spike and a first report.
    spike_max_age: timedelta = timedelta(hours=12)
    # More alerts than this for one channel and address in one run are sent as one summary message: an
    # import of a year of articles against a new watch must not send hundreds of e-mails.
    burst_threshold: int = 10
    # Webhook attempts within one run, and the pause before the second (doubled for each further attempt).
    webhook_attempts: int = 3
    webhook_backoff_seconds: float = 0.5
    # Per-request deadline of a webhook POST or an SMTP session: a slow receiver is cut off.
    request_timeout_seconds: float = 5.0
    # All delivery of one run stops after this long; what is left stays pending for the next run, so a dead
    # receiver never holds the ingest (and its database lock) for more than this.
    delivery_budget_seconds: float = 20.0
    # A delivery that failed waits this long times 2**(failures-1) before a later run tries it again ...
    retry_base: timedelta = timedelta(minutes=1)
    # ... but never longer than this.
    retry_max: timedelta = timedelta(hours=6)
    # After this many failed runs a delivery is given up (state 'failed'), still listed with its last error.
    max_failures: int = 20


PARAMS = AlertParams()
