"""Tests for taskq.jobs.io: every format, encoding and bad-input path."""

from __future__ import annotations

import codecs
import datetime as dt
import json
import random
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from taskq.errors import (
    InputEmpty,
    InputMalformed,
    InputNotFound,
    InputTooLarge,
    InputUnreadable,
    InvalidParams,
)
from taskq.jobs._csv import _rows
from taskq.jobs.findings import finding
from taskq.jobs.io import ROW_COLUMN, connect, detect_format, open_table, write_table

PEOPLE = 'name,city,age\nZoë,Köln,31\nJosé,São Paulo,45\nAnn,"Paris, FR",27\n'


def rows(con, view: str = "src") -> list[tuple]:
    return con.execute(f"SELECT * FROM {view} ORDER BY {ROW_COLUMN}").fetchall()


# --- CSV dialects -------------------------------------------------------------------------------


def test_csv_basic_types_and_row_numbers(con, write_bytes):
    table = open_table(con, write_bytes("p.csv", PEOPLE.encode()))
    assert table.format == "csv"
    assert table.columns == ["name", "city", "age"]
    assert table.types["age"] == "BIGINT"
    assert table.rows == 3
    assert table.options["delimiter"] == "," and table.options["header"] is True
    assert rows(con) == [(0, "Zoë", "Köln", 31), (1, "José", "São Paulo", 45), (2, "Ann", "Paris, FR", 27)]
    assert table.info() == {"name": "p.csv", "format": "csv", "rows": 3, "columns": 3}
    assert table.warnings == []


def test_all_varchar_keeps_text(con, write_bytes):
    table = open_table(con, write_bytes("p.csv", b"id,code\n1,007\n2,010\n"), all_varchar=True)
    assert table.types == {"id": "VARCHAR", "code": "VARCHAR"}
    assert rows(con) == [(0, "1", "007"), (1, "2", "010")]


@pytest.mark.parametrize(
    ("delim", "name"), [(";", "p.csv"), ("|", "p.csv"), ("\t", "p.tsv"), ("\t", "p.txt")]
)
def test_delimiters_detected(con, write_bytes, delim, name):
    data = PEOPLE.replace('"Paris, FR"', '"Paris; FR"').replace(",", delim).replace("Paris" + delim, "Paris,")
    table = open_table(con, write_bytes(name, data.encode()))
    assert table.options["delimiter"] == delim
    assert table.columns == ["name", "city", "age"]
    assert table.rows == 3


def test_a_delimiter_of_several_characters_is_read(con, write_bytes):
    # DuckDB reads "||"; Python's csv module (the header check) takes one character only,
    # and raised a TypeError traceback.
    data = b'a||b b||c\n1||"x||y"||z\n2||y||"q ""r"""\n'
    table = open_table(con, write_bytes("p.txt", data), options={"delimiter": "||"})
    assert table.columns == ["a", "b b", "c"] and table.warnings == []
    assert [r[1:] for r in rows(con)] == [(1, "x||y", "z"), (2, "y", 'q "r"')]
    dup = open_table(con, write_bytes("d.txt", b"a||a||\n1||2||3\n"), options={"delimiter": "||"})
    assert dup.columns == ["a", "a_1", "column2"]
    assert [w["code"] for w in dup.warnings] == ["column_renamed", "column_renamed"]


@pytest.mark.parametrize(
    "line, fields",
    [
        ('1||"x||y"||z', ["1", "x||y", "z"]),
        ('"a ""b"""||c', ['a "b"', "c"]),
        ("||", ["", ""]),
        ('x"y||z', ['x"y', "z"]),  # a quote inside a field is text
    ],
)
def test_fields_split_at_a_long_delimiter_as_csv_splits_at_a_short_one(line, fields):
    assert list(_rows([line + "\r\n"], "||")) == [fields]
    assert list(_rows([line.replace("||", ",")], ",")) == [[f.replace("||", ",") for f in fields]]


@pytest.mark.parametrize(
    "data",
    [
        b"sep=;\r\nname;amount\r\nA;1,5\r\nB;2,5\r\n",
        codecs.BOM_UTF8 + b"sep=;\nname;amount\nA;1,5\nB;2,5\n",
        b"sep=\t\nname\tamount\nA\t1,5\nB\t2,5\n",
        "sep=;\r\nname;amount\r\nA;1,5\r\nB;2,5\r\n".encode("utf-16"),
        b"sep=;\n\nname;amount\nA;1,5\nB;2,5\n",  # a blank line after the hint
        b"SEP= ; \r\nname;amount\r\nA;1,5\r\nB;2,5\r\n",
        b"sep=||\nname||amount\nA||1,5\nB||2,5\n",  # DuckDB takes up to four bytes
    ],
)
def test_excels_sep_line_names_the_delimiter_and_is_no_data(con, write_bytes, data):
    # The hint line became the header (sep=,column1) and the real header a data row.
    table = open_table(con, write_bytes("x.csv", data))
    assert table.columns == ["name", "amount"]
    assert [r[1:] for r in rows(con)] == [("A", "1,5"), ("B", "2,5")]
    assert [w["code"] for w in table.warnings if w["code"] != "transcoded"] == ["csv_sep_line"]
    blank = data.count(b"\n\n")  # the blank line after the hint: the caller counts it
    told = open_table(con, write_bytes("y.csv", data), options={"skip": 1 + blank})  # read as told
    assert "csv_sep_line" not in [w["code"] for w in told.warnings]
    if b"||" not in data:  # the sniffer reads "||" as "|": a caller who skips says the delimiter too
        assert told.columns == ["name", "amount"]


def test_quoted_newlines_and_escaped_quotes(con, write_bytes):
    data = b'id,note\n1,"line one\nline two"\n2,"she said ""hi"""\n3,plain\n'
    table = open_table(con, write_bytes("q.csv", data))
    assert table.rows == 3
    assert rows(con)[0][2] == "line one\nline two"
    assert rows(con)[1][2] == 'she said "hi"'


def test_headerless_file_gets_generated_names(con, write_bytes):
    table = open_table(con, write_bytes("n.csv", b"1,2.5,x\n2,3.5,y\n3,4.5,z\n"))
    assert table.options["header"] is False
    assert table.rows == 3 and len(table.columns) == 3


def test_explicit_options_override_detection(con, write_bytes):
    table = open_table(con, write_bytes("o.csv", b"a;b\n1;2\n"), options={"delimiter": ";", "header": False})
    assert table.rows == 2
    with pytest.raises(InvalidParams, match="bogus"):
        open_table(con, write_bytes("o2.csv", b"a\n1\n"), options={"bogus": 1})


def test_row_numbers_follow_input_order_on_a_parallel_read(con, write_bytes):
    n = 60_000
    body = "".join(f"{i},{random.Random(i).random():.6f}\n" for i in range(n))
    table = open_table(con, write_bytes("big.csv", ("id,x\n" + body).encode()))
    assert table.rows == n
    mismatches = con.execute(f"SELECT count(*) FROM src WHERE {ROW_COLUMN} <> id").fetchall()[0][0]
    assert mismatches == 0


def test_late_value_breaking_sniffed_type_is_kept_as_text(con, write_bytes):
    body = "".join(f"{i}\n" for i in range(30_000)) + "not-a-number\n"
    table = open_table(con, write_bytes("late.csv", ("n\n" + body).encode()))
    assert table.rows == 30_001
    assert table.types["n"] == "VARCHAR"
    assert table.rejected == []


# --- ragged rows ---------------------------------------------------------------------------------


def test_ragged_rows_are_reported_with_line_numbers(con, write_bytes):
    data = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n"
    table = open_table(con, write_bytes("r.csv", data))
    assert table.columns == ["a", "b", "c"]
    assert table.rows == 2
    assert rows(con) == [(0, 1, 2, 3), (1, 10, 11, 12)]
    assert table.rejected == [3, 4]
    codes = sorted(w["code"] for w in table.warnings)
    assert codes == ["csv_missing_columns", "csv_too_many_columns"]
    assert all(w["severity"] == "warning" for w in table.warnings)
    assert "line(s) 4" in next(w["message"] for w in table.warnings if w["code"] == "csv_too_many_columns")


@pytest.mark.parametrize("n", [3, 100, 1000])
def test_a_wider_last_line_does_not_make_the_table_rows_skipped_lines(con, write_bytes, n):
    # DuckDB's sniffer answered skip=n+1, no header: one row "Total,18,EUR" and every other row lost.
    body = "".join(f"n{i},{i}\n" for i in range(n))
    table = open_table(con, write_bytes("totals.csv", f"name,amount\n{body}Total,18,EUR\n".encode()))
    assert table.columns == ["name", "amount"] and table.rows == n
    assert table.rejected == [n + 2] and table.options["skip"] == 0


