"""What a scoring request says besides its rows: tenant, request key, and its JSON body.

Shared by the ``/risk`` routes and the V2 routes, which refuse invalid input in
their own formats: each function takes ``invalid``, which turns a list of
``{field, reason, type}`` errors into the exception that route raises (the
``/risk`` routes' ``InvalidBody``, the V2 routes' 422 ``V2Error``). Errors name
the field, never the submitted value. ``json_error_reason`` words why a JSON
document was refused for every JSON-reading path: these, the V2 ``features``
strings, and the routes whose body FastAPI parses (``app.py``'s error handler).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException
from starlette.requests import ClientDisconnect, Request

from riskops.registry.service import TENANT

#: Turns ``{field, reason, type}`` errors into the exception a route answers 422 with.
Refusal = Callable[[list[dict[str, Any]]], Exception]


def field_error(field: str, kind: str, reason: str) -> dict[str, str]:
    """One ``{field, reason, type}`` error, as every refusal lists them."""
    return {"field": field, "reason": reason, "type": kind}

DEFAULT_TENANT = "default"
#: Longest ``X-Request-Key`` used for canary routing; longer keys are cut to it.
REQUEST_KEY_MAX = 256


def request_tenant(request: Request, *, invalid: Refusal) -> str:
    """The ``X-Tenant-ID`` header (``default`` without one); ``invalid`` if malformed."""
    return tenant_of(request.headers.get("x-tenant-id"), invalid=invalid)


def tenant_of(value: str | None, *, invalid: Refusal,
              field: str = "header.X-Tenant-ID") -> str:
    """The tenant an ``X-Tenant-ID`` value (HTTP header or gRPC metadata, named ``field``
    in errors) names; ``default`` for None; ``invalid`` if malformed."""
    tenant = DEFAULT_TENANT if value is None else value
    if not TENANT.fullmatch(tenant):
        raise invalid([field_error(field, "pattern", "must be 1-128 letters, digits or _.:@- "
                                                      "starting with a letter or digit")])
    return tenant


def request_key(request: Request) -> str:
    """The ``X-Request-Key`` header that keeps one entity on one canary side; ``""`` if none."""
    return request.headers.get("x-request-key", "")[:REQUEST_KEY_MAX]


async def body_bytes(request: Request) -> bytes:
    """The whole request body; 400 if the client went away before sending it."""
    try:
        return await request.body()
    except ClientDisconnect:
        raise HTTPException(400, "the client closed the connection before the body "
                                 "arrived.") from None


async def json_body(request: Request, *, invalid: Refusal) -> Any:
    """The request body parsed as JSON; ``invalid`` if empty or not JSON, 400 if the client
    went away before sending it."""
    raw = await body_bytes(request)
    if not raw.strip():
        raise invalid([field_error("body", "missing", "request body is empty; send a JSON "
                                                      "object")])
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise invalid([field_error("body", "json_invalid", json_error_reason(exc))]) from None


def json_error_reason(exc: ValueError | RecursionError, *,
                      invalid: str = "not valid UTF-8 JSON") -> str:
    """Why ``json.loads`` refused a document, for the client; ``invalid`` says what the
    document is not (for a syntax error, with where it went wrong).

    ``json.loads`` raises ``JSONDecodeError`` for bad syntax, ``UnicodeDecodeError``
    for bytes that are not UTF-8, a plain ``ValueError`` for an integer literal over
    Python's limit on digits (``sys.get_int_max_str_digits()``, 4300 by default) and
    ``RecursionError`` for deep nesting.
    """
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply"
    if isinstance(exc, json.JSONDecodeError):
        return f"{invalid} at line {exc.lineno} column {exc.colno}"
    if not isinstance(exc, UnicodeDecodeError) and "integer string conversion" in str(exc):
        return (f"an integer literal has more than {sys.get_int_max_str_digits()} digits "
                "(Python's int limit); send numbers as plain JSON numbers of sensible size")
    return invalid
