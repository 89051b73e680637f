"""The taskq exception tree.

Every error taskq raises on purpose is a :class:`TaskqError`. Each class carries
a stable ``code`` (stored in ``Task.error_code``, printed by the CLI, returned by
HTTP) and an ``exit_code`` for the CLI. Third-party errors are wrapped at the
boundary (``raise BackendUnavailable(...) from exc``)::

    TaskqError                      TASKQ_ERROR
    ├── ConfigError                 CONFIG_INVALID
    ├── BackendUnavailable          BACKEND_UNAVAILABLE     (transient)
    │   ├── RedisUnavailable        REDIS_UNAVAILABLE       (transient)
    │   └── DatabaseUnavailable     DATABASE_UNAVAILABLE    (transient)
    ├── TaskNotFound                TASK_NOT_FOUND
    ├── UnknownTool                 UNKNOWN_TOOL
    ├── InvalidTransition           INVALID_TRANSITION
    │   ├── TaskNotCancellable      TASK_NOT_CANCELLABLE
    │   └── TaskNotRetryable        TASK_NOT_RETRYABLE
    ├── InputError                  INPUT_INVALID           (the user's data or parameters)
    │   ├── InputNotFound           INPUT_NOT_FOUND
    │   ├── InputNotAllowed         INPUT_NOT_ALLOWED
    │   ├── InputUnreadable         INPUT_UNREADABLE
    │   ├── InputEmpty              INPUT_EMPTY
    │   ├── InputMalformed          INPUT_MALFORMED
    │   ├── InputTooLarge           INPUT_TOO_LARGE
    │   ├── UnknownColumn           UNKNOWN_COLUMN
    │   └── InvalidParams           INVALID_PARAMS
    ├── TransientError              TRANSIENT               (retry with backoff)
    │   ├── JobTimeout              JOB_TIMEOUT
    │   └── WorkerLost              WORKER_LOST
    ├── TaskCancelled               CANCELLED               (cooperative stop)
    │   └── WorkerShutdown          WORKER_SHUTDOWN         (re-queued, same attempt)
    └── JobFailed                   JOB_FAILED              (a bug or an unexpected error)

``transient`` marks the errors the runner retries (while attempts remain).
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "BackendUnavailable",
    "ConfigError",
    "DatabaseUnavailable",
    "InputEmpty",
    "InputError",
    "InputMalformed",
    "InputNotAllowed",
    "InputNotFound",
    "InputTooLarge",
    "InputUnreadable",
    "InvalidParams",
    "InvalidTransition",
    "JobFailed",
    "JobTimeout",
    "RedisUnavailable",
    "TaskCancelled",
    "TaskNotCancellable",
    "TaskNotFound",
    "TaskNotRetryable",
    "TaskqError",
    "TransientError",
    "UnknownColumn",
    "UnknownTool",
    "WorkerLost",
    "WorkerShutdown",
    "input_error_codes",
]

MAX_MESSAGE = 1000
"""``Task.error_message`` holds at most this many characters."""
MAX_RAISED = 4000
"""An error's message, and each string in its details, holds at most this many characters."""
MAX_ITEMS = 1000
"""A list in an error's details holds at most this many items."""


def _bounded(value: Any) -> Any:
    if isinstance(value, str):
        return truncate_message(value, MAX_RAISED)
    if isinstance(value, list | tuple):
        return [_bounded(v) for v in value[:MAX_ITEMS]]
    return value


class TaskqError(Exception):
    """Something went wrong in taskq."""

    code: ClassVar[str] = "TASKQ_ERROR"
    exit_code: ClassVar[int] = 1
    transient: ClassVar[bool] = False

    def __init__(self, message: str | None = None, **details: Any) -> None:
        if not message:
            message = (self.__doc__ or self.code).strip().splitlines()[0]
        # A message or detail may quote what the caller sent (a 5 MB column name): bounded,
        # so no log line, HTTP answer or CLI error carries it whole.
        message = truncate_message(message, MAX_RAISED)
        super().__init__(message)
        self.message = message
        self.details = {k: _bounded(v) for k, v in details.items()}

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            out["details"] = self.details
        return out


