"""The incident reference scenario: generator, drift, heuristic, model family."""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from riskops.registry.loader import BUILTIN_TRUSTED_TYPES
from riskops.scenarios.base import Drift
from riskops.scenarios.incident import (
    CUES,
    HEURISTIC_RULES,
    LABELS,
    MAX_TEXT_LENGTH,
    NEW_SYSTEMS,
    IncidentScenario,
)

START = date(2024, 1, 1)
DRIFT_START = date(2024, 1, 31)
ROWS, DAYS, SEED = 12_000, 60, 7
#: Needed by the calibrated logistic regression but not yet in BUILTIN_TRUSTED_TYPES
#: (a fitted sigmoid: two floats, no callables).
PENDING_TRUST = {"sklearn.calibration._SigmoidCalibration"}
COLUMNS = [
    "id", "timestamp", "tenant_id", "industry", "region", "size_band", "reporter_language",
    "text", "source", "service_tier", "label",
]
SCENARIO = IncidentScenario()
FEATURES = SCENARIO.schema.feature_names
OLD_CUES = "|".join(c.keyword for c in CUES)
NEW_CUES = "|".join(c.synonym for c in CUES)


def _generate(drift: Drift | None = None, rows: int = ROWS, seed: int = SEED) -> pd.DataFrame:
    return SCENARIO.generate(rows, start=START, days=DAYS, seed=seed, drift=drift)


def _split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    after = (frame["timestamp"] >= pd.Timestamp(DRIFT_START, tz="UTC")).to_numpy()
    return frame[~after], frame[after]


def _share(texts: pd.Series, pattern: str) -> float:
    return float(texts.str.lower().str.contains(pattern).mean())


def _high_auc(frame: pd.DataFrame, scores: np.ndarray) -> float:
    return float(roc_auc_score(SCENARIO.binary_target(frame["label"]), scores))


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return _generate()


@pytest.fixture(scope="module")
def model(reference: pd.DataFrame):  # type: ignore[no-untyped-def]
    """Trained on the rows before ``DRIFT_START`` only."""
    before, _ = _split(reference)
    return SCENARIO.build_model(seed=0).fit(before[FEATURES], before["label"])


# generator


def test_generate_is_deterministic_by_seed() -> None:
    first = _generate(rows=2_000, seed=1)
    pd.testing.assert_frame_equal(first, _generate(rows=2_000, seed=1))
    assert not first["text"].equals(_generate(rows=2_000, seed=2)["text"])


def test_generate_columns_dtypes_and_sorted_timestamps(reference: pd.DataFrame) -> None:
    assert list(reference.columns) == COLUMNS
    assert str(reference["timestamp"].dt.tz) == "UTC"
    assert reference["timestamp"].is_monotonic_increasing
    assert reference["timestamp"].min() >= pd.Timestamp(START, tz="UTC")
    assert reference["timestamp"].max() < pd.Timestamp(START, tz="UTC") + pd.Timedelta(days=DAYS)
    for column in COLUMNS:
        if column != "timestamp":
            assert pd.api.types.is_string_dtype(reference[column]), column
    assert reference["id"].is_unique
    assert reference["tenant_id"].nunique() == 3
    assert set(reference["label"]) == set(LABELS)
    for name in ("source", "service_tier"):
        assert set(reference[name]) <= set(SCENARIO.schema.feature(name).categories or ())
    assert reference["text"].str.len().between(10, MAX_TEXT_LENGTH).all()


def test_label_mix_within_documented_bands() -> None:
    mix = _generate(rows=50_000, seed=11)["label"].value_counts(normalize=True)
    assert 0.55 <= mix["low"] <= 0.65
    assert 0.23 <= mix["medium"] <= 0.33
    assert 0.09 <= mix["high"] <= 0.15


def test_generate_200k_rows_quickly() -> None:
    began = time.perf_counter()
    frame = SCENARIO.generate(200_000, start=START, days=90, seed=0)
    assert len(frame) == 200_000
    assert time.perf_counter() - began < 15


# drift


@pytest.mark.parametrize("kind", ["covariate", "concept", "prior"])
def test_rows_before_drift_start_do_not_depend_on_drift(
    kind: str, reference: pd.DataFrame
) -> None:
    before, _ = _split(_generate(Drift(kind, DRIFT_START)))  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(before, reference.iloc[: len(before)])


