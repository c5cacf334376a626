"""benchmarks/monitoring.py at a tiny size: its data, the riskops half, its checks.

The reference tools (Evidently, NannyML) run only inside the benchmark's own
virtual environment; here their worker's result parsing is checked on a
hand-written snapshot, never by installing them.
"""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy import stats as scipy_stats

from benchmark_scripts import load_benchmark
from riskops.monitoring.stats import psi

bench = load_benchmark("monitoring")
worker = load_benchmark("_reference_tools")

ROWS = 20_000


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return bench.ensure_data(tmp_path_factory.mktemp("bench"), ROWS)


def test_generator_is_seeded_and_drifts_only_the_three_columns():
    ref = bench.generate_columns(ROWS, seed=1, drifted=False)
    again = bench.generate_columns(ROWS, seed=1, drifted=False)
    cur = bench.generate_columns(ROWS, seed=2, drifted=True)
    assert list(ref) == list(bench.COLUMNS)
    for name in bench.COLUMNS:
        assert np.array_equal(ref[name], again[name])
        assert len(ref[name]) == ROWS
    # income: mean +0.6 sd (7,200); amount: scale x2; channel: web 0.6 -> 0.4, phone 0.1 -> 0.3
    assert cur["income"].mean() - ref["income"].mean() == pytest.approx(7_200, abs=400)
    assert np.median(cur["amount"]) / np.median(ref["amount"]) == pytest.approx(2.0, rel=0.05)
    assert np.mean(ref["channel"] == "web") == pytest.approx(0.6, abs=0.01)
    assert np.mean(cur["channel"] == "web") == pytest.approx(0.4, abs=0.01)
    assert np.mean(cur["channel"] == "phone") == pytest.approx(0.3, abs=0.01)
    assert set(np.unique(ref["merchant_category"])) <= set(bench.MERCHANTS)
    assert ref["utilisation"].min() >= 0 and ref["utilisation"].max() <= 1
    assert ref["tenure_months"].dtype == np.int64
    for name in set(bench.NUMERIC) - set(bench.DRIFTED):  # same distribution, other draw
        assert scipy_stats.ks_2samp(ref[name], cur[name]).statistic < 0.03, name


def test_generator_refuses_no_rows():
    with pytest.raises(ValueError, match="rows must be at least 1"):
        bench.generate_columns(0, seed=1, drifted=False)


def test_data_is_written_once_then_reused_and_regenerated_when_altered(data, tmp_path):
    table = pq.read_table(data.reference)
    assert table.num_rows == ROWS and table.column_names == list(bench.COLUMNS)
    assert str(table.schema.field("channel").type) == "string"
    again = bench.ensure_data(data.reference.parent.parent, ROWS)
    assert again.reused and again.reference == data.reference
    copy = bench.ensure_data(tmp_path, 500)
    copy.current.write_bytes(copy.current.read_bytes()[:-10])  # truncated: digest differs
    assert not bench.ensure_data(tmp_path, 500).reused


def test_riskops_half_flags_exactly_the_injected_columns(data):
    result = bench.run_riskops_in_process(data.reference, data.current)
    assert bench.drifted_columns(result) == list(bench.DRIFTED)
    assert result["compute_seconds"] > 0 and result["peak_rss_mib"] > 0
    ref = pq.read_table(data.reference).to_pydict()
    cur = pq.read_table(data.current).to_pydict()
    income = result["columns"]["income"]
    assert income["value"] == pytest.approx(psi(ref["income"], cur["income"]), rel=1e-9)
    assert income["statistics"]["ks"] == pytest.approx(
        scipy_stats.ks_2samp(ref["income"], cur["income"]).statistic, abs=1e-12)
    # channel PSI by hand: web 0.6 -> 0.4, branch 0.3 -> 0.3, phone 0.1 -> 0.3, about 0.30
    assert result["columns"]["channel"]["value"] == pytest.approx(0.30, abs=0.03)


def test_riskops_cli_contender_reads_its_json_out(data):
    result = bench.run_riskops_cli(data.reference, data.current)
    assert bench.drifted_columns(result) == list(bench.DRIFTED)
    assert result["wall_seconds"] > 0


def _result(seconds: float, drifted: tuple[str, ...]) -> dict:
    return {"compute_seconds": seconds,
            "columns": {c: {"drifted": c in drifted, "value": 0.0, "statistics": {}}
                        for c in bench.COLUMNS}}


def test_check_targets_names_each_missed_target():
    good = {bench.RISKOPS_IN_PROCESS: _result(1.0, bench.DRIFTED),
            "evidently-psi": _result(25.0, ()), "evidently-default": _result(30.0, ())}
    assert bench.check_targets(good) == []
    bad = {bench.RISKOPS_IN_PROCESS: _result(2.5, ("income",)),
           "evidently-psi": _result(25.0, ())}
    problems = bench.check_targets(bad)
    assert problems == [
        "riskops flagged ['income'], expected exactly ['income', 'amount', 'channel']",
        "riskops compute 2.50 s > target 2.0 s",
        "riskops only 10.0x faster than evidently-psi (target 20x)",
    ]
    assert bench.check_targets(bad, timed=False) == problems[:1]  # a quick, smaller run


