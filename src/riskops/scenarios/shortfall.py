"""``shortfall``: will this tax account fall short at cycle close? Tabular binary,
positive label "1"."""

from __future__ import annotations

from collections.abc import Mapping
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

INDUSTRIES = ("construction", "hospitality", "retail", "professional_services",
              "manufacturing", "agriculture")
REGIONS = ("north", "south", "east", "west", "metro")
SIZE_BANDS = ("micro", "small", "medium", "large")
AGE_BANDS = ("under_30", "30-44", "45-59", "60+")

SCHEMA = Schema(
    features=(
        Feature("balance_to_liability_ratio", "numeric",
                "Funds in the tax account divided by the liability projected at cycle close.",
                0.0, 5.0, lower_bound=0),
        Feature("days_to_cycle_close", "numeric", "Days left until the cycle closes.", 0, 90,
                lower_bound=0, integer=True),
        Feature("revenue_change_pct", "numeric",
                "Revenue change against the same period last year, in percent.", -100.0, 300.0,
                lower_bound=-100),
        Feature("missed_payments_12m", "numeric", "Instalments missed in the last 12 months.",
                0, 12, lower_bound=0, integer=True),
        Feature("months_registered", "numeric", "Months since the business registered.",
                0, 600, lower_bound=0, integer=True),
        Feature("estimated_liability", "numeric", "Projected liability at cycle close.",
                0.0, 5_000_000.0, lower_bound=0),
        Feature("payment_plan", "categorical", "Agreed instalment plan, if any.",
                categories=("none", "monthly", "quarterly")),
        Feature("filing_method", "categorical", "How the account files its returns.",
                categories=("e_file", "agent", "paper")),
        Feature("seasonal_business", "categorical", "Revenue is concentrated in a season.",
                categories=("no", "yes")),
    ),
    labels=("0", "1"),
    segments=("industry", "region", "size_band"),
    sensitive="owner_age_band",
)

#: Terms of the label's logit and their weights; see ``ShortfallScenario``.
INTERCEPT = -3.8
NOISE = 0.3
COEFFICIENTS = {
    "cover_gap": 3.5, "log_cover": -0.5, "urgent_gap": 2.5, "seasonal_early_gap": -3.5,
    "revenue_drop": 0.7, "large_revenue_drop": 0.7, "missed": 0.6, "new_business": 2.0,
    "plan_monthly": -1.0, "plan_quarterly": -0.5, "paper": 0.5, "agent": -0.3, "seasonal": 0.6,
    "exposed_industry": 0.5, "professional": -0.5,
}
#: Weights after concept drift: a downturn, where revenue and seasonality drive
#: shortfalls and instalment plans stop protecting.
CONCEPT = {
    "cover_gap": 1.0, "log_cover": -0.2, "urgent_gap": 0.5, "revenue_drop": 1.8,
    "large_revenue_drop": 1.2, "missed": 0.1, "new_business": 0.3, "plan_monthly": 0.8,
    "plan_quarterly": 0.5, "seasonal": 1.5, "exposed_industry": 0.8,
}
COVARIATE_DEFAULT = ("balance_to_liability_ratio", "revenue_change_pct")

_LIABILITY_LOG_MEAN = {"micro": np.log(8_000), "small": np.log(40_000),
                       "medium": np.log(250_000), "large": np.log(1_500_000)}
_COVER_LOG_MEAN = {"micro": 0.05, "small": 0.2, "medium": 0.3, "large": 0.4}
_REVENUE_MEAN = {"construction": 2.0, "hospitality": 0.0, "retail": 1.0,
                 "professional_services": 5.0, "manufacturing": 2.0, "agriculture": 1.0}
_REVENUE_SD = {"construction": 25.0, "hospitality": 30.0, "retail": 18.0,
               "professional_services": 12.0, "manufacturing": 15.0, "agriculture": 28.0}
_MONTHS_MEAN = {"under_30": 30.0, "30-44": 90.0, "45-59": 150.0, "60+": 220.0}
_SEASONAL = {"agriculture": 0.6, "hospitality": 0.55, "construction": 0.3}


