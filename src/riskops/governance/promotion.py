"""Governed pointer changes: who may promote, roll back and pin, and the gates a promotion passes.

The registry moves pointers; this module decides whether the caller may ask
and whether the version may go. A promotion to production or canary runs
every gate (``gates.evaluate_gates``) and is refused, listing the failing
ones, unless an admin breaks the glass with a reason, which is written loudly
into the audit entry and emitted as ``ml.model.break_glass``.
"""

from __future__ import annotations

from typing import Any

from riskops.config import Workspace
from riskops.errors import InputError, PromotionBlocked
from riskops.governance.freeze import FROZEN_STAGES, refuse_if_frozen
from riskops.governance.gates import GateReport, SmokeTest, evaluate_gates
from riskops.governance.model_metadata import plain_text
from riskops.registry.service import Registry
from riskops.tokens import Identity, authorize

MAX_REASON_CHARS = 500
#: Stages that take traffic: a version going there must be one a server can serve.
SERVED_STAGES = ("production", "canary")


class GatesFailed(PromotionBlocked):
    """A promotion refused by its gates; ``report`` holds every gate with its evidence."""

    def __init__(self, message: str, report: GateReport) -> None:
        super().__init__(message)
        self.report = report


def promote(ws: Workspace, who: Identity, model: str, version: int, *, smoke_test: SmokeTest,
            stage: str = "production", percent: int | None = None,
            break_glass: str | None = None) -> dict[str, Any]:
    """Promote ``model`` v``version`` to ``stage`` if ``who`` may and its gates pass.

    ``smoke_test`` is the serving layer's in-process test (``gates.SmokeTest``).

    Returns the registry's result plus ``gates`` (the report) and ``break_glass``.

    Raises
    ------
    PermissionDenied
        ``who`` may not promote (or break the glass: admin only).
    GatesFailed
        A gate failed; ``exc.report`` lists them all.
    """
    authorize(who, "promote")
    if break_glass is not None:
        authorize(who, "break_glass")
        break_glass = break_glass.strip()
        if not break_glass or len(break_glass) > MAX_REASON_CHARS:
            raise InputError(f"--break-glass needs a reason of 1-{MAX_REASON_CHARS} characters "
                             "saying why the gates are bypassed.")
    registry = Registry(ws)
    registry.check_promotion(stage, percent)
    if stage in FROZEN_STAGES:
        refuse_if_frozen(ws, model, what=f"promoted to {stage}")
    if stage in SERVED_STAGES:
        check_servable(ws, model, version, stage=stage)
    report = evaluate_gates(ws, model, version, stage=stage, percent=percent,
                            smoke_test=smoke_test)
    if not report.passed and break_glass is None:
        failing = "; ".join(f"{g.name}: {g.detail}" for g in report.failing)
        raise GatesFailed(f"{model} v{version} was not promoted to {stage}: "
                          f"{len(report.failing)} gate(s) failed: {failing}", report)
    record = {"status": "pass" if report.passed else "fail", "checked_at": report.checked_at,
              "gates": {g.name: "pass" if g.passed else "fail" for g in report.gates}}
    result = registry.promote(model, version, actor=who.actor, stage=stage, percent=percent,
                              gates=record, break_glass=break_glass)
    return {**result, "gates": report.as_dict(), "break_glass": break_glass}


def check_servable(ws: Workspace, model: str, version: int, *, stage: str) -> None:
    """Refuse to put ``model`` v``version`` where it takes traffic when no server could serve
    it: a model that is not a reference scenario needs its signed ``scenario.json``."""
    from riskops.registry.definitions import definition_digest
    from riskops.registry.trust import read_workspace_manifest
    from riskops.scenarios import REFERENCE

    if model in REFERENCE:
        return
    manifest = read_workspace_manifest(ws).manifest
    entry = manifest.models.get(model)
    if entry is None or str(version) not in entry.versions:
        return  # the registry names the unknown model or version
    if definition_digest(entry, model, version) is None:
        raise InputError(
            f"{model} v{version} cannot go to {stage}: it is artifact-only (registered "
            "without a scenario definition), so no server can serve it. Train it with "
            "riskops train --config FILE, or register the model again with a scenario.toml "
            "beside it (docs/ml.md).")


def rollback(ws: Workspace, who: Identity, model: str, *, to: int | None = None,
             fallback_heuristic: bool = False) -> dict[str, Any]:
    """Roll production back (``Registry.rollback``) if ``who`` may."""
    authorize(who, "rollback")
    return Registry(ws).rollback(model, actor=who.actor, to=to,
                                 fallback_heuristic=fallback_heuristic)


def pin(ws: Workspace, who: Identity, model: str, tenant: str, version: int | None
        ) -> dict[str, Any]:
    """Pin ``tenant`` of ``model`` to ``version`` (``None``: the heuristic) if ``who`` may."""
    authorize(who, "pin")
    registry = Registry(ws)
    if version is not None:
        refuse_if_frozen(ws, model, what=f"pinned to v{version} for tenant {tenant!r}")
        # A pin puts a version live for a tenant: only one that went through the
        # production gates may be pinned (the heuristic always may).
        check_servable(ws, model, version, stage=f"a pin for tenant {tenant!r}")
        info = registry.show_version(model, version)
        if version not in info["history"]:
            raise InputError(
                f"{model} v{version} is not in the production history {info['history']}; a "
                f"pin puts it live for tenant {tenant!r}, so only a version on that stack (it "
                f"went to production through its gates, or by break-glass) may be pinned. "
                f"Promote it first: riskops gates {model} {version}.")
    return registry.pin(model, tenant, version, actor=who.actor)


def unpin(ws: Workspace, who: Identity, model: str, tenant: str) -> dict[str, Any]:
    authorize(who, "pin")
    return Registry(ws).unpin(model, tenant, actor=who.actor)


def retire(ws: Workspace, who: Identity, model: str, *, reason: str) -> dict[str, Any]:
    """Retire ``model`` (``Registry.retire``) if ``who`` may; ``reason`` is required."""
    authorize(who, "retire")
    reason = plain_text(reason, where="the retirement reason", limit=MAX_REASON_CHARS)
    if not reason:
        raise InputError(f"the retirement reason is empty: say in 1-{MAX_REASON_CHARS} "
                         f"characters why {model} is retired (--reason, or reason over HTTP).")
    return Registry(ws).retire(model, actor=who.actor, reason=reason)
