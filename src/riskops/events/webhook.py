"""The webhook sink: HTTP POST of a CloudEvent, or of an Alertmanager-style alert group.

``cloudevents`` posts the envelope in CloudEvents structured mode
(``Content-Type: application/cloudevents+json``). ``alertmanager`` posts the
body Alertmanager's ``webhook_config`` sends (version "4"), one alert per
event, so receivers written for Alertmanager take riskops events as they are:
a recovery event (``ml.model.drift.resolved``, ``ml.model.performance.recovered``)
is the ``resolved`` alert of the event it ends, with the same labels.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from riskops.errors import DeliveryFailed, PermanentFailure
from riskops.events.envelope import CLOUDEVENTS_JSON, event_type

RECEIVER = "riskops"
#: ``data`` keys copied into alert labels (when they hold a scalar).
LABEL_KEYS = ("modelId", "tenantId", "check", "feature", "segment", "metric", "stage", "job")
#: Recovery event type -> the type of the alert it resolves.
RESOLVES = {"ml.model.drift.resolved": "ml.model.drift.detected",
            "ml.model.performance.recovered": "ml.model.performance.degraded"}
#: HTTP statuses worth retrying; any other 4xx means the payload will never be accepted.
RETRYABLE_4XX = frozenset({408, 409, 425, 429})


def failure_for(status: int, reason: str) -> DeliveryFailed:
    """The failure a non-2xx answer ``status`` means: permanent for a 4xx a retry cannot
    fix, else one to retry (5xx, and the 4xx in ``RETRYABLE_4XX``)."""
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        return PermanentFailure(reason)
    return DeliveryFailed(reason)
ZERO_TIME = "0001-01-01T00:00:00Z"


class WebhookSink:
    name = "webhook"

    def __init__(self, url: str, *, fmt: str = "cloudevents", timeout: float = 5.0,
                 external_url: str = "") -> None:
        self.url = url
        self.fmt = fmt
        self.timeout = timeout
        self.external_url = external_url
        self._client: httpx.Client | None = None

    def send(self, envelope: dict[str, Any], body: str) -> None:
        if self.fmt == "alertmanager":
            content = json.dumps(alertmanager_payload(envelope, external_url=self.external_url))
            content_type = "application/json"
        else:
            content, content_type = body, CLOUDEVENTS_JSON
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, follow_redirects=False)
        try:
            response = self._client.post(self.url, content=content.encode("utf-8"),
                                         headers={"Content-Type": content_type})
        except httpx.HTTPError as exc:
            self.close()
            raise DeliveryFailed(f"POST {self.url}: {type(exc).__name__}: {exc}") from None
        if response.is_success:
            return
        raise failure_for(response.status_code,
                          f"POST {self.url}: HTTP {response.status_code} {response.text[:200]!r}")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def alertmanager_payload(envelope: dict[str, Any], *, external_url: str = "") -> dict[str, Any]:
    """The Alertmanager webhook body (version "4") announcing one event as an alert.

    Labels: ``alertname`` (the event type), ``severity``, ``subject``, ``source``
    and the scalar ``LABEL_KEYS`` of ``data``. Annotations: ``summary``,
    ``description``, ``event_id`` and the event ``data`` as JSON. A recovery
    event (``RESOLVES``) is the ``resolved`` alert of the type it ends: that
    type's alertname and severity, ``endsAt`` the event's time.
    """
    resolved = envelope["type"] in RESOLVES
    alertname = RESOLVES.get(envelope["type"], envelope["type"])
    known = event_type(envelope["type"])
    data = envelope.get("data") or {}
    labels = {"alertname": alertname, "severity": event_type(alertname).severity,
              "subject": envelope["subject"], "source": envelope["source"]}
    for key in LABEL_KEYS:
        value = data.get(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            labels[key] = str(value)
    annotations = {
        "summary": f"{known.summary}: {envelope['subject']}",
        "description": _describe(envelope["type"], envelope["subject"], data),
        "event_id": envelope["id"],
        "data": json.dumps(data, sort_keys=True),
    }
    status = "resolved" if resolved else "firing"
    alert = {
        "status": status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": envelope["time"],
        "endsAt": envelope["time"] if resolved else ZERO_TIME,
        "generatorURL": (f"{external_url.rstrip('/')}/events/{envelope['id']}"
                         if external_url else ""),
        "fingerprint": _fingerprint(labels),
    }
    group_labels = {"alertname": alertname}
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{alertname}"}}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": RECEIVER,
        "groupLabels": group_labels,
        "commonLabels": dict(labels),
        "commonAnnotations": dict(annotations),
        "externalURL": external_url,
        "alerts": [alert],
    }


def _fingerprint(labels: dict[str, str]) -> str:
    """16 hex digits identifying the label set, like Alertmanager's fingerprint."""
    canonical = "\xff".join(f"{k}\xff{labels[k]}" for k in sorted(labels))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _describe(type_: str, subject: str, data: dict[str, Any]) -> str:
    if {"metric", "value", "threshold"} <= set(data):
        return (f"{type_} for {subject}: {data['metric']} = {data['value']} "
                f"(threshold {data['threshold']})")
    details = ", ".join(f"{k}={v}" for k, v in sorted(data.items())
                        if isinstance(v, str | int | float))
    return f"{type_} for {subject}" + (f": {details}" if details else "")
