"""Builds the sinks ``[events] sinks`` names, each configured from the event settings.

Kept apart from :mod:`riskops.events.sinks` (the protocol and failures every
sink imports) so the webhook and AMQP sinks import that module without an
import cycle.
"""

from __future__ import annotations

from riskops.config import ENV_AMQP_URL
from riskops.errors import InputError
from riskops.events.settings import EventSettings
from riskops.events.sinks import LogSink, Sink


def build_sinks(settings: EventSettings) -> dict[str, Sink]:
    """One sink per name in ``settings.sinks``, configured from ``settings``.

    Raises
    ------
    InputError
        ``webhook``, ``amqp`` or ``grafana`` is listed without its URL
        (``load_settings`` refuses such a config; settings built by hand may not).
    """
    sinks: dict[str, Sink] = {}
    for name in settings.sinks:
        if name == "log":
            sinks[name] = LogSink(settings.log_path)
        elif name == "webhook":
            from riskops.events.webhook import WebhookSink

            if settings.webhook_url is None:
                raise InputError('[events] sinks lists the webhook sink but webhook_url is not '
                                 'set; add webhook_url = "https://..." or remove "webhook" '
                                 "from sinks.")
            sinks[name] = WebhookSink(settings.webhook_url, fmt=settings.webhook_format,
                                      timeout=settings.webhook_timeout_seconds,
                                      external_url=settings.external_url)
        elif name == "amqp":
            from riskops.events.amqp import AmqpSink

            if settings.amqp_url is None:
                raise InputError(f"[events] sinks lists the amqp sink but no broker URL is "
                                 f"set; set {ENV_AMQP_URL} or [amqp] url, or remove "
                                 '"amqp" from sinks.')
            sinks[name] = AmqpSink(settings.amqp_url, exchange=settings.exchange,
                                   timeout=settings.amqp_timeout_seconds)
        elif name == "grafana":
            from riskops.events.grafana import GrafanaSink

            if settings.grafana is None:
                raise InputError('[events] sinks lists the grafana sink but [grafana] url is '
                                 'not set; add [grafana] url = "https://grafana.example.com" '
                                 'or remove "grafana" from sinks.')
            grafana = settings.grafana
            if not grafana.token:
                raise InputError(
                    f"{grafana.where} url is set but no token was found: environment variable "
                    f"{grafana.token_env} is unset or empty; export {grafana.token_env}=<a "
                    "Grafana service-account token allowed to write annotations> where events "
                    "are dispatched, or remove url from [grafana]. The annotations wait in the "
                    "outbox until then.")
            sinks[name] = GrafanaSink(grafana)
    return sinks
