"""Races: a cancel against a finishing task, and two workers against one task."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from taskq import db, queues
from taskq.api import TaskQ
from taskq.config import Settings
from taskq.errors import TaskNotCancellable
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

CANCEL_RACES = 20
DOUBLE_RUNS = 8


@pytest.fixture(params=["sqlite", "postgres"])
def race_settings(request: pytest.FixtureRequest, settings_on: Any) -> Settings:
    """Fault settings on SQLite, then on a private PostgreSQL (read committed: the interesting one)."""
    if request.param == "sqlite":
        return settings_on()
    cluster = request.getfixturevalue("private_postgres")
    settings = settings_on(database_url=cluster.url)
    db.upgrade(settings)
    return settings


def test_cancel_racing_completion_has_one_outcome(race_settings: Settings, csv_input: Path) -> None:
    """Cancel lands around the moment a short task finishes: COMPLETED or CANCELLED, once.

    A cancel the API acknowledged (task still PROCESSING, flag set) must end
    CANCELLED; a cancel refused because the task had ended leaves it COMPLETED.
    """
    settings = race_settings
    client = TaskQ(settings)
    rng = random.Random(99)
    steps = 4
    ids = [
        client.submit("test-steps", csv_input, {"steps": steps, "step_seconds": 0.1}).id
        for _ in range(CANCEL_RACES)
    ]
    acknowledged: dict[str, bool] = {}
    with WorkerProcess(settings, ["testq"], name="racer"):
        for task_id in ids:
            wait_for(
                lambda t=task_id: (
                    (row := tasks(settings, [t])[t]).status == "COMPLETED"
                    or row.stage == f"step {steps}/{steps}"
                ),
                30,
                interval=0.01,
                what=f"task {task_id} in its last step",
            )
            # The last step sleeps 0.1 s, then the outputs are written and published.
            time.sleep(rng.uniform(0.0, 0.2))
            try:
                info = client.cancel(task_id)
            except TaskNotCancellable:
                acknowledged[task_id] = False
            else:
                # Flag set: the task may already show CANCELLED. Not set: it had completed.
                flagged = info.task["cancel_requested_at"] is not None
                assert flagged or info.status == "COMPLETED", info.task
                acknowledged[task_id] = flagged
        wait_all(settings, ids, {"COMPLETED", "CANCELLED"}, 60, "every raced task to end")
        time.sleep(1.0)  # let any late, wrong write show up

    rows, history = tasks(settings, ids), events(settings, ids)
    outcome = Counter()
    for task_id in ids:
        row, evs = rows[task_id], history[task_id]
        paths = [path_of(e) for e in evs]
        assert row.status in ("COMPLETED", "CANCELLED"), paths
        assert_single_outcome(evs, row.status)
        assert paths.count("QUEUED->PROCESSING") + paths.count("CREATED->PROCESSING") == 1, paths
        assert paths[-1] == f"PROCESSING->{row.status}", paths
        if acknowledged[task_id]:
            assert row.status == "CANCELLED", f"acknowledged cancel, yet {paths}"
        if row.status == "COMPLETED":
            assert_completed_output(row, INPUT_ROWS)
        else:
            assert row.cancel_requested_at is not None and row.error_code == "CANCELLED"
            assert not Path(row.output_dir).exists(), f"{task_id}: cancelled task kept outputs"
        outcome[row.status] += 1
    assert_no_staging_leftovers(settings)
    # The random delay straddles the finish; both outcomes must have happened.
    assert outcome["COMPLETED"] > 0 and outcome["CANCELLED"] > 0, outcome
    backend = "postgres" if settings.database_url else "sqlite"
    record_bench(f"cancel_race_{backend}", {"races": len(ids), **outcome})


def test_two_workers_get_the_same_job_one_run_recorded(race_settings: Settings, csv_input: Path) -> None:
    """The task's job id is pushed twice while two workers wait: both run it, one takes it."""
    settings = race_settings
    client = TaskQ(settings)
    workers = [WorkerProcess(settings, ["testq"], name=n) for n in ("twin-a", "twin-b")]
    conn = queues.connect(settings)
    key = queues.queue("testq", conn).key
    ids: list[str] = []
    try:
        for w in workers:
            w.start()
        for _ in range(DOUBLE_RUNS):
            # Both workers idle (blocked on the queue) before the next pair lands.
            wait_for(lambda: conn.llen(key) == 0, 10, interval=0.02, what="both copies dequeued")
            time.sleep(0.1)
            info = client.submit("test-steps", csv_input, {"steps": 2, "step_seconds": 0.05})
            conn.rpush(key, info.id)
            ids.append(info.id)
            wait_all(settings, [info.id], {"COMPLETED"}, 30, "the doubled task to complete")
        wait_for(
            lambda: (
                sum(w.log_path.read_text().count("acknowledged and skipped") for w in workers) >= len(ids)
            ),
            30,
            interval=0.1,
            what="every second copy to have run",
        )
        time.sleep(1.0)  # any late write
    finally:
        for w in workers:
            w.stop()
        conn.close()

    logs = {w.name: w.log_path.read_text() for w in workers}
    # The run that lost the race is skipped quietly, not failed in RQ.
    for name, text in logs.items():
        assert "exception raised while executing" not in text, f"{name}: {text[-3000:]}"
    rows, history = tasks(settings, ids), events(settings, ids)
    both = 0
    for task_id in ids:
        row, evs = rows[task_id], history[task_id]
        paths = [path_of(e) for e in evs]
        assert row.status == "COMPLETED" and row.attempt == 1, paths
        assert_single_outcome(evs, "COMPLETED")
        assert paths in (
            ["None->CREATED", "CREATED->QUEUED", "QUEUED->PROCESSING", "PROCESSING->COMPLETED"],
            ["None->CREATED", "CREATED->PROCESSING", "PROCESSING->COMPLETED"],
        ), paths
        assert_completed_output(row, INPUT_ROWS)
        # Both copies were executed: one ran the task, the other was skipped.
        dequeued = {name: text.count(f"testq: test-steps task {task_id}") for name, text in logs.items()}
        skipped = sum(text.count(f"task {task_id} is ") for text in logs.values())
        assert sum(dequeued.values()) == 2 and skipped == 1, (task_id, dequeued, skipped)
        both += all(n == 1 for n in dequeued.values())
    assert_no_staging_leftovers(settings)
    backend = "postgres" if settings.database_url else "sqlite"
    record_bench(f"double_dispatch_{backend}", {"tasks": len(ids), "ran_on_both_workers": both})
