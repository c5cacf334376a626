"""What the governance commands share: acting through a server, and printing gates.

Shared like ``common`` (``governance.py`` and ``models.py`` import it). With
``--url`` or ``$RISKOPS_URL`` a governance command acts through a running
server: an approver needs neither the database nor the signing key: the server
checks the token's roles with the same table the command line uses, runs the
same code, and answers with the same documents. HTTP errors become the same
exceptions (and exit codes) a local run raises.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from riskops.cli.common import err, out
from riskops.errors import (
    ApprovalRefused,
    CheckFailed,
    ConcurrentUpdate,
    InputError,
    InvalidToken,
    PermissionDenied,
    PromotionBlocked,
)

ENV_URL = "RISKOPS_URL"
UrlOption = Annotated[str | None, typer.Option(
    "--url", metavar="URL", help="Act through the server at URL (default: $RISKOPS_URL) "
    "instead of the local workspace.")]
TIMEOUT_SECONDS = 120.0


def server_url(url: str | None) -> str | None:
    """``--url``, else ``$RISKOPS_URL``, else ``None`` (act on the local workspace)."""
    chosen = url if url is not None else os.environ.get(ENV_URL)
    if chosen is None or not chosen.strip():
        return None
    chosen = chosen.strip().rstrip("/")
    if not chosen.startswith(("http://", "https://")):
        raise InputError(f"--url {chosen[:80]!r} must start with http:// or https://.")
    return chosen


def call(url: str, method: str, path: str, body: dict[str, Any] | None = None
         ) -> dict[str, Any]:
    """``method path`` on the server with ``$RISKOPS_TOKEN``; the JSON answer or an error."""
    import httpx

    token = os.environ.get("RISKOPS_TOKEN")
    if not token:
        raise PermissionDenied(f"--url {url}: set $RISKOPS_TOKEN to your API token; the server "
                               "checks its roles.")
    try:
        response = httpx.request(method, url + path, json=body, timeout=TIMEOUT_SECONDS,
                                 headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        raise InputError(f"--url {url}: cannot reach the server ({type(exc).__name__}: {exc}); "
                         "is riskops serve running there?") from None
    try:
        document = response.json()
    except ValueError:
        document = {"detail": response.text[:300]}
    if response.is_success:
        return document if isinstance(document, dict) else {"result": document}
    raise _error(response.status_code, document)


def _error(status: int, document: Any) -> Exception:
    detail = document.get("detail") if isinstance(document, dict) else document
    if isinstance(detail, list):  # 422: [{field, reason}]
        detail = "; ".join(f"{d.get('field')}: {d.get('reason')}" if isinstance(d, dict)
                           else str(d) for d in detail)
    text = f"server said {status}: {detail}"
    if status == 401:  # as locally: an unknown, revoked or disabled token is an input error
        return InvalidToken(f"$RISKOPS_TOKEN: {text}")
    if status == 403:
        return PermissionDenied(text)
    if status == 409:
        kind = document.get("kind") if isinstance(document, dict) else None
        error = {"gates": PromotionBlocked, "approval": ApprovalRefused,
                 "concurrent": ConcurrentUpdate}.get(kind or "", CheckFailed)(text)
        if isinstance(document, dict) and isinstance(document.get("gates"), dict):
            error.report_document = document["gates"]  # type: ignore[attr-defined]
        return error
    return InputError(text)


def print_gates(document: dict[str, Any]) -> None:
    """One line per gate, ``PASS``/``FAIL``, name and the sentence saying why."""
    stage = document["stage"]
    out.print(f"gates for {document['model']} v{document['version']} -> {stage}:", markup=False)
    if not document["gates"]:
        out.print("  (none: staging takes any version)")
    for gate in document["gates"]:
        mark = "PASS" if gate["status"] == "pass" else "FAIL"
        out.print(f"  {mark}  {gate['name']:<16} {gate['detail']}", markup=False)
    failing = document.get("failing") or []
    if failing:
        err.print(f"{len(failing)} gate(s) fail: {', '.join(failing)}", markup=False)
