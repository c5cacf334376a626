"""What a scenario is: feature schema, data generator, heuristic scorer, model family.

A scenario bundles everything riskops needs to train, serve and monitor one
kind of risk decision. Reference scenarios (``fraud``, ``shortfall``,
``compliance``, ``incident``) subclass ``Scenario``; users add their own from
a config file (see ``custom.py``).

Generated and user data share one layout, one row per decision::

    id, timestamp (UTC), tenant_id, <segment columns>, <sensitive column>,
    <feature columns>, label

The model sees only the feature columns. Segments and the sensitive attribute
are for slicing drift, performance and fairness; they are never features.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd

from riskops.user_tables import Column, ColumnKind, TableSpec

FeatureKind = Literal["numeric", "categorical", "text"]
DriftKind = Literal["covariate", "concept", "prior"]
DRIFT_KINDS: tuple[DriftKind, ...] = ("covariate", "concept", "prior")
SplitKind = Literal["time", "ordered", "random"]
SPLIT_KINDS: tuple[SplitKind, ...] = ("time", "ordered", "random")
#: How ``riskops.user_tables`` checks a feature column of each kind.
COLUMN_KINDS: dict[FeatureKind, ColumnKind] = {
    "numeric": "numeric", "categorical": "category", "text": "text",
}

#: Why training needs ``min_rows`` rows, ending the too-few-rows message.
MIN_ROWS_REASON = " so that the train, validation and golden slices each hold enough rows"


@dataclass(frozen=True)
class Feature:
    """One model input: its name, kind, meaning and the values it may take.

    Two kinds of range, not to be confused:

    - ``minimum``/``maximum``: where the generator puts values (it clips drifted
      values to them); a plausible range, not a rule.
    - ``lower_bound``/``upper_bound`` (inclusive) and ``integer``: what a valid
      value is. Training data outside them is refused by the data checks and
      a request outside them is refused by serving (422). ``categories`` is
      both: the values a categorical feature accepts.
    """

    name: str
    kind: FeatureKind
    description: str
    minimum: float | None = None
    maximum: float | None = None
    categories: tuple[str, ...] | None = None
    max_length: int | None = None  # text only
    lower_bound: float | None = None  # numeric only, inclusive
    upper_bound: float | None = None  # numeric only, inclusive
    integer: bool = False  # numeric only: whole numbers (3 or 3.0, not 3.5)

    def value_rules(self) -> dict[str, Any]:
        """This feature's validity rules as ``riskops.user_tables.Column`` arguments."""
        if self.kind == "numeric":
            return {"lower_bound": self.lower_bound, "upper_bound": self.upper_bound,
                    "integer": self.integer}
        if self.kind == "categorical":
            return {"categories": self.categories}
        return {}


@dataclass(frozen=True)
class Schema:
    """Columns of a scenario's data; ``features`` are what the model sees."""

    features: tuple[Feature, ...]
    labels: tuple[str, ...]  # label values; for binary scenarios ("0", "1")
    segments: tuple[str, ...] = ()
    sensitive: str | None = None
    id: str = "id"
    timestamp: str = "timestamp"
    tenant: str = "tenant_id"
    label: str = "label"

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def columns(self, kind: FeatureKind) -> list[str]:
        return [f.name for f in self.features if f.kind == kind]

    def feature(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)

    def table_spec(self, *, min_rows: int = 1, purpose: str = "training",
                   min_rows_reason: str = "", timestamp_required: bool = True) -> TableSpec:
        """This layout as a column spec for ``riskops.user_tables.validate_table``.

        Required: id, timestamp (unless ``timestamp_required`` is false), tenant
        (never empty), every feature (numeric within its bounds, category among its
        categories, or free text) and the label (one of ``labels``, both classes
        present). Segment and sensitive columns are optional categories.
        """
        columns = [Column(self.id, "id"),
                   Column(self.timestamp, "timestamp", required=timestamp_required),
                   Column(self.tenant, "category", allow_empty=False)]
        columns += [Column(f.name, COLUMN_KINDS[f.kind], **f.value_rules())
                    for f in self.features]
        columns.append(Column(self.label, "label", labels=self.labels))
        columns += [Column(name, "category", required=False)
                    for name in (*self.segments, self.sensitive) if name is not None]
        first: dict[str, Column] = {}
        for column in columns:  # a name in two roles is checked by its first
            first.setdefault(column.name, column)
        return TableSpec(tuple(first.values()), min_rows=min_rows, purpose=purpose,
                         min_rows_reason=min_rows_reason)

    def as_dict(self) -> dict[str, Any]:
        """JSON form, hashed into the reproducibility report (unset fields left out, so a
        feature without bounds hashes as before bounds existed)."""
        return {
            "features": [
                {k: v for k, v in vars(f).items() if v is not None and v is not False}
                for f in self.features
            ],
            "labels": list(self.labels), "segments": list(self.segments),
            "sensitive": self.sensitive, "id": self.id, "timestamp": self.timestamp,
            "tenant": self.tenant, "label": self.label,
        }


