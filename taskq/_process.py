"""Tying a child process's life to its parent's (Linux ``prctl(PR_SET_PDEATHSIG)``)."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable

__all__ = ["die_with_parent"]


def die_with_parent() -> Callable[[], None] | None:
    """A function for a child process to call first (a ``preexec_fn``, or the start of a
    forked worker): Linux SIGTERMs the child when the process that started it dies, so a
    killed supervisor or test run leaves no worker behind consuming its queues. None
    where there is no prctl.

    Resolved before the fork: the child makes one system call between fork and exec
    (no import, no lock). Linux sends the signal when the *thread* that started the
    child exits: start workers from a thread that outlives them (the main thread).
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def tie() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGTERM))
        if os.getppid() != parent:  # the parent died before the call: follow it now
            os.kill(os.getpid(), signal.SIGTERM)

    return tie
