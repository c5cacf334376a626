"""Registry operations: register, promote, roll back, and the views of them.

Each change runs in one serialised write transaction that updates the
pointers, appends the audit entry and stores the newly signed manifest;
after the commit the manifest files are written to disk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riskops.config import Workspace
from riskops.errors import (
    ConcurrentUpdate,
    InputError,
    PromotionBlocked,
    UnknownModel,
    UnknownVersion,
)
from riskops.events import emit
from riskops.registry import ossf, store
from riskops.registry.integrity import sha256_file
from riskops.registry.loader import untrusted_types_in
from riskops.registry.production_history import rollback_refusal
from riskops.registry.publish import record_change, sync_manifest_files
from riskops.registry.targets import verify_version_artifacts
from riskops.storage import db, repository
from riskops.storage.tables import ArtifactRow, ModelRow, ModelVersionRow, PointerChangeRow

MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
STAGES = ("production", "staging", "canary")


#: A tenant id, as pinned here and sent by callers in ``X-Tenant-ID``.
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$"
TENANT = re.compile(TENANT_PATTERN)


def check_tenant(tenant: str) -> str:
    """``tenant`` if it is a valid tenant id (the same rule as ``X-Tenant-ID``)."""
    if not TENANT.fullmatch(tenant):
        raise InputError(f"--tenant {tenant[:64]!r} is invalid: 1-128 letters, digits or "
                         "'_.:@-', starting with a letter or digit.")
    return tenant


def check_model_name(name: str) -> str:
    if not MODEL_NAME.fullmatch(name) or ".." in name:
        raise InputError(
            f"model name {name!r} is invalid: use 1-64 lowercase letters, digits, '_', '-' or "
            "'.', starting with a letter or digit."
        )
    return name


def stage_pointers(row: ModelRow) -> dict[str, Any]:
    """The live stage pointers of a model row, as the registry views show them."""
    return {"production": row.production_version, "staging": row.staging_version,
            "canary": None if row.canary_version is None else
            {"version": row.canary_version, "percent": row.canary_percent}}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _ModelState:
    revision: int
    production: int | None
    history: list[int]
    versions: set[int]
    retired_at: datetime | None = None


class Registry:
    """The model registry of one workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
        self.url = workspace.database_url

    # --- changes ---------------------------------------------------------------------

    def register(
        self,
        model: str,
        source: Path,
        *,
        actor: str,
        metrics: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        training_run_id: str | None = None,
        entrypoint: str | None = None,
    ) -> dict[str, Any]:
        """Store ``source``'s files as the next version of ``model`` (not live)."""
        check_model_name(model)
        _refuse_workspace_source(source, self.ws)
        max_bytes = self.ws.settings.max_artifact_bytes
        files = store.scan_source(source, max_bytes=max_bytes)
        names = [f.relative_to(source).as_posix() for f in files]
        entrypoint = choose_entrypoint(names, entrypoint, source)
        staging, stored = store.stage_files(self.ws.store_dir, source, files, max_bytes=max_bytes)
        # Type-check the copies, not the source: the source may change under us.
        for name in names:
            if name.endswith(".skops"):
                bad = untrusted_types_in((staging / name).read_bytes(),
                                         self.ws.settings.trusted_types,
                                         subject=f"--from {source}: {name}")
                if bad:
                    store.discard(staging, stored)
                    raise InputError(bad)
        placed: Path | None = None
        try:
            with db.write_transaction(self.url) as session:
                now = _now()
                if repository.get_model(session, model) is None:
                    repository.create_model(session, model, now)
                version = repository.next_version(session, model)
                placed = store.place_version(self.ws.store_dir, staging, model, version)
                signature = ossf.sign_folder(placed, self.ws.private_key_path)
                sig_digest, sig_size = sha256_file(signature)
                folder = store.version_folder(model, version)
                rows = [
                    ArtifactRow(model_name=model, version=version, path=f"{folder}/{f.name}",
                                sha256=f.sha256, size=f.size)
                    for f in stored
                ]
                rows.append(ArtifactRow(model_name=model, version=version,
                                        path=f"{folder}/{ossf.SIGNATURE_NAME}",
                                        sha256=sig_digest, size=sig_size))
                repository.add_version(
                    session,
                    ModelVersionRow(
                        model_name=model, version=version, created_at=now, author=actor,
                        entrypoint=entrypoint, metrics=json.dumps(metrics or {}),
                        params=json.dumps(params or {}), training_run_id=training_run_id,
                    ),
                    rows,
                )
                mv = record_change(
                    session, self.ws, now=now, actor=actor, action="model.registered",
                    subject=f"{model}/{version}",
                    data={"model": model, "version": version,
                          "files": [{"path": r.path, "sha256": r.sha256, "size": r.size}
                                    for r in rows]},
                )
        except BaseException:
            store.discard(placed if placed is not None else staging, stored)
            raise
        sync_manifest_files(self.ws)
        return {"model": model, "version": version, "manifest_version": mv,
                "entrypoint": entrypoint,
                "artifacts": [{"path": r.path, "sha256": r.sha256, "size": r.size}
                              for r in rows]}

    @staticmethod
    def check_promotion(stage: str, percent: int | None) -> None:
        """Refuse a malformed promotion (stage, percent) before anything is read."""
        if stage not in STAGES:
            raise InputError(f"--stage {stage!r} is not one of {', '.join(STAGES)}.")
        if stage == "canary":
            if percent is None:
                raise InputError("--stage canary needs --percent N, the share of traffic the "
                                 "canary answers (1-100).")
            if not 1 <= percent <= 100:
                raise InputError(f"--percent {percent} is out of range 1-100.")
        elif percent is not None:
            raise InputError(f"--percent applies to --stage canary only, not {stage}.")

    def promote(
        self, model: str, version: int, *, actor: str, stage: str = "production",
        percent: int | None = None, force: bool = False, gates: dict[str, Any] | None = None,
        break_glass: str | None = None,
    ) -> dict[str, Any]:
        """Point ``stage`` of ``model`` at ``version``, atomically.

        The registry moves pointers; whether a version may go live is decided
        by ``governance.promotion``, which passes the gate results it checked
        as ``gates`` (recorded in the audit entry). Production without
        ``gates`` needs ``force`` (an internal call that checked nothing; the
        audit entry says so).
        """
        self.check_promotion(stage, percent)
        state = self._read_state(model)
        if version not in state.versions:
            raise UnknownVersion(_unknown_version(model, version, state.versions))
        if state.retired_at is not None and not force and (
                stage == "canary" or (stage == "production" and break_glass is not None)):
            raise PromotionBlocked(
                f"{model} is retired ({state.retired_at:%Y-%m-%d}); it comes back only "
                f"through a production promotion with every gate and new sign-offs, not "
                f"{'a canary' if stage == 'canary' else 'break-glass'}: riskops gates "
                f"{model} {version}.")
        if stage == "production" and gates is None and not force:
            raise PromotionBlocked(
                f"{model} v{version} was not promoted: production needs its gates; "
                f"see riskops gates {model} {version}, then riskops promote {model} {version}.")
        record: dict[str, Any] | str | None = gates
        if record is None and stage == "production":
            record = "not checked (internal call)"
        if stage == "production" and state.production == version:
            return {"model": model, "stage": stage, "version": version, "changed": False}
        values: dict[str, Any]
        if stage == "production":
            # After a heuristic fallback, promoting the last production version again
            # resumes it rather than stacking it twice (a rollback must move).
            history = state.history if state.history[-1:] == [version] else [
                *state.history, version]
            values = {"production_version": version, "history": json.dumps(history),
                      "retired_at": None, "retired_by": None, "retired_reason": None}
            before = state.production
        elif stage == "staging":
            values, before = {"staging_version": version}, None
        else:
            values, before = {"canary_version": version, "canary_percent": percent}, None
        return self._change_pointer(model, state, values, stage=stage, action="promote",
                                    before=before, after=version, percent=percent, actor=actor,
                                    gates=record, break_glass=break_glass)

    def rollback(self, model: str, *, actor: str, to: int | None = None,
                 fallback_heuristic: bool = False, reason: dict[str, Any] | None = None,
                 within: Callable[[Any, dict[str, Any]], None] | None = None
                 ) -> dict[str, Any]:
        """Move production back to ``history[n-1]``, to version ``to``, or off the model.

        With ``fallback_heuristic`` production points at no version: every replica
        answers from the scenario's heuristic until a version is promoted or
        rolled back to (``to``). The history is kept for that return.

        ``reason`` (an automatic rollback's trigger: ``rule``, ``automatic``, the
        numbers) is added to the audit entry and the ``ml.model.rolled_back`` event;
        ``within(session, change)`` runs inside the same write transaction after
        them (``change``: from, to, manifest_version, at), so what it writes commits
        with the rollback or not at all; raising in it undoes the rollback.
        """
        extra = {"reason": reason, "within": within}
        state = self._read_state(model)
        _refuse_retired(model, state, "rolled back")
        if fallback_heuristic:
            if to is not None:
                raise InputError("--to and --fallback heuristic exclude each other; pick one.")
            if state.production is None:
                raise InputError(f"{model} already answers from the heuristic "
                                 "(no production version).")
            return self._change_pointer(model, state, {"production_version": None},
                                        stage="production", action="rollback",
                                        before=state.production, after=None, percent=None,
                                        actor=actor, **extra)
        if state.production is None and to is None:
            raise InputError(f"{model} has no production version to roll back from; "
                             "name the version to return to with --to VERSION.")
        if to is None:
            if len(state.history) < 2:
                raise InputError(
                    f"{model} has no earlier production version to roll back to "
                    f"(history: {state.history}); name one with --to VERSION."
                )
            target, history = state.history[-2], state.history[:-1]
        else:
            if to not in state.versions:
                raise UnknownVersion(_unknown_version(model, to, state.versions))
            if to == state.production:
                raise InputError(f"{model} v{to} is already in production; nothing to roll back.")
            if to not in state.history:
                # A rollback returns to what was approved for production before; a
                # version rolled back off it, or never on it, goes through promotion.
                with db.read_session(self.url) as session:
                    changes = repository.pointer_changes(session, model)
                raise InputError(rollback_refusal(model, to, state.history, changes))
            target = to
            cut = len(state.history) - 1 - state.history[::-1].index(to)
            history = state.history[: cut + 1]
        values = {"production_version": target, "history": json.dumps(history)}
        return self._change_pointer(model, state, values, stage="production", action="rollback",
                                    before=state.production, after=target, percent=None,
                                    actor=actor, **extra)

    def pin(self, model: str, tenant: str, version: int | None, *, actor: str) -> dict[str, Any]:
        """Route ``tenant`` to ``version`` of ``model`` (``None``: the heuristic)."""
        check_tenant(tenant)
        state = self._read_state(model)
        if version is not None:
            _refuse_retired(model, state, "pinned to a version")
        if version is not None and version not in state.versions:
            raise UnknownVersion(_unknown_version(model, version, state.versions))
        return self._change_pin(model, state, tenant, version, remove=False, actor=actor)

    def unpin(self, model: str, tenant: str, *, actor: str) -> dict[str, Any]:
        """Remove ``tenant``'s pin; it follows production and canary again."""
        check_tenant(tenant)
        state = self._read_state(model)
        return self._change_pin(model, state, tenant, None, remove=True, actor=actor)

    def retire(self, model: str, *, actor: str, reason: str) -> dict[str, Any]:
        """Take ``model`` out of service: no production, canary or staging version, no
        version pins (those tenants get the heuristic too) and an empty production
        history, so no rollback or pin returns to a version it retired (the audit log
        and ``models history`` keep what was live). Its versions and evidence stay; it
        returns only through a production promotion with every gate."""
        state = self._read_state(model)
        if state.retired_at is not None:
            raise InputError(f"{model} was already retired at {state.retired_at.isoformat()}.")
        with db.write_transaction(self.url) as session:
            row = repository.get_model(session, model)
            pins = json.loads(row.pins or "{}") if row is not None else {}
            live = {"production": state.production,
                    "staging": row.staging_version if row is not None else None,
                    "canary": row.canary_version if row is not None else None}
            kept = {t: p for t, p in pins.items() if p == "heuristic"}
            now = _now()
            if not repository.swap_pointers(
                    session, model, state.revision, production_version=None,
                    staging_version=None, canary_version=None, canary_percent=None,
                    pins=json.dumps(kept, sort_keys=True), history="[]", retired_at=now,
                    retired_by=actor, retired_reason=reason, last_retired_at=now):
                raise ConcurrentUpdate(
                    f"{model} changed while it was being retired; nothing was changed.\n"
                    f"  next: riskops models show {model}, then retry")
            if row is not None:
                session.expire(row)
            dropped = sorted(t for t in pins if t not in kept)
            mv = record_change(session, self.ws, now=now, actor=actor, action="model.retired",
                               subject=model, data={"model": model, "reason": reason,
                                                    "was_live": live, "pins_removed": dropped,
                                                    "history_cleared": state.history})
            repository.add_pointer_change(session, PointerChangeRow(
                model_name=model, stage="production", action="retire",
                from_version=state.production, to_version=None, percent=None, actor=actor,
                changed_at=now, manifest_version=mv))
            emit(session, self.ws, type="ml.model.retired", subject=model, source="registry",
                 data={"modelId": model, "reason": reason, "fromVersion": state.production,
                       "actor": actor, "manifestVersion": mv})
        sync_manifest_files(self.ws)
        return {"model": model, "retired_at": now.isoformat(), "reason": reason,
                "was_live": live, "pins_removed": dropped, "manifest_version": mv,
                "changed": True}

    def _change_pin(self, model: str, state: _ModelState, tenant: str, version: int | None,
                    *, remove: bool, actor: str) -> dict[str, Any]:
        with db.write_transaction(self.url) as session:
            row = repository.get_model(session, model)
            pins: dict[str, int | str] = json.loads(row.pins or "{}") if row else {}
            before = pins.get(tenant)
            target = "heuristic" if version is None else version
            if not remove and pins.get(tenant) == target:
                return {"model": model, "tenant": tenant, "from": target, "to": target,
                        "manifest_version": None, "changed": False}
            if remove:
                if tenant not in pins:
                    raise InputError(f"tenant {tenant!r} has no pin on {model}; "
                                     f"pinned tenants: {', '.join(sorted(pins)) or 'none'}.")
                del pins[tenant]
            else:
                pins[tenant] = "heuristic" if version is None else version
            if not remove and version is not None:
                verify_version_artifacts(self.ws, session, model, version,
                                         action=f"pinned for tenant {tenant!r}")
            if not repository.swap_pointers(session, model, state.revision,
                                            pins=json.dumps(pins, sort_keys=True)):
                raise ConcurrentUpdate(
                    f"{model} changed while this pin was in flight; nothing was changed.\n"
                    f"  next: riskops models show {model}, then retry")
            if row is not None:
                session.expire(row)  # the manifest below must read the swapped pins
            now = _now()
            after = None if remove else pins[tenant]
            action = "model.unpinned" if remove else "model.pinned"
            mv = record_change(session, self.ws, now=now, actor=actor, action=action,
                               subject=f"{model}/{tenant}",
                               data={"model": model, "tenant": tenant, "from": before,
                                     "to": after})
            repository.add_pointer_change(session, PointerChangeRow(
                model_name=model, stage="pin", action="unpin" if remove else "pin",
                from_version=before if isinstance(before, int) else None,
                to_version=after if isinstance(after, int) else None, percent=None,
                actor=actor, changed_at=now, manifest_version=mv))
        sync_manifest_files(self.ws)
        return {"model": model, "tenant": tenant, "from": before, "to": after,
                "manifest_version": mv, "changed": True}

    def _read_state(self, model: str) -> _ModelState:
        check_model_name(model)
        with db.read_session(self.url) as session:
            row = repository.get_model(session, model)
            if row is None:
                raise UnknownModel(unknown_model_message(model, session))
            versions = {v.version for v in repository.list_versions(session, model)}
            return _ModelState(row.revision, row.production_version, json.loads(row.history),
                               versions, row.retired_at)

    def _change_pointer(
        self, model: str, state: _ModelState, values: dict[str, Any], *, stage: str,
        action: str, before: int | None, after: int | None, percent: int | None, actor: str,
        gates: dict[str, Any] | str | None = None, break_glass: str | None = None,
        reason: dict[str, Any] | None = None,
        within: Callable[[Any, dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        with db.write_transaction(self.url) as session:
            if after is not None:
                verify_version_artifacts(
                    self.ws, session, model, after,
                    action=f"promoted to {stage}" if action == "promote" else
                    "put back in production by a rollback")
            if not repository.swap_pointers(session, model, state.revision, **values):
                raise ConcurrentUpdate(
                    f"{model} changed while this {action} was in flight (another promote or "
                    f"rollback won); nothing was changed.\n  next: riskops models show {model}, "
                    "then retry"
                )
            now = _now()
            event = "model.promoted" if action == "promote" else "model.rolled_back"
            data: dict[str, Any] = {"model": model, "stage": stage, "from": before,
                                    "to": after, "percent": percent, "gates": gates}
            if break_glass is not None:
                data["break_glass"] = break_glass
            if reason is not None:
                data["trigger"] = reason
            mv = record_change(
                session, self.ws, now=now, actor=actor, action=event,
                subject=f"{model}/{'heuristic' if after is None else after}", data=data,
            )
            if break_glass is not None:
                emit(session, self.ws, type="ml.model.break_glass", subject=model,
                     source="registry",
                     data={"modelId": model, "version": after, "stage": stage,
                           "reason": break_glass, "actor": actor, "gates": gates,
                           "manifestVersion": mv})
            repository.add_pointer_change(
                session,
                PointerChangeRow(model_name=model, stage=stage, action=action,
                                 from_version=before, to_version=after, percent=percent,
                                 actor=actor, changed_at=now, manifest_version=mv),
            )
            if action == "promote":
                emit(session, self.ws, type="ml.model.promoted", subject=model,
                     source="registry",
                     data={"modelId": model, "version": after, "stage": stage,
                           **({"percent": percent} if percent is not None else {}),
                           "fromVersion": before, "actor": actor, "manifestVersion": mv})
            else:
                emit(session, self.ws, type="ml.model.rolled_back", subject=model,
                     source="registry",
                     data={"modelId": model, "fromVersion": before, "toVersion": after,
                           "actor": actor, "manifestVersion": mv, **(reason or {})})
            if within is not None:
                within(session, {"from": before, "to": after, "manifest_version": mv,
                                 "at": now})
        sync_manifest_files(self.ws)
        return {"model": model, "stage": stage, "action": action, "from": before, "to": after,
                "percent": percent, "manifest_version": mv, "changed": True}

    # --- views -----------------------------------------------------------------------

    def list_models(self) -> list[dict[str, Any]]:
        with db.read_session(self.url) as session:
            versions: dict[str, list[int]] = {}
            for v in repository.list_versions(session):
                versions.setdefault(v.model_name, []).append(v.version)
            return [
                {"model": m.name, "production": m.production_version,
                 "staging": m.staging_version, "canary": m.canary_version,
                 "canary_percent": m.canary_percent,
                 "versions": versions.get(m.name, []),
                 "latest": max(versions.get(m.name, [0]))}
                for m in repository.list_models(session)
            ]

    def show_model(self, model: str) -> dict[str, Any]:
        check_model_name(model)
        with db.read_session(self.url) as session:
            row = repository.get_model(session, model)
            if row is None:
                raise UnknownModel(unknown_model_message(model, session))
            artifacts: dict[int, list[dict[str, Any]]] = {}
            for a in repository.list_artifacts(session, model):
                artifacts.setdefault(a.version, []).append(
                    {"path": a.path, "sha256": a.sha256, "size": a.size})
            return {
                "model": model,
                "stages": stage_pointers(row),
                "history": json.loads(row.history),
                "pins": json.loads(row.pins or "{}"),
                "retired": None if row.retired_at is None else {
                    "at": row.retired_at.isoformat(), "by": row.retired_by,
                    "reason": row.retired_reason},
                "versions": [
                    {"version": v.version, "created_at": v.created_at.isoformat(),
                     "author": v.author, "entrypoint": v.entrypoint,
                     "metrics": json.loads(v.metrics), "params": json.loads(v.params),
                     "training_run_id": v.training_run_id,
                     "artifacts": artifacts.get(v.version, [])}
                    for v in repository.list_versions(session, model)
                ],
            }

    def show_version(self, model: str, version: int) -> dict[str, Any]:
        """``show_model(model)``, after checking it lists ``version`` (``UnknownVersion``)."""
        info = self.show_model(model)
        versions = {v["version"] for v in info["versions"]}
        if version not in versions:
            raise UnknownVersion(_unknown_version(model, version, versions))
        return info

    def history(self, model: str) -> list[dict[str, Any]]:
        check_model_name(model)
        with db.read_session(self.url) as session:
            if repository.get_model(session, model) is None:
                raise UnknownModel(unknown_model_message(model, session))
            return [
                {"at": c.changed_at.isoformat(), "stage": c.stage, "action": c.action,
                 "from": c.from_version, "to": c.to_version, "percent": c.percent,
                 "actor": c.actor, "manifest_version": c.manifest_version}
                for c in repository.pointer_changes(session, model)
            ]


def _refuse_retired(model: str, state: _ModelState, what: str) -> None:
    if state.retired_at is not None:
        raise PromotionBlocked(
            f"{model} is retired ({state.retired_at:%Y-%m-%d}) and cannot be {what}; it comes "
            f"back only through a production promotion with every gate (riskops gates {model} "
            "VERSION).")


def _refuse_workspace_source(source: Path, ws: Workspace) -> None:
    """Refuse to register anything from inside the workspace (its keys, database, store)."""
    try:
        inside = source.resolve().is_relative_to(ws.home.resolve())
    except OSError:
        return
    if inside:
        raise InputError(
            f"--from {source} is inside the workspace {ws.home}; register from the folder your "
            "training wrote, never from the workspace (it holds the signing key)."
        )


def choose_entrypoint(names: list[str], requested: str | None, source: Path) -> str | None:
    """The ``.skops`` file serving loads among ``names`` (files of ``--from source``): the
    one named, the only one, or ``model.skops``; ``None`` when there is none."""
    if requested is not None:
        if requested not in names:
            raise InputError(f"--entrypoint {requested!r} is not a file in {source}.")
        if not requested.endswith(".skops"):
            raise InputError(f"--entrypoint {requested!r} must be a .skops file.")
        return requested
    skops_files = [n for n in names if n.endswith(".skops")]
    if len(skops_files) == 1:
        return skops_files[0]
    if "model.skops" in skops_files:
        return "model.skops"
    if skops_files:
        raise InputError(
            f"--from {source} holds several .skops files ({', '.join(skops_files)}); "
            "say which one serving loads with --entrypoint."
        )
    return None


def unknown_model_message(model: str, session: Any) -> str:
    """Why ``model`` is unknown, naming the registered models."""
    known = ", ".join(m.name for m in repository.list_models(session)) or "none registered"
    return f"model {model!r} is not registered (models: {known}); see riskops models list."


def _unknown_version(model: str, version: int, versions: set[int]) -> str:
    known = ", ".join(str(v) for v in sorted(versions)) or "none"
    return f"{model} has no version {version} (versions: {known})."
