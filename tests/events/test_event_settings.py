from pathlib import Path

import pytest
from events_helpers import configure_events

from riskops.config import Workspace
from riskops.errors import InputError
from riskops.events.settings import load_settings


def test_defaults_are_the_log_sink_in_the_home(workspace: Workspace) -> None:
    settings = load_settings(workspace)
    assert settings.sinks == ("log",)
    assert settings.log_path == workspace.home / "events.jsonl"
    assert settings.max_attempts == 8
    assert settings.exchange == "riskops.events"
    assert settings.webhook_format == "cloudevents"


def test_amqp_joins_the_default_sinks_when_a_broker_is_configured(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISKOPS_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    assert load_settings(workspace).sinks == ("log", "amqp")


def test_an_explicit_sink_list_wins_over_the_default(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISKOPS_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    ws = configure_events(workspace, 'sinks = ["log"]')
    assert load_settings(ws).sinks == ("log",)


def test_keys_are_read(workspace: Workspace, tmp_path: Path) -> None:
    ws = configure_events(workspace, f"""
        sinks = ["log", "webhook"]
        log_path = "{tmp_path / 'elsewhere.jsonl'}"
        webhook_url = "https://alerts.example.com/hook"
        webhook_format = "alertmanager"
        webhook_timeout_seconds = 2
        max_attempts = 3
        backoff_base_seconds = 0.5
        backoff_max_seconds = 10
        exchange = "risk.events"
    """)
    s = load_settings(ws)
    assert s.sinks == ("log", "webhook")
    assert s.log_path == tmp_path / "elsewhere.jsonl"
    assert (s.webhook_url, s.webhook_format) == ("https://alerts.example.com/hook",
                                                 "alertmanager")
    assert (s.webhook_timeout_seconds, s.max_attempts) == (2.0, 3)
    assert (s.backoff_base_seconds, s.backoff_max_seconds, s.exchange) == (0.5, 10.0,
                                                                            "risk.events")


@pytest.mark.parametrize(("body", "message"), [
    ("colour = 1", r"\[events\] has unknown key 'colour'; known keys are sinks, "),
    ('sinks = ["log", "kafka"]', "unknown sink 'kafka'; known sinks are log, webhook, amqp"),
    ('sinks = "log"', "sinks must be a list of sink names"),
    ('sinks = ["log", "log"]', "lists a sink twice"),
    ('sinks = ["webhook"]', "lists the webhook sink but sets no webhook_url"),
    ('sinks = ["amqp"]', "lists the amqp sink but no broker URL is configured; set "
                         "RISKOPS_AMQP_URL or \\[amqp\\] url"),
    ('webhook_url = "ftp://x"', "webhook_url 'ftp://x' must start with http:// or https://"),
    ('webhook_format = "slack"', "webhook_format 'slack' is not one of cloudevents, "
                                 "alertmanager"),
    ("max_attempts = 0", "max_attempts must be an integer >= 1, got 0"),
    ("max_attempts = 2.5", "max_attempts must be an integer >= 1, got 2.5"),
    ('backoff_base_seconds = "1s"', "backoff_base_seconds must be a number >= 0"),
    ("backoff_base_seconds = 10\nbackoff_max_seconds = 1", "backoff_max_seconds must be >= "),
    ('log_path = ""', "log_path must be a non-empty string"),
])
def test_invalid_config_names_file_key_and_rule(
    workspace: Workspace, body: str, message: str
) -> None:
    ws = configure_events(workspace, body)
    with pytest.raises(InputError, match=message) as info:
        load_settings(ws)
    assert str(workspace.config_path) in str(info.value)


def test_bad_config_is_one_line_exit_2_on_the_command_line(workspace: Workspace, cli) -> None:
    configure_events(workspace, 'sinks = ["carrier-pigeon"]')
    result = cli("events", "dispatch")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert result.err.startswith("error: ") and "unknown sink 'carrier-pigeon'" in result.err
