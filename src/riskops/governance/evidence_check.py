"""`riskops evidence verify DIR`: check an evidence bundle offline, with only its files.

No workspace, no database: the bundle carries the signed manifest, the public
key and the audit chain up to the manifest's ``audit_head``, so every check
runs on the folder alone::

    verify_bundle(Path("fraud-3-evidence"))                        # trust its public.pem
    verify_bundle(Path("fraud-3-evidence"), public_key=Path("k.pem"))  # pin the key

Without ``public_key`` the checks prove the bundle is consistent and signed by
*the key it carries*; anyone can make a forged bundle with a key of their own.
Pin the workspace key obtained out of band to prove who signed it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from riskops.audit_chain import AuditEntry, find_chain_problem
from riskops.errors import InputError, IntegrityError
from riskops.governance.digests import artifacts_digest
from riskops.registry.manifest import Manifest, parse_manifest
from riskops.registry.signing import load_public_key, verify_bytes

SCHEMA = "riskops.evidence-bundle/v1"
SUMS = "SHA256SUMS"
SUMS_SIG = "SHA256SUMS.sig"
BUNDLE = "bundle.json"
MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.json.sig"
PUBLIC_KEY = "public.pem"
INTEGRITY = "model-integrity.json"
EVALUATION = "evaluation-report.json"
REPRODUCIBILITY = "reproducibility-report.json"
SCORE_DELTA = "score-delta.json"
BIAS = "bias-report.json"
DRIFT = "drift-scan.json"
APPROVALS = "approvals.json"
GATES = "gates.json"
BREAK_GLASS = "break-glass.json"
AUDIT_LOG = "audit-log.json"
SECURITY = "security-scan.json"
SUMMARY = "summary.md"
MODEL_CARD = "model-card.json"
MODEL_CARD_MD = "model-card.md"
INCIDENTS = "incidents.json"
#: Every file a bundle holds besides SHA256SUMS and its signature, all listed in SHA256SUMS.
LISTED_FILES = (BUNDLE, MANIFEST, MANIFEST_SIG, PUBLIC_KEY, INTEGRITY, EVALUATION,
                REPRODUCIBILITY, SCORE_DELTA, BIAS, DRIFT, APPROVALS, GATES, BREAK_GLASS,
                AUDIT_LOG, SECURITY, SUMMARY, MODEL_CARD, MODEL_CARD_MD, INCIDENTS)
#: Reports copied byte for byte from the version's artifacts (their digests are signed).
COPIED_REPORTS = (EVALUATION, REPRODUCIBILITY)


@dataclass(frozen=True)
class Check:
    """One check of a bundle: its name, pass or fail, and a sentence naming the file."""

    name: str
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": "ok" if self.passed else "fail",
                "detail": self.detail}


@dataclass(frozen=True)
class BundleCheck:
    """Every check of one bundle; ``ok`` when none failed."""

    folder: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failing(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def as_dict(self) -> dict[str, Any]:
        return {"status": "pass" if self.ok else "fail", "folder": self.folder,
                "checks": [c.as_dict() for c in self.checks]}


class _Bad(Exception):
    """A check's failure; the message names the file and the rule."""


def sha256_sums(files: dict[str, bytes]) -> bytes:
    """The ``SHA256SUMS`` text (``sha256sum`` format, sorted by path) of ``files``.

    Examples
    --------
    >>> sha256_sums({"b.txt": b"", "a.txt": b"x"}).decode().splitlines()[1]
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  b.txt'
    """
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n"
                   for name, data in sorted(files.items())).encode()


