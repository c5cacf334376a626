"""model inventory: metadata per model, retirement, re-validation sign-offs

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 16:30:00.000000

``model_inventory`` holds what a model-risk team records about a model
(owner and former owners, risk tier, purpose, uses, limitations, business
line) and when the last re-validation reminder went out. Retirement is
registry state, so it lives on ``models``: ``retired_at`` while retired,
``last_retired_at`` for good (sign-offs older than it never count again).
An approval row gains ``purpose``: ``promotion`` (the sign-offs a version
needs to go live) or ``revalidation`` (a validator's periodic re-validation
of a live model).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_inventory",
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("tier", sa.String(length=16), nullable=True),
        sa.Column("tier_reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("purpose", sa.Text(), nullable=False, server_default=""),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("intended_uses", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("out_of_scope_uses", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("limitations", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("business_line", sa.String(length=256), nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=256), nullable=False),
        sa.Column("former_owners", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("revalidation_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("model_name"),
    )
    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("retired_by", sa.String(length=256), nullable=True))
        batch.add_column(sa.Column("retired_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("last_retired_at", sa.DateTime(timezone=True),
                                   nullable=True))
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("purpose", sa.String(length=16), nullable=False,
                                   server_default="promotion"))


def downgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("purpose")
    with op.batch_alter_table("models") as batch:
        batch.drop_column("last_retired_at")
        batch.drop_column("retired_reason")
        batch.drop_column("retired_by")
        batch.drop_column("retired_at")
    op.drop_table("model_inventory")
