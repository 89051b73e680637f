"""Workers: RQ's forking worker, plus what taskq needs around each job.

:class:`TaskqWorker` is an RQ ``Worker`` (a fresh work horse is forked per job,
so a data job's memory goes back to the OS when it ends) that, while a horse
runs, every ``TASKQ_HEARTBEAT_INTERVAL`` seconds:

* writes the task's heartbeat (maintenance uses it to spot dead workers);
* enforces cancellation: a task flagged for cancel that has not stopped within
  ``TASKQ_CANCEL_GRACE`` has its horse killed, and the task still ends CANCELLED;
* enforces shutdown: after SIGTERM/SIGINT the worker takes no new job and lets
  the current one run for ``TASKQ_SHUTDOWN_GRACE``; then the horse is asked to
  stop (SIGUSR1 -> ``WorkerShutdown`` at its next progress check) and, failing
  that, killed; the task goes back to the queue as the same attempt.

After the horse exits the worker dispatches what the attempt left behind
(a retry after its backoff, a re-queued task) and settles a horse that died
without recording an outcome. Redis going away while a horse runs does not end
the worker (RQ alone would quit): the task is supervised and settled from SQL,
and the worker waits for Redis. ``run_worker`` supervises N such workers.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
from rq import Worker, worker_registration
from rq.job import Job
from rq.queue import Queue
from rq.scheduler import RQScheduler
from rq.utils import utcformat
from sqlalchemy import select

from . import jobs, queues, runner
from ._process import die_with_parent
from .config import Settings
from .db import engine_for, session_scope
from .errors import ConfigError, TaskqError
from .lifecycle import TaskStatus, heartbeat
from .models import Task, TaskEvent, utcnow

__all__ = ["TaskqWorker", "WorkerOptions", "run_worker"]

log = logging.getLogger(__name__)
S = TaskStatus
_REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


WORKER_TTL = 60
"""Seconds RQ keeps a worker registered without a heartbeat; idle workers beat every 45 s."""


@contextmanager
def signals_deferred(*signums: int) -> Iterator[None]:
    """Hold ``signums`` while the block runs; their handlers run as it ends.

    The handlers are swapped for one that only notes the signal, then put back and
    called for each signal noted. Blocking the signals with ``pthread_sigmask`` is
    not enough: it masks this thread only, and a worker has others (RQ's pub/sub
    listener). The kernel hands the signal to one of those, and CPython still runs
    the Python handler in the main thread, mid-block: RQ's SIGTERM handler raised
    StopRequested inside a database COMMIT (a broken connection, an unsettled
    task, a worker stuck until its cold shutdown). Main thread only, like
    ``signal.signal``.
    """
    noted: list[tuple[int, Any]] = []
    old = {sig: signal.signal(sig, lambda num, frame: noted.append((num, frame))) for sig in signums}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for num, frame in noted:
            handler = old[num]
            if callable(handler):
                handler(num, frame)
            elif handler == signal.SIG_DFL:
                signal.signal(num, signal.SIG_DFL)
                os.kill(os.getpid(), num)


class _TiedScheduler(RQScheduler):
    """RQ's scheduler process, SIGTERMed by Linux when the worker that forked it dies.

    A worker killed outright (SIGKILL, OOM) otherwise left its scheduler running
    for good, holding the scheduler locks, so a replacement worker never ran one.
    """

    def start(self) -> Any:
        self._tie = die_with_parent()  # resolved here, in the worker, before the fork
        return super().start()  # type: ignore[no-untyped-call]

    def work(self) -> None:  # the first thing the scheduler process runs
        tie = getattr(self, "_tie", None)
        if tie is not None:
            tie()
        super().work()  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def _tied_schedulers() -> Iterator[None]:
    """While open, RQ's worker creates :class:`_TiedScheduler` where it would create its own."""
    module: Any = sys.modules[Worker._start_scheduler.__module__]
    original = module.RQScheduler
    module.RQScheduler = _TiedScheduler
    try:
        yield
    finally:
        module.RQScheduler = original


