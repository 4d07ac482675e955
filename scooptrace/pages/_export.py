"""One story's timeline as CSV, JSON or Parquet: used by the Story page's downloads and ``scooptrace export``.
Times are UTC ISO 8601; nothing is rendered, so the text is exported exactly as stored."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas loads when a story is exported, not for every `scooptrace` command (FORMATS)
    import pandas as pd

FORMATS = ("csv", "json", "parquet")
COLUMNS = [
    "story_id",
    "article_id",
    "outlet",
    "title",
    "language",
    "published_at",
    "published_at_source",
    "lag_seconds",
    "is_first_report",
    "syndicated_from_article_id",
    "syndicated_from_outlet",
    "url",
]


def export_frame(story_id: str, timeline: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    out = timeline.copy()
    out["story_id"] = story_id
    stamps = pd.to_datetime(out["published_at"], utc=True)
    out["published_at"] = stamps.map(lambda t: t.isoformat() if not pd.isna(t) else None)
    return out[[c for c in COLUMNS if c in out.columns]]


def jsonable(value: Any) -> Any:
    import pandas as pd

    if value is None or isinstance(value, str | int | float | bool):
        return None if isinstance(value, float) and pd.isna(value) else value
    if isinstance(value, pd.Timestamp | pd.Timedelta):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def to_bytes(info: dict[str, Any], timeline: pd.DataFrame, fmt: str) -> bytes:
    """The story's timeline in ``fmt`` (csv, json or parquet)."""
    frame = export_frame(str(info["story_id"]), timeline)
    if fmt == "csv":
        return frame.to_csv(index=False).encode("utf-8")
    if fmt == "json":
        records = json.loads(frame.to_json(orient="records", force_ascii=False))
        payload = {"story": {k: jsonable(v) for k, v in info.items()}, "articles": records}
        return (json.dumps(payload, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if fmt == "parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()
    raise ValueError(f"unknown export format {fmt!r}")
