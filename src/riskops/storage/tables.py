"""Tables of the riskops database (SQLAlchemy 2 declarative models).

Schema changes go through Alembic migrations in ``migrations/versions``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; riskops stores aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class ModelRow(Base):
    """One named model and its live stage pointers.

    ``revision`` grows on every pointer change; writers compare-and-swap on it
    so two concurrent promotions cannot both win.
    """

    __tablename__ = "models"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revision: Mapped[int] = mapped_column(Integer, default=0)
    production_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    staging_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    canary_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    canary_percent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # JSON list of production versions, oldest first; rollback goes to history[n-1].
    history: Mapped[str] = mapped_column(Text, default="[]")
    # JSON object tenant -> version (int) or "heuristic"; per-tenant routing pins.
    pins: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    # Set by ``riskops models retire``, cleared by the next production promotion (0005).
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    retired_by: Mapped[str | None] = mapped_column(String(256), nullable=True)
    retired_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Never cleared: sign-offs given before the last retirement do not count again.
    last_retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ModelVersionRow(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(ForeignKey("models.name"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    author: Mapped[str] = mapped_column(String(256))
    entrypoint: Mapped[str | None] = mapped_column(String(512), nullable=True)
    metrics: Mapped[str] = mapped_column(Text, default="{}")
    params: Mapped[str] = mapped_column(Text, default="{}")
    training_run_id: Mapped[str | None] = mapped_column(String(256), nullable=True)


class ArtifactRow(Base):
    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("model_name", "version", "path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    # Relative to the artifact store root, e.g. "models/fraud/3/model.skops".
    path: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)


class PointerChangeRow(Base):
    """Every change of a stage pointer, for `riskops models history`."""

    __tablename__ = "pointer_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    from_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    percent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(256))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    manifest_version: Mapped[int] = mapped_column(Integer)


class ManifestRow(Base):
    """Every published manifest: the exact signed bytes and their signature."""

    __tablename__ = "manifests"

    manifest_version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    published_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # exact UTF-8 JSON that was signed
    signature: Mapped[str] = mapped_column(Text)  # base64 of the DER signature


class KeyStatementRow(Base):
    """One signed statement of the signing-key chain (``riskops.registry.keychain``)."""

    __tablename__ = "key_statements"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)  # exact signed JSON
    signatures: Mapped[str] = mapped_column(Text)  # JSON list of {key, signature}
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditEntryRow(Base):
    """One audit log entry; ``hash`` chains it to the entry before."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(256))
    data: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class ApiTokenRow(Base):
    """A token, stored as its SHA-256; it acts with every role of its user."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    # The user's roles when the token was made (for listings); rights come from the user.
    role: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    user_name: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)


# --- governance (migration 0004) -----------------------------------------------------


class UserRow(Base):
    """A person or a system; ``roles`` is a JSON list, sorted."""

    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    roles: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(256))
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ApprovalRow(Base):
    """One sign-off (``approve``) or veto (``reject``) of one version's exact artifacts."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    user_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    artifacts_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # "promotion" (a sign-off to go live) or "revalidation" (a validator's periodic one).
    purpose: Mapped[str] = mapped_column(String(16), default="promotion",
                                         server_default="promotion")


class InventoryRow(Base):
    """What the model-risk inventory records about one model (migration 0005).

    List fields are JSON lists of strings. The lifecycle state is never stored:
    it is derived from the registry and the approvals (``governance.lifecycle``).
    """

    __tablename__ = "model_inventory"

    model_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    tier: Mapped[str | None] = mapped_column(String(16), nullable=True)
    tier_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    purpose: Mapped[str] = mapped_column(Text, default="", server_default="")
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    intended_uses: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    out_of_scope_uses: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    limitations: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    business_line: Mapped[str] = mapped_column(String(256), default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str] = mapped_column(String(256))
    # JSON list of earlier owners: an owner stays too close to validate the model.
    former_owners: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    revalidation_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime(),
                                                                      nullable=True)


