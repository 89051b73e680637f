"""Security: inputs stay inside the allowed roots, JSON (never pickle) on the wire,
verified TLS for ``rediss://``, and no password in logs, CLI output or errors."""

from __future__ import annotations

import ast
import io
import json
import logging
import os
import ssl
import zlib
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner
from rq.serializers import JSONSerializer

import taskq
from taskq import queues, runner
from taskq.api import TaskQ
from taskq.config import Settings
from taskq.errors import DatabaseUnavailable, InputNotAllowed, JobFailed, RedisUnavailable, TaskqError

PACKAGE = Path(taskq.__file__).resolve().parent
SECRET = "s3cr3t-Pa55"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A readable CSV outside every allowed root."""
    path = tmp_path / "outside" / "secret.csv"
    path.parent.mkdir()
    path.write_text("user,password\nroot,hunter2\n")
    return path


def _count(client: TaskQ) -> int:
    return len(client.list(limit=10_000))


# Input paths ---------------------------------------------------------------------------------


def test_traversal_and_absolute_paths_are_refused_at_submit(
    client: TaskQ, uploads: Path, outside: Path, small_csv: Path
) -> None:
    rel = os.path.relpath(outside, uploads)
    candidates = [
        uploads / rel,  # uploads/../../outside/secret.csv
        str(uploads) + "/" + rel,
        outside,  # absolute, elsewhere
        Path("/etc/passwd"),
        uploads / ".." / "uploads" / ".." / ".." / "outside" / "secret.csv",
    ]
    for path in candidates:
        for tool in ("profile", "clean", "master"):
            with pytest.raises(InputNotAllowed) as caught:
                client.submit(tool, path)
            assert caught.value.code == "INPUT_NOT_ALLOWED"
    assert _count(client) == 0
    # A traversal that ends back inside a root is fine.
    assert client.submit("profile", uploads / ".." / "uploads" / small_csv.name).status == "QUEUED"


def test_relative_path_outside_the_roots_is_refused(
    client: TaskQ, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(outside.parent)
    with pytest.raises(InputNotAllowed):
        client.submit("profile", "secret.csv")
    assert _count(client) == 0


def test_file_and_directory_symlink_escapes_are_refused(client: TaskQ, uploads: Path, outside: Path) -> None:
    (uploads / "link.csv").symlink_to(outside)
    (uploads / "linkdir").symlink_to(outside.parent, target_is_directory=True)
    (uploads / "chain.csv").symlink_to(uploads / "link.csv")
    for path in (uploads / "link.csv", uploads / "linkdir" / "secret.csv", uploads / "chain.csv"):
        with pytest.raises(InputNotAllowed):
            client.submit("clean", path)
    assert _count(client) == 0


def test_symlink_inside_the_roots_is_allowed(client: TaskQ, uploads: Path, small_csv: Path) -> None:
    (uploads / "alias.csv").symlink_to(small_csv)
    info = client.submit("profile", uploads / "alias.csv")
    assert info.task["input_path"] == str(small_csv.resolve())


def test_prefix_sibling_of_a_root_is_not_inside_it(client: TaskQ, uploads: Path) -> None:
    sibling = uploads.parent / (uploads.name + "-evil")
    sibling.mkdir()
    (sibling / "x.csv").write_text("a\n1\n")
    with pytest.raises(InputNotAllowed):
        client.submit("profile", sibling / "x.csv")


@pytest.mark.parametrize("kind", ["file", "directory"])
def test_input_swapped_for_a_symlink_after_submit_fails_at_run(
    kind: str, client: TaskQ, settings: Settings, uploads: Path, outside: Path
) -> None:
    runner.configure(settings, "unit-worker")
    folder = uploads / "batch"
    folder.mkdir()
    src = folder / "in.csv"
    src.write_text("a,b\n1,2\n")
    info = client.submit("profile", src)
    if kind == "file":
        src.unlink()
        src.symlink_to(outside)
    else:
        src.unlink()
        folder.rmdir()
        folder.symlink_to(outside.parent, target_is_directory=True)
        (outside.parent / "in.csv").write_text("user,password\nroot,hunter2\n")
    with pytest.raises(JobFailed):
        runner.run_task(info.id)
    task = client.get(info.id).task
    assert task["status"] == "FAILED" and task["error_code"] == "INPUT_NOT_ALLOWED"
    assert task["attempt"] == 1  # an input error is not retried
    assert not Path(task["output_dir"]).exists()


def test_check_input_path_directly(settings: Settings, uploads: Path, outside: Path) -> None:
    assert runner.check_input_path(settings, uploads / "a.csv") == (uploads / "a.csv").resolve()
    for bad in (outside, uploads / ".." / ".." / "outside" / "secret.csv", "/", "~/x.csv"):
        with pytest.raises(InputNotAllowed):
            runner.check_input_path(settings, bad)


def test_path_params_are_held_to_the_roots_too(
    client: TaskQ, settings: Settings, small_csv: Path, outside: Path, uploads: Path
) -> None:
    """profile's ``baseline`` is a second input file: the same roots apply."""
    with pytest.raises(InputNotAllowed):
        client.submit("profile", small_csv, {"baseline": str(outside)})
    (uploads / "base-link.csv").symlink_to(outside)
    with pytest.raises(InputNotAllowed):
        client.submit("profile", small_csv, {"baseline": str(uploads / "base-link.csv")})
    assert _count(client) == 0
    # Inside the roots it is accepted; swapped for a symlink before the run, it fails.
    baseline = uploads / "base.csv"
    baseline.write_text(small_csv.read_text())
    info = client.submit("profile", small_csv, {"baseline": str(baseline)})
    baseline.unlink()
    baseline.symlink_to(outside)
    runner.configure(settings, "unit-worker")
    with pytest.raises(JobFailed):
        runner.run_task(info.id)
    assert client.get(info.id).task["error_code"] == "INPUT_NOT_ALLOWED"


