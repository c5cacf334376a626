"""The hash-chained audit log: the pure chain maths against an independent
oracle, then every tamper case on a real SQLite workspace through
`riskops audit-log verify`."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import admin_token, make_model_dir
from riskops.audit_chain import GENESIS, AuditEntry, entry_hash, find_chain_problem
from riskops.config import Workspace, open_workspace
from riskops.registry.service import Registry
from riskops.storage import db
from riskops.workspace import init_workspace

# --- an independent oracle -----------------------------------------------------------


def _json_string(value: str) -> str:
    """A JSON string literal, written out by hand (ASCII-safe inputs only)."""
    assert all(32 <= ord(c) < 127 for c in value), value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def oracle_hash(prev: str, seq: int, ts: str, actor: str, action: str, subject: str,
                data: str) -> str:
    """SHA-256 of prev_hash + canonical JSON, the canonical JSON spelled out by hand:
    keys sorted, no spaces, UTF-8."""
    body = (
        "{"
        f'"action":{_json_string(action)},'
        f'"actor":{_json_string(actor)},'
        f'"data":{_json_string(data)},'
        f'"seq":{seq},'
        f'"subject":{_json_string(subject)},'
        f'"ts":{_json_string(ts)}'
        "}"
    )
    return hashlib.sha256((prev + body).encode("utf-8")).hexdigest()


def build_chain(rows: list[tuple[str, str, str, str, str]]) -> list[AuditEntry]:
    """Entries 1..n from (ts, actor, action, subject, data), hashed by the oracle."""
    chain, prev = [], "0" * 64
    for seq, (ts, actor, action, subject, data) in enumerate(rows, start=1):
        digest = oracle_hash(prev, seq, ts, actor, action, subject, data)
        chain.append(AuditEntry(seq, ts, actor, action, subject, data, prev, digest))
        prev = digest
    return chain


def rehash(entry: AuditEntry) -> AuditEntry:
    """The entry with its own hash recomputed (what a careful forger does)."""
    return dataclasses.replace(entry, hash=oracle_hash(
        entry.prev_hash, entry.seq, entry.ts, entry.actor, entry.action, entry.subject,
        entry.data))


ROWS = [
    ("2025-01-01T00:00:00+00:00", "riskops-init", "workspace.initialized", "/ws", '{"mv":1}'),
    ("2025-01-01T00:01:00+00:00", "local:ann", "model.registered", "fraud/1", '{"v":1}'),
    ("2025-01-01T00:02:00+00:00", "local:ann", "model.registered", "fraud/2", '{"v":2}'),
    ("2025-01-01T00:03:00+00:00", "alice", "model.promoted", "fraud/1", '{"to":1}'),
    ("2025-01-01T00:04:00+00:00", "alice", "model.rolled_back", "fraud/1", '{"to":1}'),
]


@pytest.fixture
def chain() -> list[AuditEntry]:
    return build_chain(ROWS)


# --- entry_hash ----------------------------------------------------------------------


def test_genesis_is_64_zeros() -> None:
    assert GENESIS == "0" * 64


def test_entry_hash_matches_a_known_vector() -> None:
    body = ('{"action":"a","actor":"b","data":"{\\"k\\":1}","seq":1,"subject":"s",'
            '"ts":"t"}')
    expected = hashlib.sha256(("0" * 64 + body).encode()).hexdigest()
    got = entry_hash("0" * 64, seq=1, ts="t", actor="b", action="a", subject="s",
                     data='{"k":1}')
    assert got == expected


def test_entry_hash_keeps_non_ascii_as_utf8() -> None:
    body = '{"action":"a","actor":"bjørn","data":"{}","seq":2,"subject":"modèle","ts":"t"}'
    expected = hashlib.sha256(("f" * 64 + body).encode("utf-8")).hexdigest()
    assert entry_hash("f" * 64, seq=2, ts="t", actor="bjørn", action="a", subject="modèle",
                      data="{}") == expected


def test_entry_hash_agrees_with_the_oracle(chain: list[AuditEntry]) -> None:
    for e in chain:
        assert entry_hash(e.prev_hash, seq=e.seq, ts=e.ts, actor=e.actor, action=e.action,
                          subject=e.subject, data=e.data) == e.hash


@pytest.mark.parametrize("field", ["seq", "ts", "actor", "action", "subject", "data", "prev"])
def test_entry_hash_depends_on_every_field(field: str) -> None:
    base = {"seq": 1, "ts": "t", "actor": "a", "action": "x", "subject": "s", "data": "{}"}
    prev = GENESIS
    reference = entry_hash(prev, **base)  # type: ignore[arg-type]
    if field == "prev":
        prev = "1" * 64
    else:
        base[field] = 2 if field == "seq" else "changed"
    assert entry_hash(prev, **base) != reference  # type: ignore[arg-type]


# --- find_chain_problem on hand-built chains -----------------------------------------


def test_intact_chain_has_no_problem(chain: list[AuditEntry]) -> None:
    assert find_chain_problem(chain) is None


def test_empty_chain_is_ok() -> None:
    assert find_chain_problem([]) is None


def test_single_entry_chain_is_ok() -> None:
    assert find_chain_problem(build_chain(ROWS[:1])) is None


def test_chain_must_start_at_genesis(chain: list[AuditEntry]) -> None:
    chain[0] = rehash(dataclasses.replace(chain[0], prev_hash="a" * 64))
    problem = find_chain_problem(chain)
    assert problem is not None and problem.seq == 1
    assert "does not chain" in problem.reason


@pytest.mark.parametrize("field", ["ts", "actor", "action", "subject", "data"])
def test_edited_entry_is_named(chain: list[AuditEntry], field: str) -> None:
    chain[2] = dataclasses.replace(chain[2], **{field: "forged"})
    problem = find_chain_problem(chain)
    assert problem is not None
    assert problem.seq == 3
    assert "entry 3" in problem.reason and "edited" in problem.reason


def test_edited_hash_is_named(chain: list[AuditEntry]) -> None:
    chain[1] = dataclasses.replace(chain[1], hash="e" * 64)
    problem = find_chain_problem(chain)
    assert problem is not None and problem.seq == 2


def test_edited_entry_with_recomputed_hash_breaks_the_next(chain: list[AuditEntry]) -> None:
    chain[2] = rehash(dataclasses.replace(chain[2], actor="mallory"))
    problem = find_chain_problem(chain)
    assert problem is not None
    assert problem.seq == 4
    assert "entry 4 does not chain to entry 3" in problem.reason


def test_edited_last_entry_with_recomputed_hash_is_invisible_to_the_chain(
    chain: list[AuditEntry],
) -> None:
    # Nothing follows it, so only the signed audit head can catch this one
    # (see test_db_edited_newest_entry_with_recomputed_hash below).
    chain[-1] = rehash(dataclasses.replace(chain[-1], actor="mallory"))
    assert find_chain_problem(chain) is None


@pytest.mark.parametrize("index", [0, 2, 3])
def test_deleted_entry_is_named(chain: list[AuditEntry], index: int) -> None:
    del chain[index]
    problem = find_chain_problem(chain)
    assert problem is not None
    assert problem.seq == index + 1
    assert f"entry {index + 1} is missing" in problem.reason


def test_deleted_entry_with_later_entries_renumbered(chain: list[AuditEntry]) -> None:
    del chain[1]
    chain[1:] = [dataclasses.replace(e, seq=e.seq - 1) for e in chain[1:]]
    problem = find_chain_problem(chain)
    assert problem is not None
    assert problem.seq == 2
    assert "does not chain" in problem.reason


def test_inserted_entry_is_caught(chain: list[AuditEntry]) -> None:
    # A well-formed forged entry 3 chained to entry 2; the real entry 3 follows it.
    forged = AuditEntry(3, "t", "mallory", "model.promoted", "fraud/9", "{}", chain[1].hash, "")
    chain.insert(2, rehash(forged))
    problem = find_chain_problem(chain)
    assert problem is not None
    assert problem.seq == 4
    assert "out of order" in problem.reason


def test_inserted_entry_with_later_entries_renumbered(chain: list[AuditEntry]) -> None:
    forged = rehash(AuditEntry(3, "t", "mallory", "x", "y", "{}", chain[1].hash, ""))
    chain[2:] = [forged] + [dataclasses.replace(e, seq=e.seq + 1) for e in chain[2:]]
    problem = find_chain_problem(chain)
    assert problem is not None
    assert problem.seq == 4
    assert "does not chain" in problem.reason


def test_appended_entry_that_does_not_chain(chain: list[AuditEntry]) -> None:
    chain.append(rehash(AuditEntry(6, "t", "mallory", "x", "y", "{}", "b" * 64, "")))
    problem = find_chain_problem(chain)
    assert problem is not None and problem.seq == 6


@pytest.mark.parametrize(("i", "j"), [(0, 1), (1, 3), (3, 4), (0, 4)])
def test_reordered_entries_are_caught(chain: list[AuditEntry], i: int, j: int) -> None:
    chain[i], chain[j] = chain[j], chain[i]
    problem = find_chain_problem(chain)
    assert problem is not None
    assert problem.seq == i + 1


def test_swapped_contents_keeping_seq_are_caught(chain: list[AuditEntry]) -> None:
    a, b = chain[1], chain[3]
    chain[1] = dataclasses.replace(b, seq=a.seq)
    chain[3] = dataclasses.replace(a, seq=b.seq)
    problem = find_chain_problem(chain)
    assert problem is not None and problem.seq == 2


def test_duplicated_entry_is_caught(chain: list[AuditEntry]) -> None:
    chain.insert(2, chain[1])
    problem = find_chain_problem(chain)
    assert problem is not None and problem.seq == 3
    assert "out of order" in problem.reason


def test_accepts_any_iterable(chain: list[AuditEntry]) -> None:
    assert find_chain_problem(iter(chain)) is None
    assert find_chain_problem(e for e in chain) is None


# --- property: every single-field mutation is detected -------------------------------

_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
_rows = st.lists(st.tuples(_text, _text, _text, _text, _text), min_size=1, max_size=8)
_hex64 = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
_CONTENT = ("ts", "actor", "action", "subject", "data")


@st.composite
def _mutated(draw: st.DrawFn, fields: tuple[str, ...]) -> tuple[list[AuditEntry], int]:
    chain = build_chain(draw(_rows))
    index = draw(st.integers(0, len(chain) - 1))
    field = draw(st.sampled_from(fields))
    entry = chain[index]
    old = getattr(entry, field)
    if field == "seq":
        new = draw(st.integers(-5, 50).filter(lambda v: v != old))
    elif field in ("hash", "prev_hash"):
        new = draw(_hex64.filter(lambda v: v != old))
    else:
        new = draw(_text.filter(lambda v: v != old))
    chain[index] = dataclasses.replace(entry, **{field: new})
    return chain, entry.seq


@settings(max_examples=300, deadline=None)
@given(_mutated((*_CONTENT, "seq", "prev_hash", "hash")))
def test_any_single_field_mutation_is_detected(case: tuple[list[AuditEntry], int]) -> None:
    chain, mutated_seq = case
    problem = find_chain_problem(chain)
    assert problem is not None
    assert 1 <= problem.seq <= mutated_seq + 1


@settings(max_examples=200, deadline=None)
@given(_mutated(_CONTENT), st.data())
def test_mutation_with_recomputed_hash_is_caught_by_the_next_entry(
    case: tuple[list[AuditEntry], int], data: st.DataObject
) -> None:
    chain, mutated_seq = case
    chain[mutated_seq - 1] = rehash(chain[mutated_seq - 1])
    problem = find_chain_problem(chain)
    if mutated_seq == len(chain):
        assert problem is None  # the newest entry: left to the signed audit head
    else:
        assert problem is not None and problem.seq == mutated_seq + 1


@settings(max_examples=100, deadline=None)
@given(_rows)
def test_random_intact_chain_passes_and_matches_entry_hash(
    rows: list[tuple[str, str, str, str, str]],
) -> None:
    chain = build_chain(rows)
    assert find_chain_problem(chain) is None
    for e in chain:
        assert entry_hash(e.prev_hash, seq=e.seq, ts=e.ts, actor=e.actor, action=e.action,
                          subject=e.subject, data=e.data) == e.hash


# --- the real database, through the command line -------------------------------------

ENTRIES = 6  # init, register v1, register v2, promote v1, promote v2, rollback


@pytest.fixture(scope="module")
def _history_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per module (registering trains nothing but still costs time);
    each test gets its own copy."""
    root = tmp_path_factory.mktemp("audit-template")
    with pytest.MonkeyPatch.context() as mp:
        for name in ("RISKOPS_HOME", "RISKOPS_DATABASE_URL", "RISKOPS_TOKEN"):
            mp.delenv(name, raising=False)
        ws = init_workspace(root / "ws").workspace
        source = make_model_dir(root / "artifacts-in")
        registry = Registry(ws)
        registry.register("fraud", source, actor="local:ann")
        registry.register("fraud", source, actor="local:ann")
        registry.promote("fraud", 1, actor="alice", force=True)
        registry.promote("fraud", 2, actor="alice", force=True)
        registry.rollback("fraud", actor="alice")
        db.dispose_engines()  # checkpoint the WAL before the folder is copied
    return ws.home


