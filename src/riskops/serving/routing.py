"""Which model version answers a request: pure functions, no I/O.

Order of precedence, first match wins:

1. ``RISK_ML_ENABLED=false``: the heuristic (route ``disabled``).
2. A per-tenant pin in the signed manifest: that version, or the heuristic.
3. A canary at N %: requests whose key hashes into the first N of 100
   buckets get the canary version. The key is the caller's
   ``X-Request-Key`` (an account or case id keeps one entity on one version)
   or, without it, the prediction id.
4. Production; with none, the heuristic (route ``no-model``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from riskops.serving.pool import ModelSlot, ServedVersion


@dataclass(frozen=True, slots=True)
class Route:
    """The version to run (``None``: the heuristic) and why it was chosen."""

    served: ServedVersion | None
    name: str  # production | canary | pin | pin-heuristic | disabled | no-model


def canary_bucket(key: str) -> int:
    """A stable bucket in 0..99 for ``key`` (SHA-256, so uniform and unguessable)."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % 100


def choose_route(slot: ModelSlot | None, *, tenant: str, key: str, ml_enabled: bool) -> Route:
    """The route for one request to a scenario whose live models are ``slot``."""
    if not ml_enabled:
        return Route(None, "disabled")
    if slot is None:
        return Route(None, "no-model")
    if tenant in slot.pins:
        pinned = slot.pins[tenant]
        return Route(pinned, "pin") if pinned is not None else Route(None, "pin-heuristic")
    if slot.canary is not None and slot.canary_percent > 0 \
            and canary_bucket(key) < slot.canary_percent:
        return Route(slot.canary, "canary")
    if slot.production is not None:
        return Route(slot.production, "production")
    return Route(None, "no-model")
