"""``fraud``: is this card payment fraudulent? Tabular binary, positive label "1"."""

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

INDUSTRIES = ("retail", "groceries", "travel", "digital_goods", "gaming", "electronics")
REGIONS = ("north_america", "europe", "latam", "apac")
SIZE_BANDS = ("small", "medium", "large")
AGE_BANDS = ("18-25", "26-40", "41-60", "61+")

SCHEMA = Schema(
    features=(
        Feature("amount", "numeric", "Payment amount in the account currency.", 0.5, 20_000.0,
                lower_bound=0),
        Feature("hour_of_day", "numeric", "Local hour the payment was made (0-23).", 0, 23,
                lower_bound=0, upper_bound=23, integer=True),
        Feature("account_age_days", "numeric", "Days since the card account was opened.",
                0, 3650, lower_bound=0, integer=True),
        Feature("txn_count_24h", "numeric", "Payments on the card in the previous 24 hours.",
                0, 50, lower_bound=0, integer=True),
        Feature("distance_from_home_km", "numeric",
                "Distance between the merchant and the cardholder's home.", 0.0, 10_000.0,
                lower_bound=0),
        Feature("failed_auth_7d", "numeric", "Failed authentications in the previous 7 days.",
                0, 20, lower_bound=0, integer=True),
        Feature("card_present", "categorical", "Whether the physical card was presented.",
                categories=("yes", "no")),
        Feature("channel", "categorical", "Where the payment was initiated.",
                categories=("pos", "web", "app", "phone")),
        Feature("new_device", "categorical", "First payment from this device or browser.",
                categories=("no", "yes")),
    ),
    labels=("0", "1"),
    segments=("industry", "region", "size_band"),
    sensitive="cardholder_age_band",
)

#: Terms of the label's logit and their weights; see ``FraudScenario``.
INTERCEPT = -5.55
NOISE = 0.4
COEFFICIENTS = {
    "log_amount": 0.9, "night": 1.5, "new_account": 3.0, "velocity": 0.35, "failed_auth": 0.8,
    "card_not_present": 0.8, "far": 0.8, "far_not_present": 1.2, "new_device": 2.0,
    "phone": 1.0, "digital_merchant": 0.4, "groceries": -0.5,
}
#: Weights after concept drift: card testing with small amounts and phone fraud.
CONCEPT = {
    "log_amount": -0.5, "small_amount": 1.5, "new_account": 0.3, "velocity": 0.45,
    "failed_auth": 0.2, "card_not_present": 0.2, "new_device": 0.4, "phone": 1.5,
    "digital_merchant": 0.9, "groceries": 0.5,
}
COVARIATE_DEFAULT = ("amount", "distance_from_home_km")

_LOG_AMOUNT_MEAN = {"retail": 3.9, "groceries": 3.3, "travel": 5.5, "digital_goods": 3.2,
                    "gaming": 3.0, "electronics": 5.0}
_ACCOUNT_AGE_MEAN = {"18-25": 300.0, "26-40": 900.0, "41-60": 1500.0, "61+": 2000.0}
_NOT_PRESENT = {"retail": 0.3, "groceries": 0.1, "travel": 0.6, "digital_goods": 0.95,
                "gaming": 0.9, "electronics": 0.4}


