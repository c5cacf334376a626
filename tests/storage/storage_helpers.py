"""Fixtures and rows shared by the storage tests."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from riskops.storage import db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def prediction_row(created_at: datetime = T0, **overrides: Any) -> dict[str, Any]:
    """A ``predictions`` row of an ML fraud prediction; any column can be overridden."""
    row: dict[str, Any] = {
        "id": str(uuid.uuid4()), "created_at": created_at, "tenant_id": "default",
        "scenario": "fraud", "model_name": "fraud", "model_version": 1, "manifest_version": 3,
        "method": "ml", "route": "production", "inputs": json.dumps({"amount": 1.5}),
        "score": 0.25, "label": "low", "threshold": 0.5, "reasons": "[]", "latency_ms": 1.0,
    }
    row.update(overrides)
    return row


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty riskops database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'riskops.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    db.migrate(url)
    yield url
