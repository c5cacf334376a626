"""The FastAPI application: scoring, feedback, outcomes, insights, registry views, health.

``create_app(ws)`` builds one app per process. Its lifespan starts the process's
``ServingState`` (``state.py``): loads and verifies the served models, starts
the group-commit inference log and a thread that watches for new manifests.
``riskops serve --workers N`` runs N such processes (``app_from_env`` is the
uvicorn factory). The Open Inference Protocol routes are added from ``v2.py``;
with ``--grpc-port`` the lifespan also runs its gRPC form (``v2_grpc.py``).

Every scoring request: authenticate → validate → ``service.score_and_record``
(route → score → append the predictions to the inference log and wait for
their commit) → respond. A response is only sent for predictions that are
durably recorded; if the log cannot take them, the client gets 503 and may
retry.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Path, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from riskops import metrics
from riskops.config import Workspace, open_workspace
from riskops.errors import (
    BodyTooLarge,
    ConcurrentUpdate,
    InputError,
    IntegrityError,
    InvalidBody,
    PredictionsNotRecorded,
    RiskopsError,
    UnknownPrediction,
)
from riskops.roles import PERMISSIONS
from riskops.scenarios.base import Scenario
from riskops.serving import schemas
from riskops.serving.auth import (
    INSIGHTS_ROLES,
    READER_ROLES,
    REVIEWER_ROLES,
    SCORER_ROLES,
    TokenCache,
    authenticate_unless_open,
    permit,
    require,
)
from riskops.serving.batcher import ArrivalMiddleware, settle_arrival
from riskops.serving.body_timeout import BodyTimeoutMiddleware
from riskops.serving.limits import BodyLimitMiddleware
from riskops.serving.pool import Snapshot
from riskops.serving.records import PredictionRecord
from riskops.serving.request_inputs import (
    json_body,
    json_error_reason,
    request_key,
    request_tenant,
)
from riskops.serving.service import score_and_record
from riskops.serving.settings import ServingSettings, serving_settings
from riskops.serving.state import ServingState, serving_state
from riskops.tokens import Identity

#: A version number in a path: 1 .. 2**31 - 1 (an INTEGER column on PostgreSQL); anything
#: else is 422 naming ``path.version``, never a database overflow.
_VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _unprocessable(errors: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": errors})


def _rows(state: ServingState, scenario: str, body: Any) -> tuple[list[dict[str, Any]], bool]:
    model = state.request_models[scenario]
    items, batch = (body, True) if isinstance(body, list) else ([body], False)
    if batch and not items:
        raise InvalidBody([{"field": "body", "type": "too_short",
                            "reason": "batch is empty; send at least one row"}])
    if len(items) > state.settings.max_batch:
        raise HTTPException(413, f"batch of {len(items)} rows is over the limit of "
                                 f"{state.settings.max_batch}; split it.")
    rows, errors = [], []
    for i, item in enumerate(items):
        try:
            rows.append(schemas.validated_row(model, item))
        except ValidationError as exc:
            errors += schemas.field_errors(exc, prefix=("body", i) if batch else ("body",))
    if errors:
        raise InvalidBody(errors[:50])
    return rows, batch


async def _score(request: Request, scenario: str, rows: list[dict[str, Any]],
                 *, batch: bool, with_plan: bool = False) -> Response:
    """Score validated ``rows`` and answer with their audit fields: one object, or
    ``{"items": [...]}`` for a batch."""
    state = serving_state(request)
    tenant = request_tenant(request, invalid=InvalidBody)
    settle_arrival(request.scope, state.batcher)  # validated; it queues for the model now
    records = await score_and_record(state, scenario, rows, tenant=tenant,
                                     request_key=request_key(request))
    spec = state.scenarios.get(scenario)  # a custom one may have gone since it was scored
    body = [_risk_item(record, spec, with_plan) for record in records]
    return JSONResponse({"items": body} if batch else body[0])


def _risk_item(record: PredictionRecord, scenario: Scenario | None,
               with_plan: bool) -> dict[str, Any]:
    out = {
        "prediction_id": record.id, "scenario": record.scenario, "tenant_id": record.tenant_id,
        "risk_score": record.score, "risk_label": record.label,
        "risk_score_method": record.method, "risk_model_version": record.model_version,
        "risk_threshold": record.threshold, "model_id": record.model_name,
        "manifest_version": record.manifest_version, "reasons": list(record.reasons),
    }
    if with_plan and scenario is not None:
        out["plan"] = scenario.plan(record.score, record.inputs)  # type: ignore[attr-defined]
    return out


def _scoring_body(scenario: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schemas.component_name(scenario, 'Features')}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "oneOf": [ref, {"type": "array", "items": ref, "minItems": 1}]}}}}}


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ServingState = app.state.serving
    grpc_server = None
    try:
        await run_in_threadpool(state.start)
        if state.settings.grpc_address:
            from riskops.serving.v2_grpc import start_server

            grpc_server = await start_server(state, app.state.tokens,
                                             state.settings.grpc_address)
    except BaseException:
        await run_in_threadpool(state.close)  # no writer thread or connection left behind
        raise
    try:
        yield
    finally:
        if grpc_server is not None:
            await grpc_server.stop(grace=5)
        await run_in_threadpool(state.close)


def create_app(ws: Workspace | None = None, *, settings: ServingSettings | None = None) -> FastAPI:
    """The scoring API for workspace ``ws`` (default: ``$RISKOPS_HOME``)."""
    ws = ws or open_workspace()
    settings = settings or serving_settings(ws)
    app = FastAPI(
        title="riskops", version=_version(), lifespan=_lifespan,
        description="Governed risk scoring: every score comes from a verified, approved model "
                    "or the scenario's heuristic, and is durably logged with its audit fields.",
    )
    state = ServingState(ws, settings)
    app.state.serving = state
    app.state.tokens = TokenCache(ws)
    app.add_middleware(ArrivalMiddleware, batcher=state.batcher)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(BodyTimeoutMiddleware, seconds=settings.body_timeout_seconds)
    _install_error_handlers(app)
    _add_components(app, state)
    _add_scoring_routes(app, state)
    _add_review_routes(app)
    _add_registry_routes(app)
    _add_ops_routes(app, settings)
    from riskops.serving.console import add_console_routes
    add_console_routes(app)
    from riskops.serving.v2 import add_v2_routes
    add_v2_routes(app)
    return app


def _version() -> str:
    from riskops import __version__

    return __version__


def _add_components(app: FastAPI, state: ServingState) -> None:
    """Put each scenario's feature model in the OpenAPI components."""
    original = app.openapi

    built_for: list[Any] = [None]  # the catalog the cached document describes

    def openapi() -> dict[str, Any]:
        catalog = state.catalog()
        if app.openapi_schema and built_for[0] is catalog:
            return app.openapi_schema
        app.openapi_schema = None  # the served scenarios changed: describe them anew
        spec = original()
        components = spec.setdefault("components", {}).setdefault("schemas", {})
        for model in [*catalog.request_models.values(), state.incident_text_model]:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(schema.pop("$defs", {}))
            components[model.__name__] = schema
        _add_custom_paths(spec, [n for n in catalog.custom if n in catalog.request_models])
        app.openapi_schema = spec
        built_for[0] = catalog
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def _add_custom_paths(spec: dict[str, Any], names: list[str]) -> None:
    """A ``POST /risk/{name}`` path per custom scenario, shaped like a reference one's."""
    template = spec.get("paths", {}).get("/risk/fraud", {}).get("post", {})
    for name in names:
        # Merged into the path item: a scenario named like a GET route keeps that route.
        spec["paths"].setdefault(f"/risk/{name}", {})["post"] = {
            "tags": ["scoring"],
            "summary": f"Score {name.replace('_', ' ').title()}",
            "description": f"Score one {name} decision (a JSON object of its features) or "
                           "a batch (a JSON array of them). A custom scenario, served from "
                           "the signed definition of its live version.",
            "operationId": f"score_{name}_risk_{name}_post",
            **_scoring_body(name),
            "responses": copy.deepcopy(template.get("responses", {})),
            "security": copy.deepcopy(template.get("security", [])),
        }