@pytest.fixture
def history(_history_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            cli) -> Workspace:  # type: ignore[no-untyped-def]
    """A workspace whose audit log holds ``ENTRIES`` entries, newest anchored."""
    home = tmp_path / "ws"
    shutil.copytree(_history_template, home, symlinks=True)
    monkeypatch.setenv("RISKOPS_HOME", str(home))
    assert cli("audit-log", "verify").code == 0
    return open_workspace(home)


@contextmanager
def _sql(ws: Workspace) -> Iterator[sqlite3.Connection]:
    """A raw connection to the workspace database; committed and closed on exit,
    so the WAL holds nothing of ours when the CLI reads next."""
    conn = sqlite3.connect(ws.home / "riskops.db")
    try:
        yield conn
        conn.commit()
    finally:
        conn.close()


def _row(conn: sqlite3.Connection, seq: int) -> dict[str, object]:
    conn.row_factory = sqlite3.Row
    row = conn.execute("SELECT * FROM audit_log WHERE seq = ?", (seq,)).fetchone()
    conn.row_factory = None
    return dict(row)


def _broken(cli, seq: int, *needles: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """`audit-log verify` fails naming entry ``seq``; returns its --json document."""
    result = cli("audit-log", "verify")
    assert result.code == 1, result.out + result.err
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: audit log broken:"), result.err
    assert f"entry {seq}" in lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    as_json = cli("audit-log", "verify", "--json")
    assert as_json.code == 1
    document = as_json.json()
    assert document["status"] == "fail"
    assert document["first_bad_seq"] == seq
    assert document["reason"] == lines[0].removeprefix("error: audit log broken: ")[:-1]
    return document


def test_db_intact_log_passes(history: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("audit-log", "verify")
    assert result.code == 0, result.err
    assert f"ok: {ENTRIES} entries chain correctly" in result.out
    assert f"up to entry {ENTRIES}" in result.out
    document = cli("audit-log", "verify", "--json").json()
    with _sql(history) as conn:
        head = _row(conn, ENTRIES)["hash"]
    assert document == {"status": "pass", "entries": ENTRIES, "head": head,
                        "anchored_seq": ENTRIES, "first_bad_seq": None, "reason": None}


def test_db_entries_are_what_happened(history: Workspace) -> None:
    with _sql(history) as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY seq")]
    assert actions == ["workspace.initialized", "model.registered", "model.registered",
                       "model.promoted", "model.promoted", "model.rolled_back"]


def test_db_fresh_workspace_passes(workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    document = cli("audit-log", "verify", "--json").json()
    assert document["status"] == "pass"
    assert document["entries"] == 1 and document["anchored_seq"] == 1


@pytest.mark.parametrize(
    ("column", "value"),
    [("data", '{"model":"fraud","version":99}'), ("actor", "local:mallory"),
     ("ts", "2001-01-01T00:00:00+00:00"), ("action", "model.deleted"), ("subject", "fraud/9")],
)
def test_db_edited_column_is_named(history: Workspace, cli, column: str, value: str) -> None:  # type: ignore[no-untyped-def]
    with _sql(history) as conn:
        conn.execute(f"UPDATE audit_log SET {column} = ? WHERE seq = 3", (value,))
    document = _broken(cli, 3, "does not match its hash", "edited")
    assert document["entries"] == ENTRIES


def test_db_edited_entry_with_recomputed_hash_names_the_next(history: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    with _sql(history) as conn:
        row = _row(conn, 3)
        forged = oracle_hash(str(row["prev_hash"]), 3, str(row["ts"]), "local:mallory",
                             str(row["action"]), str(row["subject"]), str(row["data"]))
        conn.execute("UPDATE audit_log SET actor = ?, hash = ? WHERE seq = 3",
                     ("local:mallory", forged))
    _broken(cli, 4, "does not chain to entry 3")


def test_db_edited_newest_entry_with_recomputed_hash(history: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    with _sql(history) as conn:
        row = _row(conn, ENTRIES)
        forged = oracle_hash(str(row["prev_hash"]), ENTRIES, str(row["ts"]), "local:mallory",
                             str(row["action"]), str(row["subject"]), str(row["data"]))
        conn.execute("UPDATE audit_log SET actor = ?, hash = ? WHERE seq = ?",
                     ("local:mallory", forged, ENTRIES))
    _broken(cli, ENTRIES, "differs from the audit head in signed manifest")


@pytest.mark.parametrize("seq", [1, 3, 5])
def test_db_deleted_entry_is_named(history: Workspace, cli, seq: int) -> None:  # type: ignore[no-untyped-def]
    with _sql(history) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq = ?", (seq,))
    document = _broken(cli, seq, "missing")
    assert document["entries"] == ENTRIES - 1


def test_db_deleted_newest_entry_caught_by_signed_head(history: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    with _sql(history) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq = ?", (ENTRIES,))
    document = _broken(cli, ENTRIES, "audit head", "missing (newest entries deleted)")
    assert document["entries"] == ENTRIES - 1
    assert document["anchored_seq"] == ENTRIES


def test_db_deleted_newest_two_entries(history: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    with _sql(history) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq >= ?", (ENTRIES - 1,))
    # Every manifest anchored its head; the first missing anchored entry is named.
    _broken(cli, ENTRIES - 1, "newest entries deleted")


def test_db_forged_row_appended_with_wrong_prev_hash(history: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    seq = ENTRIES + 1
    with _sql(history) as conn:
        digest = oracle_hash("c" * 64, seq, "2030-01-01T00:00:00+00:00", "local:mallory",
                             "model.promoted", "fraud/2", "{}")
        conn.execute(
            "INSERT INTO audit_log (seq, ts, actor, action, subject, data, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, "2030-01-01T00:00:00+00:00", "local:mallory", "model.promoted", "fraud/2",
             "{}", "c" * 64, digest))
    document = _broken(cli, seq, f"entry {seq} does not chain to entry {ENTRIES}")
    assert document["entries"] == ENTRIES + 1


def test_db_forged_row_in_a_gap(history: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    # Delete entry 3, then insert a forgery in its place chained to entry 2.
    with _sql(history) as conn:
        prev = str(_row(conn, 2)["hash"])
        conn.execute("DELETE FROM audit_log WHERE seq = 3")
        digest = oracle_hash(prev, 3, "t", "local:mallory", "model.registered", "fraud/2", "{}")
        conn.execute(
            "INSERT INTO audit_log (seq, ts, actor, action, subject, data, prev_hash, hash) "
            "VALUES (3, 't', 'local:mallory', 'model.registered', 'fraud/2', '{}', ?, ?)",
            (prev, digest))
    _broken(cli, 4, "does not chain to entry 3")


@pytest.mark.parametrize(("a", "b"), [(2, 4), (1, 2), (5, 6)])
def test_db_swapped_rows_are_caught(history: Workspace, cli, a: int, b: int) -> None:  # type: ignore[no-untyped-def]
    columns = ("ts", "actor", "action", "subject", "data", "prev_hash", "hash")
    with _sql(history) as conn:
        row_a, row_b = _row(conn, a), _row(conn, b)
        assignments = ", ".join(f"{c} = ?" for c in columns)
        # hash is UNIQUE: park row a on a placeholder first.
        conn.execute("UPDATE audit_log SET hash = 'placeholder' WHERE seq = ?", (a,))
        conn.execute(f"UPDATE audit_log SET {assignments} WHERE seq = ?",
                     (*[row_a[c] for c in columns], b))
        conn.execute(f"UPDATE audit_log SET {assignments} WHERE seq = ?",
                     (*[row_b[c] for c in columns], a))
    _broken(cli, a, "does not chain")


def test_db_emptied_log_is_caught(history: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    with _sql(history) as conn:
        conn.execute("DELETE FROM audit_log")
    document = _broken(cli, 1, "newest entries deleted")
    assert document["entries"] == 0 and document["head"] is None


def test_db_tampered_live_manifest_is_verify_business_not_the_logs(
    history: Workspace, cli  # type: ignore[no-untyped-def]
) -> None:
    text = history.manifest_path.read_text()
    edited = text.replace('"production": 1', '"production": 2', 1)
    assert edited != text
    history.manifest_path.write_text(edited)
    # The edited file carries no trustworthy anchor; the signed database rows still do.
    assert cli("audit-log", "verify", "--json").json()["status"] == "pass"
    assert cli("verify").code == 1


def test_db_rewritten_chain_is_caught_by_an_older_signed_anchor(
    history: Workspace, cli  # type: ignore[no-untyped-def]
) -> None:
    from riskops.audit_chain import entry_hash

    # Rewrite entry 2 and every hash after it consistently, then publish anew:
    # the newest manifest anchors the rewritten head, the older ones do not.
    with _sql(history) as conn:
        rows = conn.execute("SELECT seq, ts, actor, action, subject, data, prev_hash FROM "
                            "audit_log ORDER BY seq").fetchall()
        prev = None
        for seq, ts, actor, action, subject, data, prev_hash in rows:
            if seq == 2:
                actor = "someone-else"
            prev = prev_hash if prev is None else prev
            digest = entry_hash(prev, seq=seq, ts=ts, actor=actor, action=action,
                                subject=subject, data=data)
            conn.execute("UPDATE audit_log SET actor=?, prev_hash=?, hash=? WHERE seq=?",
                         (actor, prev, digest, seq))
            prev = digest
    assert cli("token", "create", "--name", "carol", "--role", "scorer",
               token=admin_token()).code == 0
    _broken(cli, 2, "the log was rewritten")


def test_db_newest_token_entry_deleted_is_caught(history: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    # Token entries must be anchored too, or the newest could vanish unseen.
    admin = admin_token()
    start = cli("audit-log", "verify", "--json").json()["anchored_seq"]
    assert cli("token", "create", "--name", "bob", "--role", "scorer", token=admin).code == 0
    assert cli("token", "revoke", "--name", "bob", token=admin).code == 0
    assert cli("audit-log", "verify", "--json").json()["anchored_seq"] == start + 2
    with _sql(history) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq = ?", (start + 2,))
    _broken(cli, start + 2, "newest entries deleted")


def test_db_head_json_is_the_stored_newest_hash(history: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    document = cli("audit-log", "verify", "--json").json()
    manifest = json.loads(history.manifest_path.read_bytes())
    assert manifest["audit_head"] == {"seq": ENTRIES, "hash": document["head"]}
