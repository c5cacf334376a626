"""docs/runbook.md has a section per Prometheus alert, at the anchor its runbook_url names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

RUNBOOK = Path(__file__).resolve().parents[1] / "docs" / "runbook.md"
ALERTS = ("RiskopsFeatureDrift", "RiskopsErrorBudgetLow", "RiskopsErrorBudgetFastBurn",
          "RiskopsPerformanceDegraded", "RiskopsModelIntegrityFailed", "RiskopsModelBiasAlert",
          "RiskopsJobFailed")


def github_anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but - and _ dropped, spaces to -.

    >>> github_anchor("Error budget burning (`ml.slo.burn_rate.alert`)")
    'error-budget-burning-mlsloburn_ratealert'
    """
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors() -> list[str]:
    text = RUNBOOK.read_text(encoding="utf-8")
    return [github_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.M)]


def test_anchor_follows_github() -> None:
    assert github_anchor("Error budget burning (`ml.slo.burn_rate.alert`)") == (
        "error-budget-burning-mlsloburn_ratealert")
    assert github_anchor("`riskops verify` fails") == "riskops-verify-fails"


@pytest.mark.parametrize("alert", ALERTS)
def test_each_alert_has_its_section(alert: str) -> None:
    text = RUNBOOK.read_text(encoding="utf-8")
    assert f"\n## {alert}\n" in text
    assert alert.lower() in _anchors()
    section = text.split(f"\n## {alert}\n", 1)[1].split("\n## ", 1)[0]
    for part in ("**Means:**", "**First command:**", "**Roll back:**", "**Escalate:**"):
        assert part in section, f"{alert}: no {part}"


def test_links_within_the_runbook_resolve() -> None:
    links = re.findall(r"\]\(#([^)]+)\)", RUNBOOK.read_text(encoding="utf-8"))
    assert links
    missing = sorted(set(links) - set(_anchors()))
    assert not missing, missing
