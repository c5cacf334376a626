"""The grafana sink against a stub Grafana: what is posted, retried, refused and skipped."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from events_helpers import Clock, configure_events, log_lines
from sqlalchemy import select

from conftest import admin_token, make_model_dir
from riskops.config import Workspace, open_workspace
from riskops.errors import DeliveryFailed, InputError
from riskops.events import emit_now
from riskops.events.dispatcher import Dispatcher
from riskops.events.grafana import GrafanaSink, annotation, epoch_ms
from riskops.events.settings import EventSettings, GrafanaSettings, load_settings
from riskops.events.sink_factory import build_sinks
from riskops.storage import db
from riskops.storage.tables import EventDeliveryRow, OutboxEventRow

TOKEN = "glsa_s3cretT0ken_0123456789abcdef"


class GrafanaStub:
    """A real HTTP server on 127.0.0.1 standing in for Grafana: answers scripted
    (status, body, headers), records method, path, headers and JSON body of each call."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, str, dict[str, str]]] = []
        self.calls: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stub.calls.append({"method": self.command, "path": self.path,
                                   "headers": dict(self.headers),
                                   "body": json.loads(raw) if raw else None})
                status, text, headers = (stub.replies.pop(0) if stub.replies else
                                         (200, '{"id":1,"message":"Annotation added"}', {}))
                payload = text.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_GET = do_PUT = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list[dict[str, Any]]:
        return [c["body"] for c in self.calls]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def grafana() -> Iterator[GrafanaStub]:
    stub = GrafanaStub()
    try:
        yield stub
    finally:
        stub.close()


def configure_grafana(ws: Workspace, text: str) -> Workspace:
    """Append a ``[grafana]`` table (TOML body ``text``) to the config; reopen the workspace."""
    with ws.config_path.open("a", encoding="utf-8") as f:
        f.write("\n[grafana]\n" + text.strip() + "\n")
    return open_workspace(ws.home)