def test_preamble_lines_before_the_header_are_still_skipped(con, write_bytes):
    body = "".join(f"n{i},{i},c{i % 3}\n" for i in range(50))
    data = f"Sales report, Q1\nGenerated 2024-01-01 by system\nname,amount,city\n{body}"
    table = open_table(con, write_bytes("report.csv", data.encode()))
    assert table.columns == ["name", "amount", "city"] and table.rows == 50
    assert table.options["skip"] == 2
    # Said, not hidden: those lines are not in the table.
    assert [(w["severity"], w["code"]) for w in table.warnings] == [("info", "csv_lines_skipped")]
    assert "first 2 line(s) were skipped" in table.warnings[0]["message"]


@pytest.mark.parametrize("rows", [3, 50])
def test_a_title_line_with_a_ragged_row_below_is_still_skipped(con, write_bytes, rows):
    # QA: a title and one short row left the sniffer with the title as a one-column header,
    # and the task failed INPUT_MALFORMED ("4 of 5 rows do not fit").
    body = "".join(f"{i},n{i},{i * 2}\n" if i != 1 else "1,n1\n" for i in range(rows))
    table = open_table(con, write_bytes("tr.csv", f"Sales export\n\nid,name,val\n{body}".encode()))
    assert table.columns == ["id", "name", "val"] and table.rows == rows - 1
    assert table.options["skip"] == 2 and table.rejected == [5]
    assert {w["code"] for w in table.warnings} == {"csv_lines_skipped", "csv_missing_columns"}


@pytest.mark.parametrize("rows", [3, 50])
def test_two_title_lines_with_a_ragged_row_below_are_skipped(con, write_bytes, rows):
    # QA: two title lines over a short file with a ragged row read as one column of text.
    body = "".join(f"{i},{i + 1},{i + 2}\n" if i != 1 else "4,5\n" for i in range(rows))
    data = f"Report generated 2025-01-01\nNotes: internal\na,b,c\n{body}"
    table = open_table(con, write_bytes("c6a.csv", data.encode()), all_varchar=True)
    assert table.columns == ["a", "b", "c"] and table.rows == rows - 1
    assert table.options["skip"] == 2 and table.rejected == [5]


def test_a_line_with_many_fields_too_many_is_reported_once(con, write_bytes):
    # DuckDB reports line 3 once per extra field: the warning said "line(s) 3, 3, 3".
    table = open_table(con, write_bytes("six.csv", b"a,b,c\n1,2,3\n4,5,6,7,8,9\n10,11,12\n13,14,15\n"))
    assert table.rows == 3 and table.rejected == [3]
    (warning,) = [w for w in table.warnings if w["code"] == "csv_too_many_columns"]
    assert "1 row(s) skipped (too many columns) at line(s) 3" in warning["message"]


def test_rejected_lines_are_the_files_lines_after_a_quoted_line_break(con, write_bytes):
    # QA: DuckDB counts a record with quoted line breaks as one line: lines 3 and 5 were
    # reported for the file's lines 5 and 7, in warnings, errors and quarantine.csv.
    data = b'id,comment,val\n1,"multi\nline\ncomment",5\n2,short\n3,ok,7\n4,too,many,cols\n5,x,9\n'
    table = open_table(con, write_bytes("r2.csv", data), all_varchar=True)
    assert table.rows == 3 and table.rejected == [5, 7]
    messages = " ".join(w["message"] for w in table.warnings)
    assert "at line(s) 5" in messages and "at line(s) 7" in messages
    crlf = open_table(con, write_bytes("r3.csv", data.replace(b"\n", b"\r\n")), view="crlf", all_varchar=True)
    assert crlf.rejected == [5, 7]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 22])
def test_line_numbers_of_byte_offsets_across_chunks(tmp_path, monkeypatch, chunk):
    from taskq.jobs import _csv

    data = b"a\nbb\n\nccc\r\nd\n" * 3
    path = tmp_path / "l.txt"
    path.write_bytes(data)
    monkeypatch.setattr(_csv, "_CHUNK", chunk)
    offsets = list(range(len(data) + 1))
    assert _csv._line_numbers(path, offsets) == [data[:o].count(b"\n") + 1 for o in offsets]


def test_only_lines_without_a_delimiter_are_title_lines() -> None:
    from taskq.jobs._csv import _title_lines

    rows = "1,2,3\n4,5,6\n7,8,9\n"
    assert _title_lines(f"Sales export\n\nid,name,val\n{rows}", ",") == 2
    assert _title_lines(f"a,b\n{rows}", ",") == 0  # a header narrower than its rows is no title
    assert _title_lines(f"id,name,val\n{rows}", ",") == 0
    assert _title_lines("x\ny\nz\n", ",") == 0  # one column: no table width to find


def test_every_row_rejected_is_malformed(con, write_bytes):
    with pytest.raises(InputMalformed, match=r"x\.csv.*line 2"):
        open_table(con, write_bytes("x.csv", b"a,b,c\n1,2\n3,4\n5,6\n"), options={"delimiter": ","})


def test_overlong_line_among_the_sniffed_rows_is_refused_naming_it(con, write_bytes):
    # DuckDB's sniffer took 23 s to fail on such a file, saying "CSV Error on Line: 1".
    data = b"a,b\n" + b"".join(b"%d,y\n" % i for i in range(1000)) + b"1," + b"x" * 3_000_000 + b"\n2,y\n"
    with pytest.raises(InputTooLarge) as info:
        open_table(con, write_bytes("long.csv", data))
    assert "long.csv: line 1002 is 3,000,002 bytes long" in info.value.message
    assert info.value.details["line"] == 1002


def test_overlong_line_after_the_sniffed_rows_is_skipped_and_reported(con, write_bytes):
    head = b"a,b\n" + b"".join(b"%d,y\n" % i for i in range(30_000))
    table = open_table(con, write_bytes("late.csv", head + b"1," + b"x" * 3_000_000 + b"\n2,y\n"))
    assert table.rows == 30_001 and table.rejected == [30_002]
    assert "line(s) 30002" in table.warnings[0]["message"]


def test_line_length_is_measured_in_the_utf8_that_is_read(con, write_bytes):
    # 1.2 million characters: 2.4 MB as UTF-16, 1.2 MB once transcoded, which is what DuckDB reads.
    text = "a,b\n1," + "x" * 1_200_000 + "\n2,y\n"
    table = open_table(con, write_bytes("wide16.csv", text.encode("utf-16")))
    assert table.rows == 2 and table.options["encoding"] == "utf-16"


def test_duckdb_line_size_error_is_input_too_large(con, write_bytes, monkeypatch):
    import taskq.jobs._csv as csv_module

    monkeypatch.setattr(csv_module, "_overlong_line", lambda path: None)
    data = b"a,b\n1," + b"x" * 3_000_000 + b"\n2,y\n"
    with pytest.raises(
        InputTooLarge, match=r"long\.csv: a line is too long; a record may hold at most 2,000,000"
    ):
        open_table(con, write_bytes("long.csv", data))


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_overlong_line_finder(tmp_path, newline):
    from taskq.jobs._csv import _overlong_line

    path = tmp_path / "f.csv"
    lines = [b"a" * n for n in (3, 10, 2, 10, 11, 4)]  # line 5 is the first over 10 bytes
    path.write_bytes(newline.join(lines) + newline)
    assert _overlong_line(path, limit=10, lines=100) == (5, 11)
    assert _overlong_line(path, limit=11, lines=100) is None
    assert _overlong_line(path, limit=10, lines=3) is None  # past the lines looked at


# --- encodings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "prefix", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
        ("utf-16", b"", "utf-16"),  # Python writes a BOM
        ("utf-16-le", b"", "utf-16-le"),
        ("utf-16-be", b"", "utf-16-be"),
        ("latin-1", b"", "cp1252"),  # Latin-1 letters decode the same in cp1252
    ],
)
def test_encodings(con, write_bytes, encoding, prefix, expected):
    table = open_table(con, write_bytes("e.csv", prefix + PEOPLE.encode(encoding)))
    assert table.options["encoding"] == expected
    assert table.columns == ["name", "city", "age"]
    assert [r[1] for r in rows(con)] == ["Zoë", "José", "Ann"]
    assert (expected in ("utf-8", "utf-8-sig")) == (table.warnings == [])


def test_cp1252_specific_characters(con, write_bytes):
    data = "item,price\nCafé “deluxe”,€5\n".encode("cp1252")
    open_table(con, write_bytes("w.csv", data))
    assert rows(con) == [(0, "Café “deluxe”", "€5")]


def test_invalid_utf8_after_the_sample_falls_back_to_cp1252(con, write_bytes):
    body = "".join(f"{i},plain\n" for i in range(20_000)).encode() + "99999,Ren\xe9\n".encode("latin-1")
    assert len(body) > 70_000
    table = open_table(con, write_bytes("late.csv", b"id,name\n" + body))
    assert table.options["encoding"] == "cp1252"  # no UTF-8 beyond ASCII at all: a cp1252 file
    assert table.rows == 20_001
    assert con.execute("SELECT name FROM src WHERE id = 99999").fetchall() == [("René",)]


