"""Property-based fuzzing of every operation in the app's OpenAPI schema (schemathesis).

The app runs in-process (ASGI) with its lifespan started, so models are loaded
and the inference log is running; requests carry an admin token so every
operation is reachable. The only check is the DESIGN rule "never a 500 for bad
input": valid (positive) and invalid (negative) inputs alike must not get a 5xx.

schemathesis' pytest integration (``@schema.parametrize()`` with
``schemathesis.pytest.from_fixture``) reads a private pytest attribute that
pytest 9 removed, so the test drives each operation's Hypothesis strategy
itself and reports every failing operation at once.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from serving_helpers import served_template, tokens  # noqa: F401  (fixtures)

from riskops.config import open_workspace

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 30


def fuzz(operation: schemathesis.APIOperation, mode: GenerationMode, headers: dict[str, str],
         counts: Counter[int]) -> None:
    """Call ``operation`` with up to MAX_EXAMPLES generated requests; raise on a 5xx."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def call(case: schemathesis.Case) -> None:
        response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
        counts[response.status_code] += 1

    call()


def test_no_operation_answers_5xx(served_template: Path, tokens: dict[str, str],
                                  tmp_path: Path) -> None:
    from riskops.serving.app import create_app

    home = tmp_path / "served"
    shutil.copytree(served_template, home)
    ws = open_workspace(home)
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    app = create_app(ws)
    failures: dict[str, str] = {}
    statuses: dict[str, Counter[int]] = {}
    with TestClient(app):  # runs the lifespan: models loaded, inference log started
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        for result in schema.get_all_operations():
            operation = result.ok()
            counts = statuses.setdefault(operation.label, Counter())
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    fuzz(operation, mode, headers, counts)
                except Unsatisfiable:  # nothing to make invalid (no body, free-form path)
                    continue
                except Exception as exc:  # report every operation, not only the first
                    failures[f"{operation.label} ({mode.value})"] = str(exc)[:3000]
    print("\n".join(f"{label}: {dict(counts)}" for label, counts in statuses.items()))
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
