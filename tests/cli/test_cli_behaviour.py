"""The command line behaves the same everywhere: one error line naming the option as
typed, plurals, honest start lines, readable numbers."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import pytest

from conftest import admin_token
from riskops.cli.common import number, plural, version_text
from riskops.cli.models import metrics_text
from riskops.config import Workspace


def test_plural_counts_one_and_many() -> None:
    assert plural(1, "version") == "1 version"
    assert plural(2, "version") == "2 versions"
    assert plural(0, "entry", "entries") == "0 entries"
    assert plural(1, "entry", "entries") == "1 entry"


def test_numbers_for_people_are_rounded() -> None:
    assert number(0.6000000000000001) == "0.600"
    assert number(None) == "-"
    assert version_text(None, none="heuristic") == "heuristic"
    assert version_text(3) == "v3"
    assert metrics_text({"rows": 7, "threshold": 0.6000000000000001, "roc_auc": 0.94123}) == (
        "roc_auc 0.9412, threshold 0.6, rows 7")
    assert metrics_text({"a" * 80: 1}).endswith("…")
    assert len(metrics_text({"a" * 80: 1})) == 40


def _listening_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_serve_on_a_taken_port_is_one_error_line_and_exit_2(cli, workspace: Workspace) -> None:
    with _listening_port() as taken:
        port = taken.getsockname()[1]
        result = cli("serve", "--port", port)
    assert result.code == 2
    assert "serving" not in result.out
    assert result.err.splitlines() == [
        f"error: --port {port}: 127.0.0.1:{port} is already in use; stop what listens there "
        "or choose another port with --port."]


def test_serve_on_an_address_that_is_not_ours_names_host(cli, workspace: Workspace) -> None:
    result = cli("serve", "--host", "192.0.2.1", "--port", "0")
    assert result.code == 2
    assert result.err.startswith("error: --host 192.0.2.1: cannot listen on 192.0.2.1:0")
    assert len(result.err.splitlines()) == 1


def test_serve_out_of_range_port(cli, workspace: Workspace) -> None:
    result = cli("serve", "--port", "70000")
    assert (result.code, result.err) == (2, "error: --port 70000 is out of range 0-65535.\n")


def test_serve_grpc_port_is_checked_before_anything_starts(cli, workspace: Workspace) -> None:
    result = cli("serve", "--port", "0", "--grpc-port", "0")
    assert (result.code, result.err) == (2, "error: --grpc-port 0 is out of range 1-65535.\n")
    result = cli("serve", "--port", "4999", "--grpc-port", "4999")
    assert (result.code, result.err) == (
        2, "error: --grpc-port 4999 is the HTTP --port; choose another.\n")
    with _listening_port() as taken:
        port = taken.getsockname()[1]
        result = cli("serve", "--port", "0", "--grpc-port", port)
    assert result.code == 2 and "serving" not in result.out
    assert result.err.splitlines() == [
        f"error: --grpc-port {port}: 127.0.0.1:{port} is already in use; stop what listens "
        "there or choose another port with --grpc-port."]
    assert "RISKOPS_GRPC_ADDRESS" not in os.environ


def test_monitor_now_names_the_option(cli, workspace: Workspace) -> None:
    result = cli("monitor", "run", "--now", "yesterday-ish")
    assert result.code == 2
    assert result.err.startswith("error: --now ")
    assert len(result.err.splitlines()) == 1


def test_verify_counts_in_the_singular(cli, workspace: Workspace, model_dir: Path) -> None:
    assert cli("models", "register", "fraud", "--from", model_dir).code == 0
    result = cli("verify")
    assert result.code == 0, result.err
    assert " in 1 version match their digests." in result.out
def test_percent_out_of_range_says_so(cli, workspace: Workspace, model_dir: Path) -> None:
    assert cli("models", "register", "fraud", "--from", model_dir).code == 0
    result = cli("promote", "fraud", "1", "--stage", "canary", "--percent", "150",
                 token=admin_token())
    assert result.code == 2
    assert "--percent 150 is out of range 1-100" in result.err
    missing = cli("promote", "fraud", "1", "--stage", "canary", token=admin_token())
    assert missing.code == 2
    assert "--stage canary needs --percent" in missing.err




def test_generate_names_options_as_typed(cli, tmp_path: Path) -> None:
    result = cli("data", "generate", "fraud", "--rows", "100", "--start", "2026-01-01",
                 "--days", "10", "--out", tmp_path / "x.csv", "--drift-from", "2026-01-05")
    assert result.code == 2
    assert "--drift-from" in result.err and "--drift " in result.err
    assert "drift_from" not in result.err and "drift_kind" not in result.err
    outside = cli("data", "generate", "fraud", "--rows", "100", "--start", "2026-01-01",
                  "--days", "10", "--out", tmp_path / "x.csv", "--drift-from", "2027-01-05",
                  "--drift", "covariate")
    assert outside.code == 2
    assert outside.err.startswith("error: --drift-from 2027-01-05 is outside")




def test_show_after_heuristic_fallback(cli, workspace: Workspace, model_dir: Path) -> None:
    assert cli("models", "register", "fraud", "--from", model_dir).code == 0
    assert cli("promote", "fraud", "1", "--break-glass", "test set-up",
               token=admin_token()).code == 0
    rolled = cli("rollback", "fraud", "--fallback", "heuristic", token=admin_token())
    assert rolled.code == 0, rolled.err
    assert "production v1 -> heuristic" in rolled.out
    shown = cli("models", "show", "fraud")
    assert "production heuristic" in shown.out
    history = cli("models", "history", "fraud")
    assert "heuristic" in history.out
    entries = cli("audit-log", "verify", "--json")
    assert entries.code == 0
    from riskops.storage import db, repository

    with db.read_session(workspace.database_url) as session:
        subjects = [e.subject for e in repository.audit_entries(session)]
    assert "fraud/None" not in subjects
    assert "fraud/heuristic" in subjects


def test_report_through_a_link_updates_its_target(tmp_path: Path) -> None:
    from riskops.cli.common import write_report

    target = tmp_path / "reports" / "scan.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    write_report(link, {"ok": True})
    assert link.is_symlink()
    assert json.loads(target.read_text()) == {"ok": True}
    assert sorted(p.name for p in target.parent.iterdir()) == ["scan.json"]


def test_report_to_a_pipe_is_written_through(tmp_path: Path) -> None:
    from riskops.cli.common import write_report

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_report(fifo, {"n": 1})
        assert json.loads(os.read(reader, 65536)) == {"n": 1}
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert os.listdir(tmp_path) == ["pipe"]


def test_report_into_a_missing_folder_names_the_option(tmp_path: Path) -> None:
    from riskops.cli.common import write_report
    from riskops.errors import InputError

    with pytest.raises(InputError, match=r"^--json-out .*/nope/r\.json: cannot write the "
                                         r"report: No such file or directory\.$"):
        write_report(tmp_path / "nope" / "r.json", {})
