"""The progress handle a job reports through, and checks for cancellation with.

Jobs see only the :class:`Progress` protocol. They call ``update(percent, stage)``
as they go and ``check()`` between stages and chunks; ``check()`` raises
:class:`~taskq.errors.TaskCancelled` when the task was asked to stop. The runner
hands them a :class:`ThrottledProgress` wired to the task row and the RQ job;
tests and ``taskq run`` hand them :class:`NullProgress` or a recording handle.

This module imports nothing from the queue or the database so jobs can use it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .errors import TaskCancelled

__all__ = ["NullProgress", "Progress", "ScaledProgress", "ThrottledProgress"]


@runtime_checkable
class Progress(Protocol):
    """What a job may do with its progress handle."""

    def update(self, percent: float, stage: str | None = None) -> None:
        """Report ``percent`` (0-100) done, in ``stage``. Also checks for cancellation."""

    def check(self) -> None:
        """Raise :class:`TaskCancelled` if the task should stop now."""


class NullProgress:
    """A handle that records nothing and never cancels."""

    def update(self, percent: float, stage: str | None = None) -> None:
        return None

    def check(self) -> None:
        return None


class ScaledProgress:
    """Maps 0-100 of a sub-step onto ``[start, end]`` of a parent handle.

    ``ScaledProgress(progress, 20, 60).update(50, "scoring")`` reports 40 %.
    """

    def __init__(self, parent: Progress, start: float, end: float) -> None:
        self.parent = parent
        self.start = start
        self.end = end

    def update(self, percent: float, stage: str | None = None) -> None:
        pct = min(max(percent, 0.0), 100.0)
        self.parent.update(self.start + (self.end - self.start) * pct / 100.0, stage)

    def check(self) -> None:
        self.parent.check()


class ThrottledProgress:
    """Forwards updates to ``sink`` at most every ``min_interval`` seconds.

    Args:
        sink: called with ``(percent, stage)``; writes the task row and job meta.
        should_stop: returns the :class:`TaskCancelled` (or :class:`WorkerShutdown`)
            to raise when the task must stop, else None.
            Polled at most every ``check_interval`` seconds so ``check()`` is cheap
            enough to call per chunk.
        min_interval: throttle for ``sink`` (0.5 s: at most two writes a second).
        check_interval: throttle for ``should_stop``.
        clock: injectable for tests.

    A stage change is always forwarded, and the final 100 % too, so the last
    word a user sees is never stale. ``flush()`` forwards the latest value now.
    """

    def __init__(
        self,
        sink: Callable[[float, str | None], None],
        should_stop: Callable[[], TaskCancelled | None] | None = None,
        *,
        min_interval: float = 0.5,
        check_interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sink = sink
        self._should_stop = should_stop
        self._min_interval = min_interval
        self._check_interval = check_interval
        self._clock = clock
        self._last_sent = float("-inf")
        self._last_checked = float("-inf")
        self._sent: tuple[float, str | None] | None = None
        self.percent = 0.0
        self.stage: str | None = None
        self.stop: TaskCancelled | None = None

    def update(self, percent: float, stage: str | None = None) -> None:
        percent = float(min(max(percent, 0.0), 100.0))
        # Progress never goes backwards within an attempt.
        self.percent = max(self.percent, percent)
        stage_changed = stage is not None and stage != self.stage
        if stage is not None:
            self.stage = stage
        now = self._clock()
        if stage_changed or percent >= 100.0 or now - self._last_sent >= self._min_interval:
            self.flush(now)
        self.check()

    def flush(self, now: float | None = None) -> None:
        current = (round(self.percent, 1), self.stage)
        if current == self._sent:
            return
        self._sink(*current)
        self._sent = current
        self._last_sent = self._clock() if now is None else now

    def check(self) -> None:
        if self.stop is None and self._should_stop is not None:
            now = self._clock()
            if now - self._last_checked >= self._check_interval:
                self._last_checked = now
                self.stop = self._should_stop()
        if self.stop is not None:
            raise self.stop
