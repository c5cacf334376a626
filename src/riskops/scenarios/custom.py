"""Custom scenarios: a TOML config file plus the user's CSV or Parquet data.

    [scenario]
    name = "claims"                  # must equal the name on the command line
    description = "Insurance claim leakage"
    [columns]                        # all optional
    id = "claim_id"                  # default "id"
    timestamp = "submitted_at"       # default "timestamp"
    tenant = "tenant"                # default "tenant_id"; absent column -> "default"
    label = "leak"                   # default "label"
    positive_label = "1"             # the risky value; default "1"
    negative_label = "0"             # default: the other value found in the data
    segments = ["line_of_business", "region"]
    sensitive = "claimant_age_band"
    [features]                       # at least one feature
    numeric = ["amount", "days_to_report"]
    categorical = ["channel"]
    text = ["notes"]
    [bounds]                         # optional; valid values of numeric features
    amount = { min = 0 }             # inclusive; min, max and integer each optional
    days_to_report = { min = 0, max = 3650, integer = true }
    [categories]                     # optional; the values a categorical feature accepts
    channel = ["web", "branch", "phone"]
    [heuristic]                      # optional; without rules the score is 0
    rules = [{ feature = "amount", op = ">", value = 10000, points = 0.4, reason = "large claim" }]
    threshold = 0.5
    [model]                          # optional
    estimator = "text_logistic"      # or "gradient_boosting", "logistic_regression"
    C = 1.0                          # logistic ones: inverse regularisation, > 0
    # max_iter = 150, learning_rate = 0.08 for gradient_boosting
    [split]                          # optional
    kind = "random"                  # "time", "ordered" (row order) or "random"
    seed = 7                         # random only, and required there

``CustomScenario.prepare(frame)`` checks the user's table and renames its
columns to riskops' layout (``id, timestamp, tenant_id, <segments>,
<sensitive>, <features>, label``); feature, segment and sensitive columns keep
their names. The ``schema`` always uses riskops' names; its labels are final
once ``prepare`` has seen the data.

Bounds and categories are validity rules: training data outside them is
refused (the row is named), and serving answers a request outside them with
422. ``integer = true`` accepts whole numbers (``3`` or ``3.0``, not ``3.5``).
A categorical feature without ``[categories]`` accepts any short text.

Heuristic rules: ``op`` is one of ``> >= < <= == != in``; ordering needs a
numeric feature and a number; ``in`` takes a list. A rule whose feature is
missing (absent, empty, unparseable as a number) does not fire. The score is
the sum of the fired rules' points (rounded to 9 decimals), capped at 1.

The model (``[model] estimator``; default ``text_logistic`` when there is a
text feature, else ``gradient_boosting``):

- ``gradient_boosting``: ``calibrated_gradient_boosting`` with ``max_iter``
  (1-5000, default 150) and ``learning_rate`` ((0, 1], default 0.08); each
  text feature adds a dense TF-IDF block of at most 100 terms.
- ``text_logistic``: ``linear.calibrated_text_logistic`` with ``C`` (> 0,
  default 1.0), incident's model family; needs a text feature.
- ``logistic_regression``: the same pipeline without text; refuses text features.

The split (``[split] kind``): ``time`` needs the timestamp column; ``ordered``
cuts the file's row order; ``random`` a permutation drawn with ``seed``.
Without ``[split]`` the timestamp column is optional: present, the split is by
time; absent, by row order, and the prepared frame has no timestamp column.
"""

from __future__ import annotations

import copy
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskops.errors import InputError
from riskops.scenarios.base import (
    COLUMN_KINDS,
    MIN_ROWS_REASON,
    SPLIT_KINDS,
    Drift,
    Feature,
    FeatureKind,
    HeuristicResult,
    Scenario,
    Schema,
    SplitRule,
)
from riskops.scenarios.linear import calibrated_text_logistic
from riskops.scenarios.tabular import calibrated_gradient_boosting
from riskops.toml_files import read_toml
from riskops.user_tables import Column, TableSpec, validate_table