def test_a_stray_cp1252_byte_leaves_the_utf8_text_as_it_is(con, write_bytes):
    # The whole file was decoded as cp1252 for one bad byte: every "Zoë" became "ZoÃ«".
    body = "".join(f"{i},Zoë Müller {i}\n" for i in range(5_000)).encode() + "5000,caf\xe9\n".encode(
        "latin-1"
    )
    for name, data in (
        ("late.csv", b"id,name\n" + body),
        ("early.csv", b"id,name\n1,caf\xe9\n" + body[:200]),
    ):
        table = open_table(con, write_bytes(name, data), view="v")
        got = dict(con.execute("SELECT id, name FROM v WHERE id IN (1, 2, 5000)").fetchall())
        assert got.get(2, "Zoë Müller 2") == "Zoë Müller 2" and got.get(5000, "café") == "café"
        assert got.get(1) in (None, "café", "Zoë Müller 1")
        (warning,) = [w for w in table.warnings if w["code"] == "mixed_encoding"]
        line = 5002 if name == "late.csv" else 2
        assert (
            f"1 line(s) hold bytes that are not UTF-8, read as cp1252 (line(s) {line})" in warning["message"]
        )


def test_jsonl_with_a_stray_cp1252_byte_late_keeps_its_utf8(con, write_bytes):
    lines = [json.dumps({"id": i, "name": f"Zoë {i}"}, ensure_ascii=False) for i in range(5_000)]
    data = "\n".join(lines).encode() + b'\n{"id": 5000, "name": "caf\xe9"}\n'
    table = open_table(con, write_bytes("late.jsonl", data), all_varchar=True)
    got = dict(con.execute("SELECT id, name FROM src WHERE id IN ('7', '5000')").fetchall())
    assert got == {"7": "Zoë 7", "5000": "café"}
    assert [w["code"] for w in table.warnings] == ["mixed_encoding"]


def test_jsonl_records_without_values_are_rows(con, write_bytes):
    # `{}` and a record of nulls are records (every field NULL), unlike a line `null`.
    text = '{"a": 1, "b": "x"}\n{}\n{"a": null, "b": null}\n{"a": 4}\n'
    table = open_table(con, write_bytes("blank.jsonl", text.encode()), all_varchar=True)
    assert table.rows == 4
    assert con.execute("SELECT a, b FROM src ORDER BY __row").fetchall() == [
        ("1", "x"),
        (None, None),
        (None, None),
        ("4", None),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1}\n{"a": 2\n{"a": 3}\n', r"bad\.jsonl: line 2: not valid JSON"),
        ('{"a": 1}\n\n\n{"a": tru}\n', r"bad\.jsonl: line 4: not valid JSON"),
        (
            '{"a": 1}\n[1, 2]\n{"a": 3}\n',
            r"bad\.jsonl: line 2: a JSON array where each line must hold one object",
        ),
        ('{"a": 1}\n"text"\n', r"bad\.jsonl: line 2: a JSON string where"),
        ('{"a": 1}\n\nnull\n{"a": 3}\n', r"bad\.jsonl: line 3: a JSON null where"),
        ('{"a": 1, "b": [1]}\n{}\nnull\n', r"bad\.jsonl: line 3: a JSON null where"),
        ('{"a": 1}\n{"": 2}\n{"a": 3}\n', r'bad\.jsonl: line 2: an object with an empty key ""'),
        ('{"a": 1, "b": }\n{"a": 2}\n', r"bad\.jsonl: line 1: not valid JSON"),
        ('{"a": 1}\n{"a": 2}\n}\n', r"bad\.jsonl: line 3: not valid JSON"),
        ('[1, 2]\n{"a": 1}\n{"a": 2}\n', r"bad\.jsonl: line 1: a JSON array where"),
    ],
)
def test_jsonl_errors_name_the_bad_line(con, write_bytes, text, message):
    with pytest.raises(InputMalformed, match=message) as caught:
        open_table(con, write_bytes("bad.jsonl", text.encode()), all_varchar=True)
    assert "Try" not in caught.value.message and "/" not in caught.value.message
    assert caught.value.details["line"] == int(re.search(r"line (\d+)", caught.value.message)[1])


# --- bad input ----------------------------------------------------------------------------------


def test_missing_file(con, tmp_path):
    with pytest.raises(InputNotFound, match="nope.csv"):
        open_table(con, tmp_path / "nope.csv")


def test_empty_file(con, write_bytes):
    with pytest.raises(InputEmpty, match="empty.csv"):
        open_table(con, write_bytes("empty.csv", b""))


def test_header_only_file(con, write_bytes):
    with pytest.raises(InputEmpty, match="header row but no data rows"):
        open_table(con, write_bytes("h.csv", b"a,b,c\n"))


def test_binary_garbage(con, write_bytes):
    rng = random.Random(7)
    data = bytes(rng.getrandbits(8) for _ in range(4096))
    with pytest.raises(InputUnreadable, match=r"junk\.csv.*binary"):
        open_table(con, write_bytes("junk.csv", data))


def test_binary_file_read_as_json_lines_says_so(con, write_bytes):
    # A Parquet file forced to be read as JSON lines: the error names what was expected.
    with pytest.raises(InputUnreadable, match=r"data\.parquet: .*binary.*not JSON lines"):
        open_table(con, write_bytes("data.parquet", b"PAR1\x00\x01\x02" * 100), options={"format": "jsonl"})


def test_fake_xlsx(con, write_bytes):
    with pytest.raises(InputUnreadable, match=r"fake\.xlsx.*not an Excel"):
        open_table(con, write_bytes("fake.xlsx", b"a,b\n1,2\n"))


def test_corrupt_zip_as_xlsx(con, write_bytes):
    with pytest.raises(InputUnreadable, match="bad.xlsx"):
        open_table(con, write_bytes("bad.xlsx", b"PK\x03\x04" + b"\x00" * 200))


def test_fake_parquet(con, write_bytes):
    with pytest.raises(InputUnreadable, match="fake.parquet"):
        open_table(con, write_bytes("fake.parquet", b"a,b\n1,2\n"))


def test_truncated_parquet(con, tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": list(range(1000))}), path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(InputUnreadable, match="t.parquet"):
        open_table(con, path)


def test_malformed_jsonl(con, write_bytes):
    with pytest.raises(InputMalformed, match=r"bad\.jsonl.*line"):
        open_table(con, write_bytes("bad.jsonl", b'{"a": 1}\n{"a": 2,\n'))


def test_legacy_xls_refused(tmp_path):
    with pytest.raises(InputUnreadable, match="save it as .xlsx"):
        detect_format(tmp_path / "old.xls")


def test_bad_view_name(con, write_bytes):
    with pytest.raises(InvalidParams):
        open_table(con, write_bytes("p.csv", PEOPLE.encode()), view="src; DROP TABLE x")


# --- other formats ------------------------------------------------------------------------------


def test_parquet(con, tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"id": [3, 1, 2], "name": ["c", "a", None]}), path, row_group_size=2)
    table = open_table(con, path)
    assert (table.format, table.rows, table.columns) == ("parquet", 3, ["id", "name"])
    assert table.types == {"id": "BIGINT", "name": "VARCHAR"}
    assert rows(con) == [(0, 3, "c"), (1, 1, "a"), (2, 2, None)]


def test_parquet_without_rows_is_empty(con, tmp_path):
    path = tmp_path / "z.parquet"
    pq.write_table(pa.table({"id": pa.array([], pa.int64())}), path)
    with pytest.raises(InputEmpty, match="z.parquet"):
        open_table(con, path)


def test_xlsx(con, tmp_path):
    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "People"
    ws.append([None, None])
    ws.append(["name", "born", None])
    ws.append(["Zoë", dt.date(1990, 5, 1)])
    ws.append(["Bob", dt.date(1985, 1, 2), "extra"])
    other_ws = wb.create_sheet("Other")
    other_ws.append(["x"])
    other_ws.append([1])
    wb.save(path)
    table = open_table(con, path)
    assert table.format == "xlsx"
    # A cell right of the header's last one is data (QA: it was cut without a word).
    assert table.columns == ["name", "born", "column_3"]
    assert table.types["born"] == "DATE"
    assert table.options["sheet"] == "People" and table.options["skipped_rows"] == 1
    assert rows(con) == [(0, "Zoë", dt.date(1990, 5, 1), None), (1, "Bob", dt.date(1985, 1, 2), "extra")]
    (past,) = [w for w in table.warnings if w["code"] == "xlsx_cells_past_header"]
    assert "1 row(s)" in past["message"] and "first at row 4" in past["message"]
    assert "column_3" in past["message"]
    other = open_table(con, path, view="other", options={"sheet": "Other"})
    assert other.columns == ["x"]
    with pytest.raises(InvalidParams, match="People, Other"):
        open_table(con, path, options={"sheet": "Nope"})


