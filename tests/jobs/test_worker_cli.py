"""``riskops worker`` as a user runs it: one start line, one stop line, then exit."""

from __future__ import annotations

from jobs_helpers import broker_ws, calls_for, scheduled_ws  # noqa: F401

from riskops.config import Workspace


def test_worker_announces_itself_once(broker_ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    ws = scheduled_ws(broker_ws)
    assert cli("jobs", "trigger", "record", "--metadata", '{"n": 1}').code == 0
    result = cli("worker", "--max-messages", "1")
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    assert [line for line in lines if "consuming" in line] == [
        f"info: worker consuming {ws.settings.sections['worker']['queue']} (exchange "
        f"{ws.settings.sections['worker']['exchange']}, key workflow.job.trigger)"]
    assert lines[-1].startswith("worker stopped: received 1")
    assert [c["metadata"] for c in calls_for(ws)] == [{"n": 1}]
