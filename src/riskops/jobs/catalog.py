"""The named batch jobs and where their code lives.

A job is ``def run(ws: Workspace, metadata: dict[str, Any]) -> dict[str, Any]``
named by a ``"module:function"`` string, imported only when the job runs, so
reading the catalog (``riskops jobs list``) imports nothing heavy.

Add a job from code (tests, plugins) with ``register``; users add one in
``riskops.toml`` with a ``target`` (see ``riskops.jobs.settings``)::

    from riskops.jobs import catalog
    catalog.register("nightly-report", "acme.reports:nightly", schedule="0 1 * * *")
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from riskops.config import Workspace
from riskops.errors import InputError, JobUnavailable

JobFunction = Callable[[Workspace, dict[str, Any]], "dict[str, Any] | None"]

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
TARGET_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


@dataclass(frozen=True)
class JobSpec:
    """One named job: its ``module:function`` target and default schedule (cron, UTC)."""

    name: str
    target: str
    description: str = ""
    schedule: str | None = None


BUILTIN: tuple[JobSpec, ...] = (
    JobSpec("model-monitoring", "riskops.monitoring.job:run_model_monitoring",
            "Drift and performance checks of every served model; emits drift and "
            "degradation events.", "0 6 * * 0"),
    JobSpec("integrity-check", "riskops.jobs.builtin:integrity_check",
            "Verify the signed manifest and every artifact digest; emits "
            "model_integrity_failed on failure.", "0 3 * * *"),
    JobSpec("lake-export", "riskops.storage.lake:export_job",
            "Export the inference log, feedback and outcomes to the Parquet lake.",
            "30 1 * * *"),
    JobSpec("events-dispatch", "riskops.jobs.builtin:events_dispatch",
            "Deliver pending outbox events to their sinks (one pass).", "*/5 * * * *"),
    JobSpec("revalidation-check", "riskops.governance.inventory:revalidation_check",
            "Emit ml.model.revalidation.due for models past their re-validation due date "
            "(once, then weekly).", "0 7 * * *"),
    JobSpec("slo-watch", "riskops.governance.slo_watch:run",
            "SLO burn-rate alerts from the inference log, and the error-budget rollback rule.",
            "* * * * *"),
    JobSpec("retrain-triggers", "riskops.governance.retrain_triggers:run_retrain_triggers",
            "Evaluate the retrain triggers (schedule, sustained drift, override rate); emit "
            "ml.retrain.triggered and hand eligible models to the retrain job.",
            "*/15 * * * *"),
    JobSpec("retrain", "riskops.governance.retrain_job:run",
            "Train a candidate of metadata model on its configured data source, bias-audit "
            "it; never promotes (started by retrain-triggers)."),
)

_JOBS: dict[str, JobSpec] = {spec.name: spec for spec in BUILTIN}


def register(name: str, target: str, *, description: str = "",
             schedule: str | None = None) -> JobSpec:
    """Add (or replace) the job ``name`` running ``target`` (``"module:function"``).

    ``schedule`` is its default cron expression (UTC); ``None`` leaves it
    unscheduled until configured.

    Raises
    ------
    InputError
        If the name is not lower-case words joined by hyphens, or the target is
        not ``module.path:function``.
    """
    check_name(name)
    check_target(target, job=name)
    spec = JobSpec(name, target, description, schedule)
    _JOBS[name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a registered job; built-in jobs return to their defaults."""
    _JOBS.pop(name, None)
    for spec in BUILTIN:
        if spec.name == name:
            _JOBS[name] = spec


def names() -> list[str]:
    """Every known job name, sorted."""
    return sorted(_JOBS)


def specs() -> list[JobSpec]:
    return [_JOBS[name] for name in names()]


def get(name: str) -> JobSpec:
    """The job called ``name``.

    Raises
    ------
    InputError
        If no such job exists; the message lists the known ones.
    """
    try:
        return _JOBS[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown job {name!r}; known jobs are {', '.join(names())}.") from None


def load(spec: JobSpec) -> JobFunction:
    """Import and return the function of ``spec``.

    Raises
    ------
    JobUnavailable
        If the module cannot be imported or has no such function.
    """
    module_name, _, function = spec.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise JobUnavailable(f"job {spec.name}: cannot import {module_name} ({exc}); is the "
                             "package that provides it installed?") from None
    func = getattr(module, function, None)
    if not callable(func):
        raise JobUnavailable(f"job {spec.name}: {module_name} has no function {function!r} "
                             f"(target {spec.target}).")
    return func  # type: ignore[no-any-return]


def check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or len(name) > 128:
        raise InputError(f"job name {name!r} is not valid; use lower-case letters and digits "
                         "joined by hyphens, e.g. 'nightly-report' (at most 128 characters).")
    return name


def check_target(target: object, *, job: str) -> str:
    if not isinstance(target, str) or not TARGET_PATTERN.match(target):
        raise InputError(f"job {job}: target {target!r} must be 'module.path:function', e.g. "
                         "'acme.reports:nightly'.")
    return target