def _book(path: Path, rows_: list[list[Any]]) -> Path:
    wb = openpyxl.Workbook()
    for row in rows_:
        wb.active.append(row)
    wb.save(path)
    return path


def test_xlsx_title_rows_above_the_header_are_no_header(con, tmp_path):
    # QA: "Quarterly Sales Report" in A1 became the header, and Rep and Sales vanished.
    path = _book(
        tmp_path / "report.xlsx",
        [["Quarterly Sales Report"], ["Q3 2024"], [], ["Region", "Rep", "Sales"], ["North", "Ann", 1200.5], ["South", "Bob", 800]],
    )  # fmt: skip
    table = open_table(con, path, all_varchar=True)
    assert table.columns == ["Region", "Rep", "Sales"] and table.rows == 2
    assert con.execute("SELECT Rep FROM src ORDER BY __row").fetchall() == [("Ann",), ("Bob",)]
    (note,) = [w for w in table.warnings if w["code"] == "xlsx_title_rows"]
    assert "row 1 ('Quarterly Sales Report'), row 2 ('Q3 2024')" in note["message"]
    # read_options skip chooses the header row itself: no detection.
    again = open_table(con, path, view="again", all_varchar=True, options={"skip": 3})
    assert again.columns == ["Region", "Rep", "Sales"] and again.rows == 2
    assert not [w for w in again.warnings if w["code"] == "xlsx_title_rows"]
    first = open_table(con, path, view="first", all_varchar=True, options={"skip": 1})
    assert first.columns == ["Q3 2024", "column_2", "column_3"]  # as asked: row 2 is the header


def test_xlsx_a_cover_sheet_first_names_the_other_sheets(con, tmp_path):
    # QA: "multi.xlsx: has a header row but no data rows", with the data on the next sheet.
    path = tmp_path / "multi.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Summary"
    wb.active.append(["Sales 2024"])
    wb.create_sheet("Empty")
    data = wb.create_sheet("Data")
    data.append(["id", "name"])
    data.append([1, "Ann"])
    wb.save(path)
    with pytest.raises(
        InputEmpty, match=r"sheet 'Summary' has a header row but no data rows; other sheets: Empty, Data"
    ):
        open_table(con, path)
    with pytest.raises(InputEmpty, match=r"sheet 'Empty' is empty; other sheets: Summary, Data"):
        open_table(con, path, options={"sheet": "Empty"})
    assert open_table(con, path, options={"sheet": "Data"}).rows == 1


def test_xlsx_rows_are_numbered_as_excel_numbers_them(con, tmp_path):
    # QA: a sheet whose cells start at row 3 was numbered from 3 as its first yielded row
    # (openpyxl yields rows from 1): titles, skip and warnings were two rows off.
    path = tmp_path / "x3.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A3"], ws["A4"], ws["B4"], ws["C4"] = "Title", "h1", "h2", None
    ws.append([1, 2])
    ws.append([3, 4, "past"])
    wb.save(path)
    table = open_table(con, path, all_varchar=True)
    assert table.columns == ["h1", "h2", "column_3"] and table.rows == 2
    codes = {w["code"]: w["message"] for w in table.warnings}
    assert "row 3 ('Title')" in codes["xlsx_title_rows"]
    assert "first at row 6" in codes["xlsx_cells_past_header"]
    assert open_table(con, path, view="s", all_varchar=True, options={"skip": 3}).columns[:2] == ["h1", "h2"]


def test_xlsx_a_header_with_a_blank_cell_is_no_title(con, tmp_path):
    # QA: "Name" over Alice, Smith was taken for a title and Alice's row for the header.
    table = open_table(
        con, _book(tmp_path / "b.xlsx", [["Name", None], ["Alice", "Smith"], ["Bob", "Jones"]])
    )
    assert table.columns == ["Name", "column_2"] and table.rows == 2
    # Right above a header, a title is told by the numbers below the header.
    numbers = open_table(
        con, _book(tmp_path / "n.xlsx", [["Sales"], ["Region", "Total"], ["North", 12]]), view="n"
    )
    assert numbers.columns == ["Region", "Total"] and numbers.rows == 1


@pytest.mark.parametrize(
    "sheet",
    [
        [["name"], ["Ann"], ["Bob"]],  # one column: no titles
        [["total"], ["North", 12], ["South", 8]],  # a data row (a number) below: not a header
    ],
)
def test_xlsx_one_filled_cell_is_the_header_unless_a_header_follows(con, tmp_path, sheet):
    table = open_table(con, _book(tmp_path / "one.xlsx", sheet), all_varchar=True)
    assert table.columns[0] == sheet[0][0]
    assert table.rows == len(sheet) - 1
    assert not [w for w in table.warnings if w["code"] == "xlsx_title_rows"]


def test_xlsx_empty_rows_are_skipped_like_blank_csv_lines(con, tmp_path):
    from openpyxl.styles import Font

    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (["id", "name"], [1, "a"], [None, None], [2, "b"], [3, "c"]):
        ws.append(row)
    for r in range(6, 11):  # formatted but empty rows below the data, as workbooks often have
        for c in (1, 2):
            ws.cell(row=r, column=c).font = Font(bold=True)
    wb.save(path)
    table = open_table(con, path, all_varchar=True)
    assert rows(con) == [(0, "1", "a"), (1, "2", "b"), (2, "3", "c")]
    assert table.rows == 3 and table.options["skipped_rows"] == 6