class TaskqWorker(Worker):
    """An RQ worker that keeps the SQL task row honest about its job."""

    def __init__(self, queue_names: Sequence[str], *, settings: Settings, **kwargs: Any) -> None:
        connection = kwargs.pop("connection", None) or queues.connect(settings)
        kwargs.setdefault("job_monitoring_interval", max(1, round(settings.heartbeat_interval)))
        # An idle worker heartbeats once per dequeue wait (the TTL less 15 s): RQ's 420 s left a
        # lost registration (Redis restarted empty) unrepaired, and a dead worker listed, for minutes.
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        super().__init__(list(queue_names), connection=connection, serializer=queues.SERIALIZER, **kwargs)
        self.settings = settings
        self._shutdown_at: float | None = None
        self._signalled_horse = False
        self._kill_reason: str | None = None
        runner.configure(settings, self.name)
        jobs.load_plugins(settings.plugin_modules)
        # Connect (and upgrade SQLite) once here, so forked horses inherit it.
        engine_for(settings)

    # Shutdown ----------------------------------------------------------------------

    def _start_scheduler(self, *args: Any, **kwargs: Any) -> None:
        with _tied_schedulers():
            super()._start_scheduler(*args, **kwargs)

    def request_stop(self, signum: int, frame: Any) -> None:
        if self._shutdown_at is None:
            self._shutdown_at = time.monotonic()
            log.info(
                "worker %s: %s received; taking no new jobs, current job gets %.0fs",
                self.name,
                signal.Signals(signum).name,
                self.settings.shutdown_grace,
            )
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]

    def setup_work_horse_signals(self) -> None:
        # The horse leaves shutdown to its worker: it ignores SIGINT/SIGTERM (a
        # systemd KillMode=control-group or a terminal would otherwise kill it
        # mid-write) and turns SIGUSR1 into a cooperative stop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGUSR1, lambda *_: runner.shutdown_requested.set())

    # Redis outages between jobs -------------------------------------------------------
    # RQ's work loop quits (exit 0) on a Redis error outside its dequeue, which
    # retries with backoff. These calls only refresh RQ's own bookkeeping, so an
    # outage skips them and the dequeue that follows waits for Redis.

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        if pipeline is not None:
            super().heartbeat(timeout, pipeline=pipeline)
            return
        try:
            super().heartbeat(timeout)
            self._register_again_if_lost(timeout)
        except _REDIS_DOWN as exc:
            log.warning("worker %s: Redis unavailable, heartbeat skipped: %s", self.name, exc)

    def _register_again_if_lost(self, timeout: int | None) -> None:
        """Put this worker back in RQ's worker registry if Redis lost it (restarted empty,
        flushed, keys evicted): RQ's heartbeat refreshes the worker's hash but never its
        registration, so ``taskq status``, the health check and the dashboard would see
        no workers until every worker restarted."""
        if self.birth_date is None or self.connection.sismember(self.redis_workers_keys, self.key):
            return
        log.warning("worker %s: its registration was lost from Redis; registering again", self.name)
        with self.connection.pipeline() as pipe:
            pipe.hset(self.key, mapping=self.serialize())
            worker_registration.register(self, pipe)
            pipe.expire(self.key, timeout or self.worker_ttl + 60)
            pipe.execute()

    def set_state(self, state: str, pipeline: Any = None) -> None:
        if pipeline is not None:
            super().set_state(state, pipeline=pipeline)
            return
        try:
            super().set_state(state)
        except _REDIS_DOWN as exc:
            log.warning("worker %s: Redis unavailable, state %s not saved: %s", self.name, state, exc)

    def check_for_suspension(self, burst: bool) -> None:
        try:
            super().check_for_suspension(burst)
        except _REDIS_DOWN as exc:
            log.warning("worker %s: Redis unavailable, suspension not checked: %s", self.name, exc)

    def run_maintenance_tasks(self) -> None:
        try:
            super().run_maintenance_tasks()  # type: ignore[no-untyped-call]
        except _REDIS_DOWN as exc:
            log.warning("worker %s: Redis unavailable, RQ maintenance skipped: %s", self.name, exc)

    # While a horse runs ----------------------------------------------------------------

    def maintain_heartbeats(self, job: Job, execution: Any) -> None:
        try:
            super().maintain_heartbeats(job, execution)
        except _REDIS_DOWN as exc:
            # RQ's own heartbeats need Redis; supervising the task (its heartbeat
            # row, cancel, shutdown grace) needs only SQL, so it carries on.
            log.warning("worker %s: Redis unavailable while task %s runs: %s", self.name, job.id, exc)
        with contextlib.suppress(*_REDIS_DOWN):  # the next tick tries again
            self._register_again_if_lost(None)
        try:
            self._supervise(job.id)
        except Exception as exc:  # a database blip must not take the worker down
            log.warning("worker %s: supervising task %s failed: %s", self.name, job.id, exc)

    def _supervise(self, task_id: str) -> None:
        now = time.monotonic()
        with session_scope(self.settings) as s:
            task = s.get(Task, task_id)
            if task is None or task.status != S.PROCESSING.value or task.worker != self.name:
                return
            heartbeat(s, task_id, task.attempt, self.name)
            cancel_at = task.cancel_requested_at
        if cancel_at is not None and self._kill_reason is None:
            waited = (utcnow() - cancel_at).total_seconds()
            if waited >= self.settings.cancel_grace:
                self._kill(task_id, "cancel", f"did not stop {waited:.0f}s after cancel")
        if self._shutdown_at is not None and self._kill_reason is None:
            elapsed = now - self._shutdown_at
            if elapsed >= self.settings.shutdown_grace and not self._signalled_horse and self.horse_pid:
                log.info("worker %s: shutdown grace over; asking task %s to stop", self.name, task_id)
                self._signalled_horse = True
                os.kill(self.horse_pid, signal.SIGUSR1)
            elif elapsed >= self.settings.shutdown_grace + self.settings.cancel_grace:
                self._kill(task_id, "shutdown", "did not stop after the shutdown grace")

    def _kill(self, task_id: str, reason: str, why: str) -> None:
        log.warning("worker %s: killing the work horse of task %s: %s", self.name, task_id, why)
        self._kill_reason = reason
        self._stopped_job_id = task_id
        self.kill_horse()

    # After the horse exits -----------------------------------------------------------

    def execute_job(self, job: Job, queue: Queue) -> None:
        self._signalled_horse = False
        self._kill_reason = None
        runner.shutdown_requested.clear()
        redis_lost = False
        try:
            super().execute_job(job, queue)
        except _REDIS_DOWN as exc:
            # Left alone, RQ's work loop quits the worker (exit 0, so nothing
            # restarts it). The task row needs no Redis: let the horse finish,
            # settle from SQL, then wait for Redis to come back.
            log.warning("worker %s: Redis unavailable during task %s: %s", self.name, job.id, exc)
            redis_lost = True
            self._outlive_horse(job.id)
        finally:
            # RQ's SIGTERM handler raises StopRequested wherever the main thread is once
            # the worker is no longer busy. Arriving here, it cut settle short and was
            # swallowed below, so the worker went on and was killed 30 s later. The
            # signal now waits until the task is settled, then stops the work loop.
            with signals_deferred(signal.SIGTERM, signal.SIGINT):
                try:
                    settle(self.settings, self.connection, job.id, self.name, self._kill_reason)
                except Exception as exc:
                    # The task row still says where it is; maintenance finishes the job.
                    log.error("worker %s: could not settle task %s: %s", self.name, job.id, exc)
        if redis_lost:
            self._wait_for_redis()

    def _outlive_horse(self, task_id: str) -> None:
        """Supervise a horse (from SQL alone) until it exits; RQ stopped watching it."""
        while self.horse_pid:
            try:
                done, _ = os.waitpid(self.horse_pid, os.WNOHANG)
            except ChildProcessError:
                done = self.horse_pid
            if done:
                self._horse_pid = 0
                return
            try:
                self._supervise(task_id)
            except Exception as exc:
                log.warning("worker %s: supervising task %s failed: %s", self.name, task_id, exc)
            time.sleep(self.job_monitoring_interval)

    def _wait_for_redis(self) -> None:
        """Block until Redis answers again (or a stop was requested)."""
        delay = 1.0
        while not self._stop_requested and self._shutdown_at is None:
            try:
                self.connection.ping()
                log.info("worker %s: Redis is back", self.name)
                return
            except _REDIS_DOWN:
                time.sleep(delay)
                delay = min(delay * 2, 30.0)


