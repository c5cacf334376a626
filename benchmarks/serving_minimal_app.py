"""The "minimal endpoint" contender of ``serving.py``: FastAPI that only calls the model.

One route, ``POST /risk/{scenario}``: read the JSON object, build a one-row
frame with the scenario's feature columns, call ``scenario.risk_scores`` and
return the score. No authentication, validation, routing, heuristic, inference
log or metrics: it is the floor a scoring server built on FastAPI and uvicorn
cannot beat on this machine. ``GET /health`` answers ``ok`` once the model is
loaded.

The model is loaded the way riskops serving loads it, at start-up:
``read_verified_manifest`` then ``load_model`` (signature and digests checked,
skops with the workspace's trusted types).

uvicorn runs it with the settings ``riskops serve`` uses (``uvicorn.run`` with
an app factory, ``--workers``, log level ``warning``, no access log, 10 s
graceful shutdown), so only the application differs::

    .venv/bin/python benchmarks/serving_minimal_app.py --home WORKSPACE \\
        --model fraud --version 1 --port 8000 [--workers 1]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

ENV_HOME = "RISKOPS_BENCH_MINIMAL_HOME"
ENV_MODEL = "RISKOPS_BENCH_MINIMAL_MODEL"
ENV_VERSION = "RISKOPS_BENCH_MINIMAL_VERSION"


def load_estimator(home: Path, model: str, version: int) -> Any:
    """The estimator of ``model`` v``version``, verified and loaded as serving does."""
    from riskops.config import open_workspace
    from riskops.registry.loader import load_model
    from riskops.registry.manifest import read_verified_manifest

    ws = open_workspace(home)
    verified = read_verified_manifest(ws.manifest_path, ws.signature_path, ws.public_key_path)
    return load_model(verified, model, version,
                      trusted_types=ws.settings.trusted_types).estimator


def create_app() -> FastAPI:
    """uvicorn factory; the workspace, model and version come from the environment."""
    import pandas as pd

    from riskops.scenarios import get_scenario

    model = os.environ[ENV_MODEL]
    scenario = get_scenario(model)
    columns = scenario.schema.feature_names
    estimator = load_estimator(Path(os.environ[ENV_HOME]), model, int(os.environ[ENV_VERSION]))
    app = FastAPI(title="minimal scoring endpoint (benchmark)")

    @app.post(f"/risk/{model}")
    async def score(request: Request) -> JSONResponse:
        row = await request.json()
        frame = pd.DataFrame.from_records([row], columns=columns)
        return JSONResponse({"risk_score": float(scenario.risk_scores(estimator, frame)[0])})

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="riskops workspace")
    parser.add_argument("--model", default="fraud", help="model (= scenario) name")
    parser.add_argument("--version", type=int, required=True, help="model version to load")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ[ENV_HOME] = str(args.home.resolve())
    os.environ[ENV_MODEL] = args.model
    os.environ[ENV_VERSION] = str(args.version)
    import uvicorn

    # The same uvicorn settings as riskops.cli.serve (which binds its own socket first and
    # hands it to uvicorn.Server or Multiprocess; the serving loop is the same).
    uvicorn.run("serving_minimal_app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="warning", access_log=False,
                timeout_graceful_shutdown=10, app_dir=str(Path(__file__).resolve().parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
