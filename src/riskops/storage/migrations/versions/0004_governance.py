"""governance: users, token owners, approvals, bias audits

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 13:40:00.000000

Every token made before users existed gets a user of the same name holding
the token's role, so ``riskops token create --name N --role R`` tokens keep
working and the audit actor stays ``N``.
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("user_name", sa.String(length=128), nullable=True))
        batch.create_index("ix_api_tokens_user_name", ["user_name"], unique=False)
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("artifacts_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_approvals_model_name", "approvals", ["model_name"], unique=False)
    op.create_table(
        "bias_audits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("artifacts_sha256", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bias_audits_model_name", "bias_audits", ["model_name"], unique=False)

    conn = op.get_bind()
    tokens = sa.table("api_tokens", sa.column("name", sa.String), sa.column("role", sa.String),
                      sa.column("user_name", sa.String))
    users = sa.table("users", sa.column("name", sa.String), sa.column("roles", sa.Text),
                     sa.column("created_at", sa.DateTime(timezone=True)),
                     sa.column("created_by", sa.String))
    now = datetime.now(UTC)
    for name, role in conn.execute(sa.select(tokens.c.name, tokens.c.role)).all():
        conn.execute(users.insert().values(name=name, roles=json.dumps([role]), created_at=now,
                                           created_by="migration 0004"))
        conn.execute(tokens.update().where(tokens.c.name == name).values(user_name=name))


def downgrade() -> None:
    op.drop_index("ix_bias_audits_model_name", table_name="bias_audits")
    op.drop_table("bias_audits")
    op.drop_index("ix_approvals_model_name", table_name="approvals")
    op.drop_table("approvals")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index("ix_api_tokens_user_name")
        batch.drop_column("user_name")
    op.drop_table("users")
