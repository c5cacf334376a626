"""Text features between windows and against a profile: top-term PSI by hand, OOV rates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import entropy
from sklearn.feature_extraction.text import TfidfVectorizer

from riskops.monitoring.skew import text_skew, top_terms_skew
from riskops.monitoring.text_drift import check_top_terms, window_text_checks
from riskops.profiles.profile import build_profile, dumps, read_profile
from riskops.scenarios.base import Feature, Schema

SCHEMA = Schema(features=(Feature("notes", "text", "Notes."),), labels=("0", "1"))
TRAIN = ["vpn down again", "vpn slow today", "mail slow today", "printer jam",
         "vpn down for all users", "mail bounced"] * 20


def _terms_profile(texts=TRAIN, top: int = 2):
    vectorizer = TfidfVectorizer().fit(texts)
    model = _Pipeline(vectorizer)
    document = build_profile(pd.DataFrame({"notes": texts}), [0.5] * 10, SCHEMA, name="t",
                             model=model, top_terms=top)
    return read_profile(dumps(document), source="p.json").features["notes"]


class _Pipeline:
    """The shape find_vectorizer walks: steps -> a column transformer -> the vectorizer."""

    def __init__(self, vectorizer) -> None:
        self.steps = [("features", _Columns(vectorizer))]


class _Columns:
    def __init__(self, vectorizer) -> None:
        self.transformers_ = [("text", vectorizer, "notes")]


def test_top_terms_psi_is_the_symmetric_kl_of_the_buckets() -> None:
    # reference pairs: vpn 2, mail 1, other 3 -> (2, 1, 3)/6; current: vpn 0, mail 2, other 2
    reference = [["vpn", "down"], ["vpn", "slow"], ["mail", "jam"]]
    current = [["mail", "slow"], ["mail", "bounced"]]
    result = check_top_terms(reference, current, ["vpn", "mail"], min_samples=2)
    ref, cur = np.array([2, 1, 3]) / 6, np.array([1e-4, 0.5, 0.5])
    assert result["psi"] == pytest.approx(float(np.sum((cur - ref) * np.log(cur / ref))))
    assert result["psi"] == pytest.approx(entropy(cur, ref) + entropy(ref, cur), rel=1e-3)
    assert result["terms"]["vpn"] == {"reference": 2 / 6, "current": 0.0}
    assert result["drift"] and result["verdict"] == "alert"


def test_top_terms_are_skipped_without_enough_texts() -> None:
    result = check_top_terms([["a"]] * 40, [[], None] * 20, ["a"], min_samples=30)
    assert result["status"] == "skipped"
    assert result["reason"] == ("current window has 0 texts with terms, fewer than the 30 a "
                                "drift check needs")


def test_profile_of_a_text_feature_holds_terms() -> None:
    entry = _terms_profile()
    assert entry.terms is not None
    # document frequency: vpn 3/6, down 2/6 = mail 2/6 = slow 2/6 = today 2/6 -> "down" by name
    assert entry.terms.top_terms == ("vpn", "down")
    assert entry.terms.document_shares == (0.5, 2 / 6)
    assert entry.terms.oov_rate.mean == 0.0  # every training word is in the vocabulary


def test_a_topic_shift_flags_top_terms_against_the_profile() -> None:
    entry = _terms_profile()
    current = ["printer jam", "mail bounced", "mail slow today"] * 20  # no vpn, no down
    results = dict(text_skew(entry, current, name="notes"))
    assert results["notes:top_terms"]["drift"]
    assert results["notes:top_terms"]["terms"]["vpn"]["current"] == 0.0
    assert not results["notes:oov_rate"]["drift"]  # the same words, all known


def test_new_words_flag_the_oov_rate_against_the_profile() -> None:
    entry = _terms_profile()
    current = ["nimbus workspace dark", "vpn sluggish", "helix ledger hanging"] * 20
    results = dict(text_skew(entry, current, name="notes"))
    oov = results["notes:oov_rate"]
    assert oov["drift"] and oov["current_mean"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert results["notes"]["measure"] == "length in characters"


def test_window_checks_use_the_profile_vocabulary() -> None:
    entry = _terms_profile()
    reference = TRAIN[:60]
    current = ["nimbus workspace dark", "vpn sluggish", ""] * 20
    results = dict(window_text_checks(reference, current, entry.terms, name="notes"))
    oov = results["notes:oov_rate"]
    assert oov["drift"] and oov["reference_mean"] == 0.0
    assert oov["current_missing_share"] == pytest.approx(1 / 3)  # "" has no terms: missing
    assert math.isclose(oov["current_mean"], 0.75)


def test_text_profile_without_a_vectorizer_gives_length_only() -> None:
    document = build_profile(pd.DataFrame({"notes": TRAIN}), [0.5], SCHEMA, name="t")
    entry = read_profile(dumps(document), source="p.json").features["notes"]
    assert entry.terms is None
    results = text_skew(entry, TRAIN[:40], name="notes")
    assert [feature for feature, _ in results] == ["notes"]
    assert results[0][1]["terms_note"] == ("no OOV rate or top terms: the model has no fitted "
                                           "text vectorizer for this column")


def test_top_terms_skew_counts_texts_with_terms() -> None:
    entry = _terms_profile()
    result = top_terms_skew(entry.terms, [["vpn"]] * 5 + [[]] * 50, min_samples=10)
    assert result["status"] == "skipped" and result["current_rows"] == 5
