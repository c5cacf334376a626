"""The audit log as the console shows it: the newest entries and the chain's verdict."""

from __future__ import annotations

import json
from typing import Any

from riskops.config import Workspace
from riskops.governance.audit_check import check_audit_log
from riskops.storage import board_reads, db


def recent_with_verdict(ws: Workspace, limit: int = 50) -> dict[str, Any]:
    """``{"verification": {...}, "entries": [...]}``: the whole chain checked as
    ``riskops audit-log verify`` checks it, and the newest ``limit`` entries, newest first."""
    check = check_audit_log(ws)
    with db.read_session(ws.database_url) as session:
        rows = board_reads.newest_audit_entries(session, limit)
        entries = [{"seq": r.seq, "ts": r.ts, "actor": r.actor, "action": r.action,
                    "subject": r.subject, "data": _parsed(r.data), "hash": r.hash}
                   for r in rows]
    verification = {
        "ok": check.ok, "entries": check.entries, "head_hash": check.head_hash,
        "anchored_seq": check.anchored_seq,
        "problem": None if check.problem is None else
        {"seq": check.problem.seq, "reason": check.problem.reason},
    }
    return {"verification": verification, "entries": entries}


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text
