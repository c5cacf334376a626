"""The candidate-model workflows of deploy/ci: every riskops command line and option is
real, the four checks run, their failure fails the job, and all four reports are
uploaded even when a check failed."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from deploy_helpers import DEPLOY, cli_problems, riskops_commands

REPORTS = ["model-integrity.json", "bias-report.json", "security-scan.json", "drift-scan.json"]
#: The check that writes each report, as its first words.
CHECKS = {"model-integrity.json": ["riskops", "verify"],
          "bias-report.json": ["riskops", "audit", "bias"],
          "security-scan.json": ["riskops", "audit", "security"],
          "drift-scan.json": ["riskops", "monitor", "compare"]}


def github() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "ci" / "github-actions.yml").read_text())  # type: ignore[no-any-return]


def gitlab() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "ci" / "gitlab-ci.yml").read_text())  # type: ignore[no-any-return]


def github_steps() -> list[dict[str, Any]]:
    (job,) = github()["jobs"].values()
    return job["steps"]  # type: ignore[no-any-return]


def gitlab_script() -> list[str]:
    (job,) = [v for k, v in gitlab().items() if isinstance(v, dict) and "script" in v]
    return job["script"]  # type: ignore[no-any-return]


def _scripts(name: str) -> str:
    if name == "github":
        return "\n".join(step.get("run", "") for step in github_steps())
    return "\n".join(gitlab_script())


@pytest.mark.parametrize("name", ["github", "gitlab"])
def test_every_riskops_command_is_real(name: str) -> None:
    commands = riskops_commands(_scripts(name))
    assert len(commands) == 6  # init, train and the four checks
    assert {" ".join(c): cli_problems(c) for c in commands} == {
        " ".join(c): [] for c in commands}


@pytest.mark.parametrize("name", ["github", "gitlab"])
def test_the_four_checks_write_their_reports(name: str) -> None:
    commands = riskops_commands(_scripts(name))
    written = {c[c.index("--json-out") + 1]: c for c in commands if "--json-out" in c}
    assert set(written) == set(REPORTS)
    for report, words in CHECKS.items():
        assert written[report][:len(words)] == words
    assert "--fail-on-drift" in written["drift-scan.json"]
    assert written["bias-report.json"][3:5] == ['$MODEL', '$VERSION']  # the candidate


def test_github_uploads_all_reports_always_and_runs_every_check() -> None:
    steps = github_steps()
    (upload,) = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["if"] == "always()"
    assert upload["with"]["path"].split() == REPORTS
    assert steps[-1] is upload
    checks = [s for s in steps if "--json-out" in s.get("run", "")]
    assert len(checks) == 4
    # a failed check fails the job (no continue-on-error); the later ones still run
    assert all(not s.get("continue-on-error") for s in checks)
    assert all("!cancelled()" in s["if"] for s in checks[1:])


def test_gitlab_keeps_all_reports_always_and_fails_on_any_check() -> None:
    (job,) = [v for v in gitlab().values() if isinstance(v, dict) and "script" in v]
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["paths"] == REPORTS
    script = job["script"]
    checks = [line for line in script if "--json-out" in line]
    assert len(checks) == 4 and all(line.endswith("|| status=1") for line in checks)
    assert script[-1] == "exit $status"
    assert script.index("status=0") < script.index(checks[0])


def test_commands_in_the_deployment_doc_are_real() -> None:
    doc = (DEPLOY.parent / "docs" / "deployment.md").read_text()
    blocks = re.findall(r"```console\n(.*?)```", doc, flags=re.S)
    shell = "\n".join(line.removeprefix("$ ") for block in blocks
                      for line in block.splitlines())
    commands = riskops_commands(shell)
    assert len(commands) >= 4
    assert {" ".join(c): cli_problems(c) for c in commands} == {
        " ".join(c): [] for c in commands}
