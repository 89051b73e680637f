"""The HTTP API over the facade (SQLite + fakeredis)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from taskq.api import TaskQ
from taskq.config import Settings
from taskq.web import create_app


def test_task_routes(settings: Settings, client: TaskQ, small_csv: Path) -> None:
    http = TestClient(create_app(settings, client))
    r = http.post(
        "/tasks", json={"tool": "profile", "input_path": str(small_csv)}, headers={"X-User-Id": "u9"}
    )
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["status"] == "QUEUED" and task["user_id"] == "u9"
    assert http.get(f"/tasks/{task['id']}").json()["events"][0]["to"] == "CREATED"
    assert [t["id"] for t in http.get("/tasks", params={"user_id": "u9"}).json()] == [task["id"]]
    assert http.post(f"/tasks/{task['id']}/cancel").json()["status"] == "CANCELLED"
    conflict = http.post(f"/tasks/{task['id']}/cancel")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "TASK_NOT_CANCELLABLE"
    assert http.post(f"/tasks/{task['id']}/retry").json()["status"] == "QUEUED"


def test_errors_map_to_statuses(settings: Settings, client: TaskQ, small_csv: Path) -> None:
    http = TestClient(create_app(settings, client))
    assert http.get("/tasks/nope").status_code == 404
    bad = http.post("/tasks", json={"tool": "nope", "input_path": str(small_csv)})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "UNKNOWN_TOOL"
    outside = http.post("/tasks", json={"tool": "profile", "input_path": "/etc/passwd"})
    assert outside.status_code == 422 and outside.json()["error"]["code"] == "INPUT_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, "body"),
        ({"json": {"tool": "profile"}}, "input_path"),
        ({"json": {"tool": 123, "input_path": "x.csv"}}, "tool"),
        ({"json": {"tool": "profile", "input_path": "x.csv", "params": [1]}}, "params"),
    ],
)
def test_a_malformed_request_is_an_error_of_the_one_shape(
    settings: Settings, client: TaskQ, kwargs: dict[str, Any], field: str
) -> None:
    # QA: FastAPI answered these {"detail": [...]}; every other error is {"error": {...}}.
    http = TestClient(create_app(settings, client))
    r = http.post("/tasks", **kwargs)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "INVALID_PARAMS" and error["message"].startswith("invalid request: ")
    assert field in [e["field"] for e in error["details"]["errors"]]
    # The framework's own errors too (QA): no such path, no such method, a body it cannot parse.
    missing = http.get("/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    method = http.delete("/tasks")
    assert method.status_code == 405 and method.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    garbled = http.post("/tasks", content=b"\xff\xfe{", headers={"content-type": "application/json"})
    assert garbled.status_code in (400, 422) and garbled.json()["error"]["code"] == "INVALID_PARAMS"
    q = http.get("/tasks", params={"limit": "abc"})
    assert q.status_code == 422 and q.json()["error"]["details"]["errors"][0]["field"] == "query.limit"


def test_metrics_and_health(settings: Settings, client: TaskQ, small_csv: Path) -> None:
    http = TestClient(create_app(settings, client))
    client.submit("clean", small_csv)
    body = http.get("/metrics").text
    assert 'taskq_tasks{status="QUEUED"} 1.0' in body
    assert 'taskq_queue_depth{queue="clean"} 1.0' in body
    health = http.get("/health")
    assert health.status_code == 503  # no worker listens
    # A plugin's queue (the test tools' testq) is reported too (QA: /metrics left it out).
    assert health.json()["checks"]["workers"]["queues_without_worker"] == [
        "profile",
        "clean",
        "master",
        "testq",
    ]
    assert 'taskq_queue_depth{queue="testq"} 0.0' in body


def test_nul_bytes_and_over_long_values_are_client_errors(
    settings: Settings, client: TaskQ, small_csv: Path
) -> None:
    # PostgreSQL refuses NUL and over-long strings with a driver error: they were HTTP 500s.
    http = TestClient(create_app(settings, client))
    nul_path = http.post("/tasks", json={"tool": "profile", "input_path": str(small_csv) + "\u0000x"})
    assert nul_path.status_code == 422 and nul_path.json()["error"]["code"] == "INPUT_NOT_ALLOWED"
    key = http.post(
        "/tasks", json={"tool": "profile", "input_path": str(small_csv), "idempotency_key": "k\u0000"}
    )
    assert key.status_code == 422 and key.json()["error"]["code"] == "INVALID_PARAMS"
    user = http.post(
        "/tasks", json={"tool": "profile", "input_path": str(small_csv)}, headers={"X-User-Id": "u" * 300}
    )
    assert user.status_code == 422
    assert http.get("/tasks/%00").status_code == 404
    assert http.post("/tasks/%00/cancel").status_code == 404
    assert http.get("/tasks", params={"user_id": "\u0000"}).status_code == 422
    assert http.get("/tasks", params={"limit": -1}).status_code == 422
    assert http.get("/tasks", params={"limit": 0}).json() == []
    huge = http.post(
        "/tasks",
        json={"tool": "profile", "input_path": str(small_csv), "params": {"columns": ["city"] * 200_000}},
    )
    assert huge.status_code == 422 and len(huge.text) < 20_000