@dataclass(frozen=True)
class SplitRule:
    """How training cuts a table into train, validation and golden slices.

    time: by timestamp, ties by id (the default when the data has timestamps).
    ordered: by the row order of the file (the default without timestamps).
    random: a permutation of the rows drawn with ``seed``.
    """

    kind: SplitKind
    seed: int | None = None


@dataclass(frozen=True)
class Drift:
    """Drift injected into generated data from ``start`` on.

    covariate: the named features' distributions shift (labels follow the same
        rule, so the model stays right where it has data).
    concept: the rule linking features to labels changes.
    prior: the share of positive (or high) labels changes.
    ``magnitude`` scales the shift; 1.0 is clearly visible to PSI (> 0.25).
    ``segment`` = (column, value) limits the drift to the rows of one segment
    value (``("region", "emea")``); the other rows are as without drift.
    """

    kind: DriftKind
    start: date
    features: tuple[str, ...] = ()
    magnitude: float = 1.0
    segment: tuple[str, str] | None = None


@dataclass(frozen=True)
class HeuristicResult:
    """A rule-based score in [0, 1], its label and the rules that fired."""

    score: float
    label: str
    reasons: tuple[str, ...] = field(default_factory=tuple)


class Scenario(ABC):
    """A kind of risk decision riskops can train, serve and monitor."""

    name: str
    description: str
    schema: Schema
    #: Default decision threshold on the risk score before training picks one.
    default_threshold: float = 0.5
    #: Loss thresholds (``brier``, ``mae``) over which monitoring calls this scenario's
    #: performance degraded, where the defaults do not fit its base rate; a run's own
    #: ``brierThreshold`` / ``maeThreshold`` still win. None: the defaults.
    degradation: Mapping[str, float] | None = None
    #: How training splits this scenario's data; None: by time when the data has a
    #: timestamp column, else by row order.
    split_rule: SplitRule | None = None

    @abstractmethod
    def generate(
        self, rows: int, *, start: date, days: int, seed: int = 0, drift: Drift | None = None,
        tenants: int = 3,
    ) -> pd.DataFrame:
        """Seeded synthetic rows in the layout above, sorted by timestamp."""

    @abstractmethod
    def heuristic(self, features: Mapping[str, Any]) -> HeuristicResult:
        """Deterministic rule-based score for one row of features."""

    @abstractmethod
    def build_model(self, *, seed: int) -> Any:
        """An unfitted scikit-learn estimator with ``predict_proba``."""

    def sample_rows(self, rows: int, *, seed: int = 7) -> pd.DataFrame:
        """``rows`` plausible rows of this scenario's layout, for warming up and checking a
        model before it takes traffic (reference scenarios: their generator)."""
        return self.generate(rows, start=date(2026, 1, 1), days=1, seed=seed)

    def binary_target(self, labels: pd.Series | Sequence[Any]) -> np.ndarray:
        """Labels as 0/1 for binary metrics (positive = the risky outcome)."""
        return np.asarray(pd.Series(labels).astype(str) == self.schema.labels[-1], dtype=int)

    def model_input(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The feature columns exactly as the model is fitted and scored on.

        Training and serving both call this; scenarios override it to clean
        inputs the pipeline cannot take (for example missing text).
        """
        return frame[self.schema.feature_names]

    def risk_scores(self, model: Any, features: pd.DataFrame) -> np.ndarray:
        """Risk score in [0, 1] per row: the probability of the positive class."""
        proba = model.predict_proba(self.model_input(features))
        classes = [str(c) for c in model.classes_]
        return proba[:, classes.index(self.schema.labels[-1])]

    def label_for(self, score: float, threshold: float) -> str:
        """The label a score gets at ``threshold``."""
        return self.schema.labels[-1] if score >= threshold else self.schema.labels[0]
