"""Redis and RQ: the transport. Nothing here is the truth about a task; SQL is.

* One RQ job per task run, with ``job_id == task id`` so SQL rows, logs, metrics
  and rq-dashboard join on one key.
* Every queue, job fetch and worker uses :data:`SERIALIZER` (JSON). Job
  arguments are the task id only.
* Redis connection errors are raised as :class:`~taskq.errors.RedisUnavailable`.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

import redis
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from .config import Settings, redact_url
from .errors import RedisUnavailable

__all__ = [
    "JOB_FUNCTION",
    "JobStatus",
    "SERIALIZER",
    "connect",
    "enqueue",
    "job_state",
    "queue",
    "remove_job",
]

log = logging.getLogger(__name__)

SERIALIZER = JSONSerializer
"""The only serializer taskq gives RQ. Never pickle."""

JOB_FUNCTION = "taskq.runner.run_task"
"""What every RQ job calls, by import path, with the task id as its one argument."""

LIVE_JOB_STATES = frozenset({JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED})

T = TypeVar("T")


def connect(settings: Settings, **overrides: Any) -> redis.Redis:
    """A Redis client for ``settings.redis_url``.

    ``rediss://`` URLs verify the server certificate and host name by default
    (``TASKQ_REDIS_CA_FILE`` names a CA bundle). The connection is lazy.
    """
    kwargs: dict[str, Any] = {
        "socket_connect_timeout": 5,
        "socket_timeout": 30,
        "health_check_interval": 30,
        "retry_on_timeout": False,
    }
    if settings.redis_url.startswith("rediss://"):
        kwargs["ssl_cert_reqs"] = ssl.CERT_REQUIRED
        kwargs["ssl_check_hostname"] = True
        if settings.redis_ca_file:
            kwargs["ssl_ca_certs"] = settings.redis_ca_file
    kwargs.update(overrides)
    return redis.Redis.from_url(settings.redis_url, **kwargs)


@contextmanager
def redis_errors(settings: Settings, action: str) -> Iterator[None]:
    """Turn redis-py connection failures into :class:`RedisUnavailable`."""
    try:
        yield
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        raise RedisUnavailable(
            f"Redis unavailable at {redact_url(settings.redis_url)} while trying to {action}: {exc}"
        ) from exc


def queue(name: str, connection: redis.Redis) -> Queue:
    return Queue(name, connection=connection, serializer=SERIALIZER)


def fetch_job(task_id: str, connection: redis.Redis) -> Job | None:
    try:
        return Job.fetch(task_id, connection=connection, serializer=SERIALIZER)
    except NoSuchJobError:
        return None


def job_state(task_id: str, connection: redis.Redis) -> JobStatus | None:
    """The RQ status of the task's job, or None when Redis has no job for it."""
    job = fetch_job(task_id, connection)
    if job is None:
        return None
    try:
        return job.get_status(refresh=False)
    except InvalidJobOperation:
        return None


def enqueue(
    settings: Settings,
    connection: redis.Redis,
    *,
    task_id: str,
    tool: str,
    queue_name: str,
    at: datetime | None = None,
    force: bool = False,
) -> Job | None:
    """Put the task's job on its queue (or schedule it for ``at``).

    Idempotent: when Redis already holds a live job for the task (queued,
    scheduled, started) nothing is added and None is returned, unless ``force``
    (used when that job is known to be dead).

    Raises:
        RedisUnavailable
    """
    with redis_errors(settings, f"enqueue task {task_id}"):
        if not force:
            state = job_state(task_id, connection)
            if state in LIVE_JOB_STATES:
                log.debug("task %s already has a %s job", task_id, state, extra={"task_id": task_id})
                return None
        q = queue(queue_name, connection)
        options: dict[str, Any] = {
            "job_id": task_id,
            "job_timeout": settings.timeout_for(tool),
            "result_ttl": settings.result_ttl,
            "failure_ttl": settings.failure_ttl,
            "description": f"{tool} task {task_id}",
            "meta": {"tool": tool},
        }
        job: Job = (
            q.enqueue_at(at, JOB_FUNCTION, task_id, **options)
            if at is not None
            else q.enqueue(JOB_FUNCTION, task_id, **options)
        )
        return job


def dispatch(
    settings: Settings, connection: redis.Redis, task: Any, *, at: datetime | None = None
) -> Job | None:
    """(Re-)enqueue ``task`` (a Task row) now, or at ``at`` when that is in the future.

    Used after a run ended (retry, shutdown) and by maintenance: any earlier RQ
    job of the task is finished or dead, so its id is reused and it leaves the
    failed-job registry.
    """
    from rq.registry import FailedJobRegistry

    from .models import utcnow

    when = at if at is not None and at > utcnow() else None
    with redis_errors(settings, f"dispatch task {task.id}"):
        q = queue(task.queue, connection)
        FailedJobRegistry(queue=q).remove(task.id)
        old = fetch_job(task.id, connection)
        if old is not None:
            # Forget executions of a dead worker, so RQ's abandoned-job cleanup
            # never marks the new run failed.
            q.started_job_registry.remove_executions(old)
    return enqueue(
        settings, connection, task_id=task.id, tool=task.tool, queue_name=task.queue, at=when, force=True
    )


def remove_job(settings: Settings, connection: redis.Redis, task_id: str) -> bool:
    """Take a not-yet-running job out of Redis (queue or schedule). True if one was there."""
    with redis_errors(settings, f"remove the job of task {task_id}"):
        job = fetch_job(task_id, connection)
        if job is None:
            return False
        state = job.get_status(refresh=False)
        if job.origin:
            q = queue(job.origin, connection)
            q.remove(job)
            q.scheduled_job_registry.remove(job)
        if state in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
            job.delete(remove_from_queue=True)
            return True
        return False
