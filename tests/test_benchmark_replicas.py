"""benchmarks/replicas.py: its arithmetic, and one tiny run end to end on PostgreSQL."""

from __future__ import annotations

import shutil

import pytest

from benchmark_scripts import load_benchmark
from conftest import POSTGRES_URL, postgres_available, require_service

bench = load_benchmark("replicas")


def test_connections_are_split_as_evenly_as_they_go() -> None:
    assert bench.split_connections(8, 1) == [8]
    assert bench.split_connections(8, 3) == [3, 3, 2]
    assert sum(bench.split_connections(13, 4)) == 13
    with pytest.raises(ValueError, match="at least one connection per replica"):
        bench.split_connections(2, 3)


def test_a_row_adds_throughput_and_keeps_the_worst_percentiles() -> None:
    def run(rps: float, p99: float, errors: int = 0):  # type: ignore[no-untyped-def]
        return bench.WrkResult(requests_per_s=rps, requests=int(rps), p50_ms=p99 / 2,
                               p99_ms=p99, p999_ms=0.0, max_ms=0.0, non_2xx=errors,
                               socket_errors=0, client_cpu_s=0.0, text="")

    row = bench.Row(2, [4, 4], [run(100, 30.0), run(80, 45.0, errors=2)])
    assert (row.requests_per_s, row.p99_ms, row.p50_ms, row.errors) == (180, 45.0, 22.5, 2)


@pytest.mark.postgres
@pytest.mark.slow
def test_the_replica_benchmark_runs_at_a_tiny_size(tmp_path, capsys) -> None:
    require_service("PostgreSQL", POSTGRES_URL, postgres_available())
    if shutil.which("wrk") is None:
        require_service("wrk", "PATH", "wrk is not installed (apt-get install wrk)")
    code = bench.main(["--replicas", "1,2", "--duration", "1", "--warmup", "0",
                       "--rows", "2000", "--promotions", "2", "--data-dir", str(tmp_path),
                       "--database-url", POSTGRES_URL])
    printed = capsys.readouterr().out
    assert code in (0, 1), printed  # 1: the propagation target missed on a busy machine
    assert "| 2        |         4+4 |" in printed
    assert "propagation: median" in printed and "over 4 replica-promotions" in printed