def test_prior_drift_doubles_high_share_and_keeps_text_given_label() -> None:
    before, after = _split(_generate(Drift("prior", DRIFT_START)))
    ratio = (after["label"] == "high").mean() / (before["label"] == "high").mean()
    assert 1.7 <= ratio <= 2.3
    strong = "ransomware|data breach|exfiltration|production down|outage|malware|all users"
    high_before = before.loc[before["label"] == "high", "text"]
    high_after = after.loc[after["label"] == "high", "text"]
    assert _share(high_after, strong) == pytest.approx(_share(high_before, strong), abs=0.05)


def test_covariate_drift_rewords_cues_and_names_new_products() -> None:
    before, after = _split(_generate(Drift("covariate", DRIFT_START)))
    assert _share(after["text"], OLD_CUES) < _share(before["text"], OLD_CUES) / 2
    assert _share(before["text"], NEW_CUES) == 0.0
    assert _share(after["text"], NEW_CUES) > 0.5
    new_products = "|".join(NEW_SYSTEMS).lower()
    assert _share(before["text"], new_products) == 0.0
    assert _share(after["text"], new_products) > 0.5
    # labels follow the same rule: the mix barely moves
    assert (after["label"] == "high").mean() == pytest.approx(
        (before["label"] == "high").mean(), abs=0.03)


def test_covariate_drift_on_a_named_categorical_leaves_text_alone(
    reference: pd.DataFrame,
) -> None:
    _, after = _split(_generate(Drift("covariate", DRIFT_START, features=("source",))))
    _, plain = _split(reference)
    assert (after["source"] == "monitoring").mean() > (plain["source"] == "monitoring").mean() + 0.2
    assert _share(after["text"], NEW_CUES) == 0.0


def test_covariate_drift_names_unknown_features() -> None:
    with pytest.raises(ValueError, match="unknown features amount; incident features are text"):
        _generate(Drift("covariate", DRIFT_START, features=("amount",)), rows=100)


def test_concept_drift_costs_a_pre_drift_model_auc(model, reference: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    _, plain = _split(reference)
    _, drifted = _split(_generate(Drift("concept", DRIFT_START)))
    assert plain["timestamp"].equals(drifted["timestamp"])
    auc_plain = _high_auc(plain, SCENARIO.risk_scores(model, plain))
    auc_drifted = _high_auc(drifted, SCENARIO.risk_scores(model, drifted))
    assert auc_drifted < auc_plain - 0.04


# heuristic


def test_heuristic_names_each_matched_keyword_once_with_its_weight() -> None:
    result = SCENARIO.heuristic({
        "text": "RANSOMWARE on the payment API. All  users affected, urgent! ransomware",
        "source": "email", "service_tier": "silver",
    })
    assert result.score == 1.0  # 0.15 + 0.5 + 0.3 + 0.15, clipped
    assert result.label == "high"
    assert result.reasons == (
        "base score 0.15", "matched 'ransomware' (+0.5)", "matched 'all users' (+0.3)",
        "matched 'urgent' (+0.15)",
    )


def test_heuristic_scores_low_cues_low_and_nudges_by_tier_and_source() -> None:
    typo = SCENARIO.heuristic({"text": "Typo on the start page", "service_tier": "bronze"})
    assert typo.score == pytest.approx(0.0)
    assert typo.label == "low"
    assert "matched 'typo' (-0.1)" in typo.reasons
    assert "service_tier bronze (-0.05)" in typo.reasons
    outage = SCENARIO.heuristic({"text": "Full outage of CRM", "source": "phone",
                                 "service_tier": "gold"})
    assert outage.score == pytest.approx(0.15 + 0.4 + 0.05 + 0.1)
    assert outage.label == "high"


def test_heuristic_without_keywords_says_so() -> None:
    result = SCENARIO.heuristic({"text": "The printer needs paper"})
    assert (result.score, result.label) == (0.15, "low")
    assert result.reasons == ("base score 0.15", "no severity keyword matched")


@pytest.mark.parametrize("features", [
    {}, {"text": None}, {"text": ""}, {"text": "  \n\t"}, {"text": float("nan")},
    {"text": None, "source": "phone", "service_tier": "gold"},
])
def test_heuristic_scores_missing_text_low(features: dict[str, object]) -> None:
    result = SCENARIO.heuristic(features)
    assert (result.score, result.label) == (0.0, "low")
    assert result.reasons == ("no incident text to match; scored low",)


def test_heuristic_reads_only_the_first_max_length_characters() -> None:
    text = "x" * MAX_TEXT_LENGTH + " ransomware" * 100_000
    assert "matched 'ransomware' (+0.5)" not in SCENARIO.heuristic({"text": text}).reasons


def test_heuristic_normalises_unicode() -> None:
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in "RANSOMWARE")  # fullwidth forms
    result = SCENARIO.heuristic({"text": f"{fullwidth} détectée sur le serveur"})
    assert "matched 'ransomware' (+0.5)" in result.reasons


