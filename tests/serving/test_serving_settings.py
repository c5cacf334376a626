"""[serving] settings and RISK_ML_ENABLED: valid values load, bad ones name the key."""

from __future__ import annotations

import pytest

from riskops.config import open_workspace
from riskops.errors import InputError
from riskops.serving.settings import ServingSettings, serving_settings


def _with(workspace, text: str):
    workspace.config_path.write_text(workspace.config_path.read_text() + "\n" + text)
    return open_workspace(workspace.home)


def test_defaults(workspace):
    assert serving_settings(workspace, {}) == ServingSettings()


def test_values_are_read(workspace):
    ws = _with(workspace, "[serving]\nmax_batch = 10\nopen_metrics = false\n"
                          "manifest_poll_seconds = 0.5\n")
    got = serving_settings(ws, {"RISK_ML_ENABLED": "false"})
    assert got.max_batch == 10 and not got.open_metrics and got.manifest_poll_seconds == 0.5
    assert got.ml_enabled is False


@pytest.mark.parametrize("text,message", [
    ("[serving]\nmax_batch = 0\n", "max_batch must be an integer between 1"),
    ("[serving]\nmax_batch = true\n", "max_batch must be an integer"),
    ("[serving]\nmax_batch = 1.5\n", "max_batch must be an integer"),
    ("[serving]\nopen_health = \"yes\"\n", "open_health must be true or false"),
    ("[serving]\nfast_path = 1\n", "fast_path must be true or false"),
    ("[serving]\nport = 1\n", "unknown key 'port'"),
    ("[serving]\nrequest_timeout_seconds = 1e9\n", "request_timeout_seconds must be a number"),
    ("[serving]\nheader_timeout_seconds = 0\n",
     "header_timeout_seconds must be a number between 0.1 and 3600"),
    ("[serving]\nbody_timeout_seconds = -1\n",
     "body_timeout_seconds must be a number between 0.1 and 3600"),
    ("[serving]\nbody_timeout_seconds = \"10\"\n", "body_timeout_seconds must be a number"),
    ("[serving]\nheader_timeout_seconds = true\n", "header_timeout_seconds must be a number"),
])
def test_bad_values_name_the_key(workspace, text, message):
    with pytest.raises(InputError, match=message):
        serving_settings(_with(workspace, text), {})


def test_slow_client_timeouts_default_to_ten_seconds_and_are_read(workspace):
    assert (ServingSettings().header_timeout_seconds, ServingSettings().body_timeout_seconds) \
        == (10.0, 10.0)
    ws = _with(workspace, "[serving]\nheader_timeout_seconds = 1\nbody_timeout_seconds = 2.5\n")
    got = serving_settings(ws, {})
    assert (got.header_timeout_seconds, got.body_timeout_seconds) == (1.0, 2.5)
    assert isinstance(got.header_timeout_seconds, float)


def test_bad_ml_switch(workspace):
    with pytest.raises(InputError, match="RISK_ML_ENABLED='maybe' is not a boolean"):
        serving_settings(workspace, {"RISK_ML_ENABLED": "maybe"})


@pytest.mark.parametrize("address,expected", [
    ("127.0.0.1:8081", "127.0.0.1:8081"), ("::1:8081", "::1:8081"), ("", None)])
def test_grpc_address_is_read_from_the_environment(workspace, address, expected):
    assert serving_settings(workspace, {"RISKOPS_GRPC_ADDRESS": address}).grpc_address \
        == expected


@pytest.mark.parametrize("address", ["8081", "host:", "host:0", "host:70000", "host:8o81",
                                     ":8081"])
def test_a_bad_grpc_address_names_the_variable(workspace, address):
    with pytest.raises(InputError, match=r"RISKOPS_GRPC_ADDRESS=.* is not host:port"):
        serving_settings(workspace, {"RISKOPS_GRPC_ADDRESS": address})


def test_serve_refuses_bad_arguments(cli, workspace):
    for args, message in ((["--port", "70000"], "--port 70000 is out of range"),
                          (["--workers", "0"], "--workers 0 is out of range"),
                          (["--log-level", "loud"], "--log-level 'loud'")):
        result = cli("serve", *args)
        assert result.code == 2 and message in result.err
        assert len(result.err.strip().splitlines()) == 1
    _with(workspace, "[serving]\nmax_batch = -1\n")
    result = cli("serve")
    assert result.code == 2 and "max_batch" in result.err
