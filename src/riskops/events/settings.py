"""The ``[events]`` section of ``riskops.toml``.

    [events]
    sinks = ["log", "webhook"]          # default: ["log"], plus "amqp" when a broker URL is set
    log_path = "events.jsonl"           # relative to the workspace home
    webhook_url = "https://alerts.example.com/hook"
    webhook_format = "alertmanager"     # or "cloudevents" (default)
    webhook_timeout_seconds = 5
    max_attempts = 8                    # then the delivery is dead-lettered (status failed)
    backoff_base_seconds = 2
    backoff_max_seconds = 300
    lease_seconds = 60
    exchange = "riskops.events"
    amqp_timeout_seconds = 5
    external_url = "https://riskops.example.com"   # Alertmanager externalURL / generatorURL

and the ``[grafana]`` section of the grafana sink (joins the default sinks when ``url``
is set; the token comes from the environment, never from the file):

    [grafana]
    url = "https://grafana.example.com"     # base URL, http(s), no credentials
    token_env = "RISKOPS_GRAFANA_TOKEN"     # the variable holding the token (default)
    dashboard_uid = "riskops-overview"      # optional; else organisation-wide annotations
    timeout_seconds = 5
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from riskops.config import ENV_AMQP_URL, Workspace
from riskops.errors import InputError

SINK_NAMES = ("log", "webhook", "amqp", "grafana")
WEBHOOK_FORMATS = ("cloudevents", "alertmanager")
DEFAULT_EXCHANGE = "riskops.events"
ENV_GRAFANA_TOKEN = "RISKOPS_GRAFANA_TOKEN"
GRAFANA_KEYS = ("url", "token_env", "dashboard_uid", "timeout_seconds")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DASHBOARD_UID = re.compile(r"[A-Za-z0-9_-]{1,40}")


@dataclass(frozen=True)
class GrafanaSettings:
    """Validated ``[grafana]`` settings: where annotations go and the token to send."""

    url: str
    token: str = field(repr=False)  # "" when the variable is unset: delivery refuses then
    token_env: str = ENV_GRAFANA_TOKEN
    dashboard_uid: str | None = None
    timeout_seconds: float = 5.0
    where: str = field(default="[grafana]", compare=False)  # config file and table, for errors


@dataclass(frozen=True)
class EventSettings:
    """Validated ``[events]`` settings of one workspace."""

    sinks: tuple[str, ...]
    log_path: Path
    webhook_url: str | None = None
    webhook_format: str = "cloudevents"
    webhook_timeout_seconds: float = 5.0
    max_attempts: int = 8
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 300.0
    lease_seconds: float = 60.0
    exchange: str = DEFAULT_EXCHANGE
    amqp_url: str | None = None
    amqp_timeout_seconds: float = 5.0
    external_url: str = ""
    grafana: GrafanaSettings | None = None


_NUMBERS: dict[str, tuple[float, bool]] = {
    # key: (minimum, must be an integer)
    "webhook_timeout_seconds": (0.1, False),
    "max_attempts": (1, True),
    "backoff_base_seconds": (0.0, False),
    "backoff_max_seconds": (0.0, False),
    "lease_seconds": (1.0, False),
    "amqp_timeout_seconds": (0.1, False),
}
_STRINGS = ("log_path", "webhook_url", "webhook_format", "exchange", "external_url")
KNOWN_KEYS = ("sinks", *_STRINGS, *_NUMBERS)


def load_settings(ws: Workspace) -> EventSettings:
    """Read and validate ``[events]`` of ``ws``'s config.

    Raises
    ------
    InputError
        Naming the file, the key, the rule and the fix, e.g. an unknown key or
        sink, ``webhook`` listed without ``webhook_url``, ``amqp`` listed
        while no broker URL is configured, or a ``[grafana]`` fault (see
        :func:`load_grafana`).
    """
    raw = ws.settings.section("events")
    where = f"{ws.config_path}: [events]"
    unknown = sorted(set(raw) - set(KNOWN_KEYS))
    if unknown:
        raise InputError(f"{where} has unknown key {unknown[0]!r}; known keys are "
                         f"{', '.join(KNOWN_KEYS)}.")
    for key in _STRINGS:
        if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
            raise InputError(f"{where} {key} must be a non-empty string, got {raw[key]!r}.")
    numbers: dict[str, Any] = {}
    for key, (minimum, integer) in _NUMBERS.items():
        if key not in raw:
            continue
        value = raw[key]
        kind = int if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kind) or value < minimum:
            noun = "an integer" if integer else "a number"
            raise InputError(f"{where} {key} must be {noun} >= {minimum:g}, got {value!r}.")
        numbers[key] = value
    amqp_url = ws.amqp_url
    grafana = load_grafana(ws)
    sinks = _sinks(raw, where, amqp_url, grafana is not None)
    fmt = raw.get("webhook_format", "cloudevents")
    if fmt not in WEBHOOK_FORMATS:
        raise InputError(f"{where} webhook_format {fmt!r} is not one of "
                         f"{', '.join(WEBHOOK_FORMATS)}.")
    webhook_url = raw.get("webhook_url")
    if webhook_url is not None and not webhook_url.startswith(("http://", "https://")):
        raise InputError(f"{where} webhook_url {webhook_url!r} must start with http:// or "
                         "https://.")
    if "webhook" in sinks and webhook_url is None:
        raise InputError(f"{where} lists the webhook sink but sets no webhook_url; add "
                         'webhook_url = "https://..." or remove "webhook" from sinks.')
    if "grafana" in sinks and grafana is None:
        raise InputError(f"{where} lists the grafana sink but [grafana] url is not set; add "
                         '[grafana] url = "https://grafana.example.com" or remove "grafana" '
                         "from sinks.")
    if grafana is not None and "sinks" in raw and "grafana" not in sinks:
        raise InputError(f"{where} sinks does not list \"grafana\" but [grafana] url is set, "
                         'so no annotation would be posted; add "grafana" to sinks, or '
                         "remove url from [grafana].")
    if "amqp" in sinks and amqp_url is None:
        raise InputError(f"{where} lists the amqp sink but no broker URL is configured; set "
                         f"{ENV_AMQP_URL} or [amqp] url = \"amqp://user:pass@host:5672/%2F\", "
                         'or remove "amqp" from sinks.')
    if numbers.get("backoff_max_seconds", 300.0) < numbers.get("backoff_base_seconds", 2.0):
        raise InputError(f"{where} backoff_max_seconds must be >= backoff_base_seconds.")
    log_path = Path(raw.get("log_path", "events.jsonl")).expanduser()
    return EventSettings(
        sinks=sinks,
        log_path=log_path if log_path.is_absolute() else ws.home / log_path,
        webhook_url=webhook_url,
        webhook_format=fmt,
        exchange=raw.get("exchange", DEFAULT_EXCHANGE),
        amqp_url=amqp_url,
        external_url=raw.get("external_url", ""),
        grafana=grafana,
        **{k: (int(v) if k == "max_attempts" else float(v)) for k, v in numbers.items()},
    )


def load_grafana(ws: Workspace) -> GrafanaSettings | None:
    """Read and validate ``[grafana]`` of ``ws``'s config; ``None`` when ``url`` is unset.

    The token is read from the environment variable ``token_env`` names
    (default ``RISKOPS_GRAFANA_TOKEN``); the config file never holds it.

    Raises
    ------
    InputError
        Naming the file, the key, the rule and the fix: an unknown key (a
        ``token`` key among them), a value of the wrong type, a ``url`` that is
        not a plain http(s) URL with a host, other keys without ``url``, or no
        token in the environment while ``url`` is set. The token is never
        quoted.
    """
    raw = ws.settings.section("grafana")
    where = f"{ws.config_path}: [grafana]"
    unknown = sorted(set(raw) - set(GRAFANA_KEYS))
    if unknown and unknown[0] in ("token", "api_key"):
        raise InputError(f"{where} {unknown[0]} is not read from the config file, so the token "
                         f"never sits in it; remove it and export {ENV_GRAFANA_TOKEN}=<token> "
                         "(or name another variable with token_env).")
    if unknown:
        raise InputError(f"{where} has unknown key {unknown[0]!r}; known keys are "
                         f"{', '.join(GRAFANA_KEYS)}.")
    for key in ("url", "token_env", "dashboard_uid"):
        if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
            raise InputError(f"{where} {key} must be a non-empty string, got {raw[key]!r}.")
    timeout = raw.get("timeout_seconds", 5.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0.1:
        raise InputError(f"{where} timeout_seconds must be a number >= 0.1, got {timeout!r}.")
    token_env = raw.get("token_env", ENV_GRAFANA_TOKEN)
    if not _ENV_NAME.fullmatch(token_env):
        raise InputError(f"{where} token_env must name an environment variable (letters, "
                         f"digits and _), e.g. token_env = \"{ENV_GRAFANA_TOKEN}\"; got "
                         f"{token_env!r}.")
    uid = raw.get("dashboard_uid")
    if uid is not None and not _DASHBOARD_UID.fullmatch(uid):
        raise InputError(f"{where} dashboard_uid {uid!r} is not a Grafana dashboard UID (up to "
                         "40 letters, digits, - and _; the part after /d/ in the dashboard's "
                         "address).")
    url = raw.get("url")
    if url is None:
        if raw:
            raise InputError(f"{where} sets {', '.join(sorted(raw))} but no url; add "
                             'url = "https://grafana.example.com" or remove [grafana].')
        return None
    url = _grafana_url(url, where)
    # A missing token is the dispatcher's error (sink_factory), not every writer's: a
    # promotion stores its event in any shell, and the annotation waits in the outbox.
    token = os.environ.get(token_env, "").strip()
    if token and (not token.isascii() or not token.isprintable() or " " in token):
        raise InputError(f"{where} token in {token_env} holds spaces or characters that "
                         "cannot go in an HTTP header; copy the token again (it is not "
                         "shown here).")
    return GrafanaSettings(url=url, token=token, token_env=token_env, dashboard_uid=uid,
                           timeout_seconds=float(timeout), where=where)


def _grafana_url(url: str, where: str) -> str:
    """``url`` without a trailing slash, once it is a plain http(s) base URL."""
    text = url.strip()
    parts = urlsplit(text)
    if "@" in parts.netloc:
        # Not quoted: the value holds a password or token.
        raise InputError(f"{where} url must not hold credentials (user:password@host); remove "
                         "them and export the token in the environment instead (see "
                         "token_env).")
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https"):
        rule = "must start with http:// or https://"
    elif not parts.hostname:
        rule = "has no host"
    elif not port_ok:
        rule = "has an invalid port"
    elif parts.query or parts.fragment:
        rule = "must not have a query (?) or fragment (#)"
    else:
        return text.rstrip("/")
    raise InputError(f"{where} url {url!r} {rule}; give Grafana's base address, e.g. "
                     'url = "https://grafana.example.com".')


def _sinks(raw: dict[str, Any], where: str, amqp_url: str | None,
           grafana: bool) -> tuple[str, ...]:
    if "sinks" not in raw:
        return ("log", *(("amqp",) if amqp_url else ()), *(("grafana",) if grafana else ()))
    sinks = raw["sinks"]
    if not isinstance(sinks, list) or not all(isinstance(s, str) for s in sinks):
        raise InputError(f'{where} sinks must be a list of sink names, e.g. sinks = ["log"]; '
                         f"got {sinks!r}.")
    for name in sinks:
        if name not in SINK_NAMES:
            raise InputError(f"{where} sinks lists unknown sink {name!r}; known sinks are "
                             f"{', '.join(SINK_NAMES)}.")
    if len(set(sinks)) != len(sinks):
        raise InputError(f"{where} sinks lists a sink twice: {sinks!r}.")
    return tuple(sinks)
