"""The CLI through click's CliRunner: ``--json`` output, the one-line error format, exit codes.

The environment points at a SQLite file under ``tmp_path``; Redis is either a
shared fakeredis (``taskq.queues.connect`` patched) or an unreachable port.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import fakeredis
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskq import db, queues
from taskq.cli import main

ERROR_LINE = re.compile(r"^error [A-Z_]+: \S")
UNREACHABLE = "redis://127.0.0.1:1/0"


class Env:
    def __init__(self, root: Path, fake: Any) -> None:
        self.root = root
        self.data = root / "data"
        self.uploads = self.data / "uploads"
        self.uploads.mkdir(parents=True)
        self.csv = self.uploads / "people.csv"
        self.csv.write_text(
            "id,name,email\n" + "".join(f"{i},Person {i},p{i}@example.com\n" for i in range(30))
        )
        self.fake = fake

    def invoke(self, *args: str) -> Result:
        return CliRunner().invoke(main, list(args))

    def json(self, *args: str) -> Any:
        result = self.invoke(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    fake = fakeredis.FakeRedis()
    e = Env(tmp_path, fake)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("TASKQ_DATA_DIR", str(e.data))
    monkeypatch.setenv("TASKQ_INPUT_ROOTS", str(e.uploads))
    monkeypatch.setenv("TASKQ_REDIS_URL", UNREACHABLE)
    monkeypatch.setattr(queues, "connect", lambda settings, **kw: fake)
    yield e
    db.dispose_all()


def assert_error(result: Result, code: str, exit_code: int) -> str:
    """One ``error CODE: message`` line on stderr, no traceback, the class's exit status."""
    assert result.exit_code == exit_code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert ERROR_LINE.match(lines[0]) and lines[0].startswith(f"error {code}: "), lines[0]
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    return lines[0]


# Happy paths with --json ------------------------------------------------------------------------


def test_submit_json_parses_params_and_enqueues(env: Env) -> None:
    task = env.json("submit", "profile", str(env.csv), "-p", "top_k=5", "-p", "approx_distinct=true")
    assert task["status"] == "QUEUED" and task["tool"] == "profile-my-data"
    assert task["params"]["top_k"] == 5 and task["params"]["approx_distinct"] is True
    assert task["input_path"] == str(env.csv.resolve())
    assert env.fake.lrange("rq:queue:profile", 0, -1) == [task["id"].encode()]


def test_submit_params_json_and_pairs_merge(env: Env) -> None:
    task = env.json(
        "submit",
        "master",
        str(env.csv),
        "--params-json",
        '{"threshold": 0.8, "nicknames": false}',
        "-p",
        "threshold=0.85",
        "--user",
        "alice",
        "--idempotency-key",
        "k-1",
    )
    assert task["params"]["threshold"] == 0.85 and task["params"]["nicknames"] is False
    assert task["user_id"] == "alice"
    again = env.json("submit", "master", str(env.csv), "-p", "threshold=0.85", "-p", "nicknames=false",
                     "--user", "alice", "--idempotency-key", "k-1")  # fmt: skip
    assert again["id"] == task["id"]


def test_status_list_cancel_retry_config_round_trip(env: Env) -> None:
    a = env.json("submit", "clean", str(env.csv))
    b = env.json("submit", "profile", str(env.csv))

    detail = env.json("status", a["id"])
    assert detail["id"] == a["id"] and [e["to"] for e in detail["events"]] == ["CREATED", "QUEUED"]

    listed = env.json("list")
    assert [t["id"] for t in listed] == [b["id"], a["id"]]  # newest first
    assert [t["id"] for t in env.json("list", "--tool", "clean")] == [a["id"]]
    assert [t["id"] for t in env.json("list", "--status", "queued", "--limit", "1")] == [b["id"]]

    cancelled = env.json("cancel", a["id"])
    assert cancelled["status"] == "CANCELLED" and cancelled["error_code"] == "CANCELLED"
    assert env.fake.lrange("rq:queue:clean", 0, -1) == []
    assert [t["id"] for t in env.json("list", "--status", "CANCELLED")] == [a["id"]]

    retried = env.json("retry", a["id"])
    assert retried["status"] == "QUEUED" and retried["attempt"] == 2
    assert env.fake.lrange("rq:queue:clean", 0, -1) == [a["id"].encode()]

    config = env.json("config")
    assert config["TASKQ_DATA_DIR"] == str(env.data)
    assert config["TASKQ_INPUT_ROOTS"] == str(env.uploads)
    assert config["TASKQ_REDIS_URL"] == UNREACHABLE


