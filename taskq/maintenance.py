"""Maintenance: rebuild Redis from SQL, recover lost work, expire what waited too long.

One pass (:func:`run_pass`) does, in order:

* **relay**: CREATED tasks that never reached Redis (submit during an outage, or
  a crash between the SQL commit and the enqueue) are enqueued and marked QUEUED;
* **reconcile**: QUEUED and RETRYING tasks whose RQ job is missing (Redis
  restarted empty, keys evicted) are enqueued again; a RETRYING task whose
  backoff ended long ago (no RQ scheduler running) is pushed onto its queue;
* **recover**: PROCESSING tasks whose heartbeat is older than
  ``TASKQ_HEARTBEAT_TIMEOUT`` lost their worker: they are re-run as a new
  attempt, or end FAILED with ``WORKER_LOST`` once attempts are used up (a
  pending cancel makes them CANCELLED instead);
* **expire**: CREATED tasks never dispatched for ``TASKQ_EXPIRE_CREATED_AFTER``
  and QUEUED tasks waiting longer than ``TASKQ_EXPIRE_QUEUED_AFTER`` become
  EXPIRED; outputs of ended tasks older than ``TASKQ_OUTPUT_RETENTION`` are deleted.

:func:`maintain_forever` repeats passes every ``TASKQ_MAINTENANCE_INTERVAL``
while it holds a Redis lock with a TTL, so exactly one copy is active; when its
holder dies the lock expires and another copy takes over. It runs as
``taskq maintain`` or beside workers started with ``--with-scheduler``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import redis
from sqlalchemy import or_, select

from . import queues, runner
from .config import Settings
from .constants import MAINTENANCE_LOCK_KEY
from .db import session_scope
from .errors import InvalidTransition, RedisUnavailable, TaskqError
from .lifecycle import ENDED, TaskStatus, transition
from .models import Task, utcnow

__all__ = ["PassReport", "maintain_forever", "run_pass"]

log = logging.getLogger(__name__)
S = TaskStatus

RELAY_AFTER = 2.0
"""Seconds a CREATED task is left to its own submit before the relay takes it."""
RECONCILE_AFTER = 5.0
"""Seconds a QUEUED task's enqueue is given to land before a missing job counts as lost."""
BATCH = 500
"""Tasks handled per step and pass; the next pass continues."""


@dataclass
class PassReport:
    relayed: list[str] = field(default_factory=list)
    reconciled: list[str] = field(default_factory=list)
    recovered: dict[str, str] = field(default_factory=dict)
    expired: list[str] = field(default_factory=list)
    outputs_removed: int = 0
    errors: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.relayed or self.reconciled or self.recovered or self.expired or self.outputs_removed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "relayed": self.relayed,
            "reconciled": self.reconciled,
            "recovered": self.recovered,
            "expired": self.expired,
            "outputs_removed": self.outputs_removed,
            "errors": self.errors,
        }


def _rows(settings: Settings, *conditions: Any) -> list[Task]:
    with session_scope(settings) as s:
        rows = list(s.scalars(select(Task).where(*conditions).order_by(Task.updated_at).limit(BATCH)))
        for row in rows:
            s.expunge(row)
        return rows


def relay(settings: Settings, conn: redis.Redis, report: PassReport, actor: str) -> None:
    cutoff = utcnow() - timedelta(seconds=RELAY_AFTER)
    for task in _rows(settings, Task.status == S.CREATED.value, Task.created_at < cutoff):
        queues.enqueue(settings, conn, task_id=task.id, tool=task.tool, queue_name=task.queue)
        try:
            with session_scope(settings) as s:
                transition(
                    s, task.id, S.QUEUED, frm=[S.CREATED], reason="relayed by maintenance", worker=actor
                )
        except InvalidTransition:
            continue  # a worker took it already, or it was cancelled meanwhile
        report.relayed.append(task.id)


