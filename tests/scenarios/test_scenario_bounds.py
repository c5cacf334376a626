"""Validity bounds of the reference scenarios: declared, and never broken by their generators.

Served generated data must never be refused, so every generator's output (with
and without drift, which shifts values) stays inside the bounds its schema
declares. The check here is plain numpy, independent of the data checks and of
the request models.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from riskops.errors import InputError
from riskops.scenarios import REFERENCE, get_scenario
from riskops.scenarios.base import Drift, Feature, Schema
from riskops.user_tables import validate_table

START = date(2024, 1, 1)
DRIFT_FROM = date(2024, 1, 11)


def _drifts(schema: Schema) -> list[Drift | None]:
    shiftable = tuple(f.name for f in schema.features if f.kind != "text")
    return [
        None,
        Drift("concept", DRIFT_FROM),
        Drift("prior", DRIFT_FROM, magnitude=3.0),
        Drift("covariate", DRIFT_FROM),  # the scenario's default features
        Drift("covariate", DRIFT_FROM, features=shiftable, magnitude=10.0),  # the maximum
    ]


def _broken(feature: Feature, values: np.ndarray) -> list[str]:
    if feature.kind == "categorical":
        return sorted({str(v) for v in values} - set(feature.categories or ()))
    numbers = values.astype(float)
    problems = []
    if not np.all(np.isfinite(numbers)):
        problems.append("not finite")
    if feature.lower_bound is not None and numbers.min() < feature.lower_bound:
        problems.append(f"min {numbers.min()} < {feature.lower_bound}")
    if feature.upper_bound is not None and numbers.max() > feature.upper_bound:
        problems.append(f"max {numbers.max()} > {feature.upper_bound}")
    if feature.integer and not np.all(numbers == np.round(numbers)):
        problems.append("fractional values")
    return problems


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_generated_rows_stay_inside_the_declared_bounds(name: str) -> None:
    scenario = get_scenario(name)
    for seed in (0, 1, 2):
        for drift in _drifts(scenario.schema):
            frame = scenario.generate(1500, start=START, days=30, seed=seed, drift=drift)
            for feature in scenario.schema.features:
                if feature.kind == "text":
                    continue
                problems = _broken(feature, frame[feature.name].to_numpy())
                assert not problems, (name, seed, drift, feature.name, problems)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_generated_rows_pass_the_training_data_checks(name: str) -> None:
    scenario = get_scenario(name)
    drift = _drifts(scenario.schema)[-1]
    frame = scenario.generate(1000, start=START, days=30, seed=4, drift=drift)
    validate_table(frame, scenario.schema.table_spec(), source="generated")


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_every_reference_feature_declares_its_valid_values(name: str) -> None:
    for feature in get_scenario(name).schema.features:
        if feature.kind == "numeric":
            declared = (feature.lower_bound, feature.upper_bound, feature.integer)
            assert declared != (None, None, False), feature.name
        elif feature.kind == "categorical":
            assert feature.categories, feature.name


@pytest.mark.parametrize(("name", "feature", "lower", "upper", "integer"), [
    ("fraud", "amount", 0, None, False),
    ("fraud", "hour_of_day", 0, 23, True),
    ("fraud", "account_age_days", 0, None, True),
    ("shortfall", "revenue_change_pct", -100, None, False),
    ("compliance", "control_test_failure_rate", 0, 1, False),
    ("deal", "days_to_close", None, None, True),  # negative once the date has passed
    ("deal", "discount_pct", 0, 100, False),
])
def test_bounds_follow_the_meaning_of_the_feature(
        name: str, feature: str, lower: float | None, upper: float | None,
        integer: bool) -> None:
    f = get_scenario(name).schema.feature(feature)
    assert (f.lower_bound, f.upper_bound, f.integer) == (lower, upper, integer)


def test_generator_range_is_not_the_validity_range() -> None:
    # The generator clips amounts to 0.5..20000; a valid amount is any amount >= 0.
    amount = get_scenario("fraud").schema.feature("amount")
    assert (amount.minimum, amount.maximum) == (0.5, 20_000.0)
    assert (amount.lower_bound, amount.upper_bound) == (0, None)


def test_training_data_outside_a_reference_bound_is_refused() -> None:
    scenario = get_scenario("fraud")
    frame = scenario.generate(50, start=START, days=5, seed=1)
    frame.loc[7, "hour_of_day"] = 27
    with pytest.raises(InputError, match=r"^generated: column 'hour_of_day' is above its "
                                         r"upper bound 23 in 1 row \(first: 27 at data row 8\)"):
        validate_table(frame, scenario.schema.table_spec(), source="generated")


def test_schema_hash_form_leaves_out_unset_bounds() -> None:
    features = Schema((Feature("x", "numeric", "x"),), labels=("0", "1")).as_dict()["features"]
    assert features == [{"name": "x", "kind": "numeric", "description": "x"}]
