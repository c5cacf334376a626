"""Settings of one monitoring run, read from the job's metadata, and its time windows.

    config = MonitoringConfig.from_metadata({"tenantIds": ["acme"], "now": "2026-03-01"})
    config.reference_window   # (now - 60 days, now - 30 days)
    config.current_window     # (now - 7 days, now)

Metadata keys (all optional; unknown keys are ignored so job triggers can
carry their own): ``tenantIds``, ``scenarios`` (lists of strings), ``now``
(ISO 8601; a time without zone is UTC), ``referenceFromDays`` (60),
``referenceToDays`` (30), ``currentDays`` (7), ``minSamples`` (30),
``segmentMinSamples`` (200), ``bins`` (10), ``psiThreshold`` (0.2), ``brierThreshold`` (0.2),
``maeThreshold`` (0.2; a scenario may set its own, ``Scenario.degradation``, which
a key given here overrides), ``segmentBrierThreshold`` (``brierThreshold``) and
``segmentEceThreshold`` (0.1): a segment's calibration over them is degraded
(each in (0, 1]), ``consecutive`` (3: evaluations in a row that fire an
alert, and clean ones that resolve it; an integer from 1 to 100), ``source``
(``auto``, ``db`` or ``lake``: where the inference log is read, see ``inference_log``),
``engine`` (``duckdb``, or ``spark``: the lake with Spark SQL, see ``spark_log``; not with
``source`` ``db``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from riskops.errors import InputError
from riskops.monitoring.alerts import DEFAULT_CONSECUTIVE, check_consecutive
from riskops.monitoring.verdicts import (
    DEFAULT_DEGRADATION,
    DEFAULT_PSI_ALERT,
    DEFAULT_SEGMENT_CALIBRATION,
    MIN_SAMPLES,
)

if TYPE_CHECKING:
    from riskops.scenarios.base import Scenario

#: Where a run reads the inference log (``riskops.monitoring.inference_log``).
SOURCES = ("auto", "db", "lake")
#: What reads it: DuckDB (``inference_log``) or Spark SQL over the lake (``spark_log``).
ENGINES = ("duckdb", "spark")

#: Rows a segment needs in each window. PSI over 10 bins of two samples from one
#: distribution averages about 9 * (1/n_ref + 1/n_cur): ~0.2 at 50 rows, ~0.05 at 200.
SEGMENT_MIN_SAMPLES = 200


@dataclass(frozen=True)
class MonitoringConfig:
    """What one run checks, over which windows, against which thresholds."""

    now: datetime
    tenants: tuple[str, ...] | None = None
    scenarios: tuple[str, ...] | None = None
    reference_from_days: float = 60.0
    reference_to_days: float = 30.0
    current_days: float = 7.0
    min_samples: int = MIN_SAMPLES
    segment_min_samples: int = SEGMENT_MIN_SAMPLES
    bins: int = 10
    psi_threshold: float = DEFAULT_PSI_ALERT
    degradation: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_DEGRADATION))
    #: The ``degradation`` metrics the run set explicitly (they override a scenario's own).
    degradation_set: frozenset[str] = frozenset()
    #: Brier and ECE over which a segment's calibration is degraded.
    segment_calibration: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_SEGMENT_CALIBRATION))
    consecutive: int = DEFAULT_CONSECUTIVE
    source: str = "auto"
    engine: str = "duckdb"

    @property
    def reference_window(self) -> tuple[datetime, datetime]:
        return (self.now - timedelta(days=self.reference_from_days),
                self.now - timedelta(days=self.reference_to_days))

    @property
    def current_window(self) -> tuple[datetime, datetime]:
        return self.now - timedelta(days=self.current_days), self.now

    def degradation_for(self, scenario: Scenario | None) -> dict[str, float]:
        """Loss thresholds for ``scenario``'s performance check: the run's where it set
        them, else the scenario's own (``Scenario.degradation``), else the defaults."""
        own = dict(scenario.degradation or {}) if scenario is not None else {}
        return {name: (limit if name in self.degradation_set or name not in own
                       else own[name])
                for name, limit in self.degradation.items()}

    def windows(self) -> dict[str, dict[str, str]]:
        """Both windows as ISO strings, for reports."""
        (r0, r1), (c0, c1) = self.reference_window, self.current_window
        return {"reference": {"start": r0.isoformat(), "end": r1.isoformat()},
                "current": {"start": c0.isoformat(), "end": c1.isoformat()}}

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any] | None,
                      *, now: datetime | None = None) -> MonitoringConfig:
        """Read and check the metadata keys; ``InputError`` names a bad key and its fix."""
        meta = dict(metadata or {})
        brier = _number(meta, "brierThreshold", DEFAULT_DEGRADATION["brier"])
        config = cls(
            now=_time(meta["now"]) if meta.get("now") is not None else (now or datetime.now(UTC)),
            tenants=_strings(meta, "tenantIds"),
            scenarios=_strings(meta, "scenarios"),
            reference_from_days=_number(meta, "referenceFromDays", 60.0),
            reference_to_days=_number(meta, "referenceToDays", 30.0),
            current_days=_number(meta, "currentDays", 7.0),
            min_samples=int(_number(meta, "minSamples", MIN_SAMPLES, integer=True)),
            segment_min_samples=int(_number(meta, "segmentMinSamples", SEGMENT_MIN_SAMPLES,
                                            integer=True)),
            bins=int(_number(meta, "bins", 10, integer=True)),
            psi_threshold=_number(meta, "psiThreshold", DEFAULT_PSI_ALERT),
            degradation={"brier": brier,
                         "mae": _number(meta, "maeThreshold", DEFAULT_DEGRADATION["mae"])},
            degradation_set=frozenset(metric for key, metric in
                                      (("brierThreshold", "brier"), ("maeThreshold", "mae"))
                                      if meta.get(key) is not None),
            segment_calibration={
                "brier": _share(meta, "segmentBrierThreshold", brier),
                "ece": _share(meta, "segmentEceThreshold", DEFAULT_SEGMENT_CALIBRATION["ece"])},
            consecutive=_consecutive(meta.get("consecutive", DEFAULT_CONSECUTIVE)),
            source=_source(meta),
            engine=_engine(meta),
        )
        if config.engine == "spark" and config.source == "db":
            raise InputError("engine spark reads the Parquet lake only, and source is db; "
                             'set "source": "lake" (after a lake-export) or "engine": "duckdb".')
        if config.reference_from_days <= config.reference_to_days:
            raise InputError(
                f"referenceFromDays ({config.reference_from_days:g}) must be larger than "
                f"referenceToDays ({config.reference_to_days:g}): the reference window runs "
                "from referenceFromDays ago to referenceToDays ago.")
        if config.reference_to_days < config.current_days:
            raise InputError(
                f"referenceToDays ({config.reference_to_days:g}) must be at least currentDays "
                f"({config.current_days:g}) so the reference and current windows do not overlap.")
        if config.bins < 2:
            raise InputError(f"bins must be at least 2, got {config.bins}.")
        if config.min_samples < 1:
            raise InputError(f"minSamples must be at least 1, got {config.min_samples}.")
        return config


