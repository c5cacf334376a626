"""``compliance``: is this regulated firm at risk of a compliance breach, and what
should be done about it? Tabular binary (positive label "1") plus a tiered plan.

    scenario = ComplianceScenario()
    scenario.plan(0.72, {"overdue_filings": 2})
    # [{"tier": "audit", "action": "File the 2 overdue regulatory filings", ...}, ...]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from riskops.scenarios.base import Drift, Feature, HeuristicResult, Scenario, Schema
from riskops.scenarios.generate import (
    assemble,
    by_category,
    category,
    check_drift,
    draw_labels,
    number,
    shift_covariates,
)
from riskops.scenarios.tabular import calibrated_gradient_boosting, drift_mask, pick, skeleton

INDUSTRIES = ("banking", "insurance", "fintech", "crypto", "healthcare", "energy")
REGIONS = ("eu", "uk", "us", "apac", "mea")
SIZE_BANDS = ("small", "medium", "large", "enterprise")
GENDERS = ("female", "male", "undisclosed")

SCHEMA = Schema(
    features=(
        Feature("days_since_last_audit", "numeric", "Days since the last completed audit.",
                0, 3650, lower_bound=0, integer=True),
        Feature("open_findings", "numeric", "Audit and regulator findings not yet closed.",
                0, 50, lower_bound=0, integer=True),
        Feature("overdue_filings", "numeric", "Regulatory filings past their due date.", 0, 20,
                lower_bound=0, integer=True),
        Feature("control_test_failure_rate", "numeric",
                "Share of control tests failed in the last quarter.", 0.0, 1.0,
                lower_bound=0, upper_bound=1),
        Feature("training_completion", "numeric",
                "Share of staff with current compliance training.", 0.0, 1.0,
                lower_bound=0, upper_bound=1),
        Feature("third_party_count", "numeric", "Active third-party providers and agents.",
                0, 1000, lower_bound=0, integer=True),
        Feature("prior_sanctions_5y", "numeric", "Regulatory sanctions in the last 5 years.",
                0, 10, lower_bound=0, integer=True),
        Feature("jurisdiction_risk", "categorical",
                "Highest risk rating among the jurisdictions the firm operates in.",
                categories=("low", "medium", "high")),
        Feature("ownership_structure", "categorical", "Complexity of the ownership chain.",
                categories=("simple", "layered", "complex")),
    ),
    labels=("0", "1"),
    segments=("industry", "region", "size_band"),
    sensitive="owner_gender",
)

#: Terms of the label's logit and their weights; see ``ComplianceScenario``.
INTERCEPT = -5.95
NOISE = 0.4
COEFFICIENTS = {
    "stale_audit": 0.6, "findings": 0.9, "overdue": 0.8, "control_failures": 0.45,
    "training_gap": 0.6, "third_parties": 0.4, "sanctions": 0.9, "jurisdiction_high": 1.2,
    "jurisdiction_medium": 0.5, "complex_ownership": 1.2, "layered_ownership": 0.5,
    "crypto": 0.6, "healthcare": -0.3,
}
#: Weights after concept drift: a new rulebook on third parties and ownership
#: transparency; audit history matters less.
CONCEPT = {
    "stale_audit": 0.05, "findings": 0.1, "overdue": 0.3, "control_failures": 0.1,
    "training_gap": 0.1, "third_parties": 1.0, "sanctions": 0.3, "jurisdiction_high": 1.5,
    "jurisdiction_medium": 0.6, "complex_ownership": 1.6, "layered_ownership": 0.8,
    "crypto": 0.2,
}
COVARIATE_DEFAULT = ("open_findings", "control_test_failure_rate")

_AUDIT_GAP_MEAN = {"small": 600.0, "medium": 420.0, "large": 330.0, "enterprise": 300.0}
_FINDINGS_SCALE = {"small": 0.7, "medium": 1.0, "large": 1.6, "enterprise": 2.2}
_THIRD_PARTY_LOG_MEAN = {"small": np.log(8), "medium": np.log(30), "large": np.log(90),
                         "enterprise": np.log(250)}
_HIGH_JURISDICTION = {"eu": 0.05, "uk": 0.05, "us": 0.05, "apac": 0.2, "mea": 0.35}


@dataclass(frozen=True)
class Tier:
    """A band of risk scores and the standard actions it calls for."""

    name: str
    lower: float  # scores at or above this (and below the next tier's) fall here
    due_in_days: int
    actions: tuple[str, ...]


TIERS: tuple[Tier, ...] = (
    Tier("monitor", 0.0, 90, (
        "Keep automated monitoring on and re-score at the next quarterly review",
    )),
    Tier("review", 0.3, 30, (
        "Compliance officer reviews open findings, failed controls and filings",
        "Name an owner and a date for every open remediation item",
    )),
    Tier("audit", 0.6, 7, (
        "Open a targeted compliance audit",
        "Escalate to the risk committee with this assessment",
        "Hold onboarding of new third parties until the audit closes",
    )),
)


class ComplianceScenario(Scenario):
    """Regulated firms' risk of a compliance breach in the next review period.

    Generative process (one row per firm and review; segments and the owner's
    gender drawn first, features conditional on them):

    - days_since_last_audit: gamma, mean by size band (600 days for small
      firms down to 300 for enterprises).
    - open_findings, overdue_filings, prior_sanctions_5y: Poisson, more for
      larger firms (findings) and for crypto and fintech (filings).
    - control_test_failure_rate: beta, mean ~10% (~18% in crypto).
    - training_completion: beta, mean ~80%.
    - third_party_count: log-normal by size band; firms with female owners
      have about 20% fewer.
    - jurisdiction_risk: "high" for 5% of EU/UK/US firms, 20% in APAC, 35% in
      MEA; ownership_structure more often layered or complex in crypto and
      fintech and where the owner's gender is undisclosed. These two are the
      sensitive attribute's links to the features.

    label = 1 with probability sigmoid(z), where ``z = INTERCEPT + N(0, 0.4^2)
    + sum(COEFFICIENTS[t] * t)`` over the terms min(audit gap in years, 5),
    log(1 + open findings), min(overdue filings, 5), control failures per 10
    points, training gap per 20 points, log(1 + third parties)/2, min(sanctions,
    3), high / medium jurisdiction, complex / layered ownership, crypto,
    healthcare. The base rate is about 20%.

    Drift from ``drift.start``: covariate raises ``open_findings`` and
    ``control_test_failure_rate`` unless other features are named; concept
    moves the weights to ``CONCEPT`` (third parties, jurisdiction and
    ownership dominate) at an unchanged base rate; prior roughly doubles the
    breach rate at magnitude 1 (``2**m`` times the rate, at most 95%).

    ``plan(score, features)`` turns a score into tiered actions (``TIERS``).
    """

    name = "compliance"
    description = "Compliance risk of a regulated firm, with a recommended tiered plan."
    schema = SCHEMA

    def generate(
        self, rows: int, *, start: date, days: int, seed: int = 0, drift: Drift | None = None,
        tenants: int = 3,
    ) -> pd.DataFrame:
        check_drift(self.schema, drift)
        rng = np.random.default_rng(seed)
        frame = skeleton(rng, rows, prefix=self.name, start=start, days=days, tenants=tenants,
                         seed=seed)
        n = len(frame)
        industry = pick(rng, INDUSTRIES, (0.22, 0.15, 0.20, 0.08, 0.20, 0.15), n)
        region = pick(rng, REGIONS, (0.30, 0.15, 0.30, 0.15, 0.10), n)
        size_band = pick(rng, SIZE_BANDS, (0.35, 0.35, 0.22, 0.08), n)
        gender = pick(rng, GENDERS, (0.30, 0.62, 0.08), n)

        crypto = industry == "crypto"
        filings_mean = 0.3 + 0.4 * np.isin(industry, ("crypto", "fintech"))
        failure = rng.beta(np.where(crypto, 3.0, 2.0), np.where(crypto, 14.0, 18.0))
        third_parties = np.exp(by_category(size_band, _THIRD_PARTY_LOG_MEAN)
                               + np.log(0.8) * (gender == "female") + rng.normal(0.0, 0.8, n))
        high_share = by_category(region, _HIGH_JURISDICTION)
        jurisdiction_draw = rng.random(n)
        layered_draw = rng.random(n)
        risky_owner = np.isin(industry, ("crypto", "fintech")) | (gender == "undisclosed")
        columns: dict[str, np.ndarray] = {
            "industry": industry, "region": region, "size_band": size_band,
            "owner_gender": gender,
            "days_since_last_audit": np.clip(
                np.round(rng.gamma(2.0, by_category(size_band, _AUDIT_GAP_MEAN) / 2.0)),
                0, 3650).astype(np.int64),
            "open_findings": np.clip(
                rng.poisson(1.2 * by_category(size_band, _FINDINGS_SCALE) + 1.0 * crypto), 0, 50),
            "overdue_filings": np.clip(rng.poisson(filings_mean), 0, 20),
            "control_test_failure_rate": np.round(failure, 3),
            "training_completion": np.round(rng.beta(8.0, 2.0, n), 3),
            "third_party_count": np.clip(np.round(third_parties), 0, 1000).astype(np.int64),
            "prior_sanctions_5y": np.clip(rng.poisson(0.1 + 0.2 * crypto), 0, 10),
            "jurisdiction_risk": np.where(
                jurisdiction_draw < high_share, "high",
                np.where(jurisdiction_draw < high_share + 0.25, "medium", "low")),
            "ownership_structure": np.where(
                layered_draw < np.where(risky_owner, 0.25, 0.08), "complex",
                np.where(layered_draw < np.where(risky_owner, 0.6, 0.35), "layered", "simple")),
        }

        after = drift_mask(frame, drift, columns)
        shift_covariates(columns, after, drift, self.schema, seed=seed,
                         default=COVARIATE_DEFAULT, log_scale=("third_party_count",))
        labels = draw_labels(rng, _terms(columns), intercept=INTERCEPT,
                             coefficients=COEFFICIENTS, noise=NOISE, drift=drift, after=after,
                             concept=CONCEPT)
        return assemble(frame, self.schema, columns, labels)

    def heuristic(self, features: Mapping[str, Any]) -> HeuristicResult:
        """Rules, each adding points (total capped at 1); missing values add none.

        5+ open findings: 0.25; any overdue filing: 0.25; no audit for 2
        years: 0.2; high-risk jurisdiction: 0.2; any sanction in 5 years: 0.2;
        training completion under 70%: 0.1.
        """
        findings = number(features, "open_findings")
        overdue = number(features, "overdue_filings")
        audit_gap = number(features, "days_since_last_audit")
        sanctions = number(features, "prior_sanctions_5y")
        training = number(features, "training_completion")
        rules = (
            (findings is not None and findings >= 5, 0.25, "5 or more open findings"),
            (overdue is not None and overdue >= 1, 0.25, "overdue regulatory filings"),
            (audit_gap is not None and audit_gap > 730, 0.2, "no audit in the last 2 years"),
            (category(features, "jurisdiction_risk") == "high", 0.2,
             "operates in a high-risk jurisdiction"),
            (sanctions is not None and sanctions >= 1, 0.2, "sanctioned in the last 5 years"),
            (training is not None and training < 0.7, 0.1,
             "compliance training completion under 70%"),
        )
        score = min(1.0, sum(points for fired, points, _ in rules if fired))
        reasons = tuple(reason for fired, _, reason in rules if fired)
        return HeuristicResult(score=score, label=self.label_for(score, self.default_threshold),
                               reasons=reasons)

    def build_model(self, *, seed: int) -> Any:
        return calibrated_gradient_boosting(self.schema, seed=seed)

    def plan(self, score: float, features: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Recommended actions for a firm with risk ``score``, soonest first.

        The tier comes from the score: ``monitor`` below 0.3 (due in 90 days),
        ``review`` from 0.3 (30 days), ``audit`` from 0.6 (7 days). Each tier
        brings its standard actions; targeted actions are added for what the
        features show (overdue filings, 5+ open findings, failing controls,
        training under 90%, no audit in 2 years, high-risk jurisdiction), due at
        the sooner of their own deadline and the tier's. Missing features add
        no targeted actions.

        Parameters
        ----------
        score : float
            Risk score in [0, 1] (model or heuristic).
        features : Mapping
            The firm's features, as scored.

        Returns
        -------
        actions : list of dict
            ``{"tier", "action", "due_in_days", "reason"}`` per action, sorted by
            ``due_in_days`` (standard actions first among equals).

        Raises
        ------
        ValueError
            If ``score`` is not a number in [0, 1].
        """
        if isinstance(score, bool) or not isinstance(score, int | float) or not (
                math.isfinite(score) and 0.0 <= score <= 1.0):
            raise ValueError(f"score must be a number in [0, 1], got {score!r}.")
        tier = tier_for(score)
        because = f"risk score {score:.2f} is in the {tier.name} tier"
        steps = [{"tier": tier.name, "action": action, "due_in_days": tier.due_in_days,
                  "reason": because} for action in tier.actions]
        for action, due, reason in _targeted_actions(features):
            steps.append({"tier": tier.name, "action": action,
                          "due_in_days": min(due, tier.due_in_days), "reason": reason})
        return sorted(steps, key=lambda step: step["due_in_days"])


