"""Hostile input: random parameters, odd read options and malformed files.

Every outcome must be a report or a clean :class:`~taskq.errors.InputError`
with an input error code: never a raw exception, never a stored task on
rejection, and never debris next to the output directory.

The two costly cases (a 50 MB field, 10,000 columns) are marked ``slow``;
``pytest -m "not slow" tests/unit/test_hostile_input.py`` is the quick run.
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskq import jobs
from taskq.api import TaskQ
from taskq.errors import InputError, TaskCancelled, TaskqError, input_error_codes
from taskq.jobs import clean_params, master_params, profile
from taskq.progress import NullProgress

TOOLS = ("profile", "clean", "master")
INPUT_CODES = input_error_codes()
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Real parameter names of each tool, from the tools themselves (so the fuzzer hits type
# checks, not only "unknown key", and follows the tools when they gain a parameter).
PARAM_KEYS = {
    "profile": sorted(profile.DEFAULTS),
    "clean": sorted(clean_params.TOP_LEVEL),
    "master": sorted(master_params.DEFAULTS),
}
READ_OPTIONS_KEY = {"profile": "read_options", "clean": "read_options", "master": "read_options"}
OPTION_KEYS = ["format", "delimiter", "quote", "escape", "header", "encoding", "skip", "sheet"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["auto", "id", "name", "email", "age", "2GB", "US", "whitespace", "types", "drop"])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def params_for(tool: str) -> st.SearchStrategy[dict[str, Any]]:
    keys = st.sampled_from(PARAM_KEYS[tool]) | st.text(max_size=10)
    return st.dictionaries(keys, json_values, max_size=4)


def _assert_input_error(exc: BaseException) -> None:
    assert isinstance(exc, InputError), f"raw {type(exc).__name__}: {exc}"
    assert exc.code in INPUT_CODES, exc.code
    assert exc.message.strip(), "an input error without a message"


def _task_count(client: TaskQ) -> int:
    return len(client.list(limit=10_000))


# Submit ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tool", TOOLS)
def test_random_params_at_submit_are_accepted_or_cleanly_refused(
    tool: str, client: TaskQ, small_csv: Path, fake_redis: Any
) -> None:
    @FUZZ
    @given(params=params_for(tool) | json_values)
    def check(params: Any) -> None:
        before, queued = _task_count(client), fake_redis.llen(f"rq:queue:{tool}")
        try:
            info = client.submit(tool, small_csv, params)
        except TaskqError as exc:
            _assert_input_error(exc)
            assert _task_count(client) == before, "a rejected submit stored a task"
            assert fake_redis.llen(f"rq:queue:{tool}") == queued, "a rejected submit enqueued a job"
            return
        assert info.status == "QUEUED"
        assert _task_count(client) == before + 1

    check()


@pytest.mark.parametrize("params", [[], "x", 5, None, {"": 1}, {"top_k": "10"}, {"threads": True}])
def test_wrong_param_shapes_never_store(params: Any, client: TaskQ, small_csv: Path) -> None:
    try:
        client.submit("profile", small_csv, params)
    except TaskqError as exc:
        _assert_input_error(exc)
        assert _task_count(client) == 0
    else:
        assert params is None  # the only accepted one: no params at all


def test_non_json_params_are_refused(client: TaskQ, small_csv: Path) -> None:
    for params in ({"columns": {1, 2}}, {"baseline": b"x"}, {"top_k": object()}):
        with pytest.raises(InputError) as caught:
            client.submit("profile", small_csv, params)
        assert caught.value.code == "INVALID_PARAMS"
    assert _task_count(client) == 0


# Read options reach the reader only at run time ------------------------------------------


def _outcome(tool: str, path: Path, out: Path, params: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Run ``tool``; the report, or None after a clean input error. Checks what is left behind."""
    try:
        report = jobs.execute(tool, path, out, params)
    except BaseException as exc:
        _assert_input_error(exc)
        left = sorted(p.name for p in out.parent.iterdir()) if out.parent.exists() else []
        assert left == [], f"a failed run left {left} next to the output dir"
        return None
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]
    assert (out / "report.json").is_file()
    return report