def settle(
    settings: Settings, connection: Any, task_id: str, worker: str, kill_reason: str | None
) -> str | None:
    """Dispatch or close what an attempt left behind once its work horse is gone.

    * RETRYING: schedule the next attempt for ``next_attempt_at``.
    * QUEUED (sent back by a shutdown): enqueue again now.
    * still PROCESSING on this worker: the horse was killed or died. A requested
      cancel ends CANCELLED; a shutdown kill goes back to the queue; anything
      else (OOM kill, segfault) is a lost attempt, retried while attempts remain.

    Returns the task's status afterwards (None if the task is gone).
    """
    with session_scope(settings) as s:
        task = s.get(Task, task_id)
        if task is None:
            return None
        s.expunge(task)
    status = TaskStatus(task.status)
    if status is S.PROCESSING and task.worker == worker:
        if task.cancel_requested_at is not None:
            status = runner.end_lost_attempt(
                settings,
                task,
                worker,
                to=S.CANCELLED,
                reason="work horse killed after the cancel grace period",
            )
        elif kill_reason == "shutdown":
            status = runner.end_lost_attempt(
                settings,
                task,
                worker,
                to=S.QUEUED,
                reason="work horse killed at shutdown; same attempt re-queued",
            )
        else:
            status = runner.end_lost_attempt(
                settings, task, worker, to=None, reason="work horse died before the task ended"
            )
        with session_scope(settings) as s:
            refreshed = s.get(Task, task_id)
            assert refreshed is not None
            s.expunge(refreshed)
            task = refreshed
    if status is S.QUEUED and not _sent_back(settings, task_id, worker):
        # The job was taken without taking the task (an error before PROCESSING): no
        # dispatch here, or the same failure would loop at full speed. Maintenance
        # re-enqueues QUEUED tasks whose job is gone, at its own pace.
        log.warning("task %s is still QUEUED after its job ran on %s; left to maintenance", task_id, worker)
        return status.value
    if status in (S.RETRYING, S.QUEUED):
        at = task.next_attempt_at if status is S.RETRYING else None
        queues.dispatch(settings, connection, task, at=at)
    return status.value


