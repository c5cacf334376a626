"""Traffic for the demo: last month's decisions imported as a monitoring reference, and
live requests replayed over HTTP from several clients, as client applications would."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pandas as pd

from riskops.config import Workspace
from riskops.monitoring.backfill import ImportResult

REFERENCE_ROWS = 800
CLIENTS = 8


def import_history(ws: Workspace, frame: pd.DataFrame, *, model: str, version: int,
                   start: datetime, end: datetime) -> ImportResult:
    """Score ``frame`` with ``model`` v``version`` as decisions made in [start, end), write
    them to a Parquet file in the workspace and import it as ``riskops monitor import`` does.

    The backfill gives monitoring a reference window before live traffic exists.
    """
    from riskops.monitoring.backfill import import_predictions
    from riskops.registry.loader import load_model
    from riskops.registry.trust import read_workspace_manifest
    from riskops.scenarios import get_scenario

    scenario = get_scenario(model)
    verified = read_workspace_manifest(ws)
    loaded = load_model(verified, model, version, trusted_types=ws.settings.trusted_types)
    step = (end - start) / max(len(frame), 1)
    scored = frame.assign(
        score=scenario.risk_scores(loaded.estimator, frame),
        timestamp=[start + i * step for i in range(len(frame))])
    path = ws.home / "demo" / ("decisions-last-month.parquet" if model == "fraud"
                               else f"{model}-decisions-last-month.parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    scored.to_parquet(path, index=False)
    return import_predictions(ws, path, scenario=model, model=model, version=version,
                              timestamp_col="timestamp", score_col="score",
                              tenant_col="tenant_id", id_col="id", actor="demo")


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def replay(url: str, token: str, frame: pd.DataFrame, features: list[str], *,
           route: str = "/risk/fraud") -> dict[str, Any]:
    """POST each row to ``route`` from ``CLIENTS`` threads; the responses and the rate."""
    import httpx

    rows = [({k: _plain(r[k]) for k in features}, str(r["tenant_id"]), str(r["label"]),
             str(r["id"])) for _, r in frame.iterrows()]
    headers = {"Authorization": f"Bearer {token}"}

    def send(chunk: list[tuple[dict[str, Any], str, str, str]]) -> list[dict[str, Any]]:
        out = []
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            for features_, tenant, label, key in chunk:
                r = client.post(route, json=features_,
                                headers={"X-Tenant-ID": tenant, "X-Request-Key": key})
                r.raise_for_status()
                out.append({**r.json(), "true_label": label})
        return out

    chunks = [rows[i::CLIENTS] for i in range(CLIENTS)]
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        responses = [r for part in pool.map(send, chunks) for r in part]
    elapsed = time.perf_counter() - started
    return {"responses": responses, "seconds": elapsed, "rate": len(responses) / elapsed}
