"""Redis keys and fixed names taskq uses beside RQ's own (rq:*) keys."""

MAINTENANCE_LOCK_KEY = "taskq:maintenance:lock"
"""Held (with a TTL) by the one active maintenance loop."""