@FUZZ
@given(
    tool=st.sampled_from(TOOLS),
    options=st.dictionaries(st.sampled_from(OPTION_KEYS), json_values, min_size=1, max_size=3),
)
def test_random_read_options_end_in_report_or_input_error(
    tool: str, options: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.mktemp("opts")
    src = base / "in.csv"
    src.write_text("id,name,amount\n1,Ann,3.5\n2,Bob,4\n3,Cy,\n")
    _outcome(tool, src, base / "runs" / "out", {READ_OPTIONS_KEY[tool]: options})


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize(
    "options",
    [
        {"delimiter": 5},
        {"quote": ["a"]},
        {"escape": 7},
        {"skip": "x"},
        {"skip": -3},
        {"header": "yes"},
        {"encoding": "nope"},
        {"encoding": 5},
        {"encoding": "rot13"},
        {"encoding": "base64"},
        {"encoding": "utf-16"},
        {"sheet": 3},
    ],
    ids=repr,
)
def test_bad_read_option_values_are_input_errors(tool: str, options: dict[str, Any], tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("a,b\n1,2\n3,4\n")
    _outcome(tool, src, tmp_path / "runs" / "out", {READ_OPTIONS_KEY[tool]: options})


# Malformed files ----------------------------------------------------------------------------


def _zip_without_workbook() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    return buf.getvalue()


def _zip_with_broken_workbook() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook><sheets>")
    return buf.getvalue()


MALFORMED: dict[str, bytes] = {
    "binary.csv": bytes(range(256)) * 20,
    "truncated.parquet": b"PAR1" + bytes(100),
    "parquet_magic_only.parquet": b"PAR1PAR1",
    "utf16.csv": "a,b\nx,\u00fc\n".encode("utf-16"),
    "utf16_no_bom.csv": "a,b\nx,y\n".encode("utf-16-le"),
    "latin1.csv": "a,b\nx,\xe9\xff\n".encode("latin-1"),
    "mixed_encoding.csv": b"a,b\n" + "\u00e9,1\n".encode() * 3000 + "\xe9,2\n".encode("latin-1"),
    "ragged.csv": b"a,b,c\n1,2\n1,2,3,4,5\n\n1\n",
    "all_ragged.csv": b"a,b\n1,2,3\n4,5,6,7\n8\n",
    "header_only.csv": b"a,b,c\n",
    "newlines_only.csv": b"\n\n\n\n",
    "one_column.csv": b"a\n1\n2\n3\n",
    "one_cell.csv": b"a\n",
    "nul_bytes.csv": b"a,b\n1,\x00\x00\n2,3\n",
    "unclosed_quote.csv": b'a,b\n"1,2\n3,4\n',
    "duplicate_headers.csv": b"a,a,,\n1,2,3,4\n",
    "bom_crlf_semicolon.csv": b"\xef\xbb\xbfa;b\r\n1;2\r\n",
    "random.xlsx": bytes((i * 131 + 7) % 256 for i in range(3000)),
    "zip_without_workbook.xlsx": _zip_without_workbook(),
    "zip_broken_workbook.xlsx": _zip_with_broken_workbook(),
    "empty.csv": b"",
    "empty.xlsx": b"",
    "legacy.xls": b"\xd0\xcf\x11\xe0" + bytes(500),
    "truncated.json": b'[{"a": 1}, {"a":',
    "scalar.json": b"42",
    "nested.jsonl": b'{"a": {"b": [1, {"c": null}]}}\n{"a": 3}\n',
    "empty_array.json": b"[]",
    "truncated_gzip.csv": b"\x1f\x8b\x08\x00" + bytes(50),
}


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file_ends_in_report_or_input_error(name: str, tool: str, tmp_path: Path) -> None:
    src = tmp_path / "in" / name
    src.parent.mkdir()
    src.write_bytes(MALFORMED[name])
    _outcome(tool, src, tmp_path / "runs" / "out")


@FUZZ
@given(
    tool=st.sampled_from(TOOLS),
    suffix=st.sampled_from([".csv", ".tsv", ".txt", ".xlsx", ".parquet", ".json", ".jsonl", ""]),
    head=st.sampled_from([b"", b"PK\x03\x04", b"PAR1", b"{", b"[", b"\xef\xbb\xbf", b"\xff\xfe", b"a,b\n"]),
    body=st.binary(max_size=2000),
)
def test_random_bytes_end_in_report_or_input_error(
    tool: str, suffix: str, head: bytes, body: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.mktemp("bytes")
    src = base / f"input{suffix}"
    src.write_bytes(head + body)
    _outcome(tool, src, base / "runs" / "out")


@FUZZ
@given(
    tool=st.sampled_from(TOOLS),
    rows=st.lists(
        st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=8), max_size=6),
        max_size=12,
    ),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-16", "cp1252", "latin-1"]),
)
def test_random_text_tables_end_in_report_or_input_error(
    tool: str, rows: list[list[str]], delimiter: str, encoding: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path_factory.mktemp("text")
    text = "\n".join(delimiter.join(row) for row in rows)
    src = base / "input.csv"
    src.write_bytes(text.encode(encoding, errors="replace"))
    _outcome(tool, src, base / "runs" / "out")


def test_file_replaced_by_directory_or_missing(tmp_path: Path) -> None:
    (tmp_path / "dir.csv").mkdir()
    for tool in TOOLS:
        for path in (tmp_path / "dir.csv", tmp_path / "missing.csv"):
            with pytest.raises(InputError) as caught:
                jobs.execute(tool, path, tmp_path / "runs" / tool)
            assert caught.value.code == "INPUT_NOT_FOUND"
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []


# The expensive shapes ------------------------------------------------------------------------


class _Budget(NullProgress):
    """A progress handle that stops the tool once ``seconds`` have passed."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise TaskCancelled("time budget exceeded")

    def update(self, percent: float, stage: str | None = None) -> None:
        self.check()


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["clean"])  # the reader (taskq.jobs.io) is shared; one tool keeps CI short
def test_single_50mb_field(tool: str, tmp_path: Path) -> None:
    src = tmp_path / "in" / "big_field.csv"
    src.parent.mkdir()
    with src.open("wb") as fh:
        fh.write(b"id,blob\n1,")
        fh.write(b"x" * (50 * 1024 * 1024))
        fh.write(b"\n2,y\n")
    _outcome(tool, src, tmp_path / "runs" / "out")


@pytest.mark.slow
@pytest.mark.parametrize(
    "tool",
    [
        "profile",
        "clean",
        "master",
    ],
)
def test_10000_columns_finish_within_budget(tool: str, tmp_path: Path) -> None:
    src = tmp_path / "in" / "wide.csv"
    src.parent.mkdir()
    n = 10_000
    src.write_text(",".join(f"c{i}" for i in range(n)) + "\n" + ",".join(str(i) for i in range(n)) + "\n")
    out = tmp_path / "runs" / "out"
    try:
        jobs.execute(tool, src, out, None, _Budget(60))
    except InputError as exc:
        _assert_input_error(exc)
        assert list(out.parent.iterdir()) == []
    else:
        assert sorted(p.name for p in out.parent.iterdir()) == [out.name]
