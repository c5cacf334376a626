"""Jobs riskops ships itself: ``integrity-check`` and ``events-dispatch``."""

from __future__ import annotations

from typing import Any

from riskops.config import Workspace
from riskops.errors import IntegrityError
from riskops.metrics import MODEL_INTEGRITY_FAILURES


def integrity_check(ws: Workspace, metadata: dict[str, Any]) -> dict[str, Any]:
    """Verify the signed manifest and every artifact, like ``riskops verify``.

    ``metadata`` may name ``model`` (and ``version``) to check only those.
    On failure emits ``model_integrity_failed`` (one event naming every
    failing file) and raises :class:`IntegrityError`, so the run is failed.
    """
    from riskops.registry.verification import verify_workspace

    model = metadata.get("model")
    version = metadata.get("version")
    if model is not None and not isinstance(model, str):
        raise ValueError(f"metadata model must be a model name, got {model!r}")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise ValueError(f"metadata version must be an integer, got {version!r}")
    report = verify_workspace(ws, model, version)
    summary = {"status": "pass" if report.ok else "fail",
               "manifest_version": report.manifest_version,
               "versions_checked": len(report.checked), "files_checked": report.files_checked,
               "bytes_checked": report.bytes_checked}
    if report.ok:
        return summary
    from riskops.events import emit_now

    failures = [f.as_dict() for f in report.failures]
    models = sorted({f.path.split("/")[1] for f in report.failures
                     if f.path.startswith("models/") and f.path.count("/") >= 2})
    subject = models[0] if len(models) == 1 else ws.manifest_path.name
    for name in models or [subject]:
        MODEL_INTEGRITY_FAILURES.labels(model=name).inc()
    emit_now(ws, type="model_integrity_failed", subject=subject,
             data={**summary, "models": models, "failures": failures,
                   "problem": f"{len(failures)} integrity failure(s)"},
             source="riskops/jobs")
    shown = "; ".join(f"{f.path}: {f.reason}" for f in report.failures[:5])
    more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
    raise IntegrityError(f"integrity check failed: {shown}{more}; run 'riskops verify' for the "
                         "full report.", [(f.path, f.reason) for f in report.failures])


def events_dispatch(ws: Workspace, metadata: dict[str, Any]) -> dict[str, Any]:
    """One delivery pass over the event outbox (``Dispatcher(ws).run_once()``)."""
    from riskops.events.dispatcher import Dispatcher

    outcome = Dispatcher(ws).run_once()
    if isinstance(outcome, dict):
        return outcome
    if hasattr(outcome, "as_dict"):
        return outcome.as_dict()  # type: ignore[no-any-return]
    if isinstance(outcome, int):
        return {"delivered": outcome}
    return {"result": None if outcome is None else str(outcome)}
