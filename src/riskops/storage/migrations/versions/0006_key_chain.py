"""signing-key chain: root, rotation and revocation statements

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 18:10:00.000000

``key_statements`` holds the signed statements that say which keys may sign
manifests (see ``riskops.registry.keychain``): the root key recorded at
``riskops init``, each rotation (signed by the old and the new key) and each
revocation. ``body`` is the exact signed JSON; ``signatures`` a JSON list of
``{key, signature}`` (base64 DER).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_statements",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signatures", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )


def downgrade() -> None:
    op.drop_table("key_statements")
