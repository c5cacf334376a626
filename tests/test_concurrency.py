"""Two real processes changing the registry at once, on SQLite and on PostgreSQL.

The overlap is made deterministic with a file barrier: each child process
imports riskops, waits until every other child has too, and (for promotions)
wraps ``Registry._read_state`` so that every child has read the model's
revision before any of them writes. Exactly one promotion of a model can then
win the compare-and-swap; the other must fail with a conflict, and the
database, the signed manifest on disk and the audit log must agree afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import admin_token, make_model_dir
from riskops.audit_chain import AuditEntry
from riskops.config import Workspace
from riskops.registry.manifest import VerifiedManifest, read_verified_manifest
from riskops.storage import db, repository

# argv: BARRIER_DIR PARTIES HOOK ROUNDS RISKOPS_ARGS...
# Runs `riskops RISKOPS_ARGS` ROUNDS times, every round starting together with the
# other parties; prints one JSON list of {code, out, err}, one item per round.
_CHILD = r"""
import contextlib, io, json, os, sys, time
from pathlib import Path

barrier, parties, hook = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rounds, argv = int(sys.argv[4]), sys.argv[5:]


def wait_for_everyone(stage):
    (barrier / f"{stage}.{os.getpid()}").touch()
    deadline = time.monotonic() + 60
    while len(list(barrier.glob(f"{stage}.*"))) < parties and time.monotonic() < deadline:
        time.sleep(0.005)


from riskops.cli.main import main
from riskops.registry import service

if "register" in argv:
    import skops.io  # slow to import; load it before the start line, not in the race

if hook == "read-state":
    original = service.Registry._read_state
    calls = 0

    def read_then_wait(self, model):
        global calls
        state = original(self, model)
        calls += 1
        wait_for_everyone(f"read{calls}")  # all hold the same revision before anyone writes
        return state

    service.Registry._read_state = read_then_wait

results = []
for n in range(rounds):
    wait_for_everyone(f"start{n}")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    results.append({"code": code, "out": out.getvalue(), "err": err.getvalue()})
