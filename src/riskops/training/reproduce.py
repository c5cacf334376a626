"""`riskops train --reproduce MODEL VERSION`: train again from the record, compare exactly.

The version is read through ``registry.loader.load_model``, the one door to
a version's artifacts: every file is checked against the signed manifest, and
the reproducibility report and golden predictions are checked as they are
read. The data file must be the very file it was trained on (same SHA-256).
The model is fitted again with the recorded seed and split, and its
golden-set scores must equal the stored ones bit for bit; the reference
profile is built again and its SHA-256 compared with the signed one
(``profile_match``; ``None`` for a version trained before profiles).
Nothing is registered.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskops.config import Workspace
from riskops.errors import DataChanged, InputError
from riskops.profiles.profile import FILE as PROFILE_FILE
from riskops.training import reports
from riskops.training.data import file_sha256, load_training_data
from riskops.training.pipeline import fit_and_score, write_profile
from riskops.training.progress import Progress, stepper
from riskops.training.split import SLICES, ids_sha256

REPRODUCE_STEPS = ("verifying the version", "checking the data file", "fitting", "comparing")


def reproduce_version(
    ws: Workspace, model: str, version: int, *, actor: str | None = None,
    data_path: Path | None = None, config_path: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Retrain ``model`` v``version`` from its reproducibility report; compare golden scores.

    ``data_path`` and ``config_path`` replace the recorded paths of the data
    and of a custom scenario's config (moved files); their SHA-256 must still
    match. Returns ``match`` (golden scores identical), the largest
    absolute difference, and the ways the environment differs from the
    recorded one.

    Raises
    ------
    IntegrityError
        The manifest signature or any artifact of the version fails verification.
    DataChanged
        The data (or custom scenario config) file is gone or has other bytes.
    InputError
        The version was not made by ``riskops train``.
    """
    from riskops.scenarios import get_scenario

    step = stepper(progress, REPRODUCE_STEPS)
    started = time.perf_counter()

    step("verifying the version")
    files, profile_sha256 = _read_version(ws, model, version)
    record = json.loads(files[reports.REPRODUCIBILITY_FILE])
    if record.get("schema") != reports.REPRODUCIBILITY_SCHEMA:
        raise InputError(f"{model} v{version}: {reports.REPRODUCIBILITY_FILE} has schema "
                         f"{record.get('schema')!r}, expected {reports.REPRODUCIBILITY_SCHEMA}.")
    stored = pd.read_parquet(io.BytesIO(files[reports.GOLDEN_FILE]))

    step("checking the data file")
    recorded = record["data"]
    path = Path(data_path) if data_path is not None else Path(recorded["path"])
    _check_digest(path, recorded["sha256"], what="data file", model=model, version=version)
    config = _recorded_config(record, model, version, moved_to=config_path)
    scenario = get_scenario(record["scenario"]["name"], config=config)
    data = load_training_data(path, scenario)
    if data.sha256 != recorded["sha256"]:  # changed between the two reads
        raise DataChanged(_digest_message(path, data.sha256, recorded["sha256"], model, version,
                                          "data file"))

    step("fitting")
    fractions = [record["split"]["fractions"][name] for name in SLICES]
    fit = fit_and_score(scenario, data, seed=int(record["seed"]), fractions=fractions,
                        threads=int(record.get("threads", 1)))

    step("comparing")
    ids = fit.split.golden[scenario.schema.id].astype(str).to_numpy()
    same_rule = (fit.rule.kind == record["split"].get("kind", "time")
                 and fit.rule.seed == record["split"].get("seed"))
    ids_match = (same_rule and ids_sha256(ids) == record["split"]["golden_ids_sha256"]
                 and np.array_equal(ids, stored["id"].astype(str).to_numpy()))
    new = np.asarray(fit.golden_scores, dtype=np.float64)
    old = stored["score"].to_numpy(dtype=np.float64)
    same_shape = ids_match and new.shape == old.shape
    match = bool(same_shape and np.array_equal(new, old))
    delta = np.abs(new - old) if same_shape else None
    profile_match = None
    if profile_sha256 is not None:
        with tempfile.TemporaryDirectory(prefix="riskops-reproduce-") as tmp:
            rebuilt = write_profile(Path(tmp), fit, scenario).read_bytes()
        profile_match = hashlib.sha256(rebuilt).hexdigest() == profile_sha256
    step("done")
    return {
        "model": model,
        "version": version,
        "match": match,
        "golden_ids_match": ids_match,
        "profile_match": profile_match,
        "rows": len(new),
        "rows_differing": None if delta is None else int(np.count_nonzero(delta)),
        "max_abs_score_delta": None if delta is None else float(delta.max(initial=0.0)),
        "seed": int(record["seed"]),
        "threads": int(record.get("threads", 1)),
        "split": {"kind": fit.rule.kind, "seed": fit.rule.seed,
                  "recorded_kind": record["split"].get("kind", "time")},
        "data": {"path": str(data.path), "sha256": data.sha256, "rows": data.rows},
        "environment_differences": environment_differences(record, scenario.schema),
        "checked_by": actor,
        "wall_time_seconds": time.perf_counter() - started,
        "recorded_wall_time_seconds": record.get("wall_time_seconds", {}).get("total"),
    }


