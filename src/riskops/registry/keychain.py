"""The signing-key chain: which keys may sign a manifest, derived from signed statements.

A workspace's first key is recorded by a *root* statement at ``riskops init``.
Every later change of trust is a statement too, as TUF does with its root
metadata:

``rotate``
    introduces a new key; signed by the key it replaces (authority) and by the
    new key (proof of possession). The old key is then *superseded*: no longer
    valid for new manifests, still known, so what it signed earlier stays
    checkable.
``revoke``
    withdraws a key for good; signed by a trusted key other than the revoked one.

A verifier starts from its *pins* (fingerprints it was given outside the
workspace) and follows the chain: a statement is followed only when it is
anchored in what the verifier already trusts and its signatures verify.
A statement that claims a trusted key's authority but does not verify is a
forgery: the walk stops there and the problem is reported, so a forged
rotation never adds a key.

Everything here is pure (no files, no database): ``resolve_trust`` takes the
pins and the statements and returns a ``Trust``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from riskops.config import FINGERPRINT_PREFIX
from riskops.errors import IntegrityError
from riskops.registry.signing import sign_bytes, verify_bytes

STATEMENT_SCHEMA = "riskops.key-statement/v1"
CHAIN_SCHEMA = "riskops.key-chain/v1"
Kind = Literal["root", "rotate", "revoke"]


def fingerprint(key: ec.EllipticCurvePublicKey) -> str:
    """``sha256:`` and the hex SHA-256 of the key's DER SubjectPublicKeyInfo.

    The same value as ``openssl pkey -pubin -in public.pem -outform DER | sha256sum``.
    """
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return FINGERPRINT_PREFIX + hashlib.sha256(der).hexdigest()


def public_pem(key: ec.EllipticCurvePublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass(frozen=True)
class Statement:
    """One signed statement of the chain: its canonical body and its signatures."""

    body: bytes
    signatures: Mapping[str, bytes]  # fingerprint -> DER signature over body

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]

    @property
    def seq(self) -> int:
        return int(self.data["seq"])

    @property
    def kind(self) -> str:
        return str(self.data["kind"])

    @property
    def key(self) -> str:
        return str(self.data["key"])

    def as_json(self) -> dict[str, Any]:
        return {"statement": self.data,
                "signatures": [{"key": k, "signature": base64.b64encode(s).decode()}
                               for k, s in sorted(self.signatures.items())]}


def statement_body(data: dict[str, Any]) -> bytes:
    """The exact bytes that get signed: sorted keys, compact, UTF-8."""
    return json.dumps({"schema": STATEMENT_SCHEMA, **data}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False).encode()


def make_statement(data: dict[str, Any],
                   signers: Sequence[ec.EllipticCurvePrivateKey]) -> Statement:
    """A statement over ``data`` signed by each of ``signers``."""
    body = statement_body(data)
    return Statement(body, {fingerprint(k.public_key()): sign_bytes(k, body) for k in signers})


def statement_from_json(item: Any, *, source: str) -> Statement:
    """One ``{"statement": {...}, "signatures": [...]}`` entry; ``IntegrityError`` if malformed."""
    try:
        data = item["statement"]
        if not isinstance(data, dict) or data.get("schema") != STATEMENT_SCHEMA:
            raise ValueError("not a riskops key statement")
        body = statement_body({k: v for k, v in data.items() if k != "schema"})
        signatures = {str(s["key"]): base64.b64decode(s["signature"], validate=True)
                      for s in item["signatures"]}
        statement = Statement(body, signatures)
        if statement.kind not in ("root", "rotate", "revoke") or statement.seq < 1:
            raise ValueError("unknown kind or sequence number")
        statement.key  # noqa: B018 - present
    except (KeyError, TypeError, ValueError) as exc:
        raise IntegrityError(f"{source}: malformed key statement ({exc}).",
                             [(source, "malformed key statement")]) from None
    return statement


def chain_document(statements: Iterable[Statement]) -> bytes:
    """``keys/chain.json``: every statement in order, readable by replicas without the database."""
    doc = {"schema": CHAIN_SCHEMA, "statements": [s.as_json() for s in statements]}
    return (json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def parse_chain_document(raw: bytes, *, source: str) -> list[Statement]:
    try:
        doc = json.loads(raw)
        items = doc["statements"] if doc.get("schema") == CHAIN_SCHEMA else None
        if not isinstance(items, list):
            raise ValueError("not a riskops key chain")
    except (UnicodeDecodeError, ValueError, AttributeError, KeyError) as exc:
        raise IntegrityError(f"{source}: malformed key chain ({exc}).",
                             [(source, "malformed key chain")]) from None
    return [statement_from_json(item, source=f"{source} statement {n}")
            for n, item in enumerate(items, start=1)]


@dataclass(frozen=True)
class Trust:
    """What a verifier trusts after following the chain from its pins.

    ``current`` may sign manifests now; ``known`` adds the superseded keys
    (what they signed before a rotation stays checkable); ``revoked`` are
    never trusted again. ``problems`` is empty when the chain was followed
    to its end without a forged or missing statement. ``heads`` holds the
    chain's running digest after each statement up to ``seq``
    (``chain_heads``), so a verifier can tell a chain that extends the one
    it saw from one that was rewritten.
    """

    source: str
    pins: tuple[str, ...]
    current: Mapping[str, ec.EllipticCurvePublicKey]
    known: Mapping[str, ec.EllipticCurvePublicKey]
    revoked: frozenset[str] = frozenset()
    seq: int = 0
    root: str | None = None
    problems: tuple[str, ...] = field(default=())
    heads: tuple[str, ...] = field(default=())

    @property
    def head(self) -> str:
        """The digest of the chain up to ``seq`` (``""`` for an empty chain)."""
        return self.heads[-1] if self.heads else ""

    def describe(self) -> str:
        keys = ", ".join(sorted(self.current)) or "none"
        return f"{keys} (from {self.source})"


def chain_heads(statements: Sequence[Statement]) -> tuple[str, ...]:
    """The running digest after each of ``statements`` (in order): a hash chain over their bodies.

    Two chains with the same head at the same length hold the same statements;
    signatures are left out (only a key's holder can make one, and a bad one
    stops the walk anyway).
    """
    heads: list[str] = []
    head = ""
    for statement in statements:
        head = hashlib.sha256(head.encode() + statement.body).hexdigest()
        heads.append(head)
    return tuple(heads)


def without_revoked(trust: Trust, revoked: frozenset[str]) -> tuple[Trust, str | None]:
    """``trust`` with ``revoked`` (keys revoked in a chain seen before) never trusted again.

    A key the chain presented now still trusts although it was seen revoked
    means the revocation was removed (an emptied, shortened or forked chain):
    it is dropped from ``current`` and ``known``, and the problem (also added
    to ``problems``) is returned beside the new ``Trust``; else ``None``.
    """
    forgotten = sorted(revoked & (set(trust.current) | set(trust.known)))
    if not forgotten:
        return replace(trust, revoked=trust.revoked | revoked), None
    problem = (f"key {', '.join(forgotten)} was revoked in the key chain this host followed "
               f"before, but the chain presented now ({trust.source}) does not revoke it: the "
               "revocation was removed; the key is never trusted again here, and what it signs "
               "is refused")
    return replace(trust, revoked=trust.revoked | revoked,
                   current={k: v for k, v in trust.current.items() if k not in revoked},
                   known={k: v for k, v in trust.known.items() if k not in revoked},
                   problems=(*trust.problems, problem)), problem


def _load_pem(text: Any, expected: str, seq: int) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(str(text).encode())
    except (ValueError, TypeError):
        raise ValueError(f"statement {seq} holds a malformed public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError(f"statement {seq} holds a key that is not ECDSA P-256")
    if fingerprint(key) != expected:
        raise ValueError(f"statement {seq}: its public key is {fingerprint(key)}, "
                         f"not {expected} as it claims")
    return key


def _signed_by(statement: Statement, key_id: str,
               key: ec.EllipticCurvePublicKey | None) -> bool:
    signature = statement.signatures.get(key_id)
    if key is None or signature is None:
        return False
    try:
        verify_bytes(key, statement.body, signature, subject=f"key statement {statement.seq}")
    except IntegrityError:
        return False
    return True


def resolve_trust(pins: Sequence[str], statements: Sequence[Statement], *, source: str,
                  extra_keys: Iterable[ec.EllipticCurvePublicKey] = ()) -> Trust:
    """Follow ``statements`` from ``pins`` (or, with no pins, from the root statement).

    ``extra_keys`` supply public keys for pinned fingerprints the chain does
    not carry (``keys/public.pem`` of a workspace without a chain): a key is
    only ever used when its fingerprint is trusted.
    """
    ordered = sorted(statements, key=lambda s: s.seq)
    problems: list[str] = []
    pems: dict[str, ec.EllipticCurvePublicKey] = {fingerprint(k): k for k in extra_keys}
    usable: list[Statement] = []
    for expected, statement in enumerate(ordered, start=1):
        if statement.seq != expected:
            problems.append(f"key chain is broken: statement {expected} is missing "
                            f"(found {statement.seq}); statements from there are not followed")
            break
        data = statement.data
        if "public_key" in data:
            try:
                pems.setdefault(statement.key, _load_pem(data["public_key"], statement.key,
                                                         statement.seq))
            except ValueError as exc:
                problems.append(f"key chain: {exc}; statements from there are not followed")
                break
        usable.append(statement)
    # The workspace's identity is its first root key; without pins the anchor is its
    # newest root (a re-anchoring after a lost key; whoever can write the chain's
    # record is trusted in that mode anyway, which is why pins are recommended).
    roots = [s.key for s in usable if s.kind == "root"]
    root = usable[0].key if usable and usable[0].kind == "root" else None
    trusted: list[str] = list(dict.fromkeys(pins)) if pins else roots[-1:]
    superseded: list[str] = []
    revoked: set[str] = set()
    seq = 0
    for statement in usable:
        kind, key = statement.kind, statement.key
        if kind == "root":
            if key in trusted and not _signed_by(statement, key, pems.get(key)):
                problems.append(f"key statement {statement.seq} (root {key}) is not signed by "
                                "its own key: forged; the chain is not followed")
                break
            if not pins and key in trusted:
                trusted, superseded = [key], [k for k in superseded if k != key]
        elif kind == "rotate":
            previous = str(statement.data.get("previous", ""))
            if previous not in trusted:
                seq = statement.seq
                continue  # before this verifier's pins, or from a key it never trusted
            if not (_signed_by(statement, previous, pems.get(previous))
                    and _signed_by(statement, key, pems.get(key))):
                problems.append(
                    f"key statement {statement.seq} (rotate {previous} -> {key}) is not signed "
                    f"by both keys: forged; the rotation is refused and the chain is not "
                    "followed further")
                break
            trusted.remove(previous)
            superseded.append(previous)
            if key not in revoked and key not in trusted:
                trusted.append(key)
        elif kind == "revoke":
            signers = [k for k in trusted if k != key]
            claimed = [k for k in statement.signatures if k in signers]
            if not claimed:
                seq = statement.seq
                continue  # not signed by anyone this verifier trusts
            if not any(_signed_by(statement, k, pems.get(k)) for k in claimed):
                problems.append(f"key statement {statement.seq} (revoke {key}) does not verify "
                                "with the key it names as signer: forged; not followed")
                break
            revoked.add(key)
            trusted = [k for k in trusted if k != key]
            superseded = [k for k in superseded if k != key]
        seq = statement.seq
    current = {k: pems[k] for k in trusted if k in pems}
    missing = [k for k in trusted if k not in pems]
    if missing and not current:  # a pin staged for a key not introduced yet is fine
        problems.append(f"no public key is known for trusted key {', '.join(missing)} (not in "
                        "the key chain, and keys/public.pem is another key)")
    if not current and not problems:
        problems.append("no trusted signing key is left (all revoked?)")
    known = {**{k: pems[k] for k in superseded if k in pems}, **current}
    return Trust(source=source, pins=tuple(pins), current=current, known=known,
                 revoked=frozenset(revoked), seq=seq, root=root, problems=tuple(problems),
                 heads=chain_heads(usable[:seq]))