def _source(meta: Mapping[str, Any]) -> str:
    value = meta.get("source", "auto")
    if value not in SOURCES:
        raise InputError(f"source must be one of {', '.join(SOURCES)}, got {value!r}; "
                         "auto reads the Parquet lake once it has been exported to.")
    return str(value)


def _engine(meta: Mapping[str, Any]) -> str:
    value = meta.get("engine", "duckdb")
    if value not in ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)}, got {value!r}; "
                         "spark reads the Parquet lake with Spark SQL (riskops[spark]).")
    return str(value)


def _consecutive(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 3.0 from a JSON number
    try:
        return check_consecutive(value)
    except ValueError as exc:
        raise InputError(f"{exc} It counts the evaluations in a row that fire an alert "
                         'and the clean ones that resolve it, e.g. {"consecutive": 3}.') \
            from None


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise InputError(f"now has value {value!r}, which is not an ISO 8601 time; use "
                             "e.g. 2026-03-01T00:00:00Z.") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _strings(meta: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, list | tuple) or not all(
        isinstance(v, str) and v for v in value
    ):
        raise InputError(f"{key} must be a list of non-empty strings, got {value!r}; "
                         f'e.g. {{"{key}": ["acme"]}}.')
    return tuple(value) or None


def _number(meta: Mapping[str, Any], key: str, default: float, *, integer: bool = False) -> float:
    value = meta.get(key)
    if value is None:
        return float(default)
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or value <= 0 or (integer and int(value) != value):
        kind = "a positive integer" if integer else "a positive number"
        raise InputError(f"{key} must be {kind}, got {value!r}.")
    return float(value)


def _share(meta: Mapping[str, Any], key: str, default: float) -> float:
    """A loss threshold: a number in (0, 1], since Brier and ECE never exceed 1."""
    value = meta.get(key)
    if value is None:
        return float(default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise InputError(f"{key} must be a number above 0 and at most 1, got {value!r}; "
                         f'e.g. {{"{key}": {default:g}}}.')
    return float(value)
