"""The linear model family: sparse word TF-IDF on text, one-hot categoricals and
standardised numbers, side by side, into a logistic regression.

    calibrated_text_logistic(schema, seed=0)        # incident, custom text scenarios
    logistic_baseline(schema, seed=0)               # the plain baseline of every report

Both read the schema's feature columns only. A scenario with the same feature
columns (names and kinds, in the same order) gets the same pipeline, so a
custom scenario naming incident's columns builds incident's model.
"""

from __future__ import annotations

from typing import Any

from riskops.scenarios.base import Schema

#: Word 1- and 2-grams seen in at least 2 rows, sublinear term frequency, at most 50,000.
TEXT_NGRAMS = (1, 2)
TEXT_MIN_DF = 2
TEXT_MAX_FEATURES = 50_000
#: Enough iterations for lbfgs on tens of thousands of sparse columns.
MAX_ITER = 1_000


def linear_features(schema: Schema) -> Any:
    """Column transformer: a TF-IDF block per text feature, then one-hot categoricals, then
    numbers with empty cells imputed by the training median and standardised.

    A text feature's block is named ``text`` when it is the only text feature, else
    ``text:<name>``; each vectorizer gets a 1-D column (one string per row).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    text = schema.columns("text")
    transformers: list[tuple[str, Any, Any]] = [
        ("text" if len(text) == 1 else f"text:{name}",
         TfidfVectorizer(ngram_range=TEXT_NGRAMS, min_df=TEXT_MIN_DF, sublinear_tf=True,
                         max_features=TEXT_MAX_FEATURES),
         name)
        for name in text
    ]
    if schema.columns("categorical"):
        transformers.append(("categorical", OneHotEncoder(handle_unknown="ignore"),
                             schema.columns("categorical")))
    if schema.columns("numeric"):
        numbers = Pipeline([("impute", SimpleImputer(strategy="median")),
                            ("scale", StandardScaler())])
        transformers.append(("numeric", numbers, schema.columns("numeric")))
    return ColumnTransformer(transformers)


def calibrated_text_logistic(schema: Schema, *, seed: int, C: float = 1.0) -> Any:
    """Pipeline: ``linear_features`` -> logistic regression (inverse regularisation ``C``),
    sigmoid-calibrated over 3 unshuffled folds. Multinomial when the labels are.

    Deterministic for a given ``seed`` and data.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    classifier = LogisticRegression(C=C, max_iter=MAX_ITER, random_state=seed)
    return Pipeline([
        ("features", linear_features(schema)),
        ("classifier", CalibratedClassifierCV(classifier, method="sigmoid", cv=3)),
    ])


def logistic_baseline(schema: Schema, *, seed: int) -> Any:
    """Pipeline: ``linear_features`` -> plain logistic regression (``C=1``), uncalibrated:
    the yardstick a scenario's model should beat. One fit, no calibration folds."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline([
        ("features", linear_features(schema)),
        ("classifier", LogisticRegression(max_iter=MAX_ITER, random_state=seed)),
    ])
