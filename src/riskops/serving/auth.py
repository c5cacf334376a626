"""Bearer-token authentication and role checks for the HTTP API.

Tokens are the ones ``riskops token create`` makes; the server keeps a short
cache of digest → identity so a request costs a dictionary look-up, and
re-reads a digest after ``TOKEN_CACHE_SECONDS`` so a revocation takes effect
within that time on every replica. ``admin`` may call everything.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from fastapi import HTTPException, Request

from riskops.config import Workspace
from riskops.storage import db, repository
from riskops.tokens import Identity, hash_token

TOKEN_CACHE_SECONDS = 5.0
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

    def identity(self, token: str) -> Identity | None:
        digest = hash_token(token)
        now = time.monotonic()
        hit = self._entries.get(digest)
        if hit is not None and now - hit[1] < self._ttl:
            return hit[0]
        with db.read_session(self._ws.database_url) as session:
            row = repository.token_by_hash(session, digest)
            found = (Identity(name=row.name, role=row.role)
                     if row is not None and row.revoked_at is None else None)
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[digest] = (found, now)
        return found


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
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
    token = bearer_token(request)
    if token is None:
        raise _unauthorized("missing or malformed Authorization header; "
                            "send 'Authorization: Bearer <token>' (riskops token create).")
    cache: TokenCache = request.app.state.tokens
    identity = cache.identity(token)
    if identity is None:
        raise _unauthorized("unknown or revoked API token.")
    allowed = tuple(roles)
    if identity.role != "admin" and identity.role not in allowed:
        raise HTTPException(
            status_code=403,
            detail=f"token {identity.name!r} has role {identity.role!r}; this endpoint needs "
                   f"one of: {', '.join(allowed)} (or admin).",
        )
    return identity


def require(*roles: str) -> Callable[[Request], Identity]:
    """A FastAPI dependency admitting tokens with one of ``roles`` (or admin)."""

    def dependency(request: Request) -> Identity:
        return authenticate(request, roles)

    dependency.__name__ = f"require_{'_or_'.join(roles) or 'admin'}"
    return dependency
