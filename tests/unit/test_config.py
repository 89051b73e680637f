from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from taskq.config import Settings, redact_url
from taskq.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults() -> None:
    s = Settings()
    assert s.redis_url == "redis://127.0.0.1:6379/0"
    assert s.data_dir == Path("./.taskq")
    assert s.sqlalchemy_url.startswith("sqlite:///") and s.sqlalchemy_url.endswith("taskq.db")
    assert (s.queue_for("profile-my-data"), s.queue_for("clean-my-data"), s.queue_for("master-my-data")) == (
        "profile",
        "clean",
        "master",
    )
    assert (
        s.timeout_for("profile-my-data"),
        s.timeout_for("clean-my-data"),
        s.timeout_for("master-my-data"),
    ) == (
        1200,
        1800,
        2400,
    )
    assert (s.max_attempts, s.retry_base, s.retry_cap) == (3, 10.0, 600.0)
    assert s.cancel_grace == 10.0


def test_from_env_parses_and_overrides() -> None:
    s = Settings.from_env(
        {"TASKQ_MAX_ATTEMPTS": "5", "TASKQ_QUEUE_MASTER": "big", "TASKQ_INPUT_ROOTS": "/a, /b"}
    )
    assert s.max_attempts == 5
    assert s.queue_for("master-my-data") == "big"
    assert s.input_roots == (Path("/a"), Path("/b"))
    assert replace(s, max_attempts=1).max_attempts == 1


@pytest.mark.parametrize(
    ("key", "value"),
    [("TASKQ_MAX_ATTEMPTS", "three"), ("TASKQ_RETRY_BASE", "-1"), ("TASKQ_LOG_FORMAT", "xml")],
)
def test_bad_values_name_the_variable(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        Settings.from_env({key: value})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("TASKQ_REDIS_URL", "notaurl"),
        ("TASKQ_REDIS_URL", "http://x"),
        ("TASKQ_REDIS_URL", "127.0.0.1:6379"),
        ("TASKQ_DATABASE_URL", "notaurl"),
        ("TASKQ_DATABASE_URL", "mysql://u@db/x"),
        # QA: these passed the scheme check and were tracebacks later (or db 0, silently).
        ("TASKQ_REDIS_URL", "redis://127.0.0.1:notaport/8"),
        ("TASKQ_REDIS_URL", "redis://127.0.0.1:99999/8"),
        ("TASKQ_REDIS_URL", "redis:/127.0.0.1"),
        ("TASKQ_REDIS_URL", "REDIS://127.0.0.1:6379/8"),
        ("TASKQ_REDIS_URL", "redis://127.0.0.1:6379/abc"),
        ("TASKQ_DATABASE_URL", "sqlite:relative.db"),
        ("TASKQ_DATABASE_URL", "postgresql://u:pw@localhost:notaport/db"),
        ("TASKQ_DATABASE_URL", "SQLITE:////tmp/x.db"),
    ],
)
def test_bad_urls_name_the_variable(key: str, value: str) -> None:
    # QA: they were tracebacks from redis-py or SQLAlchemy, after submit had stored the task.
    with pytest.raises(ConfigError, match=key):
        Settings.from_env({key: value})


def test_good_urls_pass_and_passwords_stay_out_of_errors() -> None:
    for url in (
        "redis://h:6379/0",
        "redis://h",
        "rediss://:pw@h/1",
        "unix:///run/redis.sock",
        "redis://h/2?x=1",
    ):
        assert Settings.from_env({"TASKQ_REDIS_URL": url}).redis_url == url
    for url in (
        "",
        "sqlite://",
        "sqlite:////tmp/x.db",
        "postgresql://u:pw@db/x",
        "postgresql+psycopg://u@db/x",
    ):
        assert Settings.from_env({"TASKQ_DATABASE_URL": url}).database_url == url
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"TASKQ_DATABASE_URL": "mysql://u:s3cret@db/x"})
    assert "s3cret" not in str(caught.value)


def test_env_example_lists_every_setting_with_its_default() -> None:
    text = (ROOT / ".env.example").read_text()
    found = dict(re.findall(r"^#?\s*(TASKQ_[A-Z_]+)=(.*)$", text, flags=re.M))
    documented = {name: default for name, default, _ in Settings.documented()}
    assert found == documented


def test_passwords_are_redacted() -> None:
    assert redact_url("redis://:s3cret@host:6379/0") == "redis://:***@host:6379/0"
    assert redact_url("postgresql://u:pw@db/x") == "postgresql://u:***@db/x"
    assert redact_url("redis://host") == "redis://host"
    s = Settings(redis_url="redis://:s3cret@h/0", database_url="postgresql://u:pw@db/x")
    assert "s3cret" not in str(s.redacted()) and "pw@" not in str(s.redacted())