sys.stdout.write(json.dumps(results))
"""


@dataclass
class Backend:
    ws: Workspace
    env: dict[str, str]


@dataclass
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Backend:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKOPS_")}
    if request.param == "sqlite":
        ws = request.getfixturevalue("workspace")
    else:
        ws = request.getfixturevalue("pg_workspace")
        env["RISKOPS_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    env["RISKOPS_HOME"] = str(ws.home)
    return Backend(ws, env)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return make_model_dir(tmp_path / "artifacts-in")


def _run_at_once(backend: Backend, tmp_path: Path, commands: list[list[str]], *,
                 hook: str = "none", rounds: int = 1) -> list[list[Outcome]]:
    """Run ``riskops COMMAND`` for each command, each in its own process, all at once.

    With ``rounds`` > 1 each process repeats its command, every round starting
    together again. Returns, per round, the outcome of each command in order.
    """
    barrier = tmp_path / f"barrier-{len(list(tmp_path.glob('barrier-*')))}"
    barrier.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(barrier), str(len(commands)), hook, str(rounds),
             *command],
            env={**backend.env, "RISKOPS_TOKEN": admin_token(backend.ws.home)}, cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    per_process = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and "Traceback" not in err, f"child failed: {err}"
        per_process.append([Outcome(**r) for r in json.loads(out)])
    for outcomes in per_process:
        for outcome in outcomes:
            assert "Traceback" not in outcome.err and "internal error" not in outcome.err, (
                outcome.err)
    return [list(row) for row in zip(*per_process, strict=True)]


def _ok(result):  # type: ignore[no-untyped-def]
    assert result.code == 0, result.out + result.err
    return result


def _state(ws: Workspace) -> tuple[VerifiedManifest, int, bytes, list[AuditEntry]]:
    verified = read_verified_manifest(ws.manifest_path, ws.signature_path, ws.public_key_path)
    with db.read_session(ws.database_url) as session:
        latest = repository.latest_manifest(session)
        assert latest is not None
        entries = repository.audit_entries(session)
        return verified, latest.manifest_version, latest.body.encode(), entries


def _assert_consistent(ws: Workspace, cli) -> VerifiedManifest:  # type: ignore[no-untyped-def]
    """The signed files are the newest manifest in the database, and every check passes."""
    verified, db_version, db_body, entries = _state(ws)
    assert verified.manifest.manifest_version == db_version
    assert verified.raw == db_body
    head = verified.manifest.audit_head
    assert head is not None and (head.seq, head.hash) == (entries[-1].seq, entries[-1].hash)
    with db.read_session(ws.database_url) as session:
        models = {m.name: m for m in repository.list_models(session)}
        for name, entry in verified.manifest.models.items():
            assert entry.stages.production == models[name].production_version
            assert entry.history == json.loads(models[name].history)
    _ok(cli("verify"))
    _ok(cli("audit-log", "verify"))
    return verified


def _register(cli, model: str, source: Path, times: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(times):
        _ok(cli("models", "register", model, "--from", source))


def test_two_promotions_of_one_model_one_wins(backend: Backend, source: Path, tmp_path: Path,
                                              cli) -> None:  # type: ignore[no-untyped-def]
    ws = backend.ws
    _register(cli, "fraud", source, 3)
    _ok(cli("promote", "fraud", "1", "--break-glass", "test set-up", token=admin_token()))
    before = _ok(cli("models", "history", "fraud", "--json")).json()
    _, mv_before, _, entries_before = _state(ws)

    outcomes = _run_at_once(backend, tmp_path, [["promote", "fraud", "2", "--break-glass", "race"],
                                                ["promote", "fraud", "3", "--break-glass", "race"]],
                            hook="read-state")[0]

    assert sorted(o.code for o in outcomes) == [0, 1], outcomes
    winner = 2 if outcomes[0].code == 0 else 3
    loser = outcomes[1] if winner == 2 else outcomes[0]
    assert "changed while" in loser.err, loser.err
    assert loser.err.startswith("error: fraud changed while this promote was in flight")
    assert loser.out == ""

    shown = _ok(cli("models", "show", "fraud", "--json")).json()
    assert shown["stages"]["production"] == winner
    assert shown["history"] == [1, winner]
    verified = _assert_consistent(ws, cli)
    assert verified.manifest.models["fraud"].stages.production == winner
    assert verified.manifest.manifest_version == mv_before + 1  # the loser published nothing

    after = _ok(cli("models", "history", "fraud", "--json")).json()
    new = after[len(before):]
    assert after[: len(before)] == before
    assert [(c["stage"], c["action"], c["from"], c["to"], c["manifest_version"])
            for c in new] == [("production", "promote", 1, winner, mv_before + 1)]
    _, _, _, entries = _state(ws)
    assert [(e.action, e.subject) for e in entries[len(entries_before):]] == [
        ("model.promoted", f"fraud/{winner}")]

    # The loser was told to look and retry; retrying now moves production as asked.
    retry = 3 if winner == 2 else 2
    _ok(cli("promote", "fraud", str(retry), "--break-glass", "retry", token=admin_token()))
    assert _ok(cli("models", "show", "fraud", "--json")).json()["history"] == [1, winner, retry]
    _assert_consistent(ws, cli)


def test_promotion_and_rollback_race(backend: Backend, source: Path, tmp_path: Path,
                                     cli) -> None:  # type: ignore[no-untyped-def]
    _register(cli, "fraud", source, 3)
    _ok(cli("promote", "fraud", "1", "--break-glass", "test set-up", token=admin_token()))
    _ok(cli("promote", "fraud", "2", "--break-glass", "test set-up", token=admin_token()))

    outcomes = _run_at_once(backend, tmp_path, [["promote", "fraud", "3", "--break-glass", "race"],
                                                ["rollback", "fraud"]], hook="read-state")[0]

    assert sorted(o.code for o in outcomes) == [0, 1], outcomes
    loser = next(o for o in outcomes if o.code == 1)
    assert "changed while" in loser.err
    history = _ok(cli("models", "show", "fraud", "--json")).json()["history"]
    assert history == ([1, 2, 3] if outcomes[0].code == 0 else [1])
    verified = _assert_consistent(backend.ws, cli)
    assert verified.manifest.models["fraud"].stages.production == history[-1]


def test_concurrent_registrations_get_distinct_versions(backend: Backend, source: Path,
                                                        tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    ws = backend.ws
    registered: list[int] = []
    register = ["models", "register", "fraud", "--from", str(source), "--json"]
    # Three rounds of two at once; the first round also creates the model concurrently.
    for outcomes in _run_at_once(backend, tmp_path, [register, register], rounds=3):
        for outcome in outcomes:
            if outcome.code == 0:
                registered.append(json.loads(outcome.out)["version"])
            else:  # allowed, but only as a clean one-line refusal
                assert outcome.code in (1, 2), outcome
                assert outcome.err.startswith("error: "), outcome.err
        assert any(o.code == 0 for o in outcomes), outcomes

    assert len(registered) == len(set(registered))
    assert sorted(registered) == list(range(1, len(registered) + 1))
    shown = _ok(cli("models", "show", "fraud", "--json")).json()
    assert [v["version"] for v in shown["versions"]] == sorted(registered)
    verified = _assert_consistent(ws, cli)
    assert sorted(int(v) for v in verified.manifest.models["fraud"].versions) == sorted(registered)
    # Nothing half-registered is left in the store.
    folders = sorted(int(p.name) for p in (ws.store_dir / "models" / "fraud").iterdir())
    assert folders == sorted(registered)
    incoming = ws.store_dir / "incoming"
    assert not incoming.exists() or not any(incoming.iterdir())
    _, _, _, entries = _state(ws)
    assert sum(e.action == "model.registered" for e in entries) == len(registered)


def test_promotions_of_different_models_both_succeed(backend: Backend, source: Path,
                                                     tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    for model in ("fraud", "deal"):
        _register(cli, model, source, 2)
        _ok(cli("promote", model, "1", "--break-glass", "test set-up", token=admin_token()))
    _, mv_before, _, _ = _state(backend.ws)

    outcomes = _run_at_once(backend, tmp_path,
                            [["promote", "fraud", "2", "--break-glass", "race"],
                             ["promote", "deal", "2", "--break-glass", "race"]],
                            hook="read-state")[0]

    assert [o.code for o in outcomes] == [0, 0], outcomes
    verified = _assert_consistent(backend.ws, cli)
    assert verified.manifest.manifest_version == mv_before + 2
    for model in ("fraud", "deal"):
        assert verified.manifest.models[model].stages.production == 2
        assert verified.manifest.models[model].history == [1, 2]
    versions = sorted(
        c["manifest_version"]
        for model in ("fraud", "deal")
        for c in _ok(cli("models", "history", model, "--json")).json()[1:]
    )
    assert versions == [mv_before + 1, mv_before + 2]
