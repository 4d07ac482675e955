"""Small wording helpers shared by every command's messages (pure)."""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 row``, ``2 rows``, ``0 rows``; ``many`` for irregular plurals (``1 entry``, ``2 entries``)."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"