class ShortfallScenario(Scenario):
    """Business tax accounts some weeks before a filing cycle closes.

    Generative process (one row per account and cycle; segments and the
    owner's age band drawn first, features conditional on them):

    - estimated_liability: log-normal, median by size band (micro ~8,000 up to
      large ~1.5 million).
    - balance_to_liability_ratio: log-normal with median ~1.1 (micro) to ~1.5
      (large); below 1 means the funds do not cover the projected liability.
    - revenue_change_pct: normal, mean and spread by industry (hospitality and
      agriculture are volatile).
    - months_registered: gamma, mean by owner age band (30 months for under 30
      up to 220 for 60+); older owners file on paper more often (25% against
      8%). These are the sensitive attribute's links to the features.
    - missed payments (Poisson, more for micro businesses and young accounts),
      payment plan, seasonal business (by industry), days to close (uniform).

    label = 1 with probability sigmoid(z), where ``z = INTERCEPT + N(0, 0.3^2)
    + sum(COEFFICIENTS[t] * t)`` over the terms max(0, 1 - ratio) (the cover
    gap), log(ratio + 0.05), the cover gap times (1 - days/90) (urgency), the
    cover gap times days/90 for seasonal businesses (their season may still
    fill the gap), max(0, -revenue change)/20 (again for medium and large
    businesses), min(missed, 6), exp(-months/36), monthly / quarterly plan,
    paper / agent filing, seasonal business, construction or hospitality,
    professional services. The base rate is about 14%.

    Drift from ``drift.start``: covariate lowers ``balance_to_liability_ratio``
    (in log space) and ``revenue_change_pct`` unless other features are named;
    concept moves the weights to ``CONCEPT`` (a downturn) at an unchanged base
    rate; prior doubles the shortfall rate at magnitude 1.
    """

    name = "shortfall"
    description = "Tax account shortfall: will this account fall short at cycle close?"
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
        industry = pick(rng, INDUSTRIES, (0.18, 0.15, 0.22, 0.20, 0.12, 0.13), n)
        region = pick(rng, REGIONS, (0.18, 0.20, 0.17, 0.20, 0.25), n)
        size_band = pick(rng, SIZE_BANDS, (0.40, 0.35, 0.18, 0.07), n)
        age_band = pick(rng, AGE_BANDS, (0.12, 0.35, 0.33, 0.20), n)

        months = rng.gamma(2.0, by_category(age_band, _MONTHS_MEAN) / 2.0)
        months = np.clip(np.round(months), 0, 600).astype(np.int64)
        ratio = np.exp(by_category(size_band, _COVER_LOG_MEAN) + rng.normal(0.0, 0.6, n))
        revenue = (by_category(industry, _REVENUE_MEAN)
                   + by_category(industry, _REVENUE_SD) * rng.normal(0.0, 1.0, n))
        liability = np.exp(by_category(size_band, _LIABILITY_LOG_MEAN) + rng.normal(0.0, 0.7, n))
        missed_mean = 0.3 + 0.3 * (size_band == "micro") + 0.4 * (months < 24)
        paper_share = np.where(age_band == "60+", 0.25, 0.08)
        filing_draw = rng.random(n)
        columns: dict[str, np.ndarray] = {
            "industry": industry, "region": region, "size_band": size_band,
            "owner_age_band": age_band,
            "balance_to_liability_ratio": np.round(np.clip(ratio, 0.0, 5.0), 3),
            "days_to_cycle_close": rng.integers(0, 91, n),
            "revenue_change_pct": np.round(np.clip(revenue, -100.0, 300.0), 1),
            "missed_payments_12m": np.clip(rng.poisson(missed_mean), 0, 12),
            "months_registered": months,
            "estimated_liability": np.round(np.clip(liability, 0.0, 5_000_000.0), 0),
            "payment_plan": pick(rng, ("none", "monthly", "quarterly"), (0.55, 0.30, 0.15), n),
            "filing_method": np.where(filing_draw < paper_share, "paper",
                                      np.where(filing_draw < paper_share + 0.3, "agent",
                                               "e_file")),
            "seasonal_business": np.where(
                rng.random(n) < by_category(industry, _SEASONAL, default=0.15), "yes", "no"),
        }

        after = drift_mask(frame, drift, columns)
        shift_covariates(columns, after, drift, self.schema, seed=seed,
                         default=COVARIATE_DEFAULT, downward=COVARIATE_DEFAULT,
                         log_scale=("balance_to_liability_ratio", "estimated_liability"))
        labels = draw_labels(rng, _terms(columns), intercept=INTERCEPT,
                             coefficients=COEFFICIENTS, noise=NOISE, drift=drift, after=after,
                             concept=CONCEPT)
        return assemble(frame, self.schema, columns, labels)

    def heuristic(self, features: Mapping[str, Any]) -> HeuristicResult:
        """Rules, each adding points (total capped at 1); missing values add none.

        funds cover under 80% of the liability: 0.4 (under 100%: 0.2
        instead); 2+ missed payments in 12 months: 0.2; revenue down 15% or
        more: 0.2; under 30 days to close with cover under 100%: 0.15; no
        payment plan and registered under 2 years: 0.1.
        """
        ratio = number(features, "balance_to_liability_ratio")
        missed = number(features, "missed_payments_12m")
        revenue = number(features, "revenue_change_pct")
        days = number(features, "days_to_cycle_close")
        months = number(features, "months_registered")
        short = ratio is not None and ratio < 1.0
        rules = (
            (ratio is not None and ratio < 0.8, 0.4, "funds cover under 80% of the liability"),
            (short and ratio is not None and ratio >= 0.8, 0.2,
             "funds cover under 100% of the liability"),
            (missed is not None and missed >= 2, 0.2, "2 or more missed payments in 12 months"),
            (revenue is not None and revenue <= -15, 0.2, "revenue down 15% or more"),
            (short and days is not None and days < 30, 0.15,
             "under 30 days to cycle close without full cover"),
            (category(features, "payment_plan") == "none" and months is not None
             and months < 24, 0.1, "no payment plan, registered under 2 years"),
        )
        score = min(1.0, sum(points for fired, points, _ in rules if fired))
        reasons = tuple(reason for fired, _, reason in rules if fired)
        return HeuristicResult(score=score, label=self.label_for(score, self.default_threshold),
                               reasons=reasons)

    def build_model(self, *, seed: int) -> Any:
        return calibrated_gradient_boosting(self.schema, seed=seed)