def _with_sheet_xml(path: Path, edit) -> None:
    """Rewrite the first worksheet's XML of the workbook at ``path`` with ``edit(bytes) -> bytes``."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    parts["xl/worksheets/sheet1.xml"] = edit(parts["xl/worksheets/sheet1.xml"])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_xlsx_formulas_nobody_calculated_are_reported_not_silently_empty(con, tmp_path):
    # A workbook written by openpyxl has formulas and no values: they read as empty, and the
    # report said nothing (profile called the column empty, clean wrote it back empty).
    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Orders"
    ws.append(["item", "qty", "total"])
    for i in range(2, 10):
        ws.append([f"item{i}", i, f"=B{i}*2"])
    wb.save(path)
    table = open_table(con, path, all_varchar=True)
    assert rows(con)[0] == (0, "item2", "2", None)
    [warning] = [w for w in table.warnings if w["code"] == "formulas_not_computed"]
    assert warning["severity"] == "warning" and warning["column"] == "total"
    assert warning["message"].startswith(
        "sheet 'Orders': 8 formula cell(s) in column(s) 'total' have no computed value "
        "(C2, C3, C4, C5, C6 and 3 more) and are read as empty"
    )
    assert "Open and save it in Excel or LibreOffice" in warning["message"]


def test_xlsx_formulas_with_their_values_stored_read_as_values(con, tmp_path):
    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["a", "b", "c"])
    ws.append([1, "=A2*2", '=IF(A2>0,"","x")'])
    wb.save(path)
    # As Excel saves it: each formula with its value; an empty text result typed t="str".
    _with_sheet_xml(
        path,
        lambda xml: xml.replace(
            b'<c r="B2"><f>A2*2</f><v /></c>', b'<c r="B2"><f>A2*2</f><v>2</v></c>'
        ).replace(
            b'<c r="C2"><f>IF(A2&gt;0,"","x")</f><v /></c>',
            b'<c r="C2" t="str"><f>IF(A2&gt;0,"","x")</f><v></v></c>',
        ),
    )
    table = open_table(con, path)
    assert rows(con) == [(0, 1, 2, None)]
    assert table.warnings == []


def test_xlsx_formulas_are_checked_in_the_sheet_read_wherever_its_part_lies(con, tmp_path):
    # The sheet's XML is found as the format defines it (package rels -> workbook -> sheet
    # rels), not by file name: generators name parts freely and may write absolute targets.
    import zipfile

    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["plain"])
    wb.active.append([1])
    ws = wb.create_sheet("Totals")
    ws.append(["qty", "total"])
    ws.append([2, "=A2*2"])
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    parts["xl/sheets/data.xml"] = parts.pop("xl/worksheets/sheet2.xml")
    rels = "xl/_rels/workbook.xml.rels"
    parts[rels] = parts[rels].replace(b'"/xl/worksheets/sheet2.xml"', b'"/xl/sheets/data.xml"')
    parts[rels] = parts[rels].replace(b'"worksheets/sheet2.xml"', b'"/xl/sheets/data.xml"')
    assert b"/xl/sheets/data.xml" in parts[rels]
    for ctype in ("[Content_Types].xml",):
        parts[ctype] = parts[ctype].replace(b"/xl/worksheets/sheet2.xml", b"/xl/sheets/data.xml")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    table = open_table(con, path, all_varchar=True, options={"sheet": "Totals"})
    [warning] = [w for w in table.warnings if w["code"] == "formulas_not_computed"]
    assert warning["message"].startswith("sheet 'Totals': 1 formula cell(s) in column(s) 'total'")
    assert open_table(con, path, all_varchar=True).warnings == []  # the first sheet has none


def _formula_book(path: Path) -> dict[str, bytes]:
    """A workbook with one sheet "Form" holding two uncomputed formulas (B2, B3), as zip parts."""
    import zipfile

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Form"
    for row in (["a", "f"], [1, "=A2*2"], [2, "=A3*2"]):
        ws.append(row)
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def _rezip(path: Path, parts: dict[str, bytes]) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


@pytest.mark.parametrize(
    "edit",
    [
        # openpyxl finds the workbook by its content type: a stale or missing package rel is no matter
        lambda p: p.update({"_rels/.rels": p["_rels/.rels"].replace(b"xl/workbook.xml", b"xl/nothere.xml")}),
        lambda p: p.pop("_rels/.rels"),
        # a <sheet> whose part is missing is skipped by openpyxl, and so by the check
        lambda p: p.update({
            "xl/workbook.xml": p["xl/workbook.xml"].replace(
                b"<sheets>", b'<sheets><sheet name="Form" sheetId="9" r:id="rIdGone"/>'),
            "xl/_rels/workbook.xml.rels": p["xl/_rels/workbook.xml.rels"].replace(
                b"</Relationships>", b'<Relationship Id="rIdGone" Target="worksheets/gone.xml" Type='
                b'"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
                b"</Relationships>"),
        }),
    ],
    ids=["stale-package-rel", "no-package-rels", "dead-sheet-entry"],
)  # fmt: skip
def test_xlsx_formula_check_finds_the_sheet_openpyxl_reads(con, tmp_path, edit):
    path = tmp_path / "book.xlsx"
    parts = _formula_book(path)
    edit(parts)
    _rezip(path, parts)
    table = open_table(con, path, all_varchar=True)
    [warning] = [w for w in table.warnings if w["code"] == "formulas_not_computed"]
    assert "(B2, B3)" in warning["message"]


def test_xlsx_formula_check_that_cannot_run_says_so(con, tmp_path, monkeypatch):
    from taskq.jobs import _xlsx

    path = tmp_path / "book.xlsx"
    _formula_book(path)
    # No workbook openpyxl reads was found that hides its sheet's part from the check: a stand-in.
    monkeypatch.setattr(_xlsx, "sheet_member", lambda archive, title: None)
    table = open_table(con, path, all_varchar=True)
    assert [w["code"] for w in table.warnings] == ["formulas_not_checked"]


def test_xlsx_chartsheets_are_passed_over_and_refused_by_name(con, tmp_path):
    from openpyxl.chart import BarChart, Reference

    path = tmp_path / "book.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    for row in (["k", "v"], ["a", 1], ["b", 2]):
        ws.append(row)
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=3), titles_from_data=True)
    wb.create_chartsheet("Chart", 0).add_chart(chart)
    wb.save(path)
    table = open_table(con, path, all_varchar=True)
    assert table.columns == ["k", "v"] and table.rows == 2
    with pytest.raises(InvalidParams, match="sheet 'Chart' is a chart, not a table; worksheets: Data"):
        open_table(con, path, all_varchar=True, options={"sheet": "Chart"})


def test_uncomputed_formula_cells_are_found_as_openpyxl_numbers_them():
    import io

    from taskq.jobs._xlsx import uncomputed_formulas

    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    xml = (
        f'<x:worksheet xmlns:x="{ns}"><x:sheetData>'
        '<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c></x:row>'
        # no "r" on row 2's cells: the 2nd and 3rd cells are B2 and C2
        "<x:row><x:c><x:v>1</x:v></x:c><x:c><x:f>A2*2</x:f><x:v/></x:c><x:c><x:f>A2</x:f></x:c></x:row>"
        '<x:row r="5"><x:c r="B5"><x:f t="shared" ref="B5:B6" si="0">A5</x:f><x:v>0</x:v></x:c>'
        '<x:c r="C5" t="str"><x:f>""</x:f><x:v></x:v></x:c><x:c r="D5" t="e"><x:f>1/0</x:f><x:v>#DIV/0!</x:v></x:c>'
        '<x:c r="E5"><x:f t="shared" si="0"/></x:c></x:row>'
        "</x:sheetData></x:worksheet>"
    ).encode()
    found = uncomputed_formulas(lambda: io.BytesIO(xml))
    assert (found.cells, found.listed, found.columns) == (3, ["B2", "C2", "E5"], {2, 3, 5})
    plain = b'<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData></worksheet>'
    assert uncomputed_formulas(lambda: io.BytesIO(plain)).cells == 0


def test_jsonl(con, write_bytes):
    lines = [{"id": 1, "tag": "a"}, {"id": 2, "tag": None}, {"id": 3, "tag": "c", "extra": True}]
    data = "\n".join(json.dumps(x) for x in lines).encode()
    table = open_table(con, write_bytes("d.jsonl", data))
    assert table.format == "jsonl" and table.rows == 3
    assert set(table.columns) == {"id", "tag", "extra"}
    assert con.execute("SELECT __row, id FROM src ORDER BY __row").fetchall() == [(0, 1), (1, 2), (2, 3)]


@pytest.mark.parametrize("values", [["15.01.24", "03.02.24", "28.12.23"], ["15/01/24", "03/02/24"]])
def test_dates_the_sniffer_reads_year_first_are_read_as_text(con, write_bytes, values):
    # DuckDB's sniffer reads 15.01.24 as %y.%m.%d (2015-01-24): profile reported dates no
    # value holds. Typed, such a column is text, with a finding; as written, it always was.
    data = ("d,n\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values))).encode()
    table = open_table(con, write_bytes("d.csv", data))
    assert table.types == {"d": "VARCHAR", "n": "BIGINT"}
    assert [r[1] for r in rows(con)] == values
    assert [w["code"] for w in table.warnings] == ["ambiguous_dates"]
    table = open_table(con, write_bytes("iso.csv", b"d,n\n2024-01-15,1\n2024-02-03,2\n"))
    assert table.types["d"] == "DATE" and table.warnings == []


@pytest.mark.parametrize(
    "values, read",
    [
        (["01/02/2024", "03/04/2024"], [dt.date(2024, 1, 2), dt.date(2024, 3, 4)]),
        (["01-02-2024", "11-12-2024"], [dt.date(2024, 1, 2), dt.date(2024, 11, 12)]),
        (
            ["01/02/2024 10:30:00", "03/04/2024 23:59:59"],
            [dt.datetime(2024, 1, 2, 10, 30), dt.datetime(2024, 3, 4, 23, 59, 59)],
        ),
    ],
)
def test_dates_no_value_orders_are_read_month_first_with_a_finding(con, write_bytes, values, read):
    # DuckDB's sniffer reads 01/02/2024 as 1 February when no value tells; clean-my-data
    # reads slashes and dashes month first then. The typed read agrees with clean.
    data = ("d,n\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values))).encode()
    table = open_table(con, write_bytes("d.csv", data))
    assert [r[1] for r in rows(con)] == read
    assert [(w["code"], w["column"]) for w in table.warnings] == [("ambiguous_dates", "d")]


@pytest.mark.parametrize(
    "values, read",
    [
        (["13/02/2024", "03/04/2024"], [dt.date(2024, 2, 13), dt.date(2024, 4, 3)]),  # 13 is a day
        (["01.02.2024", "03.04.2024"], [dt.date(2024, 2, 1), dt.date(2024, 4, 3)]),  # dots: Europe, day first
        (["02/13/2024", "03/04/2024"], [dt.date(2024, 2, 13), dt.date(2024, 3, 4)]),
    ],
)
def test_dates_a_value_or_dots_order_are_read_as_the_sniffer_read_them(con, write_bytes, values, read):
    data = ("d,n\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values))).encode()
    table = open_table(con, write_bytes("d.csv", data))
    assert [r[1] for r in rows(con)] == read
    assert table.warnings == []


WIDE_JSON = (
    b'{"id": 123456789012345678901234, "m": 9007199254740993, "x": 1.5}\n'
    b'{"id": 5, "m": 1.5, "x": 2}\n'
    b'{"id": null, "m": null, "x": 1e300}\n'
    b'{"id": -18446744073709551617, "m": 2, "x": 9007199254740993.0}\n'
)


@pytest.mark.parametrize("keep_types", [False, True], ids=["typed", "keep-types"])
def test_jsonl_integers_a_double_would_round_come_back_exactly(con, write_bytes, keep_types):
    # DuckDB infers DOUBLE for integers past 64 bits, and for integers among fractions:
    # 123456789012345678901234 came back 1.2345678901234568e+23, 9007199254740993 as ...992.
    table = open_table(con, write_bytes("w.jsonl", WIDE_JSON), all_varchar=keep_types, keep_types=keep_types)
    text = "JSON" if keep_types else "VARCHAR"
    # x: a fraction a DOUBLE rounds, next to 1e300 (no DECIMAL holds both): read as written,
    # its JSON text; typed (profile), a DOUBLE will do.
    assert table.types == {"id": "HUGEINT", "m": text, "x": text if keep_types else "DOUBLE"}
    x = ["1.5", "2", "1e300", "9007199254740993.0"] if keep_types else [1.5, 2.0, 1e300, 9007199254740992.0]
    assert rows(con) == [
        (0, 123456789012345678901234, "9007199254740993", x[0]),
        (1, 5, "1.5", x[1]),
        (2, None, None, x[2]),
        (3, -18446744073709551617, "2", x[3]),
    ]
    assert [(n["code"], n["column"]) for n in table.warnings] == [
        *([("json_wide_numbers", "x")] if keep_types else []),
        ("json_wide_numbers", "m"),
    ]
    open_table(con, write_bytes("w.jsonl", WIDE_JSON), all_varchar=True)
    assert rows(con)[0] == (0, "123456789012345678901234", "9007199254740993", "1.5")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("r.csv", b"RowId,k\n5,a\n3,b\n"),
        ("r.jsonl", b'{"rowid": 5, "k": "a"}\n{"rowid": 3, "k": "b"}\n'),
    ],
)
def test_a_column_named_rowid_keeps_its_name_and_is_no_row_number(con, write_bytes, name, data):
    # It hid DuckDB's row id, which __row is: the file's values were the row numbers.
    table = open_table(con, write_bytes(name, data), all_varchar=True)
    assert table.columns[0].lower() == "rowid"
    assert rows(con) == [(0, "5", "a"), (1, "3", "b")]


def test_parquet_with_a_file_row_number_column_is_read(con, tmp_path):
    # DuckDB refused to add its own file_row_number beside the file's: no tool could read it.
    path = tmp_path / "f.parquet"
    pq.write_table(pa.table({"rowid": [5, 3], "file_row_number": [7, 7], "k": ["a", "b"]}), path)
    table = open_table(con, path, all_varchar=True)
    assert table.columns == ["rowid", "file_row_number", "k"]
    assert rows(con) == [(0, "5", "7", "a"), (1, "3", "7", "b")]


def test_json_keys_differing_only_in_case_are_named_in_a_finding(con, write_bytes):
    # DuckDB reads the second spelling as amount_1 (names are case-insensitive), silently:
    # a CSV header renamed so had a finding, a JSON key none.
    data = b'{"Amount": 1.5, "k": 1}\n{"amount": 2.5, "K": 2, "a_1": 3}\n'
    table = open_table(con, write_bytes("c.jsonl", data), all_varchar=True)
    assert table.columns == ["Amount", "k", "amount_1", "K_1", "a_1"]
    renamed = {w["column"]: w["message"] for w in table.warnings if w["code"] == "column_renamed"}
    assert set(renamed) == {"amount_1", "K_1"}  # a_1 is the file's own key
    assert renamed["amount_1"].startswith("field 'amount_1' is 'amount' in the file")


def test_the_names_taken_for_row_numbers_are_free_ones(con, write_bytes):
    # A column named like the private ones crashed (rowid beside __taskq_rowid) or was renamed.
    open_table(con, write_bytes("r.csv", b"rowid,__taskq_rowid\n5,a\n3,b\n"), all_varchar=True)
    assert rows(con) == [(0, "5", "a"), (1, "3", "b")]
    data = b'{"__taskq_index": 7, "v": 1.5}\n{"__taskq_index": 8, "v": 1234567890.123456789}\n'
    table = open_table(con, write_bytes("i.jsonl", data), all_varchar=True, keep_types=True)
    assert table.columns == ["__taskq_index", "v"]
    assert [(r[1], str(r[2])) for r in rows(con)] == [(7, "1.500000000"), (8, "1234567890.123456789")]


def test_json_exact_numbers_beside_a_rowid_field_stay_in_their_rows(con, write_bytes):
    # The fix-up of long numbers joined rows on DuckDB's rowid, which was the file's field:
    # rows were doubled, dropped and given each other's values (QA).
    data = (
        b'{"rowid": 1, "k": "a", "v": 1.5}\n{"rowid": 1, "k": "b", "v": 1234567890.123456789}\n'
        b'{"rowid": null, "k": "c", "v": 3.5}\n'
    )
    open_table(con, write_bytes("r.jsonl", data), all_varchar=True, keep_types=True)
    assert [(r[0], r[1], r[2], str(r[3])) for r in rows(con)] == [
        (0, 1, "a", "1.500000000"),
        (1, 1, "b", "1234567890.123456789"),
        (2, None, "c", "3.500000000"),
    ]


@pytest.mark.parametrize(
    "data",
    [
        # Amount beside amount: DuckDB reads the second as amount_1, a key no record has
        b'{"Amount": 1.5}\n{"amount": 1234567890.123456789}\n',
        # JSON DuckDB reads and Python does not
        b'{"a": 1.5}\n{"a": 1234567890.123456789, "b": [1,]}\n',
    ],
    ids=["renamed-key", "trailing-comma"],
)
def test_json_numbers_that_cannot_be_checked_say_so(con, write_bytes, data):
    # Their digits were lost with a log line only.
    table = open_table(con, write_bytes("u.jsonl", data), all_varchar=True, keep_types=True)
    [warning] = [w for w in table.warnings if w["code"] == "json_numbers_unchecked"]
    assert warning["severity"] == "warning" and "1 record(s) (record 2, counted from 1)" in warning["message"]


def test_json_wide_integers_with_long_fractions_are_not_called_lossless(con, write_bytes):
    # The field's info said "no digit is lost" while 0.10000000000000000001 was written as 0.1.
    data = b'{"a": 9223372036854775809}\n{"a": 0.10000000000000000001}\n'
    table = open_table(con, write_bytes("w.jsonl", data), all_varchar=True, keep_types=True)
    assert [(w["severity"], w["code"]) for w in table.warnings] == [("warning", "json_wide_numbers")]
    assert "1 fraction(s) it would change" in table.warnings[0]["message"]


LONG_FRACTIONS = (
    # m, d and h: the names the lambdas of the exactness test use.
    b'[\n {"m": 1234567890.123456789, "d": 0.10000000000000000001, "h": "12345678901234567890.5",'
    b' "f": 0.30000000000000004, "o": {"a": 1.5}},\n'
    b' {"m": -5e-1, "d": 1e-400, "h": "x", "f": 2.5, "o": null},\n'
    b' {"m": 3, "d": 2, "h": "y", "f": 3, "o": {"a": 1}}\n]\n'
)


def test_json_numbers_a_double_would_change_keep_every_digit(con, write_bytes):
    # A pretty-printed array too: the records' text is matched to their rows.
    table = open_table(con, write_bytes("f.json", LONG_FRACTIONS), all_varchar=True, keep_types=True)
    assert table.types == {"m": "DECIMAL(19,9)", "d": "JSON", "h": "VARCHAR", "f": "DOUBLE", "o": "JSON"}
    assert [r[1:4] for r in rows(con)] == [
        (Decimal("1234567890.123456789"), "0.10000000000000000001", "12345678901234567890.5"),
        (Decimal("-0.5"), "1e-400", "x"),
        (Decimal("3"), "2", "y"),
    ]
    assert [r[4] for r in rows(con)] == [0.30000000000000004, 2.5, 3.0]
    assert [(n["code"], n["column"], n["severity"]) for n in table.warnings] == [
        ("json_wide_numbers", "m", "info"),
        ("json_wide_numbers", "d", "warning"),
    ]


def test_json_fractions_a_double_holds_stay_double(con, write_bytes):
    lines = b'{"x": 0.1, "y": 0.30000000000000004, "z": 1e-07, "w": 123456789012.5}\n{"x": 2, "y": 1, "z": 3, "w": 4}\n'
    table = open_table(con, write_bytes("o.jsonl", lines), all_varchar=True, keep_types=True)
    assert set(table.types.values()) == {"DOUBLE"} and table.warnings == []
    assert rows(con) == [(0, 0.1, 0.30000000000000004, 1e-07, 123456789012.5), (1, 2.0, 1.0, 3.0, 4.0)]


def test_jsonl_fields_mixing_strings_and_numbers_read_unquoted(con, write_bytes):
    lines = [
        '{"id": 1, "city": "Paris", "v": 1.5, "o": {"a": 1}}',
        '{"id": 2, "city": "Rome", "v": "n/a", "o": null}',
        '{"id": "X3", "city": 7, "v": 2, "o": [1, "x"]}',
    ]
    for all_varchar in (True, False):
        table = open_table(
            con, write_bytes("mixed.jsonl", "\n".join(lines).encode()), all_varchar=all_varchar
        )
        assert table.types["city"] == "VARCHAR" and table.types["v"] == "VARCHAR"
        assert [r[1:] for r in rows(con)] == [
            ("1", "Paris", "1.5", '{"a":1}'),
            ("2", "Rome", "n/a", None),
            ("X3", "7", "2", '[1,"x"]'),
        ]


def test_jsonl_lists_and_objects_read_as_json_text(con, write_bytes):
    lines = ['{"tags": ["a", "b"], "addr": {"city": "Boston"}}', '{"tags": [], "addr": {"city": null}}']
    open_table(con, write_bytes("nested.jsonl", "\n".join(lines).encode()), all_varchar=True)
    assert [r[1:] for r in rows(con)] == [('["a","b"]', '{"city":"Boston"}'), ("[]", '{"city":null}')]


def test_jsonl_strings_read_as_text_are_the_strings_in_the_file(con, write_bytes):
    lines = [
        '{"ts": "2024-01-01T10:00:00Z", "d": "2024-01-01", "at": "10:11:12", "u": "%", "n": 1}',
        '{"ts": "2024-01-02T10:00:00Z", "d": "2024-01-02", "at": "10:11:13", "u": "%", "n": 2}',
    ]
    path = write_bytes("when.jsonl", "\n".join(lines).encode())
    table = open_table(con, path, all_varchar=True)
    assert [r[1:] for r in rows(con)] == [
        ("2024-01-01T10:00:00Z", "2024-01-01", "10:11:12", "%", "1"),
        ("2024-01-02T10:00:00Z", "2024-01-02", "10:11:13", "%", "2"),
    ]
    table = open_table(con, path, all_varchar=True, keep_types=True)
    assert table.types == {"ts": "VARCHAR", "d": "VARCHAR", "at": "VARCHAR", "u": "VARCHAR", "n": "BIGINT"}
    assert con.execute("SELECT n FROM src ORDER BY __row").fetchall() == [(1,), (2,)]


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_an_input_column_named_row_is_renamed_with_an_alert(con, tmp_path, fmt):
    import duckdb

    path = tmp_path / f"r.{fmt}"
    options = {"csv": "FORMAT csv, HEADER true", "parquet": "FORMAT parquet", "jsonl": "FORMAT json"}[fmt]
    duckdb.connect().execute(f"COPY (SELECT 7 AS __row, 'x' AS a) TO '{path}' ({options})")
    table = open_table(con, path)
    assert table.columns == ["__row_input", "a"]
    assert [(w["code"], w["column"]) for w in table.warnings] == [("column_renamed", "__row")]


def test_jsonl_lists_and_objects_are_json_as_written(con, write_bytes):
    lines = ['{"o": {"at": "2024-01-01T10:00:00+02:00"}, "d": ["2024-01-01"]}', '{"o": {"b": 1}, "d": []}']
    path = write_bytes("nested2.jsonl", "\n".join(lines).encode())
    open_table(con, path, all_varchar=True)
    assert [r[1:] for r in rows(con)] == [
        ('{"at":"2024-01-01T10:00:00+02:00"}', '["2024-01-01"]'),
        ('{"b":1}', "[]"),
    ]
    table = open_table(con, path, all_varchar=True, keep_types=True)
    assert table.types == {"o": "JSON", "d": "JSON"}


def test_parquet_json_columns_are_kept_as_json(con, tmp_path):
    import duckdb

    path = tmp_path / "j.parquet"
    duckdb.connect().execute(f"COPY (SELECT '\"abc\"'::JSON AS j) TO '{path}' (FORMAT parquet)")
    assert open_table(con, path, all_varchar=True, keep_types=True).types == {"j": "JSON"}
    assert con.execute("SELECT CAST(j AS VARCHAR) FROM src").fetchall() == [('"abc"',)]


def test_parquet_keep_types_reads_only_strings_as_text(con, tmp_path):
    pq.write_table(pa.table({"s": ["a"], "n": [1.5], "l": [[1, 2]]}), tmp_path / "t.parquet")
    assert open_table(con, tmp_path / "t.parquet", all_varchar=True).types == dict.fromkeys("snl", "VARCHAR")
    table = open_table(con, tmp_path / "t.parquet", all_varchar=True, keep_types=True)
    assert table.types == {"s": "VARCHAR", "n": "DOUBLE", "l": "BIGINT[]"}
    assert con.execute("SELECT s, n, l FROM src").fetchall() == [("a", 1.5, [1, 2])]


def test_jsonl_key_first_seen_after_the_sample_is_read(con, write_bytes):
    lines = [f'{{"id": {i}}}' for i in range(20_500)] + ['{"id": 20500, "extra": "late"}']
    table = open_table(con, write_bytes("late.jsonl", "\n".join(lines).encode()), all_varchar=True)
    assert table.columns == ["id", "extra"] and table.rows == 20_501
    assert con.execute("SELECT extra FROM src WHERE id = '20500'").fetchall() == [("late",)]


def test_detect_format_by_content(write_bytes, tmp_path):
    pq.write_table(pa.table({"a": [1]}), tmp_path / "noext")
    assert detect_format(tmp_path / "noext") == "parquet"
    assert detect_format(write_bytes("blob", b'{"a": 1}\n')) == "jsonl"
    assert detect_format(write_bytes("plain", b"a,b\n")) == "csv"
    assert detect_format(Path("x.TSV")) == "tsv"


# --- writing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "xlsx", "jsonl"])
def test_write_then_read_round_trip(con, write_bytes, tmp_path, fmt):
    open_table(con, write_bytes("p.csv", PEOPLE.encode()))
    out = tmp_path / "out" / f"p.{fmt}"
    written = write_table(con, f"SELECT * EXCLUDE ({ROW_COLUMN}) FROM src", out, fmt)
    assert written == 3
    back = open_table(con, out, view="back")
    assert back.columns == ["name", "city", "age"]
    assert rows(con, "back") == rows(con, "src")


def test_jsonl_output_has_no_nan_or_infinity(con, tmp_path):
    out = tmp_path / "f.jsonl"
    query = "SELECT * FROM (VALUES (1, 'nan'::DOUBLE, 2.5::FLOAT), (2, 'inf'::DOUBLE, 'nan'::FLOAT)) v(i, x, y) ORDER BY i"
    write_table(con, query, out, "jsonl")
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        {"i": 1, "x": None, "y": 2.5},
        {"i": 2, "x": None, "y": None},
    ]


def test_read_options_that_do_not_apply_are_named(con, tmp_path, write_bytes):
    pq.write_table(pa.table({"a": [1]}), tmp_path / "t.parquet")
    table = open_table(con, tmp_path / "t.parquet", options={"delimiter": ";", "header": True})
    assert [(w["code"], w["message"]) for w in table.warnings] == [
        ("read_options_ignored", "read_options delimiter, header: not used for parquet input, ignored")
    ]
    table = open_table(con, write_bytes("p.tsv", b"a\tb\n1\t2\n"), options={"delimiter": "\t", "sheet": "x"})
    assert [w["message"] for w in table.warnings] == ["read_options sheet: not used for tsv input, ignored"]


def test_write_unknown_format(con, tmp_path):
    with pytest.raises(InvalidParams, match="xml"):
        write_table(con, "SELECT 1", tmp_path / "x.xml", "xml")


def test_connect_limits(tmp_path):
    con = connect(memory_limit="300MB", threads=1, temp_dir=tmp_path / "t")
    settings = dict(
        con.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', 'temp_directory')"
        ).fetchall()
    )
    assert settings["threads"] == "1"
    assert settings["temp_directory"].endswith("t")
    con.close()


def test_finding_validates():
    assert finding("info", "ok", code="x_y") == {
        "severity": "info",
        "column": None,
        "message": "ok",
        "code": "x_y",
    }
    with pytest.raises(ValueError):
        finding("fatal", "bad", code="x")
    with pytest.raises(ValueError):
        finding("info", "bad", code="Not Snake")


def test_connections_draw_no_progress_bar(con) -> None:
    """DuckDB's terminal progress bar would land in worker logs: it is off for every tool."""
    assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone() == (False,)


