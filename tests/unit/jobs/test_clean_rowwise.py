"""The row-wise path of clean-my-data gives exactly what the value-map path gives.

Near-unique columns of large inputs are cleaned row by row (counts from
outcome codes recorded in the cleaned table, examples from the most frequent
values), see :mod:`taskq.jobs.clean_values`. Here the thresholds are lowered
so that the same small inputs go through both paths, and every output file
must come out byte for byte the same.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import duckdb
import pytest

from taskq.jobs import clean_values, execute

PARAMS: list[dict[str, Any]] = [
    {},
    {"steps": [{"step": "nulls", "default": "mode"}, {"step": "outliers", "remove": True}]},
    {
        "steps": [
            {"step": "types", "columns": {"code": "integer"}},
            {"step": "standardise", "case": {"name": "title", "city": "lower"}},
            {"step": "dedupe", "ignore_case": False},
        ]
    },
    {"steps": [{"step": "whitespace", "nfc": False}, {"step": "quarantine", "enabled": False}]},
]


def _messy_rows(n: int, seed: int) -> list[list[str]]:
    """Columns with every kind of change, some near-unique (id, email, phone, code, note)."""
    rnd = random.Random(seed)
    phones = ["(415) 555-2671", "1-212-555-0100", "+1 646 302 4658", "+44 20 7946 0958", "call me", "12"]
    rows = []
    for i in range(n):
        email = rnd.choice([f"u{i}@Example.COM", f"u{i}@example.com", f" u{i}@x.org ", "not-an-email", "N/A"])
        phone = rnd.choice(phones) if rnd.random() < 0.3 else f"({200 + i % 700}) 555-{i % 10000:04d}"
        code = rnd.choice([str(i), f"{i:,}", f"{i}.5", "x", ""])
        rows.append(
            [
                str(i) if i % 37 else "oops",
                email,
                phone,
                code,
                rnd.choice(["  Ann  Lee", "bob", "Cafe\u0301", "null", "-", "Zoë"]),
                rnd.choice(["Paris", " paris", "LIMA", "?"]),
                rnd.choice([f"{rnd.randint(1, 28)}/03/2024", "2024-03-01", "bad date", ""]),
                f"note {i % (n // 2 or 1)}" if i % 5 else f"  note\t{i}  ",
                # Date-times with UTC offsets, a few that do not exist or have none.
                f"2024-0{1 + i % 9}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00"
                + rnd.choice(["Z", "+02:00", " UTC", "-0530", "+05"])
                if i % 41
                else rnd.choice(["2024-02-30T10:00:00Z", "2024-01-01T10:00:00", "2024-01-01T10:00:00+25:00"]),
            ]
        )
    # a few exact and normalised duplicates
    rows += [list(rows[3]), [c.upper() if c else c for c in rows[5]], list(rows[7])]
    return rows


HEADER = ["id", "email", "phone", "code", "name", "city", "signup", "note", "seen"]


def _run(tmp_path: Path, name: str, src: Path, params: dict[str, Any]) -> dict[str, bytes]:
    out = tmp_path / name
    execute("clean", src, out, params)
    files = {p.name: p.read_bytes() for p in out.iterdir() if p.name != "report.json"}
    report = json.loads((out / "report.json").read_text())
    files["summary"] = json.dumps(report["summary"], sort_keys=True).encode()
    return files


def _force_rowwise(monkeypatch: pytest.MonkeyPatch, candidates: int, affected: int = 0) -> None:
    """Every column row-wise; examples searched among the ``candidates`` most frequent
    values, or (up to ``affected`` affected rows) among the affected rows' values."""
    monkeypatch.setattr(clean_values, "ROWWISE_MIN_ROWS", 0)
    monkeypatch.setattr(clean_values, "ROWWISE_MIN_SHARE", 0.0)
    monkeypatch.setattr(clean_values, "CANDIDATES", candidates)
    monkeypatch.setattr(clean_values, "AFFECTED_ROWS", affected)


