"""Incident records: what an automatic rollback did, why, and on what evidence.

Each record holds the rule and the numbers that fired it, the critical
feedback records with their predictions (inputs, score, version) when labels
fired it, the versions before and after, the timeline from the first sign to
the freeze, and the rollback's audit entry (seq and hash), which ties the
record to the signed audit chain. ``riskops evidence`` puts the incidents of a
version (rolled back from or to it) in ``incidents.json``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from riskops.config import Workspace
from riskops.storage import incidents as store
from riskops.storage import repository


def open_incident(session: Any, *, model: str, rule: str, detected_at: datetime,
                  change: dict[str, Any], trigger: dict[str, Any],
                  feedback: list[dict[str, Any]], started_at: datetime | None,
                  live_since: datetime | None, firing_key: str) -> int:
    """Write the incident of a rollback inside its write transaction; its id.

    ``change`` is what the registry reports from inside the rollback's
    transaction (from, to, manifest_version, at); the audit head of that
    manifest is the rollback's own audit entry.
    """
    audit = _audit_head(session, change["manifest_version"])
    before, after = change["from"], change["to"]
    timeline = [
        *([{"at": live_since, "event": f"{model} v{before} went live in production"}]
          if live_since is not None else []),
        *([{"at": started_at, "event": _first_sign(rule)}] if started_at is not None else []),
        *({"at": f["created_at"], "event": f"critical feedback {f['feedback_id']} by "
                                           f"{f['actor']} on prediction {f['prediction']['id']}"}
          for f in feedback),
        {"at": detected_at, "event": f"rule {rule} fired ({_numbers_line(trigger)})"},
        {"at": change["at"],
         "event": f"production rolled back v{before} -> {_version(after)} "
                  f"(manifest v{change['manifest_version']})"},
        {"at": change["at"], "event": "model frozen: canary off, promotions refused until an "
                                      "admin runs riskops unfreeze"},
    ]
    record = {
        "model": model, "rule": rule, "automatic": True, "firing_key": firing_key,
        "trigger": trigger, "detected_at": detected_at,
        "versions": {"before": before, "after": after,
                     "after_is_heuristic": after is None},
        "manifest_version": change["manifest_version"],
        "audit": audit,
        "feedback": feedback,
        "timeline": sorted(timeline, key=lambda e: (e["at"].isoformat()
                                                    if isinstance(e["at"], datetime)
                                                    else str(e["at"]))),
    }
    return store.add_incident(session, model=model, opened_at=change["at"], rule=rule,
                              from_version=before, to_version=after,
                              record=json.loads(json.dumps(record, default=_iso)))


def incidents_for(ws: Workspace, model: str, version: int | None = None
                  ) -> list[dict[str, Any]]:
    """The incidents of ``model`` (with ``version``: rolled back from or to it), oldest
    first, JSON-ready: id, model, opened_at, rule, from_version, to_version, record."""
    return [{**i, "opened_at": i["opened_at"].isoformat()}
            for i in store.read_incidents(ws.database_url, model, version)]


def incidents_document(ws: Workspace, model: str, version: int) -> dict[str, Any]:
    """``incidents.json`` of an evidence bundle: the version's incidents."""
    found = incidents_for(ws, model, version)
    return {"model": model, "version": version, "count": len(found), "incidents": found,
            "note": "automatic rollbacks from or to this version; each names its rollback's "
                    "audit entry (audit.seq, audit.hash) in audit-log.json"}


def _audit_head(session: Any, manifest_version: int) -> dict[str, Any] | None:
    row = repository.manifest_by_version(session, manifest_version)
    if row is None:
        return None
    head = json.loads(row.body).get("audit_head")
    return None if head is None else {"seq": head["seq"], "hash": head["hash"]}


def _first_sign(rule: str) -> str:
    if rule == "error-budget":
        return "error budget first seen under the rollback limit"
    return "first critical feedback label in the window"


def _numbers_line(trigger: dict[str, Any]) -> str:
    numbers = trigger.get("numbers") or {}
    return ", ".join(f"{k}={v}" for k, v in sorted(numbers.items()))


def _version(version: int | None) -> str:
    return "the heuristic" if version is None else f"v{version}"


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