@settings(max_examples=200, deadline=None)
@given(
    text=st.one_of(st.none(), st.text(), st.lists(st.sampled_from(
        [k.upper() for k, _ in HEURISTIC_RULES] + [" ", "é", "\u200b", "ß", "🔥", "\n"]),
    ).map(" ".join)),
    other=st.one_of(st.none(), st.text(max_size=10), st.integers(), st.floats()),
)
def test_heuristic_never_raises_and_stays_in_bounds(text: str | None, other: object) -> None:
    result = SCENARIO.heuristic({"text": text, "source": other, "service_tier": other})
    assert 0.0 <= result.score <= 1.0
    assert result.label == SCENARIO.label_for(result.score, SCENARIO.default_threshold)
    assert result.reasons
    assert SCENARIO.heuristic({"text": text, "source": other, "service_tier": other}) == result


# model


def test_model_beats_heuristic_on_a_later_slice(model, reference: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    _, later = _split(reference)
    heuristic = np.array([SCENARIO.heuristic(row).score
                          for row in later[FEATURES].to_dict("records")])
    model_auc = _high_auc(later, SCENARIO.risk_scores(model, later))
    assert model_auc > _high_auc(later, heuristic) + 0.03
    macro = roc_auc_score(later["label"], model.predict_proba(later[FEATURES]), multi_class="ovr")
    assert 0.80 <= macro <= 0.95


def test_risk_scores_are_expected_severity(model, reference: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    rows = reference.tail(2_000)
    proba = pd.DataFrame(model.predict_proba(rows[FEATURES]), columns=model.classes_)
    scores = SCENARIO.risk_scores(model, rows)
    assert ((scores >= 0.0) & (scores <= 1.0)).all()
    np.testing.assert_allclose(scores, 0.5 * proba["medium"] + proba["high"])
    # monotone in P(high) up to P(medium): bounded by P(high) and (1 + P(high)) / 2
    assert (scores >= proba["high"] - 1e-12).all()
    assert (scores <= (1 + proba["high"]) / 2 + 1e-12).all()
    assert pd.Series(scores).corr(proba["high"], method="spearman") > 0.9


def test_risk_scores_treat_missing_values_as_empty(model) -> None:  # type: ignore[no-untyped-def]
    rows = pd.DataFrame({"text": [None, "", "Full outage of payment API"],
                         "source": [None, "fax", "phone"], "service_tier": ["gold", None, "gold"]})
    scores = SCENARIO.risk_scores(model, rows)
    assert np.isfinite(scores).all()
    assert scores[2] > scores[1]


def test_binary_target_is_high_against_the_rest() -> None:
    assert SCENARIO.binary_target(["low", "medium", "high", "high"]).tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize(("score", "label"), [
    (0.0, "low"), (0.29, "low"), (0.3, "medium"), (0.59, "medium"), (0.6, "high"), (1.0, "high"),
])
def test_label_for_cuts_medium_at_half_the_threshold(score: float, label: str) -> None:
    assert SCENARIO.label_for(score, 0.6) == label


def test_build_model_is_deterministic_by_seed(reference: pd.DataFrame) -> None:
    rows = reference.head(2_000)
    first = SCENARIO.build_model(seed=3).fit(rows[FEATURES], rows["label"])
    second = SCENARIO.build_model(seed=3).fit(rows[FEATURES], rows["label"])
    np.testing.assert_array_equal(first.predict_proba(rows[FEATURES]),
                                  second.predict_proba(rows[FEATURES]))


def test_skops_round_trip_gives_identical_predict_proba(model, reference: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    import skops.io as sio

    data = sio.dumps(model)
    untrusted = set(sio.get_untrusted_types(data=data))
    assert untrusted - set(BUILTIN_TRUSTED_TYPES) <= PENDING_TRUST
    loaded = sio.loads(data, trusted=[*BUILTIN_TRUSTED_TYPES, *PENDING_TRUST])
    rows = reference.tail(1_000)[FEATURES]
    np.testing.assert_array_equal(loaded.predict_proba(rows), model.predict_proba(rows))
