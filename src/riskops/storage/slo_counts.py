"""The SLO reads of the inference log: model-routed requests per scenario and window.

One statement per call, whatever the number of windows: each window is a
conditional count over the rows of the widest one. Every replica and worker
logs to the same table, so the counts (and the budgets computed from them)
are the same whichever process asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import and_, case, func, literal, select

from riskops.monitoring.slo import SloCounts
from riskops.storage import db
from riskops.storage.tables import PredictionRow

#: Routes on which a model was asked to answer (``serving.routing``). On these a
#: ``heuristic`` method means the model failed or timed out.
MODEL_ROUTES = ("production", "canary", "pin")

Window = tuple[datetime, datetime]  # (since, until]: since excluded, until included


def slo_counts(database_url: str, windows: Mapping[str, Window], *,
               latency_ms: Mapping[str, float], default_latency_ms: float,
               scenario: str | None = None) -> dict[str, dict[str, SloCounts]]:
    """``{scenario: {window name: SloCounts}}`` of the model-routed requests logged in
    each window; only scenarios with at least one such request in some window appear.

    ``latency_ms`` maps a scenario to its latency objective (others use
    ``default_latency_ms``); ``scenario`` restricts the read to one scenario.
    """
    if not windows:
        return {}
    p = PredictionRow
    earliest = min(since for since, _ in windows.values())
    latest = max(until for _, until in windows.values())
    limit = case(*[(p.scenario == name, literal(float(ms))) for name, ms in latency_ms.items()],
                 else_=literal(float(default_latency_ms))) if latency_ms \
        else literal(float(default_latency_ms))
    columns = []
    for since, until in windows.values():
        inside = and_(p.created_at > since, p.created_at <= until)
        columns += [
            func.sum(case((inside, 1), else_=0)),
            func.sum(case((and_(inside, p.method != "ml"), 1), else_=0)),
            func.sum(case((and_(inside, p.latency_ms > limit), 1), else_=0)),
        ]
    query = (select(p.scenario, *columns)
             .where(p.route.in_(MODEL_ROUTES), p.created_at > earliest, p.created_at <= latest)
             .group_by(p.scenario))
    if scenario is not None:
        query = query.where(p.scenario == scenario)
    out: dict[str, dict[str, SloCounts]] = {}
    with db.get_engine(database_url).connect() as conn:
        for row in conn.execute(query):
            values = [int(v or 0) for v in row[1:]]
            out[row[0]] = {name: SloCounts(*values[3 * i: 3 * i + 3])
                           for i, name in enumerate(windows)}
    return out


def logged_scenarios(database_url: str, *, since: datetime, until: datetime) -> list[str]:
    """Scenarios with any prediction logged in ``(since, until]``, sorted."""
    p = PredictionRow
    with db.get_engine(database_url).connect() as conn:
        return sorted(conn.execute(
            select(p.scenario).where(p.created_at > since, p.created_at <= until).distinct()
        ).scalars())