def test_status_overview_json(env: Env) -> None:
    env.json("submit", "clean", str(env.csv))
    overview = env.json("status")
    assert overview["tasks"]["QUEUED"] == 1 or overview["tasks"].get("by_status", {}).get("QUEUED") == 1
    assert "errors" not in overview


def test_retry_all_failed_json(env: Env) -> None:
    assert env.json("retry", "--all-failed") == []


def test_run_json_executes_locally(env: Env) -> None:
    out = env.root / "out"
    report = env.json("run", "profile", str(env.csv), "--out", str(out), "-p", "top_k=3")
    assert report["tool"] == "profile-my-data" and report["input"]["rows"] == 30
    assert report["params"]["top_k"] == 3
    assert (out / "report.json").is_file() and "profile.json" in report["outputs"]


def test_run_human_output(env: Env) -> None:
    result = env.invoke("run", "clean", str(env.csv), "--out", str(env.root / "out"))
    assert result.exit_code == 0, result.output
    assert "done" in result.stdout


def test_submit_with_redis_down_warns_and_keeps_the_task(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    monkeypatch.setattr(
        queues, "connect", lambda s, **kw: redis.Redis.from_url(UNREACHABLE, socket_connect_timeout=0.2)
    )
    result = env.invoke("submit", "profile", str(env.csv), "--json")
    assert result.exit_code == 0, result.output
    task = json.loads(result.stdout)
    assert task["status"] == "CREATED"
    assert "REDIS_UNAVAILABLE" in result.stderr


# Errors: one line, the right exit code --------------------------------------------------------------


def test_unknown_task_is_exit_4(env: Env) -> None:
    for args in (["status", "nope"], ["cancel", "nope"], ["retry", "nope"]):
        line = assert_error(env.invoke(*args), "TASK_NOT_FOUND", 4)
        assert "nope" in line


def test_invalid_transitions_are_exit_5(env: Env) -> None:
    task = env.json("submit", "profile", str(env.csv))
    assert_error(env.invoke("retry", task["id"]), "TASK_NOT_RETRYABLE", 5)
    env.json("cancel", task["id"])
    assert_error(env.invoke("cancel", task["id"]), "TASK_NOT_CANCELLABLE", 5)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["submit", "nope", "{csv}"], "UNKNOWN_TOOL"),
        (["submit", "profile", "{csv}", "-p", "top_k=0"], "INVALID_PARAMS"),
        (["submit", "profile", "{csv}", "-p", "bogus=1"], "INVALID_PARAMS"),
        (["submit", "profile", "{csv}", "-p", "noequals"], "INVALID_PARAMS"),
        (["submit", "profile", "{csv}", "-p", "=1"], "INVALID_PARAMS"),
        (["submit", "profile", "{csv}", "--params-json", "{{bad"], "INVALID_PARAMS"),
        (["submit", "profile", "{csv}", "--params-json", "[1]"], "INVALID_PARAMS"),
        (["submit", "profile", "{uploads}/missing.csv"], "INPUT_NOT_FOUND"),
        (["submit", "profile", "/etc/passwd"], "INPUT_NOT_ALLOWED"),
        (["submit", "profile", "{uploads}/../../x.csv"], "INPUT_NOT_ALLOWED"),
        (["submit", "clean", "{csv}", "--idempotency-key", ""], "INVALID_PARAMS"),
        (["list", "--tool", "nope"], "UNKNOWN_TOOL"),
        (["submit", "--", "[/]", "{csv}"], "UNKNOWN_TOOL"),  # rich markup in user input
        (["submit", "--", "a\nb\u2028c", "{csv}"], "UNKNOWN_TOOL"),  # line breaks in user input
        (["run", "--json", "profile", "{uploads}/missing.csv", "--out", "{root}/o"], "INPUT_NOT_FOUND"),
        (["run", "--json", "nope", "{csv}", "--out", "{root}/o"], "UNKNOWN_TOOL"),
        (
            ["run", "--json", "master", "{csv}", "--out", "{root}/o", "-p", 'roles={{"zz": "email"}}'],
            "UNKNOWN_COLUMN",
        ),
    ],
)
def test_bad_input_is_one_error_line_exit_2(env: Env, args: list[str], code: str) -> None:
    filled = [a.format(csv=env.csv, uploads=env.uploads, root=env.root) for a in args]
    assert_error(env.invoke(*filled), code, 2)
    if filled[0] == "submit":
        assert env.json("list") == []