def _add_scoring_routes(app: FastAPI, state: ServingState) -> None:
    for name in state.scenarios:
        _add_scenario_route(app, name)

    @app.post("/risk/{scenario}", tags=["scoring"], response_model=schemas.ScoreResponse,
              responses={404: {"description": "unknown scenario"}})
    async def score_custom(scenario: str, request: Request,
                           _: Identity = Depends(require(*SCORER_ROLES))) -> Response:
        """A custom scenario, served from the signed definition of its live version (its
        own path in the OpenAPI document); any other name: 404 naming the served ones."""
        if scenario not in state.scenarios:
            raise HTTPException(404, f"unknown scenario {scenario[:64]!r}; scenarios served "
                                     f"here: {', '.join(state.scenarios)}.")
        rows, batch = _rows(state, scenario, await json_body(request, invalid=InvalidBody))
        return await _score(request, scenario, rows, batch=batch)

    @app.post("/plan/compliance", tags=["scoring"], response_model=schemas.ScoreResponse,
              openapi_extra=_scoring_body("compliance"))
    async def plan_compliance(request: Request,
                              _: Identity = Depends(require(*SCORER_ROLES))) -> Response:
        """Compliance risk plus the recommended plan of tiered actions."""
        rows, batch = _rows(state, "compliance", await json_body(request, invalid=InvalidBody))
        return await _score(request, "compliance", rows, batch=batch, with_plan=True)

    @app.post("/risk", tags=["scoring"], response_model=schemas.ScoreResponse,
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": {
                      "$ref": "#/components/schemas/IncidentReport"}}}}})
    async def triage_incident(request: Request,
                              _: Identity = Depends(require(*SCORER_ROLES))) -> Response:
        """Triage an incident report (the ``incident`` scenario) from its text; ``source``
        and ``service_tier`` are optional here."""
        body = await json_body(request, invalid=InvalidBody)
        try:
            row = schemas.validated_row(state.incident_text_model, body)
        except ValidationError as exc:
            raise InvalidBody(schemas.field_errors(exc, prefix=("body",))[:50]) from None
        return await _score(request, "incident", [row], batch=False)


