"""Compare calibrated model families on generated ``deal`` data (docs/scenarios.md).

    python tools/compare_deal_families.py            # seeds 1-3, 30,000 rows each

Each seed: 120 days of deals from 2026-01-01, the first 70% (by time) to fit,
the rest to score. Families, all calibrated with isotonic regression over 3
folds as riskops does: the scenario's gradient boosting; a logistic
regression on standardised numbers and one-hot categories; the same with a
cubic spline basis (5 knots) per number. Prints ROC AUC, PR AUC and Brier per
seed and family, and the heuristic's ROC AUC.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from riskops.scenarios.deal import DealScenario

SEEDS = (1, 2, 3)
ROWS = 30_000


def logistic(scenario: DealScenario, *, splines: bool) -> Any:
    numeric: Any = StandardScaler()
    if splines:
        numeric = Pipeline([("scale", StandardScaler()), ("spline", SplineTransformer(n_knots=5))])
    columns = ColumnTransformer([
        ("numeric", numeric, scenario.schema.columns("numeric")),
        ("categorical", OneHotEncoder(handle_unknown="ignore"),
         scenario.schema.columns("categorical")),
    ])
    return Pipeline([("features", columns), ("classifier", CalibratedClassifierCV(
        LogisticRegression(max_iter=3000), method="isotonic", cv=3))])


def main() -> int:
    scenario = DealScenario()
    features = scenario.schema.feature_names
    print(f"{'seed':>4}  {'family':<26}{'ROC AUC':>9}{'PR AUC':>9}{'Brier':>9}")
    for seed in SEEDS:
        frame = scenario.generate(ROWS, start=date(2026, 1, 1), days=120, seed=seed)
        cut = int(len(frame) * 0.7)
        train, test = frame.iloc[:cut], frame.iloc[cut:]
        y = scenario.binary_target(test["label"])
        families = {"gradient boosting (used)": scenario.build_model(seed=0),
                    "logistic regression": logistic(scenario, splines=False),
                    "spline logistic regression": logistic(scenario, splines=True)}
        with threadpool_limits(limits=1, user_api="openmp"):
            for name, model in families.items():
                model.fit(train[features], train["label"])
                p = scenario.risk_scores(model, test[features])
                print(f"{seed:>4}  {name:<26}{roc_auc_score(y, p):>9.4f}"
                      f"{average_precision_score(y, p):>9.4f}{brier_score_loss(y, p):>9.4f}")
        rules = np.array([scenario.heuristic(row).score
                          for row in test[features].to_dict("records")])
        print(f"{seed:>4}  {'heuristic':<26}{roc_auc_score(y, rules):>9.4f}"
              f"{average_precision_score(y, rules):>9.4f}{'':>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
