"""Reference profiles: built from arrays, canonical bytes, strict reading, and PSI from a profile
equal to PSI on the raw training column."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from riskops.errors import InputError
from riskops.monitoring import stats
from riskops.monitoring.skew import categorical_skew, numeric_skew
from riskops.profiles.profile import FORMAT, build_profile, dumps, read_profile
from riskops.scenarios.base import Feature, Schema

SCHEMA = Schema(
    features=(Feature("amount", "numeric", "Amount."),
              Feature("count", "numeric", "A small count."),
              Feature("channel", "categorical", "Channel.")),
    labels=("0", "1"),
)
SOURCE = "models/toy/1/reference-profile.json"


def _frame(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(4.0, 1.0, n)
    amount[::50] = np.nan
    return pd.DataFrame({"amount": amount, "count": rng.poisson(2.0, n).astype(float),
                         "channel": rng.choice(["web", "pos", "app"], size=n, p=[.5, .3, .2])})


def _profile(frame: pd.DataFrame | None = None, scores=None):
    frame = _frame() if frame is None else frame
    scores = np.linspace(0, 1, 101) if scores is None else scores
    return build_profile(frame, scores, SCHEMA, name="toy")


def _parsed(document=None):
    return read_profile(dumps(document or _profile()), source=SOURCE)


def test_numeric_entry_holds_the_summary_and_shares() -> None:
    frame = _frame()
    entry = _profile(frame)["features"]["amount"]
    finite = frame["amount"].dropna().to_numpy()
    assert entry["count"] == 2000 and entry["missing_share"] == 40 / 2000
    assert entry["mean"] == float(np.mean(finite))
    assert entry["std"] == float(np.std(finite, ddof=1))
    assert (entry["min"], entry["max"]) == (finite.min(), finite.max())
    bins = stats.reference_bins(finite)
    assert entry["bins"] == {"kind": "quantiles", "points": list(bins.points)}
    assert entry["shares"] == stats.shares_in(bins, finite).tolist()


def test_categorical_entry_counts_missing_as_a_category() -> None:
    frame = pd.DataFrame({"amount": [1.0] * 4, "count": [1.0] * 4,
                          "channel": ["web", None, "web", np.nan]})
    entry = _profile(frame)["features"]["channel"]
    assert entry == {"kind": "categorical", "count": 4, "missing_share": 0.5,
                     "shares": {"(missing)": 0.5, "web": 0.5}}


def test_profile_bytes_are_deterministic_and_canonical() -> None:
    first, second = dumps(_profile(_frame())), dumps(_profile(_frame()))
    assert first == second
    document = json.loads(first)
    assert dumps(document) == first  # sorted keys, repr floats: a round trip changes nothing
    assert document["format"] == FORMAT


def test_profile_without_values_has_no_bins() -> None:
    frame = pd.DataFrame({"amount": [np.nan] * 3, "count": [1.0] * 3, "channel": ["a"] * 3})
    parsed = _parsed(_profile(frame))
    assert parsed.features["amount"].bins is None and parsed.features["amount"].mean is None
    result = numeric_skew(parsed.features["amount"], [1.0] * 40)
    assert result["status"] == "skipped" and "no values" in result["reason"]


@pytest.mark.parametrize("shift", [0.0, 0.3, 1.0])
def test_psi_from_a_profile_equals_psi_on_the_raw_training_column(shift: float) -> None:
    frame = _frame()
    train = frame["amount"].dropna().to_numpy()
    current = np.random.default_rng(1).lognormal(4.0 + shift, 1.0, 700)
    parsed = _parsed(_profile(frame))

    result = numeric_skew(parsed.features["amount"], current.tolist())

    assert result["psi"] == stats.psi(train, current)
    assert result["jensen_shannon"] == stats.jensen_shannon(train, current)
    assert result["z_score"] == pytest.approx(stats.drift_z_score(train, current), rel=1e-12)
    assert result["drift"] is (result["psi"] > 0.2)


def test_psi_from_a_profile_equals_psi_for_few_distinct_values() -> None:
    frame = _frame()
    train = frame["count"].to_numpy()
    current = np.random.default_rng(2).poisson(3.0, 500).astype(float)  # values past the end
    result = numeric_skew(_parsed(_profile(frame)).features["count"], current)
    assert _parsed(_profile(frame)).features["count"].bins.kind == "values"
    assert result["psi"] == stats.psi(train, current)


def test_categorical_psi_from_a_profile_equals_categorical_psi() -> None:
    frame = _frame()
    current = ["web"] * 20 + ["pos"] * 50 + ["kiosk"] * 30  # a category training never had
    result = categorical_skew(_parsed(_profile(frame)).features["channel"], current)
    assert result["psi"] == pytest.approx(stats.categorical_psi(frame["channel"], current),
                                          rel=1e-12)
    assert result["new_categories"] == ["kiosk"]
    chi = stats.chi_square(frame["channel"], current)
    assert (result["chi_square"], result["chi_square_dof"]) == (
        pytest.approx(chi.statistic, rel=1e-12), chi.dof)
    assert result["chi_square_pvalue"] == pytest.approx(chi.pvalue, rel=1e-9, abs=1e-300)
    assert result["drift"] and result["verdict"] == "alert"


def test_score_profile_matches_psi_on_the_scores() -> None:
    scores = np.random.default_rng(3).beta(2, 5, 400)
    current = np.random.default_rng(4).beta(2, 3, 300)
    parsed = _parsed(_profile(scores=scores))
    assert numeric_skew(parsed.score, current)["psi"] == stats.psi(scores, current)


def test_skew_is_skipped_under_the_sample_floor() -> None:
    result = numeric_skew(_parsed().features["amount"], [1.0] * 29, min_samples=30)
    assert result["status"] == "skipped"
    assert result["reason"] == ("current window has 29 non-missing values, fewer than the 30 "
                                "a skew check needs")


def test_build_profile_names_a_missing_feature_column() -> None:
    with pytest.raises(ValueError, match="lacks feature columns channel"):
        build_profile(_frame().drop(columns="channel"), [0.5], SCHEMA, name="toy")


# --- malformed profiles ----------------------------------------------------------------------


def _broken(change) -> bytes:
    document = json.loads(dumps(_profile()))
    change(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize(("data", "message"), [
    (b"\xff\xfe", "not UTF-8 JSON"),
    (b"{not json", "not UTF-8 JSON"),
    (b'{"mean": NaN}', "not UTF-8 JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "not UTF-8 JSON (RecursionError"),
    (b"[]", "field (top level) must be an object"),
    (_broken(lambda d: d.update(format="other/v9")), "field format is 'other/v9'"),
    (_broken(lambda d: d.pop("score")), "field score is missing"),
    (_broken(lambda d: d["features"]["amount"].update(kind="vector")),
     "field features.amount.kind must be numeric, categorical or text"),
    (_broken(lambda d: d["features"]["amount"]["shares"].append(0.0)),
     "field features.amount.shares has 11 shares, but its bins make 10"),
    (_broken(lambda d: d["features"]["amount"]["shares"].__setitem__(0, 0.9)),
     "field features.amount.shares sums to"),
    (_broken(lambda d: d["features"]["amount"]["bins"]["points"].reverse()),
     "field features.amount.bins.points must be strictly increasing"),
    (_broken(lambda d: d["features"]["amount"]["bins"].update(kind="deciles")),
     "field features.amount.bins.kind must be values or quantiles"),
    (_broken(lambda d: d["features"]["amount"].update(mean="big")),
     "field features.amount.mean must be a finite number"),
    (_broken(lambda d: d["features"]["channel"].update(shares={})),
     "field features.channel.shares must be a non-empty object"),
    (_broken(lambda d: d["features"]["channel"]["shares"].update(web=-0.1)),
     "field features.channel.shares.web must be in [0.0, 1.0], got -0.1"),
    (_broken(lambda d: d.update(bins=True)), "field bins must be an integer"),
])
def test_malformed_profile_is_refused_naming_the_file_and_field(data: bytes, message: str):
    with pytest.raises(InputError) as caught:
        read_profile(data, source=SOURCE)
    assert str(caught.value).startswith(f"{SOURCE}: not ")
    assert message in str(caught.value)
    assert str(caught.value).endswith("retrain the version to write a valid one.")


def test_read_profile_round_trips() -> None:
    parsed = _parsed()
    assert parsed.model == "toy" and parsed.source == SOURCE and parsed.bins == 10
    assert set(parsed.features) == {"amount", "count", "channel"}
    assert math.isclose(sum(parsed.features["channel"].shares.values()), 1.0)