class FraudScenario(Scenario):
    """Card payment fraud at merchants of six industries in four regions.

    Generative process (one row per payment; segments and the cardholder's
    age band drawn first, features conditional on them):

    - amount: log-normal, median by industry (groceries ~27, travel ~245),
      25% higher at large merchants.
    - account_age_days: gamma, mean by cardholder age band (300 days for
      18-25 up to 2000 for 61+): the sensitive attribute's only link to the
      features, so younger cardholders score somewhat riskier.
    - card_present: "no" with an industry-specific share (groceries 10%,
      digital goods 95%); channel follows from it.
    - hour, velocity, distance, failed authentications and new devices from
      Poisson / log-normal / Bernoulli draws (travel merchants are far away).

    label = 1 with probability sigmoid(z), where ``z = INTERCEPT + N(0, 0.4^2)
    + sum(COEFFICIENTS[t] * t)`` over the terms log(amount) - 4, night (hour
    0-5), exp(-account_age/90), min(txn_count_24h, 15), min(failed_auth, 6),
    card not present, distance > 300 km, both of those, new device, phone
    channel, gaming or digital-goods merchant, groceries merchant. The base
    rate is about 5%.

    Drift from ``drift.start``: covariate shifts ``amount`` and
    ``distance_from_home_km`` (upwards, in log space) unless other features are
    named; concept moves the weights to ``CONCEPT`` (small-amount card testing
    and phone fraud replace big night-time tickets) at an unchanged base rate;
    prior doubles the fraud rate at magnitude 1.
    """

    name = "fraud"
    description = "Payment/transaction fraud: is this card payment fraudulent?"
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
        industry = pick(rng, INDUSTRIES, (0.30, 0.20, 0.12, 0.18, 0.10, 0.10), n)
        region = pick(rng, REGIONS, (0.35, 0.35, 0.15, 0.15), n)
        size_band = pick(rng, SIZE_BANDS, (0.45, 0.35, 0.20), n)
        age_band = pick(rng, AGE_BANDS, (0.15, 0.35, 0.32, 0.18), n)

        log_amount = (by_category(industry, _LOG_AMOUNT_MEAN)
                      + 0.22 * (size_band == "large") + rng.normal(0.0, 0.9, n))
        daytime = rng.random(n) < 0.85
        hour = np.where(daytime, np.round(rng.normal(14.0, 3.5, n)), rng.integers(0, 24, n))
        account_age = rng.gamma(1.5, by_category(age_band, _ACCOUNT_AGE_MEAN) / 1.5)
        digital = np.isin(industry, ("gaming", "digital_goods"))
        log_distance = (np.log(8.0) + 2.5 * (industry == "travel")
                        + 0.5 * np.isin(region, ("latam", "apac")) + rng.normal(0.0, 1.2, n))
        not_present = rng.random(n) < by_category(industry, _NOT_PRESENT)
        columns: dict[str, np.ndarray] = {
            "industry": industry, "region": region, "size_band": size_band,
            "cardholder_age_band": age_band,
            "amount": np.round(np.clip(np.exp(log_amount), 0.5, 20_000.0), 2),
            "hour_of_day": (hour.astype(np.int64) % 24),
            "account_age_days": np.clip(np.round(account_age), 0, 3650).astype(np.int64),
            "txn_count_24h": np.clip(rng.poisson(1.2 + 1.3 * digital), 0, 50),
            "distance_from_home_km": np.round(np.clip(np.exp(log_distance), 0, 10_000.0), 1),
        }
        columns["failed_auth_7d"] = np.clip(
            rng.poisson(0.25 + 0.25 * (columns["account_age_days"] < 60)), 0, 20)
        columns["card_present"] = np.where(not_present, "no", "yes")
        columns["channel"] = np.where(
            not_present, pick(rng, ("web", "app", "phone"), (0.55, 0.40, 0.05), n),
            pick(rng, ("pos", "app"), (0.9, 0.1), n))
        device_share = 0.04 + 0.10 * np.exp(-columns["account_age_days"] / 60.0)
        columns["new_device"] = np.where(rng.random(n) < device_share, "yes", "no")

        after = drift_mask(frame, drift, columns)
        shift_covariates(columns, after, drift, self.schema, seed=seed,
                         default=COVARIATE_DEFAULT, log_scale=COVARIATE_DEFAULT)
        labels = draw_labels(rng, _terms(columns), intercept=INTERCEPT,
                             coefficients=COEFFICIENTS, noise=NOISE, drift=drift, after=after,
                             concept=CONCEPT)
        return assemble(frame, self.schema, columns, labels)

    def heuristic(self, features: Mapping[str, Any]) -> HeuristicResult:
        """Rules, each adding points (total capped at 1); missing values add none.

        amount >= 500: 0.2; account younger than 60 days: 0.25; hour 0-5:
        0.25; 4+ payments in 24 h: 0.2; 2+ failed authentications in 7 days:
        0.25; card not present over 100 km from home: 0.25; new device: 0.3.
        """
        amount = number(features, "amount")
        age = number(features, "account_age_days")
        hour = number(features, "hour_of_day")
        velocity = number(features, "txn_count_24h")
        failed = number(features, "failed_auth_7d")
        distance = number(features, "distance_from_home_km")
        rules = (
            (amount is not None and amount >= 500, 0.2, "amount of 500 or more"),
            (age is not None and age < 60, 0.25, "account younger than 60 days"),
            (hour is not None and 0 <= hour < 6, 0.25, "night-time payment (00:00-05:59)"),
            (velocity is not None and velocity >= 4, 0.2, "4 or more payments in 24 hours"),
            (failed is not None and failed >= 2, 0.25,
             "2 or more failed authentications in 7 days"),
            (category(features, "card_present") == "no" and distance is not None
             and distance > 100, 0.25, "card not present, over 100 km from home"),
            (category(features, "new_device") == "yes", 0.3, "first payment from a new device"),
        )
        score = min(1.0, sum(points for fired, points, _ in rules if fired))
        reasons = tuple(reason for fired, _, reason in rules if fired)
        return HeuristicResult(score=score, label=self.label_for(score, self.default_threshold),
                               reasons=reasons)

    def build_model(self, *, seed: int) -> Any:
        return calibrated_gradient_boosting(self.schema, seed=seed)


def _terms(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    amount = columns["amount"]
    not_present = (columns["card_present"] == "no").astype(float)
    far = (columns["distance_from_home_km"] > 300).astype(float)
    return {
        "log_amount": np.log(amount) - 4.0,
        "small_amount": (amount < 5).astype(float),
        "night": (columns["hour_of_day"] < 6).astype(float),
        "new_account": np.exp(-columns["account_age_days"] / 90.0),
        "velocity": np.minimum(columns["txn_count_24h"], 15).astype(float),
        "failed_auth": np.minimum(columns["failed_auth_7d"], 6).astype(float),
        "card_not_present": not_present,
        "far": far,
        "far_not_present": far * not_present,
        "new_device": (columns["new_device"] == "yes").astype(float),
        "phone": (columns["channel"] == "phone").astype(float),
        "digital_merchant": np.isin(columns["industry"], ("gaming", "digital_goods")).astype(float),
        "groceries": (columns["industry"] == "groceries").astype(float),
    }
