"""Fault: the file system of the Parquet lake fills up during an export.

The lake folder (``<home>/lake``) is a real, tiny tmpfs. One export fits; then the
disk is filled to the last few kilobytes and more predictions arrive, so the next
``riskops jobs run lake-export`` runs out of space after writing a few part files.

Observed (and pinned here): the command exits 1 with one ``error:`` line naming the
folder and "no space left on device", no traceback; the run is recorded ``failed``
with that line; the watermark does not move; the part files the failed run had
written are removed again (the lake holds exactly the first export, every file a
readable Parquet file, no temporary file); ``riskops monitor run --source lake``
reads it. Once space is freed, the next run exports the rest, and the lake holds
each database row exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from sqlalchemy import insert, select

from riskops.config import Workspace
from riskops.scenarios import get_scenario
from riskops.storage.db import get_engine, write_transaction
from riskops.storage.lake import predictions_dir, watermark
from riskops.storage.tables import PredictionRow

pytestmark = [pytest.mark.replicas, pytest.mark.postgres, pytest.mark.slow]

RISKOPS = Path(sys.executable).with_name("riskops")
NOW = datetime(2026, 3, 1, tzinfo=UTC)
#: Left free on the lake's file system before the export that must fail: room for a
#: few part files of the second batch, not for all of them.
HEADROOM = 48 * 1024


def _rows(count: int, *, days: int, seed: int, end: datetime) -> list[dict[str, Any]]:
    """``count`` fraud predictions (heuristic scores) over the ``days`` before ``end``."""
    spec = get_scenario("fraud")
    start = (end - timedelta(days=days)).date()
    frame = spec.generate(count, start=start, days=days, seed=seed)
    records = frame[spec.schema.feature_names].to_dict("records")
    rows = []
    for i, (row, inputs) in enumerate(zip(frame.itertuples(), records, strict=True)):
        clean = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in inputs.items()}
        score = float(spec.heuristic(clean).score)
        rows.append({
            "id": f"{seed}-{i:05d}-{row.id}", "scenario": "fraud",
            "created_at": row.timestamp.floor("us").to_pydatetime(),
            "tenant_id": row.tenant_id, "model_name": "fraud", "model_version": 1,
            "manifest_version": 1, "method": "ml", "route": "production",
            "inputs": json.dumps(clean), "score": score,
            "label": spec.label_for(score, 0.5), "threshold": 0.5,
            "reasons": json.dumps(["amount well above the customer's median"]),
            "latency_ms": 1.0,
        })
    return rows


def _insert(ws: Workspace, rows: list[dict[str, Any]]) -> None:
    with write_transaction(ws.database_url) as session:
        session.execute(insert(PredictionRow), rows)


def _db_ids(ws: Workspace) -> set[str]:
    with get_engine(ws.database_url).connect() as conn:
        return set(conn.execute(select(PredictionRow.id)).scalars())


def _lake_ids(ws: Workspace) -> list[str]:
    """Every id in the lake's part files (duplicates kept), read with DuckDB."""
    pattern = str(predictions_dir(ws) / "*" / "*" / "*.parquet")
    if not list(predictions_dir(ws).glob("*/*/*.parquet")):
        return []
    return [r[0] for r in duckdb.sql(f"SELECT id FROM read_parquet('{pattern}')").fetchall()]


