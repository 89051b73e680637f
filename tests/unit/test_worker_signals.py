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


def test_a_signal_delivered_to_another_thread_still_waits_for_the_block() -> None:
    # A worker has other threads (RQ's pub/sub listener); masking the main thread alone let
    # the kernel hand SIGTERM to one of them, and Python ran the handler mid-settle anyway.
    import threading
    import time

    calls: list[str] = []

    def handler(signum: int, frame: Any) -> None:
        calls.append("handler")

    old = signal.signal(signal.SIGUSR2, handler)
    listening = threading.Event()
    stop = threading.Event()

    def other_thread() -> None:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR2})
        listening.set()
        stop.wait(5)

    t = threading.Thread(target=other_thread)
    t.start()
    listening.wait(5)
    try:
        with signals_deferred(signal.SIGUSR2):
            signal.pthread_kill(t.ident or 0, signal.SIGUSR2)  # the kernel's pick: not the main thread
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                pass  # the main thread runs Python handlers here, if any is due
            calls.append("settled")
        assert calls == ["settled", "handler"]
    finally:
        stop.set()
        t.join(5)
        signal.signal(signal.SIGUSR2, old)