def reconcile(settings: Settings, conn: redis.Redis, report: PassReport) -> None:
    now = utcnow()
    cutoff = now - timedelta(seconds=RECONCILE_AFTER)
    waiting = _rows(
        settings,
        or_(Task.status == S.QUEUED.value, Task.status == S.RETRYING.value),
        Task.updated_at < cutoff,
    )
    for task in waiting:
        state = queues.job_state(task.id, conn)
        overdue = (
            task.status == S.RETRYING.value
            and task.next_attempt_at is not None
            and (now - task.next_attempt_at).total_seconds() > max(30.0, 3 * settings.maintenance_interval)
        )
        if state in (queues.JobStatus.QUEUED, queues.JobStatus.STARTED):
            continue
        if state == queues.JobStatus.SCHEDULED and not overdue:
            continue
        at = None if overdue or task.status == S.QUEUED.value else task.next_attempt_at
        queues.dispatch(settings, conn, task, at=at)
        log.info(
            "task %s: %s without a live job (%s); re-enqueued",
            task.id,
            task.status,
            state,
            extra={"task_id": task.id},
        )
        report.reconciled.append(task.id)


def recover(settings: Settings, conn: redis.Redis, report: PassReport, actor: str) -> None:
    stale = utcnow() - timedelta(seconds=settings.heartbeat_timeout)
    lost = _rows(
        settings,
        Task.status == S.PROCESSING.value,
        or_(Task.heartbeat_at < stale, Task.heartbeat_at.is_(None) & (Task.started_at < stale)),
    )
    for task in lost:
        to = S.CANCELLED if task.cancel_requested_at is not None else None
        silent = (
            "never" if task.heartbeat_at is None else f"{(utcnow() - task.heartbeat_at).total_seconds():.0f}s"
        )
        status = runner.end_lost_attempt(
            settings, task, actor, to=to, reason=f"worker {task.worker} lost (no heartbeat for {silent})"
        )
        report.recovered[task.id] = status.value
        if status is S.RETRYING:
            with session_scope(settings) as s:
                fresh = s.get(Task, task.id)
                assert fresh is not None
                s.expunge(fresh)
            queues.dispatch(settings, conn, fresh, at=fresh.next_attempt_at)


def expire(settings: Settings, conn: redis.Redis | None, report: PassReport, actor: str) -> None:
    now = utcnow()
    rules = [
        (
            S.CREATED,
            Task.created_at < now - timedelta(seconds=settings.expire_created_after),
            "never dispatched",
        ),
        (
            S.QUEUED,
            Task.queued_at < now - timedelta(seconds=settings.expire_queued_after),
            "waited too long in the queue",
        ),
    ]
    for status, older, why in rules:
        for task in _rows(settings, Task.status == status.value, older):
            try:
                with session_scope(settings) as s:
                    transition(
                        s,
                        task.id,
                        S.EXPIRED,
                        frm=[status],
                        reason=f"expired: {why}",
                        worker=actor,
                        error_code="EXPIRED",
                        error_message=f"expired: {why}",
                    )
            except InvalidTransition:
                continue
            report.expired.append(task.id)
            if conn is not None:
                with contextlib.suppress(RedisUnavailable):
                    queues.remove_job(settings, conn, task.id)


def remove_old_outputs(settings: Settings, report: PassReport) -> None:
    """Delete output directories of ended tasks finished more than the retention ago."""
    if settings.output_retention <= 0 or not settings.outputs.is_dir():
        return
    cutoff = time.time() - settings.output_retention
    candidates = [p for p in settings.outputs.iterdir() if p.is_dir() and p.stat().st_mtime < cutoff]
    for chunk in range(0, len(candidates), BATCH):
        names = {p.name: p for p in candidates[chunk : chunk + BATCH]}
        with session_scope(settings) as s:
            rows = s.execute(
                select(Task.id, Task.status, Task.finished_at).where(Task.id.in_(list(names)))
            ).all()
        for task_id, status, finished in rows:
            if S(status) in ENDED and finished is not None and finished.timestamp() < cutoff:
                shutil.rmtree(names[task_id], ignore_errors=True)
                report.outputs_removed += 1


