"""benchmarks/serving.py's set-up and requests, without the load: the workspace it makes
through the command line serves, and each contender's request scores the same row.

The load itself needs wrk and minutes; this keeps the script from rotting between runs
(its set-up once stopped at a promotion that needed approvals and a token).
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from benchmark_scripts import load_benchmark
from riskops.config import open_workspace

bench = load_benchmark("serving")


def test_lua_strings_escape_every_byte():
    assert bench.lua_string(b'a"\x00\r\n]]') == '"\\097\\034\\000\\013\\010\\093\\093"'


@pytest.mark.slow
def test_every_contenders_request_scores_the_row_on_the_benchmark_workspace(tmp_path):
    from riskops.serving.app import create_app
    from riskops.serving.v2_grpc import inference_request

    setup = bench.make_workspace(tmp_path, 3000)
    plain = bench.riskops_server(setup, 1, 0)
    v2_json = bench.riskops_v2_server(setup, 1, 0, binary=False)
    v2_binary = bench.riskops_v2_server(setup, 1, 0, binary=True)
    with TestClient(create_app(open_workspace(setup.home))) as client:
        r = client.post(plain.path, content=plain.body, headers=plain.headers)
        assert r.status_code == 200, r.text
        expected = plain.score_of(r.json())
        r = client.post(v2_json.path, content=v2_json.body, headers=v2_json.headers)
        assert v2_json.score_of(r.json()) == pytest.approx(expected, abs=1e-12)
        r = client.post(v2_binary.path, content=v2_binary.check_body,
                        headers=v2_binary.check_headers)
        assert v2_binary.score_of(r.json()) == pytest.approx(expected, abs=1e-12)
        r = client.post(v2_binary.path, content=v2_binary.body, headers=v2_binary.headers)
        assert r.status_code == 200 and r.headers["inference-header-content-length"]
        # The gRPC load's request holds the same row.
        request = inference_request(bench.grpc_request(setup.row))
        assert {t.name: t.data for t in request.inputs} == {
            name: [value] for name, value in setup.row.items()}
        assert r.headers["content-type"] == "application/octet-stream"
    assert json.loads(v2_json.body)["inputs"][0]["data"] == [
        setup.row[json.loads(v2_json.body)["inputs"][0]["name"]]]
