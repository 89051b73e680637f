"""``run_task(task_id)``: the one function RQ runs, in the worker's work horse.

1. Take the task: QUEUED (or CREATED, when the status write after the enqueue
   was lost; or RETRYING whose backoff ended) -> PROCESSING by compare-and-set.
   A task in any other state (cancelled meanwhile, already run by another
   worker) is acknowledged and skipped.
2. Run the tool through :func:`taskq.jobs.execute` with a progress handle that
   writes progress (throttled) to the row and the RQ job meta, and raises when a
   cancel was requested or the worker is shutting down.
3. End the attempt by compare-and-set, guarded by the attempt number so a stale
   run can never overwrite a newer one:

   ======================================  =============================================
   outcome                                 new state
   ======================================  =============================================
   tool returned                           COMPLETED (CANCELLED if a cancel won the race)
   cancel requested                        CANCELLED
   worker shutting down (SIGTERM + grace)  QUEUED, same attempt (the worker re-enqueues)
   transient error, attempts left          RETRYING, attempt + 1, next_attempt_at set
   anything else                           FAILED with an error code and a short message
   ======================================  =============================================

Re-enqueueing (retries, shutdown) is done by the worker process after the work
horse exits (:mod:`taskq.worker`), because RQ still owns the job id until then.
Tracebacks go to the log and the event row, never into ``error_message``.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import redis
from sqlalchemy.exc import OperationalError

from . import jobs
from .config import Settings
from .db import session_scope
from .errors import (
    DatabaseUnavailable,
    InputNotAllowed,
    InvalidTransition,
    JobFailed,
    JobTimeout,
    TaskCancelled,
    TaskqError,
    TransientError,
    WorkerLost,
    WorkerShutdown,
)
from .lifecycle import TaskStatus, record_progress, transition
from .models import Task, utcnow
from .progress import ThrottledProgress

__all__ = [
    "backoff_delay",
    "check_input_path",
    "check_path_params",
    "configure",
    "run_task",
    "shutdown_requested",
]

log = logging.getLogger(__name__)
S = TaskStatus
T = TypeVar("T")


@dataclass
class _Context:
    settings: Settings
    worker: str


_context: _Context | None = None
shutdown_requested = threading.Event()
"""Set in the work horse (SIGUSR1 from its worker) when the worker's shutdown grace ran out."""


def configure(settings: Settings, worker_name: str | None = None) -> None:
    """Called by the worker before it forks work horses."""
    global _context
    _context = _Context(settings, worker_name or f"pid-{os.getpid()}")


def _ctx() -> _Context:
    global _context
    if _context is None:
        # Run by a plain `rq worker`: read the environment once per process.
        _context = _Context(Settings.from_env(), os.environ.get("RQ_WORKER_ID", f"pid-{os.getpid()}"))
        jobs.load_plugins(_context.settings.plugin_modules)
    worker = os.environ.get("RQ_WORKER_ID")
    if worker and worker != _context.worker:
        _context.worker = worker
    return _context


def backoff_delay(
    attempt: int, base: float, cap: float, rng: Callable[[float, float], float] = random.uniform
) -> float:
    """Exponential backoff with full jitter for the retry after ``attempt`` (1-based)."""
    return rng(0.0, min(cap, base * (2 ** max(attempt - 1, 0))))


def check_input_path(settings: Settings, path: str | os.PathLike[str]) -> Path:
    """``path`` resolved (symlinks followed), if it lies inside an allowed data root.

    Raises:
        InputNotAllowed: outside every root (traversal and symlink escapes included).
    """
    text = os.fspath(path)
    if not text or "\x00" in str(text):
        raise InputNotAllowed(
            "input path is empty" if not text else "input path contains a NUL byte", path=str(text)[:200]
        )
    resolved = Path(path).resolve()
    for root in settings.allowed_roots:
        if resolved == root or resolved.is_relative_to(root):
            return resolved
    roots = ", ".join(str(r) for r in settings.allowed_roots)
    raise InputNotAllowed(f"input {path} is outside the allowed data roots ({roots})", path=str(path))


