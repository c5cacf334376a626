"""Known vulnerabilities of the installed packages, as pip-audit reports them.

pip-audit runs as a child of the current interpreter on the current
environment (``--local``, editable installs such as riskops itself skipped)
and asks its advisory source (PyPI by default) about every package. When the
source cannot be asked (``offline``, no network, DNS failure, timeout, a
pip-audit error, output that is not its JSON report, or every package
skipped) the audit is ``unavailable`` with the reason: a warning, never a
failure of the scan.

The runner is a parameter, so tests replay recorded output::

    audit_dependencies(runner=lambda command, timeout: (0, RECORDED_JSON, ""))
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from riskops.governance.security_findings import SEVERITY_RANKS, UNKNOWN, Finding

#: ``runner(command, timeout)`` -> ``(returncode, stdout, stderr)``; raises
#: ``subprocess.TimeoutExpired`` past ``timeout`` seconds, ``OSError`` if it cannot start.
Runner = Callable[[Sequence[str], float], tuple[int, str, str]]

DEFAULT_TIMEOUT = 120.0
DESCRIPTION_CHARS = 300
_UNREACHABLE_HINTS = ("connection", "resolve", "name resolution", "timed out", "timeout",
                      "max retries", "network is unreachable", "ssl", "proxy")


@dataclass(frozen=True)
class DependencyAudit:
    """What pip-audit said: ``ok``, ``findings`` or ``unavailable`` (with the reason)."""

    status: str
    reason: str | None
    packages_scanned: int
    findings: tuple[Finding, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason,
                "packages_scanned": self.packages_scanned,
                "findings": [f.as_dict() for f in self.findings]}


def pip_audit_command(python: str = sys.executable) -> list[str]:
    """The pip-audit command line for the environment of ``python``."""
    return [python, "-m", "pip_audit", "--format", "json", "--progress-spinner", "off",
            "--local", "--skip-editable"]


def run_command(command: Sequence[str], timeout: float) -> tuple[int, str, str]:
    """Run ``command``; its exit code, stdout and stderr (the default runner)."""
    done = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout,
                          check=False)
    return done.returncode, done.stdout, done.stderr


def audit_dependencies(*, runner: Runner | None = None, timeout: float = DEFAULT_TIMEOUT,
                       offline: bool = False) -> DependencyAudit:
    """Run pip-audit through ``runner`` and read its report.

    Parameters
    ----------
    runner : callable, optional
        ``runner(command, timeout)`` -> ``(returncode, stdout, stderr)``;
        ``run_command`` (a real subprocess) when not given.
    timeout : float, default=120.0
        Seconds pip-audit may take before the audit is ``unavailable``.
    offline : bool, default=False
        Do not run pip-audit at all; the audit is ``unavailable``.

    Returns
    -------
    DependencyAudit
        Never raises for an unreachable source or a broken pip-audit.
    """
    if offline:
        return DependencyAudit("unavailable", "--offline given; advisories were not fetched", 0)
    try:
        code, stdout, stderr = (runner or run_command)(pip_audit_command(), timeout)
    except subprocess.TimeoutExpired:
        return DependencyAudit("unavailable", f"pip-audit did not finish within {timeout:g} s "
                               "(advisory source slow or unreachable)", 0)
    except OSError as exc:
        return DependencyAudit("unavailable", f"pip-audit could not start: {exc}", 0)
    # pip-audit exits 1 when it found vulnerabilities, with its report on stdout.
    try:
        scanned, skipped, findings = parse_pip_audit(stdout)
    except ValueError as exc:
        return DependencyAudit("unavailable", _failure_reason(code, stderr, str(exc)), 0)
    if scanned == 0 and skipped:
        return DependencyAudit("unavailable", f"pip-audit could not audit any of {skipped} "
                               "packages (advisory source unreachable or refusing?)", 0)
    return DependencyAudit("findings" if findings else "ok", None, scanned, tuple(findings))


def parse_pip_audit(stdout: str) -> tuple[int, int, list[Finding]]:
    """Packages audited, packages skipped, and one finding per vulnerability.

    Parameters
    ----------
    stdout : str
        pip-audit's ``--format json`` report: ``{"dependencies": [{"name",
        "version", "vulns": [{"id", "fix_versions", "aliases", "description"}]}
        or {"name", "skip_reason"}], "fixes": [...]}``.

    Returns
    -------
    scanned, skipped : int
    findings : list of Finding
        Severity ``unknown`` unless a vulnerability names a known one.

    Raises
    ------
    ValueError
        If ``stdout`` is not such a report.
    """
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        raise ValueError("pip-audit printed no JSON report") from None
    dependencies = report.get("dependencies") if isinstance(report, dict) else None
    if not isinstance(dependencies, list):
        raise ValueError("pip-audit's JSON has no 'dependencies' list")
    scanned = skipped = 0
    findings: list[Finding] = []
    for dep in dependencies:
        if not isinstance(dep, dict) or not isinstance(dep.get("name"), str):
            raise ValueError("pip-audit's JSON lists a dependency without a name")
        if "skip_reason" in dep:
            skipped += 1
            continue
        scanned += 1
        for vuln in dep.get("vulns") or []:
            findings.append(_finding(dep["name"], str(dep.get("version", "?")), vuln))
    return scanned, skipped, findings


def _finding(package: str, version: str, vuln: dict[str, Any]) -> Finding:
    if not isinstance(vuln, dict) or not isinstance(vuln.get("id"), str):
        raise ValueError(f"pip-audit's JSON lists a vulnerability of {package} without an id")
    aliases = [str(a) for a in vuln.get("aliases") or []]
    fixes = [str(v) for v in vuln.get("fix_versions") or []]
    description = " ".join(str(vuln.get("description") or "").split())
    if len(description) > DESCRIPTION_CHARS:
        description = description[:DESCRIPTION_CHARS - 1] + "…"
    given = str(vuln.get("severity") or "").lower()
    severity = given if given in SEVERITY_RANKS else UNKNOWN
    known_as = f" ({', '.join(aliases)})" if aliases else ""
    step = (f"upgrade {package} to {fixes[0]} or later" if fixes else
            f"no fixed {package} release yet; read {vuln['id']} and decide whether riskops "
            "uses the affected part")
    return Finding(
        check="vulnerability", severity=severity, subject=f"{package} {version}",
        detail=f"{vuln['id']}{known_as}: {description or 'no description'}", next=step,
        extra={"package": package, "version": version, "id": vuln["id"], "aliases": aliases,
               "fix_versions": fixes, "description": description},
    )


def _failure_reason(code: int, stderr: str, problem: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = lines[-1][:200] if lines else "no message"
    if any(hint in stderr.lower() for hint in _UNREACHABLE_HINTS):
        return f"advisory source unreachable (pip-audit exit {code}): {last}"
    return f"{problem} (pip-audit exit {code}): {last}"