#: Fewer labelled rows than this cannot be split into train, validation and golden sets.
MIN_ROWS = 200
#: Config files are a few hundred bytes; anything larger is not one.
MAX_CONFIG_BYTES = 1024 * 1024
TEXT_MAX_FEATURES = 100
#: Longest feature, segment or category name (a request field or value).
MAX_NAME_CHARS = 128
#: Most values one categorical feature may list.
MAX_CATEGORIES = 10_000
#: Longest heuristic reason (returned in every scored response).
MAX_REASON_CHARS = 200
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,62}")

_KNOWN_KEYS: dict[str, set[str]] = {
    "scenario": {"name", "description"},
    "bounds": set(), "categories": set(),  # keyed by feature name; see _with_value_rules
    "columns": {"id", "timestamp", "tenant", "label", "positive_label", "negative_label",
                "segments", "sensitive"},
    "features": {"numeric", "categorical", "text"},
    "heuristic": {"rules", "threshold"},
    "model": {"estimator", "C", "max_iter", "learning_rate"},
    "split": {"kind", "seed"},
}
#: Estimator -> its parameters: (default, minimum, maximum, minimum excluded, integer).
ESTIMATORS: dict[str, dict[str, tuple[float, float, float, bool, bool]]] = {
    "gradient_boosting": {"max_iter": (150, 1, 5_000, False, True),
                          "learning_rate": (0.08, 0.0, 1.0, True, False)},
    "logistic_regression": {"C": (1.0, 0.0, 1e6, True, False)},
    "text_logistic": {"C": (1.0, 0.0, 1e6, True, False)},
}
_RULE_KEYS = {"feature", "op", "value", "points", "reason"}
#: Sections keyed by feature name rather than by fixed keys.
_FEATURE_TABLES = ("bounds", "categories")
_BOUND_KEYS = ("min", "max", "integer")
#: Config key -> riskops' standard column name.
_STANDARD = {"id": "id", "timestamp": "timestamp", "tenant": "tenant_id", "label": "label"}
_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
}
_OPS = (*_ORDERING, "==", "!=", "in")
_NUMERIC_HINT = "fix them, or list the column under features.categorical"
_TIMESTAMP_HINT = "write ISO 8601 timestamps, e.g. 2024-05-01T12:00:00Z (no zone means UTC)"
_KINDS: tuple[FeatureKind, ...] = ("numeric", "categorical", "text")


@dataclass(frozen=True)
class Rule:
    """One heuristic rule: ``points`` when ``feature op value`` holds."""

    feature: str
    kind: FeatureKind
    op: str
    value: Any  # float for numeric features, str otherwise; a tuple for "in"
    points: float
    reason: str

    def fires(self, features: Mapping[str, Any]) -> bool:
        raw = features.get(self.feature)
        if _is_missing(raw):
            return False
        if self.kind == "numeric":
            try:
                observed: Any = float(raw)
            except (TypeError, ValueError):
                return False
            if math.isnan(observed):
                return False
        else:
            observed = str(raw)
        if self.op in _ORDERING:
            return _ORDERING[self.op](observed, self.value)
        if self.op == "==":
            return bool(observed == self.value)
        if self.op == "!=":
            return bool(observed != self.value)
        return observed in self.value


@dataclass(frozen=True)
class ModelChoice:
    """The estimator of ``[model]`` and its parameters (every one, defaults filled in)."""

    estimator: str
    params: Mapping[str, float]


@dataclass(frozen=True)
class CustomConfig:
    """The validated contents of a custom scenario's config file."""

    source: Path
    name: str
    description: str
    columns: Mapping[str, str]  # config key (id, timestamp, tenant, label) -> user column
    tenant_configured: bool
    positive_label: str
    negative_label: str | None
    segments: tuple[str, ...]
    sensitive: str | None
    features: tuple[Feature, ...]
    rules: tuple[Rule, ...]
    threshold: float
    model: ModelChoice
    split: SplitRule | None = None  # None: by time with a timestamp column, else row order
    #: The parsed TOML tables as given: the definition signed with each version
    #: (``riskops.scenarios.definition``) is this document plus the learned labels.
    document: Mapping[str, Any] = field(default_factory=dict)


