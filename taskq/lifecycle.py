"""Task statuses, the legal transitions, and the only code that writes ``Task.status``.

Every status change is a compare-and-set::

    UPDATE tasks SET status = :to, ... WHERE id = :id AND status IN (:legal_sources) [AND <guards>]

followed, in the same transaction, by an inserted ``task_events`` row. When no
row was updated somebody else moved the task first: :func:`transition` raises
(``INVALID_TRANSITION``, or ``TASK_NOT_FOUND``) and changes nothing. A task that
has ended (COMPLETED, FAILED, CANCELLED, EXPIRED) only ever leaves that state
through a manual retry, which starts a new attempt and keeps the history.

The graph (``*`` marks edges only a manual retry may take)::

    CREATED    -> QUEUED | PROCESSING | CANCELLED | EXPIRED
    QUEUED     -> PROCESSING | CANCELLED | EXPIRED
    PROCESSING -> COMPLETED | FAILED | CANCELLED | RETRYING
                  | QUEUED   (worker shut down: back in the queue, same attempt)
    RETRYING   -> QUEUED | CANCELLED | FAILED
    FAILED | CANCELLED | EXPIRED -> QUEUED *

Non-status fields that change while a task runs (progress, heartbeat, the cancel
request) are written here too, guarded the same way, so this module is the one
place to read to know how a row can change.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .errors import InvalidTransition, TaskNotFound, truncate_message
from .models import Task, TaskEvent, utcnow

__all__ = [
    "ACTIVE",
    "ENDED",
    "TaskStatus",
    "can_transition",
    "heartbeat",
    "record_progress",
    "request_cancel",
    "transition",
]

log = logging.getLogger(__name__)


class TaskStatus(enum.StrEnum):
    CREATED = "CREATED"
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    RETRYING = "RETRYING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"

    def __str__(self) -> str:
        return self.value


S = TaskStatus

ENDED = frozenset({S.COMPLETED, S.FAILED, S.CANCELLED, S.EXPIRED})
"""States a task rests in until a manual retry."""

ACTIVE = frozenset({S.CREATED, S.QUEUED, S.PROCESSING, S.RETRYING})

_SOURCES: dict[TaskStatus, frozenset[TaskStatus]] = {
    S.QUEUED: frozenset({S.CREATED, S.PROCESSING, S.RETRYING}),
    S.PROCESSING: frozenset({S.CREATED, S.QUEUED}),
    S.RETRYING: frozenset({S.PROCESSING}),
    S.COMPLETED: frozenset({S.PROCESSING}),
    S.FAILED: frozenset({S.PROCESSING, S.RETRYING}),
    S.CANCELLED: frozenset({S.CREATED, S.QUEUED, S.PROCESSING, S.RETRYING}),
    S.EXPIRED: frozenset({S.CREATED, S.QUEUED}),
}
"""Automatic edges: target -> the states it may be entered from."""

_MANUAL_SOURCES: dict[TaskStatus, frozenset[TaskStatus]] = {
    S.QUEUED: frozenset({S.FAILED, S.CANCELLED, S.EXPIRED}),
}
"""Edges only a manual retry (``manual=True``) may take."""

# Timestamps a transition into each state sets.
_STAMPS: dict[TaskStatus, str] = {
    S.QUEUED: "queued_at",
    S.PROCESSING: "started_at",
    S.COMPLETED: "finished_at",
    S.FAILED: "finished_at",
    S.CANCELLED: "finished_at",
    S.EXPIRED: "finished_at",
}

_SETTABLE = frozenset(
    {
        "progress",
        "stage",
        "attempt",
        "max_attempts",
        "error_code",
        "error_message",
        "result",
        "worker",
        "heartbeat_at",
        "next_attempt_at",
        "cancel_requested_at",
        "started_at",
        "finished_at",
    }
)


def sources(to: TaskStatus, *, manual: bool = False) -> frozenset[TaskStatus]:
    """The states from which ``to`` may be entered."""
    allowed = _SOURCES.get(to, frozenset())
    if manual:
        allowed = allowed | _MANUAL_SOURCES.get(to, frozenset())
    return allowed


def can_transition(frm: TaskStatus | str, to: TaskStatus | str, *, manual: bool = False) -> bool:
    """Whether ``frm -> to`` is a legal edge."""
    return TaskStatus(frm) in sources(TaskStatus(to), manual=manual)


def transition(
    session: Session,
    task_id: str,
    to: TaskStatus,
    *,
    frm: Iterable[TaskStatus] | None = None,
    reason: str,
    worker: str | None = None,
    manual: bool = False,
    guards: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
    error: type[InvalidTransition] = InvalidTransition,
    **fields: Any,
) -> TaskStatus:
    """Move task ``task_id`` to ``to`` if it is in one of ``frm``; return the state it left.

    Args:
        session: the caller's transaction; the event row is added to it, and the
            caller's commit makes both visible together.
        frm: the states the caller expects; defaults to every legal source. Must be
            a subset of the legal sources.
        reason: why, in words an operator understands (stored on the event).
        worker: the worker making the change (stored on the event; entering
            PROCESSING also records it as the task's worker).
        manual: allow the edges only a manual retry may take.
        guards: extra ``column == value`` conditions (e.g. ``{"attempt": 2}``) so a
            stale worker cannot end a newer attempt.
        details: stored on the event (e.g. a traceback); never shown to end users.
        error: the InvalidTransition subclass to raise when the task is elsewhere.
        **fields: other columns to set in the same UPDATE (see ``_SETTABLE``).

    Raises:
        TaskNotFound: no such task.
        InvalidTransition (or ``error``): the task was not in ``frm`` (or a guard
            failed); nothing was written.
    """
    to = TaskStatus(to)
    legal = sources(to, manual=manual)
    wanted = legal if frm is None else frozenset(TaskStatus(s) for s in frm)
    if not wanted <= legal:
        bad = ", ".join(sorted(s.value for s in wanted - legal))
        raise error(f"{bad} -> {to.value} is not a legal transition", task_id=task_id)
    unknown = set(fields) - _SETTABLE
    if unknown:
        raise ValueError(f"transition() cannot set {sorted(unknown)}")
    now = utcnow()
    values: dict[str, Any] = {"status": to.value, "updated_at": now, **fields}
    if to is S.PROCESSING:
        values["worker"] = worker
    if to is S.QUEUED:
        # Waiting in a queue, no worker has it: the last attempt's worker and heartbeat
        # showed as if it were running (QA). The event rows keep who had it.
        values.setdefault("worker", None)
        values.setdefault("heartbeat_at", None)
    if to is S.CANCELLED:
        # The last stage reported may be "done": the outputs were not published all the same.
        values.setdefault("stage", "cancelled")
    stamp = _STAMPS.get(to)
    if stamp and stamp not in fields:
        values[stamp] = now
    if "error_message" in values and values["error_message"] is not None:
        values["error_message"] = truncate_message(str(values["error_message"]))
    # The state left, for the event row: read with the row locked (PostgreSQL; SQLite
    # writes one at a time anyway), else under READ COMMITTED a concurrent transition
    # committed between this read and the UPDATE, whose WHERE re-checks the new row,
    # would leave an event saying CREATED -> PROCESSING after CREATED -> QUEUED.
    row = session.execute(
        select(Task.status, Task.attempt).where(Task.id == task_id).with_for_update()
    ).first()
    if row is None:
        raise TaskNotFound(f"no task {task_id}", task_id=task_id)
    stmt = (
        update(Task)
        .where(Task.id == task_id, Task.status.in_([s.value for s in wanted]))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    for column, expected in (guards or {}).items():
        stmt = stmt.where(getattr(Task, column) == expected)
    if session.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
        current = session.execute(select(Task.status).where(Task.id == task_id)).scalar_one()
        raise error(
            f"task {task_id} is {current}; cannot move it to {to.value}",
            task_id=task_id,
            status=current,
            target=to.value,
        )
    frm_status = TaskStatus(row.status)
    session.add(
        TaskEvent(
            task_id=task_id,
            at=now,
            from_status=frm_status.value,
            to_status=to.value,
            reason=reason,
            worker=worker,
            attempt=int(fields.get("attempt", row.attempt)),
            details=dict(details) if details else None,
        )
    )
    session.flush()
    log.info(
        "task %s: %s -> %s (%s)",
        task_id,
        frm_status.value,
        to.value,
        reason,
        extra={"task_id": task_id, "from": frm_status.value, "to": to.value, "worker": worker},
    )
    return frm_status


def record_created(session: Session, task: Task, reason: str = "submitted") -> None:
    """Insert a new task (status CREATED) and its first event."""
    task.status = S.CREATED.value
    session.add(task)
    session.flush()
    session.add(
        TaskEvent(
            task_id=task.id,
            at=task.created_at,
            from_status=None,
            to_status=S.CREATED.value,
            reason=reason,
            attempt=1,
        )
    )
    session.flush()


def record_progress(session: Session, task_id: str, attempt: int, percent: float, stage: str | None) -> bool:
    """Store progress of a running attempt; False if the task is no longer running it."""
    stmt = (
        update(Task)
        .where(Task.id == task_id, Task.status == S.PROCESSING.value, Task.attempt == attempt)
        .values(progress=percent, stage=stage, updated_at=utcnow(), heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]


def heartbeat(session: Session, task_id: str, attempt: int, worker: str) -> bool:
    """Mark a running attempt alive; False if it is no longer running (or not ours)."""
    stmt = (
        update(Task)
        .where(
            Task.id == task_id,
            Task.status == S.PROCESSING.value,
            Task.attempt == attempt,
            Task.worker == worker,
        )
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]


def request_cancel(session: Session, task_id: str, at: datetime | None = None) -> bool:
    """Flag a PROCESSING task for cooperative cancellation; True if the flag was set now.

    The status stays PROCESSING: the runner (or, after the grace period, the
    worker that kills it) moves it to CANCELLED.
    """
    stmt = (
        update(Task)
        .where(Task.id == task_id, Task.status == S.PROCESSING.value, Task.cancel_requested_at.is_(None))
        .values(cancel_requested_at=at or utcnow(), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]