@pytest.mark.parametrize("params", PARAMS, ids=["defaults", "remove-mode", "case-forced", "no-quarantine"])
@pytest.mark.parametrize(
    ("candidates", "affected"),
    [(2, 0), (20, 0), (2000, 0), (2, 10**9)],
    ids=["few-candidates", "some-candidates", "all-candidates", "affected-rows"],
)
def test_rowwise_path_matches_value_maps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, params: dict[str, Any], candidates: int, affected: int
) -> None:
    src = tmp_path / "in.csv"
    with src.open("w", newline="") as fh:
        csv.writer(fh).writerows([HEADER, *_messy_rows(400, seed=7)])
    expected = _run(tmp_path, "maps", src, params)
    _force_rowwise(monkeypatch, candidates, affected)
    got = _run(tmp_path, "rows", src, params)
    assert got.keys() == expected.keys()
    for name in expected:
        assert got[name] == expected[name], f"{name} differs between the two paths"


def test_rowwise_path_matches_on_the_bundled_sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sample = Path(__file__).resolve().parents[3] / "taskq" / "samples" / "customers.csv"
    expected = _run(tmp_path, "maps", sample, {})
    _force_rowwise(monkeypatch, 3)
    assert _run(tmp_path, "rows", sample, {}) == expected


def test_near_unique_columns_of_large_inputs_go_row_wise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the real thresholds: ids and phones row-wise, a low-cardinality column on a map."""
    monkeypatch.setattr(clean_values, "ROWWISE_MIN_ROWS", 1000)
    src = tmp_path / "big.csv"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT i AS id, ['a', 'b', ' c'][1 + i % 3] AS kind, "
        f"'(415) 555-' || lpad(CAST(i AS VARCHAR), 4, '0') AS phone FROM range(3000) t(i)) "
        f"TO '{src}' (FORMAT csv, HEADER true)"
    )
    chosen: list[set[str]] = []
    real = clean_values.near_unique

    def spy(*args: Any) -> set[str]:
        chosen.append(real(*args))
        return chosen[-1]

    monkeypatch.setattr(clean_values, "near_unique", spy)
    out = tmp_path / "out"
    report = execute("clean", src, out, {})
    assert chosen == [{"id", "phone"}]
    doc = json.loads((out / "changes.json").read_text())
    std = next(c for c in doc["changes"] if c["step"] == "standardise" and c["column"] == "phone")
    assert std["changed"] == 3000 and len(std["examples"]) == 5
    assert std["examples"][0] == {"before": "(415) 555-0000", "after": "+14155550000"}
    assert report["summary"]["rows_out"] == 3000


@pytest.mark.parametrize(
    ("keys", "ignore_case", "removed"),
    [
        # a unique key: no row can equal another, nothing is hashed or removed
        ([("1", "a"), ("2", "a"), ("3", "b")], False, []),
        # two NULL keys compare equal: the rows are duplicates after all
        ([(None, "a"), (None, "a"), ("3", "b")], False, [1]),
        # unique as written, not once lower-cased
        ([("K", "a"), ("k", "a"), ("x", "b")], True, [1]),
        ([("K", "a"), ("k", "a"), ("x", "b")], False, []),
    ],
)
def test_dedupe_key_shortcut_never_hides_a_duplicate(
    keys: list[tuple[str | None, str]], ignore_case: bool, removed: list[int]
) -> None:
    from taskq.jobs.clean_rows import TABLE, dedupe

    con = duckdb.connect()
    con.execute(f"CREATE TABLE {TABLE} (__row BIGINT, k VARCHAR, v VARCHAR, __keep BOOLEAN)")
    con.executemany(
        f"INSERT INTO {TABLE} VALUES (?, ?, ?, true)", [(i, k, v) for i, (k, v) in enumerate(keys)]
    )
    entry = dedupe(con, ["k", "v"], ignore_case, keys=["k"])
    assert entry["rows_removed"] == removed
    assert [
        r[0] for r in con.execute(f"SELECT __row FROM {TABLE} WHERE NOT __keep ORDER BY 1").fetchall()
    ] == removed


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_rowwise_path_matches_value_maps_on_other_formats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """Parquet stays a lazy view over the file (its own row numbers); JSON lines are loaded."""
    rows = _messy_rows(300, seed=11)
    src = tmp_path / f"in.{fmt}"
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t ({', '.join(f'{c} VARCHAR' for c in HEADER)})")
    con.executemany(f"INSERT INTO t VALUES ({', '.join('?' for _ in HEADER)})", rows)
    con.execute(f"COPY t TO '{src}' (FORMAT {'parquet' if fmt == 'parquet' else 'json'})")
    expected = _run(tmp_path, "maps", src, {})
    _force_rowwise(monkeypatch, 20)
    got = _run(tmp_path, "rows", src, {})
    assert got.keys() == expected.keys() and f"cleaned.{fmt}" in got
    for name in expected:
        if name.endswith(".parquet"):  # compare the data, not the file bytes (writer metadata)
            read = "SELECT * FROM read_parquet(?)"
            a = con.execute(read, [str(tmp_path / "maps" / name)]).fetchall()
            b = con.execute(read, [str(tmp_path / "rows" / name)]).fetchall()
            assert a == b
        else:
            assert got[name] == expected[name], f"{name} differs between the two paths"


@pytest.mark.parametrize("rowwise", [False, True], ids=["maps", "row-wise"])
def test_input_columns_named_like_the_hidden_ones_are_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rowwise: bool
) -> None:
    """clean_rows' hidden columns (failure reason, raw value, outcome codes) pick names
    no input column has, so such columns come out untouched."""
    if rowwise:
        _force_rowwise(monkeypatch, 20)
    header = ["n", "__clean_fail_0", "__clean_raw_0", "__clean_codes_0", "_ _clean"]
    rows = [[str(i) if i != 7 else "oops", f"f{i}", f"r{i}", f"c{i}", f"x{i}"] for i in range(60)]
    src = tmp_path / "in.csv"
    with src.open("w", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    out = tmp_path / "out"
    execute("clean", src, out, {"steps": [{"step": "outliers", "enabled": False}]})
    with (out / "cleaned.csv").open(newline="") as fh:
        cleaned = list(csv.DictReader(fh))
    assert list(cleaned[0]) == header
    assert [r["__clean_raw_0"] for r in cleaned] == [f"r{i}" for i in range(60) if i != 7]
    assert [r["__clean_codes_0"] for r in cleaned][:2] == ["c0", "c1"]
    with (out / "quarantine.csv").open(newline="") as fh:
        quarantined = list(csv.DictReader(fh))
    assert [(q["quarantine_row"], q["quarantine_value"], q["__clean_fail_0"]) for q in quarantined] == [
        ("7", "oops", "f7")
    ]


class _SqlLog:
    """Wraps a DuckDB connection and records every statement it executes."""

    def __init__(self, con: Any, log: list[str]) -> None:
        self._con, self._log = con, log

    def execute(self, sql: str, *args: Any) -> Any:
        self._log.append(str(sql))
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def _log_sql(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from taskq.jobs import io

    log: list[str] = []
    real = io.connect
    monkeypatch.setattr(io, "connect", lambda **kw: _SqlLog(real(**kw), log))
    return log


def _typed_rows(n: int, seed: int) -> list[list[str]]:
    """Columns a plain cast reads almost, but not exactly, as the types step does."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        rows.append(
            [
                rnd.choice(
                    [f"{i}.25", f"{i},000.5", "-0", "-0.0", "1e3", " 12 ", "inf", "NaN", "N/A", "", "x"]
                ),
                rnd.choice([str(i), f"+{i}", f"{i:,}", "007", " 5", "-"]),
                rnd.choice(["yes", "no", "Y", "N", "true", "1", "0", "maybe"]),
                rnd.choice(
                    ["2024-03-01", "2024/3/1", "01/02/2024", "1 Mar 2024", "2024-03-01 00:00:00", "soon"]
                    + ["Sept. 5, 2024", "Jan. 5, 2024"]
                ),
                rnd.choice(["2024-03-01 10:30:00", "2024-03-01T10:30:00", "2024-03-01 10:30", "later"]),
                rnd.choice(["Paris", " paris", "PARIS", "Lima ", "null", "Zoë", "Zoe\u0308"]),
                rnd.choice([f"{i}.5", f"{i}"]),
            ]
        )
    return rows