def test_run_with_progress_bar_ends_with_the_error_line(env: Env) -> None:
    result = env.invoke(
        "run", "master", str(env.csv), "--out", str(env.root / "o"), "-p", 'roles={"zz": "email"}'
    )
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error UNKNOWN_COLUMN: ")
    assert sum(line.startswith("error ") for line in lines) == 1
    assert not (env.root / "o").exists()


def test_bad_configuration_is_exit_2(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKQ_MAX_ATTEMPTS", "many")
    line = assert_error(env.invoke("list"), "CONFIG_INVALID", 2)
    assert "TASKQ_MAX_ATTEMPTS" in line


def test_database_down_is_exit_3(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKQ_DATABASE_URL", "postgresql://u:pw@127.0.0.1:1/x")
    assert_error(env.invoke("list"), "DATABASE_UNAVAILABLE", 3)


def test_bad_status_filter_is_a_clean_error(env: Env) -> None:
    line = assert_error(env.invoke("list", "--status", "bogus"), "INVALID_PARAMS", 2)
    assert "QUEUED" in line


def test_usage_errors_are_exit_2(env: Env) -> None:
    result = env.invoke("retry")
    assert result.exit_code == 2 and "TASK_ID or --all-failed" in result.output
    assert env.invoke("submit").exit_code == 2


@pytest.mark.parametrize(
    "args", [("-v", "status", "nope"), ("status", "nope", "-v"), ("status", "--verbose", "nope")]
)
def test_verbose_adds_the_traceback(env: Env, args: tuple[str, ...]) -> None:
    # After the command too (QA: "taskq maintain --once -v" was "No such option").
    result = env.invoke(*args)
    assert result.exit_code == 4
    assert "error TASK_NOT_FOUND" in result.stderr and "Traceback" in result.stderr
    quiet = env.invoke("status", "nope")
    assert quiet.exit_code == 4 and "Traceback" not in quiet.stderr


def test_every_command_takes_verbose() -> None:
    from taskq.cli import main

    def commands(group: click.Group, path: str) -> list[tuple[str, click.Command]]:
        out = []
        for name, cmd in group.commands.items():
            if isinstance(cmd, click.Group):
                out += commands(cmd, f"{path} {name}")
            else:
                out.append((f"{path} {name}", cmd))
        return out

    found = commands(main, "taskq") + [
        (f"taskq {n}", c) for n, c in main.commands.items() if isinstance(c, click.Group)
    ]
    assert len(found) > 10
    assert [p for p, cmd in found if not any("-v" in o.opts for o in cmd.params)] == []


# Fuzzing the arguments ---------------------------------------------------------------------------------

odd_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=20
)
tool_names = (
    st.sampled_from(["profile", "clean", "master", "PROFILE", " clean ", "profile-my-data"]) | odd_text
)
param_keys = (
    st.sampled_from(["top_k", "threshold", "steps", "columns", "read_options", "baseline", "roles"])
    | odd_text
)
param_values = (
    st.sampled_from(["1", "0", "-1", "1e999", "NaN", "true", "null", "[]", "{}", '"x"', "[1,2", '{"a":'])
    | odd_text
)
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check_outcome(result: Result) -> None:
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), (
        f"raw {type(result.exception).__name__}: {result.exception}"
    )
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and ERROR_LINE.match(lines[0]), result.stderr


