"""monitoring history: one row per monitored number per run

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 22:00:00.000000

``monitoring_points`` keeps, for every monitoring run, the numbers a person
charts over time: PSI and drift score per feature, prediction drift, and the
performance metrics (realised or estimated), keyed by the current window's end.
``monitoring/last-run.json`` keeps only the newest run; the console's charts
and ``GET /console/api/monitoring`` read this table.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitoring_points",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("model_id", sa.String(length=160), nullable=False),
        sa.Column("check_name", sa.String(length=32), nullable=False),
        sa.Column("feature", sa.String(length=256), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("breach", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_monitoring_points_model_window", "monitoring_points",
                    ["model_id", "window_end"])


def downgrade() -> None:
    op.drop_index("ix_monitoring_points_model_window", table_name="monitoring_points")
    op.drop_table("monitoring_points")
