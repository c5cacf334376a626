"""The fast path scores exactly as the signed estimator, or it is not used.

Oracle: ``scenario.risk_scores(estimator, frame)`` on the frame serving builds
(``fast_path.estimator_scores``), compared float for float.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest
from custom_helpers import CLAIMS_CONFIG, claims_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from riskops.errors import FastPathUnsupported
from riskops.scenarios import get_scenario
from riskops.scenarios.base import Scenario
from riskops.scenarios.custom import load_custom_scenario
from riskops.serving.compiled_trees import compile_trees
from riskops.serving.fast_path import (
    compare_with_estimator,
    compile_fast_path,
    estimator_scores,
    golden_rows,
)
from riskops.serving.pool import ServedVersion, with_fast_path
from riskops.serving.routing import Route
from riskops.serving.scoring import score_rows

TABULAR = ("fraud", "shortfall", "compliance", "deal")


def _fit(scenario: Scenario, frame: pd.DataFrame) -> Any:
    with threadpool_limits(limits=1):
        model = scenario.build_model(seed=0)
        return model.fit(scenario.model_input(frame), frame[scenario.schema.label].astype(str))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Scenario, Any]]:
    """Every tabular reference scenario and a custom gradient-boosting one, each fitted on
    a few hundred rows with its own builder."""
    out: dict[str, tuple[Scenario, Any]] = {}
    for name in TABULAR:
        scenario = get_scenario(name)
        out[name] = scenario, _fit(scenario, scenario.generate(
            600, start=date(2026, 1, 1), days=30, seed=1))
    toml = tmp_path_factory.mktemp("claims") / "claims.toml"
    toml.write_text(CLAIMS_CONFIG, encoding="utf-8")
    claims = load_custom_scenario(toml, name="claims")
    out["claims"] = claims, _fit(claims, claims.prepare(claims_frame(600), source="claims"))
    return out


def _random_rows(scenario: Scenario, count: int, seed: int) -> list[dict[str, Any]]:
    """Plausible rows with missing values, unseen categories and extreme numbers mixed in."""
    rng = np.random.default_rng(seed)
    frame = scenario.sample_rows(count, seed=seed)
    rows = [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in frame[scenario.schema.feature_names].to_dict(orient="records")]
    odd_numbers = [None, math.nan, 0.0, -0.0, 1e15, -1e15, 1e300, -1e300, 0.5, 3]
    for row in rows:
        for feature in scenario.schema.features:
            if rng.random() < 0.15:
                if feature.kind == "numeric":
                    row[feature.name] = odd_numbers[rng.integers(len(odd_numbers))]
                else:
                    row[feature.name] = [None, math.nan, "", "never seen"][rng.integers(4)]
    return rows


@pytest.mark.parametrize("name", [*TABULAR, "claims"])
def test_fast_path_equals_the_estimator_on_thousands_of_rows(
        trained: dict[str, tuple[Scenario, Any]], name: str) -> None:
    scenario, model = trained[name]
    fast = compile_fast_path(scenario, model)
    rows = _random_rows(scenario, 2000, seed=11)
    np.testing.assert_array_equal(fast.scores(rows), estimator_scores(scenario, model, rows))


@pytest.mark.parametrize("name", [*TABULAR, "claims"])
def test_fast_path_equals_the_estimator_row_by_row_and_in_batches(
        trained: dict[str, tuple[Scenario, Any]], name: str) -> None:
    scenario, model = trained[name]
    fast = compile_fast_path(scenario, model)
    rows = _random_rows(scenario, 40, seed=5)
    expected = estimator_scores(scenario, model, rows)
    for i, row in enumerate(rows):
        assert fast.scores([row])[0] == expected[i]
    for size in (2, 8, 13):
        got = np.concatenate([fast.scores(rows[i:i + size]) for i in range(0, 40, size)])
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", [*TABULAR, "claims"])
def test_fast_path_passes_its_golden_rows(trained: dict[str, tuple[Scenario, Any]],
                                          name: str) -> None:
    scenario, model = trained[name]
    fast = compile_fast_path(scenario, model)
    rows = golden_rows(scenario, fast, scenario.sample_rows(16))
    check = compare_with_estimator(scenario, model, fast, rows)
    assert check.identical and check.rows == len(rows) > 100
    # thresholds, missing values and unseen categories are all probed
    assert any(r[fast.encoding.numbers[0]] is None for r in rows)
    assert any(r[fast.encoding.categories[0][0]] == "\x00unseen category" for r in rows)


def _numbers_and_categories(scenario: Scenario) -> st.SearchStrategy[dict[str, Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for feature in scenario.schema.features:
        if feature.kind == "numeric":
            fields[feature.name] = st.one_of(
                st.none(), st.floats(allow_nan=True, allow_infinity=True),
                st.floats(min_value=feature.minimum or -10.0, max_value=feature.maximum or 100.0),
                st.integers(min_value=-10**6, max_value=10**6))
        else:
            fields[feature.name] = st.one_of(
                st.none(), st.sampled_from(feature.categories or ("a",)), st.text(max_size=5))
    return st.fixed_dictionaries(fields)


@pytest.mark.parametrize("name", ["fraud", "deal"])
def test_fast_path_equals_the_estimator_on_any_row(
        trained: dict[str, tuple[Scenario, Any]], name: str) -> None:
    scenario, model = trained[name]
    fast = compile_fast_path(scenario, model)

    @settings(max_examples=150, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(_numbers_and_categories(scenario), min_size=1, max_size=6))
    def check(rows: list[dict[str, Any]]) -> None:
        np.testing.assert_array_equal(fast.scores(rows), estimator_scores(scenario, model, rows))

    check()


def test_values_the_fast_path_does_not_read_are_left_to_the_estimator(
        trained: dict[str, tuple[Scenario, Any]]) -> None:
    scenario, model = trained["fraud"]
    fast = compile_fast_path(scenario, model)
    row = _random_rows(scenario, 1, seed=3)[0]
    with pytest.raises(FastPathUnsupported, match="numeric value of type str"):
        fast.scores([{**row, "amount": "12.5"}])
    with pytest.raises(FastPathUnsupported, match="numeric value of type bool"):
        fast.scores([{**row, "amount": True}])
    with pytest.raises(FastPathUnsupported, match="categorical value of type int"):
        fast.scores([{**row, "channel": 3}])


def test_incident_has_no_fast_path() -> None:
    incident = get_scenario("incident")
    frame = incident.generate(300, start=date(2026, 1, 1), days=10, seed=1)
    model = _fit(incident, frame)
    with pytest.raises(FastPathUnsupported, match="scenario 'incident' scores its own way"):
        compile_fast_path(incident, model)


def test_an_unknown_estimator_shape_has_no_fast_path(
        trained: dict[str, tuple[Scenario, Any]]) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    scenario, model = trained["fraud"]
    with pytest.raises(FastPathUnsupported, match="not a two-step Pipeline"):
        compile_fast_path(scenario, model.named_steps["classifier"])
    swapped = Pipeline([("features", model.named_steps["features"]),
                        ("classifier", LogisticRegression())])
    with pytest.raises(FastPathUnsupported, match="not a CalibratedClassifierCV"):
        compile_fast_path(scenario, swapped)
    scaled = Pipeline([("features", StandardScaler()), model.steps[1]])
    with pytest.raises(FastPathUnsupported, match="StandardScaler, not a ColumnTransformer"):
        compile_fast_path(scenario, scaled)


def test_a_booster_with_a_categorical_split_is_not_compiled(
        trained: dict[str, tuple[Scenario, Any]]) -> None:
    import copy

    _, model = trained["fraud"]
    booster = copy.deepcopy(model.named_steps["classifier"].calibrated_classifiers_[0].estimator)
    booster._predictors[0][0].nodes["is_categorical"][0] = 1
    with pytest.raises(FastPathUnsupported, match="categorical split"):
        compile_trees([booster])


def _loaded(model: Any) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(estimator=model, model="fraud", version=1, sha256="x")


def test_a_fast_path_that_disagrees_is_refused_at_load(
        trained: dict[str, tuple[Scenario, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    import riskops.serving.pool as pool

    scenario, model = trained["fraud"]
    real = pool.compile_fast_path

    def tampered(scenario: Scenario, estimator: Any) -> Any:
        fast = real(scenario, estimator)
        fast.trees.threshold[fast.trees.roots] = -np.inf  # every root sends every row right
        return fast

    monkeypatch.setattr(pool, "compile_fast_path", tampered)
    served = with_fast_path(scenario, ServedVersion(_loaded(model), 0.5),
                            scenario.sample_rows(64))
    assert served.fast is None and served.scoring_path == "estimator"
    assert served.estimator_reason is not None
    assert served.estimator_reason.startswith("fast path refused: ")
    assert "golden rows scored differently from the signed estimator" in served.estimator_reason


def test_a_fast_path_that_agrees_is_kept_at_load(
        trained: dict[str, tuple[Scenario, Any]]) -> None:
    scenario, model = trained["fraud"]
    served = with_fast_path(scenario, ServedVersion(_loaded(model), 0.5),
                            scenario.sample_rows(64))
    assert served.scoring_path == "fast" and served.estimator_reason is None


def test_scoring_with_the_fast_path_answers_as_the_estimator(
        trained: dict[str, tuple[Scenario, Any]]) -> None:
    scenario, model = trained["deal"]
    plain = ServedVersion(_loaded(model), 0.3)
    fast = with_fast_path(scenario, plain, scenario.sample_rows(64))
    assert fast.fast is not None
    rows = _random_rows(scenario, 50, seed=9)
    rows.append({**rows[0], "amount": "not a number"})  # the estimator decides: it fails
    for batch in (rows[:50], rows[:1], rows):
        assert score_rows(scenario, Route(fast, "production"), batch) == \
            score_rows(scenario, Route(plain, "production"), batch)


def test_a_fault_while_compiling_leaves_the_version_to_its_estimator(
        trained: dict[str, tuple[Scenario, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    import riskops.serving.pool as pool

    def broken(scenario: Scenario, estimator: Any) -> Any:
        raise AttributeError("output_indices_")

    monkeypatch.setattr(pool, "compile_fast_path", broken)
    scenario, model = trained["fraud"]
    served = with_fast_path(scenario, ServedVersion(_loaded(model), 0.5),
                            scenario.sample_rows(8))
    assert served.fast is None
    assert served.estimator_reason == \
        "fast path not compiled (AttributeError: output_indices_)"


def test_compiled_trees_give_each_boosters_decision_function(
        trained: dict[str, tuple[Scenario, Any]]) -> None:
    scenario, model = trained["shortfall"]
    boosters = [m.estimator for m in model.named_steps["classifier"].calibrated_classifiers_]
    trees = compile_trees(boosters)
    rng = np.random.default_rng(2)
    X = model.named_steps["features"].transform(
        scenario.model_input(scenario.sample_rows(300))).astype(float)
    X[rng.random(X.shape) < 0.1] = np.nan
    X[rng.random(X.shape) < 0.02] = np.inf
    expected = np.column_stack([b.decision_function(X) for b in boosters])
    np.testing.assert_array_equal(trees.decision_functions(X), expected)
    np.testing.assert_array_equal(trees.decision_functions(X[:1]), expected[:1])
