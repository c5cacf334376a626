"""Events: CloudEvents envelopes stored in an outbox and delivered to sinks.

    from riskops.events import emit, emit_now

    with db.write_transaction(url) as session:
        ...                                   # the change itself
        emit(session, ws, type="ml.model.promoted", subject="fraud", data={...})

    emit_now(ws, type="model_integrity_failed", subject="fraud", data={...})

Delivery runs in :class:`riskops.events.dispatcher.Dispatcher`.
"""

from riskops.events.envelope import EVENT_TYPES, build_envelope
from riskops.events.outbox import emit, emit_now

__all__ = ["EVENT_TYPES", "build_envelope", "emit", "emit_now"]
