"""``deal``: will this open B2B sales deal be lost, or slip past its close quarter?

Tabular binary; positive label "1" = lost or slipped (most open deals are).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from types import MappingProxyType
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

INDUSTRIES = ("software", "manufacturing", "financial_services", "healthcare", "retail",
              "public_sector")
REGIONS = ("north_america", "emea", "apac", "latam")
DEAL_SIZE_BANDS = ("small", "medium", "large")
COMPANY_SIZE_BANDS = ("smb", "mid_market", "enterprise")
STAGES = ("qualification", "discovery", "proposal", "negotiation", "commit")
PRODUCT_LINES = ("core", "analytics", "security", "services")
LEAD_SOURCES = ("inbound", "outbound", "partner", "event", "referral")
#: Deal amounts at or above these fall in the medium and large bands.
MEDIUM_FROM, LARGE_FROM = 25_000.0, 150_000.0

SCHEMA = Schema(
    features=(
        Feature("amount", "numeric", "Deal amount (annual contract value).", 500.0,
                5_000_000.0, lower_bound=0),
        Feature("stage", "categorical", "Pipeline stage the deal is in.", categories=STAGES),
        Feature("days_in_stage", "numeric", "Days the deal has been in its current stage.",
                0, 720, lower_bound=0, integer=True),
        Feature("days_to_close", "numeric",
                "Days until the expected close date; negative when it has passed.", -180, 365,
                integer=True),
        Feature("stakeholders_engaged", "numeric",
                "People at the buyer engaged so far (contacts with activity).", 0, 30,
                lower_bound=0, integer=True),
        Feature("meetings_30d", "numeric", "Meetings with the buyer in the last 30 days.",
                0, 60, lower_bound=0, integer=True),
        Feature("discount_pct", "numeric", "Discount requested, percent of list price.",
                0.0, 80.0, lower_bound=0, upper_bound=100),
        Feature("competitor_present", "categorical", "A competitor is known to be bidding.",
                categories=("no", "yes")),
        Feature("product_line", "categorical", "Main product line of the deal.",
                categories=PRODUCT_LINES),
        Feature("lead_source", "categorical", "Where the opportunity came from.",
                categories=LEAD_SOURCES),
    ),
    labels=("0", "1"),
    segments=("industry", "region", "deal_size_band"),
    sensitive="company_size_band",
)

#: Terms of the label's logit and their weights; see ``DealScenario``.
INTERCEPT = 0.6
NOISE = 0.5
COEFFICIENTS = {
    "stage_risk": 1.0, "stalled": 0.9, "no_meetings": 0.9, "meetings": -0.35,
    "stakeholders": -0.22, "discount": 0.08, "heavy_discount": 0.6, "competitor": 0.7,
    "overdue": 1.3, "crunch": 1.2, "log_amount": 0.25, "outbound": 0.4, "warm_lead": -0.45,
    "services": -0.3, "public_sector": 0.4,
}
#: Weights after concept drift: a budget freeze. Buyers stop answering to engagement;
#: price and competition decide, big deals stall, stage matters less.
CONCEPT = {
    "stage_risk": 0.5, "stalled": 0.4, "no_meetings": 0.3, "meetings": -0.1,
    "stakeholders": 0.0, "discount": 0.15, "heavy_discount": 1.5, "competitor": 1.6,
    "overdue": 1.3, "crunch": 0.5, "log_amount": 0.8, "outbound": 0.4, "warm_lead": -0.2,
    "services": 0.0, "public_sector": 1.0,
}
COVARIATE_DEFAULT = ("discount_pct", "days_in_stage")

#: Stage as a risk offset (early stages are lost more) and its typical days in stage.
_STAGE_RISK = {"qualification": 1.2, "discovery": 0.8, "proposal": 0.3, "negotiation": -0.3,
               "commit": -1.3}
_TYPICAL_DAYS = {"qualification": 20.0, "discovery": 25.0, "proposal": 30.0,
                 "negotiation": 20.0, "commit": 10.0}
_STAGE_INDEX = {stage: float(i) for i, stage in enumerate(STAGES)}
_LOG_AMOUNT_MEAN = {"smb": np.log(12_000.0), "mid_market": np.log(45_000.0),
                    "enterprise": np.log(180_000.0)}
_COMPETITIVE = {"software": 0.5, "retail": 0.45}
#: Last days of a quarter: more deals are scored (the forecast call) and discounts rise.
QUARTER_END_DAYS = 14


class DealScenario(Scenario):
    """Open B2B sales deals at companies of six industries in four regions.

    One row per scoring of an open deal (a pipeline snapshot). Segments and
    the company's size band drawn first, features conditional on them:

    - timestamps: 2.5 times as many scorings a day in the last 14 days of a
      quarter as in the rest of it (forecast calls), so volume is seasonal.
    - amount: log-normal, median by company size band (12k SMB, 45k mid-market,
      180k enterprise); ``deal_size_band`` is the amount's band (small under
      25k, medium under 150k, large from 150k).
    - stage: qualification 25%, discovery 22%, proposal 22%, negotiation 18%,
      commit 13%; days in stage gamma around the stage's typical length, one
      deal in five stalled (three times as long), large deals 30% slower.
    - days_to_close: to the end of the current quarter (late stages, or 60%
      of the rest) or of the next one, plus N(0, 7^2) days; 8% of deals are
      past their expected close (negative days).
    - stakeholders, meetings: Poisson, rising with the stage and company
      size; stalled deals have fewer meetings.
    - discount: 45% ask none; the rest Beta-distributed, higher with a
      competitor and in the last 21 days before the expected close.

    The company size band is the sensitive attribute: a proxy for the buyer's
    size, which links to the features only through amount and stakeholders.

    label = 1 (lost or slipped) with probability sigmoid(z), ``z = INTERCEPT
    + N(0, 0.5^2) + sum(COEFFICIENTS[t] * t)`` over the terms: stage risk
    (qualification +1.2 to commit -1.3), log1p(days in stage / typical days),
    no meeting in 30 days, log1p(meetings), min(stakeholders, 8), discount / 10,
    discount of 25% or more, competitor present, past the expected close,
    qualification or discovery with under 21 days to close, log(amount) -
    10.5, outbound lead, partner or referral lead, services product, public
    sector buyer. The base rate is about 72%.

    Drift from ``drift.start``: covariate raises ``discount_pct`` and
    ``days_in_stage`` unless other features are named; concept moves the
    weights to ``CONCEPT`` (a budget freeze) at an unchanged base rate; prior
    raises the loss rate towards 95% (``PRIOR_CAP``). Any of them can be
    limited to one segment value (``Drift.segment``).
    """

    name = "deal"
    description = "Sales-deal risk: will this open B2B deal be lost or slip past its quarter?"
    schema = SCHEMA
    #: Most deals are lost, so a calibrated model's mean |y - p| is about E[2p(1 - p)],
    #: 0.30 on generated data (Brier E[p(1 - p)], 0.15): the default MAE threshold of 0.2
    #: would call every healthy deal model degraded. Brier keeps the default.
    degradation: Mapping[str, float] | None = MappingProxyType({"brier": 0.2, "mae": 0.4})

    def generate(
        self, rows: int, *, start: date, days: int, seed: int = 0, drift: Drift | None = None,
        tenants: int = 3,
    ) -> pd.DataFrame:
        check_drift(self.schema, drift)
        rng = np.random.default_rng(seed)
        frame = skeleton(rng, rows, prefix=self.name, start=start, days=days, tenants=tenants,
                         seed=seed, day_weights=quarter_end_weights(start, days))
        n = len(frame)
        industry = pick(rng, INDUSTRIES, (0.25, 0.18, 0.17, 0.14, 0.14, 0.12), n)
        region = pick(rng, REGIONS, (0.40, 0.30, 0.18, 0.12), n)
        company = pick(rng, COMPANY_SIZE_BANDS, (0.45, 0.35, 0.20), n)
        stage = pick(rng, STAGES, (0.25, 0.22, 0.22, 0.18, 0.13), n)
        stage_index = by_category(stage, _STAGE_INDEX)
        enterprise = (company == "enterprise").astype(float)

        amount = np.round(np.clip(np.exp(by_category(company, _LOG_AMOUNT_MEAN)
                                         + rng.normal(0.0, 0.8, n)), 500.0, 5_000_000.0), -2)
        amount = np.maximum(amount, 500.0)
        large = amount >= LARGE_FROM
        stalled = rng.random(n) < 0.2
        typical = by_category(stage, _TYPICAL_DAYS) * (1.0 + 0.3 * large)
        in_stage = rng.gamma(2.0, typical / 2.0) * np.where(stalled, 3.0, 1.0)
        to_quarter_end = _days_to_quarter_end(frame["timestamp"])
        this_quarter = (stage_index >= 3) | (rng.random(n) < 0.6)
        to_close = np.where(this_quarter, to_quarter_end, to_quarter_end + 91) \
            + rng.normal(0.0, 7.0, n)
        overdue = rng.random(n) < 0.08
        to_close = np.where(overdue, -rng.gamma(1.5, 10.0, n), to_close)
        meetings_mean = (1.0 + 0.9 * stage_index + 1.5 * enterprise) \
            * np.where(stalled, 0.3, 1.0)
        competitor = rng.random(n) < by_category(industry, _COMPETITIVE, default=0.3)
        asks = rng.random(n) < 0.55
        discount = np.where(asks, 40.0 * rng.beta(2.0, 5.0, n) + 8.0 * competitor
                            + 6.0 * (to_close < 21), 0.0)
        columns: dict[str, np.ndarray] = {
            "industry": industry, "region": region,
            "deal_size_band": np.where(large, "large",
                                       np.where(amount >= MEDIUM_FROM, "medium", "small")),
            "company_size_band": company,
            "amount": amount,
            "stage": stage,
            "days_in_stage": np.clip(np.round(in_stage), 0, 720).astype(np.int64),
            "days_to_close": np.clip(np.round(to_close), -180, 365).astype(np.int64),
            "stakeholders_engaged": np.clip(
                rng.poisson(1.0 + 0.8 * stage_index + 1.5 * enterprise), 0, 30),
            "meetings_30d": np.clip(rng.poisson(meetings_mean), 0, 60),
            "discount_pct": np.round(np.clip(discount, 0.0, 80.0), 1),
            "competitor_present": np.where(competitor, "yes", "no"),
            "product_line": pick(rng, PRODUCT_LINES, (0.40, 0.25, 0.20, 0.15), n),
            "lead_source": pick(rng, LEAD_SOURCES, (0.30, 0.30, 0.15, 0.10, 0.15), n),
        }

        after = drift_mask(frame, drift, columns)
        shift_covariates(columns, after, drift, self.schema, seed=seed,
                         default=COVARIATE_DEFAULT, log_scale=("days_in_stage",))
        labels = draw_labels(rng, _terms(columns), intercept=INTERCEPT,
                             coefficients=COEFFICIENTS, noise=NOISE, drift=drift, after=after,
                             concept=CONCEPT)
        return assemble(frame, self.schema, columns, labels)

    def heuristic(self, features: Mapping[str, Any]) -> HeuristicResult:
        """Rules, each adding points (total capped at 1); missing values add none.

        over 45 days in the current stage: 0.3; no meeting in 30 days: 0.3;
        past the expected close date: 0.3; discount of 25% or more: 0.2;
        competitor present: 0.15; qualification or discovery with under 21
        days to close: 0.2.
        """
        in_stage = number(features, "days_in_stage")
        meetings = number(features, "meetings_30d")
        to_close = number(features, "days_to_close")
        discount = number(features, "discount_pct")
        early = category(features, "stage") in ("qualification", "discovery")
        rules = (
            (in_stage is not None and in_stage > 45, 0.3, "stalled: over 45 days in stage"),
            (meetings is not None and meetings == 0, 0.3, "no meeting in the last 30 days"),
            (to_close is not None and to_close < 0, 0.3, "expected close date has passed"),
            (discount is not None and discount >= 25, 0.2, "discount of 25% or more requested"),
            (category(features, "competitor_present") == "yes", 0.15, "competitor present"),
            (early and to_close is not None and 0 <= to_close < 21, 0.2,
             "early stage with under 21 days to close"),
        )
        score = min(1.0, round(sum(points for fired, points, _ in rules if fired), 9))
        reasons = tuple(reason for fired, _, reason in rules if fired)
        return HeuristicResult(score=score, label=self.label_for(score, self.default_threshold),
                               reasons=reasons)

    def build_model(self, *, seed: int) -> Any:
        return calibrated_gradient_boosting(self.schema, seed=seed)


def quarter_end_weights(start: date, days: int) -> np.ndarray:
    """One weight per day from ``start``: 2.5 in a quarter's last ``QUARTER_END_DAYS``
    days, 1 otherwise."""
    stamps = pd.to_datetime([start + timedelta(days=i) for i in range(days)])
    left = (stamps.to_period("Q").end_time.normalize() - stamps).days.to_numpy()
    return np.where(left < QUARTER_END_DAYS, 2.5, 1.0)


def _days_to_quarter_end(timestamps: pd.Series) -> np.ndarray:
    """Whole days from each timestamp to the last day of its quarter (0 on that day)."""
    naive = timestamps.dt.tz_convert("UTC").dt.tz_localize(None)
    ends = naive.dt.to_period("Q").dt.end_time.dt.normalize()
    return (ends - naive.dt.normalize()).dt.days.to_numpy().astype(float)


def _terms(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    stage = columns["stage"]
    to_close = columns["days_to_close"].astype(float)
    discount = columns["discount_pct"].astype(float)
    source = columns["lead_source"]
    return {
        "stage_risk": by_category(stage, _STAGE_RISK),
        "stalled": np.log1p(columns["days_in_stage"] / by_category(stage, _TYPICAL_DAYS)),
        "no_meetings": (columns["meetings_30d"] == 0).astype(float),
        "meetings": np.log1p(columns["meetings_30d"].astype(float)),
        "stakeholders": np.minimum(columns["stakeholders_engaged"], 8).astype(float),
        "discount": discount / 10.0,
        "heavy_discount": (discount >= 25).astype(float),
        "competitor": (columns["competitor_present"] == "yes").astype(float),
        "overdue": (to_close < 0).astype(float),
        "crunch": (np.isin(stage, ("qualification", "discovery"))
                   & (to_close >= 0) & (to_close < 21)).astype(float),
        "log_amount": np.log(columns["amount"]) - 10.5,
        "outbound": (source == "outbound").astype(float),
        "warm_lead": np.isin(source, ("partner", "referral")).astype(float),
        "services": (columns["product_line"] == "services").astype(float),
        "public_sector": (columns["industry"] == "public_sector").astype(float),
    }
