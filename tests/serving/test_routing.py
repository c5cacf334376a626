"""Routing precedence and the canary hash, without a server."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest

from riskops.serving.pool import ModelSlot, ServedVersion
from riskops.serving.routing import canary_bucket, choose_route


def _served(version: int) -> ServedVersion:
    loaded = SimpleNamespace(model="fraud", version=version, sha256="0" * 64)
    return ServedVersion(loaded, 0.5)  # type: ignore[arg-type]


PROD, CANARY, PINNED = _served(1), _served(2), _served(3)
SLOT = ModelSlot(PROD, CANARY, 25, {"acme": PINNED, "globex": None})


def test_precedence_switch_then_pin_then_canary_then_production():
    assert choose_route(SLOT, tenant="acme", key="k", ml_enabled=False).name == "disabled"
    assert choose_route(SLOT, tenant="acme", key="k", ml_enabled=True).served is PINNED
    pinned_off = choose_route(SLOT, tenant="globex", key="k", ml_enabled=True)
    assert pinned_off.served is None and pinned_off.name == "pin-heuristic"
    names = {choose_route(SLOT, tenant="t", key=f"k{i}", ml_enabled=True).name
             for i in range(200)}
    assert names == {"canary", "production"}
    assert choose_route(None, tenant="t", key="k", ml_enabled=True).name == "no-model"
    assert choose_route(ModelSlot(), tenant="t", key="k", ml_enabled=True).name == "no-model"


def test_canary_bucket_is_stable_uniform_and_matches_sha256():
    import hashlib

    key = "account-42"
    expected = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % 100
    assert canary_bucket(key) == expected == canary_bucket(key)
    counts = Counter(canary_bucket(f"k{i}") for i in range(20_000))
    assert set(counts) == set(range(100))
    assert max(counts.values()) < 2 * min(counts.values())


@pytest.mark.parametrize("percent", [1, 10, 50, 99])
def test_canary_share_follows_the_percent(percent):
    slot = ModelSlot(PROD, CANARY, percent)
    hits = sum(choose_route(slot, tenant="t", key=f"id-{i}", ml_enabled=True).served is CANARY
               for i in range(10_000))
    assert abs(hits / 10_000 - percent / 100) < 0.02
    assert choose_route(ModelSlot(PROD, CANARY, 0), tenant="t", key="x",
                        ml_enabled=True).served is PROD
