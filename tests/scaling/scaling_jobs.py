"""A job for the replica tests, found by ``riskops scheduler`` and ``riskops worker``
subprocesses through ``[scheduler.jobs] NAME = { target = "scaling_jobs:record_run" }``
(tests/scaling is on their PYTHONPATH, see replica_harness.Cluster.env)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from riskops.config import Workspace


def runs_file(home: Path) -> Path:
    """Where ``record_run`` appends one line per run: beside the shared workspace."""
    return home.parent / "job-runs.jsonl"


def record_run(ws: Workspace, metadata: dict[str, Any]) -> dict[str, Any]:
    """Append this run (process id, wall time) to ``runs_file``; every line is one run
    of the job's body, whatever ``job_runs`` says."""
    line = json.dumps({"pid": os.getpid(), "at": time.time(), "metadata": metadata})
    with runs_file(ws.home).open("a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())
    return {"pid": os.getpid()}