# Serializer: JSON everywhere, pickle nowhere -----------------------------------------------------


def test_queues_worker_and_dashboard_use_the_json_serializer(settings: Settings, fake_redis: Any) -> None:
    from rq_dashboard.web import config as dashboard_config

    from taskq.dashboard import create_app
    from taskq.worker import TaskqWorker

    assert queues.SERIALIZER is JSONSerializer
    assert queues.queue("profile", fake_redis).serializer is JSONSerializer
    worker = TaskqWorker(["profile"], settings=settings, connection=fake_redis)
    assert worker.serializer is JSONSerializer
    create_app(settings)
    assert dashboard_config.serializer is JSONSerializer


def test_job_data_in_redis_is_zlib_json(client: TaskQ, small_csv: Path, fake_redis: Any) -> None:
    info = client.submit("clean", small_csv)
    raw = fake_redis.hget(f"rq:job:{info.id}", "data")
    func, _instance, args, kwargs = json.loads(zlib.decompress(raw))
    assert (func, args, kwargs) == ("taskq.runner.run_task", [info.id], {})
    meta = fake_redis.hget(f"rq:job:{info.id}", "meta")
    assert json.loads(meta) == {"tool": "clean-my-data"}
    job = queues.fetch_job(info.id, fake_redis)
    assert job is not None and job.serializer is JSONSerializer


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(), str(p))) for p in sorted(PACKAGE.rglob("*.py"))]


def test_nothing_in_the_package_imports_or_calls_pickle() -> None:
    banned_modules = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "shelve", "marshal"}
    found = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [(node.module or "").split(".")[0]] + [a.name for a in node.names]
            elif isinstance(node, ast.Attribute):
                names = [node.attr] if node.attr in {"loads", "load"} and _is_pickle(node.value) else []
                names += (
                    ["DefaultSerializer"] if node.attr in {"DefaultSerializer", "PickleSerializer"} else []
                )
            elif isinstance(node, ast.Name):
                names = [node.id] if node.id in {"DefaultSerializer", "PickleSerializer"} else []
            else:
                continue
            hits = [n for n in names if n in banned_modules or n in {"DefaultSerializer", "PickleSerializer"}]
            if hits:
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {hits}")
    assert found == []


