"""Engines, migrations and transactions.

``write_transaction`` is the only way registry state changes: it serialises
writers (``BEGIN IMMEDIATE`` on SQLite, a transaction-level advisory lock on
PostgreSQL) so the audit chain and manifest versions stay strictly ordered.
``transaction`` and ``write_connection`` are plain write transactions without
the registry lock, for the outbox, the inference log, feedback and outcomes.

Code outside ``storage`` names sessions and catches database errors through
this module (``Session``, ``DatabaseError``), never through SQLAlchemy itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import (
    ArgumentError,
    NoSuchModuleError,
    OperationalError,
    ProgrammingError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session

from riskops.errors import InputError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The newest migration. Kept here so an up-to-date database is recognised
# without importing Alembic (a test checks it against the migration scripts).
SCHEMA_HEAD = "0008"
#: Seconds a new PostgreSQL connection may take (libpq ``connect_timeout``).
PG_CONNECT_TIMEOUT = 5
# Arbitrary constant naming riskops' registry lock among PostgreSQL advisory locks.
_PG_WRITE_LOCK = 0x7269736B6F7073  # "riskops"
_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()

#: Base of every error the database layer raises (SQLAlchemy's ``SQLAlchemyError``).
DatabaseError = SQLAlchemyError


#: Values per ``IN (...)`` list: far below every backend's bound-parameter limit.
IN_CHUNK = 500


def in_chunks(values: Sequence[Any]) -> Iterator[list[Any]]:
    """``values`` in lists of at most ``IN_CHUNK``, one per ``IN (...)`` query."""
    for start in range(0, len(values), IN_CHUNK):
        yield list(values[start:start + IN_CHUNK])


def get_engine(url: str) -> Engine:
    """A cached engine for ``url`` with riskops' connection settings (one per URL, also
    when threads ask for it at once)."""
    engine = _ENGINES.get(url)
    if engine is not None:
        return engine
    with _ENGINES_LOCK:
        if url not in _ENGINES:
            _ENGINES[url] = _create_engine(url)
        return _ENGINES[url]


def dispose_engines() -> None:
    """Close every cached engine; a background thread may be creating one meanwhile."""
    with _ENGINES_LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
    for engine in engines:
        engine.dispose()


def _create_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30})
            _configure_sqlite(engine)
        elif url.startswith("postgresql"):
            # A server that does not answer (a partition, not a refusal) fails a new
            # connection after PG_CONNECT_TIMEOUT seconds instead of hanging the request
            # or the inference log's writer; ?connect_timeout= in the URL wins.
            connect = {} if "connect_timeout=" in url else {"connect_timeout":
                                                            PG_CONNECT_TIMEOUT}
            engine = create_engine(url, pool_pre_ping=True, connect_args=connect)
        else:
            raise InputError(
                f"database URL scheme of {_redact(url)!r} is not supported; "
                "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB."
            )
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        # ValueError: SQLAlchemy's URL parser rejects e.g. a non-numeric port with it.
        raise InputError(
            f"database URL {_redact(url)!r} is malformed: {_one_line(exc)}."
        ) from None
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy emit BEGIN itself (pysqlite's own handling defers it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("riskops_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def _redact(url: str) -> str:
    """The URL without its password, for error messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


def _one_line(exc: BaseException) -> str:
    """A driver's message on one line (libpq adds a tab-indented hint line)."""
    return " ".join(str(exc).split()).rstrip(".")


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str) -> bool:
    """Bring the database at ``url`` to the newest schema; True if anything ran."""
    engine = get_engine(url)
    try:
        with engine.connect() as conn:
            if _current_revision(conn) == SCHEMA_HEAD:
                return False
            from alembic import command

            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.commit()
    except OperationalError as exc:
        raise InputError(
            f"cannot reach the database at {_redact(url)}: {_one_line(exc.orig)}; "
            "check RISKOPS_DATABASE_URL or [database] url in riskops.toml."
        ) from None
    return True


def _current_revision(conn: Connection) -> str | None:
    try:
        with conn.begin_nested() if conn.in_transaction() else conn.begin():
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError) as exc:
        if "alembic_version" in str(exc.orig):
            return None
        raise


@contextmanager
def read_session(url: str) -> Iterator[Session]:
    """A session for reading; nothing it does is committed."""
    with Session(get_engine(url)) as session:
        yield session


@contextmanager
def write_transaction(url: str) -> Iterator[Session]:
    """One serialised write transaction; commits on success, rolls back on error."""
    with transaction(url) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_WRITE_LOCK})
        yield session


@contextmanager
def transaction(url: str) -> Iterator[Session]:
    """A plain write transaction (no registry lock); commits on success.

    On SQLite it starts with ``BEGIN IMMEDIATE`` so concurrent writers queue on
    the busy timeout instead of failing to upgrade a read lock.
    """
    conn = get_engine(url).connect().execution_options(riskops_write=True)
    try:
        with conn.begin(), Session(bind=conn) as session:
            yield session
            session.flush()
    finally:
        conn.close()


@contextmanager
def write_connection(url: str) -> Iterator[Connection]:
    """One plain write transaction on a Core connection (``BEGIN IMMEDIATE`` on SQLite,
    no registry lock), committed on exit and rolled back on error."""
    with get_engine(url).connect() as conn:
        conn = conn.execution_options(riskops_write=True)
        with conn.begin():
            yield conn
