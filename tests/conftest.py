"""Shared fixtures.

Unit tests use SQLite and fakeredis. Integration tests use the real Redis
(``TASKQ_TEST_REDIS_URL``, a database of its own that is flushed around each
test) and real PostgreSQL (``TASKQ_TEST_POSTGRES_URL``; a scratch database is
created for the session). When a service is missing the test is skipped on a
laptop but fails under CI (``CI`` set), so a green CI run never hides one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from taskq import db
from taskq.config import Settings

CI = bool(os.environ.get("CI"))
REDIS_URL = os.environ.get("TASKQ_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
POSTGRES_URL = os.environ.get("TASKQ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
FIXTURE_PLUGINS = "tests.fixtures.tools"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TASKQ_* variable from the developer's shell leaks into a test."""
    for key in list(os.environ):
        if key.startswith("TASKQ_") and not key.startswith("TASKQ_TEST_"):
            monkeypatch.delenv(key, raising=False)


def _missing(service: str, exc: BaseException) -> None:
    message = f"{service} is not reachable: {exc}"
    if CI:
        pytest.fail(message + " (CI must run every test)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        _missing("Redis", exc)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def real_redis(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A scratch database on the test server, dropped at the end of the session."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin_url = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"taskq_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        _missing("PostgreSQL", exc)
    base, _, _ = POSTGRES_URL.rpartition("/")
    url = f"{base}/{name}"
    db.upgrade(Settings(database_url=url))
    yield url
    db.dispose_all()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE task_events, tasks"))
    engine.dispose()


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a test: everything under ``tmp_path``, fast timings."""
    data = tmp_path / "data"
    (data / "uploads").mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = {
        "data_dir": data,
        "plugins": FIXTURE_PLUGINS,
        "retry_base": 0.2,
        "retry_cap": 1.0,
        "cancel_grace": 3.0,
        "shutdown_grace": 3.0,
        "heartbeat_interval": 1.0,
        "progress_interval": 0.2,
        "input_roots": (data / "uploads", Path(__file__).parent.parent / "taskq" / "samples"),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """SQLite + fakeredis-ready settings (unit tests)."""
    s = make_settings(tmp_path)
    yield s
    db.dispose_all()


@pytest.fixture
def fake_redis() -> Any:
    import fakeredis

    return fakeredis.FakeRedis()


@pytest.fixture
def client(settings: Settings, fake_redis: Any) -> Any:
    from taskq.api import TaskQ

    return TaskQ(settings, redis_connection=fake_redis)


@pytest.fixture
def uploads(settings: Settings) -> Path:
    return settings.data_dir / "uploads"


@pytest.fixture
def small_csv(uploads: Path) -> Path:
    path = uploads / "people.csv"
    rows = ["id,name,email,age"] + [f"{i},Person {i},p{i}@example.com,{20 + i % 50}" for i in range(200)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> Iterator[Settings]:
    """Settings on real Redis and, in turn, SQLite and PostgreSQL (integration tests)."""
    import redis

    overrides: dict[str, Any] = {"redis_url": redis_url}
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        _truncate(url)
        overrides["database_url"] = url
    s = make_settings(tmp_path, **overrides)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield s
    client.flushdb()
    client.close()
    db.dispose_all()
