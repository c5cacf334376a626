"""Which keys this process trusts, and reading the workspace manifest under them.

The trust anchor is a list of key fingerprints given from outside the
workspace's files: ``RISKOPS_TRUSTED_KEYS`` (comma or space separated; an
environment variable, a secret or config management put it there), else
``[trust] keys`` in ``riskops.toml``. With neither, the anchor is the root
key the database recorded at ``riskops init`` (with PostgreSQL that record
lives outside the workspace folder; with SQLite it does not, which is why a
pin is recommended). From the anchor the signed key chain is followed
(``keychain.resolve_trust``): rotations add keys, revocations remove them.

``keys/public.pem`` is a convenience copy for ``openssl`` and
``model_signing``; it is never what decides trust. One that is not a trusted
key is reported as a problem (a replaced key file is a tamper signal).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from riskops.config import ENV_TRUSTED_KEYS, Workspace, check_fingerprint
from riskops.errors import InputError, IntegrityError
from riskops.registry.keychain import (
    Statement,
    Trust,
    chain_document,
    fingerprint,
    parse_chain_document,
    resolve_trust,
)
from riskops.registry.manifest import VerifiedManifest, read_verified_manifest
from riskops.registry.signing import load_public_key

log = logging.getLogger(__name__)

CHAIN_NAME = "chain.json"


def chain_path(ws: Workspace) -> Path:
    """``keys/chain.json``: the published copy of the key chain, for replicas without a database."""
    return ws.keys_dir / CHAIN_NAME


def pinned_keys(ws: Workspace) -> tuple[tuple[str, ...], str]:
    """The pinned fingerprints and where they came from (``((), "")`` when none are pinned).

    Raises
    ------
    InputError
        If ``RISKOPS_TRUSTED_KEYS`` holds something that is not a fingerprint.
    """
    env = os.environ.get(ENV_TRUSTED_KEYS, "").strip()
    if env:
        try:
            pins = tuple(check_fingerprint(p, source=ENV_TRUSTED_KEYS)
                         for p in re.split(r"[,\s]+", env) if p)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        return pins, ENV_TRUSTED_KEYS
    if ws.settings.trusted_keys:
        return ws.settings.trusted_keys, f"[trust] keys in {ws.config_path.name}"
    return (), ""


def statements_from_rows(rows: Any) -> list[Statement]:
    return [Statement(row.body.encode(), {
        str(s["key"]): base64.b64decode(s["signature"])
        for s in json.loads(row.signatures)}) for row in rows]


def chain_statements(ws: Workspace, session: Any = None) -> tuple[list[Statement], str]:
    """The key chain from the database (the record), else from ``keys/chain.json``."""
    from riskops.storage import db, repository

    if session is not None:
        return statements_from_rows(repository.key_statements(session)), "database"
    try:
        with db.read_session(ws.database_url) as own:
            return statements_from_rows(repository.key_statements(own)), "database"
    except Exception as exc:  # a verifier-only replica, or the database is away
        log.warning("key chain not read from the database (%s); using %s", exc, chain_path(ws))
    try:
        raw = chain_path(ws).read_bytes()
    except FileNotFoundError:
        return [], str(chain_path(ws))
    return parse_chain_document(raw, source=str(chain_path(ws))), str(chain_path(ws))


def _public_pem_key(ws: Workspace) -> tuple[ec.EllipticCurvePublicKey | None, str | None]:
    try:
        return load_public_key(ws.public_key_path), None
    except IntegrityError as exc:
        return None, str(exc)


def workspace_trust(ws: Workspace, *, session: Any = None) -> Trust:
    """Follow the key chain from this process's anchor; problems are reported, not raised.

    Raises
    ------
    InputError
        For a malformed ``RISKOPS_TRUSTED_KEYS``.
    IntegrityError
        Only for a workspace with neither an anchor nor a usable ``public.pem``.
    """
    pins, pin_source = pinned_keys(ws)
    try:
        statements, chain_source = chain_statements(ws, session)
    except IntegrityError as exc:
        statements, chain_source = [], str(chain_path(ws))
        chain_problem: str | None = str(exc)
    else:
        chain_problem = None
    copy, copy_problem = _public_pem_key(ws)
    if not pins and not statements:
        if copy is None:
            raise IntegrityError(copy_problem or "no trusted key", [(ws.public_key_path.name,
                                                                   "no trusted key")])
        fp = fingerprint(copy)
        problems = (chain_problem,) if chain_problem else ()
        return Trust(source="keys/public.pem (no trust anchor recorded yet: riskops init "
                            "records one)", pins=(), current={fp: copy}, known={fp: copy},
                     problems=problems)
    source = pin_source or f"the root key recorded at init ({chain_source})"
    trust = resolve_trust(pins, statements, source=source,
                          extra_keys=[copy] if copy is not None else [])
    problems = list(trust.problems)
    if chain_problem:
        problems.insert(0, chain_problem)
    if copy is None:
        problems.append(f"keys/public.pem: {copy_problem}")
    elif fingerprint(copy) not in trust.current:
        problems.append(
            f"keys/public.pem is {fingerprint(copy)}, which is not a trusted key (trusted: "
            f"{trust.describe()}); it was replaced or is stale: riskops init restores it "
            "from the signing key")
    return replace(trust, problems=tuple(problems))


def read_workspace_manifest(ws: Workspace, trust: Trust | None = None) -> VerifiedManifest:
    """``manifest.json`` verified against the keys this process trusts (not ``public.pem``).

    Raises
    ------
    IntegrityError
        If no key is trusted, or the manifest is missing, malformed or signed
        by a key that is not trusted.
    """
    trust = trust if trust is not None else workspace_trust(ws)
    if not trust.current:
        reason = "; ".join(trust.problems) or "no trusted key"
        raise IntegrityError(f"no trusted signing key: {reason}", [("keys", reason)])
    return read_verified_manifest(ws.manifest_path, ws.signature_path, trust.current)


def trusted_pem(trust: Trust, key_id: str | None = None) -> bytes:
    """The PEM of a current trusted key (``key_id``, else the first), for tools that want a file."""
    from riskops.registry.keychain import public_pem

    keys: Mapping[str, ec.EllipticCurvePublicKey] = trust.current
    key = keys.get(key_id) if key_id else next(iter(keys.values()), None)
    if key is None:
        raise IntegrityError("no trusted signing key", [("keys", "no trusted key")])
    return public_pem(key).encode()


def publish_chain_file(ws: Workspace, statements: list[Statement]) -> bool:
    """Write ``keys/chain.json`` from the database's statements if it differs; True if written."""
    from riskops.files import atomic_write

    if not statements:
        return False
    body = chain_document(statements)
    path = chain_path(ws)
    try:
        if path.read_bytes() == body:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        fh.write(body)
    return True
