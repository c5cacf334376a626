"""How long the SLO status takes on a month of inference log, beside reading it into pandas.

    .venv/bin/python benchmarks/slo.py [--rows 1000000] [--scenarios 5] [--repeat 5]
        [--postgres URL]

A fresh workspace (SQLite, the embedded default; ``--postgres URL`` adds a run on
that empty database) gets ``--rows`` predictions spread over 40 days and
``--scenarios`` scenarios, 85% routed to a model, 1% of those failed, latencies
from 2 to 400 ms. Rows are inserted directly.

Rows of the table, each the median of ``--repeat`` runs in this process:

- ``pandas (baseline)``: ``SELECT`` the model-routed rows of the window into a
  DataFrame and count failures and slow rows per scenario and window with
  numpy, the obvious way to write it by hand;
- ``slo_status()``: what ``riskops slo status``, the gauge and the rules read:
  one aggregate statement over the five windows.

Both must agree on every count. Target: a month of a busy service (1M
predictions) within one second on SQLite, so ``/metrics`` (refreshed at most
once a second) and the every-minute ``slo-watch`` job stay cheap.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from _report import cpu_model, load_average, memory_total, table, timed
from sqlalchemy import insert, select

from riskops.config import Settings, Workspace
from riskops.governance.automation_policy import SloPolicy
from riskops.governance.slo_status import slo_status
from riskops.storage import db
from riskops.storage.slo_counts import MODEL_ROUTES
from riskops.storage.tables import PredictionRow

TARGET_SECONDS = 1.0
NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
WINDOWS = {"window": timedelta(days=30), "5m": timedelta(minutes=5),
           "30m": timedelta(minutes=30), "1h": timedelta(hours=1), "6h": timedelta(hours=6)}


def populate(url: str, *, rows: int, scenarios: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    names = [f"scenario-{i}" for i in range(scenarios)]
    chunk = 50_000
    engine = db.get_engine(url)
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        ages = rng.uniform(0, 40 * 86400, n)
        routed = rng.random(n) < 0.85
        failed = routed & (rng.random(n) < 0.01)
        latency = rng.choice([2.0, 20.0, 120.0, 400.0], n, p=[0.6, 0.3, 0.09, 0.01])
        which = rng.integers(0, scenarios, n)
        batch = [{"id": str(uuid.uuid4()), "created_at": NOW - timedelta(seconds=float(a)),
                  "tenant_id": "default", "scenario": names[w], "model_name": None,
                  "model_version": None, "manifest_version": 1,
                  "method": "heuristic" if f or not r else "ml",
                  "route": "production" if r else "no-model", "inputs": "{}", "score": 0.5,
                  "label": "low", "threshold": 0.5, "reasons": "[]", "latency_ms": float(lat)}
                 for a, r, f, lat, w in zip(ages, routed, failed, latency, which, strict=True)]
        with engine.begin() as conn:
            conn.execute(insert(PredictionRow), batch)


def pandas_counts(url: str, latency_ms: float) -> dict[str, dict[str, tuple[int, int, int]]]:
    """The baseline: read the routed rows of the window, count per scenario and window."""
    p = PredictionRow
    query = select(p.scenario, p.created_at, p.method, p.latency_ms).where(
        p.route.in_(MODEL_ROUTES), p.created_at > NOW - WINDOWS["window"], p.created_at <= NOW)
    with db.get_engine(url).connect() as conn:
        frame = pd.DataFrame(conn.execute(query).all(),
                             columns=["scenario", "created_at", "method", "latency_ms"])
    created = pd.to_datetime(frame["created_at"], utc=True)
    out: dict[str, dict[str, tuple[int, int, int]]] = {}
    for scenario, group in frame.groupby("scenario"):
        when = created[group.index]
        bad = (group["method"] != "ml").to_numpy()
        slow = (group["latency_ms"] > latency_ms).to_numpy()
        out[str(scenario)] = {}
        for name, span in WINDOWS.items():
            inside = (when > NOW - span).to_numpy()
            out[str(scenario)][name] = (int(inside.sum()), int((inside & bad).sum()),
                                        int((inside & slow).sum()))
    return out


def run_on(url: str, label: str, args: argparse.Namespace) -> list[list[str]]:
    populate(url, rows=args.rows, scenarios=args.scenarios)
    ws = Workspace(home=Path(tempfile.gettempdir()), settings=Settings(database_url=url))
    policy = SloPolicy()
    base_time, expected = timed(lambda: pandas_counts(url, policy.objectives.latency_ms),
                                args.repeat)
    slo_time, status = timed(lambda: slo_status(ws, now=NOW, policy=policy), args.repeat)
    for item in status:
        want = expected[item.scenario]
        o = item.objectives
        assert (o["availability"].total, o["availability"].bad, o["latency"].bad) \
            == want["window"], (item.scenario, want["window"])
    return [[f"{label}: pandas (baseline)", f"{base_time:.3f}", "1.0x"],
            [f"{label}: slo_status()", f"{slo_time:.3f}", f"{slo_time / base_time:.2f}x"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--scenarios", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", metavar="URL", default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db.migrate(url)
        rows = run_on(url, "SQLite", args)
        sqlite_time = float(rows[1][1])
        if args.postgres:
            db.migrate(args.postgres)
            rows += run_on(args.postgres, "PostgreSQL", args)
        db.dispose_engines()
    print(f"# slo status: {args.rows:,} predictions over 40 days, {args.scenarios} scenarios, "
          f"5 windows, median of {args.repeat}")
    print(f"# {platform.platform()}, Python {platform.python_version()}, {cpu_model()}, "
          f"{memory_total()}, load {load_average()}")
    print(table([["what", "seconds", "vs baseline"], *rows]))
    met = sqlite_time <= TARGET_SECONDS
    print(f"target: SQLite slo_status within {TARGET_SECONDS:.1f} s: "
          f"{'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
