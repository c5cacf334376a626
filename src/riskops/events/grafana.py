"""The grafana sink: promotions, rollbacks and alerts as Grafana annotations.

Each event of :data:`ANNOTATED_TYPES` becomes one ``POST {url}/api/annotations``
with ``Authorization: Bearer <token>`` and the body :func:`annotation` builds::

    {"time": 1795961544920, "tags": ["riskops", "ml.model.promoted", "model:fraud"],
     "text": "fraud v3 promoted to production (was v2) by token:a.khan",
     "dashboardUID": "riskops-overview"}

Other event types get no grafana delivery (:func:`annotates` decides at emit
time); one that reaches :meth:`GrafanaSink.send` anyway is taken without a call.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from riskops.errors import DeliveryFailed, PermanentFailure
from riskops.events.settings import GrafanaSettings
from riskops.events.webhook import failure_for

#: Event types posted as annotations.
ANNOTATED_TYPES = (
    "ml.model.promoted",
    "ml.model.rolled_back",
    "ml.model.drift.detected",
    "ml.model.performance.degraded",
    "model_integrity_failed",
    "model_bias_alert",
    "ml.slo.burn_rate.alert",
    "ml.model.rollback.recommended",
)
#: ``data`` keys that become ``prefix:value`` tags.
TAG_KEYS = (("modelId", "model"), ("tenantId", "tenant"), ("scenario", "scenario"))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def annotates(type_: str) -> bool:
    """Whether the grafana sink posts events of type ``type_``."""
    return type_ in ANNOTATED_TYPES


class GrafanaSink:
    name = "grafana"

    def __init__(self, settings: GrafanaSettings) -> None:
        self.endpoint = f"{settings.url}/api/annotations"
        self.settings = settings
        self._client: httpx.Client | None = None

    def send(self, envelope: dict[str, Any], body: str) -> None:
        if not annotates(envelope["type"]):
            return
        payload = annotation(envelope, dashboard_uid=self.settings.dashboard_uid)
        if self._client is None:
            self._client = httpx.Client(timeout=self.settings.timeout_seconds,
                                        follow_redirects=False)
        try:
            response = self._client.post(
                self.endpoint, json=payload,
                headers={"Authorization": f"Bearer {self.settings.token}",
                         "Accept": "application/json"})
        except httpx.HTTPError as exc:
            self.close()
            raise DeliveryFailed(self._redact(f"POST {self.endpoint}: "
                                              f"{type(exc).__name__}: {exc}")) from None
        if response.is_success:
            return
        status = response.status_code
        reason = f"POST {self.endpoint}: HTTP {status}"
        if status in (401, 403):
            what = "refused the token" if status == 401 else "says the token may not do this"
            raise PermanentFailure(self._redact(
                f"{reason}: Grafana {what} ({response.text[:200]!r}); check [grafana] token: "
                f"export {self.settings.token_env}=<a service-account token of the dashboard's "
                "organisation allowed to write annotations>, restart the dispatcher, then "
                "riskops events retry --all-failed."))
        if response.is_redirect:
            raise DeliveryFailed(self._redact(
                f"{reason}: redirected to {response.headers.get('location', '?')!r} (redirects "
                "are not followed, so the token goes nowhere else); set [grafana] url to "
                "Grafana's final base address."))
        raise failure_for(status, self._redact(f"{reason} {response.text[:200]!r}"))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _redact(self, text: str) -> str:
        """``text`` with the token blanked out, in case a server or proxy echoed it."""
        return text.replace(self.settings.token, "<token>")


def annotation(envelope: dict[str, Any], *, dashboard_uid: str | None = None) -> dict[str, Any]:
    """The body of ``POST /api/annotations`` announcing one event.

    ``time`` is the event's time in epoch milliseconds; ``tags`` are
    ``riskops``, the event type and ``model:``, ``tenant:`` and ``scenario:``
    tags from ``data``; ``text`` is one line a person reads on the graph.
    Without ``dashboard_uid`` the annotation is organisation-wide.

    >>> body = annotation({"type": "ml.model.promoted", "subject": "fraud",
    ...                    "time": "2026-11-23T14:12:24.920120Z",
    ...                    "data": {"modelId": "fraud", "version": 3, "stage": "production",
    ...                             "fromVersion": 2, "actor": "token:a.khan"}})
    >>> body["time"], body["tags"]
    (1795443144920, ['riskops', 'ml.model.promoted', 'model:fraud'])
    >>> body["text"]
    'fraud v3 promoted to production (was v2) by token:a.khan'
    """
    data = envelope.get("data") or {}
    tags = ["riskops", envelope["type"]]
    for key, prefix in TAG_KEYS:
        value = data.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            tags.append(f"{prefix}:{value}")
    body: dict[str, Any] = {"time": epoch_ms(envelope["time"]), "tags": tags,
                            "text": describe(envelope["type"], envelope["subject"], data)}
    if dashboard_uid is not None:
        body["dashboardUID"] = dashboard_uid
    return body


def epoch_ms(time: str) -> int:
    """Milliseconds since the epoch of an RFC 3339 time, e.g. an envelope's ``time``.

    >>> epoch_ms("1970-01-01T00:00:01.500999Z")
    1500
    """
    moment = datetime.fromisoformat(time.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def describe(type_: str, subject: str, data: dict[str, Any]) -> str:
    """One human line for the annotation of an event; missing keys are left out."""
    model = data.get("modelId", subject)
    by = f" by {data['actor']}" if data.get("actor") else ""
    if type_ == "ml.model.promoted":
        stage = data.get("stage", "production")
        share = f" at {data['percent']}%" if data.get("percent") is not None else ""
        was = f" (was {_version(data['fromVersion'])})" if "fromVersion" in data else ""
        return f"{model} {_version(data.get('version'))} promoted to {stage}{share}{was}{by}"
    if type_ == "ml.model.rolled_back":
        rule = f" (automatic: {data['rule']})" if data.get("automatic") and "rule" in data \
            else ""
        return (f"{model} rolled back from {_version(data.get('fromVersion'))} to "
                f"{_version(data.get('toVersion'))}{rule}{by}")
    if type_ == "ml.model.rollback.recommended":
        target = (f"; would roll back to {_version(data['wouldRollBackTo'])}"
                  if "wouldRollBackTo" in data else "")
        return (f"rollback of {model} {_version(data.get('version'))} recommended by rule "
                f"{data.get('rule', '?')} (alert-only: nothing moved{target})")
    if type_ == "ml.model.drift.detected":
        where = ", ".join(f"{k} {data[k]}" for k in ("tenantId", "feature", "segment")
                          if data.get(k) not in (None, ""))
        return f"drift on {model}" + (f" ({where})" if where else "") + ": " + _breach(data)
    if type_ == "ml.model.performance.degraded":
        tenant = f" (tenant {data['tenantId']})" if data.get("tenantId") else ""
        return f"{model} performance degraded{tenant}: {_breach(data)}"
    if type_ == "model_integrity_failed":
        problem = f": {data['problem']}" if data.get("problem") else ""
        return f"{model} integrity check failed{problem}; serving falls back to the heuristic"
    if type_ == "model_bias_alert":
        version = f" {_version(data['version'])}" if data.get("version") is not None else ""
        reasons = data.get("reasons")
        why = f": {'; '.join(map(str, reasons))}" if isinstance(reasons, list) and reasons \
            else ""
        return f"{model}{version} failed its bias audit{why}"
    if type_ == "ml.slo.burn_rate.alert":
        budget = " ".join(str(v) for v in (data.get("scenario", subject), data.get("objective"))
                          if v)
        alert = f"{data['alert']} alert, " if data.get("alert") else ""
        return (f"{budget} error budget burning at {_number(data.get('burnRate'))}x "
                f"({alert}threshold {_number(data.get('threshold'))}x)")
    return f"{type_} for {subject}"


def _version(value: Any) -> str:
    return "the heuristic" if value is None else f"v{value}"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "?" if value is None else str(value)


def _breach(data: dict[str, Any]) -> str:
    return (f"{data.get('metric', '?')} = {_number(data.get('value'))} "
            f"(threshold {_number(data.get('threshold'))})")
