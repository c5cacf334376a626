"""Frozen models: promotions halted until an admin lifts the freeze.

An automatic rollback freezes its model (``auto_rollback``); people do with
``riskops freeze MODEL --reason R`` and lift it with ``riskops unfreeze MODEL
--reason R`` (admin only). Freezing takes the model's canary out of traffic
(a signed manifest change, like every pointer move); while frozen, promotions
of the model to production or canary and pins of a tenant to one of its
versions are refused with the freeze, its reason and the command that lifts
it. Rollbacks and pins to the heuristic stay allowed: they take risk away.
Each freeze and unfreeze is an audit entry anchored by a new manifest.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from riskops.config import Workspace
from riskops.errors import ConcurrentUpdate, InputError, PromotionBlocked
from riskops.governance.model_metadata import plain_text
from riskops.registry.publish import record_change, sync_manifest_files
from riskops.storage import db, freezes, repository
from riskops.storage.tables import PointerChangeRow
from riskops.tokens import Identity, authorize

MAX_REASON_CHARS = 500
#: What a freeze refuses: a promotion to these stages (and pins to a version).
FROZEN_STAGES = ("production", "canary")


class ModelFrozen(PromotionBlocked):
    """A change refused because the model is frozen; the message says how to lift it."""


def frozen(ws: Workspace, model: str) -> dict[str, Any] | None:
    """``model``'s freeze (frozen_at, frozen_by, reason, incident_id), or ``None``."""
    return freezes.read_freeze(ws.database_url, model)


def refuse_if_frozen(ws: Workspace, model: str, *, what: str) -> None:
    """Raise ``ModelFrozen`` naming the freeze when ``model`` is frozen.

    ``what`` is the refused change, e.g. ``"promoted to production"``.
    """
    freeze = frozen(ws, model)
    if freeze is None:
        return
    incident = (f" (incident {freeze['incident_id']}, in riskops evidence)"
                if freeze["incident_id"] is not None else "")
    raise ModelFrozen(
        f"{model} is frozen and cannot be {what}: frozen by {freeze['frozen_by']} at "
        f"{freeze['frozen_at']:%Y-%m-%d %H:%M} UTC, reason: {freeze['reason']}{incident}.\n"
        f"  next: investigate (riskops models history {model}), then an admin lifts it: "
        f"riskops unfreeze {model} --reason \"...\"")


def freeze(ws: Workspace, who: Identity, model: str, *, reason: str) -> dict[str, Any]:
    """Freeze ``model`` if ``who`` may (``freeze``): canary off, promotions refused.

    Freezing a frozen model changes nothing (``changed: False``).
    """
    authorize(who, "freeze")
    reason = _reason(reason, "freeze", model)
    _check_model(ws, model)
    with db.write_transaction(ws.database_url) as session:
        current = freezes.freeze_of(session, model)
        if current is not None:
            return {"model": model, "changed": False, **_shown(current)}
        result = freeze_in(session, ws, model, actor=who.actor, reason=reason,
                           now=datetime.now(UTC))
    sync_manifest_files(ws)
    return result


def freeze_in(session: Any, ws: Workspace, model: str, *, actor: str, reason: str,
              now: datetime, incident_id: int | None = None,
              trigger: dict[str, Any] | None = None) -> dict[str, Any]:
    """Freeze ``model`` inside the caller's write transaction (no role check): store the
    freeze, take the canary out of traffic and append the ``model.frozen`` audit entry
    with a new manifest. The caller syncs the manifest files after its commit."""
    row = repository.get_model(session, model)
    if row is None:
        raise InputError(f"model {model!r} is not registered; nothing to freeze.")
    session.refresh(row)  # an earlier statement of this transaction may have moved it
    canary = (None if row.canary_version is None
              else {"version": row.canary_version, "percent": row.canary_percent})
    if canary is not None:
        if not repository.swap_pointers(session, model, row.revision, canary_version=None,
                                        canary_percent=None):
            raise ConcurrentUpdate(f"{model} changed while it was being frozen; nothing was "
                                   f"changed.\n  next: riskops freeze {model} again")
        session.expire(row)
    freezes.put_freeze(session, model, frozen_at=now, frozen_by=actor, reason=reason,
                       incident_id=incident_id)
    data: dict[str, Any] = {"model": model, "reason": reason, "canary_removed": canary,
                            "incident_id": incident_id}
    if trigger is not None:
        data["trigger"] = trigger
    mv = record_change(session, ws, now=now, actor=actor, action="model.frozen",
                       subject=model, data=data)
    if canary is not None:
        repository.add_pointer_change(session, PointerChangeRow(
            model_name=model, stage="canary", action="freeze",
            from_version=canary["version"], to_version=None, percent=0, actor=actor,
            changed_at=now, manifest_version=mv))
    return {"model": model, "changed": True, "frozen_at": now.isoformat(),
            "frozen_by": actor, "reason": reason, "incident_id": incident_id,
            "canary_removed": canary, "manifest_version": mv}


def unfreeze(ws: Workspace, who: Identity, model: str, *, reason: str) -> dict[str, Any]:
    """Lift ``model``'s freeze if ``who`` may (``unfreeze``: admin); audited with ``reason``.

    Raises
    ------
    InputError
        If the reason is empty or ``model`` is not frozen.
    """
    authorize(who, "unfreeze")
    reason = _reason(reason, "unfreeze", model)
    now = datetime.now(UTC)
    with db.write_transaction(ws.database_url) as session:
        was = freezes.freeze_of(session, model)
        if was is None:
            raise InputError(f"{model} is not frozen; nothing to lift (riskops models show "
                             f"{model}).")
        freezes.delete_freeze(session, model)
        mv = record_change(session, ws, now=now, actor=who.actor, action="model.unfrozen",
                           subject=model, data={"model": model, "reason": reason,
                                                "was": _shown(was)})
    sync_manifest_files(ws)
    return {"model": model, "changed": True, "unfrozen_at": now.isoformat(),
            "unfrozen_by": who.actor, "reason": reason, "was": _shown(was),
            "manifest_version": mv}


def _reason(reason: str, command: str, model: str) -> str:
    reason = plain_text(reason, where=f"the {command} reason", limit=MAX_REASON_CHARS)
    if not reason:
        done = "frozen" if command == "freeze" else "unfrozen"
        raise InputError(f"the {command} reason is empty: say in 1-{MAX_REASON_CHARS} "
                         f"characters why {model} is {done} (--reason).")
    return reason


def _check_model(ws: Workspace, model: str) -> None:
    from riskops.registry.service import Registry

    Registry(ws).show_model(model)  # UnknownModel naming the registered ones


def _shown(freeze: dict[str, Any] | None) -> dict[str, Any]:
    if freeze is None:
        return {}
    return {**freeze, "frozen_at": freeze["frozen_at"].isoformat()}