class CustomScenario(Scenario):
    """A scenario defined by a config file; bring the data with ``--data``."""

    def __init__(self, config: CustomConfig) -> None:
        self.config = config
        self.name = config.name
        self.description = config.description
        self.default_threshold = config.threshold
        self.split_rule = config.split
        #: The data's own name for the timestamp column, for messages about it.
        self.timestamp_column = config.columns["timestamp"]
        positive = config.positive_label
        # Until prepare() has seen the data, an unset negative label is a placeholder.
        negative = config.negative_label or ("0" if positive == "1" else f"not {positive}")
        self.schema = Schema(
            features=config.features, labels=(negative, positive),
            segments=config.segments, sensitive=config.sensitive,
        )

    def generate(
        self, rows: int, *, start: date, days: int, seed: int = 0, drift: Drift | None = None,
        tenants: int = 3,
    ) -> pd.DataFrame:
        raise InputError("custom scenarios have no generator; bring your data with --data")

    def sample_rows(self, rows: int, *, seed: int = 7) -> pd.DataFrame:
        """Rows made from the definition alone (no generator): see ``samples.sample_rows``."""
        from riskops.scenarios.samples import sample_rows

        return sample_rows(self.schema, rows, seed=seed)

    def heuristic(self, features: Mapping[str, Any]) -> HeuristicResult:
        fired = [rule for rule in self.config.rules if rule.fires(features)]
        score = min(1.0, round(math.fsum(rule.points for rule in fired), 9))
        return HeuristicResult(
            score=score, label=self.label_for(score, self.config.threshold),
            reasons=tuple(rule.reason for rule in fired),
        )

    def build_model(self, *, seed: int) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        choice = self.config.model
        if choice.estimator != "gradient_boosting":
            return calibrated_text_logistic(self.schema, seed=seed, C=choice.params["C"])
        model = calibrated_gradient_boosting(
            self.schema, seed=seed, max_iter=int(choice.params["max_iter"]),
            learning_rate=choice.params["learning_rate"])
        text = self.schema.columns("text")
        if text:
            columns = model.named_steps["features"]
            for name in text:  # a 1-D column: the vectorizer gets one string per row
                columns.transformers.append((
                    f"text:{name}",
                    TfidfVectorizer(max_features=TEXT_MAX_FEATURES, sublinear_tf=True),
                    name,
                ))
            # Gradient boosting needs dense input.
            model.set_params(features__sparse_threshold=0.0)
        return model

    def prepare(self, frame: pd.DataFrame, *, source: str | None = None) -> pd.DataFrame:
        """Check the user's table and return it in riskops' layout, sorted by timestamp
        (kept in the file's row order for an ``ordered`` or ``random`` split, and when
        there is no timestamp column; the frame then has none).

        The columns are checked by ``riskops.user_tables`` against
        ``table_spec()``, then renamed per ``[columns]``; columns the config
        does not mention are dropped. Labels become text (``schema.labels`` is
        set to ``(negative, positive)``), ids text, timestamps tz-aware UTC
        (naive ones are taken as UTC), numeric features floats (empty cells
        stay NaN), categorical, segment and sensitive values text (empty stays
        empty), text features text (empty is ""). A missing tenant column
        (when ``columns.tenant`` is not set) becomes ``"default"``.

        Raises
        ------
        InputError
            Naming the data (``source``, else ``frame.attrs["source"]``), the
            column and the rule: empty, missing columns, fewer than 200 rows,
            empty or non-binary labels, non-numeric numbers, unparseable
            timestamps, empty or duplicate ids, a text feature empty in every row.
        """
        cfg = self.config
        where = source or frame.attrs.get("source") or "data"
        checked = validate_table(frame, self.table_spec(), source=where)
        col = cfg.columns
        out = pd.DataFrame({"id": checked[col["id"]]})
        if col["timestamp"] in checked.columns:
            out["timestamp"] = checked[col["timestamp"]]
        out["tenant_id"] = checked[col["tenant"]]
        for name in (*cfg.segments, *([cfg.sensitive] if cfg.sensitive else [])):
            out[name] = checked[name]
        for feature in cfg.features:
            out[feature.name] = checked[feature.name]
            if feature.kind == "text" and not out[feature.name].str.strip().astype(bool).any():
                raise InputError(f"{where}: text feature {feature.name!r} is empty in "
                                 "every row; drop it from features.text.")
        out["label"] = self._labels(checked[col["label"]], where)
        by_rows = cfg.split is not None and cfg.split.kind != "time"
        if by_rows or "timestamp" not in out.columns:
            return out.reset_index(drop=True)
        return out.sort_values("timestamp", kind="stable").reset_index(drop=True)

    def table_spec(self) -> TableSpec:
        """The user's columns as named in the config, as a spec for ``riskops.user_tables``."""
        cfg = self.config
        col = cfg.columns
        columns = [
            Column(col["id"], "id", role="id column"),
            Column(col["timestamp"], "timestamp", role="timestamp column", hint=_TIMESTAMP_HINT,
                   required=cfg.split is not None and cfg.split.kind == "time"),
            Column(col["tenant"], "category", required=cfg.tenant_configured, fill="default",
                   role="tenant column"),
            *(Column(name, "category", role="segment column") for name in cfg.segments),
            *([Column(cfg.sensitive, "category", role="sensitive column")]
              if cfg.sensitive else []),
            *(Column(f.name, COLUMN_KINDS[f.kind], role=f"{f.kind} feature",
                     hint=_NUMERIC_HINT if f.kind == "numeric" else None, **f.value_rules())
              for f in cfg.features),
            Column(col["label"], "label", role="label column"),
        ]
        return TableSpec(tuple(columns), min_rows=MIN_ROWS, owner=str(cfg.source),
                         min_rows_reason=MIN_ROWS_REASON)

    def _labels(self, labels: pd.Series, where: str) -> pd.Series:
        """Checked labels (text, two values) against the configured positive and negative."""
        cfg = self.config
        name = cfg.columns["label"]
        present = sorted(set(labels.tolist()))
        if cfg.positive_label not in present:
            raise InputError(
                f"{where}: columns.positive_label {cfg.positive_label!r} does not occur in "
                f"label column {name!r} (values: {_preview(present)}); set it in "
                f"{cfg.source} to the risky value."
            )
        negative = next(v for v in present if v != cfg.positive_label)
        if cfg.negative_label is not None and negative != cfg.negative_label:
            raise InputError(
                f"{where}: columns.negative_label {cfg.negative_label!r} does not occur in "
                f"label column {name!r} (values: {_preview(present)}); fix it in {cfg.source}."
            )
        self.schema = replace(self.schema, labels=(negative, cfg.positive_label))
        return labels


