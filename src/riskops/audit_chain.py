"""Hash-chained audit log: the maths, free of storage (storage and governance both use it).

Each entry's hash is ``SHA-256(prev_hash || canonical JSON of {seq, ts,
actor, action, subject, data})``. The first entry chains to ``GENESIS``.
Editing an entry breaks its own hash; recomputing that hash breaks the next
entry's ``prev_hash``; deleting, inserting or reordering entries breaks the
sequence or the chain. Deleting the newest entries is caught against the
head recorded in the signed manifest (``audit_head``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    ts: str
    actor: str
    action: str
    subject: str
    data: str  # canonical JSON
    prev_hash: str
    hash: str


def entry_hash(prev_hash: str, *, seq: int, ts: str, actor: str, action: str, subject: str,
               data: str) -> str:
    """The hash an entry must carry, given the hash of the entry before it."""
    body = canonical_json(
        {"seq": seq, "ts": ts, "actor": actor, "action": action, "subject": subject,
         "data": data}
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    """The first entry where the chain fails, and why."""

    seq: int
    reason: str


def find_chain_problem(entries: Iterable[AuditEntry]) -> ChainProblem | None:
    """Walk entries in ``seq`` order; return the first problem, or ``None``."""
    prev_hash = GENESIS
    expected_seq = 1
    for entry in entries:
        if entry.seq != expected_seq:
            what = "missing (deleted?)" if entry.seq > expected_seq else "out of order"
            return ChainProblem(expected_seq, f"entry {expected_seq} is {what}; found "
                                              f"entry {entry.seq} next")
        if entry.prev_hash != prev_hash:
            return ChainProblem(entry.seq, f"entry {entry.seq} does not chain to entry "
                                           f"{entry.seq - 1} (an entry before it was edited, "
                                           "inserted or deleted)")
        recomputed = entry_hash(prev_hash, seq=entry.seq, ts=entry.ts, actor=entry.actor,
                                action=entry.action, subject=entry.subject, data=entry.data)
        if recomputed != entry.hash:
            return ChainProblem(entry.seq, f"entry {entry.seq} ({entry.action} {entry.subject}) "
                                           "does not match its hash (edited after writing)")
        prev_hash = entry.hash
        expected_seq += 1
    return None