def _sent_back(settings: Settings, task_id: str, worker: str) -> bool:
    """Whether the task's last move was this worker putting it back in the queue
    (PROCESSING -> QUEUED: a shutdown), the only QUEUED a finished job leaves to dispatch."""
    with session_scope(settings) as s:
        last = s.scalars(
            select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id.desc()).limit(1)
        ).first()
        return (
            last is not None
            and last.to_status == S.QUEUED.value
            and last.from_status == S.PROCESSING.value
            and last.worker == worker
        )


@dataclass(frozen=True)
class WorkerOptions:
    queues: tuple[str, ...]
    burst: bool = False
    name: str | None = None
    max_jobs: int | None = None
    with_scheduler: bool = True
    concurrency: int = 1


def _work(settings: Settings, options: WorkerOptions, name: str) -> int:
    from .logs import configure as configure_logs

    configure_logs(settings.log_level, json=settings.log_format == "json")
    try:
        with queues.redis_errors(settings, f"run worker {name}"):
            worker = TaskqWorker(options.queues, settings=settings, name=name)
            worker.work(
                burst=options.burst,
                max_jobs=options.max_jobs,
                with_scheduler=options.with_scheduler,
                logging_level=settings.log_level,
            )
    except TaskqError as exc:
        log.error("worker %s: %s: %s", name, exc.code, exc)
        return exc.exit_code
    return 0


