"""`riskops demo`: the furthest end-to-end path that exists, on embedded defaults.

Today that is: create (or reuse) a workspace; generate seeded payment-fraud
data for a first quarter and for a later period whose last weeks drift;
train, evaluate and register a model on each (the second compared with the
first in production); audit each for bias, have two approvers sign it off and
promote it through every gate; verify every signature and digest; load the
production model through the verified loader and score a few payments beside
the heuristic; reproduce the first version exactly; roll back; check the
audit log; then serve the production model over HTTP, replay drifted traffic,
record reviewer feedback and outcomes, run monitoring and deliver its events
(``live.py``).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from riskops.demo.deal import train_and_promote
from riskops.demo.governed import (
    approvers,
    bias_line,
    describe_fraud,
    set_bias_policy,
    sign_off_and_promote,
)
from riskops.errors import CheckFailed
from riskops.governance.audit_check import check_audit_log
from riskops.governance.bias_audit import audit_version
from riskops.governance.promotion import rollback
from riskops.registry.loader import load_model
from riskops.registry.trust import read_workspace_manifest
from riskops.registry.verification import verify_workspace
from riskops.workspace import init_workspace

MODEL = "fraud"
ACTOR = "demo"
ROWS = 20_000
#: The demo's own workspace, beside (never inside) the user's ``./.riskops``.
DEMO_HOME = ".riskops-demo"


def _riskops_command() -> str:
    """``riskops`` if it is on PATH, else the path of the one beside this Python."""
    if shutil.which("riskops"):
        return "riskops"
    beside = Path(sys.executable).parent / "riskops"
    return str(beside) if beside.exists() else "riskops"


def _metrics_line(metrics: dict[str, Any]) -> str:
    names = (("roc_auc", "ROC AUC"), ("pr_auc", "PR AUC"), ("f1", "F1"), ("brier", "Brier"),
             ("ece", "ECE"))
    return ", ".join(f"{label} {metrics[key]:.3f}" for key, label in names
                     if isinstance(metrics.get(key), float))


def _promotion(ws: Any, model: str, result: dict[str, Any], people: dict[str, Any],
               ) -> dict[str, Any]:
    from riskops.governance.approvals import approval_state

    decisions = approval_state(ws, model, result["to"])["decisions"]
    return {"version": result["to"], "gates": result["gates"]["status"],
            "promoted_by": people["platform_owner"].name,
            "approved_by": sorted({d["user"] for d in decisions if d["decision"] == "approve"})}


def run_demo(
    home: str | Path | None = None, *, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run the demo in the workspace at ``home`` (default ``./.riskops-demo``, never
    ``$RISKOPS_HOME``); return a summary. Raises ``CheckFailed`` if a check fails."""
    from riskops.scenarios import get_scenario
    from riskops.scenarios.generate import generate_to_file
    from riskops.training.pipeline import train_scenario
    from riskops.training.reproduce import reproduce_version

    init = init_workspace(Path(home or DEMO_HOME), actor=ACTOR)
    ws = init.workspace
    say(f"1. workspace {ws.home} ({'created' if init.created else 'reused'})")
    if init.admin_token:
        say(f"   admin API token (shown once): {init.admin_token}")

    data_dir = ws.home / "data" / "demo"
    data_dir.mkdir(parents=True, exist_ok=True)
    first = data_dir / "fraud-2026q1.parquet"
    later = data_dir / "fraud-2026q2-drifted.parquet"
    generate_to_file(MODEL, rows=ROWS, start=date(2026, 1, 1), days=90, out=first, seed=1)
    generate_to_file(MODEL, rows=ROWS, start=date(2026, 4, 1), days=90, out=later, seed=2,
                     drift_from=date(2026, 6, 1), drift_kind="covariate")
    say(f"2. generated {ROWS:,} payments for 2026-Q1 and {ROWS:,} for Q2 (covariate drift "
        f"from 2026-06-01) in {data_dir}")

    v1 = train_scenario(ws, MODEL, first, seed=0, actor=ACTOR)
    say(f"3. trained {MODEL} v{v1['version']} on Q1: {_metrics_line(v1['metrics']['validation'])}"
        f"; threshold {v1['threshold']['value']:.3f}")
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
    people = approvers(ws, stamp=stamp, actor=ACTOR)
    describe_fraud(ws, people["risk_lead"], MODEL)
    say(f"   {people['risk_lead'].name} recorded {MODEL} in the model inventory: owner "
        f"{people['risk_lead'].name}, tier high, so each version also needs an independent "
        f"validator ({people['validator'].name})")
    default = audit_version(ws, MODEL, v1["version"], actor=ACTOR)
    say(f"   bias audit of v{v1['version']} under the default policy (equalized odds "
        f"difference <= 0.10, demographic parity ratio >= 0.80): {bias_line(default)}")
    ws = set_bias_policy(ws)
    say("   younger cardholders are defrauded more often in this data, so equal flag rates "
        "are the wrong test for fraud: the demo's risk team requires equal error rates "
        "instead (equalized odds difference <= 0.15; [governance.bias] in riskops.toml)")
    signed = sign_off_and_promote(ws, MODEL, v1["version"], people, actor=ACTOR, say=say)
    say(f"   promoted v{v1['version']} to production (manifest v{signed['manifest_version']})")
    promotions = [_promotion(ws, MODEL, signed, people)]
    v2 = train_scenario(ws, MODEL, later, seed=0, actor=ACTOR)
    say(f"4. trained {MODEL} v{v2['version']} on Q2: {_metrics_line(v2['metrics']['validation'])}")
    comparison = v2["comparison"]
    if comparison["status"] == "compared":
        delta = comparison["validation"]["delta"]
        golden = comparison["golden"]
        say(f"   vs production v{comparison['production_version']} on the same validation rows: "
            + ", ".join(f"{k} {v:+.4f}" for k, v in delta.items() if isinstance(v, float))
            + f"; golden set: mean |delta score| {golden['mean_abs_score_delta']:.4f}, "
            f"{golden['share_labels_flipped']:.1%} labels flipped")
    say(f"5. v{v2['version']} through the same gates, compared with v{v1['version']} in "
        "production:")
    signed = sign_off_and_promote(ws, MODEL, v2["version"], people, actor=ACTOR, say=say)
    say(f"   promoted v{v2['version']} to production (manifest v{signed['manifest_version']})")
    promotions.append(_promotion(ws, MODEL, signed, people))
    deal = train_and_promote(ws, people, data_dir, actor=ACTOR, say=say)

    report = verify_workspace(ws)
    if not report.ok:
        raise CheckFailed("demo stopped: verification failed: " + "; ".join(
            f"{f.path}: {f.reason}" for f in report.failures))
    say(f"7. verified manifest v{report.manifest_version}: {report.files_checked} files in "
        f"{len(report.checked)} versions; signatures and digests all match")

    import pandas as pd

    scenario = get_scenario(MODEL)
    verified = read_workspace_manifest(ws)
    loaded = load_model(verified, MODEL, v2["version"], trusted_types=ws.settings.trusted_types)
    sample = pd.read_parquet(later).tail(5)
    scores = scenario.risk_scores(loaded.estimator, sample)
    say(f"8. loaded {MODEL} v{v2['version']} through the verified loader; 5 payments:")
    for (_, row), score in zip(sample.iterrows(), scores, strict=True):
        rule = scenario.heuristic(row.to_dict())
        reasons = "; ".join(rule.reasons) or "no rule fired"
        say(f"   {row['id']}: model {score:.3f}, heuristic {rule.score:.2f} ({reasons})")

    again = reproduce_version(ws, MODEL, v1["version"], actor=ACTOR)
    if not again["match"]:
        raise CheckFailed(f"demo stopped: {MODEL} v{v1['version']} did not reproduce exactly")
    say(f"9. reproduced v{v1['version']} from its report: all {again['rows']} golden-set "
        "predictions identical")

    rolled = rollback(ws, people["risk_lead"], MODEL)
    say(f"10. {people['risk_lead'].name} (risk_lead) rolled back production v{rolled['from']} "
        f"-> v{rolled['to']} (manifest v{rolled['manifest_version']})")

    from riskops.demo.live import serve_and_monitor

    served = serve_and_monitor(ws, model=MODEL, production=rolled["to"], reference=first,
                               drifted=later, drift_from=datetime(2026, 6, 1, tzinfo=UTC),
                               say=say, deal=deal)

    report_after = verify_workspace(ws)
    if not report_after.ok:
        raise CheckFailed("demo stopped: verification failed after serving: " + "; ".join(
            f"{f.path}: {f.reason}" for f in report_after.failures))
    audit = check_audit_log(ws)
    if not audit.ok:
        raise CheckFailed(f"demo stopped: audit log broken: {audit.problem}")
    say(f"16. audit log: {audit.entries} hash-chained entries verified against every signed "
        "manifest")
    from riskops.governance.cards import CARD_JSON, card_files, model_card
    from riskops.governance.inventory import inventory

    entry = inventory(ws, model=MODEL)[0]
    last = entry["last_validation"]
    say(f"17. inventory: {MODEL} {entry['state']}, tier {entry['metadata']['tier']}, owner "
        f"{entry['metadata']['owner']}, last validated {last['date']} by "
        f"{', '.join(last['by'])}, re-validation due {entry['next_revalidation_due']}")
    cards = ws.home / "model-cards"
    cards.mkdir(exist_ok=True)
    for version in (v1["version"], v2["version"]):
        card = model_card(ws, MODEL, version)
        for name, data in card_files(card).items():
            (cards / f"{MODEL}-{version}-{name}").write_bytes(data)
        say(f"    model card of v{version} ({card['model_card_status']}): "
            f"{cards}/{MODEL}-{version}-{CARD_JSON} and .md")
    say(f"\nThe demo's workspace is {ws.home}, apart from your own (./.riskops or "
        "$RISKOPS_HOME). Look at it:")
    say(f"  export RISKOPS_HOME={ws.home}")
    say("  unset RISKOPS_TOKEN RISKOPS_DATABASE_URL   # your own workspace's, if you set them")
    if init.anchor:
        say(f"  export RISKOPS_TRUSTED_KEYS={init.anchor}   # the demo's signing key")
    say(f"  export TOKEN={served['scorer_token']}   # the demo's scorer token, for curl")
    exe = _riskops_command()
    for command in (f"{exe} models show {MODEL}", f"{exe} models history {MODEL}",
                    f"{exe} inventory --csv", f"{exe} models card {MODEL} {rolled['to']}",
                    f"{exe} verify --json-out model-integrity.json", f"{exe} audit-log verify",
                    f"{exe} gates {MODEL} {v2['version']}",
                    f"{exe} audit bias {MODEL} {v2['version']}",
                    f"{exe} evidence {MODEL} {v2['version']} --out evidence-{MODEL}-"
                    f"{v2['version']} && {exe} evidence verify evidence-{MODEL}-{v2['version']}",
                    f"{exe} train --reproduce {MODEL} {v2['version']}",
                    f"cat {ws.store_dir}/models/{MODEL}/{v2['version']}/evaluation-report.json",
                    f"{exe} serve &    # then:",
                    "curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: "
                    "application/json' localhost:4006/risk/fraud -d '{\"amount\": 912.5, "
                    "\"hour_of_day\": 3, \"account_age_days\": 12, \"txn_count_24h\": 9, "
                    "\"distance_from_home_km\": 4100, \"failed_auth_7d\": 3, "
                    "\"card_present\": \"no\", \"channel\": \"web\", "
                    "\"new_device\": \"yes\"}'",
                    f"{exe} events list", f"{exe} monitor run", f"{exe} slo status",
                    f"{exe} retrain check {MODEL}", f"{exe} jobs list",
                    f"cat {ws.home}/events.jsonl"):
        say(f"  {command}")
    return {"home": str(ws.home), "versions": [v1["version"], v2["version"]],
            "production": rolled["to"], "manifest_version": report_after.manifest_version,
            "scores": [float(s) for s in scores], "audit_entries": audit.entries,
            "reproduced": again["match"], "comparison": comparison["status"],
            "promotions": promotions,
            "deal": {"version": deal.version,
                     "promotion": _promotion(ws, "deal", deal.promotion, people)},
            "served": {k: v for k, v in served.items() if k != "scorer_token"}}