def _add_scenario_route(app: FastAPI, name: str) -> None:
    async def endpoint(request: Request,
                       _: Identity = Depends(require(*SCORER_ROLES))) -> Response:
        state = serving_state(request)
        rows, batch = _rows(state, name, await json_body(request, invalid=InvalidBody))
        return await _score(request, name, rows, batch=batch)

    endpoint.__name__ = f"score_{name}"
    endpoint.__doc__ = (f"Score one {name} decision (a JSON object of its features) or a batch "
                        "(a JSON array of them).")
    app.post(f"/risk/{name}", tags=["scoring"], response_model=schemas.ScoreResponse,
             openapi_extra=_scoring_body(name))(endpoint)


def _critical_label_check(ws: Workspace, prediction_id: str) -> dict[str, Any] | None:
    """The critical-labels rollback rule after a critical label; never fails the feedback
    (it is stored): an error is logged and the rule runs again on the next label or job."""
    from riskops.governance.auto_rollback import after_critical_feedback

    try:
        return after_critical_feedback(ws, prediction_id, now=datetime.now(UTC))
    except Exception as exc:
        logging.getLogger(__name__).error("rollback rule after critical feedback on %s "
                                          "failed: %s", prediction_id, exc)
        return {"status": "failed", "error": type(exc).__name__}


