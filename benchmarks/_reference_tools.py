"""One reference drift tool on the benchmark's files; runs inside ``benchmarks/.venv-reference``.

``benchmarks/monitoring.py`` starts this script once per contender, each in a
fresh process of the reference virtual environment (Evidently and NannyML,
pinned in ``benchmarks/reference-tools.txt``; they need pandas<3, so they
never go in riskops' own environment). It prints one JSON object:

``{"tool", "method", "versions", "read_seconds", "compute_seconds",
"peak_rss_mib", "columns": {name: {"kind", "method", "value", "drifted",
"threshold", ...}}}``

``read_seconds`` is ``pandas.read_parquet`` of both files; ``compute_seconds``
is the tool's own work after that (building its dataset objects, the drift
calculation, the result object), not imports and not rendering HTML.
``compute_cpu_seconds`` is the CPU time (all threads) of both together, which
other work on a shared machine inflates far less than the wall time. Peak
RSS is this process's ``VmHWM`` (``/proc/self/status``), read at the end.

Contenders (``--tool``):

``evidently-psi``
    ``Report([DataDriftPreset(method="psi")]).run(current, reference)``.
``evidently-default``
    ``Report([DataDriftPreset()])``: Evidently picks the method per column
    (more than 1,000 reference rows: Wasserstein distance, normed, for
    numeric columns with more than 5 values; Jensen-Shannon for
    categorical ones), threshold 0.1.
``nannyml-js``
    ``UnivariateDriftCalculator`` with NannyML's default method
    ``jensen_shannon`` for both kinds, one analysis chunk
    (``chunk_number=1``) and a constant alert threshold of 0.1.
``nannyml-ks``
    The same calculator with ``kolmogorov_smirnov`` for continuous and
    ``chi2`` for categorical columns (KS alerts above a distance of 0.1,
    chi2 on a p-value below 0.05).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

from _report import vm_hwm_mib  # stdlib only: importable in the reference venv too

TOOLS = ("evidently-psi", "evidently-default", "nannyml-js", "nannyml-ks")


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# --- Evidently -----------------------------------------------------------------------


def run_evidently(reference: Any, current: Any, numeric: list[str], categorical: list[str],
                  method: str | None) -> dict[str, dict[str, Any]]:
    """Evidently's DataDriftPreset on the two frames; per-column method, value and verdict."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    ref = Dataset.from_pandas(reference, data_definition=definition)
    cur = Dataset.from_pandas(current, data_definition=definition)
    preset = DataDriftPreset(method=method) if method else DataDriftPreset()
    snapshot = Report([preset]).run(cur, ref)
    return _evidently_columns(snapshot.dict(), numeric, categorical)


def _evidently_columns(result: dict[str, Any], numeric: list[str],
                       categorical: list[str]) -> dict[str, dict[str, Any]]:
    """Per-column drift values from a snapshot's ``dict()`` (its ValueDrift metrics)."""
    columns: dict[str, dict[str, Any]] = {}
    for metric in result.get("metrics", []):
        config = metric.get("config", {})
        if config.get("type", "").split(":")[-1] != "ValueDrift":
            continue
        name = config["column"]
        value = _number(metric.get("value"))
        threshold = _number(config.get("threshold"))
        method = str(config.get("method", ""))
        # Evidently's drift rule: PSI drifts at value >= threshold; the distances
        # (Wasserstein, Jensen-Shannon) also at value >= threshold.
        drifted = value is not None and threshold is not None and value >= threshold
        columns[name] = {
            "kind": "numeric" if name in numeric else "categorical",
            "method": method,
            "value": value,
            "threshold": threshold,
            "drifted": drifted,
        }
    missing = set(numeric) | set(categorical)
    missing -= set(columns)
    if missing:
        raise SystemExit(f"Evidently's result has no ValueDrift for {sorted(missing)}")
    return columns


# --- NannyML -------------------------------------------------------------------------