def check_path_params(settings: Settings, tool: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with each path parameter of ``tool`` (``ToolSpec.path_params``) resolved.

    Raises:
        InputNotAllowed: a path parameter points outside every allowed root.
    """
    out = dict(params)
    for key in jobs.resolve(tool).path_params:
        if isinstance(out.get(key), str | os.PathLike) and str(out[key]):
            out[key] = str(check_input_path(settings, out[key]))
    return out


def with_db_retry(settings: Settings, fn: Callable[[], T], *, what: str, deadline: float = 60.0) -> T:
    """Run ``fn`` (one transaction), retrying while the database is unreachable.

    Used for the writes that end an attempt, so a database restart while a task
    finishes does not throw the finished work away.
    """
    waited, delay = 0.0, 0.5
    while True:
        try:
            return fn()
        except (DatabaseUnavailable, OperationalError) as exc:
            if waited >= deadline:
                raise
            log.warning("database unavailable while %s, retrying in %.1fs: %s", what, delay, exc)
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 5.0)


def _take(settings: Settings, task_id: str, worker: str) -> Task | None:
    with session_scope(settings) as s:
        task = s.get(Task, task_id)
        if task is None:
            log.warning("task %s: no such task, job acknowledged", task_id, extra={"task_id": task_id})
            return None
        try:
            if task.status == S.RETRYING.value:
                transition(
                    s,
                    task_id,
                    S.QUEUED,
                    frm=[S.RETRYING],
                    reason="backoff ended, job dequeued",
                    worker=worker,
                )
            elif task.status not in (S.CREATED.value, S.QUEUED.value):
                log.info(
                    "task %s is %s; job acknowledged and skipped",
                    task_id,
                    task.status,
                    extra={"task_id": task_id, "status": task.status},
                )
                return None
            transition(
                s,
                task_id,
                S.PROCESSING,
                frm=[S.CREATED, S.QUEUED],
                reason="picked up by worker",
                worker=worker,
                progress=0.0,
                stage="starting",
                heartbeat_at=utcnow(),
                error_code=None,
                error_message=None,
                next_attempt_at=None,
            )
        except InvalidTransition as moved:
            # Taken by another worker (or ended) between the read above and the
            # compare-and-set: PostgreSQL runs both in READ COMMITTED.
            status = moved.details.get("status")
            log.info(
                "task %s is %s; job acknowledged and skipped",
                task_id,
                status,
                extra={"task_id": task_id, "status": status},
            )
            return None
        s.refresh(task)
        s.expunge(task)
        return task


def _progress_handle(settings: Settings, task: Task) -> ThrottledProgress:
    from rq import get_current_job

    rq_job = get_current_job()

    def sink(percent: float, stage: str | None) -> None:
        with session_scope(settings) as s:
            record_progress(s, task.id, task.attempt, percent, stage)
        if rq_job is not None:
            try:
                rq_job.meta.update(progress=percent, stage=stage)
                rq_job.save_meta()  # type: ignore[no-untyped-call]
            except redis.exceptions.RedisError as exc:  # progress in Redis is a nicety
                log.debug("task %s: could not save job meta: %s", task.id, exc)

    def should_stop() -> TaskCancelled | None:
        if shutdown_requested.is_set():
            return WorkerShutdown("worker shutting down; task goes back to the queue")
        with session_scope(settings) as s:
            row = s.get(Task, task.id)
            if row is None or row.cancel_requested_at is not None or row.status != S.PROCESSING.value:
                return TaskCancelled("cancelled by request")
        return None

    return ThrottledProgress(
        sink, should_stop, min_interval=settings.progress_interval, check_interval=settings.progress_interval
    )


def _classify(exc: BaseException) -> TaskqError:
    """Map any exception from a run to the taskq error that decides its fate."""
    from rq.timeouts import JobTimeoutException

    if isinstance(exc, TaskqError):
        return exc
    if isinstance(exc, JobTimeoutException):
        return JobTimeout(f"the job ran longer than its timeout: {exc}")
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return TransientError(f"Redis connection error: {exc}")
    if isinstance(exc, OperationalError):
        return DatabaseUnavailable(f"database connection error: {str(exc).splitlines()[0]}")
    if isinstance(exc, MemoryError):
        return JobFailed("the job ran out of memory")
    return JobFailed(f"unexpected error ({type(exc).__name__}): {exc}")


def _cancel_attempt(session: Any, task: Task, worker: str, reason: str) -> TaskStatus:
    transition(
        session,
        task.id,
        S.CANCELLED,
        frm=[S.PROCESSING],
        reason=reason,
        worker=worker,
        guards={"attempt": task.attempt},
        error_code="CANCELLED",
        error_message="cancelled by request",
    )
    return S.CANCELLED


def _requeue_attempt(session: Any, task: Task, worker: str, reason: str) -> TaskStatus:
    """Back to the queue as the same attempt (worker shutdown)."""
    transition(
        session,
        task.id,
        S.QUEUED,
        frm=[S.PROCESSING],
        reason=reason,
        worker=worker,
        guards={"attempt": task.attempt},
        progress=0.0,
        stage=None,
    )
    return S.QUEUED


def retry_or_fail(
    session: Any,
    settings: Settings,
    task: Task,
    worker: str,
    err: TaskqError,
    *,
    details: dict[str, Any] | None = None,
) -> TaskStatus:
    """End ``task``'s PROCESSING attempt: RETRYING (new attempt, backoff) if ``err``
    is transient and attempts remain, else FAILED with ``err``'s code."""
    guards = {"attempt": task.attempt}
    if err.transient and task.attempt < task.max_attempts:
        delay = backoff_delay(task.attempt, settings.retry_base, settings.retry_cap)
        transition(
            session,
            task.id,
            S.RETRYING,
            frm=[S.PROCESSING],
            reason=f"{err.code}: retry {task.attempt + 1}/{task.max_attempts} in {delay:.1f}s",
            worker=worker,
            guards=guards,
            details=details,
            attempt=task.attempt + 1,
            next_attempt_at=utcnow() + timedelta(seconds=delay),
            error_code=err.code,
            error_message=err.message,
            # The new attempt has not started: not the failed one's 60 % "scoring".
            progress=0.0,
            stage="waiting to retry",
        )
        return S.RETRYING
    transition(
        session,
        task.id,
        S.FAILED,
        frm=[S.PROCESSING],
        reason=f"{err.code}: {err.message}"[:500],
        worker=worker,
        guards=guards,
        details=details,
        error_code=err.code,
        error_message=err.message,
    )
    return S.FAILED


def _end(
    settings: Settings, task: Task, worker: str, exc: BaseException | None, report: dict[str, Any] | None
) -> str:
    """Record how the attempt ended; returns the new status (``STALE`` if it was no longer ours)."""

    def complete(s: Any) -> TaskStatus:
        try:
            transition(
                s,
                task.id,
                S.COMPLETED,
                frm=[S.PROCESSING],
                reason="tool finished",
                worker=worker,
                guards={"attempt": task.attempt, "cancel_requested_at": None},
                progress=100.0,
                stage="done",
                result=_summary(report or {}),
            )
            return S.COMPLETED
        except InvalidTransition:  # nothing was written
            row = s.get(Task, task.id)
            if row is None or row.attempt != task.attempt or row.cancel_requested_at is None:
                raise  # not ours any more: a stale attempt must not touch the task
            # A cancel was requested while the tool finished: the cancel wins.
            shutil.rmtree(task.output_dir, ignore_errors=True)
            return _cancel_attempt(
                s, task, worker, "cancel requested before the task completed; outputs removed"
            )

    def decide() -> str:
        with session_scope(settings) as s:
            if exc is None:
                return complete(s).value
            if isinstance(exc, WorkerShutdown):
                reason = "worker shut down before the task finished; back in the queue (same attempt)"
                return _requeue_attempt(s, task, worker, reason).value
            if isinstance(exc, TaskCancelled):
                return _cancel_attempt(s, task, worker, str(exc) or "cancelled by request").value
            details = {"traceback": "".join(traceback.format_exception(exc))[-8000:]}
            return retry_or_fail(s, settings, task, worker, _classify(exc), details=details).value

    try:
        return with_db_retry(settings, decide, what=f"ending task {task.id}")
    except InvalidTransition as lost:
        # Someone else ended or recovered this attempt (e.g. it was presumed lost).
        log.warning("task %s: could not record the end of attempt %s: %s", task.id, task.attempt, lost)
        return "STALE"


def end_lost_attempt(
    settings: Settings, task: Task, worker: str, *, to: TaskStatus | None, reason: str
) -> TaskStatus:
    """Close a PROCESSING attempt whose work horse is gone without having recorded an end.

    ``to`` CANCELLED (a cancel was pending) or QUEUED (shutdown; same attempt);
    None means the attempt was lost: retried as a new attempt while attempts
    remain, else FAILED with ``WORKER_LOST``. Returns the status afterwards; when
    the task moved meanwhile, that status, unchanged.

    A horse that died mid-run never reached the cleanup in :func:`taskq.jobs.execute`,
    so the staging directories it left beside ``output_dir`` are removed too.
    """

    def apply() -> TaskStatus:
        with session_scope(settings) as s:
            try:
                if to is S.CANCELLED:
                    status = _cancel_attempt(s, task, worker, reason)
                elif to is S.QUEUED:
                    status = _requeue_attempt(s, task, worker, reason)
                else:
                    err = WorkerLost(f"the worker running this task was lost ({reason})")
                    status = retry_or_fail(s, settings, task, worker, err)
            except InvalidTransition:
                row = s.get(Task, task.id)
                return TaskStatus(row.status) if row else S.FAILED
            # Before the commit: no newer attempt (with staging of its own) can have started yet.
            _remove_staging(task.output_dir)
            return status

    return with_db_retry(settings, apply, what=f"settling task {task.id}")


def _remove_staging(output_dir: str) -> None:
    """Delete the ``.<name>.partial-*`` directories :func:`taskq.jobs.execute` stages ``output_dir`` in."""
    out = Path(output_dir)
    try:
        leftovers = list(out.parent.glob(f".{out.name}.partial-*"))
    except OSError:
        return
    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    """What the task row keeps of the report (the full report is report.json)."""
    keep = ("input", "summary", "outputs", "duration_s", "alerts", "issues", "recommendations")
    out = {k: report[k] for k in keep if k in report}
    for key in ("alerts", "issues", "recommendations"):
        if key in out and len(out[key]) > 50:
            out[key] = out[key][:50]
            out[f"{key}_truncated"] = True
    return out


def run_task(task_id: str) -> dict[str, Any]:
    """Run one task to the end of its current attempt. Called by RQ with the task id.

    Raises:
        JobFailed: after recording FAILED, so RQ lists the job as failed too.
    """
    ctx = _ctx()
    settings, worker = ctx.settings, ctx.worker
    task = _take(settings, task_id, worker)
    if task is None:
        return {"task_id": task_id, "outcome": "skipped"}
    extra = {"task_id": task_id, "tool": task.tool, "attempt": task.attempt}
    log.info("task %s: running %s (attempt %s)", task_id, task.tool, task.attempt, extra=extra)
    report: dict[str, Any] | None = None
    error: BaseException | None = None
    try:
        path = check_input_path(settings, task.input_path)
        params = check_path_params(settings, task.tool, task.params or {})
        report = jobs.execute(task.tool, path, task.output_dir, params, _progress_handle(settings, task))
    except Exception as exc:  # every failure is recorded; see _end
        error = exc
        if not isinstance(exc, TaskCancelled):
            log.warning("task %s: %s", task_id, exc, exc_info=not isinstance(exc, TaskqError), extra=extra)
    outcome = _end(settings, task, worker, error, report)
    log.info(
        "task %s: attempt %s ended %s", task_id, task.attempt, outcome, extra={**extra, "outcome": outcome}
    )
    if outcome == S.FAILED.value:
        err = _classify(error) if error else JobFailed()
        raise JobFailed(f"task {task_id} failed: {err.code}: {err.message}")
    return {"task_id": task_id, "outcome": outcome}