def test_tables_render_every_contender_and_column(data):
    by_key = {bench.RISKOPS_IN_PROCESS: {**_result(1.0, bench.DRIFTED), "tool": "riskops",
                                         "method": "in", "peak_rss_mib": 100.0},
              "evidently-psi": {**_result(20.0, bench.DRIFTED), "tool": "evidently",
                                "method": "psi", "wall_seconds": 30.0, "peak_rss_mib": None}}
    text = bench.results_table(list(by_key.values()), 1.0, 2.0)
    assert "20.0x" in text and "15.0x" in text and "3: income,amount,channel" in text
    psi_text = bench.psi_table(by_key)
    assert all(name in psi_text for name in bench.COLUMNS)


@pytest.mark.parametrize("argv, message", [
    (["--rows", "5"], "--rows must be at least 100"),
    (["--repeat", "0"], "--repeat must be at least 1"),
    (["--tools", "evidently-psi,alibi"], "--tools: unknown ['alibi']"),
])
def test_bad_arguments_exit_2_naming_the_option(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


SNAPSHOT = {"metrics": [
    {"config": {"type": "evidently:metric_v2:DriftedColumnsCount", "method": "psi"},
     "value": {"count": 1.0, "share": 0.5}},
    {"config": {"type": "evidently:metric_v2:ValueDrift", "column": "x", "method": "psi",
                "threshold": 0.1}, "value": 1.0048},
    {"config": {"type": "evidently:metric_v2:ValueDrift", "column": "c", "method": "psi",
                "threshold": 0.1}, "value": 0.1},
]}


def test_worker_reads_evidently_value_drift_metrics():
    columns = worker._evidently_columns(SNAPSHOT, ["x"], ["c"])
    assert columns["x"] == {"kind": "numeric", "method": "psi", "value": 1.0048,
                            "threshold": 0.1, "drifted": True}
    assert columns["c"]["drifted"] is True  # Evidently: value >= threshold drifts
    assert columns["c"]["kind"] == "categorical"


def test_worker_refuses_a_snapshot_without_a_column():
    with pytest.raises(SystemExit, match=r"no ValueDrift for \['y'\]"):
        worker._evidently_columns(SNAPSHOT, ["x", "y"], ["c"])


def test_worker_treats_non_finite_values_as_missing():
    snapshot = {"metrics": [{"config": {"type": "evidently:metric_v2:ValueDrift",
                                        "column": "x", "method": "psi", "threshold": 0.1},
                             "value": float("nan")}]}
    assert worker._evidently_columns(snapshot, ["x"], [])["x"]["drifted"] is False


def test_best_takes_the_fastest_run_the_least_cpu_and_the_highest_peak():
    runs = [{"compute_seconds": 3.0, "compute_cpu_seconds": 1.0, "peak_rss_mib": 300.0},
            {"compute_seconds": 2.0, "compute_cpu_seconds": 1.5, "peak_rss_mib": 280.0},
            {"compute_seconds": 4.0, "compute_cpu_seconds": 1.2, "peak_rss_mib": None}]
    chosen = bench.best(runs, "compute_seconds")
    assert (chosen["compute_seconds"], chosen["compute_cpu_seconds"],
            chosen["peak_rss_mib"], chosen["runs"]) == (2.0, 1.0, 300.0, 3)


def test_reference_venv_is_rebuilt_only_when_the_pins_change(tmp_path, monkeypatch):
    requirements = tmp_path / "reference-tools.txt"
    requirements.write_text("evidently==0.7.23\n")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    calls = []
    monkeypatch.setattr(bench.subprocess, "run", lambda argv, **kw: calls.append(argv))
    (venv / ".requirements.sha256").write_text(bench.requirements_digest(requirements) + "\n")
    assert bench.ensure_reference_venv(venv, python="python3", requirements=requirements) == venv
    assert calls == []
    requirements.write_text("evidently==0.7.24\n")  # a new pin: create and install again
    bench.ensure_reference_venv(venv, python="python3", requirements=requirements)
    assert calls[0] == ["python3", "-m", "venv", "--clear", str(venv)]
    assert calls[1][-3:] == ["install", "-r", str(requirements)]
    assert (venv / ".requirements.sha256").read_text().strip() == \
        bench.requirements_digest(requirements)


def test_inventory_benchmark_runs_at_a_tiny_size(capsys, monkeypatch, tmp_path):
    """benchmarks/inventory.py end to end on 3 models: its table and its own checks (every
    model's last validation is its newest live version)."""
    monkeypatch.setenv("RISKOPS_HOME", str(tmp_path / "unused"))
    inventory_bench = load_benchmark("inventory")
    assert inventory_bench.main(["--models", "3", "--versions", "4", "--live", "2",
                                 "--repeat", "1"]) == 0
    printed = capsys.readouterr().out
    assert "| inventory()" in printed and "Registry.list_models (baseline)" in printed


def test_admission_benchmark_runs_at_a_tiny_size(capsys, monkeypatch, tmp_path):
    """benchmarks/admission.py end to end on a few manifests and one rotation: its table and
    its own checks (the chain is followed, the manifest admitted)."""
    monkeypatch.setenv("RISKOPS_HOME", str(tmp_path / "unused"))
    admission_bench = load_benchmark("admission")
    assert admission_bench.main(["--manifests", "3", "--rotations", "1", "--repeat", "1"]) == 0
    printed = capsys.readouterr().out
    assert "| admit_manifest" in printed and "read_verified_manifest (baseline)" in printed