def environment_differences(record: dict[str, Any], schema: Any) -> list[dict[str, Any]]:
    """What differs between the recorded run and now: code, schema, interpreter, libraries."""
    now_code = reports.code_identity()
    now_env = reports.environment()
    then_code = record.get("code", {})
    then_env = record.get("environment", {})
    pairs: list[tuple[str, Any, Any]] = [
        ("riskops_version", then_code.get("riskops_version"), now_code["riskops_version"]),
        ("git_commit", then_code.get("git_commit"), now_code["git_commit"]),
        ("feature_schema_sha256", record.get("feature_schema_sha256"),
         reports.schema_sha256(schema)),
        ("python", then_env.get("python"), now_env["python"]),
        ("platform", then_env.get("platform"), now_env["platform"]),
    ]
    installed_then = then_env.get("installed", {})
    for name, current in now_env["installed"].items():
        pairs.append((f"package {name}", installed_then.get(name), current))
    return [{"what": what, "recorded": a, "now": b} for what, a, b in pairs if a != b]


def _recorded_config(
    record: dict[str, Any], model: str, version: int, *, moved_to: Path | None = None
) -> Path | None:
    config = record["scenario"].get("config")
    if config is None:
        if moved_to is not None:
            raise InputError(f"{model} v{version} is a reference scenario; it has no --config.")
        return None
    path = moved_to if moved_to is not None else Path(config["path"])
    _check_digest(path, config["sha256"], what="scenario config", model=model, version=version,
                  option="--config")
    return path


def _check_digest(path: Path, expected: str, *, what: str, model: str, version: int,
                  option: str = "--data") -> None:
    if not path.is_file():
        raise DataChanged(
            f"{model} v{version} was trained with the {what} {path}, which no longer exists; "
            f"pass the same file with {option} (sha256 {expected})."
        )
    actual = file_sha256(path)
    if actual != expected:
        raise DataChanged(_digest_message(path, actual, expected, model, version, what))


def _digest_message(
    path: Path, actual: str, expected: str, model: str, version: int, what: str
) -> str:
    return (f"{what} {path} has sha256 {actual}, but {model} v{version} was trained on sha256 "
            f"{expected}; reproduction needs the same bytes.")


def _read_version(ws: Workspace, model: str, version: int) -> tuple[Mapping[str, bytes],
                                                                    str | None]:
    """The version's reproducibility report and golden predictions, read through
    ``load_model`` (every artifact verified, each file checked as read), and the
    signed SHA-256 of its reference profile (``None`` when it has none)."""
    from riskops.registry.loader import load_model
    from riskops.registry.store import version_folder
    from riskops.registry.trust import read_workspace_manifest

    verified = read_workspace_manifest(ws)
    folder = version_folder(model, version)
    artifacts = verified.manifest.version(model, version).artifacts
    listed = {a.path for a in artifacts}
    profile = next((a.sha256 for a in artifacts if a.path == f"{folder}/{PROFILE_FILE}"), None)
    for name in (reports.REPRODUCIBILITY_FILE, reports.GOLDEN_FILE):
        if f"{folder}/{name}" not in listed:
            raise InputError(f"{model} v{version} has no {name}; only versions trained with "
                             "riskops train can be reproduced.")
    loaded = load_model(verified, model, version, trusted_types=ws.settings.trusted_types,
                        read=(reports.REPRODUCIBILITY_FILE, reports.GOLDEN_FILE),
                        action="reproduced")
    return loaded.files, profile
