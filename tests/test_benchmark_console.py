"""benchmarks/console.py at a tiny size: its own checks (the pending count, one model's
versions) hold and it prints its table."""

from __future__ import annotations

from benchmark_scripts import load_benchmark


def test_the_console_benchmark_runs_at_a_tiny_size(capsys) -> None:
    bench = load_benchmark("console")
    assert bench.main(["--models", "3", "--versions", "4", "--live", "2", "--repeat", "1"]) == 0
    printed = capsys.readouterr().out
    assert "GET /models (baseline)" in printed and "| GET /console/api/pending" in printed
    assert "target: every console read within 1.0 s: met" in printed
