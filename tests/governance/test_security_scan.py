"""`riskops audit security`: pip-audit's report read from recorded output (no network),
the verdict rules, then every planted problem found on a real workspace through the CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import admin_token, make_model_dir
from riskops.config import Workspace
from riskops.governance import dependency_audit
from riskops.governance.dependency_audit import audit_dependencies, parse_pip_audit
from riskops.governance.security_findings import Finding, count_by_severity, verdict
from riskops.governance.security_scan import TokenAge, stale_tokens
from riskops.registry.service import Registry
from riskops.storage import db, repository
from riskops.tokens import create_token

# pip-audit 2.10 `--format json` as it prints it: resolved packages with their
# vulnerabilities, a skipped (editable) one, and the fixes list (empty without --fix).
LONG = ("Requests is a HTTP library. Due to a flaw in its handling of the Proxy-Authorization "
        "header, requests may leak proxy credentials to the destination server when "
        "redirected to an HTTPS endpoint. " * 4)
RECORDED = json.dumps({
    "dependencies": [
        {"name": "requests", "version": "2.25.0", "vulns": [
            {"id": "GHSA-j8r2-6x86-q33q", "fix_versions": ["2.31.0"],
             "aliases": ["CVE-2023-32681", "PYSEC-2023-74"], "description": LONG},
            {"id": "PYSEC-2024-60", "fix_versions": [], "aliases": [],
             "description": "Session verify=False persists."}]},
        {"name": "numpy", "version": "2.1.0", "vulns": []},
        {"name": "riskops", "skip_reason": "distribution marked as editable"},
    ],
    "fixes": [],
})
CLEAN = json.dumps({"dependencies": [{"name": "numpy", "version": "2.1.0", "vulns": []},
                                     {"name": "scikit-learn", "version": "1.5.2", "vulns": []}],
                    "fixes": []})
CONNECTION_ERROR = (
    "Traceback (most recent call last):\n  ...\n"
    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443): "
    "Max retries exceeded with url: /pypi/numpy/2.1.0/json (Caused by NameResolutionError("
    "\"Failed to resolve 'pypi.org' ([Errno -3] Temporary failure in name resolution)\"))\n")


def _replay(code: int, stdout: str, stderr: str = "", seen: list | None = None):  # type: ignore[no-untyped-def]
    def runner(command, timeout):  # type: ignore[no-untyped-def]
        if seen is not None:
            seen.append((list(command), timeout))
        return code, stdout, stderr
    return runner


# --- pip-audit's report --------------------------------------------------------------


def test_recorded_report_becomes_one_finding_per_vulnerability() -> None:
    scanned, skipped, findings = parse_pip_audit(RECORDED)
    assert (scanned, skipped) == (2, 1)
    first, second = (f.as_dict() for f in findings)
    assert first["package"] == "requests" and first["version"] == "2.25.0"
    assert first["id"] == "GHSA-j8r2-6x86-q33q"
    assert first["aliases"] == ["CVE-2023-32681", "PYSEC-2023-74"]
    assert first["fix_versions"] == ["2.31.0"]
    assert first["severity"] == "unknown"  # PyPI advisories carry no severity
    assert len(first["description"]) == 300 and first["description"].endswith("…")
    assert first["subject"] == "requests 2.25.0" and "CVE-2023-32681" in first["detail"]
    assert first["next"] == "upgrade requests to 2.31.0 or later"
    assert second["fix_versions"] == [] and "no fixed requests release" in second["next"]


def test_pip_audit_runs_on_this_interpreter_with_the_timeout() -> None:
    seen: list = []
    result = audit_dependencies(runner=_replay(1, RECORDED, seen=seen), timeout=7)
    assert result.status == "findings" and result.packages_scanned == 2
    command, timeout = seen[0]
    assert command[1:4] == ["-m", "pip_audit", "--format"] and timeout == 7
    assert {"json", "--local", "--skip-editable"} <= set(command)


def test_no_vulnerabilities_is_ok() -> None:
    result = audit_dependencies(runner=_replay(0, CLEAN))
    assert (result.status, result.reason, result.packages_scanned) == ("ok", None, 2)


def test_timeout_is_unavailable() -> None:
    def slow(command, timeout):  # type: ignore[no-untyped-def]
        raise subprocess.TimeoutExpired(command, timeout)

    result = audit_dependencies(runner=slow, timeout=3)
    assert result.status == "unavailable"
    assert result.reason == ("pip-audit did not finish within 3 s (advisory source slow or "
                             "unreachable)")


def test_connection_error_is_unavailable_with_the_reason() -> None:
    result = audit_dependencies(runner=_replay(1, "", CONNECTION_ERROR))
    assert result.status == "unavailable" and result.findings == ()
    assert result.reason.startswith("advisory source unreachable (pip-audit exit 1): "
                                    "requests.exceptions.ConnectionError")


def test_garbage_output_is_unavailable() -> None:
    result = audit_dependencies(runner=_replay(0, "<html>captive portal</html>", ""))
    assert result.status == "unavailable"
    assert result.reason == "pip-audit printed no JSON report (pip-audit exit 0): no message"
    shape = audit_dependencies(runner=_replay(0, '{"deps": []}'))
    assert shape.reason.startswith("pip-audit's JSON has no 'dependencies' list")


def test_pip_audit_that_cannot_start_is_unavailable() -> None:
    def missing(command, timeout):  # type: ignore[no-untyped-def]
        raise FileNotFoundError(2, "No such file or directory")

    assert audit_dependencies(runner=missing).reason.startswith("pip-audit could not start")


def test_every_package_skipped_is_unavailable_not_ok() -> None:
    report = json.dumps({"dependencies": [
        {"name": "numpy", "skip_reason": "Dependency not found on PyPI and could not be "
                                         "audited: numpy (2.1.0)"}], "fixes": []})
    result = audit_dependencies(runner=_replay(0, report))
    assert result.status == "unavailable" and "any of 1 packages" in result.reason


def test_offline_does_not_run_pip_audit() -> None:
    seen: list = []
    result = audit_dependencies(runner=_replay(0, CLEAN, seen=seen), offline=True)
    assert result.status == "unavailable" and seen == []


# --- verdict -------------------------------------------------------------------------


def _finding(severity: str) -> Finding:
    return Finding("check", severity, "subject", "detail", "next")


@pytest.mark.parametrize(("severities", "fail_on", "expected"), [
    ([], "high", "pass"),
    (["medium", "low", "info"], "high", "pass"),
    (["high"], "high", "fail"),
    (["unknown"], "high", "fail"),      # unrated counts as high
    (["unknown"], "critical", "pass"),
    (["critical"], "critical", "fail"),
    (["medium"], "medium", "fail"),
    (["info"], "low", "pass"),
])
def test_verdict_fails_at_or_above_fail_on(severities: list[str], fail_on: str,
                                            expected: str) -> None:
    assert verdict([_finding(s) for s in severities], fail_on) == expected


def test_counts_list_every_severity() -> None:
    counts = count_by_severity([_finding("unknown"), _finding("medium"), _finding("medium")])
    assert counts == {"critical": 0, "high": 0, "medium": 2, "low": 0, "info": 0, "unknown": 1}


def test_tokens_older_than_the_limit_and_no_others() -> None:
    now = datetime(2024, 6, 1, 12, tzinfo=UTC)
    tokens = [TokenAge("ci", "ci-bot", now - timedelta(days=91)),
              TokenAge("fresh", "ann", now - timedelta(days=90))]
    [found] = stale_tokens(tokens, now=now, max_age_days=90)
    assert (found.severity, found.subject) == ("medium", "token ci")
    assert "'ci-bot'" in found.detail and "91 days old" in found.detail


# --- the command on a real workspace -------------------------------------------------


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A workspace with fraud v1 registered and pip-audit replaying a clean report."""
    Registry(workspace).register("fraud", make_model_dir(tmp_path / "src"), actor="test")
    monkeypatch.setattr(dependency_audit, "run_command", _replay(0, CLEAN))
    return workspace