@pytest.mark.parametrize("tool", ["profile", "clean", "master"])
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"delimiter": 5}, r"read_options\.delimiter must be a string"),
        ({"delimiter": ""}, r"read_options\.delimiter must be one to four bytes"),  # was accepted
        ({"delimiter": "|||||"}, r"read_options\.delimiter must be one to four bytes"),  # a DuckDB error
        ({"encoding": "rot13"}, r"read_options\.encoding: unknown text encoding"),
        ({"colour": "red"}, r"read_options: unknown option\(s\) 'colour'"),
        ("x", r"read_options must be an object"),
    ],
)
def test_every_tool_refuses_bad_read_options_at_validation(tool: str, options: object, message: str) -> None:
    """Checked with the params (at submit, in the API process), before any file is read."""
    from taskq.jobs import validate_params

    with pytest.raises(InvalidParams, match=message):
        validate_params(tool, {"read_options": options})


def test_clean_still_accepts_input_options_the_old_name() -> None:
    from taskq.jobs import validate_params

    assert validate_params("clean", {"input_options": {"delimiter": ";"}})["read_options"] == {
        "delimiter": ";"
    }
    with pytest.raises(InvalidParams, match="old name"):
        validate_params("clean", {"input_options": {}, "read_options": {}})


def test_output_json_is_strict() -> None:
    from taskq.jobs._json import json_text

    doc = {"a": float("nan"), "b": [float("inf"), 1.5], "c": (float("-inf"),), "d": dt.date(2024, 1, 2)}
    assert json.loads(json_text(doc)) == {"a": None, "b": [None, 1.5], "c": [None], "d": "2024-01-02"}


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_params_that_are_not_json_are_refused(value: float) -> None:
    from taskq.jobs import validate_params

    with pytest.raises(InvalidParams, match="JSON"):
        validate_params("profile", {"outlier_z": value})


