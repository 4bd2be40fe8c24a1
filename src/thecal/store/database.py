"""Where the database is and how to connect to it."""

import os
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

DATABASE_URL_ENV = "THECAL_DATABASE_URL"
READ_ONLY = "thecal_read_only"
"""Execution option: this connection only reads (SQLite: deferred BEGIN, no write lock)."""


def default_database_path() -> Path:
    """``<user data dir>/thecal/clinic.sqlite3`` (platformdirs)."""
    return Path(platformdirs.user_data_dir("thecal", appauthor=False)) / "clinic.sqlite3"


def database_url(explicit: str | None = None) -> str:
    """The explicit URL, else ``$THECAL_DATABASE_URL``, else the default SQLite file.
    ``postgresql://`` URLs get the psycopg (v3) driver."""
    url = explicit or os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{default_database_path()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``database_url(url)``. SQLite: the file's folder is created, WAL journal,
    foreign keys on, and every transaction starts with ``BEGIN IMMEDIATE`` so two writers
    serialise instead of failing late (the audit chain needs one writer at a time)."""
    resolved = database_url(url)
    parsed = make_url(resolved)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(resolved, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(resolved, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's default defers).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if parsed.database and parsed.database != ":memory:":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        # 8 MiB page cache per connection (SQLite's default is 2 MiB): a calendar page at
        # 100,000 patients reads ~100 refill rows by key; with the default it rereads their
        # pages from the OS on every request (2.4 -> 1.6 ms CPU per page, benchmarks/README.md).
        cursor.execute("PRAGMA cache_size=-8192")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # Readers (execution option READ_ONLY, set by SqlUnitOfWork.reader) take a deferred
        # BEGIN: under WAL they read a snapshot without the write lock, so concurrent page
        # loads do not queue behind each other or behind a writer.
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