def run_nannyml(reference: Any, current: Any, numeric: list[str], categorical: list[str],
                continuous_methods: list[str],
                categorical_methods: list[str]) -> dict[str, dict[str, Any]]:
    """NannyML's UnivariateDriftCalculator, one analysis chunk, per-column statistics."""
    import nannyml as nml
    from nannyml.thresholds import ConstantThreshold

    # One analysis chunk is what we want; NannyML warns that it is few.
    warnings.filterwarnings("ignore", message="The resulting number of chunks is too low")

    thresholds = {m: ConstantThreshold(lower=None, upper=0.1)
                  for m in ("jensen_shannon", "kolmogorov_smirnov", "l_infinity")}
    calculator = nml.UnivariateDriftCalculator(
        column_names=numeric + categorical,
        treat_as_numerical=numeric,
        treat_as_categorical=categorical,
        continuous_methods=continuous_methods,
        categorical_methods=categorical_methods,
        chunk_number=1,
        thresholds=thresholds,
    )
    calculator.fit(reference)
    results = calculator.calculate(current).filter(period="analysis")
    frame = results.to_df()
    columns: dict[str, dict[str, Any]] = {}
    for name in numeric + categorical:
        kind = "numeric" if name in numeric else "categorical"
        methods = continuous_methods if kind == "numeric" else categorical_methods
        entry: dict[str, Any] = {"kind": kind, "method": "+".join(methods), "drifted": False,
                                 "statistics": {}}
        for method in methods:
            value = _number(frame[(name, method, "value")].iloc[-1])
            alert = bool(frame[(name, method, "alert")].iloc[-1])
            entry["statistics"][method] = value
            entry["drifted"] = entry["drifted"] or alert
        entry["value"] = entry["statistics"][methods[0]]
        columns[name] = entry
    return columns


# --- main ----------------------------------------------------------------------------


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def run(tool: str, reference_path: Path, current_path: Path, numeric: list[str],
        categorical: list[str]) -> dict[str, Any]:
    """Read both files, run ``tool`` on them and return the timings and per-column values."""
    import pandas as pd

    if tool.startswith("evidently"):
        import evidently.presets  # noqa: F401  (imports are not timed)
    else:
        import nannyml  # noqa: F401

    start, cpu_start = time.perf_counter(), time.process_time()
    reference = pd.read_parquet(reference_path, columns=numeric + categorical)
    current = pd.read_parquet(current_path, columns=numeric + categorical)
    read_seconds = time.perf_counter() - start

    start = time.perf_counter()
    if tool == "evidently-psi":
        columns = run_evidently(reference, current, numeric, categorical, "psi")
        method = "DataDriftPreset(method=psi)"
    elif tool == "evidently-default":
        columns = run_evidently(reference, current, numeric, categorical, None)
        method = "DataDriftPreset() default"
    elif tool == "nannyml-js":
        columns = run_nannyml(reference, current, numeric, categorical,
                              ["jensen_shannon"], ["jensen_shannon"])
        method = "UnivariateDrift jensen_shannon"
    else:
        columns = run_nannyml(reference, current, numeric, categorical,
                              ["kolmogorov_smirnov"], ["chi2"])
        method = "UnivariateDrift ks+chi2"
    compute_seconds = time.perf_counter() - start
    compute_cpu_seconds = time.process_time() - cpu_start
    return {
        "tool": tool.split("-")[0],
        "method": method,
        "versions": {p: _version(p) for p in ("evidently", "nannyml", "pandas", "numpy")},
        "rows": [len(reference), len(current)],
        "read_seconds": read_seconds,
        "compute_seconds": compute_seconds,
        "compute_cpu_seconds": compute_cpu_seconds,
        "peak_rss_mib": vm_hwm_mib(),
        "columns": columns,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", choices=TOOLS, required=True, help="Contender to run.")
    parser.add_argument("--reference", type=Path, required=True, metavar="FILE",
                        help="Reference Parquet file.")
    parser.add_argument("--current", type=Path, required=True, metavar="FILE",
                        help="Current Parquet file.")
    parser.add_argument("--numeric", required=True, metavar="COLS",
                        help="Comma-separated numeric columns.")
    parser.add_argument("--categorical", required=True, metavar="COLS",
                        help="Comma-separated categorical columns.")
    args = parser.parse_args(argv)
    result = run(args.tool, args.reference, args.current, args.numeric.split(","),
                 args.categorical.split(","))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