def verify_bundle(folder: Path, *, public_key: Path | None = None) -> BundleCheck:
    """Run every check of the evidence bundle in ``folder``; a failed check never raises.

    Parameters
    ----------
    folder : Path
        The bundle written by ``riskops evidence MODEL VERSION --out DIR``.
    public_key : Path, optional
        The workspace public key the auditor trusts (PEM). When given, the
        bundle's ``public.pem`` must be this key; otherwise the bundle is
        only checked against the key it carries.

    Returns
    -------
    BundleCheck
        One ``Check`` per rule, in order: public key, SHA256SUMS signature,
        file digests, unlisted files, manifest signature, model version,
        audit chain (with the break-glass entries and incidents tied to it),
        approvals.

    Raises
    ------
    InputError
        ``folder`` is not a folder, or ``public_key`` is not a readable P-256 PEM key.
    """
    if not folder.is_dir():
        raise InputError(f"evidence bundle {folder} is not a folder; give the DIR written by "
                         "riskops evidence MODEL VERSION --out DIR.")
    pinned = None
    if public_key is not None:
        try:
            pinned = load_public_key(public_key)
        except IntegrityError as exc:
            raise InputError(f"--public-key: {exc}") from None
    key: list[ec.EllipticCurvePublicKey] = []
    checks = [
        _run("public key", lambda: _public_key(folder, pinned, key)),
        _run("SHA256SUMS signature", lambda: _sums_signature(folder, key)),
        _run("file digests", lambda: _digests(folder)),
        _run("unlisted files", lambda: _unlisted(folder)),
        _run("manifest signature", lambda: _manifest_signature(folder, key)),
        _run("model version", lambda: _model_version(folder)),
        _run("audit chain", lambda: _audit_chain(folder)),
        _run("approvals", lambda: _approvals(folder)),
    ]
    return BundleCheck(folder=str(folder), checks=tuple(checks))


def _run(name: str, check: Callable[[], str]) -> Check:
    try:
        return Check(name, True, check())
    except _Bad as exc:
        return Check(name, False, str(exc))


# --- reading the bundle ----------------------------------------------------------------


def _read(folder: Path, name: str) -> bytes:
    path = folder / name
    if path.is_symlink() or not path.is_file():
        raise _Bad(f"{name} is missing (or not a regular file)")
    return path.read_bytes()


def _json(folder: Path, name: str) -> Any:
    try:
        return json.loads(_read(folder, name))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Bad(f"{name} is not valid JSON ({exc})") from None


def _object(folder: Path, name: str) -> dict[str, Any]:
    value = _json(folder, name)
    if not isinstance(value, dict):
        raise _Bad(f"{name} must hold a JSON object, not {type(value).__name__}")
    return value


def _manifest(folder: Path) -> Manifest:
    try:
        return parse_manifest(_read(folder, MANIFEST), subject=MANIFEST)
    except IntegrityError as exc:
        raise _Bad(str(exc)) from None


def _subject(folder: Path) -> tuple[str, int]:
    bundle = _object(folder, BUNDLE)
    model, version = bundle.get("model"), bundle.get("version")
    if not isinstance(model, str) or not isinstance(version, int):
        raise _Bad(f"{BUNDLE} must name the model (text) and the version (integer)")
    return model, version


def _listed(folder: Path) -> dict[str, str]:
    """``SHA256SUMS`` as path -> digest; ``_Bad`` naming the first malformed line."""
    try:
        text = _read(folder, SUMS).decode()
    except UnicodeDecodeError:
        raise _Bad(f"{SUMS} is not UTF-8 text") from None
    listed: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest) \
                or not name or "/" in name or name in listed:
            raise _Bad(f"{SUMS} line {number} is not '<sha256>  <file>' for a new file "
                       "of the bundle")
        listed[name] = digest
    return listed


# --- the checks ------------------------------------------------------------------------


def _public_key(folder: Path, pinned: ec.EllipticCurvePublicKey | None,
                found: list[ec.EllipticCurvePublicKey]) -> str:
    try:
        key = load_public_key(folder / PUBLIC_KEY)
    except IntegrityError as exc:
        raise _Bad(f"{PUBLIC_KEY}: {exc}") from None
    found.append(key)
    if pinned is None:
        return (f"{PUBLIC_KEY} is a P-256 key; not pinned: the checks below prove who signed "
                "only with --public-key")
    if _der(key) != _der(pinned):
        raise _Bad(f"{PUBLIC_KEY} is not the pinned --public-key: the bundle was signed by "
                   "another key (re-signed or forged)")
    return f"{PUBLIC_KEY} is the pinned key"


