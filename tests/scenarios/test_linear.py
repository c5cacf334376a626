"""The linear model family shared by incident, custom text scenarios and the baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskops.scenarios.base import Feature, Schema
from riskops.scenarios.linear import calibrated_text_logistic, linear_features, logistic_baseline

SCHEMA = Schema(
    features=(Feature("notes", "text", ""), Feature("channel", "categorical", ""),
              Feature("amount", "numeric", "")),
    labels=("0", "1"),
)


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    amount = np.where(rng.random(n) < 0.1, np.nan, rng.normal(100, 30, n))
    return pd.DataFrame({
        "notes": rng.choice(["water damage claim", "duplicate invoice sent", "minor scratch",
                             "duplicate claim water"], n),
        "channel": rng.choice(["web", "phone"], n),
        "amount": amount,
        "label": rng.choice(["0", "1"], n),
    })


def test_features_are_tfidf_onehot_and_imputed_standardised_numbers(
    frame: pd.DataFrame,
) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import OneHotEncoder

    got = linear_features(SCHEMA).fit_transform(frame)
    got = got.toarray() if hasattr(got, "toarray") else got  # dense when few terms

    text = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    onehot = OneHotEncoder(handle_unknown="ignore")
    amount = frame["amount"].fillna(frame["amount"].median()).to_numpy()
    expected = np.hstack([
        text.fit_transform(frame["notes"]).toarray(),
        onehot.fit_transform(frame[["channel"]]).toarray(),
        ((amount - amount.mean()) / amount.std())[:, None],
    ])
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_one_text_feature_is_named_text_and_several_by_column() -> None:
    two = Schema(features=(Feature("a", "text", ""), Feature("b", "text", "")), labels=("0", "1"))
    assert [n for n, _, _ in linear_features(SCHEMA).transformers] == [
        "text", "categorical", "numeric"]
    assert [n for n, _, _ in linear_features(two).transformers] == ["text:a", "text:b"]


def test_calibrated_and_baseline_models_fit_and_save_with_trusted_types_only(
    frame: pd.DataFrame,
) -> None:
    import skops.io as sio

    from riskops.registry.loader import BUILTIN_TRUSTED_TYPES

    X, y = frame[SCHEMA.feature_names], frame["label"]
    for model in (calibrated_text_logistic(SCHEMA, seed=0, C=0.5),
                  logistic_baseline(SCHEMA, seed=0)):
        model.fit(X, y)
        data = sio.dumps(model)
        assert set(sio.get_untrusted_types(data=data)) <= set(BUILTIN_TRUSTED_TYPES)
        loaded = sio.loads(data, trusted=list(BUILTIN_TRUSTED_TYPES))
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
