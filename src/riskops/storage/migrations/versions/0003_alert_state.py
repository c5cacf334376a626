"""monitoring alert state

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 08:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_state",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("check_name", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("model_id", sa.String(length=160), nullable=False),
        sa.Column("segment", sa.String(length=256), nullable=False),
        sa.Column("feature", sa.String(length=256), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("firing", sa.Boolean(), nullable=False),
        sa.Column("breaches", sa.Integer(), nullable=False),
        sa.Column("cleans", sa.Integer(), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("check_name", "tenant_id", "model_id", "segment", "feature",
                            "metric", name="uq_alert_state_key"),
    )
    op.create_index(op.f("ix_alert_state_model_id"), "alert_state", ["model_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_alert_state_model_id"), table_name="alert_state")
    op.drop_table("alert_state")
