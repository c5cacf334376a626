"""`riskops demo` runs end to end on embedded defaults and leaves a consistent workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskops.config import open_workspace


def test_demo_end_to_end_then_again(tmp_path: Path, cli,  # type: ignore[no-untyped-def]
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # The user's own workspace and its settings, exported as a README session exports them:
    # the demo leaves them alone and runs on embedded defaults.
    monkeypatch.setenv("RISKOPS_HOME", str(tmp_path / ".riskops"))
    monkeypatch.setenv("RISKOPS_DATABASE_URL", f"sqlite:///{tmp_path / 'mine.db'}")
    monkeypatch.setenv("RISKOPS_TRUSTED_KEYS", "sha256:" + "0" * 64)
    monkeypatch.setenv("RISKOPS_TOKEN", "rko_the-users-own-token")
    first = cli("demo", "--json")
    assert first.code == 0, first.err
    assert "the demo ignores RISKOPS_DATABASE_URL, RISKOPS_HOME, RISKOPS_TOKEN, " \
        "RISKOPS_TRUSTED_KEYS" in first.err
    assert not (tmp_path / "mine.db").exists()
    summary = first.json()
    home = Path(summary["home"])
    assert home == (tmp_path / ".riskops-demo").resolve()  # the demo's own workspace
    assert not (tmp_path / ".riskops").exists()
    assert summary["versions"] == [1, 2] and summary["production"] == 1
    assert summary["reproduced"] is True and summary["comparison"] == "compared"
    assert all(0.0 <= s <= 1.0 for s in summary["scores"])
    served = summary["served"]
    assert served["requests"] == 400 and served["methods"] == {"ml": 400}
    assert served["imported"] == 800 and served["overrides"] >= 1
    # The replayed traffic is from the drifted period: monitoring must see it.
    assert served["drift_detected"] >= 1 and served["events"]
    # deal went live through the same gates and served its Q2 deals, outcomes recorded.
    assert summary["deal"] == {"version": 1, "promotion": {
        "version": 1, "gates": "pass", "promoted_by": "paul", "approved_by": ["paul", "rita"]}}
    assert served["deal"]["requests"] == 2000 and served["deal"]["outcomes"] == 2000
    # ... and monitoring named EMEA's calibration, where the losses rose, and no other region.
    events = [json.loads(line) for line in (home / "events.jsonl").read_text().splitlines()]
    regions = {e["data"]["segment"] for e in events
               if e["type"] == "ml.model.performance.degraded"
               and e["data"].get("segment", "").startswith("region=")}
    assert regions == {"region=emea"}

    ws = open_workspace(home)
    manifest = json.loads(ws.manifest_path.read_text())
    assert manifest["manifest_version"] == summary["manifest_version"]
    assert manifest["models"]["fraud"]["stages"]["production"] == 1
    assert manifest["models"]["fraud"]["history"] == [1]
    assert manifest["models"]["deal"]["stages"]["production"] == 1
    assert manifest["audit_head"]["seq"] == summary["audit_entries"]
    files = {a["path"].rsplit("/", 1)[1]
             for a in manifest["models"]["fraud"]["versions"]["2"]["artifacts"]}
    assert files == {"model.skops", "model.sig", "evaluation-report.json",
                     "reproducibility-report.json", "golden-predictions.parquet",
                     "holdout-rows.parquet", "reference-profile.json"}
    # Both versions went live through their gates, signed off by the three demo people the
    # high tier asks for (the validator built nothing).
    assert summary["promotions"] == [
        {"version": v, "gates": "pass", "promoted_by": "paul",
         "approved_by": ["paul", "rita", "vera"]} for v in (1, 2)]
    for version in ("1", "2"):
        signed = manifest["models"]["fraud"]["versions"][version]["approvals"]
        assert sorted((a["user"], a["role"]) for a in signed) == [
            ("paul", "platform_owner"), ("rita", "risk_lead"), ("vera", "validator")]
    cards = sorted(p.name for p in (home / "model-cards").iterdir())
    assert cards == [f"fraud-{v}-model-card.{ext}" for v in (1, 2) for ext in ("json", "md")]
    card_v2 = json.loads((home / "model-cards" / "fraud-2-model-card.json").read_text())
    assert card_v2["model_card_status"] == "Archived"   # rolled back off it
    assert card_v2["riskops"]["approvals"]["complete"] is True
    report = json.loads((ws.store_dir / "models/fraud/2/evaluation-report.json").read_text())
    assert report["comparison"]["production_version"] == 1

    again = cli("demo")
    assert again.code == 0, again.err
    assert "reused" in again.out and "fraud v3" in again.out
    assert f"  export RISKOPS_HOME={home}\n" in again.out  # how to look at it afterwards
    assert "  export RISKOPS_TRUSTED_KEYS=sha256:" in again.out
    assert "  export TOKEN=rko_" in again.out  # the curl line's $TOKEN, a scorer's
    assert not (tmp_path / ".riskops").exists()
    assert "approved by rita (risk_lead), paul (platform_owner), vera (validator)" in again.out
    assert "17. inventory: fraud production, tier high, owner rita" in again.out
    assert "deal calibration by region, from the recorded outcomes: apac Brier" in again.out
    assert again.out.count("(ece over 0.10)") == 1 and "emea Brier" in again.out
    assert "PASS approvals" in again.out and "PASS smoke" in again.out
    for name in ("RISKOPS_DATABASE_URL", "RISKOPS_TRUSTED_KEYS", "RISKOPS_TOKEN"):
        monkeypatch.delenv(name)  # the user's own, which the demo ignored
    assert cli("verify", "--home", home).code == 0
    assert cli("audit-log", "verify", "--home", home).code == 0
