"""Engine and session handling for the task database.

One engine per (process, URL): a forked RQ work horse never reuses its parent's
pooled connections (it gets a fresh engine and leaves the parent's sockets
alone). SQLite runs in WAL mode with ``BEGIN IMMEDIATE`` transactions so many
worker processes can share one file; it is upgraded to the newest schema on
first use. PostgreSQL is upgraded explicitly with ``taskq db upgrade``.

Driver errors that mean "the database is not reachable" are raised as
:class:`~taskq.errors.DatabaseUnavailable` (transient) by :func:`session_scope`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from .config import Settings, redact_url
from .errors import DatabaseUnavailable

__all__ = ["engine_for", "session_scope", "upgrade", "current_revision"]

log = logging.getLogger(__name__)

_lock = threading.Lock()
_engines: dict[str, tuple[int, Engine, sessionmaker[Session]]] = {}
_upgraded: set[str] = set()


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # No pool: a connection is closed as soon as its session ends. A process must not
        # fork with an SQLite connection open: the child inherits SQLite's record of the
        # parent's locks (POSIX locks themselves are not inherited), believes it holds the
        # WAL index's DMS lock and holds none; another process then thinks itself the last
        # user, checkpoints and deletes the WAL under the child, and the child's commits are
        # lost. RQ forks a work horse per job from a process that has just used the database.
        pool = {} if path in ("", ":memory:") else {"poolclass": NullPool}
        engine = create_engine(url, connect_args={"timeout": 30, "isolation_level": None}, **pool)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        pool_recycle=1800,
        connect_args={"connect_timeout": 5},
    )


def engine_for(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    """The engine and session factory for ``settings``' database in this process."""
    url = settings.sqlalchemy_url
    pid = os.getpid()
    with _lock:
        cached = _engines.get(url)
        if cached is not None and cached[0] == pid:
            return cached[1], cached[2]
        if cached is not None:
            # Inherited through fork: forget the parent's connections without closing them.
            cached[1].dispose(close=False)
        engine = _make_engine(url)
        factory = sessionmaker(engine, expire_on_commit=False)
        _engines[url] = (pid, engine, factory)
    if url.startswith("sqlite") and url not in _upgraded:
        upgrade(settings)
    return engine, factory


def dispose_all() -> None:
    """Close every engine of this process (tests, shutdown)."""
    with _lock:
        for pid, engine, _ in _engines.values():
            if pid == os.getpid():
                engine.dispose()
            else:
                engine.dispose(close=False)
        _engines.clear()


@contextmanager
def session_scope(settings: Settings) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error."""
    _, factory = engine_for(settings)
    session = factory()
    try:
        yield session
        session.commit()
    except (OperationalError, DBAPIError) as exc:
        session.rollback()
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            raise DatabaseUnavailable(
                f"task database unavailable ({redact_url(settings.sqlalchemy_url)}): {_first_line(exc)}"
            ) from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _alembic_config(settings: Settings) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["taskq_settings"] = settings
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> str | None:
    """Bring the database schema to ``revision``; returns the revision now current."""
    from alembic import command

    url = settings.sqlalchemy_url
    try:
        with _sqlite_upgrade_lock(url):
            command.upgrade(_alembic_config(settings), revision)
    except OperationalError as exc:
        raise DatabaseUnavailable(f"cannot upgrade {redact_url(url)}: {_first_line(exc)}") from exc
    _upgraded.add(url)
    return current_revision(settings)


@contextmanager
def _sqlite_upgrade_lock(url: str) -> Iterator[None]:
    """Serialise schema upgrades of one SQLite file across processes.

    A worker, its maintenance process and the API may all open a new SQLite file
    at once; two concurrent migrations (and their journal-mode switch) fail with
    "database is locked". PostgreSQL needs no lock here: its DDL is transactional.
    """
    path = url.split("///", 1)[-1] if url.startswith("sqlite") else ""
    if not path or path == ":memory:":
        yield
        return
    import fcntl

    lock_path = Path(path).with_name(Path(path).name + ".upgrade-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def current_revision(settings: Settings) -> str | None:
    """The schema revision the database is at (None: not created yet)."""
    engine = _make_engine(settings.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
            return row[0] if row else None
    except OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot read {redact_url(settings.sqlalchemy_url)}: {_first_line(exc)}"
        ) from exc
    finally:
        engine.dispose()