def load_custom_scenario(config: Path, *, name: str, shown_as: Path | None = None
                         ) -> CustomScenario:
    """The scenario ``name`` defined by the TOML file ``config``.

    Raises
    ------
    InputError
        Naming the file and the key: unreadable, too large or malformed TOML,
        unknown sections or keys, wrong types, no ``[features]``, a column in
        two roles, a name that differs from ``name``, a bad heuristic rule, a
        bound or category list that does not fit its feature.
    """
    source = shown_as or Path(config)  # the file as the user knows it, for messages
    try:
        data = _read_toml(Path(config))
    except InputError as exc:
        raise InputError(str(exc).replace(str(config), str(source))) from None
    return CustomScenario(parse_config(data, source=source, name=name))


def parse_config(data: dict[str, Any], *, source: Path, name: str) -> CustomConfig:
    """Validate the parsed TOML of a custom scenario (``source`` names it in errors)."""
    for section, value in data.items():
        if section not in _KNOWN_KEYS:
            raise InputError(f"{source}: unknown section [{section}]; known sections are "
                             f"{', '.join(sorted(_KNOWN_KEYS))}.")
        if not isinstance(value, dict):
            raise InputError(f"{source}: [{section}] must be a table, not a "
                             f"{type(value).__name__}.")
        unknown = [] if section in _FEATURE_TABLES else sorted(set(value) - _KNOWN_KEYS[section])
        if unknown:
            raise InputError(f"{source}: unknown key {section}.{unknown[0]}; known keys in "
                             f"[{section}] are {', '.join(sorted(_KNOWN_KEYS[section]))}.")
    get = _Getter(data, source)
    declared = get.string("scenario", "name", required=True)
    if not NAME_PATTERN.fullmatch(declared):
        raise InputError(f"{source}: scenario.name {declared!r} must be lower case letters, "
                         "digits, '-' or '_', starting with a letter (at most 63).")
    if declared != name:
        raise InputError(f"{source}: scenario.name is {declared!r} but the scenario asked for "
                         f"is {name!r}; they must match.")
    from riskops.scenarios import REFERENCE

    if declared in REFERENCE:
        raise InputError(f"{source}: scenario.name {declared!r} is a reference scenario's; "
                         "a custom scenario needs a name of its own (its model is served "
                         "under that name).")
    columns = {key: get.string("columns", key) or default for key, default in _STANDARD.items()}
    positive = get.label("positive_label") or "1"
    negative = get.label("negative_label")
    if negative == positive:
        raise InputError(f"{source}: columns.negative_label and columns.positive_label are both "
                         f"{positive!r}; they must differ.")
    segments = tuple(get.names("columns", "segments"))
    sensitive = get.string("columns", "sensitive")
    if "features" not in data:
        raise InputError(f"{source}: missing [features]; list the model's inputs under "
                         "features.numeric, features.categorical or features.text.")
    features = tuple(Feature(n, kind, f"{kind} column {n!r} of {source.name}")
                     for kind in _KINDS for n in get.names("features", kind))
    if not features:
        raise InputError(f"{source}: [features] lists no columns; name at least one under "
                         "features.numeric, features.categorical or features.text.")
    features = _with_value_rules(data, features, source)
    _check_roles(columns, segments, sensitive, features, source)
    for name in (*(f.name for f in features), *segments):
        _check_field_name(name, source)
    rules = tuple(_rule(i, raw, features, source)
                  for i, raw in enumerate(get.rules()))
    threshold = get.number("heuristic", "threshold", default=0.5)
    if not 0.0 < threshold <= 1.0:
        raise InputError(f"{source}: heuristic.threshold must be in (0, 1], got {threshold}.")
    model = _model(get, features, source)
    split = _split(get, source) if "split" in data else None
    return CustomConfig(
        source=source, name=declared, description=get.string("scenario", "description") or "",
        columns=columns, tenant_configured=get.string("columns", "tenant") is not None,
        positive_label=positive, negative_label=negative, segments=segments,
        sensitive=sensitive, features=features, rules=rules, threshold=threshold,
        document=copy.deepcopy(data),
        model=model, split=split,
    )