# --- layouts the sniffer gets wrong (QA findings) -------------------------------------------------


def _quoted_rows(n: int) -> list[str]:
    return ["id,name,city"] + [f'{i},"Name {i}","City, {i}"' for i in range(n)]


def test_one_malformed_quoted_field_in_the_sample_costs_that_row_only(con, write_bytes):
    # The sniffer gave up on '"' quoting over the one bad field and picked another quote:
    # every correctly quoted row then had 4 fields and 9,999 of 10,000 rows were dropped.
    rows = _quoted_rows(10_000)
    rows[5001] = '5000,"Bad "name" here",Town'
    table = open_table(con, write_bytes("q.csv", ("\n".join(rows) + "\n").encode()), all_varchar=True)
    assert table.rows == 9_999 and table.options["quote"] == '"'
    assert table.rejected == [5002]
    got = con.execute(f"SELECT city FROM {table.view} WHERE id = '4999'").fetchall()
    assert got == [("City, 4999",)]


def test_an_unterminated_quote_mid_sample_rejects_that_record_only(con, write_bytes):
    rows = _quoted_rows(100)
    rows[51] = '50,"Bad name,City 50'
    table = open_table(con, write_bytes("u.csv", ("\n".join(rows) + "\n").encode()), all_varchar=True)
    assert table.rows == 98  # rows 50 and 51 are one broken record
    said = " ".join(w["message"] for w in table.warnings)
    assert table.rejected == [52] and "unquoted value" in said and "runs over 2 lines (to line 53)" in said


