"""The monitoring history table: append a run's points, read a model's series."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from riskops.storage import db
from riskops.storage.tables import MonitoringPointRow

#: Most points one read returns; a chart needs far fewer.
MAX_POINTS = 20_000


def append_points(database_url: str, points: Iterable[Mapping[str, Any]], *,
                  ran_at: datetime, window_end: datetime) -> int:
    """Store one run's points in one transaction; returns how many."""
    rows = [{**p, "ran_at": ran_at, "window_end": window_end} for p in points]
    if not rows:
        return 0
    with db.write_connection(database_url) as conn:
        conn.execute(insert(MonitoringPointRow), rows)
    return len(rows)


def read_series(database_url: str, model_id: str, *, tenant_id: str | None = None,
                since: datetime | None = None, limit: int = MAX_POINTS) -> list[dict[str, Any]]:
    """The newest ``limit`` points of ``model_id``, returned oldest window first.

    Ask for ``limit + 1`` to learn whether older points were left out.
    """
    query = select(MonitoringPointRow).where(MonitoringPointRow.model_id == model_id)
    if tenant_id is not None:
        query = query.where(MonitoringPointRow.tenant_id == tenant_id)
    if since is not None:
        query = query.where(MonitoringPointRow.window_end >= since)
    query = query.order_by(MonitoringPointRow.window_end.desc(),
                           MonitoringPointRow.id.desc()).limit(max(1, min(limit, MAX_POINTS + 1)))
    with db.read_session(database_url) as session:
        rows = session.scalars(query).all()
        out = [{"window_end": r.window_end.isoformat(), "ran_at": r.ran_at.isoformat(),
                "tenant_id": r.tenant_id, "check": r.check_name, "feature": r.feature,
                "metric": r.metric, "value": r.value, "breach": r.breach} for r in rows]
    out.reverse()
    return out


def monitored_models(database_url: str) -> list[str]:
    """Every model id with history, sorted."""
    with db.read_session(database_url) as session:
        return sorted(session.scalars(select(MonitoringPointRow.model_id).distinct()).all())
