"""Maintenance passes on SQLite + fakeredis."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import redis

from taskq import maintenance, queues
from taskq.api import TaskQ
from taskq.config import Settings
from taskq.db import session_scope
from taskq.lifecycle import TaskStatus, transition
from taskq.models import Task, utcnow


def _age(settings: Settings, task_id: str, seconds: float, *columns: str) -> None:
    with session_scope(settings) as s:
        task = s.get(Task, task_id)
        for column in columns:
            setattr(task, column, utcnow() - timedelta(seconds=seconds))


def test_relay_dispatches_tasks_submitted_while_redis_was_down(
    settings: Settings, fake_redis: Any, small_csv: Path
) -> None:
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    info = TaskQ(settings, redis_connection=down).submit("profile", small_csv)
    _age(settings, info.id, 10, "created_at", "updated_at")
    report = maintenance.run_pass(settings, fake_redis)
    assert report.relayed == [info.id]
    assert TaskQ(settings, fake_redis).get(info.id).status == "QUEUED"
    assert fake_redis.lrange("rq:queue:profile", 0, -1) == [info.id.encode()]
    assert not maintenance.run_pass(settings, fake_redis).relayed


def test_reconcile_rebuilds_an_empty_redis(
    settings: Settings, fake_redis: Any, client: TaskQ, small_csv: Path
) -> None:
    ids = [client.submit("clean", small_csv).id for _ in range(5)]
    fake_redis.flushall()
    for task_id in ids:
        _age(settings, task_id, 10, "updated_at")
    report = maintenance.run_pass(settings, fake_redis)
    assert sorted(report.reconciled) == sorted(ids)
    assert sorted(fake_redis.lrange("rq:queue:clean", 0, -1)) == sorted(i.encode() for i in ids)
    assert not maintenance.run_pass(settings, fake_redis).reconciled  # jobs are live now


def test_recover_reruns_a_task_whose_worker_died(
    settings: Settings, fake_redis: Any, client: TaskQ, small_csv: Path
) -> None:
    info = client.submit("profile", small_csv)
    with session_scope(settings) as s:
        transition(
            s, info.id, TaskStatus.PROCESSING, reason="picked up", worker="dead-worker", heartbeat_at=utcnow()
        )
    assert not maintenance.run_pass(settings, fake_redis).recovered
    _age(settings, info.id, settings.heartbeat_timeout + 5, "heartbeat_at")
    report = maintenance.run_pass(settings, fake_redis)
    assert report.recovered == {info.id: "RETRYING"}
    task = client.get(info.id).task
    assert (task["attempt"], task["error_code"]) == (2, "WORKER_LOST")
    assert queues.job_state(info.id, fake_redis) in (queues.JobStatus.SCHEDULED, queues.JobStatus.QUEUED)


def test_recover_fails_with_worker_lost_when_attempts_are_used(
    settings: Settings, fake_redis: Any, client: TaskQ, small_csv: Path
) -> None:
    info = client.submit("profile", small_csv)
    with session_scope(settings) as s:
        s.get(Task, info.id).attempt = 3
        transition(
            s,
            info.id,
            TaskStatus.PROCESSING,
            reason="picked up",
            worker="dead",
            heartbeat_at=utcnow() - timedelta(hours=1),
        )
    assert maintenance.run_pass(settings, fake_redis).recovered == {info.id: "FAILED"}
    assert client.get(info.id).task["error_code"] == "WORKER_LOST"


def test_recover_honours_a_pending_cancel(
    settings: Settings, fake_redis: Any, client: TaskQ, small_csv: Path
) -> None:
    info = client.submit("profile", small_csv)
    with session_scope(settings) as s:
        transition(
            s,
            info.id,
            TaskStatus.PROCESSING,
            reason="picked up",
            worker="dead",
            heartbeat_at=utcnow() - timedelta(hours=1),
        )
    client.cancel(info.id)
    assert maintenance.run_pass(settings, fake_redis).recovered == {info.id: "CANCELLED"}


def test_expire_created_and_queued(
    settings: Settings, fake_redis: Any, client: TaskQ, small_csv: Path
) -> None:
    queued = client.submit("profile", small_csv)
    _age(settings, queued.id, settings.expire_queued_after + 1, "queued_at")
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    created = TaskQ(settings, redis_connection=down).submit("profile", small_csv)
    _age(settings, created.id, settings.expire_created_after + 1, "created_at")
    report = maintenance.PassReport()
    maintenance.expire(settings, fake_redis, report, "test")
    assert sorted(report.expired) == sorted([queued.id, created.id])
    assert client.get(queued.id).task["error_code"] == "EXPIRED"
    assert fake_redis.llen("rq:queue:profile") == 0
    assert client.retry(queued.id).status == "QUEUED"


def test_old_outputs_are_removed(settings: Settings, fake_redis: Any, client: TaskQ, small_csv: Path) -> None:
    import os

    info = client.submit("profile", small_csv)
    client.cancel(info.id)
    out = Path(client.get(info.id).task["output_dir"])
    out.mkdir(parents=True)
    (out / "x").write_text("1")
    old = (utcnow() - timedelta(seconds=settings.output_retention + 10)).timestamp()
    os.utime(out, (old, old))
    _age(settings, info.id, settings.output_retention + 10, "finished_at")
    report = maintenance.PassReport()
    maintenance.remove_old_outputs(settings, report)
    assert report.outputs_removed == 1 and not out.exists()


def test_only_one_lock_holder(settings: Settings, fake_redis: Any) -> None:
    a = maintenance._Lock(fake_redis, ttl=10)
    b = maintenance._Lock(fake_redis, ttl=10)
    assert a.acquire_or_renew() and not b.acquire_or_renew()
    assert a.acquire_or_renew()  # renew
    a.release()
    assert b.acquire_or_renew()


def test_queue_stats_give_the_oldest_waiting_jobs_age(
    settings: Settings, fake_redis: Any, client: TaskQ, small_csv: Path
) -> None:
    from taskq.health import queue_stats

    client.submit("profile", small_csv)
    stats = {q["queue"]: q for q in queue_stats(settings, fake_redis)}
    assert stats["profile"]["depth"] == 1 and stats["profile"]["oldest_age_s"] is not None
    assert stats["clean"]["depth"] == 0 and stats["clean"]["oldest_age_s"] is None


def test_a_worker_registers_again_after_redis_lost_its_registration(
    settings: Settings, fake_redis: Any
) -> None:
    from rq import Worker

    from taskq.worker import TaskqWorker

    worker = TaskqWorker(["profile"], settings=settings, connection=fake_redis, name="w-flushed")
    worker.register_birth()
    assert [w.name for w in Worker.all(connection=fake_redis)] == ["w-flushed"]
    fake_redis.flushdb()  # Redis restarted empty
    worker.heartbeat()
    assert [w.name for w in Worker.all(connection=fake_redis)] == ["w-flushed"]
    assert [w.name for w in Worker.all(queue=queues.queue("profile", fake_redis))] == ["w-flushed"]
