"""The header-timeout protocol factory: validated, and picklable for --workers."""

from __future__ import annotations

import pickle

import pytest
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from riskops.serving.header_timeout import HeaderTimeoutProtocol, header_timeout_protocol


def test_the_protocol_extends_what_uvicorn_picks_by_default():
    assert issubclass(HeaderTimeoutProtocol, AutoHTTPProtocol)


def test_the_factory_survives_pickling_into_worker_processes():
    factory = pickle.loads(pickle.dumps(header_timeout_protocol(2.5)))
    assert factory.func is HeaderTimeoutProtocol
    assert factory.keywords == {"header_timeout": 2.5}


@pytest.mark.parametrize("seconds", [0, -1.0, True, "10", float("nan")])
def test_the_timeout_must_be_positive(seconds):
    with pytest.raises(ValueError, match="header timeout must be a positive number of seconds"):
        header_timeout_protocol(seconds)