def _is_pickle(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id in {"pickle", "cPickle", "_pickle", "dill"}


# TLS -------------------------------------------------------------------------------------------------


def test_rediss_verifies_certificates_and_host_names_by_default(tmp_path: Path) -> None:
    conn = queues.connect(Settings(data_dir=tmp_path, redis_url="rediss://cache.example.com:6380/0"))
    kwargs = conn.connection_pool.connection_kwargs
    assert conn.connection_pool.connection_class is redis.SSLConnection
    assert kwargs["ssl_cert_reqs"] in (ssl.CERT_REQUIRED, "required")
    assert kwargs["ssl_check_hostname"] is True
    assert kwargs.get("ssl_ca_certs") is None  # the system CAs, unless TASKQ_REDIS_CA_FILE is set


def test_rediss_uses_the_configured_ca_file(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    conn = queues.connect(
        Settings(data_dir=tmp_path, redis_url="rediss://cache.example.com:6380/0", redis_ca_file=str(ca))
    )
    assert conn.connection_pool.connection_kwargs["ssl_ca_certs"] == str(ca)


def test_plain_redis_has_no_tls(tmp_path: Path) -> None:
    conn = queues.connect(Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:6379/0"))
    assert conn.connection_pool.connection_class is redis.Connection


# Passwords ----------------------------------------------------------------------------------------------


@pytest.fixture
def leaky(tmp_path: Path) -> Settings:
    """Settings whose Redis and database URLs carry a password and point nowhere."""
    data = tmp_path / "data"
    (data / "uploads").mkdir(parents=True)
    return Settings(
        data_dir=data,
        redis_url=f"redis://taskq:{SECRET}@127.0.0.1:1/0",
        database_url=f"postgresql://taskq:{SECRET}@127.0.0.1:1/taskq",
        input_roots=(data / "uploads",),
    )


def _captured_logs() -> tuple[io.StringIO, Any]:
    from taskq.logs import configure

    stream = io.StringIO()
    configure("DEBUG", stream=stream)
    return stream, logging.getLogger()


@pytest.fixture
def restore_logging() -> Any:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_redis_unavailable_message_and_log_hide_the_password(leaky: Settings, restore_logging: Any) -> None:
    stream, _ = _captured_logs()
    conn = queues.connect(leaky, socket_connect_timeout=0.2)
    with pytest.raises(RedisUnavailable) as caught:
        queues.enqueue(leaky, conn, task_id="t1", tool="profile-my-data", queue_name="profile")
    err = caught.value
    assert SECRET not in str(err) and SECRET not in json.dumps(err.to_dict(), default=str)
    logging.getLogger("taskq.test").warning("redis said: %s", err)
    logging.getLogger("taskq.test").error("url %s", leaky.redis_url)
    logging.getLogger("taskq.test").error(f"an f-string with {leaky.database_url}")
    try:
        raise RuntimeError(f"boom at {leaky.redis_url}")
    except RuntimeError:
        logging.getLogger("taskq.test").exception("with traceback")
    text = stream.getvalue()
    assert "redis said" in text and "with traceback" in text
    assert SECRET not in text


def test_json_logs_hide_the_password(leaky: Settings, restore_logging: Any) -> None:
    from taskq.logs import configure

    stream = io.StringIO()
    configure("INFO", json=True, stream=stream)
    log = logging.getLogger("taskq.test")
    log.warning("connecting to %s", leaky.redis_url, extra={"task_id": "t1"})
    try:
        raise ValueError(leaky.database_url)
    except ValueError:
        log.exception("failed")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 2 and lines[0]["task_id"] == "t1"
    assert SECRET not in stream.getvalue()


def test_database_unavailable_message_hides_the_password(leaky: Settings) -> None:
    from taskq.db import session_scope

    with pytest.raises(TaskqError) as caught, session_scope(leaky) as s:
        s.execute(__import__("sqlalchemy").text("SELECT 1"))
    assert isinstance(caught.value, DatabaseUnavailable)
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value.details)


def test_settings_redacted_and_config_command_hide_passwords(
    leaky: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert SECRET not in json.dumps(leaky.redacted())
    for key, value in leaky.to_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    cli_runner = CliRunner()
    from taskq.cli import main

    for args in (["config"], ["config", "--json"]):
        result = cli_runner.invoke(main, args)
        assert result.exit_code == 0, result.output
        assert SECRET not in result.output
        assert "taskq:***@" in result.output
    data = json.loads(cli_runner.invoke(main, ["config", "--json"]).output)
    assert data["TASKQ_REDIS_URL"] == "redis://taskq:***@127.0.0.1:1/0"


@pytest.mark.parametrize(
    ("args", "fails"),
    [
        (["status"], True),  # the overview reports unreachable services and exits 3
        (["health"], True),
        (["list"], True),
        (["status", "00000000-0000-0000-0000-000000000000"], True),
        (["cancel", "00000000-0000-0000-0000-000000000000"], True),
        (["db", "current"], True),
        (["maintain", "--once"], True),  # each step's failure is reported, the pass ends, exit 1
    ],
)
def test_cli_output_and_error_lines_hide_passwords(
    args: list[str], fails: bool, leaky: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key, value in leaky.to_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    from taskq.cli import main

    for extra in ([], ["-v"]):
        result = CliRunner().invoke(main, extra + args)
        assert (result.exit_code != 0) == fails, result.output
        assert SECRET not in result.output
        assert not isinstance(result.exception, TaskqError | AttributeError | TypeError)
        if not extra:
            assert "Traceback" not in result.output
            if fails and args[0] not in ("health", "status", "maintain"):
                error_lines = [line for line in result.output.splitlines() if line.startswith("error ")]
                assert len(error_lines) == 1, result.output


def test_cli_submit_with_redis_down_hides_the_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, restore_logging: Any
) -> None:
    data = tmp_path / "data"
    (data / "uploads").mkdir(parents=True)
    src = data / "uploads" / "in.csv"
    src.write_text("a\n1\n")
    monkeypatch.setenv("TASKQ_DATA_DIR", str(data))
    monkeypatch.setenv("TASKQ_REDIS_URL", f"redis://u:{SECRET}@127.0.0.1:1/0")
    monkeypatch.chdir(tmp_path)
    from taskq.cli import main
    from taskq.db import upgrade

    upgrade(Settings.from_env())
    result = CliRunner().invoke(main, ["-v", "submit", "profile", str(src)])
    assert SECRET not in result.output
    assert "REDIS_UNAVAILABLE" in result.output  # the warning names the problem


def test_redacting_a_huge_message_does_not_backtrack() -> None:
    # A scheme-like run of letters with no "://" once took time quadratic in its length:
    # 40,000 letters held a worker for 11 s, a 5 MB column name for the whole job timeout.
    import subprocess
    import sys

    code = (
        "from taskq.logs import redact; s = 'c' * 2_000_000; assert redact(s) == s; "
        "assert redact('x' * 100_000 + ' redis://u:pw@h') == 'x' * 100_000 + ' redis://u:***@h'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_error_messages_and_details_are_bounded() -> None:
    from taskq.errors import MAX_ITEMS, MAX_RAISED, UnknownColumn

    exc = UnknownColumn("no column " + "c" * 5_000_000, column="c" * 5_000_000, available=["a"] * 50_000)
    assert len(exc.message) == MAX_RAISED and exc.message.endswith("(5,000,010 characters)")
    assert len(exc.details["column"]) == MAX_RAISED and len(exc.details["available"]) == MAX_ITEMS