def _der(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def _signature(folder: Path, key: list[ec.EllipticCurvePublicKey], name: str, sig: str) -> str:
    if not key:
        raise _Bad(f"{sig} cannot be checked: {PUBLIC_KEY} is unusable")
    data, signature = _read(folder, name), _read(folder, sig)
    try:
        verify_bytes(key[0], data, signature, subject=sig)
    except IntegrityError:
        raise _Bad(f"{sig} does not verify {name} with {PUBLIC_KEY} ({name} or {sig} edited, "
                   "or signed by another key)") from None
    return f"{sig} verifies {name} with {PUBLIC_KEY}"


def _sums_signature(folder: Path, key: list[ec.EllipticCurvePublicKey]) -> str:
    return _signature(folder, key, SUMS, SUMS_SIG)


def _manifest_signature(folder: Path, key: list[ec.EllipticCurvePublicKey]) -> str:
    return _signature(folder, key, MANIFEST, MANIFEST_SIG)


def _digests(folder: Path) -> str:
    listed = _listed(folder)
    problems = []
    for name in LISTED_FILES:
        if name not in listed:
            problems.append(f"{name} is not listed in {SUMS}")
    for name, digest in sorted(listed.items()):
        path = folder / name
        if path.is_symlink() or not path.is_file():
            problems.append(f"{name} is missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{name} does not match its digest in {SUMS} (edited)")
    if problems:
        raise _Bad("; ".join(problems))
    return f"{len(listed)} files match {SUMS}"


def _unlisted(folder: Path) -> str:
    listed = set(_listed(folder)) | {SUMS, SUMS_SIG}
    extra = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                   if str(p.relative_to(folder)) not in listed)
    if extra:
        raise _Bad(f"not listed in {SUMS}: {', '.join(extra)} (added after signing)")
    return f"every file is listed in {SUMS}"


def _model_version(folder: Path) -> str:
    model, version = _subject(folder)
    manifest = _manifest(folder)
    entry = manifest.models.get(model)
    if entry is None or str(version) not in entry.versions:
        raise _Bad(f"{MANIFEST} does not list {model} v{version} (named in {BUNDLE})")
    signed = sorted((a.path, a.sha256, a.size) for a in entry.versions[str(version)].artifacts)
    bundle = _object(folder, BUNDLE)
    claimed = sorted((a.get("path"), a.get("sha256"), a.get("size"))
                     for a in bundle.get("artifacts") or [] if isinstance(a, dict))
    if claimed != signed:
        raise _Bad(f"the artifacts in {BUNDLE} differ from those {MANIFEST} lists for "
                   f"{model} v{version}")
    by_name = {path.rsplit("/", 1)[-1]: digest for path, digest, _ in signed}
    for name in COPIED_REPORTS:
        digest = hashlib.sha256(_read(folder, name)).hexdigest()
        if name in by_name and by_name[name] != digest:
            raise _Bad(f"{name} is not the artifact {MANIFEST} lists for {model} v{version} "
                       "(its SHA-256 differs)")
    summary = _read(folder, SUMMARY).decode(errors="replace")
    unnamed = [path for path, digest, _ in signed if digest not in summary]
    if unnamed:
        raise _Bad(f"{SUMMARY} does not show the digest of {', '.join(unnamed)}")
    integrity = _object(folder, INTEGRITY)
    if integrity.get("manifest_version") != manifest.manifest_version:
        raise _Bad(f"{INTEGRITY} checked manifest v{integrity.get('manifest_version')}, the "
                   f"bundle holds v{manifest.manifest_version}")
    checked = integrity.get("versions") or []
    if {"model": model, "version": version, "status": "pass"} not in checked \
            or integrity.get("status") != "pass":
        raise _Bad(f"{INTEGRITY} does not report {model} v{version} as verified "
                   f"(status {integrity.get('status')!r})")
    return (f"{MANIFEST} v{manifest.manifest_version} lists {model} v{version} with "
            f"{len(signed)} artifacts, matching {BUNDLE}, {SUMMARY}, the copied reports and "
            f"{INTEGRITY}")