def _model(get: _Getter, features: tuple[Feature, ...], source: Path) -> ModelChoice:
    """``[model]``: the estimator (defaulted by the feature kinds) and its checked parameters."""
    has_text = any(f.kind == "text" for f in features)
    estimator = get.string("model", "estimator") or \
        ("text_logistic" if has_text else "gradient_boosting")
    if estimator not in ESTIMATORS:
        raise InputError(f"{source}: model.estimator {estimator!r} is not one of "
                         f"{', '.join(ESTIMATORS)}.")
    if estimator == "logistic_regression" and has_text:
        raise InputError(f"{source}: model.estimator 'logistic_regression' takes no text "
                         "features; use 'text_logistic' to model features.text.")
    if estimator == "text_logistic" and not has_text:
        raise InputError(f"{source}: model.estimator 'text_logistic' needs a text feature; "
                         "list one under features.text or use 'logistic_regression'.")
    known = ESTIMATORS[estimator]
    given = {key for key in get.data.get("model", {}) if key != "estimator"}
    extra = sorted(given - set(known))
    if extra:
        raise InputError(f"{source}: model.{extra[0]} does not apply to estimator "
                         f"{estimator!r}; it takes {', '.join(known)}.")
    params: dict[str, float] = {}
    for key, (default, low, high, open_low, integer) in known.items():
        value = get.data.get("model", {}).get(key)
        if value is None:
            params[key] = default
            continue
        kind = "an integer" if integer else "a number"
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok or not math.isfinite(value):
            raise get._fail("model", key, kind, value)
        if value < low or (open_low and value == low) or value > high:
            bound = f"({low:g}, {high:g}]" if open_low else f"[{low:g}, {high:g}]"
            raise InputError(f"{source}: model.{key} must be {kind} in {bound}, got {value}.")
        params[key] = value
    return ModelChoice(estimator, params)