MAX_NAME = 190
"""Longest worker name: the task and event columns hold 200 characters, a suffix included."""


def default_name() -> str:
    return f"taskq.{socket.gethostname()}.{os.getpid()}"


def run_worker(settings: Settings, options: WorkerOptions) -> int:
    """Run ``options.concurrency`` workers until they stop; returns an exit code.

    With one worker it runs in this process. With more, this process supervises
    forked worker processes: it forwards SIGTERM/SIGINT to them, waits for each
    to finish its job, and restarts a worker that died unexpectedly (unless
    running in burst mode or shutting down).
    """
    base = options.name or default_name()
    if len(base) > MAX_NAME or "\x00" in base:
        # Task rows and events store the worker's name (with "-<n>" under --concurrency).
        raise ConfigError(
            f"worker name must be at most {MAX_NAME} characters without NUL ({len(base)} given)"
        )
    try:
        # Upgrade SQLite once, here, before the maintenance and worker processes fork.
        engine_for(settings)
    except TaskqError as exc:
        log.error("worker %s: %s: %s", base, exc.code, exc)
        return exc.exit_code
    keeper = None
    if options.with_scheduler and not options.burst:
        from .maintenance import start_process

        keeper = start_process(settings)
    try:
        return _supervise(settings, options, base)
    finally:
        if keeper is not None and keeper.is_alive():
            keeper.terminate()
            keeper.join(10)


def _supervise(settings: Settings, options: WorkerOptions, base: str) -> int:
    if options.concurrency <= 1:
        return _work(settings, options, base)
    ctx = multiprocessing.get_context("fork")
    tie = die_with_parent()
    stopping = False
    procs: dict[int, multiprocessing.process.BaseProcess] = {}

    def start(i: int) -> None:
        # Only the first worker runs the scheduler (RQ locks it per queue anyway).
        opts = WorkerOptions(**{**options.__dict__, "with_scheduler": options.with_scheduler and i == 0})

        def target() -> None:
            if tie is not None:
                tie()  # a supervisor killed outright takes its workers with it
            os.setpgid(0, 0)  # its own group: the scheduler process it forks dies with it (_bury)
            os._exit(_work(settings, opts, f"{base}-{i}"))

        p = ctx.Process(target=target, name=f"{base}-{i}")
        p.start()
        procs[i] = p

    def forward(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for p in procs.values():
            if p.is_alive() and p.pid:
                os.kill(p.pid, signum)

    for i in range(options.concurrency):
        start(i)
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    worst = 0
    while procs:
        time.sleep(0.5)
        for i, p in list(procs.items()):
            if p.is_alive():
                continue
            p.join()
            code = p.exitcode or 0
            del procs[i]
            if code != 0 and not stopping and not options.burst:
                log.warning("worker %s-%s exited with %s; restarting it", base, i, code)
                _bury(settings, options, f"{base}-{i}", p.pid)
                time.sleep(1.0)
                start(i)
            else:
                worst = max(worst, abs(code))
    return worst


def _bury(settings: Settings, options: WorkerOptions, name: str, pid: int | None) -> None:
    """Clean up after a worker process that died without stopping (SIGKILL, OOM kill).

    Its RQ scheduler process outlives it, holding the scheduler locks: it gets SIGTERM
    (through the worker's process group), which releases them. Its registration stays
    in Redis as a live worker, and RQ refuses a new worker of that name until it
    expires: it is marked dead, as the worker itself would have on the way out.
    """
    if pid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    key = f"rq:worker:{name}"
    try:
        conn = queues.connect(settings)
        with conn.pipeline() as pipe:
            pipe.srem(worker_registration.REDIS_WORKER_KEYS, key)
            for queue in options.queues or jobs.queue_names(settings):
                pipe.srem(worker_registration.WORKERS_BY_QUEUE_KEY % queue, key)
            pipe.hset(key, "death", utcformat(utcnow()))
            pipe.expire(key, 60)
            pipe.execute()
    except (TaskqError, *_REDIS_DOWN) as exc:
        log.warning("worker %s: could not clear its registration: %s", name, exc)
