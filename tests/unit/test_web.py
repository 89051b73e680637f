"""The HTTP API over the facade (SQLite + fakeredis)."""

from __future__ import annotations

from pathlib import Path

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


def test_metrics_and_health(settings: Settings, client: TaskQ, small_csv: Path) -> None:
    http = TestClient(create_app(settings, client))
    client.submit("clean", small_csv)
    body = http.get("/metrics").text
    assert 'taskq_tasks{status="QUEUED"} 1.0' in body
    assert 'taskq_queue_depth{queue="clean"} 1.0' in body
    health = http.get("/health")
    assert health.status_code == 503  # no worker listens
    assert health.json()["checks"]["workers"]["queues_without_worker"] == ["profile", "clean", "master"]
