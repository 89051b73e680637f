"""Read-only views of the system: queues, workers, task counts, and a health check.

Nothing here changes state. ``overview`` feeds ``taskq status`` and the web
app; ``check`` feeds ``taskq health`` and its exit code (0 healthy, 1 not).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import redis
from rq import Worker
from sqlalchemy import func, select

from . import jobs, queues
from .config import Settings, redact_url
from .db import session_scope
from .errors import DatabaseUnavailable, RedisUnavailable, TaskqError
from .lifecycle import TaskStatus
from .models import Task, utcnow

__all__ = ["check", "overview", "queue_stats", "task_counts", "worker_stats"]

log = logging.getLogger(__name__)


def task_counts(settings: Settings) -> dict[str, int]:
    """Tasks per status, every status present."""
    with session_scope(settings) as s:
        rows = s.execute(select(Task.status, func.count()).group_by(Task.status)).all()
    found = {status: int(n) for status, n in rows}
    return {st.value: found.get(st.value, 0) for st in TaskStatus}


def _age(ts: datetime | None) -> float | None:
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return max(0.0, (utcnow() - ts).total_seconds())


def queue_stats(settings: Settings, connection: redis.Redis) -> list[dict[str, Any]]:
    """Depth, oldest waiting job's age, running, scheduled and failed counts per queue."""
    out = []
    with queues.redis_errors(settings, "read queue stats"):
        for name in jobs.queue_names(settings):
            q = queues.queue(name, connection)
            oldest = None
            first = q.get_job_ids(0, 1)  # a length of 0 is an empty slice
            if first:
                job = queues.fetch_job(first[0], connection)
                oldest = _age(job.enqueued_at) if job else None
            out.append(
                {
                    "queue": name,
                    "depth": q.count,
                    "oldest_age_s": None if oldest is None else round(oldest, 1),
                    "running": q.started_job_registry.count,
                    "scheduled": q.scheduled_job_registry.count,
                    "failed": q.failed_job_registry.count,
                }
            )
    return out


def worker_stats(settings: Settings, connection: redis.Redis) -> list[dict[str, Any]]:
    """Every live RQ worker with its state, queues and current task."""
    out = []
    with queues.redis_errors(settings, "list workers"):
        for w in Worker.all(connection=connection, serializer=queues.SERIALIZER):
            out.append(
                {
                    "name": w.name,
                    "state": str(w.get_state()),
                    "queues": w.queue_names(),
                    "current_task": w.get_current_job_id(),
                    "pid": w.pid,
                    "hostname": w.hostname,
                    "last_heartbeat_age_s": None
                    if w.last_heartbeat is None
                    else round(_age(w.last_heartbeat) or 0.0, 1),
                    "successful_jobs": w.successful_job_count,
                    "failed_jobs": w.failed_job_count,
                }
            )
    return sorted(out, key=lambda w: str(w["name"]))


def overview(settings: Settings, connection: redis.Redis) -> dict[str, Any]:
    """Queues, workers and task counts. A missing backend is reported, not raised."""
    out: dict[str, Any] = {
        "redis": redact_url(settings.redis_url),
        "database": redact_url(settings.sqlalchemy_url),
    }
    errors = []
    try:
        out["tasks"] = task_counts(settings)
    except DatabaseUnavailable as exc:
        errors.append(exc.to_dict())
    try:
        out["queues"] = queue_stats(settings, connection)
        out["workers"] = worker_stats(settings, connection)
    except RedisUnavailable as exc:
        errors.append(exc.to_dict())
    if errors:
        out["errors"] = errors
    return out


def check(
    settings: Settings, connection: redis.Redis, *, max_backlog_age: float = 3600.0
) -> tuple[int, dict[str, Any]]:
    """Health report and exit code: 0 when Redis and the database answer, a worker
    listens on every queue and no queue's oldest job is older than ``max_backlog_age``."""
    checks: dict[str, Any] = {}
    try:
        with queues.redis_errors(settings, "ping"):
            connection.ping()
        checks["redis"] = {"ok": True}
    except TaskqError as exc:
        checks["redis"] = {"ok": False, "error": exc.message}
    try:
        task_counts(settings)
        checks["database"] = {"ok": True}
    except TaskqError as exc:
        checks["database"] = {"ok": False, "error": exc.message}
    if checks["redis"]["ok"]:
        workers = worker_stats(settings, connection)
        listening = {q for w in workers for q in w["queues"]}
        missing = [q for q in jobs.queue_names(settings) if q not in listening]
        checks["workers"] = {"ok": not missing, "count": len(workers), "queues_without_worker": missing}
        stale = [
            q["queue"]
            for q in queue_stats(settings, connection)
            if q["oldest_age_s"] is not None and q["oldest_age_s"] > max_backlog_age
        ]
        checks["backlog"] = {"ok": not stale, "stale_queues": stale}
    healthy = all(c["ok"] for c in checks.values())
    return (0 if healthy else 1), {"healthy": healthy, "checks": checks}