TYPED_HEADER = ["amount", "qty", "flag", "day", "at", "city", "plain"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"steps": [{"step": "types", "decimal": {"amount": ","}, "dayfirst": {"day": True}}]},
        {
            "steps": [
                {"step": "types", "threshold": 0.5, "columns": {"qty": "integer", "flag": "boolean"}},
                {"step": "standardise", "case": {"city": "title"}},
                {"step": "nulls", "default": "median"},
            ]
        },
    ],
    ids=["defaults", "decimal-comma", "forced"],
)
def test_the_cast_shortcut_cleans_as_the_stages_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, params: dict[str, Any]
) -> None:
    """Value-map columns built as a cast plus listed exceptions give byte-identical outputs."""
    src = tmp_path / "in.csv"
    with src.open("w", newline="") as fh:
        csv.writer(fh).writerows([TYPED_HEADER, *_typed_rows(300, seed=3)])
    monkeypatch.setattr(clean_values, "SHORTCUT_EXCEPTIONS", -1)  # never: every stage in the build
    expected = _run(tmp_path, "stages", src, params)
    for limit in (4, 5000):  # some columns, then every column (300 rows: at most 300 values)
        monkeypatch.setattr(clean_values, "SHORTCUT_EXCEPTIONS", limit)
        got = _run(tmp_path, f"shortcut-{limit}", src, params)
        assert got.keys() == expected.keys()
        for name in expected:
            assert got[name] == expected[name], f"{name} differs with shortcut limit {limit}"