def _terms(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    ratio = columns["balance_to_liability_ratio"]
    gap = np.maximum(0.0, 1.0 - ratio)
    plan = columns["payment_plan"]
    filing = columns["filing_method"]
    days = columns["days_to_cycle_close"]
    seasonal = (columns["seasonal_business"] == "yes").astype(float)
    drop = np.maximum(0.0, -columns["revenue_change_pct"]) / 20.0
    return {
        "cover_gap": gap,
        "log_cover": np.log(ratio + 0.05),
        "urgent_gap": gap * (1.0 - days / 90.0),
        "seasonal_early_gap": gap * seasonal * (days / 90.0),
        "revenue_drop": drop,
        "large_revenue_drop": drop * np.isin(columns["size_band"], ("medium", "large")),
        "missed": np.minimum(columns["missed_payments_12m"], 6).astype(float),
        "new_business": np.exp(-columns["months_registered"] / 36.0),
        "plan_monthly": (plan == "monthly").astype(float),
        "plan_quarterly": (plan == "quarterly").astype(float),
        "paper": (filing == "paper").astype(float),
        "agent": (filing == "agent").astype(float),
        "seasonal": seasonal,
        "exposed_industry": np.isin(columns["industry"],
                                    ("construction", "hospitality")).astype(float),
        "professional": (columns["industry"] == "professional_services").astype(float),
    }
