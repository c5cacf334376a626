"""The webhook sink: HTTP POST of a CloudEvent, or of an Alertmanager-style alert group.

``cloudevents`` posts the envelope in CloudEvents structured mode
(``Content-Type: application/cloudevents+json``). ``alertmanager`` posts the
body Alertmanager's ``webhook_config`` sends (version "4"), one firing alert
per event, so receivers written for Alertmanager take riskops events as they are.
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
LABEL_KEYS = ("modelId", "tenantId", "segment", "metric", "stage", "job")
#: HTTP statuses worth retrying; any other 4xx means the payload will never be accepted.
RETRYABLE_4XX = frozenset({408, 409, 425, 429})
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
        reason = f"POST {self.url}: HTTP {response.status_code} {response.text[:200]!r}"
        if 400 <= response.status_code < 500 and response.status_code not in RETRYABLE_4XX:
            raise PermanentFailure(reason)
        raise DeliveryFailed(reason)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def alertmanager_payload(envelope: dict[str, Any], *, external_url: str = "") -> dict[str, Any]:
    """The Alertmanager webhook body (version "4") announcing one event as a firing alert.

    Labels: ``alertname`` (the event type), ``severity``, ``subject``, ``source``
    and the scalar ``modelId``, ``tenantId``, ``segment``, ``metric``, ``stage``,
    ``job`` of ``data``. Annotations: ``summary``, ``description``, ``event_id``
    and the event ``data`` as JSON.
    """
    known = event_type(envelope["type"])
    data = envelope.get("data") or {}
    labels = {"alertname": envelope["type"], "severity": known.severity,
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
    alert = {
        "status": "firing",
        "labels": labels,
        "annotations": annotations,
        "startsAt": envelope["time"],
        "endsAt": ZERO_TIME,
        "generatorURL": (f"{external_url.rstrip('/')}/events/{envelope['id']}"
                         if external_url else ""),
        "fingerprint": _fingerprint(labels),
    }
    group_labels = {"alertname": envelope["type"]}
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{envelope["type"]}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
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
