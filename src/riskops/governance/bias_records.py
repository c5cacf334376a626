"""The stored bias audit of a version, as the gates, the model card and the evidence read it.

Kept apart from ``bias_audit`` (which computes audits and imports fairlearn)
so reading a verdict costs a query, not the fairness library.
"""

from __future__ import annotations

import json
from typing import Any

from riskops.storage import repository


def stored_audit(session: Any, model: str, version: int) -> dict[str, Any] | None:
    """The newest stored bias audit of ``model`` v``version``: ``status``, ``created_at``
    (ISO 8601), ``actor``, ``artifacts_sha256`` (of the bytes audited) and the whole
    ``report``; ``None`` if the version was never audited."""
    row = repository.latest_bias_audit(session, model, version)
    if row is None:
        return None
    return {"status": row.status, "created_at": row.created_at.isoformat(), "actor": row.actor,
            "artifacts_sha256": row.artifacts_sha256, "report": json.loads(row.report)}
