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
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskops.config import ENV_AMQP_URL, Workspace
from riskops.errors import InputError

SINK_NAMES = ("log", "webhook", "amqp")
WEBHOOK_FORMATS = ("cloudevents", "alertmanager")
DEFAULT_EXCHANGE = "riskops.events"


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
        sink, ``webhook`` listed without ``webhook_url``, or ``amqp`` listed
        while no broker URL is configured.
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
    sinks = _sinks(raw, where, amqp_url)
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
        **{k: (int(v) if k == "max_attempts" else float(v)) for k, v in numbers.items()},
    )


def _sinks(raw: dict[str, Any], where: str, amqp_url: str | None) -> tuple[str, ...]:
    if "sinks" not in raw:
        return ("log", "amqp") if amqp_url else ("log",)
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
