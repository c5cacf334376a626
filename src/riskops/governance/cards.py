"""A version's model card, read from the workspace: ``riskops models card MODEL VERSION``.

``model_card.build_model_card`` is pure; this module gathers what it needs
(the signed reports, the stored bias audit, the sign-offs, the inventory
metadata) and the card status, which follows the version
(``lifecycle.card_status``), and writes ``model-card.json`` and
``model-card.md``.
"""

from __future__ import annotations

import json
from typing import Any

from riskops.config import Workspace
from riskops.governance.approvals import approval_state
from riskops.governance.bias_records import stored_audit
from riskops.governance.gates import version_reports
from riskops.governance.lifecycle import card_status
from riskops.governance.model_card import build_model_card, render_markdown
from riskops.governance.model_metadata import metadata_of
from riskops.registry.service import Registry
from riskops.storage import db, repository
from riskops.training.reports import EVALUATION_FILE, REPRODUCIBILITY_FILE

CARD_JSON = "model-card.json"
CARD_MARKDOWN = "model-card.md"


def model_card(ws: Workspace, model: str, version: int) -> dict[str, Any]:
    """The model card of ``model`` v``version`` as it stands now (``UnknownModel`` /
    ``UnknownVersion`` when there is no such version)."""
    info = Registry(ws).show_version(model, version)
    entry = next(v for v in info["versions"] if v["version"] == version)
    approvals = approval_state(ws, model, version)
    with db.read_session(ws.database_url) as session:
        audit = stored_audit(session, model, version)
        ever_live = any(c.stage == "production" and c.to_version == version
                        for c in repository.pointer_changes(session, model))
    canary = info["stages"]["canary"]
    status = card_status(version=version, production=info["stages"]["production"],
                         canary=canary["version"] if canary else None,
                         history=info["history"], ever_live=ever_live,
                         retired=info["retired"] is not None,
                         has_decisions=bool(approvals["decisions"]))
    reports = version_reports(ws, model, version)
    return build_model_card(model=model, version=version, status=status,
                            metadata=metadata_of(ws, model), version_info=entry,
                            evaluation=reports.get(EVALUATION_FILE),
                            reproducibility=reports.get(REPRODUCIBILITY_FILE),
                            bias_audit=audit, approvals=approvals)


def card_files(card: dict[str, Any]) -> dict[str, bytes]:
    """``model-card.json`` and ``model-card.md`` of ``card``, by name."""
    return {CARD_JSON: (json.dumps(card, indent=2, sort_keys=True) + "\n").encode(),
            CARD_MARKDOWN: render_markdown(card).encode()}

