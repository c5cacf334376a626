"""`generate_to_file` and `riskops data generate`: files, summaries and bad input."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskops.errors import InputError
from riskops.scenarios import get_scenario
from riskops.scenarios.base import Drift
from riskops.scenarios.generate import generate_to_file, offset_for_rate
from riskops.scenarios.tabular import sigmoid

START = date(2024, 1, 1)


def _expected(name: str, rows: int = 500, *, tenants: int = 2, days: int = 30, seed: int = 5,
              **drift: object) -> pd.DataFrame:
    return get_scenario(name).generate(
        rows, start=START, days=days, seed=seed, tenants=tenants,
        drift=Drift(**drift) if drift else None,  # type: ignore[arg-type]
    )


def _read_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"label": str})
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


@pytest.mark.parametrize("name", ["fraud", "shortfall", "compliance", "deal"])
def test_csv_round_trip_equals_the_generated_frame(name: str, tmp_path: Path) -> None:
    out = tmp_path / f"{name}.csv"
    summary = generate_to_file(name, rows=500, start=START, days=30, out=out, seed=5,
                               tenants=2)
    pd.testing.assert_frame_equal(_read_csv(out), _expected(name))
    assert summary["rows"] == 500 and summary["format"] == "csv"
    assert summary["columns"] == list(_expected(name).columns)


@pytest.mark.parametrize("name", ["fraud", "shortfall", "compliance", "deal"])
def test_parquet_round_trip_equals_the_generated_frame(name: str, tmp_path: Path) -> None:
    out = tmp_path / f"{name}.parquet"
    generate_to_file(name, rows=500, start=START, days=30, out=out, seed=5, tenants=2,
                     drift_from=date(2024, 1, 20), drift_kind="covariate",
                     drift_features=("days_since_last_audit",) if name == "compliance" else ())
    features = ("days_since_last_audit",) if name == "compliance" else ()
    expected = _expected(name, kind="covariate", start=date(2024, 1, 20), features=features)
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)


def test_summary_describes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "fraud.parquet"
    summary = generate_to_file("fraud", rows=2_000, start=START, days=30, out=out, seed=5,
                               drift_from=date(2024, 1, 25), drift_kind="prior", magnitude=0.5)
    assert summary["path"] == str(out)
    assert summary["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert summary["label_share"]["0"] + summary["label_share"]["1"] == pytest.approx(1.0)
    assert 0.0 < summary["label_share"]["1"] < 0.2
    assert summary["date_range"] == {"first": "2024-01-01", "last": "2024-01-30"}
    assert summary["drift"] == {"kind": "prior", "from": "2024-01-25", "features": [],
                                "magnitude": 0.5, "segment": None}
    assert summary["seed"] == 5 and summary["tenants"] == 3


def test_same_arguments_write_the_same_bytes(tmp_path: Path) -> None:
    first = generate_to_file("shortfall", rows=300, start=START, days=10, out=tmp_path / "a.csv")
    second = generate_to_file("shortfall", rows=300, start=START, days=10,
                              out=tmp_path / "b.csv")
    other = generate_to_file("shortfall", rows=300, start=START, days=10, seed=1,
                             out=tmp_path / "c.csv")
    assert first["sha256"] == second["sha256"] != other["sha256"]


def test_an_existing_file_is_replaced_and_no_temporary_is_left(tmp_path: Path) -> None:
    out = tmp_path / "data.csv"
    out.write_text("old\n")
    generate_to_file("compliance", rows=50, start=START, days=5, out=out)
    assert out.read_text().startswith("id,timestamp,tenant_id,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]


def test_library_errors_name_the_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--rows 0 is out of range; use 1 to 10,000,000"):
        generate_to_file("fraud", rows=0, start=START, days=5, out=tmp_path / "x.csv")
    with pytest.raises(InputError, match="unknown scenario 'nope'"):
        generate_to_file("nope", rows=5, start=START, days=5, out=tmp_path / "x.csv")
    assert not list(tmp_path.iterdir())


def test_offset_for_rate_hits_the_target_rate() -> None:
    logits = np.random.default_rng(0).normal(-2.0, 1.5, 10_000)
    for rate in (0.01, 0.2, 0.9):
        assert np.mean(sigmoid(logits + offset_for_rate(logits, rate))) == pytest.approx(rate)
    assert offset_for_rate(np.array([]), 0.5) == 0.0


# the command


def test_cli_writes_the_file_and_prints_one_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "fraud.csv"
    result = cli("data", "generate", "fraud", "--rows", "400", "--start", "2024-01-01",
                 "--days", "14", "--out", out)
    assert result.code == 0, result.err
    assert result.err == ""
    assert result.out.count("\n") == 1
    assert result.out.startswith(f"wrote 400 fraud rows to {out} (2024-01-01 to 2024-01-14;")
    assert len(_read_csv(out)) == 400


def test_cli_json_summary_matches_the_library(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "c.parquet"
    result = cli("data", "generate", "compliance", "--rows", "300", "--start", "2024-02-01",
                 "--days", "20", "--drift-from", "2024-02-10", "--drift", "covariate",
                 "--drift-features", " open_findings, overdue_filings ", "--magnitude", "2",
                 "--seed", "9", "--tenants", "5", "--out", out, "--json")
    assert result.code == 0, result.err
    summary = result.json()
    assert summary["drift"] == {"kind": "covariate", "from": "2024-02-10",
                                "features": ["open_findings", "overdue_filings"],
                                "magnitude": 2.0, "segment": None}
    assert summary["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    frame = pd.read_parquet(out)
    assert frame["tenant_id"].nunique() == 5 and len(frame) == 300


def test_cli_drifts_one_segment_value_only(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "deal.parquet"
    result = cli("data", "generate", "deal", "--rows", "4000", "--start", "2024-01-01",
                 "--days", "60", "--drift-from", "2024-02-01", "--drift", "prior",
                 "--drift-segment", "region=emea", "--out", out)
    assert result.code == 0, result.err
    assert "prior drift from 2024-02-01 in region=emea;" in result.out
    drifted = pd.read_parquet(out)
    plain = _expected("deal", rows=4000, tenants=3, days=60, seed=0)
    inside = (drifted["region"] == "emea") & (drifted["timestamp"] >= "2024-02-01")
    pd.testing.assert_frame_equal(drifted[~inside], plain[~inside])
    assert (drifted.loc[inside, "label"] == "1").mean() > \
        (plain.loc[inside, "label"] == "1").mean() + 0.1


def test_cli_help_lists_the_options(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("data", "generate", "--help")
    assert result.code == 0
    for option in ("--rows", "--start", "--days", "--drift-from", "--drift", "--out", "--json"):
        assert option in result.out


GOOD = ("fraud", "--rows", "10", "--start", "2024-01-01", "--days", "30")

BAD_INPUT = [
    pytest.param(["fraud", "--rows", "0", *GOOD[3:]], "--rows 0 is out of range", id="rows-0"),
    pytest.param(["fraud", "--rows", "10000001", *GOOD[3:]], "--rows 10000001 is out of range",
                 id="rows-too-many"),
    pytest.param([*GOOD[:5], "--days", "0"], "--days 0 is out of range", id="days-0"),
    pytest.param([*GOOD[:5], "--days", "3651"], "--days 3651 is out of range; use 1 to 3,650",
                 id="days-too-many"),
    pytest.param([*GOOD, "--tenants", "0"], "--tenants 0 is out of range; use 1 to 8",
                 id="tenants-0"),
    pytest.param([*GOOD, "--tenants", "9"], "--tenants 9 is out of range", id="tenants-9"),
    pytest.param([*GOOD, "--drift-from", "2024-01-10", "--drift", "sideways"],
                 "--drift 'sideways' is not supported; use one of covariate, concept, prior",
                 id="drift-kind"),
    pytest.param([*GOOD, "--drift-from", "2024-01-10"],
                 "--drift-from is set but --drift is not", id="drift-from-alone"),
    pytest.param([*GOOD, "--drift", "prior"], "--drift is set but --drift-from is not",
                 id="drift-kind-alone"),
    pytest.param([*GOOD, "--drift-from", "2023-12-31", "--drift", "prior"],
                 "--drift-from 2023-12-31 is outside the generated dates 2024-01-01 to 2024-01-30",
                 id="drift-before-start"),
    pytest.param([*GOOD, "--drift-from", "2024-01-31", "--drift", "prior"],
                 "--drift-from 2024-01-31 is outside", id="drift-at-end"),
    pytest.param([*GOOD, "--drift-from", "2024-01-10", "--drift", "covariate",
                  "--drift-features", "amount,colour"],
                 "unknown drift feature(s) colour; this scenario's features are amount, ",
                 id="drift-feature"),
    pytest.param([*GOOD, "--drift-features", "amount"],
                 "--drift-features is set but no drift is", id="drift-features-alone"),
    pytest.param([*GOOD, "--drift-from", "2024-01-10", "--drift", "prior",
                  "--drift-features", "amount"],
                 "drift features only apply to covariate drift, not prior",
                 id="drift-features-prior"),
    pytest.param([*GOOD, "--drift-from", "2024-01-10", "--drift", "prior", "--magnitude",
                  "-1"], "drift magnitude -1.0 is out of range", id="magnitude-negative"),
    pytest.param([*GOOD, "--drift-from", "2024-01-10", "--drift", "prior", "--magnitude",
                  "nan"], "drift magnitude nan is out of range", id="magnitude-nan"),
    pytest.param([*GOOD, "--drift-segment", "region=latam"],
                 "--drift-segment is set but no drift is", id="drift-segment-alone"),
    pytest.param([*GOOD, "--drift-from", "2024-01-10", "--drift", "prior",
                  "--drift-segment", "region"],
                 "--drift-segment 'region' must be COLUMN=VALUE, e.g. region=emea",
                 id="drift-segment-format"),
    pytest.param([*GOOD, "--drift-from", "2024-01-10", "--drift", "prior",
                  "--drift-segment", "region=a\nb"],
                 "--drift-segment 'region=a\\nb' must be COLUMN=VALUE", id="drift-segment-newline"),
    pytest.param([*GOOD, "--drift-from", "2024-01-10", "--drift", "prior",
                  "--drift-segment", "channel=web"],
                 "--drift-segment channel=web: 'channel' is not a segment column; this "
                 "scenario's segments are industry, region, size_band", id="drift-segment-column"),
    pytest.param([*GOOD, "--drift-from", "2024-01-10", "--drift", "prior",
                  "--drift-segment", "region=mars"],
                 "--drift-segment region=mars: no generated row has region 'mars'; its values "
                 "are ", id="drift-segment-value"),
    pytest.param(["incident", *GOOD[1:], "--drift-from", "2024-01-10", "--drift", "prior",
                  "--drift-segment", "region=europe"],
                 "--drift-segment region=europe: this scenario cannot limit drift to a "
                 "segment", id="drift-segment-incident"),
    pytest.param(["claims", *GOOD[1:]], "unknown scenario 'claims'", id="scenario"),
    pytest.param(["fraud", "--rows", "10", "--start", "2024-02-30", "--days", "30"],
                 "--start '2024-02-30' is not a date; use YYYY-MM-DD", id="start-not-a-day"),
    pytest.param(["fraud", "--rows", "10", "--start", "01/02/2024", "--days", "30"],
                 "--start '01/02/2024' is not a date", id="start-format"),
    pytest.param([*GOOD, "--drift-from", "2024-1-5", "--drift", "prior"],
                 "--drift-from '2024-1-5' is not a date", id="drift-from-format"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
def test_cli_rejects_bad_input_in_one_line(cli, tmp_path: Path, args: list[str],  # type: ignore[no-untyped-def]
                                           message: str) -> None:
    result = cli("data", "generate", *args, "--out", tmp_path / "out.csv")
    assert result.code == 2
    assert result.err.startswith(f"error: {message}"), result.err
    assert result.err.count("\n") == 1
    assert "Traceback" not in result.err and result.out == ""
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("out", "message"), [
    ("missing/out.csv", "output folder {tmp}/missing does not exist; create it first"),
    (".", "output {tmp} is a directory; give a file path such as {tmp}/data.parquet"),
    ("out.json", "output {tmp}/out.json has an unsupported suffix '.json'; use one of .csv, "
                 ".parquet"),
    ("out", "output {tmp}/out has an unsupported suffix '(none)'"),
])
def test_cli_rejects_unusable_output_paths(cli, tmp_path: Path, out: str,  # type: ignore[no-untyped-def]
                                           message: str) -> None:
    target = tmp_path / out if out != "." else tmp_path
    result = cli("data", "generate", *GOOD, "--out", target)
    assert result.code == 2
    assert result.err.startswith(f"error: {message.format(tmp=tmp_path)}"), result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err


@pytest.mark.parametrize("args", [
    ["fraud", "--rows", "many", "--start", "2024-01-01", "--days", "3"],
    ["fraud", "--start", "2024-01-01", "--days", "3"],
    ["fraud", "--rows", "10", "--start", "2024-01-01", "--days", "3", "--magnitude", "big"],
])
def test_cli_usage_errors_exit_2_without_traceback(cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                   args: list[str]) -> None:
    result = cli("data", "generate", *args, "--out", tmp_path / "x.csv")
    assert result.code == 2
    assert "Usage: riskops data generate" in result.err
    assert "Traceback" not in result.err