def run_pass(settings: Settings, conn: redis.Redis, *, actor: str = "maintenance") -> PassReport:
    """One maintenance pass. Each step's failure is logged and reported; the others still run."""
    report = PassReport()
    steps: list[tuple[str, Callable[[], None]]] = [
        ("relay", lambda: relay(settings, conn, report, actor)),
        ("reconcile", lambda: reconcile(settings, conn, report)),
        ("recover", lambda: recover(settings, conn, report, actor)),
        ("expire", lambda: expire(settings, conn, report, actor)),
        ("outputs", lambda: remove_old_outputs(settings, report)),
    ]
    for name, step in steps:
        try:
            step()
        except (TaskqError, redis.exceptions.RedisError, OSError) as exc:
            log.warning("maintenance %s step failed: %s", name, exc)
            report.errors.append(f"{name}: {exc}")
    if report:
        log.info("maintenance pass: %s", {k: v for k, v in report.to_dict().items() if v})
    return report


class _Lock:
    """A Redis lock with a TTL that its holder renews; taken over when the holder dies."""

    def __init__(self, conn: redis.Redis, ttl: float) -> None:
        self.conn = conn
        self.ttl_ms = int(ttl * 1000)
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._renew = conn.register_script(
            "if redis.call('get', KEYS[1]) == ARGV[1] then "
            "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
        )
        self._release = conn.register_script(
            "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
        )

    def acquire_or_renew(self) -> bool:
        if self._renew(keys=[MAINTENANCE_LOCK_KEY], args=[self.token, self.ttl_ms]):
            return True
        return bool(self.conn.set(MAINTENANCE_LOCK_KEY, self.token, nx=True, px=self.ttl_ms))

    def release(self) -> None:
        with contextlib.suppress(redis.exceptions.RedisError):
            self._release(keys=[MAINTENANCE_LOCK_KEY], args=[self.token])


def maintain_forever(
    settings: Settings,
    *,
    stop: threading.Event | None = None,
    conn: redis.Redis | None = None,
    parent_pid: int | None = None,
    max_passes: int | None = None,
) -> int:
    """Run passes every ``maintenance_interval`` while holding the lock; returns 0 on stop.

    Stops on SIGTERM/SIGINT (when run in the main thread), when ``stop`` is set,
    or when ``parent_pid`` is no longer its parent (the worker that started it died).
    """
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
    conn = conn or queues.connect(settings)
    lock = _Lock(conn, ttl=max(3 * settings.maintenance_interval, 10.0))
    actor = f"maintenance@{lock.token}"
    holding, passes = False, 0
    log.info("maintenance started (%s), every %.1fs", lock.token, settings.maintenance_interval)
    while not stop.is_set():
        if parent_pid is not None and os.getppid() != parent_pid:
            log.warning("maintenance: parent %s is gone; stopping", parent_pid)
            break
        try:
            now_holding = lock.acquire_or_renew()
            if now_holding != holding:
                log.info("maintenance lock %s", "taken" if now_holding else "lost")
                holding = now_holding
            if holding:
                run_pass(settings, conn, actor=actor)
        except redis.exceptions.RedisError as exc:
            holding = False
            log.warning("maintenance: Redis unavailable: %s", exc)
            # Expiry needs only SQL (and is compare-and-set), so tasks still age
            # out while Redis is down, whichever copy does it.
            try:
                expire(settings, None, PassReport(), actor)
            except TaskqError as db_exc:
                log.warning("maintenance: expiry failed: %s", db_exc)
        passes += 1
        if max_passes is not None and passes >= max_passes:
            break
        stop.wait(settings.maintenance_interval)
    if holding:
        lock.release()
    return 0


def start_process(settings: Settings) -> Any:
    """Fork a maintenance process tied to this one (it exits when this process dies)."""
    import multiprocessing

    parent = os.getpid()
    ctx = multiprocessing.get_context("fork")

    def target() -> None:
        from .logs import configure

        configure(settings.log_level, json=settings.log_format == "json")
        os._exit(maintain_forever(settings, parent_pid=parent))

    proc = ctx.Process(target=target, name="taskq-maintenance", daemon=False)
    proc.start()
    return proc
