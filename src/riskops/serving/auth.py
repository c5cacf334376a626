"""Bearer-token authentication and role checks for the HTTP API.

Tokens are the ones ``riskops token create`` makes; the server keeps a short
cache of digest → identity so a request costs a dictionary look-up, and
re-reads a digest after ``TOKEN_CACHE_SECONDS`` so a revocation takes effect
within that time on every replica; while the database cannot be read, a token due
for re-reading is answered 503 (never served from a stale entry: it may have been
revoked). ``admin`` may call everything.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from riskops.config import Workspace
from riskops.roles import PERMISSIONS
from riskops.storage import db
from riskops.tokens import Identity, hash_token, identity_of

log = logging.getLogger("riskops.serving")

TOKEN_CACHE_SECONDS = 5.0
#: ``Retry-After`` seconds of the 503 answered when the token store cannot be read.
TOKENS_RETRY_AFTER = 1
#: Who may score (``/risk``, ``/plan``, V2 infer); from the one role table, ``riskops.roles``.
SCORER_ROLES = PERMISSIONS["score"]
#: Who may review: feedback, outcomes, insights.
REVIEWER_ROLES = PERMISSIONS["review"]
#: Who may read ``GET /risk/insights``: reviewers, and platform owners who run the service.
INSIGHTS_ROLES = (*REVIEWER_ROLES, "platform_owner")
#: Who may read models, metadata and (when closed) health.
READER_ROLES = PERMISSIONS["read"]
_MAX_TOKEN_CHARS = 512


class TokenCache:
    """Digest → (identity or None, fetched at); thread-safe, bounded."""

    def __init__(self, ws: Workspace, *, ttl: float = TOKEN_CACHE_SECONDS,
                 max_entries: int = 10_000) -> None:
        self._ws = ws
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[str, tuple[Identity | None, float]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> tuple[bool, Identity | None]:
        """``(True, identity)`` from memory if fresh, else ``(False, None)``: no I/O."""
        hit = self._entries.get(hash_token(token))
        if hit is not None and time.monotonic() - hit[1] < self._ttl:
            return True, hit[0]
        return False, None

    def identity(self, token: str) -> Identity | None:
        fresh, found = self.cached(token)
        if fresh:
            return found
        digest = hash_token(token)
        now = time.monotonic()
        try:
            with db.read_session(self._ws.database_url) as session:
                found = identity_of(session, digest)
        except db.DatabaseError as exc:
            # The token cannot be checked, so the request is not served; it is the
            # database that failed, not the client: 503, never a 500 with a traceback.
            log.warning("API token not checked: %s", " ".join(str(exc).split())[:300])
            raise HTTPException(
                status_code=503, headers={"Retry-After": str(TOKENS_RETRY_AFTER)},
                detail="the API token cannot be checked because the database does not "
                       "answer; retry.") from None
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[digest] = (found, now)
        return found


def bearer_token(request: Request) -> str | None:
    return bearer_of(request.headers.get("authorization"))


def bearer_of(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` value (HTTP header or gRPC
    metadata); None when absent or malformed."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > _MAX_TOKEN_CHARS:
        return None
    return token.strip()


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(status_code=401, detail=reason,
                         headers={"WWW-Authenticate": 'Bearer realm="riskops"'})


def authenticate(request: Request, roles: Iterable[str]) -> Identity:
    """The caller's identity if its token is valid and holds one of ``roles``."""
    token = _token_or_401(request)
    cache: TokenCache = request.app.state.tokens
    return _check(cache.identity(token), roles)


async def authenticate_async(request: Request, roles: Iterable[str]) -> Identity:
    """``authenticate`` without leaving the event loop when the token is cached."""
    return await authenticate_header(request.app.state.tokens,
                                     request.headers.get("authorization"), roles)


async def authenticate_header(cache: TokenCache, header: str | None,
                              roles: Iterable[str]) -> Identity:
    """The identity of the ``Authorization`` value ``header`` if it holds one of ``roles``;
    401/403 ``HTTPException`` otherwise. Shared by HTTP and gRPC."""
    token = bearer_of(header)
    if token is None:
        raise _missing_token()
    fresh, identity = cache.cached(token)
    if not fresh:
        identity = await run_in_threadpool(cache.identity, token)
    return _check(identity, roles)


def authenticate_unless_open(request: Request, roles: Iterable[str], *, is_open: bool) -> None:
    """The rule of the health and metrics endpoints: open when configured so, else a token
    with one of ``roles``."""
    if not is_open:
        authenticate(request, roles)


def _token_or_401(request: Request) -> str:
    token = bearer_token(request)
    if token is None:
        raise _missing_token()
    return token


def _missing_token() -> HTTPException:
    return _unauthorized("missing or malformed Authorization header; "
                         "send 'Authorization: Bearer <token>' (riskops token create).")


def _check(identity: Identity | None, roles: Iterable[str]) -> Identity:
    if identity is None:
        raise _unauthorized("unknown or revoked API token.")
    wanted = tuple(roles)
    if "admin" not in identity.roles and not set(identity.roles) & set(wanted):
        raise HTTPException(
            status_code=403,
            detail=f"user {identity.name!r} holds {identity.role or 'no role'}; this endpoint "
                   f"needs one of: {', '.join(wanted)} (or admin).",
        )
    return identity


def permit(action: str) -> Callable[[Request], Awaitable[Identity]]:
    """A FastAPI dependency admitting holders of a role the role table allows ``action``."""
    return require(*PERMISSIONS[action])


def require(*roles: str) -> Callable[[Request], Awaitable[Identity]]:
    """A FastAPI dependency admitting tokens with one of ``roles`` (or admin)."""

    async def dependency(request: Request) -> Identity:
        return await authenticate_async(request, roles)

    dependency.__name__ = f"require_{'_or_'.join(roles) or 'admin'}"
    return dependency