def _scan(cli, *args: str | Path):  # type: ignore[no-untyped-def]
    result = cli("audit", "security", "--json", *args)
    return result, json.loads(result.out)


def _findings(document: dict, section: str) -> list[tuple[str, str, str]]:  # type: ignore[type-arg]
    return [(f["check"], f["severity"], f["subject"]) for f in document[section]["findings"]]


def test_clean_workspace_passes(ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    result, document = _scan(cli)
    assert result.code == 0, result.err
    assert document["schema"] == "riskops.security-scan/v1"
    assert document["status"] == "pass" and document["fail_on"] == "high"
    assert document["dependencies"] == {"status": "ok", "reason": None, "packages_scanned": 2,
                                        "findings": []}
    assert document["artifacts"]["versions_scanned"] == 1
    # model.skops, evaluation-report.json, model.sig and the two blobs
    assert document["artifacts"]["files_scanned"] == 5
    assert set(document["counts"].values()) == {0}
    assert result.err == ""


def test_human_output_is_one_line_per_finding_and_a_summary(ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    (ws.store_dir / "models/fraud/1/notes.txt").write_text("hi")
    result = cli("audit", "security")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == "dependencies: 0 findings"
    assert lines[1] == "artifact store: 1 finding"
    assert lines[2].startswith("  medium   models/fraud/1/notes.txt: file in the artifact store")
    assert lines[-1] == ("pass: 1 medium (fail on high or above; 2 packages, 1 version, "
                         "6 stored files scanned).")


def test_symlink_in_the_store_is_critical(ws: Workspace, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "elsewhere.skops").write_bytes(b"x")
    os.symlink(tmp_path / "elsewhere.skops", ws.store_dir / "models/fraud/1/extra.skops")
    result, document = _scan(cli)
    assert result.code == 1
    assert _findings(document, "artifacts") == [
        ("symlink", "critical", "models/fraud/1/extra.skops")]
    assert document["status"] == "fail" and document["counts"]["critical"] == 1


def test_unexpected_files_are_medium_and_do_not_fail(ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    (ws.store_dir / "models/fraud/1/backdoor.py").write_text("import os\n")
    stray = ws.store_dir / "blobs/sha256/ab" / ("ab" + "0" * 62)
    stray.parent.mkdir(exist_ok=True)  # a real blob's digest may start with "ab" too
    stray.write_bytes(b"?")
    (ws.store_dir / "README").write_text("?")
    result, document = _scan(cli)
    assert result.code == 0
    assert _findings(document, "artifacts") == [
        ("unexpected_file", "medium", "README"),
        ("unexpected_file", "medium", f"blobs/sha256/ab/ab{'0' * 62}"),
        ("unexpected_file", "medium", "models/fraud/1/backdoor.py")]


def test_staging_leftover_is_low(ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    (ws.store_dir / "incoming/abc").mkdir(parents=True)
    (ws.store_dir / "incoming/abc/model.skops").write_bytes(b"partial")
    result, document = _scan(cli)
    assert result.code == 0
    assert ("staging_leftover", "low", "incoming/abc/model.skops") in _findings(
        document, "artifacts")


def test_skops_with_an_untrusted_type_is_critical(workspace: Workspace, tmp_path: Path, cli,  # type: ignore[no-untyped-def]
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import operator

    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    monkeypatch.setattr(dependency_audit, "run_command", _replay(0, CLEAN))
    src = tmp_path / "custom"
    src.mkdir()
    sio.dump(FunctionTransformer(func=operator.methodcaller("__abs__")), src / "model.skops")
    config = workspace.config_path.read_text()
    workspace.config_path.write_text(config + '[registry]\ntrusted_types = '
                                     '["operator.methodcaller"]\n')
    assert cli("models", "register", "fraud", "--from", src).code == 0
    result, document = _scan(cli)
    assert result.code == 0  # trusted by this workspace's config
    workspace.config_path.write_text(config)  # the allowlist entry is withdrawn
    result, document = _scan(cli)
    assert result.code == 1
    [finding] = document["artifacts"]["findings"]
    assert (finding["check"], finding["severity"], finding["subject"]) == (
        "untrusted_types", "critical", "models/fraud/1/model.skops")
    assert "operator.methodcaller" in finding["detail"]


def test_private_key_readable_by_others_is_high(ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    ws.private_key_path.chmod(0o644)
    result, document = _scan(cli)
    assert result.code == 1
    [finding] = document["keys"]["findings"]
    assert (finding["check"], finding["severity"], finding["subject"]) == (
        "private_key_permissions", "high", str(ws.private_key_path))
    assert "mode 0644" in finding["detail"] and finding["next"].startswith("chmod 600 ")


def test_keys_folder_writable_by_others_is_high(ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    ws.keys_dir.chmod(0o703)
    result, document = _scan(cli)
    assert result.code == 1
    assert _findings(document, "keys") == [
        ("keys_folder_permissions", "high", str(ws.keys_dir))]


def test_missing_private_key_is_info(ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    ws.private_key_path.unlink()
    result, document = _scan(cli)
    assert result.code == 0
    assert _findings(document, "keys") == [
        ("private_key_missing", "info", str(ws.private_key_path))]


def _age_token(ws: Workspace, name: str, days: int) -> None:
    with db.write_transaction(ws.database_url) as session:
        row = repository.token_by_name(session, name)
        row.created_at = datetime.now(UTC) - timedelta(days=days)


def test_old_token_is_medium_naming_token_and_user(ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    create_token(ws, name="ci-bot", role="service", actor="test")
    _age_token(ws, "ci-bot", 200)
    result, document = _scan(cli)
    assert result.code == 0
    [finding] = document["tokens"]["findings"]
    assert (finding["severity"], finding["subject"], finding["user"]) == (
        "medium", "token ci-bot", "ci-bot")
    assert "200 days old" in finding["detail"] and "token_max_age_days is 90" in finding["detail"]
    assert finding["next"].endswith("riskops token revoke --name ci-bot")


def test_revoked_old_token_is_not_a_finding(ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    create_token(ws, name="old", role="service", actor="test")
    _age_token(ws, "old", 200)
    assert cli("token", "revoke", "--name", "old", token=admin_token()).code == 0
    assert _scan(cli)[1]["tokens"]["findings"] == []


def test_policy_sets_the_token_age_and_the_failing_severity(ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    create_token(ws, name="ci-bot", role="service", actor="test")
    _age_token(ws, "ci-bot", 40)
    config = ws.config_path.read_text()
    ws.config_path.write_text(config + '[governance]\ntoken_max_age_days = 30\n'
                              'security_fail_on = "medium"\n')
    result, document = _scan(cli)
    assert result.code == 1 and document["fail_on"] == "medium"
    assert _findings(document, "tokens") == [("token_age", "medium", "token ci-bot")]


def test_unavailable_advisories_warn_and_exit_0(ws: Workspace, cli,  # type: ignore[no-untyped-def]
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dependency_audit, "run_command", _replay(1, "", CONNECTION_ERROR))
    result, document = _scan(cli)
    assert result.code == 0 and document["status"] == "pass"
    assert document["dependencies"]["status"] == "unavailable"
    assert result.err.startswith("warning: dependency check unavailable (advisory source "
                                 "unreachable (pip-audit exit 1):")
    assert result.err.count("\n") == 1


def test_offline_flag_skips_pip_audit(ws: Workspace, cli,  # type: ignore[no-untyped-def]
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(command, timeout):  # type: ignore[no-untyped-def]
        raise AssertionError("pip-audit must not run with --offline")

    monkeypatch.setattr(dependency_audit, "run_command", refuse)
    result, document = _scan(cli, "--offline")
    assert result.code == 0
    assert document["dependencies"]["reason"] == "--offline given; advisories were not fetched"
    assert result.err == ("warning: dependency check unavailable (--offline given; advisories "
                          "were not fetched); the other checks ran.\n")


def test_vulnerabilities_found_fail_because_unknown_counts_as_high(  # type: ignore[no-untyped-def]
    ws: Workspace, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dependency_audit, "run_command", _replay(1, RECORDED))
    result, document = _scan(cli)
    assert result.code == 1
    assert document["dependencies"]["status"] == "findings"
    assert [f["id"] for f in document["dependencies"]["findings"]] == [
        "GHSA-j8r2-6x86-q33q", "PYSEC-2024-60"]
    assert document["counts"]["unknown"] == 2


def test_fail_on_critical_lets_unknown_and_high_pass(ws: Workspace, cli,  # type: ignore[no-untyped-def]
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dependency_audit, "run_command", _replay(1, RECORDED))
    ws.private_key_path.chmod(0o640)
    ws.config_path.write_text(ws.config_path.read_text()
                              + '[governance]\nsecurity_fail_on = "critical"\n')
    result, document = _scan(cli)
    assert result.code == 0 and document["status"] == "pass"
    assert document["counts"]["high"] == 1 and document["fail_on"] == "critical"
    os.symlink("/etc/passwd", ws.store_dir / "models/fraud/1/passwd")
    assert _scan(cli)[0].code == 1


def test_json_out_writes_the_report(ws: Workspace, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result, document = _scan(cli, "--json-out", tmp_path / "security-scan.json")
    assert result.code == 0
    assert json.loads((tmp_path / "security-scan.json").read_text()) == document


def test_json_out_into_a_missing_folder_is_one_line_exit_2(ws: Workspace, cli,  # type: ignore[no-untyped-def]
                                                           tmp_path: Path) -> None:
    result = cli("audit", "security", "--json-out", tmp_path / "no/such/scan.json")
    assert result.code == 2 and result.out == ""
    assert result.err.startswith("error: --json-out ") and "does not exist" in result.err
    assert result.err.count("\n") == 1


def test_a_token_without_the_audit_right_is_refused(ws: Workspace, cli,  # type: ignore[no-untyped-def]
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKOPS_TOKEN", create_token(ws, name="pos", role="scorer",
                                                     actor="test"))
    result = cli("audit", "security")
    assert result.code == 1
    assert result.err.startswith("error: 'pos' holds scorer; audit needs reviewer")


def test_bad_fail_on_in_config_names_the_key(ws: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    ws.config_path.write_text(ws.config_path.read_text()
                              + '[governance]\nsecurity_fail_on = "severe"\n')
    result = cli("audit", "security", "--offline")
    assert result.code == 2
    assert "governance.security_fail_on must be one of low, medium, high, critical" in result.err


def _pypi_unreachable() -> str | None:
    try:
        socket.create_connection(("pypi.org", 443), timeout=3).close()
        return None
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.slow
def test_real_pip_audit_when_the_network_answers() -> None:
    reason = _pypi_unreachable()
    if reason is not None:
        print(f"SKIP: pypi.org:443 does not answer ({reason}); real pip-audit not run")
        pytest.skip(f"pypi.org:443 does not answer: {reason}")
    result = audit_dependencies(timeout=120)
    # Whatever the advisory source says, the audit answers and never raises.
    assert result.status in {"ok", "findings", "unavailable"}
    if result.status != "unavailable":
        assert result.packages_scanned > 0
