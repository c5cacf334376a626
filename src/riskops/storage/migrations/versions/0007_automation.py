"""governance automation: rule state, rule firings, model freezes, incidents

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 23:00:00.000000

``rule_state`` keeps where each automatic rule stands between evaluations (a
breach's start, whether its alert is raised); ``rule_firings`` claims each
firing once by a unique key; ``model_freezes`` holds the models whose
promotions are halted; ``incidents`` the record of each automatic rollback.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_state",
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("firing", sa.Boolean(), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("data", sa.Text(), server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "rule_firings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("data", sa.Text(), server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_rule_firings_kind", "rule_firings", ["kind"])
    op.create_index("ix_rule_firings_model_name", "rule_firings", ["model_name"])
    op.create_table(
        "model_freezes",
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frozen_by", sa.String(length=256), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("model_name"),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=True),
        sa.Column("to_version", sa.Integer(), nullable=True),
        sa.Column("record", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_incidents_model_name", "incidents", ["model_name"])
    # Covers the SLO reads (storage.slo_counts): model-routed requests in a time window.
    op.create_index("ix_predictions_slo", "predictions",
                    ["route", "created_at", "scenario", "method", "latency_ms"])


def downgrade() -> None:
    op.drop_index("ix_predictions_slo", table_name="predictions")
    op.drop_index("ix_incidents_model_name", table_name="incidents")
    op.drop_table("incidents")
    op.drop_table("model_freezes")
    op.drop_index("ix_rule_firings_model_name", table_name="rule_firings")
    op.drop_index("ix_rule_firings_kind", table_name="rule_firings")
    op.drop_table("rule_firings")
    op.drop_table("rule_state")