class BiasAuditRow(Base):
    """One bias audit of one version: its verdict and the whole report (JSON)."""

    __tablename__ = "bias_audits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    report: Mapped[str] = mapped_column(Text)
    artifacts_sha256: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


# --- events and jobs (migration 0002) ------------------------------------------------


class OutboxEventRow(Base):
    """One CloudEvents envelope, written in the transaction of the change it reports.

    ``seq`` orders delivery; ``id`` is the CloudEvents id consumers de-duplicate on.
    """

    __tablename__ = "event_outbox"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(128), index=True)
    source: Mapped[str] = mapped_column(String(256))
    subject: Mapped[str] = mapped_column(String(256), index=True)
    time: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    envelope: Mapped[str] = mapped_column(Text)  # the exact CloudEvents JSON


class EventDeliveryRow(Base):
    """Delivery state of one outbox event to one sink (log, webhook, amqp)."""

    __tablename__ = "event_deliveries"
    __table_args__ = (
        UniqueConstraint("event_seq", "sink"),
        Index("ix_event_deliveries_due", "sink", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_seq: Mapped[int] = mapped_column(ForeignKey("event_outbox.seq"), index=True)
    sink: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class JobRunRow(Base):
    """One run of a batch job.

    A scheduled run is claimed by inserting its (job, scheduled_for) slot: the
    unique constraint lets exactly one scheduler win it. Manual and message
    triggers leave ``scheduled_for`` empty. ``trigger_id`` is the trigger
    message's id (AMQP ``message_id`` / CloudEvents ``id``): a second copy of a
    message finds its run and is not run twice; ``attempts`` counts the starts
    of the run (a redelivery after a worker died starts it again).
    """

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "scheduled_for"), UniqueConstraint("trigger_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(128), index=True)
    scheduled_for: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    trigger: Mapped[str] = mapped_column(String(32))  # schedule | manual | message
    trigger_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # queued | running | succeeded | failed
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    owner: Mapped[str] = mapped_column(String(256))  # host:pid that ran it
    metadata_json: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON


# --- inference log, feedback and outcomes (migration 0002) ---------------------------


class PredictionRow(Base):
    """One served prediction, durable before its response is sent."""

    __tablename__ = "predictions"
    __table_args__ = (Index("ix_predictions_scenario_time", "scenario", "created_at"),
                      # Covers the SLO reads (storage.slo_counts): no row is read.
                      Index("ix_predictions_slo", "route", "created_at", "scenario", "method",
                            "latency_ms"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    tenant_id: Mapped[str] = mapped_column(String(128))
    scenario: Mapped[str] = mapped_column(String(64))
    model_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    model_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    manifest_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    method: Mapped[str] = mapped_column(String(16))  # ml | heuristic
    route: Mapped[str] = mapped_column(String(32))  # production | canary | pin | heuristic ...
    inputs: Mapped[str] = mapped_column(Text)  # JSON object of the submitted features
    score: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(64))
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    reasons: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    latency_ms: Mapped[float] = mapped_column(Float)


class FeedbackRow(Base):
    """A reviewer's verdict on a prediction: a label, an override, a severity."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prediction_id: Mapped[str] = mapped_column(ForeignKey("predictions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(256))
    label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    override: Mapped[bool] = mapped_column(Boolean, default=False)
    severity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)


class OutcomeRow(Base):
    """Ground truth for a prediction, for performance monitoring; the newest wins."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prediction_id: Mapped[str] = mapped_column(ForeignKey("predictions.id"), index=True)
    label: Mapped[str] = mapped_column(String(64))
    observed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(256))


# --- monitoring alert state (migration 0003) -----------------------------------------


class AlertStateRow(Base):
    """Where one monitored quantity stands: firing or not, and its current run of
    breaching or clean evaluations (``riskops.monitoring.alerts``).

    The key is (check, tenant, model, segment, feature, metric); ``segment`` and
    ``feature`` are ``""`` when the check has none, so the unique key holds.
    ``evaluated_at`` is the current-window end of the newest evaluation counted.
    """

    __tablename__ = "alert_state"
    __table_args__ = (UniqueConstraint("check_name", "tenant_id", "model_id", "segment",
                                       "feature", "metric", name="uq_alert_state_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    check_name: Mapped[str] = mapped_column(String(32))
    tenant_id: Mapped[str] = mapped_column(String(128))
    model_id: Mapped[str] = mapped_column(String(160), index=True)
    segment: Mapped[str] = mapped_column(String(256))
    feature: Mapped[str] = mapped_column(String(256))
    metric: Mapped[str] = mapped_column(String(64))
    firing: Mapped[bool] = mapped_column(Boolean)
    breaches: Mapped[int] = mapped_column(Integer)
    cleans: Mapped[int] = mapped_column(Integer)
    evaluated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


# --- governance automation (migration 0007) ------------------------------------------


class RuleStateRow(Base):
    """Where one automatic rule stands between evaluations (``riskops.governance``).

    ``key`` names the rule and its subject, e.g. ``rollback-budget:fraud`` or
    ``burn-fast:fraud:availability``. ``since`` is when the current breach began
    (``None``: not breaching); ``firing`` whether the rule's alert is raised, so
    an event is emitted once per breach, not once per evaluation.
    """

    __tablename__ = "rule_state"

    key: Mapped[str] = mapped_column(String(256), primary_key=True)
    since: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    firing: Mapped[bool] = mapped_column(Boolean, default=False)
    evaluated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    data: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")


class RuleFiringRow(Base):
    """One firing of an automatic rule, claimed by its unique ``key`` so a trigger is
    acted on once however many schedulers, workers or redeliveries see it.

    ``kind`` is ``rollback`` or ``retrain``; ``status`` what came of it (``acted``,
    ``alert-only``, ``not-eligible``, ``queued``, ``failed`` ...); ``data`` the
    numbers the rule saw (JSON).
    """

    __tablename__ = "rule_firings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(256), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    rule: Mapped[str] = mapped_column(String(64))
    fired_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(32))
    data: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")


class ModelFreezeRow(Base):
    """A model whose promotions are halted (``riskops freeze``, or an automatic rollback).

    One row per model while frozen; ``riskops unfreeze`` deletes it (the audit log
    keeps both).
    """

    __tablename__ = "model_freezes"

    model_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    frozen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    frozen_by: Mapped[str] = mapped_column(String(256))
    reason: Mapped[str] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class IncidentRow(Base):
    """What an automatic rollback did and why: the record ``riskops evidence`` includes.

    ``record`` is JSON: the timeline, the triggering numbers or feedback records
    with their predictions, and the versions before and after.
    """

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(128), index=True)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    rule: Mapped[str] = mapped_column(String(64))
    from_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    record: Mapped[str] = mapped_column(Text)


# --- monitoring history (migration 0008) ---------------------------------------------


class MonitoringPointRow(Base):
    """One monitored number of one run, for charts over time.

    ``check_name`` is ``data_drift``, ``prediction_drift`` or ``performance``;
    ``feature`` is ``""`` for performance; ``metric`` names the number (``psi``,
    ``z_score``, ``brier``, ``roc_auc`` ...); ``breach`` whether the run found it
    over its threshold. ``window_end`` is the end of the current window the run
    looked at (``--now``), ``ran_at`` the wall clock of the run.
    """

    __tablename__ = "monitoring_points"
    __table_args__ = (Index("ix_monitoring_points_model_window", "model_id", "window_end"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ran_at: Mapped[datetime] = mapped_column(UtcDateTime())
    window_end: Mapped[datetime] = mapped_column(UtcDateTime())
    tenant_id: Mapped[str] = mapped_column(String(128))
    model_id: Mapped[str] = mapped_column(String(160))
    check_name: Mapped[str] = mapped_column(String(32))
    feature: Mapped[str] = mapped_column(String(256))
    metric: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    breach: Mapped[bool] = mapped_column(Boolean)
