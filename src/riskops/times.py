"""Reading a moment in time from a user: ``--now`` options and job metadata."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from riskops.errors import InputError


def parse_time(value: Any, *, where: str) -> datetime:
    """``value`` (ISO 8601 text; without a zone read as UTC) as an aware UTC time, or the
    current time when ``None``.

    Raises ``InputError`` naming ``where`` when ``value`` is not ISO 8601 text.

    >>> parse_time("2026-09-08", where="--now").isoformat()
    '2026-09-08T00:00:00+00:00'
    """
    if value is None:
        return datetime.now(UTC)
    if not isinstance(value, str):
        raise InputError(f"{where} must be an ISO 8601 time, e.g. 2026-09-08T02:00:00Z.")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{where} {value[:40]!r} is not an ISO 8601 time; use e.g. "
                         "2026-09-08 or 2026-09-08T02:00:00Z.") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
