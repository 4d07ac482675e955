"""One parser for the timestamps of imported files: ISO 8601 or epoch seconds (pure, stdlib only).

``scooptrace signals import`` and ``scooptrace import`` both read their timestamps with ``parse_timestamp``,
so a value one accepts the other accepts too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

# Epoch seconds from 1973 (9 digits) to 2286 (10 digits) and beyond (11): a bare number of other lengths is
# more likely a typo or milliseconds than a date.
EPOCH_SECONDS = re.compile(r"\d{9,11}(\.\d+)?")


def parse_timestamp(text: str) -> tuple[datetime, bool]:
    """A UTC instant from ISO 8601 or epoch seconds, and whether it had a zone (naive is read as UTC).

    Raises ValueError (or OverflowError/OSError for an absurd epoch) when the text is neither."""
    text = text.strip()
    if EPOCH_SECONDS.fullmatch(text):
        return datetime.fromtimestamp(float(text), UTC), True
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC), False
    return parsed.astimezone(UTC), True
