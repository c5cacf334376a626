"""A job for the fault tests: does nothing, so its ``job_runs`` rows show that a
scheduler claimed a slot and a worker ran it (``[scheduler.jobs] fault-probe``)."""

from __future__ import annotations

from typing import Any


def probe(ws: Any, metadata: dict[str, Any]) -> dict[str, Any]:
    return {"probed": True}
