"""The Parquet lake: partitioned, incremental, idempotent export; DuckDB reads."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from riskops.config import Workspace
from riskops.errors import CheckFailed, InputError
from riskops.serving.records import PredictionRecord, new_prediction_id
from riskops.storage.feedback import add_feedback, add_outcomes
from riskops.storage.lake import (
    COLUMNS,
    export_job,
    export_predictions,
    predictions_dir,
    read_predictions,
)
from riskops.storage.predictions import insert_predictions

DAY1 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
DAY2 = datetime(2026, 3, 2, 23, 59, 59, 999_000, tzinfo=UTC)
LATER = datetime(2026, 3, 5, tzinfo=UTC)


def _record(scenario: str, created_at: datetime, **overrides: object) -> PredictionRecord:
    fields: dict[str, object] = {
        "id": new_prediction_id(), "created_at": created_at, "tenant_id": "default",
        "scenario": scenario, "model_name": scenario, "model_version": 2, "manifest_version": 5,
        "method": "ml", "route": "production", "inputs": {"amount": 10.0, "country": "FR"},
        "score": 0.7, "label": "high", "threshold": 0.5, "reasons": ["r1", "r2"],
        "latency_ms": 0.8,
    }
    fields.update(overrides)
    return PredictionRecord(**fields)  # type: ignore[arg-type]


def write_predictions(database_url: str, records: list[PredictionRecord]) -> None:
    assert insert_predictions(database_url, [r.to_row() for r in records]) == len(records)


def _seed(ws: Workspace) -> list[PredictionRecord]:
    records = [
        _record("fraud", DAY1),
        _record("fraud", DAY1),  # same created_at: the id orders them
        _record("fraud", DAY2, tenant_id="acme", method="heuristic", model_name=None,
                model_version=None, threshold=None, reasons=[]),
        _record("shortfall", DAY1 + timedelta(hours=1)),
    ]
    write_predictions(ws.database_url, records)
    return records


def _parts(ws: Workspace) -> list[Path]:
    return sorted(predictions_dir(ws).rglob("*.parquet"))


def test_an_empty_log_exports_nothing(workspace: Workspace) -> None:
    result = export_predictions(workspace, now=LATER)
    assert (result["rows"], result["files"], result["watermark"]) == (0, [], None)
    assert _parts(workspace) == []
    assert not (predictions_dir(workspace) / "_watermark.json").exists()
    frame = read_predictions(workspace)
    assert frame.empty and list(frame.columns) == list(COLUMNS)


def test_rows_land_in_scenario_and_day_partitions(workspace: Workspace) -> None:
    _seed(workspace)
    result = export_predictions(workspace, now=LATER)
    assert result["rows"] == 4
    folders = sorted(str(p.parent.relative_to(workspace.lake_dir)) for p in _parts(workspace))
    assert folders == ["predictions/scenario=fraud/date=2026-03-01",
                       "predictions/scenario=fraud/date=2026-03-02",
                       "predictions/scenario=shortfall/date=2026-03-01"]
    assert sorted(result["files"]) == sorted(
        str(p.relative_to(workspace.lake_dir)) for p in _parts(workspace))
    assert all(p.name.startswith("part-") for p in _parts(workspace))
    day1 = pq.read_table(next(p for p in _parts(workspace) if "fraud/date=2026-03-01" in str(p)))
    assert day1.num_rows == 2
    assert "scenario" not in day1.column_names  # it lives in the path


def test_duckdb_read_equals_the_database_rows(workspace: Workspace) -> None:
    records = _seed(workspace)
    export_predictions(workspace, now=LATER)
    frame = read_predictions(workspace)
    expected = sorted(records, key=lambda r: (r.created_at, r.id))
    assert list(frame["id"]) == [r.id for r in expected]
    assert list(frame["scenario"]) == [r.scenario for r in expected]
    assert [ts.to_pydatetime() for ts in frame["created_at"]] == [r.created_at for r in expected]
    assert list(frame["date"].astype(str)) == [r.created_at.date().isoformat() for r in expected]
    assert [json.loads(x) for x in frame["inputs"]] == [r.inputs for r in expected]
    assert [list(x) for x in frame["reasons"]] == [r.reasons for r in expected]
    assert list(frame["tenant_id"]) == [r.tenant_id for r in expected]
    assert list(frame["score"]) == [r.score for r in expected]
    heuristic = frame[frame["method"] == "heuristic"].iloc[0]
    assert pd.isna(heuristic["model_version"]) and pd.isna(heuristic["threshold"])
    assert list(frame["model_version"].dropna()) == [2, 2, 2]


def test_exporting_twice_adds_no_duplicates(workspace: Workspace) -> None:
    first = _seed(workspace)
    export_predictions(workspace, now=LATER)
    again = export_predictions(workspace, now=LATER)
    assert (again["rows"], again["files"]) == (0, [])
    newer = [_record("fraud", LATER - timedelta(hours=1)), _record("fraud", DAY1)]
    write_predictions(workspace.database_url, newer)
    # A row committed long after its created_at sorts below the watermark: it is not
    # exported (the export lag exists so that this does not happen in practice).
    third = export_predictions(workspace, now=LATER + timedelta(hours=1))
    assert third["rows"] == 1
    ids = list(read_predictions(workspace)["id"])
    assert len(ids) == len(set(ids)) == 5
    assert set(ids) == {r.id for r in first} | {newer[0].id}


def test_rows_younger_than_the_lag_wait_for_the_next_export(workspace: Workspace) -> None:
    now = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    old, young = _record("fraud", now - timedelta(minutes=5)), _record("fraud", now)
    write_predictions(workspace.database_url, [old, young])
    assert export_predictions(workspace, now=now)["rows"] == 1
    watermark = json.loads((predictions_dir(workspace) / "_watermark.json").read_text())
    assert watermark["id"] == old.id
    assert export_predictions(workspace, now=now + timedelta(minutes=3))["rows"] == 1
    assert sorted(read_predictions(workspace)["id"]) == sorted([old.id, young.id])


def test_an_export_that_crashed_before_its_watermark_rewrites_the_same_files(
    workspace: Workspace,
) -> None:
    _seed(workspace)
    export_predictions(workspace, now=LATER)
    before = _parts(workspace)
    (predictions_dir(workspace) / "_watermark.json").unlink()  # as if killed before saving it
    (before[0].parent / ".part-leftover.tmp").write_bytes(b"half a file")
    (predictions_dir(workspace) / "._watermark.json.0123456789abcdef.tmp").write_text("{")
    assert export_predictions(workspace, now=LATER)["rows"] == 4
    assert _parts(workspace) == before
    assert len(read_predictions(workspace)) == 4
    assert not list(predictions_dir(workspace).rglob("*.tmp"))


def test_outcome_and_override_are_exported(workspace: Workspace) -> None:
    records = _seed(workspace)
    url = workspace.database_url
    for label, recorded_at in (("legit", LATER - timedelta(hours=2)),
                               ("fraud", LATER - timedelta(hours=1))):
        assert add_outcomes(url, [{"prediction_id": records[0].id, "label": label,
                                   "observed_at": DAY2, "recorded_at": recorded_at,
                                   "actor": "r"}]) == []
    for record, override in ((records[1], True), (records[3], False)):
        assert add_feedback(url, prediction_id=record.id, created_at=DAY2, actor="r",
                            label=None, override=override, severity=None,
                            comment=None) is not None
    export_predictions(workspace, now=LATER)
    frame = read_predictions(workspace).set_index("id")
    assert frame.loc[records[0].id, "outcome"] == "fraud"
    assert pd.isna(frame.loc[records[1].id, "outcome"])
    assert [bool(frame.loc[r.id, "override"]) for r in records] == [False, True, False, False]


def test_read_filters_by_scenario_and_time(workspace: Workspace) -> None:
    records = _seed(workspace)
    export_predictions(workspace, now=LATER)
    fraud = read_predictions(workspace, scenario="fraud")
    assert sorted(fraud["id"]) == sorted(r.id for r in records if r.scenario == "fraud")
    day1 = read_predictions(workspace, start=date(2026, 3, 1), end=date(2026, 3, 2))
    assert sorted(day1["id"]) == sorted(r.id for r in records if r.created_at.day == 1)
    narrow = read_predictions(workspace, start=DAY1 + timedelta(minutes=1),
                              end=datetime(2026, 3, 3))
    assert list(narrow["id"]) == [records[3].id, records[2].id]
    assert read_predictions(workspace, scenario="incident").empty


def test_export_job_reports_counts(workspace: Workspace) -> None:
    _seed(workspace)
    result = export_job(workspace, {})
    assert (result["rows"], result["files"]) == (4, 3)
    assert export_job(workspace, {"lag_seconds": 0})["rows"] == 0
    with pytest.raises(InputError, match="lag_seconds must be a non-negative number"):
        export_job(workspace, {"lag_seconds": "soon"})


def test_a_full_disk_fails_the_export_and_keeps_nothing_half_done(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch,
) -> None:
    records = _seed(workspace)
    real_write = pq.write_table
    calls = []

    def write_until_full(table: object, where: object, **kwargs: object) -> None:
        calls.append(where)
        if len(calls) > 1:  # the first part file fits, the second does not
            raise OSError(28, "Error writing bytes to file. Detail: [errno 28] No space "
                              "left on device")
        real_write(table, where, **kwargs)

    monkeypatch.setattr(pq, "write_table", write_until_full)
    with pytest.raises(CheckFailed) as failed:
        export_predictions(workspace, now=LATER)
    assert str(failed.value) == (
        f"cannot write the Parquet lake at {predictions_dir(workspace)}: no space left on "
        "device. Nothing was exported: the watermark did not move, the 1 part file(s) this "
        "run had written were removed and the rows stay in the database. Free space there "
        "(or fix the folder), then run riskops jobs run lake-export again.")
    assert [p for p in predictions_dir(workspace).rglob("*") if p.is_file()] == [
        predictions_dir(workspace) / ".export.lock"]

    monkeypatch.setattr(pq, "write_table", real_write)
    assert export_predictions(workspace, now=LATER)["rows"] == len(records)
    assert sorted(read_predictions(workspace)["id"]) == sorted(r.id for r in records)


def test_a_damaged_watermark_is_reported(workspace: Workspace) -> None:
    predictions_dir(workspace).mkdir(parents=True, exist_ok=True)
    (predictions_dir(workspace) / "_watermark.json").write_text("{}")
    with pytest.raises(InputError, match=r"_watermark\.json is not a valid lake watermark"):
        export_predictions(workspace, now=LATER)


@pytest.mark.postgres
def test_export_from_postgresql(pg_workspace: Workspace) -> None:
    records = _seed(pg_workspace)
    assert export_predictions(pg_workspace, now=LATER)["rows"] == 4
    assert export_predictions(pg_workspace, now=LATER)["rows"] == 0
    frame = read_predictions(pg_workspace)
    assert sorted(frame["id"]) == sorted(r.id for r in records)
    assert [ts.to_pydatetime() for ts in frame["created_at"]] == \
        sorted(r.created_at for r in records)
