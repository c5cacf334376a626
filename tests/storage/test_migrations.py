"""Alembic migrations: the recorded head, automatic upgrade, a clean round trip."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from riskops.storage import db
from riskops.storage.tables import Base


def test_schema_head_constant_matches_the_migration_scripts() -> None:
    script = ScriptDirectory.from_config(db.alembic_config("sqlite://"))
    assert script.get_current_head() == db.SCHEMA_HEAD


def test_migrate_creates_every_table_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert db.migrate(url) is True
    assert db.migrate(url) is False  # already at head: nothing runs
    tables = set(sa.inspect(db.get_engine(url)).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migrations_match_the_models(tmp_path: Path) -> None:
    """No drift between tables.py and the migration scripts (autogenerate finds nothing)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    url = f"sqlite:///{tmp_path / 'x.db'}"
    db.migrate(url)
    with db.get_engine(url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_downgrade_then_upgrade_round_trip(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    db.migrate(url)
    cfg = db.alembic_config(url)
    command.downgrade(cfg, "base")
    assert set(sa.inspect(sa.create_engine(url)).get_table_names()) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    assert "audit_log" in sa.inspect(sa.create_engine(url)).get_table_names()
