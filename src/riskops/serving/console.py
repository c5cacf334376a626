"""The web console at ``/console``: a page, its script and style, and the reads it needs.

The page is a static shell from the package (``console_assets/``); its
script asks for a token, keeps it in ``sessionStorage`` (this tab only, gone
when the tab closes) and sends it as ``Authorization: Bearer`` on every call.
No cookie is ever set, so a forged cross-site form carries no credentials and
there is nothing for CSRF to ride on; the token never enters a URL, so no
access log or referrer holds it. State changes (approve, reject, promote) go
to the same governed endpoints the command line uses, which check roles: the
page only hides what ``/console/api/me`` says the user may not do.

Every console response carries a strict Content-Security-Policy: scripts
and styles from this origin only (no inline code, no CDN), no frames, no
form posts, connections to this origin only. The page renders every value
with ``textContent``, never as HTML.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from riskops.roles import PERMISSIONS, allowed
from riskops.serving.auth import INSIGHTS_ROLES, permit
from riskops.serving.state import serving_state
from riskops.tokens import Identity

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
#: Headers on every console response (the page, its assets and its JSON).
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: The files the console serves, by name: nothing else under ``console_assets`` is reachable.
ASSETS = {
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
MAX_AUDIT_ENTRIES = 500
MAX_HISTORY_DAYS = 3660


def _asset(name: str) -> bytes:
    return resources.files("riskops.serving").joinpath("console_assets", name).read_bytes()


class ConsoleHeaders:
    """ASGI middleware: ``SECURITY_HEADERS`` on every response under ``/console``, whatever
    its status (a 401, 404 or 422 replaces the route's response, so a route dependency
    could not add them)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._raw = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                     for k, v in SECURITY_HEADERS.items()]
        self._names = {k for k, _ in self._raw}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != "/console" and not path.startswith("/console/"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", [])
                        if k.lower() not in self._names]
                message = {**message, "headers": kept + self._raw}
            await send(message)

        await self.app(scope, receive, with_headers)


def add_console_routes(app: FastAPI) -> None:
    """``GET /console``, its assets, and the JSON reads under ``/console/api``."""
    app.add_middleware(ConsoleHeaders)

    @app.api_route("/console", methods=["GET", "HEAD"], include_in_schema=False)
    async def console_page() -> Response:
        return Response(_asset("index.html"), media_type="text/html; charset=utf-8")

    @app.get("/console/assets/{name}", include_in_schema=False)
    async def console_asset(name: str) -> Response:
        if name not in ASSETS:
            raise HTTPException(404, "no such console asset.")
        return Response(_asset(name), media_type=ASSETS[name])

    @app.get("/console/api/me", tags=["console"])
    async def me(who: Identity = Depends(permit("read"))) -> Any:
        """Who the token is and what the console may offer them (the server still checks)."""
        may = {action: allowed(action, who.roles) for action in
               ("approve", "promote", "rollback", "review", "operate")}
        may["insights"] = "admin" in who.roles or any(r in INSIGHTS_ROLES for r in who.roles)
        signoff_roles = sorted(r for r in who.roles if r in PERMISSIONS["approve"])
        return {"actor": who.actor, "roles": list(who.roles), "may": may,
                "signoff_roles": signoff_roles}

    @app.get("/console/api/models", tags=["console"])
    async def models(request: Request, _: Identity = Depends(permit("read"))) -> Any:
        """Every model: stages, how many versions, the newest, retired or not."""
        from riskops.governance.signoff_board import model_summaries

        ws = serving_state(request).ws
        return {"models": await run_in_threadpool(model_summaries, ws)}

    @app.get("/console/api/models/{name}", tags=["console"])
    async def versions(name: str, request: Request,
                       _: Identity = Depends(permit("read"))) -> Any:
        """One model's versions, newest first, with stages and approval verdicts."""
        from riskops.governance.signoff_board import version_board

        ws = serving_state(request).ws
        return await run_in_threadpool(version_board, ws, name[:128])

    @app.get("/console/api/pending", tags=["console"])
    async def pending(request: Request, _: Identity = Depends(permit("read"))) -> Any:
        """Versions waiting for sign-off, with the roles still missing."""
        from riskops.governance.signoff_board import pending_approvals

        ws = serving_state(request).ws
        return {"pending": await run_in_threadpool(pending_approvals, ws)}

    @app.get("/console/api/monitoring", tags=["console"])
    async def monitoring(request: Request,
                         model: str | None = Query(None, max_length=160),
                         tenant: str | None = Query(None, max_length=128),
                         days: int = Query(90, ge=1, le=MAX_HISTORY_DAYS),
                         _: Identity = Depends(permit("read"))) -> Any:
        """Drift and performance over time: the models with history, and ``model``'s points."""
        from riskops.storage.monitoring_points import MAX_POINTS, monitored_models, read_series

        url = serving_state(request).ws.database_url
        names = await run_in_threadpool(monitored_models, url)
        if model is None:
            return {"models": names, "model": None, "points": []}
        if model not in names:
            raise HTTPException(404, f"no monitoring history for model {model!r}; "
                                     "run `riskops monitor run` first.")
        since = datetime.now(UTC) - timedelta(days=days)
        points = await run_in_threadpool(
            lambda: read_series(url, model, tenant_id=tenant, since=since,
                                limit=MAX_POINTS + 1))
        truncated = len(points) > MAX_POINTS  # the oldest point is the extra one
        return {"models": names, "model": model, "tenant": tenant, "days": days,
                "truncated": truncated, "points": points[1:] if truncated else points}

    @app.get("/console/api/audit", tags=["console"])
    async def audit(request: Request,
                    limit: int = Query(50, ge=1, le=MAX_AUDIT_ENTRIES),
                    _: Identity = Depends(permit("read"))) -> Any:
        """The newest audit entries and whether the whole chain verifies."""
        from riskops.governance.audit_log_view import recent_with_verdict

        ws = serving_state(request).ws
        return await run_in_threadpool(recent_with_verdict, ws, limit)
