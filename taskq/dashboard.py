"""rq-dashboard wired to taskq's Redis with the JSON serializer (never pickle)."""

from __future__ import annotations

from typing import Any

from .config import Settings

__all__ = ["create_app"]


def create_app(settings: Settings) -> Any:
    """A Flask app serving rq-dashboard at ``/`` for ``settings.redis_url``."""
    from flask import Flask
    from rq_dashboard import default_settings
    from rq_dashboard.web import blueprint, setup_rq_connection
    from rq_dashboard.web import config as dashboard_config

    from .queues import SERIALIZER

    dashboard_config.serializer = SERIALIZER
    app = Flask(__name__)
    app.config.from_object(default_settings)
    app.config["RQ_DASHBOARD_REDIS_URL"] = settings.redis_url
    app.register_blueprint(blueprint)
    setup_rq_connection(app)
    return app
