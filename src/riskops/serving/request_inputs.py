"""What a scoring request says besides its rows: tenant, request key, and its JSON body.

Shared by the ``/risk`` routes and the V2 routes, which refuse invalid input in
their own formats: each function takes ``invalid``, which turns a list of
``{field, reason, type}`` errors into the exception that route raises (the
``/risk`` routes' ``InvalidBody``, the V2 routes' 422 ``V2Error``). Errors name
the field, never the submitted value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException
from starlette.requests import ClientDisconnect, Request

from riskops.registry.service import TENANT

#: Turns ``{field, reason, type}`` errors into the exception a route answers 422 with.
Refusal = Callable[[list[dict[str, Any]]], Exception]

DEFAULT_TENANT = "default"
#: Longest ``X-Request-Key`` used for canary routing; longer keys are cut to it.
REQUEST_KEY_MAX = 256


def request_tenant(request: Request, *, invalid: Refusal) -> str:
    """The ``X-Tenant-ID`` header (``default`` without one); ``invalid`` if malformed."""
    tenant = request.headers.get("x-tenant-id", DEFAULT_TENANT)
    if not TENANT.fullmatch(tenant):
        raise invalid([{"field": "header.X-Tenant-ID", "type": "pattern",
                        "reason": "must be 1-128 letters, digits or _.:@- "
                                  "starting with a letter or digit"}])
    return tenant


def request_key(request: Request) -> str:
    """The ``X-Request-Key`` header that keeps one entity on one canary side; ``""`` if none."""
    return request.headers.get("x-request-key", "")[:REQUEST_KEY_MAX]


async def json_body(request: Request, *, invalid: Refusal) -> Any:
    """The request body parsed as JSON; ``invalid`` if empty or not JSON, 400 if the client
    went away before sending it."""
    try:
        raw = await request.body()
    except ClientDisconnect:
        raise HTTPException(400, "the client closed the connection before the body "
                                 "arrived.") from None
    if not raw.strip():
        raise invalid([{"field": "body", "type": "missing",
                        "reason": "request body is empty; send a JSON object"}])
    try:
        return json.loads(raw)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, integers over 4300 digits
        where = f" at line {exc.lineno} column {exc.colno}" \
            if isinstance(exc, json.JSONDecodeError) else ""
        raise invalid([{"field": "body", "type": "json_invalid",
                        "reason": f"not valid UTF-8 JSON{where}"}]) from None
    except RecursionError:
        raise invalid([{"field": "body", "type": "json_invalid",
                        "reason": "JSON nested too deeply"}]) from None
