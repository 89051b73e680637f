"""rq-dashboard wired to taskq's Redis with the JSON serializer (never pickle).

rq-dashboard 0.9 takes a serializer setting, but three of its routes (the job
page, delete and requeue) call ``Job.fetch`` / ``requeue_job`` without it, so
RQ would fall back to pickle on whatever Redis holds. This module binds the
names those routes use, inside ``rq_dashboard.web`` only, to JSON-only
versions, so no dashboard route can unpickle.
"""

from __future__ import annotations

import functools
from typing import Any

from .config import Settings

__all__ = ["create_app"]


def _bind_json(web: Any, json_serializer: Any) -> None:
    from rq.job import Job, requeue_job

    class JSONJob(Job):
        """A Job whose every fetch uses taskq's serializer, whatever the caller passes."""

        @classmethod
        def fetch(cls, id: str, connection: Any = None, serializer: Any = None, **kwargs: Any) -> Job:  # noqa: ARG003
            return super().fetch(id, connection=connection, serializer=json_serializer)

    web.Job = JSONJob
    web.requeue_job = functools.partial(requeue_job, serializer=json_serializer)
    web.config.serializer = json_serializer


def create_app(settings: Settings) -> Any:
    """A Flask app serving rq-dashboard at ``/`` for ``settings.redis_url``."""
    from flask import Flask
    from rq_dashboard import default_settings, web
    from rq_dashboard.web import blueprint, setup_rq_connection

    from .queues import SERIALIZER

    _bind_json(web, SERIALIZER)
    app = Flask(__name__)
    app.config.from_object(default_settings)
    app.config["RQ_DASHBOARD_REDIS_URL"] = settings.redis_url
    app.register_blueprint(blueprint)
    setup_rq_connection(app)
    return app
