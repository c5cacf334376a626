from events_helpers import configure_events, log_lines

from conftest import admin_token
from riskops.config import Workspace
from riskops.events import emit_now


def _one_line_error(result, text: str) -> None:  # type: ignore[no-untyped-def]
    assert result.code == 2, (result.out, result.err)
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    assert text in result.err


def test_list_show_and_dispatch(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    first = emit_now(workspace, type="model_bias_alert", subject="fraud", data={"n": 1})
    second = emit_now(workspace, type="ml.retrain.triggered", subject="fraud", data={"n": 2})
    listed = cli("events", "list", "--json")
    assert listed.code == 0
    assert [(r["id"], r["status"], r["sink"]) for r in listed.json()] == [
        (second, "pending", "log"), (first, "pending", "log")]
    assert [r["id"] for r in cli("events", "list", "--type", "model_bias_alert",
                                 "--json").json()] == [first]
    assert len(cli("events", "list", "--limit", "1", "--json").json()) == 1
    table = cli("events", "list")
    assert table.code == 0 and "ml.retrain.triggered" in table.out

    dispatched = cli("events", "dispatch", "--json")
    assert dispatched.code == 0, dispatched.err
    assert dispatched.json() == {"delivered": 2, "retried": 0, "failed": 0}
    assert [line["id"] for line in log_lines(workspace)] == [first, second]
    assert cli("events", "dispatch").out.strip() == "delivered 0, retrying 0, dead-lettered 0."

    shown = cli("events", "show", first, "--json")
    assert shown.code == 0
    info = shown.json()
    assert info["envelope"]["id"] == first and info["envelope"]["specversion"] == "1.0"
    assert [(d["sink"], d["status"], d["attempts"]) for d in info["deliveries"]] == [
        ("log", "delivered", 1)]
    human = cli("events", "show", first[:8])
    assert human.code == 0 and first in human.out and "delivered" in human.out


def test_bad_status_is_a_one_line_usage_error(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    _one_line_error(cli("events", "list", "--status", "lost"),
                    "--status 'lost' is not one of pending, delivered, failed.")


def test_bad_type_names_the_known_types(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    _one_line_error(cli("events", "list", "--type", "model.promoted"),
                    "unknown event type 'model.promoted'; known types are")


def test_unknown_id_is_a_one_line_input_error(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    _one_line_error(cli("events", "show", "no-such-event"),
                    "no event with id 'no-such-event'; list ids with riskops events list.")
    _one_line_error(cli("events", "retry", "no-such-event"), "no event with id")


def test_retry_needs_exactly_one_target(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    _one_line_error(cli("events", "retry"), "give exactly one of an event ID or --all-failed")
    event_id = emit_now(workspace, type="model_bias_alert", subject="fraud", data={})
    _one_line_error(cli("events", "retry", event_id, "--all-failed"), "exactly one")
    _one_line_error(cli("events", "retry", event_id), "has no failed delivery to retry "
                                                      "(deliveries: pending)")


def test_retry_all_failed(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    ws = configure_events(workspace, 'sinks = ["webhook"]\nwebhook_url = "http://127.0.0.1:9/"\n'
                                     "max_attempts = 1")
    ids = [emit_now(ws, type="model_bias_alert", subject=s, data={}) for s in ("a", "b")]
    assert cli("events", "dispatch", "--json").json()["failed"] == 2
    assert {r["id"] for r in cli("events", "list", "--status", "failed", "--json").json()} == \
        set(ids)
    retried = cli("events", "retry", "--all-failed", "--json")
    assert retried.code == 0
    assert {r["id"] for r in retried.json()} == set(ids)
    assert cli("events", "list", "--status", "failed", "--json").json() == []
    assert len(cli("events", "list", "--status", "pending", "--json").json()) == 2
    assert "nothing to retry" in cli("events", "retry", "--all-failed").out


def test_promote_on_the_command_line_lands_in_the_log(
    workspace: Workspace, cli, model_dir  # type: ignore[no-untyped-def]
) -> None:
    assert cli("models", "register", "fraud", "--from", model_dir).code == 0
    assert cli("promote", "fraud", "1", "--break-glass", "test set-up",
               token=admin_token()).code == 0
    assert cli("events", "dispatch").code == 0
    lines = {line["type"]: line for line in log_lines(workspace)}
    assert set(lines) == {"ml.model.promoted", "ml.model.break_glass"}
    line = lines["ml.model.promoted"]
    assert line["data"]["modelId"] == "fraud" and line["data"]["version"] == 1