def test_a_number_column_is_built_by_a_cast_not_by_its_pattern(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        "amount,city\n" + "".join(f"{i}.5,{' Lima' if i == 3 else 'Lima'}\n" for i in range(50)) + "N/A,x\n"
    )
    log = _log_sql(monkeypatch)
    report = execute("clean", src, tmp_path / "out", {})
    assert report["summary"]["converted_columns"] == {"amount": "DOUBLE"}
    build = next(s for s in log if s.startswith("CREATE OR REPLACE TABLE clean_rows"))
    assert "regexp" not in build and "TRY_CAST" in build and "WHEN ' Lima' THEN 'Lima'" in build
    with (tmp_path / "out" / "cleaned.csv").open(newline="") as fh:
        assert list(csv.DictReader(fh))[3] == {"amount": "3.5", "city": "Lima"}


def test_a_column_of_digits_is_typed_in_one_scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id\n" + "".join(f"{i}\n" for i in range(100)))
    log = _log_sql(monkeypatch)
    report = execute("clean", src, tmp_path / "out", {})
    assert report["summary"]["converted_columns"] == {"id": "BIGINT"}
    assert [s for s in log if "clean_map_0" in s and "sum(n)" in s and "p_bool" in s] == []


def test_rowwise_path_matches_value_maps_on_numbers_past_a_double(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Near-unique columns that need a DECIMAL, or (forced) fail where a DOUBLE would round;
    numbers past a DOUBLE's range (1e309, digits or not) do not count for either."""
    rnd = random.Random(5)
    wide = "1234567890123456789012345678901234567890.5"
    odd, forced_odd = ["", "x", "1e309"], [wide, "1e-400", "y", "-1e400", "9" * 400]
    rows = [
        [
            f"{rnd.randint(0, 10**12)}.{rnd.randint(0, 10**9):09d}" if i % 17 else rnd.choice(odd),
            f"{rnd.randint(0, 10**6)}.25" if i % 13 else rnd.choice(forced_odd),
        ]
        for i in range(300)
    ]
    src = tmp_path / "in.csv"
    with src.open("w", newline="") as fh:
        csv.writer(fh).writerows([["amount", "forced"], *rows])
    params = {"columns": {"amount": {"nulls": "median"}, "forced": {"type": "number"}}}
    expected = _run(tmp_path, "maps", src, params)
    summary = json.loads(expected["summary"])
    assert summary["converted_columns"] == {"amount": "DECIMAL(21,9)", "forced": "DOUBLE"}
    _force_rowwise(monkeypatch, 20)
    got = _run(tmp_path, "rows", src, params)
    for name in expected:
        assert got[name] == expected[name], f"{name} differs between the two paths"


@pytest.mark.parametrize("limit", [-1, 16], ids=["stages", "shortcut"])
@pytest.mark.parametrize("rowwise", [False, True], ids=["maps", "row-wise"])
def test_cells_that_look_like_template_tokens_are_cleaned_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int, rowwise: bool
) -> None:
    # The build's SQL is made from templates whose {x} and {new} are replaced: a cell (or a
    # placeholder token) holding "{x} " became the column's own name inside a literal, so
    # "{x} " was never trimmed although changes.json said it was.
    monkeypatch.setattr(clean_values, "SHORTCUT_EXCEPTIONS", limit)
    if rowwise:
        _force_rowwise(monkeypatch, 20)
    src = tmp_path / "in.csv"
    cells = ["{x} ", "{new}", " {x}{x} ", "{{x}}", "{c0}", "{null}"] + ["ok"] * 20
    src.write_text("a,i\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells)))
    params = {"steps": [{"step": "placeholders", "tokens": ["{null}", "N/A"]}]}
    execute("clean", src, tmp_path / "out", params)
    with (tmp_path / "out" / "cleaned.csv").open(newline="") as fh:
        got = [r["a"] for r in csv.DictReader(fh)]
    assert got[:6] == ["{x}", "{new}", "{x}{x}", "{{x}}", "{c0}", ""]


@pytest.mark.parametrize("rowwise", [False, True], ids=["maps", "row-wise"])
def test_a_placeholder_token_that_looks_like_a_template_token_nulls_itself_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rowwise: bool
) -> None:
    if rowwise:
        _force_rowwise(monkeypatch, 20)
    src = tmp_path / "in.csv"
    cells = ["{x}", "x", "c0", "{new}"] + [f"v{i}" for i in range(20)]
    src.write_text("a,i\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells)))
    execute("clean", src, tmp_path / "out", {"steps": [{"step": "placeholders", "tokens": ["{x}", "{new}"]}]})
    with (tmp_path / "out" / "cleaned.csv").open(newline="") as fh:
        assert [r["a"] for r in csv.DictReader(fh)][:4] == ["", "x", "c0", ""]


def test_columns_without_addresses_never_compile_the_address_patterns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each query with the e-mail patterns cost ~20 ms to compile them, 0.17 s on a 10-column
    # file with no address at all. Too few @s rule a column out first, exactly: the share of
    # valid addresses is at most the share of @s.
    src = tmp_path / "in.csv"
    rows = [f"n{i},{i % 7},x@{i}" for i in range(40)]  # c: every value has an @, none is valid
    src.write_text("name,k,c\n" + "\n".join(rows) + "\n")
    log = _log_sql(monkeypatch)
    execute("clean", src, tmp_path / "out", {})
    with_patterns = [s for s in log if clean_values.EMAIL_PATTERN[:16] in s]
    assert len(with_patterns) == 1 and "clean_map_2" in with_patterns[0]  # c only
    # At the threshold itself nothing changes: half addresses in a column named like e-mail.
    src.write_text("contact_email\n" + "".join(f"a{i}@example.com\nnot one {i}\n" for i in range(20)))
    report = execute("clean", src, tmp_path / "out2", {})
    assert (
        json.loads((tmp_path / "out2" / "changes.json").read_text())["decisions"]["contact_email"]["kind"]
        == "email"
    )
    assert report["summary"]["quarantined"] == 20


def test_rowwise_path_matches_value_maps_on_amounts_with_a_currency_sign(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rnd = random.Random(8)
    rows = [
        [
            f"${rnd.randint(0, 10**6):,}.{rnd.randint(0, 99):02d}"
            if i % 23
            else rnd.choice(["", "n/a", "5 bucks", "free"]),
            f"{rnd.randint(1, 999)},{rnd.randint(0, 99):02d} €" if i % 19 else "-",
        ]
        for i in range(300)
    ]
    src = tmp_path / "in.csv"
    with src.open("w", newline="") as fh:
        csv.writer(fh).writerows([["usd", "eur"], *rows])
    params = {"columns": {"usd": {"nulls": "mean"}}}
    expected = _run(tmp_path, "maps", src, params)
    assert json.loads(expected["summary"])["converted_columns"] == {"usd": "DOUBLE", "eur": "DOUBLE"}
    _force_rowwise(monkeypatch, 20)
    got = _run(tmp_path, "rows", src, params)
    for name in expected:
        assert got[name] == expected[name], f"{name} differs between the two paths"
