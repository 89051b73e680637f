"""Prometheus exposition of read-only figures (task counts, queue depth and age, workers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from . import health
from .config import Settings
from .errors import TaskqError

__all__ = ["CONTENT_TYPE", "render"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _TaskqCollector(Collector):
    def __init__(self, settings: Settings, connection: redis.Redis) -> None:
        self.settings = settings
        self.connection = connection

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily("taskq_backend_up", "1 when the backend answers", labels=["backend"])
        try:
            tasks = GaugeMetricFamily("taskq_tasks", "Tasks by status", labels=["status"])
            for status, n in health.task_counts(self.settings).items():
                tasks.add_metric([status], n)
            yield tasks
            up.add_metric(["database"], 1)
        except TaskqError:
            up.add_metric(["database"], 0)
        try:
            depth = GaugeMetricFamily("taskq_queue_depth", "Jobs waiting in the queue", labels=["queue"])
            age = GaugeMetricFamily(
                "taskq_queue_oldest_age_seconds", "Age of the oldest waiting job", labels=["queue"]
            )
            running = GaugeMetricFamily("taskq_queue_running", "Jobs running", labels=["queue"])
            for q in health.queue_stats(self.settings, self.connection):
                depth.add_metric([q["queue"]], q["depth"])
                age.add_metric([q["queue"]], q["oldest_age_s"] or 0.0)
                running.add_metric([q["queue"]], q["running"])
            workers = GaugeMetricFamily("taskq_workers", "Live RQ workers")
            workers.add_metric([], len(health.worker_stats(self.settings, self.connection)))
            yield from (depth, age, running, workers)
            up.add_metric(["redis"], 1)
        except TaskqError:
            up.add_metric(["redis"], 0)
        yield up


def render(settings: Settings, connection: redis.Redis) -> bytes:
    """The current figures in Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_TaskqCollector(settings, connection))
    return generate_latest(registry)
