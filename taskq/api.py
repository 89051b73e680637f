"""The Python facade every caller uses: the web app, the CLI and host code.

``TaskQ(settings)`` offers ``submit / get / list / cancel / retry`` (plus
``retry_failed`` and ``overview`` for operators). The module-level functions of
the same names use one instance built from the environment on first use.

The SQL row is written before anything touches Redis; Redis being down never
loses a submitted task (it stays CREATED and a warning says so; the maintenance
relay dispatches it when Redis is back).
"""

from __future__ import annotations

import builtins
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import jobs, lifecycle, queues
from .config import Settings
from .db import session_scope
from .errors import (
    InputNotFound,
    InvalidParams,
    InvalidTransition,
    RedisUnavailable,
    TaskNotCancellable,
    TaskNotFound,
    TaskNotRetryable,
)
from .lifecycle import TaskStatus
from .models import Task, TaskEvent, utcnow
from .runner import check_input_path, check_path_params

__all__ = ["TaskInfo", "TaskQ", "cancel", "default_client", "get", "list_tasks", "retry", "submit"]

log = logging.getLogger(__name__)

MAX_ID = 200
"""Longest ``user_id`` and ``idempotency_key`` (their columns' size)."""


def _checked_text(name: str, value: str | None) -> str | None:
    """``value`` if it is at most :data:`MAX_ID` characters and has no NUL (PostgreSQL
    refuses both, with a driver error rather than a message a client can act on)."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_ID or "\x00" in value:
        shown = value[:40] + "…" if isinstance(value, str) and len(value) > 40 else value
        raise InvalidParams(
            f"{name} must be a string of at most {MAX_ID} characters without NUL, not {shown!r}"
        )
    return value


def _known_id(task_id: str) -> str:
    """``task_id`` if it could be a task id (ids are 36-character UUIDs); else TaskNotFound."""
    if not isinstance(task_id, str) or len(task_id) > 36 or "\x00" in task_id:
        raise TaskNotFound(f"no task {str(task_id)[:40]!r}", task_id=str(task_id)[:40])
    return task_id


S = TaskStatus


@dataclass(frozen=True)
class TaskInfo:
    """A snapshot of a task row, plus what the call that returned it wants you to know."""

    task: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.task["id"])

    @property
    def status(self) -> TaskStatus:
        return TaskStatus(self.task["status"])

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.task)
        if self.events:
            out["events"] = self.events
        if self.warnings:
            out["warnings"] = self.warnings
        return out


class TaskQ:
    """The task facade, bound to one :class:`Settings`."""

    def __init__(self, settings: Settings, redis_connection: redis.Redis | None = None) -> None:
        self.settings = settings
        self._redis = redis_connection
        jobs.load_plugins(settings.plugin_modules)

    @property
    def redis(self) -> redis.Redis:
        if self._redis is None:
            self._redis = queues.connect(self.settings)
        return self._redis

    # Submit ------------------------------------------------------------------------

    def submit(
        self,
        tool: str,
        input_path: str | os.PathLike[str],
        params: dict[str, Any] | None = None,
        *,
        user_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> TaskInfo:
        """Store a task and put it on its tool's queue.

        Same ``idempotency_key`` and ``user_id`` return the task created first
        (a different tool, input or params with the same key is refused).

        Raises:
            UnknownTool, InvalidParams, InputNotFound, InputNotAllowed: nothing stored
                (path parameters such as profile's ``baseline`` are held to the roots too).
            DatabaseUnavailable: nothing stored.
        """
        spec = jobs.resolve(tool)
        _checked_text("user_id", user_id)
        if idempotency_key is not None and not _checked_text("idempotency_key", idempotency_key):
            raise InvalidParams(f"idempotency_key must be 1 to {MAX_ID} characters")
        checked = check_path_params(self.settings, spec.name, jobs.validate_params(spec.name, params))
        path = check_input_path(self.settings, input_path)
        if not path.is_file():
            raise InputNotFound(f"input file not found: {input_path}", path=str(input_path))
        user = user_id or ""
        if idempotency_key:
            existing = self._by_key(user, idempotency_key)
            if existing is not None:
                return self._same_request(existing, spec.name, path, checked)
        task_id = str(uuid.uuid4())
        now = utcnow()
        row = Task(
            id=task_id,
            user_id=user,
            tool=spec.name,
            params=checked,
            input_path=str(path),
            output_dir=str((self.settings.outputs / task_id).resolve()),
            queue=self.settings.queue_for(spec.name, spec.default_queue),
            progress=0.0,
            attempt=1,
            max_attempts=self.settings.max_attempts,
            idempotency_key=idempotency_key,
            created_at=now,
            updated_at=now,
        )
        try:
            with session_scope(self.settings) as s:
                lifecycle.record_created(s, row)
        except IntegrityError:
            existing = self._by_key(user, idempotency_key or "")
            if existing is None:
                raise
            return self._same_request(existing, spec.name, path, checked)
        warnings = self._dispatch(row)
        return self.get(task_id, events=False, warnings=warnings)

    def _by_key(self, user: str, key: str) -> Task | None:
        with session_scope(self.settings) as s:
            return s.scalars(select(Task).where(Task.user_id == user, Task.idempotency_key == key)).first()

    def _same_request(self, existing: Task, tool: str, path: Path, params: dict[str, Any]) -> TaskInfo:
        if (existing.tool, existing.input_path, existing.params) != (tool, str(path), params):
            raise InvalidParams(
                f"idempotency key {existing.idempotency_key!r} was already used for task {existing.id} "
                "with a different tool, input or params",
                task_id=existing.id,
            )
        return self.get(existing.id)

    def _dispatch(self, row: Task) -> list[str]:
        """Enqueue a CREATED task and mark it QUEUED; warnings instead of errors."""
        try:
            queues.enqueue(self.settings, self.redis, task_id=row.id, tool=row.tool, queue_name=row.queue)
        except RedisUnavailable as exc:
            log.warning("task %s stored but not dispatched: %s", row.id, exc, extra={"task_id": row.id})
            return [f"{exc.code}: task stored as CREATED; it is dispatched when Redis is reachable again"]
        try:
            with session_scope(self.settings) as s:
                lifecycle.transition(s, row.id, S.QUEUED, frm=[S.CREATED], reason=f"enqueued on {row.queue}")
        except InvalidTransition:
            pass  # a worker already took it (CREATED -> PROCESSING), or it was cancelled
        return []

    # Read ---------------------------------------------------------------------------

    def get(self, task_id: str, *, events: bool = True, warnings: list[str] | None = None) -> TaskInfo:
        """The task and (by default) its event history, oldest first.

        Raises:
            TaskNotFound
        """
        with session_scope(self.settings) as s:
            task = s.get(Task, _known_id(task_id))
            if task is None:
                raise TaskNotFound(f"no task {task_id}", task_id=task_id)
            history = []
            if events:
                rows = s.scalars(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id))
                history = [e.to_dict() for e in rows]
            return TaskInfo(task.to_dict(), history, list(warnings or []))

    def list(
        self,
        *,
        status: str | None = None,
        tool: str | None = None,
        user_id: str | None = None,
        limit: int = 50,
    ) -> list[TaskInfo]:
        """Newest tasks first (at most ``limit``, 0 to 10,000), filtered by status, tool and user."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 10_000:
            raise InvalidParams(f"limit must be an integer from 0 to 10000, not {limit!r}")
        if limit == 0:
            return []
        _checked_text("user_id", user_id)
        stmt = select(Task).order_by(Task.created_at.desc()).limit(limit)
        if status:
            try:
                wanted = TaskStatus(status.strip().upper())
            except ValueError:
                known = ", ".join(s.value for s in TaskStatus)
                raise InvalidParams(f"unknown status {status!r}; known: {known}") from None
            stmt = stmt.where(Task.status == wanted.value)
        if tool:
            stmt = stmt.where(Task.tool == jobs.resolve(tool).name)
        if user_id is not None:
            stmt = stmt.where(Task.user_id == user_id)
        with session_scope(self.settings) as s:
            return [TaskInfo(t.to_dict()) for t in s.scalars(stmt)]

    # Steer --------------------------------------------------------------------------

    def cancel(self, task_id: str, *, reason: str = "cancelled by operator") -> TaskInfo:
        """Cancel a task.

        CREATED, QUEUED and RETRYING tasks become CANCELLED at once and their job
        leaves Redis. A PROCESSING task is flagged: it stops at its next progress
        check and ends CANCELLED; if it has not stopped within the cancel grace
        period its worker kills the work horse and records CANCELLED. The
        returned task is then still PROCESSING with ``cancel_requested_at`` set.

        Raises:
            TaskNotFound; TaskNotCancellable when the task has already ended.
        """
        warnings: list[str] = []
        with session_scope(self.settings) as s:
            task = s.get(Task, _known_id(task_id))
            if task is None:
                raise TaskNotFound(f"no task {task_id}", task_id=task_id)
            status = TaskStatus(task.status)
            if status in lifecycle.ENDED:
                raise TaskNotCancellable(
                    f"task {task_id} is {status.value}; only unfinished tasks can be cancelled"
                )
            if status is S.PROCESSING:
                lifecycle.request_cancel(s, task_id)
            else:
                lifecycle.transition(
                    s,
                    task_id,
                    S.CANCELLED,
                    frm=[S.CREATED, S.QUEUED, S.RETRYING],
                    reason=reason,
                    error=TaskNotCancellable,
                    error_code="CANCELLED",
                    error_message="cancelled by request",
                )
        if status is not S.PROCESSING:
            try:
                queues.remove_job(self.settings, self.redis, task_id)
            except RedisUnavailable as exc:
                warnings.append(
                    f"{exc.code}: Redis is unreachable; a job left there for this task is skipped when taken"
                )
        return self.get(task_id, warnings=warnings)

    def retry(self, task_id: str, *, reason: str = "manual retry") -> TaskInfo:
        """Start a new attempt of a FAILED, CANCELLED or EXPIRED task; history is kept.

        The new attempt gets the full automatic-retry budget again.

        Raises:
            TaskNotFound; TaskNotRetryable for any other status.
        """
        with session_scope(self.settings) as s:
            task = s.get(Task, _known_id(task_id))
            if task is None:
                raise TaskNotFound(f"no task {task_id}", task_id=task_id)
            attempt = task.attempt + 1
            lifecycle.transition(
                s,
                task_id,
                S.QUEUED,
                frm=[S.FAILED, S.CANCELLED, S.EXPIRED],
                manual=True,
                reason=reason,
                error=TaskNotRetryable,
                attempt=attempt,
                max_attempts=attempt + self.settings.max_attempts - 1,
                progress=0.0,
                stage=None,
                error_code=None,
                error_message=None,
                result=None,
                cancel_requested_at=None,
                next_attempt_at=None,
                started_at=None,
                finished_at=None,
            )
            tool, queue_name = task.tool, task.queue
        warnings = []
        try:
            queues.enqueue(
                self.settings, self.redis, task_id=task_id, tool=tool, queue_name=queue_name, force=True
            )
        except RedisUnavailable as exc:
            warnings.append(f"{exc.code}: task is QUEUED; maintenance re-enqueues it when Redis is reachable")
        return self.get(task_id, warnings=warnings)

    def retry_failed(self, *, tool: str | None = None, limit: int = 10_000) -> builtins.list[TaskInfo]:
        """Retry every FAILED task (of ``tool``); tasks that moved meanwhile are skipped."""
        out = []
        for info in self.list(status=S.FAILED.value, tool=tool, limit=limit):
            try:
                out.append(self.retry(info.id, reason="manual retry (all failed)"))
            except TaskNotRetryable:
                continue
        return out

    def wait(self, task_id: str, *, timeout: float | None = None, poll: float = 0.5) -> TaskInfo:
        """Block until the task has ended (or ``timeout`` seconds passed); returns the last snapshot."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            info = self.get(task_id, events=False)
            if info.status in lifecycle.ENDED or (deadline is not None and time.monotonic() >= deadline):
                return info
            time.sleep(poll)


_default: TaskQ | None = None


def default_client() -> TaskQ:
    """A :class:`TaskQ` from the environment, built once per process."""
    global _default
    if _default is None:
        _default = TaskQ(Settings.from_env())
    return _default


def submit(
    tool: str, input_path: str | os.PathLike[str], params: dict[str, Any] | None = None, **kw: Any
) -> TaskInfo:
    return default_client().submit(tool, input_path, params, **kw)


def get(task_id: str) -> TaskInfo:
    return default_client().get(task_id)


def list_tasks(**filters: Any) -> list[TaskInfo]:
    return default_client().list(**filters)


def cancel(task_id: str) -> TaskInfo:
    return default_client().cancel(task_id)


def retry(task_id: str) -> TaskInfo:
    return default_client().retry(task_id)