class ConfigError(TaskqError):
    """The configuration is invalid."""

    code = "CONFIG_INVALID"
    exit_code = 2


class BackendUnavailable(TaskqError):
    """A backing service could not be reached."""

    code = "BACKEND_UNAVAILABLE"
    exit_code = 3
    transient = True


class RedisUnavailable(BackendUnavailable):
    """Redis could not be reached."""

    code = "REDIS_UNAVAILABLE"


class DatabaseUnavailable(BackendUnavailable):
    """The task database could not be reached."""

    code = "DATABASE_UNAVAILABLE"


class TaskNotFound(TaskqError):
    """No task has that id."""

    code = "TASK_NOT_FOUND"
    exit_code = 4


class UnknownTool(TaskqError):
    """No tool is registered under that name."""

    code = "UNKNOWN_TOOL"
    exit_code = 2


class InvalidTransition(TaskqError):
    """The task is not in a state that allows this change."""

    code = "INVALID_TRANSITION"
    exit_code = 5


class TaskNotCancellable(InvalidTransition):
    """The task has already ended and cannot be cancelled."""

    code = "TASK_NOT_CANCELLABLE"


class TaskNotRetryable(InvalidTransition):
    """Only failed, cancelled or expired tasks can be retried."""

    code = "TASK_NOT_RETRYABLE"


class InputError(TaskqError):
    """The input or the parameters are not valid for this tool."""

    code = "INPUT_INVALID"
    exit_code = 2


class InputNotFound(InputError):
    """The input file does not exist."""

    code = "INPUT_NOT_FOUND"


class InputNotAllowed(InputError):
    """The input path is outside the allowed data roots."""

    code = "INPUT_NOT_ALLOWED"


class InputUnreadable(InputError):
    """The input file could not be read in any supported format."""

    code = "INPUT_UNREADABLE"


class InputEmpty(InputError):
    """The input has no rows or no columns."""

    code = "INPUT_EMPTY"


class InputMalformed(InputError):
    """The input file is malformed."""

    code = "INPUT_MALFORMED"


class InputTooLarge(InputError):
    """The input is larger than this tool accepts (e.g. too many columns)."""

    code = "INPUT_TOO_LARGE"


class UnknownColumn(InputError):
    """A parameter names a column the input does not have."""

    code = "UNKNOWN_COLUMN"


class InvalidParams(InputError):
    """A parameter is missing, unknown or of the wrong type."""

    code = "INVALID_PARAMS"


class TransientError(TaskqError):
    """A temporary failure: the task is retried with backoff while attempts remain."""

    code = "TRANSIENT"
    transient = True


class JobTimeout(TransientError):
    """The job ran longer than its timeout."""

    code = "JOB_TIMEOUT"


class WorkerLost(TransientError):
    """The worker running the task died or was killed."""

    code = "WORKER_LOST"


class TaskCancelled(TaskqError):
    """The task was cancelled."""

    code = "CANCELLED"


class WorkerShutdown(TaskCancelled):
    """The worker is shutting down; the task goes back to the queue as the same attempt."""

    code = "WORKER_SHUTDOWN"


class JobFailed(TaskqError):
    """The job failed with an unexpected error."""

    code = "JOB_FAILED"


def input_error_codes() -> frozenset[str]:
    """Every code meaning "the user's input or parameters are wrong" (never retried)."""
    found, todo = set(), [InputError]
    while todo:
        cls = todo.pop()
        found.add(cls.code)
        todo.extend(cls.__subclasses__())
    return frozenset(found)


def truncate_message(message: str, limit: int = MAX_MESSAGE) -> str:
    """Cut ``message`` to ``limit`` characters, marking the cut and the full length."""
    if len(message) <= limit:
        return message
    tail = f"… ({len(message):,} characters)"
    return message[: max(limit - len(tail), 0)] + tail
