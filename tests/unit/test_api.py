"""The facade on SQLite + fakeredis: submit, idempotency, cancel, retry, bad input."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pytest
import redis
from rq.registry import ScheduledJobRegistry

from taskq import queues
from taskq.api import TaskQ
from taskq.config import Settings
from taskq.errors import (
    InputNotAllowed,
    InputNotFound,
    InvalidParams,
    TaskNotCancellable,
    TaskNotFound,
    TaskNotRetryable,
    UnknownTool,
)


def _job_payload(fake_redis: Any, task_id: str) -> dict[str, Any]:
    raw = fake_redis.hgetall(f"rq:job:{task_id}")
    return {k.decode(): v for k, v in raw.items()}


def test_submit_stores_row_then_enqueues_with_task_id(
    client: TaskQ, small_csv: Path, fake_redis: Any
) -> None:
    info = client.submit("profile", small_csv, user_id="u1")
    assert info.status == "QUEUED"
    assert info.task["tool"] == "profile-my-data" and info.task["queue"] == "profile"
    assert fake_redis.lrange("rq:queue:profile", 0, -1) == [info.id.encode()]
    job = _job_payload(fake_redis, info.id)
    # JSON serializer: the job's data decodes as JSON and holds only the task id.
    func, instance, args, kwargs = json.loads(zlib.decompress(job["data"]))
    assert (func, args, kwargs) == ("taskq.runner.run_task", [info.id], {})
    events = client.get(info.id).events
    assert [(e["from"], e["to"]) for e in events] == [(None, "CREATED"), ("CREATED", "QUEUED")]


def test_idempotent_submit_returns_the_same_task(client: TaskQ, small_csv: Path, fake_redis: Any) -> None:
    a = client.submit("profile", small_csv, user_id="u1", idempotency_key="k1")
    b = client.submit("profile-my-data", small_csv, user_id="u1", idempotency_key="k1")
    c = client.submit("profile", small_csv, user_id="u2", idempotency_key="k1")
    assert a.id == b.id != c.id
    assert fake_redis.llen("rq:queue:profile") == 2
    with pytest.raises(InvalidParams, match="already used"):
        client.submit("clean", small_csv, user_id="u1", idempotency_key="k1")


def test_submit_with_redis_down_keeps_the_row(settings: Settings, small_csv: Path) -> None:
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    info = TaskQ(settings, redis_connection=down).submit("clean", small_csv)
    assert info.status == "CREATED"
    assert info.warnings and "REDIS_UNAVAILABLE" in info.warnings[0]
    assert TaskQ(settings, redis_connection=down).get(info.id).status == "CREATED"


@pytest.mark.parametrize(
    ("tool", "params", "error"),
    [
        ("nope", None, UnknownTool),
        ("test-steps", {"bogus": 1}, InvalidParams),
        ("test-steps", ["not", "a", "dict"], InvalidParams),
    ],
)
def test_bad_submits_store_nothing(
    client: TaskQ, small_csv: Path, tool: str, params: Any, error: type
) -> None:
    with pytest.raises(error):
        client.submit(tool, small_csv, params)
    assert client.list() == []


def test_input_must_exist_and_stay_inside_the_roots(client: TaskQ, uploads: Path, tmp_path: Path) -> None:
    with pytest.raises(InputNotFound):
        client.submit("profile", uploads / "missing.csv")
    outside = tmp_path / "secret.csv"
    outside.write_text("a\n1\n")
    with pytest.raises(InputNotAllowed):
        client.submit("profile", outside)
    with pytest.raises(InputNotAllowed):
        client.submit("profile", uploads / ".." / ".." / "secret.csv")
    link = uploads / "link.csv"
    link.symlink_to(outside)
    with pytest.raises(InputNotAllowed):
        client.submit("profile", link)
    assert client.list() == []


def test_cancel_queued_removes_the_job(client: TaskQ, small_csv: Path, fake_redis: Any) -> None:
    info = client.submit("profile", small_csv)
    cancelled = client.cancel(info.id)
    assert cancelled.status == "CANCELLED"
    assert fake_redis.llen("rq:queue:profile") == 0
    assert queues.job_state(info.id, fake_redis) is None
    with pytest.raises(TaskNotCancellable) as err:
        client.cancel(info.id)
    assert err.value.code == "TASK_NOT_CANCELLABLE"


def test_cancel_unknown(client: TaskQ) -> None:
    with pytest.raises(TaskNotFound):
        client.cancel("0000")


def test_retry_only_ended_tasks_and_keeps_history(client: TaskQ, small_csv: Path, fake_redis: Any) -> None:
    info = client.submit("profile", small_csv)
    with pytest.raises(TaskNotRetryable) as err:
        client.retry(info.id)
    assert err.value.code == "TASK_NOT_RETRYABLE"
    client.cancel(info.id)
    again = client.retry(info.id)
    assert again.status == "QUEUED"
    assert again.task["attempt"] == 2 and again.task["max_attempts"] == 4
    assert [e["to"] for e in again.events] == ["CREATED", "QUEUED", "CANCELLED", "QUEUED"]
    assert fake_redis.lrange("rq:queue:profile", 0, -1) == [info.id.encode()]


def test_list_filters(client: TaskQ, small_csv: Path) -> None:
    a = client.submit("profile", small_csv, user_id="u1")
    client.submit("clean", small_csv, user_id="u2")
    client.cancel(a.id)
    assert [t.id for t in client.list(status="cancelled")] == [a.id]
    assert [t.task["tool"] for t in client.list(tool="clean")] == ["clean-my-data"]
    assert [t.task["user_id"] for t in client.list(user_id="u1")] == ["u1"]


def test_dispatch_schedules_in_the_future(
    settings: Settings, fake_redis: Any, client: TaskQ, small_csv: Path
) -> None:
    from datetime import timedelta

    from taskq.models import utcnow

    info = client.submit("profile", small_csv)
    client.cancel(info.id)

    class Row:
        id, tool, queue = info.id, "profile-my-data", "profile"

    queues.dispatch(settings, fake_redis, Row, at=utcnow() + timedelta(seconds=60))
    assert (
        info.id
        in ScheduledJobRegistry("profile", connection=fake_redis, serializer=queues.SERIALIZER).get_job_ids()
    )
