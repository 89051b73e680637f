"""HTTP API: thin routes over the :class:`~taskq.api.TaskQ` facade (FastAPI).

``create_app(settings)`` builds the app; ``taskq.web:app`` (for uvicorn / the
Procfile) builds it from the environment on first request, loading ``.env``
without overriding real variables. Errors come back as
``{"error": {"code": ..., "message": ...}}`` with a fitting HTTP status.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import health, metrics
from .api import TaskQ
from .config import Settings
from .errors import (
    BackendUnavailable,
    InputError,
    InvalidParams,
    InvalidTransition,
    TaskNotFound,
    TaskqError,
    UnknownTool,
)

__all__ = ["app", "create_app"]


class SubmitRequest(BaseModel):
    tool: str = Field(
        description="profile-my-data, clean-my-data or master-my-data (or profile/clean/master)"
    )
    input_path: str
    params: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = None


def _http_status(exc: TaskqError) -> int:
    if isinstance(exc, TaskNotFound):
        return 404
    if isinstance(exc, InputError | UnknownTool):
        return 422
    if isinstance(exc, InvalidTransition):
        return 409
    if isinstance(exc, BackendUnavailable):
        return 503
    return 500


_HTTP_CODES = {400: "INVALID_PARAMS", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
"""Error codes for the HTTP errors the framework raises itself (no route, no such method,
a body it cannot parse)."""

_SHOWN_ERRORS = 5
"""Request validation errors spelled out in the message (all are in ``details``, up to 20)."""


def _invalid_request(exc: RequestValidationError) -> InvalidParams:
    """:class:`InvalidParams` naming each field of the request that is wrong and why."""
    problems = []
    for err in list(exc.errors())[:20]:
        loc = list(err.get("loc", ()))
        problem = str(err.get("msg", "invalid"))[:200]
        if err.get("type") == "json_invalid":  # loc is ("body", character position)
            where, problem = "body", f"not valid JSON ({problem}) at character {loc[-1] if loc else '?'}"
        else:
            where = ".".join(str(part) for part in loc if part != "body") or "body"
        problems.append({"field": where, "problem": problem})
    shown = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:_SHOWN_ERRORS]) or "invalid request"
    return InvalidParams(f"invalid request: {shown}", errors=problems)


def create_app(settings: Settings, client: TaskQ | None = None) -> FastAPI:
    """The HTTP app over ``client`` (default: a new :class:`TaskQ` for ``settings``)."""
    client = client or TaskQ(settings)
    web = FastAPI(title="taskq", version="1")

    @web.exception_handler(TaskqError)
    async def _taskq_error(_request: Request, exc: TaskqError) -> JSONResponse:
        return JSONResponse({"error": exc.to_dict()}, status_code=_http_status(exc))

    @web.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # An unknown path, a wrong method, a body that is no JSON at all: the one shape too.
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        message = str(exc.detail) if exc.detail else "error"
        return JSONResponse(
            {"error": {"code": code, "message": message}},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @web.exception_handler(RequestValidationError)
    async def _request_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own shape ({"detail": [...]}) for a malformed body or query: every other
        # error is {"error": {...}}, and a client reads one shape.
        return JSONResponse({"error": _invalid_request(exc).to_dict()}, status_code=422)

    @web.post("/tasks", status_code=201)
    def submit(body: SubmitRequest, x_user_id: str | None = Header(default=None)) -> dict[str, Any]:
        info = client.submit(
            body.tool, body.input_path, body.params, user_id=x_user_id, idempotency_key=body.idempotency_key
        )
        return info.to_dict()

    @web.get("/tasks")
    def list_tasks(
        status: str | None = None, tool: str | None = None, user_id: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        return [t.to_dict() for t in client.list(status=status, tool=tool, user_id=user_id, limit=limit)]

    @web.get("/tasks/{task_id}")
    def get_task(task_id: str) -> dict[str, Any]:
        return client.get(task_id).to_dict()

    @web.post("/tasks/{task_id}/cancel")
    def cancel(task_id: str) -> dict[str, Any]:
        return client.cancel(task_id).to_dict()

    @web.post("/tasks/{task_id}/retry")
    def retry(task_id: str) -> dict[str, Any]:
        return client.retry(task_id).to_dict()

    @web.get("/health")
    def healthz() -> JSONResponse:
        code, report = health.check(settings, client.redis)
        return JSONResponse(report, status_code=200 if code == 0 else 503)

    @web.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics.render(settings, client.redis), media_type=metrics.CONTENT_TYPE)

    return web


class _LazyApp:
    """ASGI app built from the environment on first use (``uvicorn taskq.web:app``)."""

    def __init__(self) -> None:
        self._app: FastAPI | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            from dotenv import load_dotenv

            load_dotenv(override=False)
            self._app = create_app(Settings.from_env())
        await self._app(scope, receive, send)


app = _LazyApp()
