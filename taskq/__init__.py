"""taskq: a reliable job system for data-quality analyses, built on RQ.

The public surface is re-exported here and imported lazily, so the analyses
(``taskq.jobs``) load without pulling in Redis, RQ or SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    # Facade
    "TaskQ": "taskq.api",
    "TaskInfo": "taskq.api",
    "submit": "taskq.api",
    "get": "taskq.api",
    "list_tasks": "taskq.api",
    "cancel": "taskq.api",
    "retry": "taskq.api",
    # State and settings
    "TaskStatus": "taskq.lifecycle",
    "Settings": "taskq.config",
    # Errors
    "TaskqError": "taskq.errors",
    "InputError": "taskq.errors",
    "TransientError": "taskq.errors",
    "TaskCancelled": "taskq.errors",
    "TaskNotFound": "taskq.errors",
    "InvalidTransition": "taskq.errors",
    # Jobs
    "Progress": "taskq.progress",
    "run_tool": "taskq.jobs",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'taskq' has no attribute {name!r}")
    attr = "execute" if name == "run_tool" else name
    return getattr(importlib.import_module(module), attr)
