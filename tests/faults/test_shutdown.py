"""SIGTERM while a long job runs: after the grace the task goes back to the queue as the same attempt."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from taskq import queues
from taskq.api import TaskQ
from taskq.config import Settings
from taskq.models import utcnow
from taskq.testing import WorkerProcess, wait_for

from ._support import (
    assert_completed_output,
    assert_no_staging_leftovers,
    assert_single_outcome,
    events,
    path_of,
    record_bench,
    tasks,
    wait_all,
)
from .conftest import INPUT_ROWS

pytestmark = pytest.mark.faults

GRACE = 1.5
CANCEL_GRACE = 1.5
SLACK = 3.5
"""Seconds allowed beyond a deadline: one supervision interval, a progress check, start-up noise."""


def _sigterm_then_resume(
    settings: Settings, csv_input: Path, tool: str, params: dict[str, Any], started: Any
) -> tuple[str, float, Any]:
    """Run ``tool`` on worker A, SIGTERM A once ``started(row)``, finish on worker B.

    Returns the task id, seconds from SIGTERM to the re-queue event, and the event.
    """
    client = TaskQ(settings)
    first = WorkerProcess(settings, ["testq"], name="term-a").start()
    try:
        task_id = client.submit(tool, csv_input, params).id
        wait_for(
            lambda: started(tasks(settings, [task_id])[task_id]), 30, interval=0.05, what="the job to run"
        )
        sent = utcnow()
        first.signal(signal.SIGTERM)
        assert first.wait(GRACE + CANCEL_GRACE + 30) == 0, first.log()
    finally:
        first.stop()
    row = tasks(settings, [task_id])[task_id]
    assert row.status == "QUEUED" and row.attempt == 1, (row.status, row.attempt)
    requeue = events(settings, [task_id])[task_id][-1]
    assert path_of(requeue) == "PROCESSING->QUEUED" and requeue.attempt == 1 and requeue.worker == "term-a"
    # The worker re-enqueued it before exiting: a live job waits for the next worker.
    conn = queues.connect(settings)
    try:
        assert queues.job_state(task_id, conn) in queues.LIVE_JOB_STATES
    finally:
        conn.close()
    with WorkerProcess(settings, ["testq"], name="term-b"):
        wait_all(settings, [task_id], {"COMPLETED"}, 60, "the re-queued task to complete")
    return task_id, (requeue.at - sent).total_seconds(), requeue


def _assert_same_attempt_completed(settings: Settings, task_id: str) -> None:
    row, evs = tasks(settings, [task_id])[task_id], events(settings, [task_id])[task_id]
    paths = [path_of(e) for e in evs]
    assert row.status == "COMPLETED" and row.attempt == 1, paths
    assert_single_outcome(evs, "COMPLETED")
    tail = ["PROCESSING->QUEUED", "QUEUED->PROCESSING", "PROCESSING->COMPLETED"]
    assert paths in (
        ["None->CREATED", "CREATED->QUEUED", "QUEUED->PROCESSING", *tail],
        ["None->CREATED", "CREATED->PROCESSING", *tail],
    ), paths
    runs = [(e.worker, e.attempt) for e in evs if e.to_status == "PROCESSING"]
    assert runs == [("term-a", 1), ("term-b", 1)], runs
    assert all(e.attempt == 1 for e in evs)
    assert evs[-1].worker == "term-b"
    assert_completed_output(row, INPUT_ROWS)
    assert_no_staging_leftovers(settings)


def test_sigterm_asks_the_job_to_stop_after_the_grace(settings_on: Any, csv_input: Path) -> None:
    settings = settings_on(shutdown_grace=GRACE, cancel_grace=CANCEL_GRACE)
    task_id, took, requeue = _sigterm_then_resume(
        settings,
        csv_input,
        "test-steps",
        {"steps": 40, "step_seconds": 0.1},
        lambda row: row.status == "PROCESSING" and row.progress > 0,
    )
    assert GRACE <= took < GRACE + SLACK, took
    assert "worker shut down" in requeue.reason
    _assert_same_attempt_completed(settings, task_id)
    record_bench("sigterm_cooperative", {"grace_s": GRACE, "sigterm_to_requeue_s": round(took, 2)})


def test_sigterm_kills_a_job_that_ignores_the_stop(settings_on: Any, csv_input: Path) -> None:
    settings = settings_on(shutdown_grace=GRACE, cancel_grace=CANCEL_GRACE)
    task_id, took, requeue = _sigterm_then_resume(
        settings,
        csv_input,
        "test-stubborn",
        {"seconds": 6},
        lambda row: row.status == "PROCESSING" and row.progress >= 1,
    )
    assert GRACE + CANCEL_GRACE <= took < GRACE + CANCEL_GRACE + SLACK, took
    assert "killed at shutdown" in requeue.reason
    _assert_same_attempt_completed(settings, task_id)
    record_bench(
        "sigterm_killed",
        {"grace_s": GRACE, "cancel_grace_s": CANCEL_GRACE, "sigterm_to_requeue_s": round(took, 2)},
    )