@FUZZ
@given(
    tool=tool_names,
    pairs=st.lists(st.tuples(param_keys, st.sampled_from(["=", ""]), param_values), max_size=3),
    path=st.sampled_from(["{csv}", "{uploads}/../x.csv", "/", "", "{uploads}", "/dev/null", "~", "{root}"])
    | odd_text,
)
def test_fuzzed_submit_arguments(env: Env, tool: str, pairs: list[tuple[str, str, str]], path: str) -> None:
    target = path.replace("{csv}", str(env.csv)).replace("{uploads}", str(env.uploads))
    target = target.replace("{root}", str(env.root))
    options = [f"--param={k}{sep}{v}" for k, sep, v in pairs]
    before = len(env.json("list", "--limit", "10000"))
    result = env.invoke("submit", *options, "--", tool, target)
    _check_outcome(result)
    after = len(env.json("list", "--limit", "10000"))
    assert after == before + (1 if result.exit_code == 0 else 0)


@FUZZ
@given(
    command=st.sampled_from(["status", "cancel", "retry"]),
    task_id=odd_text,
)
def test_fuzzed_task_ids(env: Env, command: str, task_id: str) -> None:
    result = env.invoke(command, "--", task_id) if task_id else env.invoke(command, "--", "x")
    _check_outcome(result)
    assert result.exit_code == 4


@FUZZ
@given(status=odd_text, tool=st.none() | odd_text, limit=st.integers(-5, 10**6))
def test_fuzzed_list_filters(env: Env, status: str, tool: str | None, limit: int) -> None:
    args = ["list", "--status", status, "--limit", str(limit)]
    if tool is not None:
        args += ["--tool", tool]
    _check_outcome(env.invoke(*args))


def test_status_shows_stored_text_as_it_is_never_as_markup(env: Env) -> None:
    # rich read "[/]" in a column name as a closing tag (a traceback) and "[red]" in a path as style.
    (env.uploads / "[red]z.csv").write_text(env.csv.read_text())
    task = env.json(
        "submit", "profile", str(env.uploads / "[red]z.csv"), "-p", 'columns=["[/]"]', "--user", "[b]u"
    )
    result = env.invoke("status", task["id"])
    assert result.exit_code == 0, result.output
    flat = result.stdout.replace("\n", "").replace(" ", "")
    assert "[red]z.csv" in flat and '["[/]"]' in flat and "[b]u" in flat
    assert env.invoke("list").exit_code == 0


def test_list_limit_zero_lists_nothing_and_a_negative_limit_is_refused(env: Env) -> None:
    env.json("submit", "profile", str(env.csv))
    assert env.json("list", "--limit", "0") == []
    assert_error(env.invoke("list", "--limit", "-1"), "INVALID_PARAMS", 2)


def test_over_long_or_nul_identifiers_are_clean_errors(env: Env) -> None:
    assert_error(env.invoke("submit", "profile", str(env.csv), "--user", "u" * 201), "INVALID_PARAMS", 2)
    assert_error(env.invoke("status", "a" * 5000), "TASK_NOT_FOUND", 4)
    assert_error(env.invoke("list", "--user", "u" * 201), "INVALID_PARAMS", 2)
    assert_error(env.invoke("submit", "profile", ""), "INPUT_NOT_ALLOWED", 2)


def test_retry_with_redis_down_warns_that_maintenance_dispatches_it(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    task = env.json("submit", "profile", str(env.csv))
    env.json("cancel", task["id"])
    monkeypatch.setattr(
        queues, "connect", lambda s, **kw: redis.Redis.from_url(UNREACHABLE, socket_connect_timeout=0.2)
    )
    result = env.invoke("retry", task["id"])
    assert result.exit_code == 0, result.output
    assert "REDIS_UNAVAILABLE" in result.stderr and "maintenance" in result.stderr


def test_db_commands_take_json(env: Env) -> None:
    assert env.json("db", "upgrade")["revision"] == env.json("db", "current")["revision"] == "0001"