def _audit_chain(folder: Path) -> str:
    log = _object(folder, AUDIT_LOG)
    head = _manifest(folder).audit_head
    if head is None:
        raise _Bad(f"{MANIFEST} records no audit_head; nothing ties {AUDIT_LOG} to it")
    try:
        entries = [AuditEntry(seq=int(e["seq"]), ts=str(e["ts"]), actor=str(e["actor"]),
                              action=str(e["action"]), subject=str(e["subject"]),
                              data=str(e["data"]), prev_hash=str(e["prev_hash"]),
                              hash=str(e["hash"]))
                   for e in log.get("entries") or []]
    except (KeyError, TypeError, ValueError) as exc:
        raise _Bad(f"{AUDIT_LOG}: an entry lacks or mistypes a field ({exc})") from None
    problem = find_chain_problem(entries)
    if problem is not None:
        raise _Bad(f"{AUDIT_LOG}: {problem.reason}")
    if not entries or (entries[-1].seq, entries[-1].hash) != (head.seq, head.hash):
        last = f"entry {entries[-1].seq}" if entries else "no entry"
        raise _Bad(f"{AUDIT_LOG} ends at {last}, not at the signed audit_head of {MANIFEST} "
                   f"(entry {head.seq}): entries deleted, added or rewritten")
    by_seq = {e.seq: e for e in entries}
    about = log.get("about_version")
    if not isinstance(about, list) or any(s not in by_seq for s in about):
        raise _Bad(f"{AUDIT_LOG}: about_version must list seqs of its entries")
    glass = _json(folder, BREAK_GLASS)
    if not isinstance(glass, list):
        raise _Bad(f"{BREAK_GLASS} must hold a JSON list")
    for item in glass:
        seq = item.get("seq") if isinstance(item, dict) else None
        if seq not in by_seq or by_seq[seq].hash != item.get("hash"):
            raise _Bad(f"{BREAK_GLASS}: entry {seq} is not an entry of the chain in {AUDIT_LOG}")
    incidents = _incidents(folder)
    return (f"{len(entries)} entries chain from genesis to the signed audit_head "
            f"(entry {head.seq}); {len(about)} about this version, {len(glass)} break-glass; "
            f"{incidents}")


def _approvals(folder: Path) -> str:
    model, version = _subject(folder)
    state = _object(folder, APPROVALS)
    manifest = _manifest(folder)
    entry = manifest.models.get(model)
    if entry is None or str(version) not in entry.versions:
        raise _Bad(f"{MANIFEST} does not list {model} v{version}")
    signed = entry.versions[str(version)]
    digest = artifacts_digest((a.path, a.sha256, a.size) for a in signed.artifacts)
    if (state.get("model"), state.get("version")) != (model, version):
        raise _Bad(f"{APPROVALS} is about {state.get('model')} v{state.get('version')}, "
                   f"not {model} v{version}")
    if state.get("artifacts_sha256") != digest:
        raise _Bad(f"{APPROVALS}: artifacts_sha256 is not the digest of the artifacts "
                   f"{MANIFEST} lists ({digest[:12]})")
    fields = ("user", "role", "decision", "at", "comment", "artifacts_sha256")
    given = [{k: d.get(k) for k in fields} for d in state.get("decisions") or []
             if isinstance(d, dict)]
    listed = [{k: d.get(k) for k in fields} for d in signed.approvals]
    if given != listed:
        raise _Bad(f"{APPROVALS}: the decisions differ from those signed in {MANIFEST}")
    return (f"{len(given)} decisions as signed in {MANIFEST}, all on artifacts "
            f"{digest[:12]}")


def _incidents(folder: Path) -> str:
    """Each incident is about the bundle's version and names its rollback's audit entry,
    an entry of the chain in the bundle (same seq and hash, a rollback of this model)."""
    model, version = _subject(folder)
    document = _object(folder, INCIDENTS)
    items = document.get("incidents")
    if not isinstance(items, list):
        raise _Bad(f"{INCIDENTS} must list its incidents under 'incidents'")
    log = _object(folder, AUDIT_LOG)
    by_seq = {e.get("seq"): e for e in log.get("entries") or [] if isinstance(e, dict)}
    for item in items:
        if not isinstance(item, dict) or item.get("model") != model or version not in (
                item.get("from_version"), item.get("to_version")):
            raise _Bad(f"{INCIDENTS}: an incident is not about {model} v{version}")
        record = item.get("record") if isinstance(item.get("record"), dict) else {}
        audit = record.get("audit") if isinstance(record.get("audit"), dict) else {}
        entry = by_seq.get(audit.get("seq"))
        if entry is None or entry.get("hash") != audit.get("hash") \
                or entry.get("action") != "model.rolled_back":
            raise _Bad(f"{INCIDENTS}: incident {item.get('id')} names audit entry "
                       f"{audit.get('seq')}, which is not a rollback in {AUDIT_LOG}")
        try:
            data = json.loads(entry.get("data") or "{}")
        except ValueError:
            data = {}
        if data.get("model") != model or data.get("from") != item.get("from_version") \
                or data.get("to") != item.get("to_version"):
            raise _Bad(f"{INCIDENTS}: incident {item.get('id')} does not match the rollback "
                       f"of audit entry {audit.get('seq')} ({data.get('from')} -> "
                       f"{data.get('to')})")
    return f"{len(items)} incidents, each tied to its rollback in {AUDIT_LOG}"
