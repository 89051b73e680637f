"""The task database (a private PostgreSQL cluster) restarts while workers run tasks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from rq import Worker

from taskq import db, queues
from taskq.api import TaskQ
from taskq.models import utcnow
from taskq.testing import WorkerProcess, wait_for

from ._support import (
    PostgresCluster,
    assert_completed_output,
    assert_no_staging_leftovers,
    assert_single_outcome,
    events,
    path_of,
    record_bench,
    statuses,
    tasks,
    wait_all,
)
from .conftest import INPUT_ROWS

pytestmark = pytest.mark.faults


def test_postgres_restart_mid_run_same_workers_finish_everything(
    settings_on: Any, private_postgres: PostgresCluster, csv_input: Path
) -> None:
    settings = settings_on(database_url=private_postgres.url)
    db.upgrade(settings)
    client = TaskQ(settings)
    params = {"steps": 6, "step_seconds": 0.1}
    conn = queues.connect(settings)
    workers = [WorkerProcess(settings, ["testq"], name=n) for n in ("pg-a", "pg-b")]
    try:
        for w in workers:
            w.start()
        pids = {w.name: w.pid for w in workers}
        rq_pids = {w.name: w.pid for w in Worker.all(connection=conn)}
        assert rq_pids == pids
        first = [client.submit("test-steps", csv_input, params).id for _ in range(12)]
        wait_for(
            lambda: (
                statuses(settings, first)["COMPLETED"] >= 2 and statuses(settings, first)["PROCESSING"] == 2
            ),
            30,
            interval=0.05,
            what="two tasks done and two running",
        )
        down_at = utcnow()
        private_postgres.stop("fast")
        time.sleep(3.0)
        private_postgres.start()
        up_at = utcnow()
        second = [client.submit("test-steps", csv_input, params).id for _ in range(6)]
        ids = first + second
        wait_all(settings, ids, {"COMPLETED"}, 120, "every task to complete after the restart")
        done_s = (utcnow() - up_at).total_seconds()
        for w in workers:
            assert w.proc is not None and w.proc.poll() is None, f"{w.name} exited: {w.log()}"
        assert {w.name: w.pid for w in workers} == pids
        assert {w.name: w.pid for w in Worker.all(connection=conn)} == pids
    finally:
        for w in workers:
            w.stop()
        conn.close()

    rows, history = tasks(settings, ids), events(settings, ids)
    retried = {}
    after_restart: dict[str, int] = {"pg-a": 0, "pg-b": 0}
    for task_id in ids:
        row, evs = rows[task_id], history[task_id]
        paths = [path_of(e) for e in evs]
        assert row.status == "COMPLETED", (task_id, paths)
        assert_single_outcome(evs, "COMPLETED")
        assert paths.count("PROCESSING->COMPLETED") == 1, paths
        runs = [e for e in evs if e.to_status == "PROCESSING"]
        # Each attempt ran once; only the last one completed.
        assert [e.attempt for e in runs] == list(range(1, row.attempt + 1)), paths
        assert evs[-1].attempt == row.attempt
        for e in evs:
            if e.to_status == "RETRYING":
                assert e.reason.startswith("DATABASE_UNAVAILABLE"), e.reason
                retried[task_id] = e.reason
            if e.to_status == "PROCESSING" and e.at > up_at:
                after_restart[e.worker] += 1
        assert {e.worker for e in runs} <= set(pids)
        assert_completed_output(row, INPUT_ROWS)
    assert_no_staging_leftovers(settings)
    # Both original worker processes took new work after the database came back.
    assert all(n > 0 for n in after_restart.values()), after_restart
    record_bench(
        "postgres_restart",
        {
            "tasks": len(ids),
            "completed": sum(r.status == "COMPLETED" for r in rows.values()),
            "database_down_s": round((up_at - down_at).total_seconds(), 2),
            "tasks_retried": len(retried),
            "all_completed_within_s": round(done_s, 2),
            "worker_restarts": 0,
            "runs_started_after_restart": after_restart,
        },
    )
