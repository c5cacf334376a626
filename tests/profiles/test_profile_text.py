"""Text features against a vocabulary: hand-computed terms, OOV rates, top terms, shares."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from riskops.profiles import text
from riskops.scenarios import get_scenario


def words(t: str) -> list[str]:
    """A tokeniser for hand-computed cases."""
    return t.split()


def alnum_words(t: str) -> list[str]:
    return [w for w in t.split() if w.isalnum()]


def test_oov_rate_counts_repeats_over_all_terms() -> None:
    # "zork" twice out of 4 terms, vocabulary {vpn, down}
    rates = text.oov_rates([["vpn", "zork", "down", "zork"]], {"vpn", "down"})
    assert rates.tolist() == [0.5]


def test_oov_rate_is_zero_when_every_term_is_in_the_vocabulary() -> None:
    assert text.oov_rates([["vpn", "down", "vpn"]], {"vpn", "down"}).tolist() == [0.0]


def test_oov_rate_is_one_for_only_new_words() -> None:
    assert text.oov_rates([["nimbus", "ledger"]], {"vpn"}).tolist() == [1.0]


def test_oov_rate_of_an_empty_or_missing_text_is_nan() -> None:
    rates = text.oov_rates(text.text_terms(["", "!!", None, 3], alnum_words), {"vpn"})
    assert all(math.isnan(r) for r in rates)


def test_text_terms_keeps_non_text_as_none() -> None:
    assert text.text_terms(["a b", None, float("nan"), ""], words) == [["a", "b"], None, None, []]


def test_top_terms_rank_by_document_frequency_then_term() -> None:
    # vpn in 2 of 3 texts (repeats count once), down/mail/slow in 1 each -> ties by term
    terms = [["vpn", "vpn", "slow"], ["vpn", "down"], ["mail"], [], None]
    top, shares = text.top_terms(terms, k=3)
    assert top == ["vpn", "down", "mail"]
    assert shares == [2 / 3, 1 / 3, 1 / 3]


def test_top_terms_refuse_no_terms_and_bad_k() -> None:
    with pytest.raises(ValueError, match="no text has a term"):
        text.top_terms([[], None])
    with pytest.raises(ValueError, match="k must be a positive integer"):
        text.top_terms([["a"]], k=0)


def test_term_shares_count_distinct_terms_per_text_and_other() -> None:
    # pairs: (1, vpn) (1, slow) (2, vpn) (2, down) (3, mail) -> vpn 2, other 3 of 5
    terms = [["vpn", "vpn", "slow"], ["vpn", "down"], ["mail"], None]
    assert text.term_shares(terms, ["vpn"]).tolist() == [0.4, 0.6]
    assert text.term_shares(terms, ["vpn", "mail"]).tolist() == [0.4, 0.2, 0.4]
    assert text.term_shares(terms, ["vpn"]).sum() == 1.0


def test_term_shares_refuse_windows_without_terms() -> None:
    with pytest.raises(ValueError, match="no text has a term"):
        text.term_shares([None, []], ["vpn"])


def test_document_shares_over_texts_with_terms() -> None:
    terms = [["vpn", "down"], ["mail"], [], None]
    assert text.document_shares(terms, ["vpn", "mail", "zork"]).tolist() == [0.5, 0.5, 0.0]


@pytest.mark.parametrize("vectorizer", [
    TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True),
    TfidfVectorizer(stop_words="english", strip_accents="unicode"),
    CountVectorizer(analyzer="char_wb", ngram_range=(2, 3), lowercase=False),
    TfidfVectorizer(stop_words=["the", "on"], token_pattern=r"[a-z]+"),
])
def test_rebuilt_analyzer_splits_exactly_as_the_vectorizer(vectorizer) -> None:
    corpus = ["Ransomware on the VPN gateway!", "Café payroll app is slow, très slow",
              "How do I export reports from the CRM?"]
    vectorizer.fit(corpus)
    params, reason = text.analyzer_params(vectorizer)
    assert reason is None
    rebuilt = text.build_analyzer(params)
    original = vectorizer.build_analyzer()
    for doc in [*corpus, "Nimbus workspace dark, entire workforce locked out"]:
        assert rebuilt(doc) == original(doc)


def test_vectorizer_with_its_own_tokenizer_cannot_be_stored() -> None:
    vectorizer = TfidfVectorizer(tokenizer=str.split, token_pattern=None).fit(["a b", "b c"])
    params, reason = text.analyzer_params(vectorizer)
    assert params is None and reason == "the vectorizer has a custom tokenizer"


@pytest.mark.parametrize(("params", "message"), [
    ({"analyzer": "word"}, "exactly the keys"),
    ("word", "exactly the keys"),
    ({**dict.fromkeys(text.ANALYZER_KEYS), "analyzer": "sentence"}, "analyzer must be one of"),
])
def test_build_analyzer_refuses_bad_settings(params, message) -> None:
    with pytest.raises(ValueError, match=message):
        text.build_analyzer(params)


def test_build_analyzer_refuses_a_bad_pattern_and_ngrams() -> None:
    good = {"analyzer": "word", "lowercase": True, "ngram_range": [1, 1], "stop_words": None,
            "strip_accents": None, "token_pattern": r"\w+"}
    with pytest.raises(ValueError, match="token_pattern is not a regular expression"):
        text.build_analyzer({**good, "token_pattern": "(unclosed"})
    with pytest.raises(ValueError, match="ngram_range must be two integers"):
        text.build_analyzer({**good, "ngram_range": [2, 1]})
    with pytest.raises(ValueError, match="lowercase must be true or false"):
        text.build_analyzer({**good, "lowercase": "yes"})


def test_find_vectorizer_in_the_incident_model() -> None:
    scenario = get_scenario("incident")
    frame = scenario.generate(300, start=pd.Timestamp("2024-01-01").date(), days=10, seed=0)
    model = scenario.build_model(seed=0).fit(scenario.model_input(frame), frame["label"])
    found = text.find_vectorizer(model, "text")
    assert isinstance(found, TfidfVectorizer) and found.ngram_range == (1, 2)
    assert text.find_vectorizer(model, "source") is None
    assert text.find_vectorizer(model, "no-such-column") is None


def test_find_vectorizer_in_a_custom_scenario_model(tmp_path) -> None:
    config = tmp_path / "tickets.toml"
    config.write_text('[scenario]\nname = "tickets"\n[columns]\nlabel = "label"\n'
                      'positive_label = "1"\n[features]\nnumeric = ["n"]\ntext = ["notes"]\n')
    scenario = get_scenario("tickets", config=config)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"n": rng.normal(size=60),
                          "notes": rng.choice(["vpn down", "mail slow", "typo"], size=60)})
    model = scenario.build_model(seed=0).fit(frame, rng.choice(["0", "1"], size=60))
    found = text.find_vectorizer(model, "notes")
    assert found is not None and "vpn" in found.vocabulary_
