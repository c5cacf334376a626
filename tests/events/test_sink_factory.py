"""Which sinks the [events] settings build, and a sink without its URL refused."""

import subprocess
import sys
from pathlib import Path

import pytest

from riskops.errors import InputError
from riskops.events.amqp import AmqpSink
from riskops.events.settings import EventSettings
from riskops.events.sink_factory import build_sinks
from riskops.events.sinks import LogSink
from riskops.events.webhook import WebhookSink


def test_each_listed_sink_is_built_from_the_settings(tmp_path: Path) -> None:
    settings = EventSettings(sinks=("log", "webhook", "amqp"), log_path=tmp_path / "e.jsonl",
                             webhook_url="http://127.0.0.1:9/hook", webhook_format="alertmanager",
                             webhook_timeout_seconds=2.0, amqp_url="amqp://127.0.0.1:9/%2F",
                             exchange="x", amqp_timeout_seconds=3.0, external_url="http://r")
    sinks = build_sinks(settings)
    assert list(sinks) == ["log", "webhook", "amqp"]
    log, webhook, amqp = sinks.values()
    assert isinstance(log, LogSink) and log.path == tmp_path / "e.jsonl"
    assert isinstance(webhook, WebhookSink)
    assert (webhook.url, webhook.fmt, webhook.timeout, webhook.external_url) == (
        "http://127.0.0.1:9/hook", "alertmanager", 2.0, "http://r")
    assert isinstance(amqp, AmqpSink)
    assert (amqp.url, amqp.exchange, amqp.timeout) == ("amqp://127.0.0.1:9/%2F", "x", 3.0)


@pytest.mark.parametrize(("sink", "message"), [
    ("webhook", "lists the webhook sink but webhook_url is not set; add webhook_url"),
    ("amqp", "lists the amqp sink but no broker URL is set; set RISKOPS_AMQP_URL"),
])
def test_a_sink_without_its_url_is_refused_even_under_python_O(
    tmp_path: Path, sink: str, message: str,
) -> None:
    settings = EventSettings(sinks=(sink,), log_path=tmp_path / "e.jsonl")
    with pytest.raises(InputError, match=message):
        build_sinks(settings)
    script = ("from pathlib import Path\n"
              "from riskops.errors import InputError\n"
              "from riskops.events.settings import EventSettings\n"
              "from riskops.events.sink_factory import build_sinks\n"
              "try:\n"
              f"    build_sinks(EventSettings(sinks=({sink!r},), log_path=Path('e')))\n"
              "except InputError:\n"
              "    print('refused')\n")
    result = subprocess.run([sys.executable, "-O", "-c", script], capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.strip() == "refused", result.stderr