def test_the_layout_given_is_read_when_the_sniffer_gives_up(con, write_bytes):
    rows = _quoted_rows(100)
    rows[51] = '50,"Bad "name" here",Town'
    path = write_bytes("g.csv", ("\n".join(rows) + "\n").encode())
    table = open_table(con, path, all_varchar=True, options={"delimiter": ",", "quote": '"', "header": True})
    assert table.rows == 99 and table.columns == ["id", "name", "city"]


@pytest.mark.parametrize("first", [b"\r\n", b"\n"])
def test_mixed_line_endings_are_read(con, write_bytes, first):
    other = b"\n" if first == b"\r\n" else b"\r\n"
    data = b"id,name" + first + b"".join(b"%d,n%d" % (i, i) + first for i in range(200)) + b"200,x" + other
    table = open_table(con, write_bytes("m.csv", data), all_varchar=True)
    assert table.rows == 201 and not table.rejected
    assert con.execute(f"SELECT name FROM {table.view} WHERE id = '200'").fetchall() == [("x",)]


def test_a_file_whose_rows_mostly_do_not_fit_is_refused_not_read_in_part(con, write_bytes):
    data = b"a,b,c\n" + b"1,2,3\n" * 4 + b"1,2\n" * 6
    with pytest.raises(InputMalformed, match=r"m\.csv: 6 of 10 rows do not fit .* line 6"):
        open_table(con, write_bytes("m.csv", data))


def test_xlsx_text_starting_with_equals_is_written_as_text_not_a_formula(con, tmp_path):
    con.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES ('=1+1'), ('=HYPERLINK(\"http://x.example\",\"go\")'), ('ok')) v(c)"
    )
    out = tmp_path / "o.xlsx"
    write_table(con, "SELECT c FROM t", out, "xlsx")
    ws = openpyxl.load_workbook(out).active
    cells = [ws.cell(row=r, column=1) for r in (2, 3, 4)]
    assert [c.value for c in cells] == ["=1+1", '=HYPERLINK("http://x.example","go")', "ok"]
    assert [c.data_type for c in cells] == ["s", "s", "s"]


def test_a_column_is_read_from_the_relation_under_the_view(con, write_bytes):
    # Naming a view binds all its columns: per-column queries on a 1,000-column file were quadratic.
    table = open_table(con, write_bytes("w.csv", b"a,b\n1,x\n2,y\n"), all_varchar=True)
    query = table.column_query("b")
    assert "src__data" in query and " src " not in f" {query} "
    assert con.execute(f"SELECT v FROM ({query}) ORDER BY v").fetchall() == [("x",), ("y",)]


def test_a_file_of_blank_lines_is_empty_not_two_null_rows(con, write_bytes):
    with pytest.raises(InputEmpty, match=r"b\.csv: holds only blank lines"):
        open_table(con, write_bytes("b.csv", b"\n\r\n  \n"))


def test_headers_read_under_another_name_are_reported(con, write_bytes):
    table = open_table(con, write_bytes("h.csv", b" a ,a, ,b\n1,2,3,4\n"))
    assert table.columns == ["a", "a_1", "column2", "b"]
    said = {w["column"]: w["message"] for w in table.warnings if w["code"] == "column_renamed"}
    assert "spaces around the header trimmed" in said["a"]
    assert "repeated from an earlier column" in said["a_1"]
    assert "a blank header" in said["column2"]
    assert "b" not in said


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('"s0"\n"s1"\n"s2"\n', "string"),
        ("\n0\n1\n2\n", "number"),
        ('[0, "a"]\n[1, "b"]\n', "array"),
        ("true\nfalse\n", "boolean"),
    ],
)
def test_jsonl_of_plain_values_or_arrays_is_refused_naming_the_first(con, write_bytes, text, kind):
    # They were read as one made-up "json" column, with no word said (QA): a file of
    # records holds objects, as a mix of objects and plain values already had to.
    with pytest.raises(
        InputMalformed, match=rf"line {2 if kind == 'number' else 1}: a JSON {kind} where each line"
    ):
        open_table(con, write_bytes("v.jsonl", text.encode()), all_varchar=True)


@pytest.mark.parametrize("text", ["{}\n{}\n", '{"json": 1}\n{"json": 2}\n', '[{"a": 1}, {"a": 2}]\n'])
def test_jsonl_objects_whatever_their_keys_and_one_array_of_them_are_read(con, write_bytes, text):
    table = open_table(con, write_bytes("v.jsonl", text.encode()), all_varchar=True)
    assert table.rows == 2


def test_a_path_saying_unicode_is_no_encoding_error(con, tmp_path):
    # DuckDB's messages carry the path: "unicode" in a file name made any sniffing failure
    # (here: mixed line endings) an encoding retry, and the file was refused as not cp1252.
    path = tmp_path / "data_unicode.csv"
    path.write_bytes(b"id,name\n" + b"".join(b"%d,n%d\n" % (i, i) for i in range(200)) + b"200,x\r\n")
    assert open_table(con, path, all_varchar=True).rows == 201


def test_bytes_cp1252_leaves_undefined_are_kept_as_latin1(con, write_bytes):
    data = b"id,name\n" + b"".join(b"%d,plain\n" % i for i in range(8_000)) + b"8000,a\x81b\xe9\n"
    open_table(con, write_bytes("u.csv", data), all_varchar=True)
    assert con.execute("SELECT name FROM src WHERE id = '8000'").fetchall() == [("a\x81bé",)]


def test_lines_an_unterminated_quote_swallows_are_reported_and_counted(con, write_bytes):
    # DuckDB rejects everything from an unclosed quote to the next quote (or the end) as one
    # record: 5,000 good rows were lost while the report said "1 row skipped". (Past the
    # sniffer's 20,480-row sample, which would otherwise give up on quoting.)
    rows = ["id,name,city"] + [f"{i},Name {i},City {i}" for i in range(30_000)]
    rows[5] = '4,"Smith, J",X'  # a quoted field early: the sniffer takes '"' quoting
    rows[25_001] = '25000,"Bad name,Town'
    table = open_table(con, write_bytes("late.csv", ("\n".join(rows) + "\n").encode()), all_varchar=True)
    assert table.rows == 25_000
    (said,) = [w["message"] for w in table.warnings if w["code"] == "csv_unterminated_quote"]
    assert (
        "line 25002 opens a quote that is never closed: the record runs over 5,000 lines (to line 30,001)"
        in said
    )
    rows[25_001] = "25000,Name 25000,City 25000"
    rows += [f"{i},Name {i},City {i}" for i in range(30_000, 50_000)]
    rows[21_001] = '21000,"Bad name,Town'  # takes 29,000 of 50,000 lines with it: refused
    with pytest.raises(InputMalformed, match=r"early\.csv: 29,000 of 50,000 rows do not fit"):
        open_table(con, write_bytes("early.csv", ("\n".join(rows) + "\n").encode()), all_varchar=True)
