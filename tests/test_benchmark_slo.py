"""benchmarks/slo.py at a tiny size: the SQL status agrees with the pandas count it is timed
beside, and the script prints its table."""

from __future__ import annotations

from benchmark_scripts import load_benchmark

bench = load_benchmark("slo")


def test_the_benchmark_runs_and_both_sides_agree(capsys):
    assert bench.main(["--rows", "3000", "--scenarios", "3", "--repeat", "1"]) == 0
    text = capsys.readouterr().out
    assert "SQLite: pandas (baseline)" in text and "SQLite: slo_status()" in text
    assert "target: SQLite slo_status within 1.0 s: met" in text


def test_the_pandas_baseline_counts_by_hand(tmp_path):
    from riskops.storage import db

    url = f"sqlite:///{tmp_path / 'b.db'}"
    db.migrate(url)
    bench.populate(url, rows=2000, scenarios=2, seed=3)
    counts = bench.pandas_counts(url, 100.0)
    total = sum(c["window"][0] for c in counts.values())
    # 85% routed to a model, a quarter of the 40 days outside the 30-day window.
    assert 0.85 * 2000 * 0.75 * 0.9 < total < 0.85 * 2000 * 0.75 * 1.1
    for c in counts.values():
        assert c["5m"][0] <= c["30m"][0] <= c["1h"][0] <= c["6h"][0] <= c["window"][0]
