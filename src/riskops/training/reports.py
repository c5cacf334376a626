"""The two reports a training run stores beside its model.

``evaluation-report.json``: how the candidate was split, thresholded and
scored, per segment, and how it compares with production.
``reproducibility-report.json``: everything needed to train it again and
check the result: data digest, schema hash, seed, split, code and library
versions. Field by field in docs/ml.md.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import riskops
from riskops.scenarios.base import Schema

EVALUATION_SCHEMA = "riskops.evaluation-report/v1"
REPRODUCIBILITY_SCHEMA = "riskops.reproducibility-report/v1"
EVALUATION_FILE = "evaluation-report.json"
REPRODUCIBILITY_FILE = "reproducibility-report.json"
GOLDEN_FILE = "golden-predictions.parquet"
#: The held-out rows as given (every schema column) with ``_slice`` ("validation" or
#: "golden") and ``_score``: the bias audit's rows and the smoke gate's inputs.
HOLDOUT_FILE = "holdout-rows.parquet"
MODEL_FILE = "model.skops"
#: Libraries whose versions decide the fitted model and its scores.
KEY_PACKAGES = ("riskops", "numpy", "scipy", "scikit-learn", "pandas", "pyarrow", "skops")


def schema_sha256(schema: Schema) -> str:
    """SHA-256 of the schema's canonical JSON (sorted keys, no spaces)."""
    return sha256_json(schema.as_dict())


def sha256_json(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def dumps(report: dict[str, Any]) -> str:
    """A report as JSON text: sorted keys, 2-space indent, no NaN, final newline."""
    return json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n"


def evaluation_report(
    *, model: str, training_run_id: str, created_at: str, split: dict[str, Any],
    threshold: dict[str, Any], metrics: dict[str, Any], segments: dict[str, Any],
    comparison: dict[str, Any], model_params: dict[str, Any], binary_target: str,
    baseline: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "schema": EVALUATION_SCHEMA,
        "model": model,
        "training_run_id": training_run_id,
        "created_at": created_at,
        "binary_target": binary_target,
        "split": split,
        "threshold": threshold,
        "metrics": metrics,
        "segments": segments,
        "comparison": comparison,
        "model_params": model_params,
        "baseline": baseline,
    }


def reproducibility_report(
    *, model: str, training_run_id: str, created_at: str, scenario: dict[str, Any],
    data: dict[str, Any], schema: Schema, seed: int, threads: int, split: dict[str, Any],
    threshold: float,
    wall_time: dict[str, float], golden_predictions_sha256: str,
) -> dict[str, Any]:
    return {
        "schema": REPRODUCIBILITY_SCHEMA,
        "model": model,
        "training_run_id": training_run_id,
        "created_at": created_at,
        "scenario": scenario,
        "data": data,
        "feature_schema_sha256": schema_sha256(schema),
        "feature_schema": schema.as_dict(),
        "seed": seed,
        "threads": threads,
        "split": split,
        "threshold": threshold,
        "golden_predictions": {"file": GOLDEN_FILE, "sha256": golden_predictions_sha256},
        "code": code_identity(),
        "environment": environment(),
        "dependencies": locked_dependencies(),
        "wall_time_seconds": wall_time,
    }


def model_params_summary(model: Any) -> dict[str, Any]:
    """Scalar hyper-parameters of a fitted scikit-learn estimator (deep), plus its steps.

    Keeps str, bool, int and finite float values; objects are named by class.
    """
    import math

    summary: dict[str, Any] = {"estimator": type(model).__name__}
    steps = getattr(model, "steps", None)
    if steps:
        summary["steps"] = {name: type(step).__name__ for name, step in steps}
    for key, value in sorted(model.get_params(deep=True).items()):
        finite = isinstance(value, float) and math.isfinite(value)
        if value is None or finite or isinstance(value, bool | str | int):
            summary[key] = value
    return summary


def code_identity() -> dict[str, Any]:
    """riskops' version, and its git commit when it runs from a checkout (else ``None``).

    ``git_dirty`` is true when ``src``, ``pyproject.toml`` or ``requirements.lock``
    differ from that commit (changed or untracked files), so the commit alone
    does not identify the code.
    """
    repo = _repository_root()
    commit = dirty = None
    if repo is not None and (repo / ".git").exists():
        commit = _git(repo, "rev-parse", "HEAD")
        status = _git(repo, "status", "--porcelain", "--", "src", "pyproject.toml",
                      "requirements.lock")
        dirty = None if status is None else bool(status)
    return {"riskops_version": riskops.__version__, "git_commit": commit, "git_dirty": dirty}


def environment() -> dict[str, Any]:
    """Interpreter, platform and the installed versions of ``KEY_PACKAGES``."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "byteorder": sys.byteorder,
        "installed": installed_versions(),
    }


def installed_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def locked_dependencies() -> dict[str, Any]:
    """Pinned versions from ``requirements.lock`` beside ``pyproject.toml``, when riskops
    runs from its source tree; otherwise the installed versions of ``KEY_PACKAGES``."""
    repo = _repository_root()
    lock = repo / "requirements.lock" if repo is not None else None
    if lock is not None and lock.is_file():
        pins = parse_lock(lock.read_text(encoding="utf-8"))
        return {"source": str(lock), "sha256": hashlib.sha256(lock.read_bytes()).hexdigest(),
                "packages": pins}
    return {"source": "installed packages (no requirements.lock found)", "sha256": None,
            "packages": {k: v for k, v in installed_versions().items() if v is not None}}


def parse_lock(text: str) -> dict[str, str]:
    """``name==version`` lines of a pip/uv lock file (comments, hashes and markers dropped).

    >>> parse_lock("numpy==2.1.0 ; python_version >= '3.11'\\n    # via x\\npandas==2.2.3\\n")
    {'numpy': '2.1.0', 'pandas': '2.2.3'}
    """
    pins: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0].strip().rstrip("\\").strip()
        if "==" in line and not line.startswith("-"):
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.split()[0]
    return pins


def _repository_root() -> Path | None:
    """The source tree riskops runs from (``src`` layout), if ``pyproject.toml`` is there."""
    root = Path(riskops.__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def _git(repo: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