def _add_review_routes(app: FastAPI) -> None:
    from riskops.serving import feedback_store

    @app.post("/feedback", tags=["feedback"])
    async def post_feedback(body: schemas.FeedbackIn, request: Request,
                            who: Identity = Depends(require(*REVIEWER_ROLES))) -> Any:
        """Record a reviewer's label, override or severity for a prediction."""
        state = serving_state(request)
        stored = await run_in_threadpool(
            lambda: feedback_store.record_feedback(
                state.ws.database_url, prediction_id=body.prediction_id, actor=who.actor,
                label=body.label, override=body.override, severity=body.severity,
                comment=body.comment))
        if body.severity == "critical":
            # Committed above: the rollback rule sees this label (governance.auto_rollback).
            rollback = await run_in_threadpool(_critical_label_check, state.ws,
                                               body.prediction_id)
            if rollback is not None:
                stored["rollback"] = rollback
        return stored

    @app.get("/feedback/{prediction_id}", tags=["feedback"])
    async def get_feedback(prediction_id: str, request: Request,
                           _: Identity = Depends(require(*REVIEWER_ROLES))) -> Any:
        """The prediction (inputs, score, version) and its feedback."""
        state = serving_state(request)
        if not schemas.PREDICTION_ID.fullmatch(prediction_id):
            raise HTTPException(404, "no prediction with that id.")
        return await run_in_threadpool(feedback_store.prediction_with_feedback,
                                       state.ws.database_url, prediction_id)

    @app.post("/outcomes", tags=["feedback"])
    async def post_outcomes(body: schemas.OutcomesIn, request: Request,
                            who: Identity = Depends(require(*REVIEWER_ROLES))) -> Any:
        """Ground-truth labels for performance monitoring; all or nothing."""
        state = serving_state(request)
        if len(body.outcomes) > state.settings.max_batch:
            raise HTTPException(413, f"{len(body.outcomes)} outcomes is over the limit of "
                                     f"{state.settings.max_batch}; split them.")
        items = [o.model_dump() for o in body.outcomes]
        count = await run_in_threadpool(
            lambda: feedback_store.record_outcomes(state.ws.database_url, items,
                                                   actor=who.actor))
        return {"recorded": count}

    @app.get("/risk/insights", tags=["feedback"])
    async def insights(request: Request,
                       _: Identity = Depends(require(*INSIGHTS_ROLES))) -> Any:
        """Per scenario and tenant: override rate, feedback, versions live, error budget,
        last drift and performance results; canary and production side by side."""
        from riskops.governance.slo_status import slo_status
        from riskops.serving.stage_insights import stages_side_by_side

        state = serving_state(request)
        now = datetime.now(UTC)
        rows = await run_in_threadpool(
            lambda: feedback_store.insights(state.ws.database_url, now=now))
        slo = await run_in_threadpool(lambda: slo_status(state.ws, now=now))
        stages = await run_in_threadpool(
            lambda: stages_side_by_side(state.ws.database_url, state.pool.snapshot,
                                        state.scenarios, now=now))
        return {
            "generated_at": now.isoformat(),
            "scenarios": rows,
            "canary": stages,
            "live": _live(state.pool.snapshot),
            "error_budget_remaining": {s.scenario: s.budget_remaining for s in slo},
            "slo": [s.as_dict() for s in slo],
            "monitoring": _last_monitoring(state.ws),
        }


def _last_monitoring(ws: Workspace) -> Any:
    try:
        from riskops.monitoring.job import last_results
    except ImportError:
        return None
    return last_results(ws)


def _live(snapshot: Snapshot) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, slot in snapshot.slots.items():
        out[name] = {
            "production": slot.production.version if slot.production else None,
            "canary": ({"version": slot.canary.version, "percent": slot.canary_percent}
                       if slot.canary else None),
            "pins": {t: (v.version if v else "heuristic") for t, v in slot.pins.items()},
            # What scores each live version: its checked fast path, or its estimator and why.
            "scoring": {str(v.version): {"path": v.scoring_path,
                                         **({"why": v.estimator_reason}
                                            if v.estimator_reason else {})}
                        for v in slot.versions()},
        }
    return out


