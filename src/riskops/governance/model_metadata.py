"""What the model-risk inventory records about a model, and who may change it.

``riskops models describe MODEL --owner U --tier high --tier-reason … --purpose …``
(or a ``model.toml`` registered with a version) sets any of the fields below;
fields not given keep their value, and a list given replaces the stored one.
Every change is checked (the owner is an enabled user, the tier one of
``high | medium | low`` with a reason, texts bounded and free of control
characters; lowering a tier is for an independent validator) and written with
its audit entry in one transaction.

``model.toml``::

    owner = "rita"
    tier = "high"
    tier_reason = "decides card payments automatically"
    purpose = "Score card payments for fraud before authorisation"
    description = "Gradient boosting on transaction features"
    business_line = "Retail payments"
    intended_uses = ["pre-authorisation scoring of card payments"]
    out_of_scope_uses = ["credit decisions"]
    limitations = ["trained on EU card traffic only"]
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riskops.config import Workspace
from riskops.errors import InputError, PermissionDenied
from riskops.governance.approvals import model_context
from riskops.governance.policy import TIERS, VALIDATOR
from riskops.registry.publish import record_change, sync_manifest_files
from riskops.registry.service import Registry
from riskops.storage import db, repository
from riskops.storage.tables import InventoryRow
from riskops.tokens import Identity, authorize
from riskops.toml_files import read_toml

MODEL_TOML = "model.toml"
TEXT_FIELDS = ("owner", "tier", "tier_reason", "purpose", "description", "business_line")
LIST_FIELDS = ("intended_uses", "out_of_scope_uses", "limitations")
FIELDS = (*TEXT_FIELDS, *LIST_FIELDS)
MAX_TEXT_CHARS = 2000
MAX_ITEM_CHARS = 500
MAX_ITEMS = 50
_ALLOWED_CONTROL = {"\n", "\t"}
#: Bidirectional embeddings, overrides and isolates: they make text read unlike its bytes.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True)
class MetadataChange:
    """The fields a ``describe`` sets (``None``: keep the stored value)."""

    values: dict[str, str | list[str]]
    source: str  # "--option" names or the model.toml path, for messages


def check_fields(raw: dict[str, Any], *, source: str) -> MetadataChange:
    """Validate ``raw`` (field -> value) as a change; ``InputError`` names the field and rule.

    Users are checked against the workspace later (``describe``); here only the
    shape: known fields, strings and lists of strings of bounded length.
    """
    values: dict[str, str | list[str]] = {}
    for key, value in raw.items():
        where = f"{source}: {key}"
        if key not in FIELDS:
            raise InputError(f"{where}: unknown field; known fields are {', '.join(FIELDS)}.")
        if key in LIST_FIELDS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InputError(f"{where} must be a list of texts.")
            if len(value) > MAX_ITEMS:
                raise InputError(f"{where} has {len(value)} entries; the limit is {MAX_ITEMS}.")
            values[key] = [plain_text(v, where=where, limit=MAX_ITEM_CHARS) for v in value]
        else:
            if not isinstance(value, str):
                raise InputError(f"{where} must be a text, not {type(value).__name__}.")
            values[key] = plain_text(value, where=where, limit=MAX_TEXT_CHARS)
    tier = values.get("tier")
    if tier is not None and tier not in TIERS:
        raise InputError(f"{source}: tier {str(tier)[:32]!r} is not one of {', '.join(TIERS)}.")
    if not values:
        raise InputError(f"{source}: nothing to describe; give at least one of "
                         f"{', '.join(FIELDS)}.")
    return MetadataChange(values=values, source=source)


def read_model_toml(path: Path) -> MetadataChange:
    """The change a ``model.toml`` asks for (``InputError`` naming the file and the fault)."""
    return check_fields(read_toml(path, what="model.toml", max_bytes=64 * 1024),
                        source=str(path))


def metadata_dict(row: InventoryRow | None) -> dict[str, Any] | None:
    """The stored metadata of a model as JSON-ready fields (``None``: never described)."""
    if row is None:
        return None
    out: dict[str, Any] = {f: getattr(row, f) for f in TEXT_FIELDS}
    out.update({f: json.loads(getattr(row, f) or "[]") for f in LIST_FIELDS})
    out["updated_at"] = row.updated_at.isoformat()
    out["updated_by"] = row.updated_by
    return out


def metadata_of(ws: Workspace, model: str) -> dict[str, Any] | None:
    with db.read_session(ws.database_url) as session:
        return metadata_dict(repository.get_inventory(session, model))


def describe(ws: Workspace, who: Identity, model: str, change: MetadataChange
             ) -> dict[str, Any]:
    """Apply ``change`` to ``model``'s metadata if ``who`` may; returns the stored metadata.

    Raises
    ------
    PermissionDenied
        ``who`` holds neither risk_lead nor platform_owner (nor admin).
    InputError
        The owner is no enabled user, or a tier comes without a reason.
    UnknownModel
        ``model`` is not registered.
    """
    authorize(who, "describe")
    Registry(ws).show_model(model)  # UnknownModel, with the known ones
    values = dict(change.values)
    with db.write_transaction(ws.database_url) as session:
        row = repository.get_inventory(session, model)
        _check_in(session, change, row, who=who, model=model)
        before = metadata_dict(row)
        now = datetime.now(UTC)
        fields = {f: (json.dumps(v) if f in LIST_FIELDS else v) for f, v in values.items()}
        if row is None:
            row = InventoryRow(model_name=model, **fields, updated_at=now, updated_by=who.actor)
        else:
            if row.owner and "owner" in values and values["owner"] != row.owner:
                former = json.loads(row.former_owners or "[]")
                row.former_owners = json.dumps(sorted({*former, row.owner}))
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at, row.updated_by = now, who.actor
        repository.put_inventory(session, row)
        after = metadata_dict(repository.get_inventory(session, model))
        changed = {k: v for k, v in values.items() if (before or {}).get(k) != v}
        record_change(session, ws, now=now, actor=who.actor, action="model.described",
                      subject=model, data={"model": model, "changed": changed,
                                           "source": change.source, "token": who.token})
    sync_manifest_files(ws)
    return {"model": model, "changed": sorted(changed), "metadata": after}


def check_change(ws: Workspace, model: str, change: MetadataChange, *, who: Identity) -> None:
    """Refuse ``change`` now if ``describe`` would once ``who`` has registered a version
    (owner, tier reason, a lowered tier), writing nothing: ``models register`` checks a
    ``model.toml`` before it stores the version."""
    with db.read_session(ws.database_url) as session:
        _check_in(session, change, repository.get_inventory(session, model), who=who,
                  model=model, registering=True)


def _check_in(session: Any, change: MetadataChange, row: InventoryRow | None, *,
              who: Identity, model: str, registering: bool = False) -> None:
    owner = change.values.get("owner")
    if isinstance(owner, str):
        user = repository.get_user(session, owner)
        if user is None or user.disabled_at is not None:
            state = "is disabled" if user is not None else "is not a user"
            raise InputError(f"{change.source}: owner {owner[:64]!r} {state}; the owner must "
                             "be an enabled user (riskops users list).")
    before = row.tier if row is not None else None
    tier = change.values.get("tier", before)
    reason = change.values.get("tier_reason", row.tier_reason if row is not None else "")
    if tier and not reason:
        raise InputError(f"{change.source}: a tier needs its reason (--tier-reason TEXT, or "
                         "tier_reason in model.toml): why is the model this risky?")
    if isinstance(tier, str) and before in TIERS and TIERS.index(tier) > TIERS.index(before):
        _check_lowering(session, who, model, before, tier, registering=registering)


def _check_lowering(session: Any, who: Identity, model: str, before: str, after: str, *,
                    registering: bool) -> None:
    """Lowering a tier lowers the sign-offs and re-validations the model needs, so only an
    independent validator (or admin) may: not the team that wants it live sooner."""
    if "admin" in who.roles:
        return
    if VALIDATOR not in who.roles:
        raise PermissionDenied(
            f"lowering {model} from tier {before} to {after} needs a {VALIDATOR} (or admin): "
            "it lowers the sign-offs and re-validations the model needs. Raising a tier or "
            "describing anything else needs no validator.")
    if who.name in model_context(session, model).builders or registering:
        raise PermissionDenied(f"{who.name!r} built a version of {model} or owns it, so cannot "
                               "lower its tier; ask an independent validator.")


def plain_text(value: str, *, where: str, limit: int) -> str:
    """``value`` stripped, if at most ``limit`` characters of plain text (newlines and tabs
    allowed; no other control, line-separator or bidirectional-control character)."""
    value = value.strip()
    if len(value) > limit:
        raise InputError(f"{where} has {len(value)} characters; the limit is {limit}.")
    bad = next((c for c in value if c not in _ALLOWED_CONTROL and (
        unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in _BIDI_CONTROLS)), None)
    if bad is not None:
        raise InputError(f"{where} holds the control character {bad!r}; use plain text.")
    return value
