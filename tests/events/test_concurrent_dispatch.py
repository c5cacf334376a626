"""Several dispatchers at once (serving workers, the scheduler) deliver each event once."""

import threading
from collections import Counter

from events_helpers import log_lines
from sqlalchemy import select

from riskops.config import Workspace
from riskops.events import emit_now
from riskops.events.dispatcher import Dispatcher, DispatchResult
from riskops.storage import db
from riskops.storage.tables import EventDeliveryRow

SUBJECTS = [f"model-{i}" for i in range(8)]


def _race(ws: Workspace, *, events: int, dispatchers: int) -> list[DispatchResult]:
    ids = []
    for n in range(events):
        ids.append(emit_now(ws, type="model_bias_alert", subject=SUBJECTS[n % len(SUBJECTS)],
                            data={"n": n}))
    start = threading.Barrier(dispatchers)
    results = [DispatchResult() for _ in range(dispatchers)]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            dispatcher = Dispatcher(ws)
            start.wait()
            idle = 0
            while idle < 3:  # a few empty passes in a row: the other one holds nothing
                step = dispatcher.run_once(limit=7)
                results[i].delivered += step.delivered
                results[i].retried += step.retried
                idle = idle + 1 if step.attempted == 0 else 0
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(dispatchers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    lines = log_lines(ws)
    counts = Counter(line["id"] for line in lines)
    assert set(counts) == set(ids)
    assert max(counts.values()) == 1, [i for i, c in counts.items() if c > 1]
    for subject in SUBJECTS:  # per-subject order in the log is emit order
        ns = [line["data"]["n"] for line in lines if line["subject"] == subject]
        assert ns == sorted(ns)
    with db.read_session(ws.database_url) as s:
        statuses = Counter(s.scalars(select(EventDeliveryRow.status)).all())
    assert statuses == {"delivered": events}
    return results


def test_two_dispatchers_on_postgresql_deliver_each_event_exactly_once(
    pg_workspace: Workspace,
) -> None:
    results = _race(pg_workspace, events=120, dispatchers=2)
    assert sum(r.delivered for r in results) == 120
    assert all(r.retried == 0 for r in results)
    print("delivered per dispatcher:", [r.delivered for r in results])


def test_three_dispatchers_on_sqlite_deliver_each_event_exactly_once(
    workspace: Workspace,
) -> None:
    results = _race(workspace, events=60, dispatchers=3)
    assert sum(r.delivered for r in results) == 60