def _split(get: _Getter, source: Path) -> SplitRule:
    """``[split]``: its kind, and the seed a random split requires (and only it takes)."""
    kind = get.string("split", "kind", required=True)
    if kind not in SPLIT_KINDS:
        raise InputError(f"{source}: split.kind {kind!r} is not one of "
                         f"{', '.join(SPLIT_KINDS)}.")
    seed = get.data["split"].get("seed")
    if kind != "random":
        if seed is not None:
            raise InputError(f"{source}: split.seed applies only to kind 'random'; drop it "
                             f"for kind {kind!r}.")
        return SplitRule(kind)
    if seed is None:
        raise InputError(f"{source}: split.kind 'random' needs split.seed (an integer, e.g. "
                         "seed = 0) so the split can be redone.")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise InputError(f"{source}: split.seed must be an integer in [0, 2^32), "
                         f"not {_describe(seed)}.")
    return SplitRule("random", seed)


class _Getter:
    """Typed reads of ``section.key`` with errors that name the file and the key."""

    def __init__(self, data: dict[str, Any], source: Path) -> None:
        self.data, self.source = data, source

    def _raw(self, section: str, key: str) -> Any:
        return self.data.get(section, {}).get(key)

    def _fail(self, section: str, key: str, expected: str, value: Any) -> InputError:
        return InputError(f"{self.source}: {section}.{key} must be {expected}, "
                          f"not {_describe(value)}.")

    def string(self, section: str, key: str, *, required: bool = False) -> str | None:
        value = self._raw(section, key)
        if value is None and not required:
            return None
        if value is None:
            raise InputError(f"{self.source}: missing {section}.{key}.")
        if not isinstance(value, str) or not value.strip():
            raise self._fail(section, key, "a non-empty string", value)
        return value

    def label(self, key: str) -> str | None:
        value = self._raw("columns", key)
        if value is None:
            return None
        if isinstance(value, bool | int) or (isinstance(value, str) and value.strip()):
            return str(int(value)) if isinstance(value, bool) else str(value)
        raise self._fail("columns", key, "a string or an integer", value)

    def names(self, section: str, key: str) -> list[str]:
        value = self._raw(section, key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                  for v in value):
            raise self._fail(section, key, "a list of column names", value)
        return value

    def number(self, section: str, key: str, *, default: float) -> float:
        value = self._raw(section, key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            raise self._fail(section, key, "a number", value)
        return float(value)

    def rules(self) -> list[Any]:
        value = self._raw("heuristic", "rules")
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._fail("heuristic", "rules", "a list of tables", value)
        return value


def _check_roles(
    columns: Mapping[str, str], segments: tuple[str, ...], sensitive: str | None,
    features: tuple[Feature, ...], source: Path,
) -> None:
    """Each user column plays one role, and no renamed column lands on another's name."""
    roles = [(columns[key], f"columns.{key}", std) for key, std in _STANDARD.items()]
    roles += [(s, "columns.segments", s) for s in segments]
    if sensitive:
        roles.append((sensitive, "columns.sensitive", sensitive))
    roles += [(f.name, f"features.{f.kind}", f.name) for f in features]
    seen: dict[str, str] = {}
    for column, role, _ in roles:
        if column in seen:
            if seen[column].startswith("features.") and role.startswith("features."):
                raise InputError(f"{source}: feature {column!r} is listed twice "
                                 f"({seen[column]} and {role}); list it once.")
            if seen[column] == role:
                raise InputError(f"{source}: column {column!r} is listed twice in {role}.")
            raise InputError(f"{source}: column {column!r} is used as {seen[column]} and as "
                             f"{role}; a column plays one role (features are never labels, "
                             "segments or sensitive attributes).")
        seen[column] = role
    renamed: dict[str, tuple[str, str]] = {}
    for column, role, target in roles:
        if target in renamed:
            other, other_role = renamed[target]
            raise InputError(
                f"{source}: {role} {column!r} clashes with riskops' standard column "
                f"{target!r}, the new name of {other_role} {other!r}; rename the "
                f"{column!r} column in the data and the config."
            )
        renamed[target] = (column, role)


def _with_value_rules(data: dict[str, Any], features: tuple[Feature, ...],
                      source: Path) -> tuple[Feature, ...]:
    """``features`` with the ``[bounds]`` and ``[categories]`` of the config applied."""
    kinds = {f.name: f.kind for f in features}
    rules: dict[str, dict[str, Any]] = {}
    for section, wanted, parse in (("bounds", "numeric", _bounds),
                                   ("categories", "categorical", _category_list)):
        for name, raw in data.get(section, {}).items():
            where = f"{source}: {section}.{name}"
            if name not in kinds:
                raise InputError(f"{where}: {name!r} is not a feature ({_preview(kinds)}); "
                                 f"fix the name or list it under [features].")
            if kinds[name] != wanted:
                other = ("bound it under [bounds]" if kinds[name] == "numeric" else
                         "list its values under [categories]" if kinds[name] == "categorical"
                         else "drop it (text features take neither)")
                raise InputError(f"{where}: [{section}] applies to {wanted} features and "
                                 f"{name!r} is {kinds[name]}; {other}.")
            rules[name] = parse(raw, where)
    return tuple(replace(f, **rules[f.name]) if f.name in rules else f for f in features)


def _bounds(raw: Any, where: str) -> dict[str, Any]:
    example = "{ min = 0, max = 23, integer = true }"
    if not isinstance(raw, dict) or not raw:
        raise InputError(f"{where} must be a table like {example}, not {_describe(raw)}.")
    unknown = sorted(set(raw) - set(_BOUND_KEYS))
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r}; known keys are "
                         f"{', '.join(_BOUND_KEYS)}.")
    limits = {}
    for key in ("min", "max"):
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not math.isfinite(value)):
            raise InputError(f"{where}: {key} must be a finite number, not {_describe(value)}; "
                             f"leave it out for no {key}imum.")
        limits[key] = None if value is None else float(value)
    integer = raw.get("integer", False)
    if not isinstance(integer, bool):
        raise InputError(f"{where}: integer must be true or false, not {_describe(integer)}.")
    lower, upper = limits["min"], limits["max"]
    if lower is not None and upper is not None and lower > upper:
        raise InputError(f"{where}: min {lower:g} is greater than max {upper:g}; swap them.")
    return {"lower_bound": lower, "upper_bound": upper, "integer": integer}


