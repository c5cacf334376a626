"""One served prediction as the inference log stores it, and its time-ordered id."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One prediction as answered to a client; a row of the ``predictions`` table.

    ``created_at`` must be timezone-aware (it is stored in UTC). ``inputs`` is the
    JSON object of submitted features, ``reasons`` the explanation strings.
    """

    id: str
    created_at: datetime
    tenant_id: str
    scenario: str
    model_name: str | None
    model_version: int | None
    manifest_version: int | None
    method: str
    route: str
    inputs: dict[str, Any]
    score: float
    label: str
    threshold: float | None
    reasons: list[str]
    latency_ms: float

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise ValueError(
                f"prediction {self.id}: created_at {self.created_at.isoformat()} is naive; "
                "pass an aware datetime such as datetime.now(UTC)."
            )

    def to_row(self) -> dict[str, Any]:
        """The ``predictions`` row: ``inputs`` and ``reasons`` encoded as JSON text.

        Raises ``TypeError`` naming the prediction when an input cannot be encoded.
        """
        try:
            inputs = json.dumps(self.inputs, separators=(",", ":"), default=_json_default,
                                allow_nan=False)
            reasons = json.dumps(list(self.reasons), separators=(",", ":"),
                                 default=_json_default, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"prediction {self.id}: inputs or reasons are not JSON-encodable ({exc}); "
                "pass plain str, int, float (finite), bool, None, list and dict values."
            ) from None
        return {
            "id": self.id, "created_at": self.created_at, "tenant_id": self.tenant_id,
            "scenario": self.scenario, "model_name": self.model_name,
            "model_version": self.model_version, "manifest_version": self.manifest_version,
            "method": self.method, "route": self.route, "inputs": inputs,
            "score": float(self.score), "label": self.label,
            "threshold": None if self.threshold is None else float(self.threshold),
            "reasons": reasons, "latency_ms": float(self.latency_ms),
        }


def _json_default(value: Any) -> Any:
    # numpy scalars (float64, int64, bool_) and dates reach the log from scorers.
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} value {value!r} is not JSON-encodable")


# UUIDv7 (RFC 9562 section 5.7) with a 42-bit counter (section 6.2, method 1):
#   unix_ts_ms (48) | ver=7 (4) | counter high (12) | var=0b10 (2) | counter low (30) | random (32)
# The counter starts at a random value with its top bit clear each new millisecond
# and grows by one per id inside a millisecond, so ids from one process sort in
# creation order; if it overflows, or the clock steps back, the timestamp is
# advanced past the last one used instead.
_COUNTER_BITS = 42
_COUNTER_MAX = (1 << _COUNTER_BITS) - 1
_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_prediction_id() -> str:
    """A new time-ordered UUIDv7 string (36 characters), unique across processes.

    >>> a, b = new_prediction_id(), new_prediction_id()
    >>> a < b and len(a) == 36 and a[14] == "7"
    True
    """
    global _last_ms, _counter
    now_ms = time.time_ns() // 1_000_000
    with _lock:
        if now_ms > _last_ms:
            _last_ms = now_ms
            _counter = int.from_bytes(os.urandom(6)) & (_COUNTER_MAX >> 1)
        else:
            _counter += 1
            if _counter > _COUNTER_MAX:
                _last_ms += 1
                _counter = int.from_bytes(os.urandom(6)) & (_COUNTER_MAX >> 1)
        ms, counter = _last_ms, _counter
    tail = int.from_bytes(os.urandom(4))
    value = (
        (ms & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | (counter >> 30) << 64
        | 0b10 << 62
        | (counter & 0x3FFF_FFFF) << 32
        | tail
    )
    return str(uuid.UUID(int=value))


def prediction_id_time(prediction_id: str) -> datetime:
    """The UTC millisecond a UUIDv7 prediction id was made at."""
    value = uuid.UUID(prediction_id).int
    return datetime.fromtimestamp((value >> 80) / 1000, tz=UTC)
