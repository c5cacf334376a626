"""The serving half of `riskops demo`: serve, replay traffic, review, monitor.

The workspace from the first half has fraud v1 in production. This part
starts the real scoring server on 127.0.0.1:4006 (or a free port when that one
is taken), imports last month's decisions into the inference log as the
monitoring reference (``monitoring.backfill``, as ``riskops monitor import``),
replays payments from a drifted period over HTTP as a client application
would, sends reviewer feedback and ground-truth outcomes, runs the
model-monitoring job hourly for three hours (alerts fire on the third breach
in a row) and delivers its events, then reads the
insights and metrics back.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from riskops.config import Workspace
from riskops.demo.deal import MODEL as DEAL
from riskops.demo.deal import DealRun, calibration_line, replay_with_outcomes
from riskops.demo.deal import import_reference as deal_reference
from riskops.demo.traffic import CLIENTS, REFERENCE_ROWS, import_history, replay
from riskops.errors import CheckFailed

DEFAULT_PORT = 4006
HOST = "127.0.0.1"
LIVE_ROWS = 400


def free_port(preferred: int = DEFAULT_PORT) -> int:
    """``preferred`` if nothing listens there, else a free port the OS picks."""
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise CheckFailed("demo stopped: no free TCP port on 127.0.0.1")


@contextmanager
def running_server(ws: Workspace, port: int) -> Iterator[str]:
    """The scoring API in a background thread; yields its base URL, stops it after."""
    import httpx
    import uvicorn

    from riskops.serving.app import create_app

    config = uvicorn.Config(create_app(ws), host=HOST, port=port, log_level="warning",
                            access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="riskops-demo-server", daemon=True)
    thread.start()
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise CheckFailed(f"demo stopped: the scoring server did not start on {url}")
        time.sleep(0.05)
    try:
        httpx.get(f"{url}/health", timeout=5).raise_for_status()
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def serve_and_monitor(ws: Workspace, *, model: str, production: int, reference: Path,
                      drifted: Path, drift_from: datetime, say: Callable[[str], None],
                      deal: DealRun | None = None) -> dict[str, Any]:
    """Steps 11-15 of the demo; returns what a test needs to check them."""
    import httpx

    from riskops.events.dispatcher import Dispatcher
    from riskops.monitoring.job import run_model_monitoring
    from riskops.scenarios import get_scenario
    from riskops.tokens import create_token

    now = datetime.now(UTC)
    stamp = now.strftime("%Y%m%d%H%M%S%f")
    scorer = create_token(ws, name=f"demo-scorer-{stamp}", role="scorer", actor="demo")
    reviewer = create_token(ws, name=f"demo-reviewer-{stamp}", role="reviewer", actor="demo")
    features = get_scenario(model).schema.feature_names

    history = pd.read_parquet(reference).tail(REFERENCE_ROWS)
    backfill = import_history(ws, history, model=model, version=production,
                              start=now - timedelta(days=58), end=now - timedelta(days=31))
    imported = backfill.added
    say(f"11. imported {imported} decisions of last month ({backfill.present} already "
        f"present) into the inference log as the monitoring reference, as `riskops monitor "
        f"import --from {backfill.source} --scenario {model} --model {model} --version "
        f"{backfill.version} --timestamp-col timestamp --score-col score --tenant-col "
        "tenant_id --id-col id` does")
    if deal is not None:
        say(f"    and {deal_reference(ws, deal, now=now)} {DEAL} decisions of last month, "
            f"scored by {DEAL} v{deal.version}")

    live = pd.read_parquet(drifted)
    live = live[live["timestamp"] >= pd.Timestamp(drift_from)].head(LIVE_ROWS)
    port = free_port()
    with running_server(ws, port) as url:
        ready = httpx.get(f"{url}/ready", timeout=10).json()
        say(f"12. serving on {url} (OpenAPI at {url}/docs): manifest "
            f"v{ready['manifest_version']}, {model} v{ready['models'][model]['production']} in "
            f"production, ready={ready['ready']}")
        sent = replay(url, scorer, live, features)
        counts = pd.Series([r["risk_score_method"] for r in sent["responses"]]).value_counts()
        methods = {str(k): int(v) for k, v in counts.items()}
        say(f"13. replayed {len(sent['responses'])} drifted payments over HTTP from {CLIENTS} "
            f"clients: {sent['rate']:.0f} req/s; methods {methods}; every response "
            "carries prediction_id, model version, threshold and manifest version")

        review = httpx.Client(base_url=url, timeout=30,
                              headers={"Authorization": f"Bearer {reviewer}"})
        missed = [r for r in sent["responses"]
                  if r["true_label"] == "1" and r["risk_label"] == "0"][:5]
        for r in missed:
            review.post("/feedback", json={
                "prediction_id": r["prediction_id"], "label": "1", "override": True,
                "severity": "high", "comment": "confirmed fraud the model let through",
            }).raise_for_status()
        outcomes = [{"prediction_id": r["prediction_id"], "label": r["true_label"]}
                    for r in sent["responses"]]
        review.post("/outcomes", json={"outcomes": outcomes}).raise_for_status()
        say(f"14. a reviewer overrode {len(missed)} missed frauds; {len(outcomes)} ground-truth "
            "outcomes recorded")
        dealt = None if deal is None else replay_with_outcomes(url, scorer, review, deal)
        if dealt is not None:
            say(f"    {dealt['requests']} open deals from Q2 scored over POST /risk/{DEAL} "
                f"({dealt['rate']:.0f} req/s) and their {dealt['outcomes']} outcomes (lost or "
                "slipped, or won) recorded")

        # The hourly monitoring job over the next three hours: an alert fires on the
        # third breach in a row; a repeated evaluation counts and emits nothing.
        runs = [run_model_monitoring(ws, {"now": (now + timedelta(hours=h)).isoformat()})
                for h in (1, 2, 3)]
        repeat = run_model_monitoring(ws, {"now": (now + timedelta(hours=3)).isoformat()})
        monitoring = runs[-1]
        delivered = Dispatcher(ws).run_once()
        say("15. monitoring, hourly for three hours: "
            + ", ".join(f"{r['driftDetected']} breaches and {len(r['events'])} events"
                        for r in runs)
            + f" (alerts fire on the 3rd breach in a row; running hour 3 again emitted "
            f"{len(repeat['events'])})")
        drifted_checks = [r for r in monitoring["results"] if r.get("drift")]
        top = sorted(drifted_checks, key=lambda r: -(r.get("psi") or 0))[:3]
        say(f"    last run: {monitoring['driftChecked']} drift checks, "
            f"{monitoring['driftDetected']} found drift"
            + (" (" + ", ".join(f"{r.get('feature')} for {r.get('tenantId')} PSI "
                                f"{r.get('psi'):.2f}" for r in top) + ")"
               if top else "")
            + f"; {monitoring['performanceChecked']} performance checks; "
            f"{len(monitoring['events'])} events, {delivered.delivered} delivered to "
            f"{ws.home / 'events.jsonl'}")
        calibration = calibration_line(monitoring["results"])
        if calibration is not None:
            say(calibration)
        insights = review.get("/risk/insights").json()
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        review.close()
    fraud = [s for s in insights["scenarios"] if s["scenario"] == model]
    overrides = sum(s["overrides"] for s in fraud)
    served_lines = [line for line in metrics.splitlines()
                    if line.startswith("ml_predictions_total{")]
    budgets = ", ".join(f"{name} {left:.0%}" for name, left in
                        sorted(insights["error_budget_remaining"].items()))
    say(f"    /risk/insights: {overrides} overrides in the last 7 days; error budget left "
        f"(30 days, from the inference log): {budgets or 'no model-routed requests yet'}; "
        "/metrics: " + "; ".join(served_lines))
    return {"url": url, "requests": len(sent["responses"]), "rate": sent["rate"],
            "imported": imported, "overrides": overrides,
            "drift_checked": monitoring["driftChecked"],
            "drift_detected": monitoring["driftDetected"],
            "events": monitoring["events"], "methods": methods,
            "scorer_token": scorer, "deal": dealt}