def _category_list(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, list) or not all(isinstance(v, str) and v.strip() for v in raw):
        raise InputError(f"{where} must be a list of non-empty strings like [\"web\", "
                         f"\"branch\"], not {_describe(raw)}.")
    if not raw:
        raise InputError(f"{where} is empty; list the values the feature accepts, or drop "
                         "the key to accept any.")
    if len(raw) > MAX_CATEGORIES:
        raise InputError(f"{where} lists {len(raw)} values, more than {MAX_CATEGORIES}; a "
                         "feature with that many values is text or an id, not a category.")
    seen: set[str] = set()
    for value in raw:
        if value in seen:
            raise InputError(f"{where} lists {value[:40]!r} twice; list each value once.")
        seen.add(value)
    if any(not v.isprintable() or len(v) > MAX_NAME_CHARS for v in raw):
        raise InputError(f"{where}: values must be printable text of at most "
                         f"{MAX_NAME_CHARS} characters (no newlines, tabs or escapes).")
    return {"categories": tuple(raw)}


def _check_field_name(name: str, source: Path) -> None:
    """A feature or segment is a field of the served request body: it may not start with
    ``_`` nor be a name the request model itself uses (``model_dump``, ``model_config``)."""
    from pydantic import BaseModel

    if len(name) > MAX_NAME_CHARS or not name.isprintable() or "." in name:
        raise InputError(f"{source}: column {name[:40]!r} cannot be a request field: names "
                         f"are printable text of at most {MAX_NAME_CHARS} characters without "
                         "'.'; rename it in the data and the config.")
    if name.startswith("_") or (name.startswith("model_") and hasattr(BaseModel, name)):
        raise InputError(f"{source}: column {name!r} cannot be a request field (a leading "
                         "'_' or a name pydantic reserves); rename it in the data and the "
                         "config.")