@pytest.fixture
def annotated(workspace: Workspace, grafana: GrafanaStub,
              monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """The workspace with ``[grafana]`` pointing at the stub and the token in the env."""
    monkeypatch.setenv("RISKOPS_GRAFANA_TOKEN", TOKEN)
    return configure_grafana(workspace, f'url = "{grafana.url}/"\n'
                                        'dashboard_uid = "riskops-overview"\n'
                                        "timeout_seconds = 2")


def _deliveries(ws: Workspace) -> list[tuple[str, str, str, int, str | None]]:
    """(event type, sink, status, attempts, last error) of every delivery."""
    with db.read_session(ws.database_url) as s:
        rows = s.execute(select(OutboxEventRow.type, EventDeliveryRow.sink,
                                EventDeliveryRow.status, EventDeliveryRow.attempts,
                                EventDeliveryRow.last_error)
                         .join(OutboxEventRow, OutboxEventRow.seq == EventDeliveryRow.event_seq)
                         .order_by(EventDeliveryRow.id)).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _drift(ws: Workspace) -> str:
    return emit_now(ws, type="ml.model.drift.detected", subject="fraud", source="monitoring",
                    data={"modelId": "fraud", "tenantId": "acme", "scenario": "fraud",
                          "check": "feature", "feature": "amount", "metric": "psi",
                          "value": 0.3127, "threshold": 0.2, "delta": 0.1127,
                          "consecutive": 3})


# --- settings ----------------------------------------------------------------------------


def test_url_and_token_make_grafana_a_default_sink(annotated: Workspace,
                                                   grafana: GrafanaStub) -> None:
    settings = load_settings(annotated)
    assert settings.sinks == ("log", "grafana")
    assert settings.grafana == GrafanaSettings(url=grafana.url, token=TOKEN,
                                               dashboard_uid="riskops-overview",
                                               timeout_seconds=2.0)
    assert TOKEN not in repr(settings)


def test_without_grafana_section_nothing_changes(workspace: Workspace) -> None:
    settings = load_settings(workspace)
    assert settings.sinks == ("log",) and settings.grafana is None


def test_token_env_names_another_variable(workspace: Workspace,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_GRAFANA", TOKEN)
    ws = configure_grafana(workspace, 'url = "https://grafana.example.com/sub"\n'
                                      'token_env = "OPS_GRAFANA"')
    grafana = load_settings(ws).grafana
    assert grafana is not None
    assert (grafana.url, grafana.token, grafana.token_env, grafana.dashboard_uid) == (
        "https://grafana.example.com/sub", TOKEN, "OPS_GRAFANA", None)


def test_an_explicit_sink_list_may_name_grafana(annotated: Workspace) -> None:
    ws = configure_events(annotated, 'sinks = ["grafana"]')
    assert load_settings(ws).sinks == ("grafana",)


GRAFANA_FAULTS = [
    ('url = "ftp://grafana.example.com"', "url 'ftp://grafana.example.com' must start with "
                                          "http:// or https://"),
    ('url = "grafana.example.com"', "must start with http:// or https://"),
    ('url = "https://"', "url 'https://' has no host"),
    ('url = "https://grafana.example.com:99999"', "has an invalid port"),
    ('url = "https://grafana.example.com/?orgId=1"', r"must not have a query \(\?\)"),
    ('url = "https://admin:hunter2@grafana.example.com"',
     r"url must not hold credentials \(user:password@host\); remove them and export the token"),
    ("url = 5", "url must be a non-empty string, got 5"),
    ('url = ""', "url must be a non-empty string"),
    ('url = "https://g.example.com"\ntimeout_seconds = "5s"',
     "timeout_seconds must be a number >= 0.1, got '5s'"),
    ('url = "https://g.example.com"\ntimeout_seconds = 0', "timeout_seconds must be a number"),
    ('url = "https://g.example.com"\ntimeout_seconds = true', "timeout_seconds must be a number"),
    ('url = "https://g.example.com"\ndashboard_uid = 7', "dashboard_uid must be a non-empty "
                                                         "string, got 7"),
    ('url = "https://g.example.com"\ndashboard_uid = "a b/c"',
     "dashboard_uid 'a b/c' is not a Grafana dashboard UID"),
    ('url = "https://g.example.com"\ntoken_env = "1-TOKEN"',
     "token_env must name an environment variable"),
    ('url = "https://g.example.com"\ncolour = "blue"',
     "unknown key 'colour'; known keys are url, token_env, dashboard_uid, timeout_seconds"),
    ('url = "https://g.example.com"\ntoken = "glsa_in_the_file"',
     "token is not read from the config file, so the token never sits in it; remove it and "
     "export RISKOPS_GRAFANA_TOKEN"),
    ('dashboard_uid = "abc"', r"sets dashboard_uid but no url; add url = "),
]


@pytest.mark.parametrize(("body", "message"), GRAFANA_FAULTS)
def test_invalid_grafana_config_names_file_key_and_fix(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, body: str, message: str,
) -> None:
    monkeypatch.setenv("RISKOPS_GRAFANA_TOKEN", TOKEN)
    ws = configure_grafana(workspace, body)
    with pytest.raises(InputError, match=message) as info:
        load_settings(ws)
    text = str(info.value)
    assert f"{workspace.config_path}: [grafana]" in text
    assert "hunter2" not in text and "glsa_in_the_file" not in text and TOKEN not in text


def test_url_without_a_token_names_the_variable_when_delivering(workspace: Workspace) -> None:
    from riskops.events.sink_factory import build_sinks

    ws = configure_grafana(workspace, 'url = "https://grafana.example.com"')
    settings = load_settings(ws)  # storing events needs no token
    with pytest.raises(InputError, match=r"\[grafana\] url is set but no token was found: "
                                         "environment variable RISKOPS_GRAFANA_TOKEN is unset "
                                         "or empty; export RISKOPS_GRAFANA_TOKEN="):
        build_sinks(settings)


def test_a_token_that_cannot_be_a_header_is_refused_without_quoting_it(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RISKOPS_GRAFANA_TOKEN", "glsa_two words")
    ws = configure_grafana(workspace, 'url = "https://grafana.example.com"')
    with pytest.raises(InputError, match="cannot go in an HTTP header") as info:
        load_settings(ws)
    assert "two words" not in str(info.value)


@pytest.mark.parametrize(("events", "message"), [
    ('sinks = ["log", "grafana"]', r"lists the grafana sink but \[grafana\] url is not set"),
])
def test_grafana_listed_without_url_is_refused(workspace: Workspace, events: str,
                                               message: str) -> None:
    ws = configure_events(workspace, events)
    with pytest.raises(InputError, match=message):
        load_settings(ws)


def test_an_explicit_sink_list_leaving_grafana_out_is_refused(annotated: Workspace) -> None:
    ws = configure_events(annotated, 'sinks = ["log"]')
    with pytest.raises(InputError, match=r'sinks does not list "grafana" but \[grafana\] url '
                                         r'is set, so no annotation would be posted; add'):
        load_settings(ws)


def test_build_sinks_refuses_grafana_without_its_settings(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"lists the grafana sink but \[grafana\] url is not"):
        build_sinks(EventSettings(sinks=("grafana",), log_path=tmp_path / "e.jsonl"))


@pytest.mark.parametrize("body", [
    'url = "ftp://grafana.example.com"',
    'url = "https://admin:hunter2@grafana.example.com"',
    'url = "https://grafana.example.com"\nsecret = 1',
    'url = "https://grafana.example.com"',  # no token in the environment
])
def test_a_bad_grafana_config_exits_2_on_the_command_line(
    workspace: Workspace, cli, body: str,  # type: ignore[no-untyped-def]
) -> None:
    configure_grafana(workspace, body)
    result = cli("events", "dispatch")
    assert result.code == 2, result.out + result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    assert "[grafana]" in lines[0] and "hunter2" not in lines[0]


def test_a_promotion_without_the_token_goes_ahead_and_its_annotation_waits(
    workspace: Workspace, tmp_path: Path, cli,  # type: ignore[no-untyped-def]
) -> None:
    """A shell without the Grafana token promotes (governance never waits on a dashboard);
    the dispatcher without it refuses with one line naming the variable, and the
    annotation stays pending in the outbox."""
    assert cli("models", "register", "fraud", "--from", make_model_dir(tmp_path / "m")).code == 0
    ws = configure_grafana(workspace, 'url = "https://grafana.example.com"')
    result = cli("promote", "fraud", "1", "--break-glass", "set-up", token=admin_token())
    assert result.code == 0, result.err
    assert cli("models", "show", "fraud", "--json").json()["stages"]["production"] == 1
    waiting = [d for d in _deliveries(ws) if d[1] == "grafana"]
    assert waiting and all(d[2] == "pending" for d in waiting), waiting
    dispatched = cli("events", "dispatch", token=admin_token())
    assert dispatched.code == 2
    assert "RISKOPS_GRAFANA_TOKEN is unset or empty" in dispatched.err
    assert [d for d in _deliveries(ws) if d[1] == "grafana"] == waiting


# --- delivery ----------------------------------------------------------------------------


def test_promote_and_rollback_on_the_command_line_post_annotations(
    annotated: Workspace, grafana: GrafanaStub, tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    admin = admin_token()
    for seed in (1, 2):
        assert cli("models", "register", "fraud", "--from",
                   make_model_dir(tmp_path / f"m{seed}", seed=seed)).code == 0
    for version in ("1", "2"):
        assert cli("promote", "fraud", version, "--break-glass", "test set-up",
                   token=admin).code == 0
    assert cli("rollback", "fraud", token=admin).code == 0
    assert grafana.calls == []  # stored first, delivered by the dispatcher
    dispatched = cli("events", "dispatch", "--json")
    assert dispatched.code == 0, dispatched.err
    # 3 annotations + 5 log lines (the break-glass events are not annotated)
    assert dispatched.json() == {"delivered": 8, "retried": 0, "failed": 0}

    logged = {(e["type"], e["data"].get("version")): e for e in log_lines(annotated)}
    wanted = [logged[("ml.model.promoted", 1)], logged[("ml.model.promoted", 2)],
              logged[("ml.model.rolled_back", None)]]
    assert [(c["method"], c["path"]) for c in grafana.calls] == [("POST",
                                                                  "/api/annotations")] * 3
    for call in grafana.calls:
        assert call["headers"]["Authorization"] == f"Bearer {TOKEN}"
        assert call["headers"]["Content-Type"] == "application/json"
    actor = wanted[0]["data"]["actor"]
    assert grafana.bodies() == [
        {"time": epoch_ms(wanted[0]["time"]), "dashboardUID": "riskops-overview",
         "tags": ["riskops", "ml.model.promoted", "model:fraud"],
         "text": f"fraud v1 promoted to production (was the heuristic) by {actor}"},
        {"time": epoch_ms(wanted[1]["time"]), "dashboardUID": "riskops-overview",
         "tags": ["riskops", "ml.model.promoted", "model:fraud"],
         "text": f"fraud v2 promoted to production (was v1) by {actor}"},
        {"time": epoch_ms(wanted[2]["time"]), "dashboardUID": "riskops-overview",
         "tags": ["riskops", "ml.model.rolled_back", "model:fraud"],
         "text": f"fraud rolled back from v2 to v1 by {actor}"},
    ]
    # the time is the event's, to the millisecond
    assert grafana.bodies()[0]["time"] // 1000 == int(
        datetime.fromisoformat(wanted[0]["time"]).timestamp())
    sinks = {(t, sink) for t, sink, *_ in _deliveries(annotated)}
    assert ("ml.model.break_glass", "grafana") not in sinks
    assert ("ml.model.rolled_back", "grafana") in sinks


def test_an_alert_is_annotated_with_model_tenant_and_numbers(
    annotated: Workspace, grafana: GrafanaStub,
) -> None:
    _drift(annotated)
    emit_now(annotated, type="ml.slo.burn_rate.alert", subject="fraud", source="slo",
             data={"scenario": "fraud", "objective": "availability", "alert": "fast",
                   "burnRate": 15.23456, "threshold": 14.4})
    assert Dispatcher(annotated).run_once().as_dict() == {"delivered": 4, "retried": 0,
                                                          "failed": 0}
    drift, burn = grafana.bodies()
    assert drift["tags"] == ["riskops", "ml.model.drift.detected", "model:fraud",
                             "tenant:acme", "scenario:fraud"]
    assert drift["text"] == ("drift on fraud (tenantId acme, feature amount): "
                             "psi = 0.3127 (threshold 0.2)")
    assert burn["tags"] == ["riskops", "ml.slo.burn_rate.alert", "scenario:fraud"]
    assert burn["text"] == ("fraud availability error budget burning at 15.23x "
                            "(fast alert, threshold 14.4x)")


def test_without_dashboard_uid_the_annotation_is_organisation_wide(
    workspace: Workspace, grafana: GrafanaStub, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RISKOPS_GRAFANA_TOKEN", TOKEN)
    ws = configure_grafana(workspace, f'url = "{grafana.url}"')
    _drift(ws)
    assert Dispatcher(ws).run_once().delivered == 2
    (body,) = grafana.bodies()
    assert "dashboardUID" not in body and "dashboardId" not in body


@pytest.mark.parametrize("type_", ["ml.model.performance.degraded", "model_integrity_failed",
                                   "model_bias_alert", "ml.model.rollback.recommended"])
def test_each_other_annotated_type_gets_a_line(
    annotated: Workspace, grafana: GrafanaStub, type_: str,
) -> None:
    data = {"ml.model.performance.degraded": {"modelId": "fraud", "metric": "brier",
                                              "value": 0.25, "threshold": 0.2},
            "model_integrity_failed": {"modelId": "fraud", "problem": "sha256 mismatch"},
            "model_bias_alert": {"modelId": "fraud", "version": 3, "status": "fail",
                                 "reasons": ["age_band: eod 0.3 > 0.1"]},
            "ml.model.rollback.recommended": {"modelId": "fraud", "version": 3,
                                              "rule": "error_budget", "wouldRollBackTo": 2},
            }[type_]
    emit_now(annotated, type=type_, subject="fraud", data=data)
    Dispatcher(annotated).run_once()
    (body,) = grafana.bodies()
    assert body["tags"] == ["riskops", type_, "model:fraud"]
    assert body["text"] == {
        "ml.model.performance.degraded": "fraud performance degraded: brier = 0.25 "
                                         "(threshold 0.2)",
        "model_integrity_failed": "fraud integrity check failed: sha256 mismatch; serving "
                                  "falls back to the heuristic",
        "model_bias_alert": "fraud v3 failed its bias audit: age_band: eod 0.3 > 0.1",
        "ml.model.rollback.recommended": "rollback of fraud v3 recommended by rule "
                                         "error_budget (alert-only: nothing moved; would roll "
                                         "back to v2)",
    }[type_]


def test_unannotated_types_get_no_grafana_delivery_and_no_call(
    annotated: Workspace, grafana: GrafanaStub,
) -> None:
    emit_now(annotated, type="ml.retrain.triggered", subject="fraud", data={"modelId": "fraud"})
    emit_now(annotated, type="workflow.job.trigger", subject="monitoring",
             data={"job": "monitoring", "metadata": {}})
    emit_now(annotated, type="ml.model.drift.resolved", subject="fraud",
             data={"modelId": "fraud", "metric": "psi", "value": 0.01, "threshold": 0.2})
    assert {sink for _, sink, *_ in _deliveries(annotated)} == {"log"}
    assert Dispatcher(annotated).run_once().delivered == 3
    assert grafana.calls == []


def test_the_sink_takes_an_unannotated_envelope_without_a_call(grafana: GrafanaStub) -> None:
    sink = GrafanaSink(GrafanaSettings(url=grafana.url, token=TOKEN))
    sink.send({"type": "workflow.job.failed", "subject": "x", "time": "2026-01-01T00:00:00Z",
               "data": {}}, "{}")
    sink.close()
    assert grafana.calls == []


def test_a_500_is_retried_and_the_annotation_posted_once(
    annotated: Workspace, grafana: GrafanaStub,
) -> None:
    grafana.replies = [(500, '{"message":"database is locked"}', {})]
    _drift(annotated)
    clock = Clock()
    dispatcher = Dispatcher(annotated, clock=clock)
    assert dispatcher.run_once().as_dict() == {"delivered": 1, "retried": 1, "failed": 0}
    (grafana_row,) = [d for d in _deliveries(annotated) if d[1] == "grafana"]
    assert grafana_row[2:4] == ("pending", 1)
    assert "HTTP 500" in grafana_row[4] and "database is locked" in grafana_row[4]
    clock.advance(3600)
    assert dispatcher.run_once().as_dict() == {"delivered": 1, "retried": 0, "failed": 0}
    clock.advance(3600)
    assert dispatcher.run_once().attempted == 0
    dispatcher.close()
    assert len(grafana.calls) == 2 and grafana.bodies()[0] == grafana.bodies()[1]
    (grafana_row,) = [d for d in _deliveries(annotated) if d[1] == "grafana"]
    assert grafana_row[2:] == ("delivered", 2, None)


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_is_dead_lettered_with_a_clear_message_and_no_token(
    annotated: Workspace, grafana: GrafanaStub, status: int, caplog: pytest.LogCaptureFixture,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    grafana.replies = [(status, json.dumps({"message": f"invalid API key {TOKEN}"}), {})]
    _drift(annotated)
    with caplog.at_level(logging.WARNING):
        assert Dispatcher(annotated).run_once().as_dict() == {"delivered": 1, "retried": 0,
                                                              "failed": 1}
    (failed,) = cli("events", "list", "--status", "failed", "--json").json()
    error = failed["last_error"]
    assert failed["sink"] == "grafana"
    assert error.startswith(f"POST {grafana.url}/api/annotations: HTTP {status}: Grafana ")
    assert "check [grafana] token: export RISKOPS_GRAFANA_TOKEN=" in error
    assert "riskops events retry --all-failed" in error
    assert TOKEN not in error and TOKEN not in caplog.text
    assert len(grafana.calls) == 1


def test_a_redirect_is_not_followed(annotated: Workspace, grafana: GrafanaStub) -> None:
    grafana.replies = [(302, "", {"Location": "https://elsewhere.example.com/api/annotations"})]
    _drift(annotated)
    assert Dispatcher(annotated).run_once().retried == 1
    assert len(grafana.calls) == 1
    (row,) = [d for d in _deliveries(annotated) if d[1] == "grafana"]
    assert "redirected to 'https://elsewhere.example.com/api/annotations'" in row[4]
    assert "set [grafana] url" in row[4]


def test_a_bad_payload_is_dead_lettered_at_once(annotated: Workspace,
                                                grafana: GrafanaStub) -> None:
    grafana.replies = [(400, '{"message":"bad request data"}', {})]
    _drift(annotated)
    assert Dispatcher(annotated).run_once().failed == 1


def test_grafana_down_never_blocks_a_promotion(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("RISKOPS_GRAFANA_TOKEN", TOKEN)
    configure_grafana(workspace, 'url = "http://127.0.0.1:9"\ntimeout_seconds = 1')
    assert cli("models", "register", "fraud", "--from", make_model_dir(tmp_path / "m")).code == 0
    assert cli("promote", "fraud", "1", "--break-glass", "set-up", token=admin_token()).code == 0
    result = cli("events", "dispatch", "--json")
    assert result.code == 0 and result.json()["retried"] == 1
    (pending,) = cli("events", "list", "--status", "pending", "--json").json()
    assert pending["type"] == "ml.model.promoted" and pending["sink"] == "grafana"
    assert pending["last_error"].startswith("POST http://127.0.0.1:9/api/annotations: Connect")
    assert TOKEN not in result.out + result.err + pending["last_error"]


def test_connection_errors_are_retried(tmp_path: Path) -> None:
    sink = GrafanaSink(GrafanaSettings(url="http://127.0.0.1:9", token=TOKEN,
                                       timeout_seconds=1.0))
    envelope = {"type": "model_bias_alert", "subject": "fraud",
                "time": "2026-01-01T00:00:00Z", "data": {"modelId": "fraud"}}
    with pytest.raises(DeliveryFailed, match=r"POST http://127\.0\.0\.1:9/api/annotations"):
        sink.send(envelope, "{}")


def test_annotation_body_from_an_envelope() -> None:
    body = annotation({"type": "ml.model.rolled_back", "subject": "fraud",
                       "time": "2026-11-23T14:12:24.920999Z",
                       "data": {"modelId": "fraud", "fromVersion": 3, "toVersion": None,
                                "actor": "auto-rollback", "automatic": True,
                                "rule": "critical_labels"}},
                      dashboard_uid="abc")
    assert body == {"time": 1795443144920, "dashboardUID": "abc",
                    "tags": ["riskops", "ml.model.rolled_back", "model:fraud"],
                    "text": "fraud rolled back from v3 to the heuristic (automatic: "
                            "critical_labels) by auto-rollback"}