def _add_registry_routes(app: FastAPI) -> None:
    from riskops.registry.service import Registry

    @app.get("/models", tags=["registry"])
    async def list_models(request: Request,
                          _: Identity = Depends(require(*READER_ROLES))) -> Any:
        """Registered models with their live stage pointers."""
        return await run_in_threadpool(Registry(serving_state(request).ws).list_models)

    @app.get("/models/{name}", tags=["registry"])
    async def show_model(name: str, request: Request,
                         _: Identity = Depends(require(*READER_ROLES))) -> Any:
        """One model: versions, metrics, artifacts, stages."""
        return await run_in_threadpool(Registry(serving_state(request).ws).show_model, name[:128])

    @app.get("/models/{name}/versions/{version}/gates", tags=["governance"])
    async def gates(name: str, version: _VersionPath, request: Request,
                    stage: Literal["production", "canary", "staging"] = "production",
                    _: Identity = Depends(permit("read"))) -> Any:
        """Every promotion gate of a version with pass/fail and its evidence."""
        from riskops.governance.gates import evaluate_gates
        from riskops.serving.smoke import smoke_test

        ws = serving_state(request).ws
        report = await run_in_threadpool(evaluate_gates, ws, name[:128], version, stage=stage,
                                         smoke_test=smoke_test)
        return report.as_dict()

    @app.post("/models/{name}/versions/{version}/approvals", tags=["governance"])
    async def approvals(name: str, version: _VersionPath, body: schemas.ApprovalIn,
                        request: Request, who: Identity = Depends(permit("approve"))) -> Any:
        """Approve or reject a version under a role the caller holds."""
        from riskops.governance.approvals import decide

        ws = serving_state(request).ws
        return await run_in_threadpool(
            lambda: decide(ws, who, name[:128], version, decision=body.decision,
                           role=body.role, comment=body.comment,
                           revalidation=body.revalidation))

    @app.get("/inventory", tags=["governance"])
    async def inventory(request: Request, overdue: bool = False,
                        format: Literal["json", "csv"] = "json",
                        _: Identity = Depends(permit("read"))) -> Any:
        """The model-risk inventory: every model with owner, tier, state, last validation,
        next re-validation due date and open alerts (``format=csv`` for a spreadsheet)."""
        from riskops.governance.inventory import csv_rows
        from riskops.governance.inventory import inventory as read_inventory

        ws = serving_state(request).ws
        entries = await run_in_threadpool(lambda: read_inventory(ws, overdue_only=overdue))
        if format == "csv":
            return Response(csv_rows(entries), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition":
                                     'attachment; filename="model-inventory.csv"'})
        return {"models": entries}

    @app.post("/models/{name}/promote", tags=["governance"])
    async def promote(name: str, body: schemas.PromoteIn, request: Request,
                      who: Identity = Depends(permit("promote"))) -> Any:
        """Move a stage pointer once every gate passes (409 lists the failing gates)."""
        from riskops.governance.promotion import promote as governed_promote
        from riskops.serving.smoke import smoke_test

        ws = serving_state(request).ws
        return await run_in_threadpool(
            lambda: governed_promote(ws, who, name[:128], body.version, stage=body.stage,
                                     percent=body.percent, break_glass=body.break_glass,
                                     smoke_test=smoke_test))

    @app.post("/models/{name}/rollback", tags=["governance"])
    async def rollback(name: str, body: schemas.RollbackIn, request: Request,
                       who: Identity = Depends(permit("rollback"))) -> Any:
        """Put production back on the previous version, on ``to``, or on the heuristic."""
        from riskops.governance.promotion import rollback as governed_rollback

        ws = serving_state(request).ws
        return await run_in_threadpool(
            lambda: governed_rollback(ws, who, name[:128], to=body.to,
                                      fallback_heuristic=body.fallback == "heuristic"))

    @app.post("/models/{name}/retire", tags=["governance"])
    async def retire(name: str, body: schemas.RetireIn, request: Request,
                     who: Identity = Depends(permit("retire"))) -> Any:
        """Take a model out of service: every replica answers from the heuristic."""
        from riskops.governance.promotion import retire as governed_retire

        ws = serving_state(request).ws
        return await run_in_threadpool(
            lambda: governed_retire(ws, who, name[:128], reason=body.reason))

    @app.post("/models/{name}/pins", tags=["governance"])
    async def pin(name: str, body: schemas.PinIn, request: Request,
                  who: Identity = Depends(permit("pin"))) -> Any:
        """Route one tenant to a fixed version, or to the heuristic."""
        from riskops.governance.promotion import pin as governed_pin

        if (body.version is None) == (not body.heuristic):
            raise InvalidBody([{"field": "body.version", "reason": "give exactly one of "
                                "version or heuristic: true", "type": "value_error"}])
        ws = serving_state(request).ws
        return await run_in_threadpool(
            lambda: governed_pin(ws, who, name[:128], body.tenant, body.version))

    @app.delete("/models/{name}/pins/{tenant}", tags=["governance"])
    async def unpin(name: str, tenant: str, request: Request,
                    who: Identity = Depends(permit("pin"))) -> Any:
        """Remove a tenant's pin."""
        from riskops.governance.promotion import unpin as governed_unpin

        ws = serving_state(request).ws
        return await run_in_threadpool(
            lambda: governed_unpin(ws, who, name[:128], tenant[:128]))