def _rule(index: int, raw: Any, features: tuple[Feature, ...], source: Path) -> Rule:
    where = f"{source}: heuristic.rules[{index}]"
    if not isinstance(raw, dict):
        raise InputError(f"{where} must be a table like {{ feature = \"amount\", op = \">\", "
                         f"value = 100, points = 0.4 }}, not {_describe(raw)}.")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r}; known keys are "
                         f"{', '.join(sorted(_RULE_KEYS))}.")
    for key in ("feature", "op", "value", "points"):
        if key not in raw:
            raise InputError(f"{where}: missing {key!r}.")
    kinds = {f.name: f.kind for f in features}
    feature, op, value, points = raw["feature"], raw["op"], raw["value"], raw["points"]
    if feature not in kinds:
        raise InputError(f"{where}: feature {feature!r} is not one of the features "
                         f"({_preview(kinds)}).")
    kind = kinds[feature]
    if op not in _OPS:
        raise InputError(f"{where}: op {op!r} is not one of {' '.join(_OPS)}.")
    if isinstance(points, bool) or not isinstance(points, int | float) \
            or not math.isfinite(points) or points <= 0:
        raise InputError(f"{where}: points must be a positive number, not {_describe(points)}.")
    reason = raw.get("reason", f"{feature} {op} {value!r}"[:MAX_REASON_CHARS])
    if not isinstance(reason, str) or not reason.strip() or not reason.isprintable() \
            or len(reason) > MAX_REASON_CHARS:
        raise InputError(f"{where}: reason must be printable text of 1 to "
                         f"{MAX_REASON_CHARS} characters (it is returned with every score).")
    if op in _ORDERING and kind != "numeric":
        raise InputError(f"{where}: op {op!r} needs a numeric feature; {feature!r} is {kind}.")
    if op == "in":
        if not isinstance(value, list) or not value:
            raise InputError(f"{where}: op 'in' needs a non-empty list value, "
                             f"not {_describe(value)}.")
        parsed: Any = tuple(_rule_value(v, kind, where) for v in value)
    else:
        parsed = _rule_value(value, kind, where)
    return Rule(feature=feature, kind=kind, op=op, value=parsed, points=float(points),
                reason=reason)


def _rule_value(value: Any, kind: FeatureKind, where: str) -> float | str:
    if kind == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            raise InputError(f"{where}: value must be a number for a numeric feature, "
                             f"not {_describe(value)}.")
        return float(value)
    if isinstance(value, str | int | float | bool):
        return str(value)
    raise InputError(f"{where}: value must be a string or a number, not {_describe(value)}.")


def _read_toml(path: Path) -> dict[str, Any]:
    return read_toml(path, what="scenario config", max_bytes=MAX_CONFIG_BYTES)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{text[:40]}... ({type(value).__name__})" if len(text) > 40 \
        else f"{text} ({type(value).__name__})"


def _preview(values: Any, limit: int = 10) -> str:
    items = [repr(v) for v in values]
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
