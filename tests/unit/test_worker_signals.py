"""The worker settles a task with SIGTERM held, so a stop cannot cut the settle short."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from taskq.worker import signals_deferred


class Stop(Exception):
    """Stands in for RQ's StopRequested, which its SIGTERM handler raises when the worker is idle."""


def test_a_signal_waits_for_the_block_then_its_handler_runs() -> None:
    done: list[str] = []

    def handler(signum: int, frame: Any) -> None:
        raise Stop

    old = signal.signal(signal.SIGUSR2, handler)
    try:
        with pytest.raises(Stop), signals_deferred(signal.SIGUSR2):
            os.kill(os.getpid(), signal.SIGUSR2)  # arrives mid-block, like SIGTERM mid-settle
            done.append("settled")
        assert done == ["settled"]
        # The mask is restored: the next signal is handled at once.
        with pytest.raises(Stop):
            os.kill(os.getpid(), signal.SIGUSR2)
            for _ in range(1000):
                pass
    finally:
        signal.signal(signal.SIGUSR2, old)
