"""Redis goes away: submits keep being accepted, and a Redis restarted empty is rebuilt from SQL."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from taskq import queues
from taskq.api import TaskQ
from taskq.testing import WorkerProcess, wait_for

from ._support import (
    RedisServer,
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

QUICK = {"steps": 1, "step_seconds": 0.0}


def _assert_ran_once(settings: Any, ids: list[str]) -> dict[str, list[str]]:
    rows, history = tasks(settings, ids), events(settings, ids)
    paths = {}
    for task_id in ids:
        row, evs = rows[task_id], history[task_id]
        assert row.status == "COMPLETED" and row.attempt == 1, (task_id, row.status, row.attempt)
        assert_single_outcome(evs, "COMPLETED")
        paths[task_id] = [path_of(e) for e in evs]
        assert [p for p in paths[task_id] if p.endswith("->PROCESSING")] in (
            ["QUEUED->PROCESSING"],
            ["CREATED->PROCESSING"],
        ), paths[task_id]
        assert paths[task_id][-1] == "PROCESSING->COMPLETED"
        assert_completed_output(row, INPUT_ROWS)
    assert_no_staging_leftovers(settings)
    return paths


def test_submits_while_redis_is_down_are_kept_and_relayed(
    settings_on: Any, private_redis: RedisServer, csv_input: Path
) -> None:
    """100 submits: 30 with Redis up, 40 while it is down, 30 after it came back empty."""
    settings = settings_on()
    client = TaskQ(settings)
    before, during, after = [], [], []
    with (
        WorkerProcess(settings, ["testq"], name="relay-a") as worker_a,
        WorkerProcess(settings, ["testq"], name="relay-b") as worker_b,
    ):
        for _ in range(30):
            info = client.submit("test-steps", csv_input, QUICK)
            assert not info.warnings
            before.append(info.id)
        private_redis.stop(signal.SIGTERM)
        down_at = time.monotonic()
        for _ in range(40):
            info = client.submit("test-steps", csv_input, QUICK)
            assert info.status == "CREATED", info.status
            assert len(info.warnings) == 1 and info.warnings[0].startswith("REDIS_UNAVAILABLE"), info.warnings
            during.append(info.id)
        down_for = time.monotonic() - down_at
        private_redis.start()
        up_at = time.monotonic()
        for _ in range(30):
            info = client.submit("test-steps", csv_input, QUICK)
            assert not info.warnings
            after.append(info.id)
        ids = before + during + after
        wait_all(
            settings, during, {"COMPLETED", "PROCESSING"}, 60, "the relay to dispatch the outage's tasks"
        )
        relayed_in = time.monotonic() - up_at
        wait_all(settings, ids, {"COMPLETED"}, 90, "all 100 tasks to complete")
        drained_in = time.monotonic() - up_at
        # The outage did not end the workers (nor the maintenance that runs inside them).
        for w in (worker_a, worker_b):
            assert w.proc is not None and w.proc.poll() is None, f"{w.name} exited: {w.log()}"

    paths = _assert_ran_once(settings, ids)
    for task_id in during:
        # Stored while Redis was down; dispatched by the relay (a worker may take
        # the job before the relay has marked the task QUEUED).
        assert paths[task_id][:2] == ["None->CREATED", "CREATED->QUEUED"] or paths[task_id][:2] == [
            "None->CREATED",
            "CREATED->PROCESSING",
        ], paths[task_id]
        relay = events(settings, [task_id])[task_id][1]
        if relay.to_status == "QUEUED":
            assert relay.reason == "relayed by maintenance" and relay.worker.startswith("maintenance@")
    record_bench(
        "redis_down_during_submits",
        {
            "submits": len(ids),
            "accepted_while_down": len(during),
            "completed": len(ids),
            "redis_down_s": round(down_for, 2),
            "relayed_within_s": round(relayed_in, 2),
            "all_completed_within_s": round(drained_in, 2),
        },
    )


def test_redis_restarted_empty_under_200_queued_tasks(
    settings_on: Any, private_redis: RedisServer, csv_input: Path
) -> None:
    """The queue is rebuilt from SQL by the first worker's maintenance, and all 200 complete once."""
    settings = settings_on()
    client = TaskQ(settings)
    ids = [client.submit("test-steps", csv_input, QUICK).id for _ in range(200)]
    rows = tasks(settings, ids)
    assert {r.status for r in rows.values()} == {"QUEUED"}
    conn = private_redis.client()
    assert conn.llen(queues.queue("testq", conn).key) == 200
    # Tasks count as lost in Redis only after their enqueue had time to land.
    time.sleep(5.5)
    private_redis.restart_empty(signal.SIGKILL)
    restarted = time.monotonic()
    assert conn.dbsize() == 0

    def rebuilt() -> bool:
        # Every task is either running/done, or QUEUED with a live job in Redis.
        now = tasks(settings, ids)
        return all(
            r.status != "QUEUED" or queues.job_state(r.id, conn) in queues.LIVE_JOB_STATES
            for r in now.values()
        )

    with (
        WorkerProcess(settings, ["testq"], name="rebuild-a"),
        WorkerProcess(settings, ["testq"], name="rebuild-b"),
    ):
        wait_for(rebuilt, 60, interval=0.1, what="the queue to be rebuilt")
        rebuild_s = time.monotonic() - restarted
        wait_all(settings, ids, {"COMPLETED"}, 120, "all 200 tasks to complete")
        drained_s = time.monotonic() - restarted
    conn.close()
    paths = _assert_ran_once(settings, ids)
    assert all(p[:2] == ["None->CREATED", "CREATED->QUEUED"] for p in paths.values())
    record_bench(
        "redis_restart_empty",
        {
            "queued_tasks": len(ids),
            "completed": len(ids),
            "lost": 0,
            "rebuild_s": round(rebuild_s, 2),
            "rebuild_includes": "starting two worker processes (maintenance runs inside them)",
            "all_completed_within_s": round(drained_s, 2),
        },
    )
