"""`serving.ranges`: the training range of a served version, and rows outside it."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pandas as pd

from riskops.profiles.profile import build_profile, dumps, read_profile
from riskops.scenarios import get_scenario
from riskops.scenarios.base import Feature, Schema
from riskops.serving.pool import ServedVersion
from riskops.serving.ranges import TrainingRanges
from riskops.serving.routing import Route
from riskops.serving.scoring import score_rows

SCHEMA = Schema((Feature("amount", "numeric", "a", lower_bound=0),
                 Feature("channel", "categorical", "c", categories=("web", "app", "phone")),
                 Feature("notes", "text", "n")), labels=("0", "1"))


def _ranges() -> TrainingRanges:
    frame = pd.DataFrame({"amount": [1.0, 5.0, np.nan, 9.5], "channel": ["web", "app", None, "web"],
                          "notes": ["a", "b", "c", "d"]})
    document = build_profile(frame, [0.1, 0.2, 0.3, 0.4], SCHEMA, name="toy")
    return TrainingRanges.from_profile(read_profile(dumps(document), source="toy"), SCHEMA)


def test_ranges_are_the_training_extremes_and_the_categories_seen() -> None:
    ranges = _ranges()
    assert ranges.numeric == (("amount", 1.0, 9.5),)
    assert ranges.categorical == (("channel", frozenset({"web", "app"})),)  # not "(missing)"


def test_rows_outside_are_named_in_schema_order() -> None:
    ranges = _ranges()
    assert ranges.outside({"amount": 1.0, "channel": "web"}) == ()  # the ends are inside
    assert ranges.outside({"amount": 9.5, "channel": "app"}) == ()
    assert ranges.outside({"amount": 0.5, "channel": "web"}) == ("amount",)
    assert ranges.outside({"amount": 10.0, "channel": "phone"}) == ("amount", "channel")
    assert ranges.outside({"amount": None, "channel": None}) == ()  # missing is not outside


class _Half:
    classes_ = np.array(["0", "1"])

    def predict_proba(self, frame):
        return np.full((len(frame), 2), 0.5)


def _route(ranges: TrainingRanges | None) -> Route:
    loaded = SimpleNamespace(model="fraud", version=1, sha256="a" * 64, estimator=_Half())
    return Route(ServedVersion(loaded, 0.5, ranges), "production")  # type: ignore[arg-type]


ROW = {"amount": 50_000.0, "hour_of_day": 3, "account_age_days": 400, "txn_count_24h": 1,
       "distance_from_home_km": 2.0, "failed_auth_7d": 0, "card_present": "yes",
       "channel": "fax", "new_device": "no"}
FRAUD_RANGES = TrainingRanges((("amount", 1.0, 20_000.0), ("hour_of_day", 0.0, 23.0)),
                              (("channel", frozenset({"pos", "web"})),))


def test_score_rows_adds_one_reason_per_feature_outside() -> None:
    [scored] = score_rows(get_scenario("fraud"), _route(FRAUD_RANGES), [ROW])
    assert scored.method == "ml"
    assert scored.out_of_range == ("amount", "channel")
    assert scored.reasons[-2:] == ("outside training range: amount",
                                   "outside training range: channel")


def test_a_version_without_a_profile_is_not_range_checked() -> None:
    [scored] = score_rows(get_scenario("fraud"), _route(None), [ROW])
    assert scored.out_of_range == ()
    assert not any(r.startswith("outside training range") for r in scored.reasons)


def test_the_check_costs_microseconds_per_row() -> None:
    rows = [dict(ROW, amount=float(i)) for i in range(10_000)]
    started = time.perf_counter()
    for row in rows:
        FRAUD_RANGES.outside(row)
    per_row = (time.perf_counter() - started) / len(rows)
    assert per_row < 20e-6  # about 1 µs on a laptop; generous for loaded CI machines
