"""The SLO reads of the inference log: model-routed requests per scenario and window.

One aggregate statement per window, each a range scan of the covering index
``ix_predictions_slo`` (route, created_at, scenario, method, latency_ms): the
table's rows (with their inputs) are never read, and the short burn-rate
windows cost next to nothing beside the 30-day one (benchmarks/slo.py). Every
replica and worker logs to the same table, so the counts (and the budgets
computed from them) are the same whichever process asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, literal, select

from riskops.storage import db
from riskops.storage.tables import PredictionRow

#: Routes on which a model was asked to answer (``serving.routing``). On these a
#: ``heuristic`` method means the model failed or timed out.
MODEL_ROUTES = ("production", "canary", "pin")


@dataclass(frozen=True)
class SloCounts:
    """Model-routed requests of one scenario in one window.

    ``failed``: answered by the heuristic because the model failed or timed out;
    ``slow``: answered in more than the latency objective (whatever answered).
    """

    total: int = 0
    failed: int = 0
    slow: int = 0

    def bad(self, objective: str) -> int:
        return self.failed if objective == "availability" else self.slow


Window = tuple[datetime, datetime]  # (since, until]: since excluded, until included


def slo_counts(database_url: str, windows: Mapping[str, Window], *,
               latency_ms: Mapping[str, float], default_latency_ms: float,
               scenario: str | None = None, min_manifest_version: int | None = None
               ) -> dict[str, dict[str, SloCounts]]:
    """``{scenario: {window name: SloCounts}}`` of the model-routed requests logged in
    each window; only scenarios with at least one such request in some window appear.

    ``latency_ms`` maps a scenario to its latency objective (others use
    ``default_latency_ms``); ``scenario`` restricts the read to one scenario, and
    ``min_manifest_version`` to requests served under that manifest or a newer one
    (a replica that has not yet loaded a rollback logs under the older one).
    """
    p = PredictionRow
    limit = case(*[(p.scenario == name, literal(float(ms))) for name, ms in latency_ms.items()],
                 else_=literal(float(default_latency_ms))) if latency_ms \
        else literal(float(default_latency_ms))
    out: dict[str, dict[str, SloCounts]] = {}
    with db.get_engine(database_url).connect() as conn:
        for name, (since, until) in windows.items():
            query = (select(p.scenario, func.count(),
                            func.sum(case((p.method != "ml", 1), else_=0)),
                            func.sum(case((p.latency_ms > limit, 1), else_=0)))
                     .where(p.route.in_(MODEL_ROUTES), p.created_at > since,
                            p.created_at <= until)
                     .group_by(p.scenario))
            if scenario is not None:
                query = query.where(p.scenario == scenario)
            if min_manifest_version is not None:
                query = query.where(p.manifest_version >= min_manifest_version)
            for row in conn.execute(query):
                counts = SloCounts(*(int(v or 0) for v in row[1:]))
                out.setdefault(row[0], {})[name] = counts
    return {s: {name: found.get(name, SloCounts()) for name in windows}
            for s, found in out.items()}
