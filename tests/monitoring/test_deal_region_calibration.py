"""The issue's acceptance check, on real generated deals and the deal scenario's own model:
a quarter with prior drift injected into one region shows that region's calibration
degrading in ``monitor compare --segment-col region`` while the others stay within
their thresholds.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss
from threadpoolctl import threadpool_limits

from riskops.scenarios import get_scenario
from riskops.scenarios.generate import generate_to_file


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.DataFrame]:
    """Q1 deals (train on January-February, reference = March) and Q2 deals with more
    losses in EMEA from May 1, each scored by the model trained on Q1."""
    root = tmp_path_factory.mktemp("deal")
    scenario = get_scenario("deal")
    generate_to_file("deal", rows=20_000, start=date(2026, 1, 1), days=90,
                     out=root / "q1.parquet", seed=1)
    generate_to_file("deal", rows=12_000, start=date(2026, 4, 1), days=91,
                     out=root / "q2.parquet", seed=2, drift_from=date(2026, 5, 1),
                     drift_kind="prior", drift_segment="region=emea")
    q1, q2 = pd.read_parquet(root / "q1.parquet"), pd.read_parquet(root / "q2.parquet")
    train = q1[q1["timestamp"] < pd.Timestamp("2026-03-01", tz="UTC")]
    model = scenario.build_model(seed=0)
    with threadpool_limits(limits=1, user_api="openmp"):
        model.fit(scenario.model_input(train), train["label"])
        reference = q1[q1["timestamp"] >= pd.Timestamp("2026-03-01", tz="UTC")]
        reference = reference.assign(score=scenario.risk_scores(model, reference))
        current = q2.assign(score=scenario.risk_scores(model, q2))
    reference.to_parquet(root / "reference.parquet")
    current.to_parquet(root / "current.parquet")
    return root / "reference.parquet", root / "current.parquet", current


def test_only_the_drifted_region_is_named_miscalibrated(cli, scored) -> None:  # type: ignore[no-untyped-def]
    reference, current, frame = scored

    result = cli("monitor", "compare", "--reference", reference, "--current", current,
                 "--timestamp-col", "timestamp", "--chunk-period", "month",
                 "--score-col", "score", "--label-col", "label",
                 "--segment-col", "region", "--segment-col", "deal_size_band", "--json")

    assert result.code == 0, result.err
    document = result.json()
    degraded = document["summary"]["calibration"]["degraded"]
    assert [d["segment"] for d in degraded] == ["region=emea"]
    # April is before the drift; May and June are after it.
    assert degraded[0]["chunks"] == ["2026-05", "2026-06"]
    whole = {e["segment"]: e for e in document["calibration"]["segments"]}
    for region in ("north_america", "apac", "latam"):
        entry = whole[f"region={region}"]
        assert entry["ece"] < 0.1 and entry["brier"] < 0.2, (region, entry)
    emea = frame[frame["region"] == "emea"]
    y = (emea["label"] == "1").astype(int)
    assert whole["region=emea"]["brier"] == pytest.approx(brier_score_loss(y, emea["score"]))
    assert whole["region=emea"]["observed_rate"] > whole["region=emea"]["mean_score"] + 0.1


def test_the_text_output_names_the_region(cli, scored) -> None:  # type: ignore[no-untyped-def]
    reference, current, _ = scored

    result = cli("monitor", "compare", "--reference", reference, "--current", current,
                 "--score-col", "score", "--label-col", "label", "--segment-col", "region")

    assert result.code == 0, result.err
    assert "segment region=emea is miscalibrated" in result.out
    assert result.out.count("miscalibrated") == 1
