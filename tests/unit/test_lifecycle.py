"""Every legal and illegal transition, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from taskq import db
from taskq.config import Settings
from taskq.errors import InvalidTransition, TaskNotFound
from taskq.lifecycle import TaskStatus as S
from taskq.lifecycle import can_transition, record_created, record_progress, request_cancel, transition
from taskq.models import Task, TaskEvent

AUTOMATIC = {
    (S.CREATED, S.QUEUED),
    (S.CREATED, S.PROCESSING),
    (S.CREATED, S.CANCELLED),
    (S.CREATED, S.EXPIRED),
    (S.QUEUED, S.PROCESSING),
    (S.QUEUED, S.CANCELLED),
    (S.QUEUED, S.EXPIRED),
    (S.PROCESSING, S.COMPLETED),
    (S.PROCESSING, S.FAILED),
    (S.PROCESSING, S.CANCELLED),
    (S.PROCESSING, S.RETRYING),
    (S.PROCESSING, S.QUEUED),
    (S.RETRYING, S.QUEUED),
    (S.RETRYING, S.CANCELLED),
    (S.RETRYING, S.FAILED),
}
MANUAL = {(S.FAILED, S.QUEUED), (S.CANCELLED, S.QUEUED), (S.EXPIRED, S.QUEUED)}
ALL_PAIRS = list(itertools.product(list(S), list(S)))


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: pytest.FixtureRequest, tmp_path: Any) -> Settings:
    if request.param == "sqlite":
        s = Settings(data_dir=tmp_path)
    else:
        from tests.conftest import _truncate

        url = request.getfixturevalue("postgres_url")
        _truncate(url)
        s = Settings(database_url=url)
    yield s
    db.dispose_all()


def _task(settings: Settings, status: S) -> str:
    task_id = str(uuid.uuid4())
    with db.session_scope(settings) as s:
        record_created(
            s,
            Task(
                id=task_id,
                tool="profile-my-data",
                params={},
                input_path="/x",
                output_dir="/y",
                queue="profile",
                max_attempts=3,
                attempt=1,
                progress=0.0,
            ),
        )
        if status is not S.CREATED:
            # Put it in place directly: the test is about the edge out of `status`.
            s.execute(Task.__table__.update().where(Task.id == task_id).values(status=status.value))
    return task_id


def _status(settings: Settings, task_id: str) -> str:
    with db.session_scope(settings) as s:
        return s.get(Task, task_id).status


def _events(settings: Settings, task_id: str) -> list[tuple[str | None, str]]:
    with db.session_scope(settings) as s:
        rows = s.execute(
            select(TaskEvent.from_status, TaskEvent.to_status)
            .where(TaskEvent.task_id == task_id)
            .order_by(TaskEvent.id)
        )
        return [tuple(r) for r in rows]


@pytest.mark.parametrize(("frm", "to"), ALL_PAIRS, ids=[f"{a.value}->{b.value}" for a, b in ALL_PAIRS])
def test_automatic_edges(any_db: Settings, frm: S, to: S) -> None:
    task_id = _task(any_db, frm)
    before = _events(any_db, task_id)
    if (frm, to) in AUTOMATIC:
        with db.session_scope(any_db) as s:
            assert transition(s, task_id, to, reason="test") is frm
        assert _status(any_db, task_id) == to.value
        assert _events(any_db, task_id) == [*before, (frm.value, to.value)]
    else:
        with pytest.raises(InvalidTransition) as err, db.session_scope(any_db) as s:
            transition(s, task_id, to, reason="test")
        assert err.value.code == "INVALID_TRANSITION"
        assert _status(any_db, task_id) == frm.value
        assert _events(any_db, task_id) == before


@pytest.mark.parametrize(("frm", "to"), ALL_PAIRS, ids=[f"{a.value}->{b.value}" for a, b in ALL_PAIRS])
def test_manual_edges_only_with_manual(any_db: Settings, frm: S, to: S) -> None:
    assert can_transition(frm, to) == ((frm, to) in AUTOMATIC)
    assert can_transition(frm, to, manual=True) == ((frm, to) in AUTOMATIC | MANUAL)
    if (frm, to) not in MANUAL:
        return
    task_id = _task(any_db, frm)
    with pytest.raises(InvalidTransition), db.session_scope(any_db) as s:
        transition(s, task_id, to, reason="automatic attempt")
    with db.session_scope(any_db) as s:
        transition(s, task_id, to, reason="manual retry", manual=True, attempt=2)
    assert _status(any_db, task_id) == to.value


def test_ended_tasks_never_change_silently(any_db: Settings) -> None:
    for ended in (S.COMPLETED, S.FAILED, S.CANCELLED, S.EXPIRED):
        task_id = _task(any_db, ended)
        for to in S:
            with pytest.raises(InvalidTransition), db.session_scope(any_db) as s:
                transition(s, task_id, to, reason="should not happen")
        assert _status(any_db, task_id) == ended.value


def test_guard_blocks_a_stale_attempt(any_db: Settings) -> None:
    task_id = _task(any_db, S.PROCESSING)
    with pytest.raises(InvalidTransition), db.session_scope(any_db) as s:
        transition(s, task_id, S.COMPLETED, reason="stale", guards={"attempt": 2})
    assert _status(any_db, task_id) == "PROCESSING"


def test_frm_narrower_than_legal(any_db: Settings) -> None:
    task_id = _task(any_db, S.QUEUED)
    with pytest.raises(InvalidTransition), db.session_scope(any_db) as s:
        transition(s, task_id, S.CANCELLED, frm=[S.PROCESSING], reason="only if running")
    with pytest.raises(InvalidTransition), db.session_scope(any_db) as s:
        transition(s, task_id, S.COMPLETED, frm=[S.QUEUED], reason="not a legal source")


def test_unknown_task(any_db: Settings) -> None:
    with pytest.raises(TaskNotFound), db.session_scope(any_db) as s:
        transition(s, "nope", S.QUEUED, reason="x")


def test_timestamps_and_fields(any_db: Settings) -> None:
    task_id = _task(any_db, S.QUEUED)
    with db.session_scope(any_db) as s:
        transition(s, task_id, S.PROCESSING, reason="go", worker="w1")
        transition(s, task_id, S.FAILED, reason="boom", error_code="X", error_message="m" * 5000)
    with db.session_scope(any_db) as s:
        task = s.get(Task, task_id)
        assert task.worker == "w1"
        assert task.started_at is not None and task.finished_at is not None
        assert task.started_at.tzinfo is not None
        assert len(task.error_message) == 1000


def test_a_cancelled_task_does_not_keep_a_done_stage(any_db: Settings) -> None:
    # Cancelled after its tool reported 100 % "done", the task showed CANCELLED, 100 %, done.
    task_id = _task(any_db, S.QUEUED)
    with db.session_scope(any_db) as s:
        transition(s, task_id, S.PROCESSING, reason="go", worker="w1")
        record_progress(s, task_id, 1, 100.0, "done")
        transition(s, task_id, S.CANCELLED, reason="cancel requested")
    with db.session_scope(any_db) as s:
        task = s.get(Task, task_id)
        assert (task.status, task.stage) == ("CANCELLED", "cancelled")


def test_a_requeued_task_shows_no_worker_or_heartbeat(any_db: Settings) -> None:
    # QA: after a retry, a QUEUED task showed the last attempt's worker and heartbeat.
    task_id = _task(any_db, S.QUEUED)
    with db.session_scope(any_db) as s:
        transition(s, task_id, S.PROCESSING, reason="go", worker="w1")
        record_progress(s, task_id, 1, 40.0, "reading")
        transition(s, task_id, S.FAILED, reason="boom", worker="w1", error_code="X")
    with db.session_scope(any_db) as s:
        assert s.get(Task, task_id).heartbeat_at is not None
        transition(s, task_id, S.QUEUED, reason="manual retry", manual=True, attempt=2)
    with db.session_scope(any_db) as s:
        task = s.get(Task, task_id)
        assert (task.status, task.worker, task.heartbeat_at) == ("QUEUED", None, None)
        who = s.execute(select(TaskEvent.worker).where(TaskEvent.to_status == "FAILED")).scalar_one()
        assert who == "w1"  # the history keeps it


def test_request_cancel_only_when_processing(any_db: Settings) -> None:
    queued = _task(any_db, S.QUEUED)
    running = _task(any_db, S.PROCESSING)
    with db.session_scope(any_db) as s:
        assert not request_cancel(s, queued)
        assert request_cancel(s, running)
        assert not request_cancel(s, running)  # already requested
    with db.session_scope(any_db) as s:
        assert s.get(Task, running).cancel_requested_at is not None
        assert s.get(Task, running).status == "PROCESSING"


def test_a_transition_that_waited_for_another_records_the_state_it_really_left(any_db: Settings) -> None:
    # Under READ COMMITTED the state was read before the UPDATE waited on a concurrent
    # transition's lock: the event said CREATED -> PROCESSING after CREATED -> QUEUED.
    import threading
    import time

    task_id = _task(any_db, S.CREATED)
    first = db.session_scope(any_db)
    s1 = first.__enter__()
    transition(s1, task_id, S.QUEUED, frm=[S.CREATED], reason="enqueued")

    def take() -> None:
        with db.session_scope(any_db) as s2:
            transition(s2, task_id, S.PROCESSING, frm=[S.CREATED, S.QUEUED], reason="picked up", worker="w")

    second = threading.Thread(target=take)
    second.start()
    time.sleep(0.5)  # the second transition is now waiting on the row (SQLite: on the database)
    first.__exit__(None, None, None)
    second.join(10)
    with db.session_scope(any_db) as s:
        moves = [(e.from_status, e.to_status) for e in s.scalars(
            select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id))]  # fmt: skip
    assert moves == [(None, "CREATED"), ("CREATED", "QUEUED"), ("QUEUED", "PROCESSING")]
