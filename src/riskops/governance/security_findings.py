"""What ``riskops audit security`` finds, and the verdict on a list of findings.

Severities, lowest first: ``info``, ``low``, ``medium``, ``high``, ``critical``.
A finding whose severity the source does not give (pip-audit's PyPI and OSV
answers carry none) is ``unknown`` and counts as ``high`` for the verdict:
an unrated vulnerability fails a scan that fails on ``high``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Every severity a finding may carry, lowest first; ``unknown`` is ranked as ``high``.
SEVERITY_RANKS: dict[str, int] = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
UNKNOWN = "unknown"
UNKNOWN_RANKS_AS = "high"


@dataclass(frozen=True)
class Finding:
    """One problem: which check saw it, how bad it is, what it is about and what to do.

    ``extra`` holds check-specific fields (a vulnerability's id, fix versions, ...)
    that ``as_dict`` adds beside the five common ones.
    """

    check: str
    severity: str
    subject: str
    detail: str
    next: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**self.extra, "check": self.check, "severity": self.severity,
                "subject": self.subject, "detail": self.detail, "next": self.next}


def severity_rank(severity: str) -> int:
    """The rank of ``severity`` (``info`` 0 ... ``critical`` 4; ``unknown`` as ``high``).

    Raises
    ------
    ValueError
        If ``severity`` is not a known severity.

    Examples
    --------
    >>> severity_rank("unknown") == severity_rank("high")
    True
    """
    if severity == UNKNOWN:
        return SEVERITY_RANKS[UNKNOWN_RANKS_AS]
    if severity not in SEVERITY_RANKS:
        raise ValueError(f"severity {severity!r} is not one of "
                         f"{', '.join([*SEVERITY_RANKS, UNKNOWN])}")
    return SEVERITY_RANKS[severity]


def failing(findings: Iterable[Finding], fail_on: str) -> list[Finding]:
    """The findings at or above ``fail_on``, in their order.

    Parameters
    ----------
    findings : iterable of Finding
    fail_on : str
        The lowest severity that fails the scan (``governance.security_fail_on``).

    Returns
    -------
    list of Finding
        Empty when the scan passes.

    Examples
    --------
    >>> medium = Finding("unexpected_file", "medium", "models/a/1/x", "not listed", "remove it")
    >>> failing([medium], "high")
    []
    """
    threshold = severity_rank(fail_on)
    return [f for f in findings if severity_rank(f.severity) >= threshold]


def verdict(findings: Iterable[Finding], fail_on: str) -> str:
    """``"fail"`` if any finding is at or above ``fail_on``, else ``"pass"``."""
    return "fail" if failing(findings, fail_on) else "pass"


def count_by_severity(findings: Iterable[Finding]) -> dict[str, int]:
    """How many findings of each severity, every severity present (zero included)."""
    counts = dict.fromkeys([*SEVERITY_RANKS, UNKNOWN], 0)
    for finding in findings:
        counts[finding.severity] += 1
    return {key: counts[key] for key in ("critical", "high", "medium", "low", "info", UNKNOWN)}
