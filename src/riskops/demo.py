"""`riskops demo`: the furthest end-to-end path that exists, on embedded defaults.

Today that is: create (or reuse) a workspace, train two versions of a small
payment-fraud classifier on seeded synthetic data, save them with skops,
register and sign them, promote one after the other, verify every signature
and digest, load the production model through the verified loader and score
a few payments, roll back, and check the audit log. Serving, monitoring and
the governed approvals join this path as those features land.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from riskops.errors import CheckFailed
from riskops.governance.audit_check import check_audit_log
from riskops.registry.loader import load_model
from riskops.registry.manifest import read_verified_manifest
from riskops.registry.service import Registry
from riskops.registry.verification import verify_workspace
from riskops.workspace import init_workspace

MODEL = "fraud"
FEATURES = ("amount_log", "merchant_risk", "velocity_1h", "account_age_days", "foreign")
ACTOR = "demo"


def synthetic_payments(n: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded payments with a known fraud process: risk rises with amount, merchant risk,
    velocity and foreign use, and falls with account age; ~5% positives."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([
        rng.normal(3.5, 1.2, n),               # log amount
        rng.beta(2, 5, n),                     # merchant risk score
        rng.poisson(1.5, n).astype(float),     # payments in the last hour
        rng.gamma(2.0, 200.0, n),              # account age in days
        rng.binomial(1, 0.15, n).astype(float),  # card used abroad
    ])
    logit = (-6.2 + 0.6 * X[:, 0] + 3.0 * X[:, 1] + 0.45 * X[:, 2]
             - 0.002 * X[:, 3] + 1.1 * X[:, 4])
    y = rng.binomial(1, 1 / (1 + np.exp(-logit)))
    return X, y


def _train(
    X: np.ndarray, y: np.ndarray, columns: list[int], out: Path, seed: int
) -> dict[str, Any]:
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    split = int(len(y) * 0.8)
    pipeline = Pipeline([
        ("features", ColumnTransformer([("scale", StandardScaler(), columns)])),
        ("classifier", LogisticRegression(max_iter=1000, random_state=seed)),
    ]).fit(X[:split], y[:split])
    scores = pipeline.predict_proba(X[split:])[:, 1]
    metrics = {"roc_auc": round(float(roc_auc_score(y[split:], scores)), 4),
               "brier": round(float(brier_score_loss(y[split:], scores)), 5),
               "validation_rows": int(len(y) - split)}
    out.mkdir(parents=True, exist_ok=True)
    sio.dump(pipeline, out / "model.skops")
    (out / "evaluation-report.json").write_text(json.dumps(
        {"metrics": metrics, "features": [FEATURES[c] for c in columns], "seed": seed},
        indent=2) + "\n")
    return metrics


def _riskops_command() -> str:
    """``riskops`` if it is on PATH, else the path of the one beside this Python."""
    if shutil.which("riskops"):
        return "riskops"
    beside = Path(sys.executable).parent / "riskops"
    return str(beside) if beside.exists() else "riskops"


def run_demo(
    home: str | Path | None = None, *, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run the demo; return a summary. Raises ``CheckFailed`` if a check fails."""
    init = init_workspace(home, actor=ACTOR)
    ws = init.workspace
    say(f"1. workspace {ws.home} ({'created' if init.created else 'reused'})")
    if init.admin_token:
        say(f"   admin API token (shown once): {init.admin_token}")

    X, y = synthetic_payments(20_000, seed=7)
    registry = Registry(ws)
    versions: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, columns in (("baseline", [0, 1]), ("full", list(range(len(FEATURES))))):
            folder = Path(tmp) / label
            metrics = _train(X, y, columns, folder, seed=7)
            info = registry.register(MODEL, folder, actor=ACTOR, metrics=metrics,
                                     params={"features": [FEATURES[c] for c in columns]})
            versions.append(info["version"])
            say(f"2. trained {label} model: ROC AUC {metrics['roc_auc']}, Brier "
                f"{metrics['brier']}; registered and signed as {MODEL} v{info['version']}")

    old, new = versions
    registry.promote(MODEL, old, actor=ACTOR, force=True)
    registry.promote(MODEL, new, actor=ACTOR, force=True)
    say(f"3. promoted v{old}, then v{new} to production (gates not yet enforced: --force)")

    report = verify_workspace(ws)
    if not report.ok:
        raise CheckFailed("demo stopped: verification failed: " + "; ".join(
            f"{f.path}: {f.reason}" for f in report.failures))
    say(f"4. verified manifest v{report.manifest_version}: {report.files_checked} files, "
        f"{len(report.checked)} versions, signatures and digests all match")

    verified = read_verified_manifest(ws.manifest_path, ws.signature_path, ws.public_key_path)
    production = verified.manifest.model(MODEL).stages.production
    assert production is not None
    loaded = load_model(verified, MODEL, production)
    sample, _ = synthetic_payments(5, seed=99)
    scores = loaded.estimator.predict_proba(sample)[:, 1]
    say(f"5. loaded {MODEL} v{production} through the verified loader; fraud scores of 5 "
        f"payments: {', '.join(f'{s:.3f}' for s in scores)}")

    rolled = registry.rollback(MODEL, actor=ACTOR)
    say(f"6. rolled back production v{rolled['from']} -> v{rolled['to']} "
        f"(manifest v{rolled['manifest_version']})")

    audit = check_audit_log(ws)
    if not audit.ok:
        raise CheckFailed(f"demo stopped: audit log broken: {audit.problem}")
    say(f"7. audit log: {audit.entries} hash-chained entries verified")
    say("\nLook at:")
    say(f"  export RISKOPS_HOME={ws.home}")
    exe = _riskops_command()
    for command in (f"{exe} models show {MODEL}", f"{exe} models history {MODEL}",
                    f"{exe} verify --json-out model-integrity.json", f"{exe} audit-log verify",
                    f"cat {ws.manifest_path}"):
        say(f"  {command}")
    return {"home": str(ws.home), "versions": versions, "production": rolled["to"],
            "manifest_version": rolled["manifest_version"], "scores": scores.tolist(),
            "audit_entries": audit.entries}