def _add_ops_routes(app: FastAPI, settings: ServingSettings) -> None:
    def open_or(roles: tuple[str, ...], is_open: bool) -> Any:
        def dependency(request: Request) -> None:
            authenticate_unless_open(request, roles, is_open=is_open)
        return dependency

    @app.get("/health", tags=["ops"],
             dependencies=[Depends(open_or(READER_ROLES, settings.open_health))])
    async def health() -> dict[str, str]:
        """The process is up and answering."""
        return {"status": "ok"}

    @app.get("/ready", tags=["ops"],
             dependencies=[Depends(open_or(READER_ROLES, settings.open_health))])
    async def ready(request: Request) -> Response:
        """200 when the manifest verified and every routed model loaded; else 503 and why."""
        snapshot = serving_state(request).pool.snapshot
        body = {"ready": snapshot.ready, "manifest_version": snapshot.manifest_version,
                "loaded_at": snapshot.loaded_at.isoformat() if snapshot.loaded_at else None,
                "manifest_sha256": snapshot.sha256, "signed_by": snapshot.signed_by,
                "models": _live(snapshot), "problems": list(snapshot.problems),
                "ml_enabled": serving_state(request).settings.ml_enabled}
        return JSONResponse(body, status_code=200 if snapshot.ready else 503)

    @app.get("/metrics", tags=["ops"],
             dependencies=[Depends(open_or(PERMISSIONS["metrics"], settings.open_metrics))])
    async def prometheus_metrics(request: Request) -> Response:
        """Prometheus text exposition, merged across workers; error budgets from the log."""
        await run_in_threadpool(serving_state(request).slo_gauge.refresh)
        payload, content_type = metrics.render()
        return Response(payload, media_type=content_type)

    @app.post("/api/v1/ml/model-monitoring/run", tags=["ops"])
    async def monitoring_run(request: Request, body: schemas.MonitoringRunIn | None = None,
                             _: Identity = Depends(permit("operate"))) -> Any:
        """Run the model-monitoring job now (drift and performance checks)."""
        from riskops.monitoring.job import run_model_monitoring

        metadata = {"tenantIds": body.tenantIds} if body and body.tenantIds else {}
        result = await run_in_threadpool(run_model_monitoring, serving_state(request).ws, metadata)
        return {"driftChecked": result.get("driftChecked", 0),
                "performanceChecked": result.get("performanceChecked", 0),
                "events": result.get("events", [])}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # FastAPI parses the bodies of the routes with a body model (feedback, outcomes,
        # approvals, ...); json.loads refusals other than a syntax error (over-long
        # integers, bytes that are not UTF-8, deep nesting) become a bare 400 "There was
        # an error parsing the body" raised from them. Answer as a syntax error is
        # answered there (422) and as /risk words it.
        # A streamed body over the limit is hidden the same way; BodyLimitMiddleware
        # answers it with 413 once it gets the BodyTooLarge back.
        cause = exc.__cause__
        if exc.status_code == 400 and isinstance(cause, BodyTooLarge):
            raise cause
        if exc.status_code == 400 and isinstance(cause, ValueError | RecursionError):
            return _unprocessable([{"field": "body", "type": "json_invalid",
                                    "reason": json_error_reason(cause)}])
        return await http_exception_handler(request, exc)

    @app.exception_handler(InvalidBody)
    async def invalid_body(_: Request, exc: InvalidBody) -> JSONResponse:
        return _unprocessable(exc.errors)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors()[:50]:
            errors.append({"field": ".".join(str(p) for p in err.get("loc", ())) or "body",
                           "reason": str(err.get("msg", "invalid")),
                           "type": str(err.get("type", "invalid"))})
        return _unprocessable(errors)

    @app.exception_handler(PredictionsNotRecorded)
    async def not_recorded(_: Request, exc: PredictionsNotRecorded) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)},
                            headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(RiskopsError)
    async def riskops_error(_: Request, exc: RiskopsError) -> JSONResponse:
        from riskops.errors import ApprovalRefused, PermissionDenied
        from riskops.governance.promotion import GatesFailed

        if isinstance(exc, PermissionDenied):
            return JSONResponse(status_code=403, content={"detail": str(exc)})
        status = 404 if _is_not_found(exc) else 409 if isinstance(exc, ConcurrentUpdate) \
            else 422 if isinstance(exc, InputError) else 409
        content: dict[str, Any] = {"detail": str(exc)}
        if isinstance(exc, GatesFailed):
            content.update(kind="gates", gates=exc.report.as_dict())
        elif isinstance(exc, ApprovalRefused):
            content["kind"] = "approval"
        elif isinstance(exc, ConcurrentUpdate):
            content["kind"] = "concurrent"
        elif isinstance(exc, IntegrityError):
            content.update(kind="integrity", failures=[{"path": path, "reason": reason}
                                                       for path, reason in exc.failures])
        return JSONResponse(status_code=status, content=content)


def _is_not_found(exc: Exception) -> bool:
    from riskops.errors import UnknownModel, UnknownVersion
    from riskops.scenarios import UnknownScenario

    return isinstance(exc, UnknownModel | UnknownVersion | UnknownScenario | UnknownPrediction)


def app_from_env() -> FastAPI:
    """uvicorn factory for ``--workers N``: the workspace from ``$RISKOPS_HOME``."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return create_app()

