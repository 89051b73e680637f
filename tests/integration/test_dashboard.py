"""rq-dashboard 0.9 on rq 3.0 with taskq's JSON serializer, against real Redis.

Tasks are submitted through :class:`TaskQ` (SQLite in ``tmp_path``), then the
dashboard's pages and JSON endpoints are fetched with Flask's test client. The
job ids it shows must be the task ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from taskq.api import TaskQ
from taskq.config import Settings
from taskq.dashboard import create_app
from taskq.db import dispose_all
from tests.conftest import make_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def dash(tmp_path: Path, redis_url: str, real_redis: Any) -> Any:
    settings: Settings = make_settings(tmp_path, redis_url=redis_url)
    src = settings.data_dir / "uploads" / "in.csv"
    src.write_text("a,b\n1,2\n3,4\n")
    client = TaskQ(settings)
    ids = {
        "profile": client.submit("profile", src).id,
        "clean": client.submit("clean", src).id,
        "master": client.submit("master", src, {"threshold": 0.8}).id,
    }
    cancelled = client.submit("clean", src).id
    client.cancel(cancelled)
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app.test_client(), ids, real_redis
    dispose_all()


def _ok(response: Any) -> Any:
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True)[:2000])
    return response


def test_queues_page_and_json_list_the_tool_queues(dash: Any) -> None:
    http, ids, _ = dash
    assert "rq" in _ok(http.get("/")).get_data(as_text=True).lower()
    _ok(http.get("/0/view/queues", follow_redirects=True))
    data = _ok(http.get("/0/data/queues.json")).get_json()
    counts = {q["name"]: q["count"] for q in data["queues"]}
    assert counts["profile"] == 1 and counts["clean"] == 1 and counts["master"] == 1


@pytest.mark.parametrize("queue", ["profile", "clean", "master"])
def test_jobs_of_a_queue_show_the_task_id(dash: Any, queue: str) -> None:
    http, ids, _ = dash
    _ok(http.get(f"/0/view/jobs/{queue}/queued/8/asc/1"))
    data = _ok(http.get(f"/0/data/jobs/{queue}/queued/8/asc/1.json")).get_json()
    assert [job["id"] for job in data["jobs"]] == [ids[queue]]
    assert ids[queue] in data["jobs"][0]["description"]


def test_job_detail_page_and_json(dash: Any) -> None:
    http, ids, _ = dash
    task_id = ids["master"]
    _ok(http.get(f"/0/view/job/{task_id}"))
    data = _ok(http.get(f"/0/data/job/{task_id}.json")).get_json()
    assert data["id"] == task_id and data["origin"] == "master" and data["status"] == "queued"
    assert task_id in data["description"]
    assert '"tool": "master-my-data"' in data["metadata"]


def test_workers_page_and_json(dash: Any, tmp_path: Path) -> None:
    from taskq.worker import TaskqWorker

    http, _, redis_client = dash
    _ok(http.get("/0/view/workers"))
    assert _ok(http.get("/0/data/workers.json")).get_json() == {"workers": []}
    worker = TaskqWorker(["profile", "clean"], settings=make_settings(tmp_path), connection=redis_client)
    worker.register_birth()
    try:
        workers = _ok(http.get("/0/data/workers.json")).get_json()["workers"]
        assert [w["name"] for w in workers] == [worker.name]
        assert workers[0]["queues"] == ["profile", "clean"]
    finally:
        worker.register_death()


def test_other_registries_render(dash: Any) -> None:
    http, _, _ = dash
    for registry in ("started", "finished", "failed", "deferred", "scheduled", "canceled"):
        data = _ok(http.get(f"/0/data/jobs/clean/{registry}/8/asc/1.json")).get_json()
        assert isinstance(data["jobs"], list)


def test_no_route_unpickles_data_from_redis(dash: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from rq.serializers import DefaultSerializer

    calls: list[bytes] = []

    def recording_loads(data: bytes, *args: Any, **kwargs: Any) -> Any:
        calls.append(data)
        raise ValueError("pickle is not allowed")

    monkeypatch.setattr(DefaultSerializer, "loads", staticmethod(recording_loads))
    http, ids, _ = dash
    task_id = ids["profile"]
    for url in (
        "/",
        "/0/view/workers",
        "/0/view/jobs/profile/queued/8/asc/1",
        "/0/data/queues.json",
        "/0/data/jobs/profile/queued/8/asc/1.json",
        "/0/data/workers.json",
        f"/0/data/job/{task_id}.json",
        f"/0/view/job/{task_id}",
    ):
        http.get(url)
    from rq.exceptions import InvalidJobOperation

    with pytest.raises(InvalidJobOperation):  # fetched (with JSON), then refused: the job is not failed
        http.post(f"/job/{task_id}/requeue")
    http.post(f"/job/{task_id}/delete")
    assert calls == []
