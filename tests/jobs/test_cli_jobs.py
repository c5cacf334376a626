"""`riskops jobs ...`, `riskops scheduler --once` and `riskops worker` on embedded defaults."""

from __future__ import annotations

import json

from jobs_helpers import calls_for, scheduled_ws

from riskops.config import Workspace


def test_jobs_list_json(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("jobs", "list", "--json")
    assert result.code == 0, result.err
    rows = {r["job"]: r for r in result.json()}
    assert rows["model-monitoring"]["schedule"] == "0 6 * * 0"
    assert rows["model-monitoring"]["next_run"] is not None
    assert rows["integrity-check"]["last_run"] is None


def test_jobs_run_records_and_prints(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    ws = scheduled_ws(workspace)
    result = cli("jobs", "run", "record", "--metadata", '{"tenant": "acme"}', "--json")
    assert result.code == 0, result.err
    assert result.json()["result"] == {"echo": {"tenant": "acme"}}
    assert [c["metadata"] for c in calls_for(ws)] == [{"tenant": "acme"}]
    history = cli("jobs", "history", "--json").json()
    assert [(h["job"], h["trigger"], h["status"]) for h in history] == [
        ("record", "manual", "succeeded")]


def test_integrity_check_job_runs_in_process(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("jobs", "run", "integrity-check")
    assert result.code == 0, result.err
    assert result.out.startswith("integrity-check: succeeded")


def test_failing_job_exits_1_with_the_error(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    scheduled_ws(workspace)
    result = cli("jobs", "run", "fail")
    assert result.code == 1
    assert result.err.startswith("error: fail failed (run 1): RuntimeError: disk full")


def test_trigger_without_a_broker_runs_in_process(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    ws = scheduled_ws(workspace)
    result = cli("jobs", "trigger", "record")
    assert result.code == 0, result.err
    assert result.out.startswith("no broker configured: ran record in this process; succeeded")
    assert len(calls_for(ws)) == 1


def test_bad_metadata_and_unknown_job_exit_2_in_one_line(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    cases = [
        (("jobs", "run", "integrity-check", "--metadata", "{tenant: 1}"),
         "error: --metadata is not valid JSON: Expecting property name"),
        (("jobs", "trigger", "integrity-check", "--metadata", "[1]"),
         "error: --metadata must be a JSON object, not an array"),
        (("jobs", "run", "integrity-check", "--metadata",
          json.dumps({"x": "a" * 70_000})), "error: --metadata is larger than 65536 bytes"),
        (("jobs", "run", "integrity-check", "--metadata", '{"x": NaN}'),
         "error: --metadata is not valid JSON: NaN is not a JSON number"),
        (("jobs", "run", "nope"), "error: unknown job 'nope'; known jobs are events-dispatch"),
    ]
    for args, message in cases:
        result = cli(*args)
        assert result.code == 2, (args, result)
        assert result.err.startswith(message), result.err
        assert result.err.count("\n") == 1


def test_scheduler_once_runs_what_is_due_then_nothing(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    ws = scheduled_ws(workspace, record="0 0 1 1 *")
    first = cli("scheduler", "--once", "--json")
    assert first.code == 0, first.err
    assert [(r["job"], r["action"]) for r in first.json()] == [("record", "ran")]
    second = cli("scheduler", "--once")
    assert second.code == 0 and "nothing due." in second.out
    assert len(calls_for(ws)) == 1


def test_worker_without_a_broker_says_what_to_do(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("worker")
    assert result.code == 2
    assert result.err.startswith("error: the worker needs a broker: set RISKOPS_AMQP_URL")
