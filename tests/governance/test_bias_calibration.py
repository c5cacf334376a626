"""The bias audit's calibration per group: reported beside the rates, never judged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from riskops.errors import InputError
from riskops.governance.bias import bias_report
from riskops.governance.policy import BiasLimits, policy_from_dict


def _regions(rows: int = 4_000, seed: int = 3) -> pd.DataFrame:
    """Calibrated scores (each label drawn at its score) except in "south", whose
    scores are a quarter of what its outcomes say."""
    rng = np.random.default_rng(seed)
    region = rng.choice(np.array(["north", "south", "east"]), rows, p=[0.5, 0.3, 0.2])
    truth = rng.beta(2, 5, rows)
    label = (rng.uniform(size=rows) < truth).astype(int)
    score = np.where(region == "south", truth / 4, truth)
    return pd.DataFrame({"score": score, "label": label, "region": region})


def test_each_group_matches_sklearn_and_the_shifted_one_is_named() -> None:
    frame = _regions()

    report = bias_report(frame["score"], frame["label"], {"region": frame["region"]},
                         threshold=0.5, limits=BiasLimits())

    section = report["sensitive"]["region"]["calibration"]
    assert section["thresholds"] == {"brier": 0.2, "ece": 0.1}
    assert section["n_bins"] == 10 and section["min_rows"] == 50
    assert section["miscalibrated"] == ["south"]
    for name, entry in section["groups"].items():
        rows = frame[frame["region"] == name]
        assert entry["brier"] == pytest.approx(brier_score_loss(rows["label"], rows["score"]))
        assert entry["brier"] == pytest.approx(report["sensitive"]["region"]["groups"][name][
            "brier"])
        prob_true, prob_pred = calibration_curve(rows["label"], rows["score"], n_bins=10)
        table = entry["reliability"]
        assert [v for v in table["observed_rate"] if v is not None] == pytest.approx(prob_true)
        assert [v for v in table["mean_predicted"] if v is not None] == pytest.approx(prob_pred)
    south = section["groups"]["south"]
    assert [d["metric"] for d in south["degraded"]] == ["brier", "ece"]
    assert south["ece"] > 0.15 and south["mean_score"] < south["observed_rate"] / 3


def test_miscalibration_never_changes_the_verdict() -> None:
    frame = _regions()
    strict = BiasLimits(max_group_brier=0.01, max_group_ece=0.01)

    loose = bias_report(frame["score"], frame["label"], {"region": frame["region"]},
                        threshold=0.5, limits=BiasLimits())
    tight = bias_report(frame["score"], frame["label"], {"region": frame["region"]},
                        threshold=0.5, limits=strict)

    assert tight["sensitive"]["region"]["calibration"]["miscalibrated"] == [
        "east", "north", "south"]
    assert (tight["status"], tight["reasons"]) == (loose["status"], loose["reasons"])


def test_groups_under_min_group_size_are_skipped() -> None:
    report = bias_report([0.2] * 12, [0, 1] * 6, {"g": ["a"] * 10 + ["b"] * 2},
                         threshold=0.5, limits=BiasLimits(min_group_size=5))

    groups = report["sensitive"]["g"]["calibration"]["groups"]
    assert groups["a"]["status"] == "checked"
    assert groups["b"] == {"status": "skipped", "rows": 2, "positives": 1, "degraded": [],
                           "reason": "2 labelled rows, fewer than the 5 a calibration check "
                                     "needs"}


def test_the_thresholds_are_governance_bias_keys() -> None:
    policy = policy_from_dict({"bias": {"max_group_brier": 0.25, "max_group_ece": 0.05}},
                              source="riskops.toml")
    assert (policy.bias.max_group_brier, policy.bias.max_group_ece) == (0.25, 0.05)
    with pytest.raises(InputError, match=r"^riskops.toml: governance.bias.max_group_ece must "
                                         r"be a number between 0 and 1\.$"):
        policy_from_dict({"bias": {"max_group_ece": 2}}, source="riskops.toml")


def test_file_audit_prints_the_miscalibrated_group(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "scored.csv"
    _regions().to_csv(path, index=False)

    result = cli("audit", "bias", "--data", path, "--score-col", "score", "--label-col",
                 "label", "--sensitive", "region")

    assert "region (judged):" in result.out
    [line] = [x for x in result.out.splitlines() if "miscalibrated" in x]
    assert line.startswith("  miscalibrated (Brier over 0.20 or ECE over 0.10; reported, not "
                           "judged): 'south' (brier 0.218, ece 0.190)")