def tier_for(score: float) -> Tier:
    """The tier a risk score falls in (``TIERS`` are ordered by ``lower``)."""
    chosen = TIERS[0]
    for tier in TIERS:
        if score >= tier.lower:
            chosen = tier
    return chosen


def _targeted_actions(features: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    overdue = number(features, "overdue_filings")
    findings = number(features, "open_findings")
    failure = number(features, "control_test_failure_rate")
    training = number(features, "training_completion")
    audit_gap = number(features, "days_since_last_audit")
    actions: list[tuple[str, int, str]] = []
    if overdue is not None and overdue >= 1:
        actions.append((f"File the {overdue:.0f} overdue regulatory filing(s)", 14,
                        f"{overdue:.0f} filing(s) past due"))
    if findings is not None and findings >= 5:
        actions.append((f"Close or re-plan the {findings:.0f} open findings", 30,
                        f"{findings:.0f} findings open"))
    if failure is not None and failure >= 0.2:
        actions.append(("Re-test the failing controls and fix their design", 30,
                        f"{failure:.0%} of control tests failed last quarter"))
    if training is not None and training < 0.9:
        actions.append(("Bring compliance training completion to at least 95%", 60,
                        f"training completion is {training:.0%}"))
    if audit_gap is not None and audit_gap > 730:
        actions.append(("Schedule a full compliance audit", 60,
                        f"last audit {audit_gap:.0f} days ago"))
    if category(features, "jurisdiction_risk") == "high":
        actions.append(("Apply enhanced due diligence to high-risk jurisdiction activity", 30,
                        "operates in a high-risk jurisdiction"))
    return actions


def _terms(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    jurisdiction = columns["jurisdiction_risk"]
    ownership = columns["ownership_structure"]
    return {
        "stale_audit": np.minimum(columns["days_since_last_audit"] / 365.0, 5.0),
        "findings": np.log1p(columns["open_findings"]),
        "overdue": np.minimum(columns["overdue_filings"], 5).astype(float),
        "control_failures": columns["control_test_failure_rate"] * 10.0,
        "training_gap": (1.0 - columns["training_completion"]) * 5.0,
        "third_parties": np.log1p(columns["third_party_count"]) / 2.0,
        "sanctions": np.minimum(columns["prior_sanctions_5y"], 3).astype(float),
        "jurisdiction_high": (jurisdiction == "high").astype(float),
        "jurisdiction_medium": (jurisdiction == "medium").astype(float),
        "complex_ownership": (ownership == "complex").astype(float),
        "layered_ownership": (ownership == "layered").astype(float),
        "crypto": (columns["industry"] == "crypto").astype(float),
        "healthcare": (columns["industry"] == "healthcare").astype(float),
    }
