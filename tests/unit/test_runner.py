"""run_task in-process (no worker): every way an attempt can end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rq.registry import ScheduledJobRegistry

from taskq import queues, runner
from taskq.api import TaskQ
from taskq.config import Settings
from taskq.errors import JobFailed
from taskq.worker import settle


@pytest.fixture(autouse=True)
def _configured(settings: Settings) -> None:
    runner.configure(settings, "unit-worker")
    runner.shutdown_requested.clear()


def test_success_completes_with_outputs(client: TaskQ, small_csv: Path) -> None:
    info = client.submit("test-steps", small_csv, {"steps": 3, "step_seconds": 0})
    assert runner.run_task(info.id)["outcome"] == "COMPLETED"
    task = client.get(info.id)
    assert task.status == "COMPLETED" and task.task["progress"] == 100.0
    out = Path(task.task["output_dir"])
    assert json.loads((out / "result.json").read_text())["rows"] == 201
    assert json.loads((out / "report.json").read_text())["tool"] == "test-steps"
    assert task.task["result"]["outputs"] == ["report.json", "result.json"]
    assert [e["to"] for e in task.events] == ["CREATED", "QUEUED", "PROCESSING", "COMPLETED"]
    # A second delivery of the same job is acknowledged and skipped.
    assert runner.run_task(info.id)["outcome"] == "skipped"
    assert client.get(info.id).status == "COMPLETED"


def test_created_task_can_be_taken_when_the_queued_write_was_lost(
    client: TaskQ, small_csv: Path, settings: Settings
) -> None:
    import redis

    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    info = TaskQ(settings, redis_connection=down).submit(
        "test-steps", small_csv, {"steps": 1, "step_seconds": 0}
    )
    assert info.status == "CREATED"
    assert runner.run_task(info.id)["outcome"] == "COMPLETED"


def test_transient_failure_retries_with_backoff(
    client: TaskQ, small_csv: Path, settings: Settings, fake_redis: Any, uploads: Path
) -> None:
    info = client.submit("test-flaky", small_csv, {"counter": str(uploads / "n"), "failures": 1})
    assert runner.run_task(info.id)["outcome"] == "RETRYING"
    task = client.get(info.id).task
    assert task["status"] == "RETRYING" and task["attempt"] == 2 and task["error_code"] == "TRANSIENT"
    assert task["next_attempt_at"] is not None
    assert (task["progress"], task["stage"]) == (0.0, "waiting to retry")  # not the failed attempt's
    # The worker dispatches the retry after the horse exits: scheduled (or queued when due).
    assert settle(settings, fake_redis, info.id, "unit-worker", None) == "RETRYING"
    scheduled = ScheduledJobRegistry(
        "testq", connection=fake_redis, serializer=queues.SERIALIZER
    ).get_job_ids()
    queued = fake_redis.lrange("rq:queue:testq", 0, -1)
    assert info.id in scheduled or info.id.encode() in queued
    assert runner.run_task(info.id)["outcome"] == "COMPLETED"
    task = client.get(info.id)
    assert task.task["attempt"] == 2 and task.task["error_code"] is None
    assert [e["to"] for e in task.events] == [
        "CREATED",
        "QUEUED",
        "PROCESSING",
        "RETRYING",
        "QUEUED",
        "PROCESSING",
        "COMPLETED",
    ]


def test_transient_failure_gives_up_after_max_attempts(client: TaskQ, small_csv: Path, uploads: Path) -> None:
    info = client.submit("test-flaky", small_csv, {"counter": str(uploads / "n"), "failures": 99})
    assert runner.run_task(info.id)["outcome"] == "RETRYING"
    assert runner.run_task(info.id)["outcome"] == "RETRYING"
    with pytest.raises(JobFailed):
        runner.run_task(info.id)
    task = client.get(info.id).task
    assert (task["status"], task["attempt"], task["error_code"]) == ("FAILED", 3, "TRANSIENT")


def test_permanent_failure_is_not_retried(client: TaskQ, small_csv: Path) -> None:
    info = client.submit("test-broken", small_csv)
    with pytest.raises(JobFailed, match="JOB_FAILED"):
        runner.run_task(info.id)
    task = client.get(info.id)
    assert task.status == "FAILED" and task.task["attempt"] == 1
    assert task.task["error_code"] == "JOB_FAILED"
    assert "Traceback" not in task.task["error_message"]
    assert "Traceback" in task.events[-1]["details"]["traceback"]
    assert not Path(task.task["output_dir"]).exists()


def test_missing_input_fails_without_retry(client: TaskQ, small_csv: Path) -> None:
    info = client.submit("test-steps", small_csv, {"steps": 1, "step_seconds": 0})
    small_csv.unlink()
    with pytest.raises(JobFailed):
        runner.run_task(info.id)
    task = client.get(info.id).task
    assert (task["status"], task["error_code"], task["attempt"]) == ("FAILED", "INPUT_NOT_FOUND", 1)


def test_cancelled_before_pickup_is_skipped(client: TaskQ, small_csv: Path) -> None:
    info = client.submit("test-steps", small_csv)
    client.cancel(info.id)
    assert runner.run_task(info.id)["outcome"] == "skipped"
    assert client.get(info.id).status == "CANCELLED"


def test_cancel_while_running_stops_at_the_next_check(
    client: TaskQ, small_csv: Path, settings: Settings
) -> None:
    import threading
    import time

    info = client.submit("test-steps", small_csv, {"steps": 200, "step_seconds": 0.05})
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(runner.run_task(info.id)))
    thread.start()
    deadline = time.monotonic() + 10
    while client.get(info.id, events=False).status != "PROCESSING" and time.monotonic() < deadline:
        time.sleep(0.05)
    # The runner may notice the flag (and end CANCELLED) before cancel() reads the row back.
    assert client.cancel(info.id).status in ("PROCESSING", "CANCELLED")
    thread.join(10)
    assert result["outcome"] == "CANCELLED"
    task = client.get(info.id)
    assert task.status == "CANCELLED" and task.task["progress"] < 100
    assert not Path(task.task["output_dir"]).exists()


def test_shutdown_puts_the_task_back_as_the_same_attempt(
    client: TaskQ, small_csv: Path, settings: Settings, fake_redis: Any
) -> None:
    info = client.submit("test-steps", small_csv, {"steps": 5, "step_seconds": 0})
    runner.shutdown_requested.set()
    assert runner.run_task(info.id)["outcome"] == "QUEUED"
    task = client.get(info.id).task
    assert (task["status"], task["attempt"]) == ("QUEUED", 1)
    fake_redis.delete("rq:queue:testq")
    settle(settings, fake_redis, info.id, "unit-worker", None)
    assert fake_redis.lrange("rq:queue:testq", 0, -1) == [info.id.encode()]


def test_a_job_that_never_took_its_task_is_not_re_dispatched(
    client: TaskQ, small_csv: Path, settings: Settings, fake_redis: Any
) -> None:
    # An error before PROCESSING (say, a worker name the database refused) left the task
    # QUEUED; settle sent the job straight back and the worker took it again, forever.
    info = client.submit("test-steps", small_csv)
    fake_redis.delete("rq:queue:testq")
    assert settle(settings, fake_redis, info.id, "unit-worker", None) == "QUEUED"
    assert fake_redis.lrange("rq:queue:testq", 0, -1) == []


def test_worker_names_that_do_not_fit_are_refused(settings: Settings) -> None:
    from taskq.errors import ConfigError
    from taskq.worker import WorkerOptions, run_worker

    with pytest.raises(ConfigError, match="at most 190"):
        run_worker(settings, WorkerOptions(("testq",), burst=True, name="w" * 191))


def test_dead_horse_is_a_lost_attempt(
    client: TaskQ, small_csv: Path, settings: Settings, fake_redis: Any
) -> None:
    from taskq.db import session_scope
    from taskq.lifecycle import TaskStatus, transition

    info = client.submit("test-steps", small_csv)
    with session_scope(settings) as s:
        transition(s, info.id, TaskStatus.PROCESSING, reason="picked up", worker="unit-worker")
    assert settle(settings, fake_redis, info.id, "unit-worker", None) == "RETRYING"
    task = client.get(info.id).task
    assert (task["attempt"], task["error_code"]) == (2, "WORKER_LOST")


def test_backoff_is_full_jitter_capped() -> None:
    assert runner.backoff_delay(1, 10, 600, rng=lambda a, b: b) == 10
    assert runner.backoff_delay(3, 10, 600, rng=lambda a, b: b) == 40
    assert runner.backoff_delay(20, 10, 600, rng=lambda a, b: b) == 600
    assert runner.backoff_delay(5, 10, 600, rng=lambda a, b: a) == 0


def test_errors_are_classified_for_retry() -> None:
    import redis as redis_lib
    from rq.timeouts import JobTimeoutException
    from sqlalchemy.exc import OperationalError

    from taskq.errors import InputEmpty

    cases = {
        JobTimeoutException("too slow"): ("JOB_TIMEOUT", True),
        redis_lib.exceptions.ConnectionError("gone"): ("TRANSIENT", True),
        OperationalError("SELECT 1", {}, Exception("server closed the connection")): (
            "DATABASE_UNAVAILABLE",
            True,
        ),
        InputEmpty("no rows"): ("INPUT_EMPTY", False),
        KeyError("x"): ("JOB_FAILED", False),
        MemoryError(): ("JOB_FAILED", False),
    }
    for exc, (code, transient) in cases.items():
        err = runner._classify(exc)
        assert (err.code, err.transient) == (code, transient), exc


def test_a_cancel_that_races_completion_wins(client: TaskQ, small_csv: Path, settings: Settings) -> None:
    from taskq.db import session_scope
    from taskq.lifecycle import request_cancel

    info = client.submit("test-steps", small_csv, {"steps": 1, "step_seconds": 0})
    task = runner._take(settings, info.id, "unit-worker")
    out = Path(task.output_dir)
    out.mkdir(parents=True)  # as if the tool had published its outputs
    with session_scope(settings) as s:
        assert request_cancel(s, info.id)
    assert runner._end(settings, task, "unit-worker", None, {"outputs": ["x"]}) == "CANCELLED"
    final = client.get(info.id)
    assert final.status == "CANCELLED" and not out.exists()
    assert "cancel requested before the task completed" in final.events[-1]["reason"]


def test_a_stale_attempt_cannot_end_a_newer_one(client: TaskQ, small_csv: Path, settings: Settings) -> None:
    from taskq.db import session_scope
    from taskq.lifecycle import TaskStatus, transition

    info = client.submit("test-steps", small_csv, {"steps": 1, "step_seconds": 0})
    stale = runner._take(settings, info.id, "old-worker")
    out = Path(stale.output_dir)
    out.mkdir(parents=True)  # the newer attempt's outputs must survive
    with session_scope(settings) as s:  # presumed lost, retried, and taken by another worker
        transition(s, info.id, TaskStatus.RETRYING, reason="lost", attempt=2)
        transition(s, info.id, TaskStatus.QUEUED, reason="backoff ended")
        transition(s, info.id, TaskStatus.PROCESSING, reason="picked up", worker="new-worker")
    assert runner._end(settings, stale, "old-worker", None, {}) == "STALE"
    task = client.get(info.id).task
    assert (task["status"], task["attempt"], task["worker"]) == ("PROCESSING", 2, "new-worker")
    assert out.exists()