def _riskops(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    from conftest import admin_token

    env = {**os.environ, "RISKOPS_HOME": str(ws.home), "RISKOPS_TOKEN": admin_token(ws.home)}
    started = time.monotonic()
    done = subprocess.run([str(RISKOPS), *args, "--home", str(ws.home)], env=env,
                          capture_output=True, text=True, timeout=300)
    print(f"riskops {' '.join(args)}: exit {done.returncode} in "
          f"{time.monotonic() - started:.2f} s")
    return done


def _export(ws: Workspace) -> subprocess.CompletedProcess[str]:
    return _riskops(ws, "jobs", "run", "lake-export", "--metadata", '{"lag_seconds": 60}')


def _fill(folder: Path, *, leave: int) -> Path:
    """Fill ``folder``'s file system up, then give back ``leave`` bytes."""
    filler = folder / "filler.bin"
    with filler.open("wb", buffering=0) as fh:
        block = b"\0" * 4096
        try:
            while True:
                fh.write(block)
        except OSError:
            pass
    with filler.open("r+b") as fh:
        fh.truncate(max(0, filler.stat().st_size - leave))
    return filler


@pytest.fixture
def tiny_lake(pg_workspace: Workspace) -> Any:
    """The workspace's lake folder on a 1 MiB tmpfs of its own; unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    lake = pg_workspace.lake_dir
    lake.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(lake)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield pg_workspace
    finally:
        subprocess.run(["umount", "-l", str(lake)], check=False)


def test_an_export_onto_a_full_disk_fails_cleanly_and_loses_nothing(
        tiny_lake: Workspace) -> None:
    ws = tiny_lake
    first = _rows(300, days=3, seed=1, end=NOW - timedelta(days=30))
    _insert(ws, first)
    done = _export(ws)
    assert done.returncode == 0, done.stderr
    mark = watermark(ws)
    assert mark is not None and mark[1] == max(first, key=lambda r: (r["created_at"],
                                                                      r["id"]))["id"]
    parts_before = sorted(predictions_dir(ws).rglob("*.parquet"))

    second = _rows(3000, days=28, seed=2, end=NOW)
    _insert(ws, second)
    filler = _fill(ws.lake_dir, leave=HEADROOM)
    done = _export(ws)

    # One line naming the folder and the reason; exit 1; no traceback.
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    print("observed:", lines)
    assert len(lines) == 1 and lines[0].startswith("error: lake-export failed"), done.stderr
    assert str(predictions_dir(ws)) in lines[0] and "no space left on device" in lines[0]
    assert "Traceback" not in done.stderr + done.stdout
    # The run is recorded failed, with that reason.
    history = json.loads(_riskops(ws, "jobs", "history", "--job", "lake-export",
                                  "--json").stdout)
    assert history[0]["status"] == "failed", history[0]
    assert "no space left on device" in history[0]["error"]
    assert history[0]["error"] in lines[0]
    # Nothing moved: the watermark, the part files; no temporary or empty file left.
    assert watermark(ws) == mark
    assert sorted(predictions_dir(ws).rglob("*.parquet")) == parts_before
    leftovers = [p for p in predictions_dir(ws).rglob("*") if p.is_file()
                 and (p.name.endswith(".tmp") or p.stat().st_size == 0)
                 and p.name != ".export.lock"]
    assert leftovers == []
    assert sorted(_lake_ids(ws)) == sorted(r["id"] for r in first)
    # Every prediction is still in the database.
    assert _db_ids(ws) == {r["id"] for r in first + second}
    # Monitoring over the lake reads it (the lake up to the watermark, the database after).
    monitored = _riskops(ws, "monitor", "run", "--source", "lake",
                         "--now", NOW.isoformat(), "--json")
    assert monitored.returncode == 0, monitored.stderr
    assert json.loads(monitored.stdout)["source"] == "lake"

    # Space freed: the next run exports the rest, each row exactly once.
    filler.unlink()
    done = _export(ws)
    assert done.returncode == 0, done.stderr
    ids = _lake_ids(ws)
    assert len(ids) == len(set(ids)) == len(first) + len(second)
    assert set(ids) == _db_ids(ws)
    newest = max(first + second, key=lambda r: (r["created_at"], r["id"]))
    assert watermark(ws) == (newest["created_at"], newest["id"])
    again = _export(ws)
    assert again.returncode == 0 and len(_lake_ids(ws)) == len(ids)
    history = json.loads(_riskops(ws, "jobs", "history", "--job", "lake-export",
                                  "--json").stdout)
    assert [h["result"]["rows"] for h in history[:2]] == [0, len(second)]
