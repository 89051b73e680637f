"""A worker (and its work horse) SIGKILLed mid-job, ten times in a row."""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from taskq.api import TaskQ
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

KILLS = 10


def test_sigkilled_workers_lose_no_task_and_run_none_twice(settings_on: Any, csv_input: Path) -> None:
    """Each task's worker is killed while it runs; the next worker's maintenance
    finds the silent heartbeat and the task is re-run as attempt 2, exactly once.

    Detection time (kill -> RETRYING) is bounded by the heartbeat timeout (5 s)
    and, because the killed worker's maintenance held the maintenance lock, by
    that lock's TTL (10 s) plus one pass interval.
    """
    # No backoff: the re-run is enqueued at once, not left to RQ's scheduler,
    # whose lock the killed worker also held (RQ keeps it for 61 s).
    settings = settings_on(retry_base=0.0, retry_cap=0.0, max_attempts=3)
    client = TaskQ(settings)
    rng = random.Random(1234)
    ids: list[str] = []
    killed: dict[str, tuple[str, Any]] = {}
    detection: list[float] = []
    worker = WorkerProcess(settings, ["testq"], name="kill-00").start()
    try:
        for i in range(KILLS):
            info = client.submit("test-steps", csv_input, {"steps": 8, "step_seconds": 0.15})
            ids.append(info.id)
            wait_for(
                lambda t=info.id, w=worker.name: (
                    (row := tasks(settings, [t])[t]).status == "PROCESSING"
                    and row.worker == w
                    and row.progress > 0
                ),
                30,
                interval=0.05,
                what=f"task {i} running on {worker.name}",
            )
            time.sleep(rng.uniform(0.0, 0.5))
            at = utcnow()
            worker.kill()
            worker.stop()  # closes its log file; the process is gone already
            row = tasks(settings, [info.id])[info.id]
            assert row.status == "PROCESSING", f"task {i} was {row.status} when its worker was killed"
            killed[info.id] = (worker.name, at)
            worker = WorkerProcess(settings, ["testq"], name=f"kill-{i + 1:02d}").start()

            def retried(t: str = info.id) -> Any:
                return next((e for e in events(settings, [t])[t] if e.to_status == "RETRYING"), None)

            event = wait_for(retried, 40, interval=0.1, what=f"task {i} to be recovered")
            detection.append((event.at - at).total_seconds())
        wait_all(settings, ids, {"COMPLETED"}, 60, "every killed task to complete")
    finally:
        worker.stop()

    rows, history = tasks(settings, ids), events(settings, ids)
    for task_id in ids:
        row, evs = rows[task_id], history[task_id]
        dead_worker, _ = killed[task_id]
        paths = [path_of(e) for e in evs]
        assert row.status == "COMPLETED" and row.attempt == 2, (task_id, row.status, row.attempt)
        assert_single_outcome(evs, "COMPLETED")
        assert paths.count("PROCESSING->COMPLETED") == 1, paths
        assert paths[-4:] == [
            "PROCESSING->RETRYING",
            "RETRYING->QUEUED",
            "QUEUED->PROCESSING",
            "PROCESSING->COMPLETED",
        ], paths
        assert paths[0] == "None->CREATED" and paths[1] in ("CREATED->QUEUED", "CREATED->PROCESSING"), paths
        first_run = [e for e in evs if e.to_status == "PROCESSING"]
        assert [(e.attempt, e.worker) for e in first_run][0] == (1, dead_worker)
        assert first_run[1].attempt == 2 and first_run[1].worker != dead_worker
        lost = next(e for e in evs if e.to_status == "RETRYING")
        assert (
            lost.attempt == 2
            and lost.worker.startswith("maintenance@")
            and lost.reason.startswith("WORKER_LOST")
        )
        assert evs[-1].worker != dead_worker and evs[-1].attempt == 2
        assert_completed_output(row, INPUT_ROWS)
    assert_no_staging_leftovers(settings)
    record_bench(
        "worker_kill",
        {
            "kills": KILLS,
            "tasks_completed": sum(r.status == "COMPLETED" for r in rows.values()),
            "tasks_lost": sum(r.status != "COMPLETED" for r in rows.values()),
            "detection_s_median": round(statistics.median(detection), 2),
            "detection_s_max": round(max(detection), 2),
            "detection_s_min": round(min(detection), 2),
            "detection_s": [round(d, 2) for d in detection],
            "heartbeat_timeout_s": settings.heartbeat_timeout,
            "maintenance_interval_s": settings.maintenance_interval,
        },
    )
