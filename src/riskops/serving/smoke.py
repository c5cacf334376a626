"""The staging smoke test: serve a version in process and check it scores its golden rows.

The version is loaded the way a replica loads it (signed manifest, every
artifact's digest, skops type check), its golden rows are validated by the
scenario's request model exactly as ``POST /risk/{scenario}`` validates a
body, and they are scored by the serving path (``scoring.score_rows``) with
the threshold signed with the version, through the version's checked fast path
when serving would use one (``pool.with_fast_path``). It passes when every row is answered
by the model (no heuristic fallback) and every score equals the golden
prediction the training run recorded, within a tolerance.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from riskops.config import Workspace
from riskops.errors import RiskopsError
from riskops.registry.loader import load_model
from riskops.registry.trust import read_workspace_manifest
from riskops.serving import schemas
from riskops.serving.pool import (
    GOLDEN_SAMPLE_ROWS,
    ServedVersion,
    version_threshold,
    with_fast_path,
)
from riskops.serving.routing import Route
from riskops.serving.scoring import score_rows
from riskops.serving.settings import serving_settings
from riskops.training.reports import GOLDEN_FILE, HOLDOUT_FILE


def smoke_test(ws: Workspace, model: str, version: int, *, rows: int = 200,
               tolerance: float = 1e-9) -> dict[str, Any]:
    """Score up to ``rows`` golden rows of ``model`` v``version`` in process.

    Returns ``{"status": "pass"|"fail", "reason", "rows", "served_by_model",
    "max_abs_difference", "threshold"}``; never raises for a failing version.
    """
    from riskops.registry.definitions import version_scenario

    base: dict[str, Any] = {"model": model, "version": version, "rows": 0,
                            "served_by_model": 0, "max_abs_difference": None}
    try:
        verified = read_workspace_manifest(ws)
        scenario = version_scenario(verified, model, version)
    except RiskopsError as exc:
        return {**base, "status": "fail", "reason": f"no served scenario for {model}: {exc}"}
    try:
        loaded = load_model(verified, model, version, trusted_types=ws.settings.trusted_types,
                            read=[HOLDOUT_FILE, GOLDEN_FILE], action="smoke-tested")
    except RiskopsError as exc:
        return {**base, "status": "fail", "reason": str(exc).splitlines()[0]}
    if HOLDOUT_FILE not in loaded.files:
        return {**base, "status": "fail",
                "reason": f"v{version} has no {HOLDOUT_FILE} (trained before gating rows were "
                          "kept, or registered by hand); retrain it to smoke-test it."}
    holdout = pd.read_parquet(io.BytesIO(loaded.files[HOLDOUT_FILE]))
    golden = pd.read_parquet(io.BytesIO(loaded.files[GOLDEN_FILE]))
    gating = holdout[holdout["_slice"] == "golden"].head(rows)
    expected = dict(zip(golden["id"].astype(str), golden["score"].astype(float), strict=True))
    threshold = version_threshold(verified.manifest.version(model, version).metrics, scenario)
    settings = serving_settings(ws)
    validator = schemas.request_model(scenario, max_text_chars=settings.max_text_chars)
    try:
        bodies = [schemas.validated_row(validator, record)
                  for record in _request_bodies(gating, scenario.schema.feature_names)]
    except ValidationError as exc:
        first = exc.errors()[0]
        return {**base, "status": "fail",
                "reason": f"a golden row is refused by the request schema: "
                          f"{'.'.join(map(str, first['loc']))}: {first['msg']}"}
    served = ServedVersion(loaded=loaded, threshold=threshold)
    if settings.fast_path:
        served = with_fast_path(scenario, served, scenario.sample_rows(GOLDEN_SAMPLE_ROWS))
    scored = score_rows(scenario, Route(served, "smoke"), bodies)
    ids = gating[scenario.schema.id].astype(str).tolist()
    by_model = sum(s.method == "ml" for s in scored)
    missing = [i for i in ids if i not in expected]
    diffs = np.array([abs(s.score - expected[i]) for s, i in zip(scored, ids, strict=True)
                      if i in expected], dtype=float)
    worst = float(diffs.max()) if diffs.size else None
    result = {**base, "rows": len(bodies), "served_by_model": by_model,
              "max_abs_difference": worst, "threshold": threshold, "tolerance": tolerance}
    if not bodies:
        return {**result, "status": "fail", "reason": "no golden rows to score"}
    if by_model < len(bodies):
        return {**result, "status": "fail",
                "reason": f"{len(bodies) - by_model} of {len(bodies)} rows were answered by the "
                          "heuristic: the model failed to score them"}
    if missing:
        return {**result, "status": "fail",
                "reason": f"{len(missing)} golden rows have no recorded prediction"}
    if worst is not None and worst > tolerance:
        return {**result, "status": "fail",
                "reason": f"served scores differ from the golden predictions by up to "
                          f"{worst:.3g} (tolerance {tolerance:g})"}
    return {**result, "status": "pass",
            "reason": f"{len(bodies)} golden rows served by the model match their recorded "
                      f"scores (max |difference| {worst:.3g})"}


def _request_bodies(frame: pd.DataFrame, features: list[str]) -> list[dict[str, Any]]:
    """The feature columns of ``frame`` as request bodies (plain Python values, no NaN)."""
    records = frame[features].astype(object).where(frame[features].notna(), None)
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in records.to_dict(orient="records")]
