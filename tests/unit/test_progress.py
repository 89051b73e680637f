from __future__ import annotations

import pytest

from taskq.errors import TaskCancelled, WorkerShutdown
from taskq.progress import NullProgress, Progress, ScaledProgress, ThrottledProgress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_writes_are_throttled_to_two_per_second() -> None:
    clock, sent = Clock(), []
    p = ThrottledProgress(lambda pct, stage: sent.append((pct, stage)), clock=clock, min_interval=0.5)
    for i in range(100):  # 100 updates over 2 seconds, same stage
        clock.now = i * 0.02
        p.update(i * 0.5, "scoring")
    assert len(sent) <= 5  # first + at most one every 0.5 s
    assert sent[0] == (0.0, "scoring")


def test_stage_changes_and_completion_are_always_sent() -> None:
    clock, sent = Clock(), []
    p = ThrottledProgress(lambda pct, stage: sent.append((pct, stage)), clock=clock, min_interval=10)
    p.update(1, "reading")
    p.update(2, "reading")
    p.update(3, "writing")
    p.update(100, "writing")
    assert sent == [(1.0, "reading"), (3.0, "writing"), (100.0, "writing")]


def test_progress_never_goes_backwards_and_is_clamped() -> None:
    sent: list[tuple[float, str | None]] = []
    p = ThrottledProgress(lambda pct, stage: sent.append((pct, stage)), min_interval=0)
    p.update(50, "a")
    p.update(20, "b")
    p.update(250, "c")
    assert [pct for pct, _ in sent] == [50.0, 50.0, 100.0]


def test_check_raises_once_stop_is_requested_and_polls_sparingly() -> None:
    clock, calls = Clock(), []

    def should_stop() -> TaskCancelled | None:
        calls.append(clock.now)
        return TaskCancelled("stop") if clock.now >= 2 else None

    p = ThrottledProgress(lambda *_: None, should_stop, clock=clock, check_interval=0.5)
    for i in range(10):
        clock.now = i * 0.1
        p.check()
    assert len(calls) == 2  # at 0.0 and 0.5
    clock.now = 2.0
    with pytest.raises(TaskCancelled):
        p.check()
    with pytest.raises(TaskCancelled):  # stays stopped
        p.update(99, "x")


def test_shutdown_is_a_kind_of_cancel() -> None:
    p = ThrottledProgress(lambda *_: None, lambda: WorkerShutdown("bye"), check_interval=0)
    with pytest.raises(WorkerShutdown):
        p.check()


def test_scaled_progress_maps_into_the_parent_range() -> None:
    sent: list[float] = []
    parent = ThrottledProgress(lambda pct, stage: sent.append(pct), min_interval=0)
    child = ScaledProgress(parent, 20, 60)
    child.update(50, "half")
    child.update(100, "full")
    assert sent == [40.0, 60.0]
    assert isinstance(NullProgress(), Progress) and isinstance(child, Progress)
