"""The nastiest inputs through a real worker: each task ends FAILED with an input error
code, nothing is retried or left stuck, and the same worker then completes a good task."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from taskq.api import TaskQ
from taskq.config import Settings
from taskq.errors import InvalidParams, input_error_codes
from taskq.testing import WorkerProcess, wait_for

pytestmark = pytest.mark.integration

ENDED = {"COMPLETED", "FAILED", "CANCELLED", "EXPIRED"}
INPUT_CODES = input_error_codes()


def _zip_without_workbook() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    return buf.getvalue()


NASTY: dict[str, bytes] = {
    "binary.csv": bytes(range(256)) * 40,
    "random.xlsx": bytes((i * 131 + 7) % 256 for i in range(4000)),
    "zip_without_workbook.xlsx": _zip_without_workbook(),
    "truncated.parquet": b"PAR1" + bytes(200),
    "header_only.csv": b"a,b,c\n",
    "truncated.json": b'[{"a": 1}, {"a":',
    "legacy.xls": b"\xd0\xcf\x11\xe0" + bytes(500),
}


def test_nasty_inputs_fail_cleanly_and_the_worker_survives(backend_settings: Settings) -> None:
    uploads = backend_settings.data_dir / "uploads"
    good = uploads / "good.csv"
    good.write_text("id,name\n" + "".join(f"{i},Name {i}\n" for i in range(50)))
    client = TaskQ(backend_settings)
    submitted: dict[str, str] = {}
    for i, (name, data) in enumerate(sorted(NASTY.items())):
        path = uploads / name
        path.write_bytes(data)
        tool = ("profile", "clean", "master")[i % 3]
        submitted[f"{name}/{tool}"] = client.submit(tool, path).id
    # Bad read options are refused at submit: no task is created for them.
    before = len(client.list(limit=1000))
    for tool, options in (("profile", {"delimiter": 5}), ("clean", {"encoding": "rot13"})):
        with pytest.raises(InvalidParams, match="read_options"):
            client.submit(tool, good, {"read_options": options})
    assert len(client.list(limit=1000)) == before
    submitted["roles on a missing column/master"] = client.submit(
        "master", good, {"roles": {"zz": "email"}}
    ).id
    # An input swapped for a symlink out of the roots after submit.
    swapped = uploads / "swapped.csv"
    swapped.write_text("a\n1\n")
    outside = backend_settings.data_dir.parent / "outside.csv"
    outside.write_text("secret\nhunter2\n")
    submitted["swapped symlink/profile"] = client.submit("profile", swapped).id
    swapped.unlink()
    swapped.symlink_to(outside)

    with WorkerProcess(backend_settings, ["profile", "clean", "master"]) as worker:
        wait_for(
            lambda: all(client.get(t, events=False).task["status"] in ENDED for t in submitted.values()),
            180,
            interval=0.5,
            what="every nasty task to end",
        )
        assert worker.proc is not None and worker.proc.poll() is None, worker.log()
        ok = client.submit("clean", good)
        wait_for(lambda: client.get(ok.id, events=False).task["status"] in ENDED, 120, what="the good task")
        assert client.get(ok.id).task["status"] == "COMPLETED", client.get(ok.id).task
        assert worker.proc.poll() is None, worker.log()

    outcomes = {}
    for label, task_id in submitted.items():
        info = client.get(task_id)
        task = info.task
        outcomes[label] = (task["status"], task["error_code"])
        # Input errors are permanent: one attempt, no retry, no outputs.
        assert task["attempt"] == 1, (label, task)
        assert [e["to"] for e in info.events] == ["CREATED", "QUEUED", "PROCESSING", "FAILED"], label
        assert not Path(task["output_dir"]).exists(), label
        assert "Traceback" not in (task["error_message"] or "")
    bad = {k: v for k, v in outcomes.items() if v[0] != "FAILED" or v[1] not in INPUT_CODES}
    assert bad == {}, bad
    assert outcomes["swapped symlink/profile"][1] == "INPUT_NOT_ALLOWED"
    # Nothing half-written next to the outputs.
    leftovers = [p.name for p in backend_settings.outputs.iterdir() if p.name.startswith(".")]
    assert leftovers == []
