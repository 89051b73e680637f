"""clean-my-data end to end on small crafted inputs, through :func:`taskq.jobs.execute`."""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from taskq.errors import InvalidParams, TaskCancelled, UnknownColumn
from taskq.jobs import execute
from taskq.jobs.clean_params import STEP_ORDER


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def clean(
    tmp_path: Path, header: list[str], rows: list[list[Any]], params: dict | None = None
) -> tuple[dict, list[dict[str, str]], Path]:
    src = write_csv(tmp_path / "in.csv", header, rows)
    out = tmp_path / "out"
    report = execute("clean", src, out, params or {})
    return report, read_csv(out / "cleaned.csv"), out


def changes(out: Path, step: str, column: str | None = None) -> dict:
    doc = json.loads((out / "changes.json").read_text())
    return next(c for c in doc["changes"] if c["step"] == step and c.get("column") == column)


def test_whitespace_and_nfc(tmp_path: Path) -> None:
    _, rows, out = clean(tmp_path, ["name"], [["  a   b "], ["Cafe\u0301"], ["x\u00a0y"], ["ok"]])
    assert [r["name"] for r in rows] == ["a b", "Caf\u00e9", "x y", "ok"]
    c = changes(out, "whitespace", "name")
    assert (c["changed"], c["unchanged"]) == (3, 1)
    assert {"before": "  a   b ", "after": "a b"} in c["examples"]


def test_a_pandas_export_keeps_its_missing_numbers_as_nulls(tmp_path: Path) -> None:
    # pandas writes NaN (or <NA> for nullable ints) where a value is missing: those rows are
    # not broken numbers to quarantine, and 1 in 10 of them must not keep the column text.
    rows = [[i, "NaN" if i % 10 == 0 else f"{i}.5", "<NA>" if i % 10 == 1 else str(i)] for i in range(40)]
    report, cleaned, out = clean(tmp_path, ["id", "price", "qty"], rows)
    assert report["summary"]["quarantined"] == 0 and report["summary"]["rows_out"] == 40
    assert report["summary"]["converted_columns"] == {"id": "BIGINT", "price": "DOUBLE", "qty": "BIGINT"}
    assert (cleaned[0]["price"], cleaned[1]["qty"]) == ("", "")
    assert changes(out, "placeholders", "price")["nulled"] == 4


def test_profile_counts_every_token_clean_nulls_by_default() -> None:
    from taskq.jobs.clean_params import DEFAULT_PLACEHOLDERS
    from taskq.jobs.profile_stats import PLACEHOLDERS

    assert {t.lower() for t in DEFAULT_PLACEHOLDERS if t} <= set(PLACEHOLDERS)


def test_vertical_tab_nel_and_zero_width_space_are_whitespace(tmp_path: Path) -> None:
    rows = [["Bob\u200b"], ["Bob"], ["a\x0bb"], ["c\x85"]]
    _, cleaned, out = clean(tmp_path, ["name"], rows)
    assert [r["name"] for r in cleaned] == ["Bob", "a b", "c"]  # the second "Bob" is a duplicate now
    assert changes(out, "dedupe")["duplicate_of"] == {"1": 0}


def test_placeholders_default_and_custom(tmp_path: Path) -> None:
    values = [[i, v] for i, v in enumerate(["N/A", "null", "-", "?", "  ", "keep", "missing"])]
    no_dedupe = {"steps": [{"step": "dedupe", "enabled": False}]}
    _, rows, out = clean(tmp_path, ["id", "v"], values, no_dedupe)
    assert [r["v"] for r in rows] == ["", "", "", "", "", "keep", "missing"]
    assert changes(out, "placeholders", "v")["nulled"] == 5  # "  " is trimmed to "", a token
    _, rows, _ = clean(
        tmp_path,
        ["id", "v"],
        values,
        {"steps": [{"step": "placeholders", "tokens": ["missing"]}, {"step": "dedupe", "enabled": False}]},
    )
    assert [r["v"] for r in rows] == ["N/A", "null", "-", "?", "", "keep", ""]


@pytest.mark.parametrize(("good", "converted"), [(47, False), (48, True)])
def test_type_threshold(tmp_path: Path, good: int, converted: bool) -> None:
    rows = [[str(i)] for i in range(good)] + [[f"x{i}"] for i in range(50 - good)]
    report, cleaned, out = clean(tmp_path, ["n"], rows, {"steps": [{"step": "outliers", "enabled": False}]})
    assert ("n" in report["summary"]["converted_columns"]) is converted
    quarantined = read_csv(out / "quarantine.csv")
    if converted:
        assert len(cleaned) == 48
        assert [q["quarantine_row"] for q in quarantined] == ["48", "49"]
        assert {q["quarantine_reason"] for q in quarantined} == {"not a valid integer"}
    else:
        assert len(cleaned) == 50 and quarantined == []
        assert any(r["code"] == "type_below_threshold" for r in report["recommendations"])


@pytest.mark.parametrize("zips", [["02139", "10001", "07030"], ["02139", "94105-1234", "10001"]])
def test_codes_with_leading_zeros_get_no_advice_to_convert(tmp_path: Path, zips: list[str]) -> None:
    # A ZIP column (02139, ZIP+4 values) below the threshold was told "set its type in params
    # to convert it": as integers, 02139 would become 2139.
    rows = [[z] for z in zips * 10] + [["94105-1234"]] * 6 + [["n/a?"]]
    report, cleaned, _ = clean(tmp_path, ["zip"], rows, {})
    assert report["summary"]["converted_columns"] == {}
    assert [r for r in report["recommendations"] if r["code"] == "type_below_threshold"] == []
    assert cleaned[0]["zip"] == "02139"


def test_thousands_separators_per_column(tmp_path: Path) -> None:
    header = ["us", "eu"]
    rows = [["1,234.50", "1.234,50"], ["12", "12,5"], ["1,000", "1.000"], ["-3.25", "7"]]
    report, cleaned, _ = clean(tmp_path, header, rows, {"steps": [{"step": "outliers", "enabled": False}]})
    assert report["summary"]["converted_columns"] == {"us": "DOUBLE", "eu": "DOUBLE"}
    assert [float(r["us"]) for r in cleaned] == [1234.5, 12.0, 1000.0, -3.25]
    assert [float(r["eu"]) for r in cleaned] == [1234.5, 12.5, 1000.0, 7.0]


def test_thousands_grouped_by_spaces(tmp_path: Path) -> None:
    # QA: French and Nordic exports group thousands with (no-break) spaces: 1 234,50 stayed text.
    header = ["fr", "si", "count", "odd"]
    rows = [
        ["1 234,50", "1 234.5", "1 000", "12 34"],
        ["12,5", "0.25", "2\u00a0500", "1"],
        ["1\u202f234\u202f567,00", "7", "12 345", "2"],
        ["-0,5", "-1 000.75", "3", "3"],
    ]
    report, cleaned, out = clean(tmp_path, header, rows, {"steps": [{"step": "outliers", "enabled": False}]})
    assert report["summary"]["converted_columns"] == {"fr": "DOUBLE", "si": "DOUBLE", "count": "BIGINT"}
    assert [float(r["fr"]) for r in cleaned] == [1234.5, 12.5, 1234567.0, -0.5]
    assert [float(r["si"]) for r in cleaned] == [1234.5, 0.25, 7.0, -1000.75]
    assert [r["count"] for r in cleaned] == ["1000", "2500", "12345", "3"]
    assert cleaned[0]["odd"] == "12 34"  # 34 is no thousands group: text, as written


@pytest.mark.parametrize("placeholders", [True, False])
def test_missing_value_words_in_a_typed_column_are_nulled_not_quarantined(
    tmp_path: Path, placeholders: bool
) -> None:
    # QA: profile counted Null, none and TBD in an integer column as placeholders and advised
    # nulling them; clean quarantined and removed their rows as "not a valid integer". With a
    # tenth of such words the column even stayed text.
    words = ["Null", "none", "TBD", "unknown", "Missing", "n.a.", "--", "N/A", "?", "Unknown"]
    rows = [
        [str(i), str(i * 3) if i % 10 else words[i // 10], "Unknown" if i % 7 == 0 else "x"]
        for i in range(100)
    ]
    params = {
        "steps": [{"step": "placeholders", "enabled": placeholders}, {"step": "outliers", "enabled": False}]
    }
    report, cleaned, out = clean(tmp_path, ["id", "qty", "status"], rows, params)
    if not placeholders:  # as asked: no missing-value words at all
        assert "qty" not in report["summary"]["converted_columns"]
        return
    assert report["summary"]["converted_columns"] == {"id": "BIGINT", "qty": "BIGINT"}
    assert report["summary"]["quarantined"] == 0 and len(cleaned) == 100
    assert [r["qty"] for r in cleaned[:11]] == ["", "3", "6", "9", "12", "15", "18", "21", "24", "27", ""]
    types = changes(out, "types", "qty")
    assert (types["nulled"], types["failed"]) == (8, 0)  # N/A and ? went in the placeholders step
    assert {e["before"] for e in types["examples"]} <= set(words)
    assert cleaned[0]["status"] == "Unknown"  # a text column keeps its words


def test_numbers_in_parentheses_are_negative_as_accounting_writes_them(tmp_path: Path) -> None:
    # QA: ($100.00) was "not a valid number" and its row quarantined.
    header = ["usd", "plain", "eur", "count"]
    rows = [
        ["($100.00)", "(1,234.56)", "(1.234,50 €)", "(3)"],
        ["$20.00", "1,000.00", "12,00 €", "4"],
        ["$(3.50)", "(7)", "3,10 €", "5"],
        ["$5", "8.25", "(0,5 €)", "6"],
    ]
    report, cleaned, out = clean(tmp_path, header, rows, {"steps": [{"step": "outliers", "enabled": False}]})
    assert report["summary"]["quarantined"] == 0
    assert [float(r["usd"]) for r in cleaned] == [-100.0, 20.0, -3.5, 5.0]
    assert [float(r["plain"]) for r in cleaned] == [-1234.56, 1000.0, -7.0, 8.25]
    assert [float(r["eur"]) for r in cleaned] == [-1234.5, 12.0, 3.1, -0.5]
    assert [r["count"] for r in cleaned] == ["-3", "4", "5", "6"]
    # A phone's area code in parentheses is no negative number: that column stays text.
    (tmp_path / "p").mkdir()
    _, kept, _ = clean(
        tmp_path / "p", ["phone"], [["(212) 555-0148"], ["(312) 555-0199"], ["(646) 555-0100"]]
    )
    assert kept[0]["phone"] in ("(212) 555-0148", "+12125550148")


@pytest.mark.parametrize(
    ("values", "converted", "expected"),
    [
        # QA round 3: an undecided mark with a value in parentheses crashed the run.
        (["(1.500)", "2"], "DOUBLE", ["-1.5", "2.0"]),
        # Past 64 bits grouped by spaces or in parentheses: text, as the digits alone are
        # (every row was quarantined as "not a valid integer").
        (["12 345 678 901 234 567 890", "12 345 678 901 234 567 891"], None, None),
        (["(12345678901234567890)", "(12345678901234567891)"], None, None),
        # International phones with spaces are phones, not numbers (the + was lost).
        (["+34 612 345 678", "+34 913 456 789", "+44 20 7946 0018"], None, None),
        # Codes with leading zeros in parentheses keep them.
        (["(007)", "(012)", "(123)", "(045)"], None, None),
        # Amounts grouped by spaces.
        (["1 234,50 €", "2 345,00 €", "12,00 €"], "DOUBLE", ["1234.5", "2345.0", "12.0"]),
    ],
)
def test_grouped_and_parenthesised_numbers_edge_cases(
    tmp_path: Path, values: list[str], converted: str | None, expected: list[str] | None
) -> None:
    rows = [[str(i), v] for i, v in enumerate(values)]
    params = {"steps": [{"step": "outliers", "enabled": False}]}
    report, cleaned, _ = clean(tmp_path, ["id", "v"], rows, params)
    assert report["summary"]["converted_columns"].get("v") == converted
    assert report["summary"]["quarantined"] == 0
    assert [r["v"] for r in cleaned] == (expected if expected is not None else values)


@pytest.mark.parametrize("rows", [[["(1.5)"], ["-1.5"], ["2.5"]], [["1 234.5"], ["1234.5"], ["2.5"]]])
def test_one_number_with_and_without_groups_or_parentheses_is_no_merged_warning(tmp_path: Path, rows) -> None:
    # QA round 3: "written in more than one way" for (1.5) and -1.5, 1 234.5 and 1234.5.
    report, _, _ = clean(tmp_path, ["amt"], rows, {"steps": [{"step": "dedupe", "enabled": False}]})
    assert [r for r in report["recommendations"] if r["code"] == "values_merged"] == []


def _mark_notes(report: dict) -> dict[str, str]:
    return {
        r["column"]: r["message"] for r in report["recommendations"] if r["code"] == "decimal_mark_ambiguous"
    }


def test_a_decimal_mark_decided_by_one_value_is_reported(tmp_path: Path) -> None:
    # 59 prices like 1,234 (thousands? three decimals?) and one 12,5: the comma wins, and every
    # other price reads 1000 times smaller. The output keeps the rule; the report says why.
    rows = [[f"{i},234"] for i in range(1, 60)] + [["12,5"]]
    report, cleaned, out = clean(tmp_path, ["price"], rows)
    assert cleaned[0]["price"] == "1.234"
    note = _mark_notes(report)["price"]
    assert (
        "decided by 1 value(s)" in note
        and "'12,5'" in note
        and "59 value(s) such as '1,234' read as 1.234" in note
    )
    assert "decimal for this column to '.'" in note
    decision = json.loads((out / "changes.json").read_text())["decisions"]["price"]["types"]
    assert decision["note"] == note.removeprefix("'price': ")
    # Set as the note says: thousands, and the one typo is quarantined, not read as 125.
    report, cleaned, _ = clean(
        tmp_path, ["price"], rows, {"steps": [{"step": "types", "decimal": {"price": "."}}]}
    )
    assert cleaned[0]["price"] == "1234" and report["summary"]["quarantined"] == 1 and not _mark_notes(report)


@pytest.mark.parametrize(
    ("values", "noted"),
    [
        (["€1.000", "€2.500", "€12.000", "€250.000"], "4 value(s) such as '1.000' read as 1.0"),
        (["1.000", "2.500", "7"], "2 value(s) such as '1.000' read as 1.0"),
        (["1,000", "2,500", "7"], None),  # 1000 and 2500 under the rule: the common reading
        (["1.25", "2.500", "7"], None),  # 1.25 tells: a decimal point
    ],
)
def test_a_point_no_value_decided_is_reported_where_it_may_be_thousands(
    tmp_path: Path, values: list[str], noted: str | None
) -> None:
    # QA: EUR 1.000 read as 1.0 with no word said (the rule when no value tells the mark).
    report, cleaned, _ = clean(tmp_path, ["price"], [[v] for v in values], {})
    note = _mark_notes(report).get("price")
    if noted is None:
        assert note is None
    else:
        assert note is not None and noted in note
        assert "decimal for this column to ','" in note
        assert float(cleaned[0]["price"]) == 1.0


def test_conflicting_decimal_marks_are_reported(tmp_path: Path) -> None:
    rows = [["1,234.5"]] * 10 + [["12,5"]] * 11 + [["2,500"]] * 30
    report, _, _ = clean(tmp_path, ["amount"], rows, {"steps": [{"step": "types", "threshold": 0.5}]})
    assert "against 10 that only '.' reads (such as '1,234.5')" in _mark_notes(report)["amount"]


def test_a_leading_zero_is_never_a_thousands_group(tmp_path: Path) -> None:
    # 0.125 matched the decimal comma's thousands pattern (0 then .125): with four 1,5 values
    # the comma won and 0.125 was written as 125.0 (QA).
    rows = [[f"0.{k:03d}"] for k in range(125, 1000, 9)] + [[f"{k},5"] for k in range(1, 5)]
    report, cleaned, _ = clean(tmp_path, ["w"], rows, {"steps": [{"step": "types", "threshold": 0.9}]})
    assert report["summary"]["converted_columns"] == {"w": "DOUBLE"}
    assert cleaned[0]["w"] == "0.125" and report["summary"]["quarantined"] == 4
    assert _mark_notes(report) == {}


@pytest.mark.parametrize(
    "values",
    [
        ["1,234", "12,000", "7"],  # no evidence: the point is the decimal mark, as documented
        ["12,5", "3,25", "1.234,5", "1,234", "0,75"] * 4,  # plenty of evidence for the comma
        ["1,234.5", "12.5", "1,000"],  # and for the point
        ["102,582", "98,000", "75,250"] * 40 + ["122,921.50"],  # salaries, a few with cents
        [f"0.{k:03d}" for k in range(100, 1000, 7)] + ["1.5"],  # weights: 0.125 is no thousands
        ["12,5", "3,25"],  # nothing that reads both ways
    ],
)
def test_a_well_supported_decimal_mark_has_no_note(tmp_path: Path, values: list[str]) -> None:
    report, _, _ = clean(tmp_path, ["x"], [[v] for v in values])
    assert "x" in report["summary"]["converted_columns"] and _mark_notes(report) == {}


@pytest.mark.parametrize(
    ("values", "types", "written"),
    [
        # Excel, R and JavaScript write 0.5 as .5 (the column stayed text)
        ([".5", "-.25", "+.5", "1.5"], {}, ["0.5", "-0.25", "0.5", "1.5"]),
        (["0.5", ".5", "12", "-3", ".75e1"], {}, ["0.5", "0.5", "12.0", "-3.0", "7.5"]),
        # under a decimal comma: ,5 (the comma decided by 12,5 and 3,25)
        (["12,5", "3,25", ",5", "-,75", "1.234,5"], {}, ["12.5", "3.25", "0.5", "-0.75", "1234.5"]),
        ([",5", "1,5"], {"step": "types", "decimal": {"v": ","}}, ["0.5", "1.5"]),
    ],
)  # fmt: skip
def test_numbers_with_a_bare_decimal_mark_are_numbers(
    tmp_path: Path, values: list[str], types: dict, written: list[str]
) -> None:
    params = {"steps": [*([types] if types else []), {"step": "dedupe", "enabled": False}]}
    report, cleaned, out = clean(tmp_path, ["v"], [[v] for v in values], params)
    assert report["summary"]["converted_columns"] == {"v": "DOUBLE"}
    assert [r["v"] for r in cleaned] == written and report["summary"]["quarantined"] == 0
    assert _mark_notes(report) == {}
    # Replayed from changes.json, the same output.
    steps = json.loads((out / "changes.json").read_text())["steps"]
    execute("clean", tmp_path / "in.csv", tmp_path / "replay", {"steps": steps})
    assert read_csv(tmp_path / "replay" / "cleaned.csv") == cleaned


@pytest.mark.parametrize(
    ("values", "decimal", "converted", "failed"),
    [
        # 1,234 is thousands (no evidence for the comma): a stray ,5 must not make it 1.234
        (["1,234", "2,500", "12,000"] * 10 + [",5", ",25"], ".", "BIGINT", {",5", ",25"}),
        (["1,234", "2,500", "12,000"] * 10 + [",5", ".5"], ".", "DOUBLE", {",5"}),
        # nor does a leading point count against a comma that 12,5 decided (a conflicting-marks note)
        (["12,5", "3,25", "7,75"] * 10 + ["1.234"] * 5 + [".5", "-.5"], ",", "DOUBLE", {".5", "-.5"}),
    ],
)
def test_a_bare_decimal_mark_is_no_evidence_for_the_mark(
    tmp_path: Path, values: list[str], decimal: str, converted: str, failed: set[str]
) -> None:
    params = {"threshold": 0.9, "steps": [{"step": "dedupe", "enabled": False}]}
    report, cleaned, out = clean(tmp_path, ["v"], [[v] for v in values], params)
    decision = json.loads((out / "changes.json").read_text())["decisions"]["v"]["types"]
    assert report["summary"]["converted_columns"] == {"v": converted} and decision["decimal"] == decimal
    assert _mark_notes(report) == {} and "note" not in decision
    assert cleaned[0]["v"] == ("1234" if converted == "BIGINT" else "1234.0" if decimal == "." else "12.5")
    assert {r["quarantine_value"] for r in read_csv(out / "quarantine.csv")} == failed


def test_leading_zero_codes_stay_text(tmp_path: Path) -> None:
    report, cleaned, _ = clean(tmp_path, ["zip"], [["02134"], ["10001"], ["00501"]])
    assert report["summary"]["converted_columns"] == {}
    assert [r["zip"] for r in cleaned] == ["02134", "10001", "00501"]


def test_dates_day_first_detected(tmp_path: Path) -> None:
    header = ["dmy", "mdy", "named"]
    rows = [["03/01/2024", "01/03/2024", "1 Mar 2024"], ["25/12/2023", "12/25/2023", "March 2, 2024"]]
    report, cleaned, out = clean(tmp_path, header, rows)
    assert [r["dmy"] for r in cleaned] == ["2024-01-03", "2023-12-25"]
    assert [r["mdy"] for r in cleaned] == ["2024-01-03", "2023-12-25"]
    assert [r["named"] for r in cleaned] == ["2024-03-01", "2024-03-02"]
    assert changes(out, "types", "dmy")["decision"]["dayfirst"] is True
    assert changes(out, "types", "mdy")["decision"]["dayfirst"] is False
    _, cleaned, _ = clean(tmp_path, ["d"], [["03/01/2024"]], {"columns": {"d": {"dayfirst": True}}})
    assert cleaned[0]["d"] == "2024-01-03"


def test_sept_and_abbreviations_with_a_dot_are_month_names(tmp_path: Path) -> None:
    # strptime's %b knows Sep, not Sept, and no dot: Sept 16, 2024 was quarantined as no date.
    named = ["Jan 5, 2024", "Feb 6, 2024", "Mar 7, 2024", "Oct 13, 2024"] * 6 + ["Sept 16, 2024"]
    ap = ["Jan. 5, 2024", "5 Sept. 2024", "Sept. 30, 2024", "SEPT 1, 2024", "16-Sept-2024", "Mar. 3, 2024",
          "May. 4, 2024", "March 3, 2024", "May 9, 2024", "June 1, 2024", "July 4, 2024", "3 September 2024",
          "Sep 2, 2024", "Aug. 8 2024", "12-Dec.-2024", "Nov 11, 2024", "Oct. 1, 2024", "Feb. 29, 2024",
          "Apr. 1, 2024", "Jun. 2, 2024", "Jul. 3, 2024", "7 Jan. 2024", "Dec. 25, 2024", "Jan 5, 2024",
          "February 2, 2024"]  # fmt: skip
    params = {"steps": [{"step": "dedupe", "enabled": False}]}
    report, cleaned, out = clean(
        tmp_path, ["named", "ap"], [list(r) for r in zip(named, ap, strict=True)], params
    )
    assert report["summary"]["converted_columns"] == {"named": "DATE", "ap": "DATE"}
    assert report["summary"]["quarantined"] == 0 and cleaned[-1]["named"] == "2024-09-16"
    assert [r["ap"] for r in cleaned] == [
        "2024-01-05", "2024-09-05", "2024-09-30", "2024-09-01", "2024-09-16", "2024-03-03",
        "2024-05-04", "2024-03-03", "2024-05-09", "2024-06-01", "2024-07-04", "2024-09-03",
        "2024-09-02", "2024-08-08", "2024-12-12", "2024-11-11", "2024-10-01", "2024-02-29",
        "2024-04-01", "2024-06-02", "2024-07-03", "2024-01-07", "2024-12-25", "2024-01-05",
        "2024-02-02",
    ]  # fmt: skip


def test_month_names_read_are_those_that_look_like_dates() -> None:
    import duckdb

    from taskq.jobs.clean_types import _MAYBE_DATE, decide_type, parse_expr

    # In each month-name format, the detection's pattern matches exactly the month words the
    # parse reads: an abbreviation (with a dot, or Sept) anywhere, a full name but in 05-Mar-2024.
    short = ["Jan", "feb", "MAR", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec"]
    short += [w + "." for w in short]
    full = ["January", "february", "March", "April", "June", "July", "August", "SEPTEMBER", "October",
            "November", "December"]  # fmt: skip
    others = ["June.", "March.", "Septem", "Sepy", "Mayor", "Janet", "Mart", "Ju", "Se"]
    shapes = {"5 {} 2024": True, "{} 5, 2024": True, "{} 5 2024": True, "05-{}-2024": False}
    expected = {
        shape.format(w): w in short or (w in full and any_word)
        for shape, any_word in shapes.items()
        for w in short + full + others
    }
    con = duckdb.connect()
    con.execute("CREATE TABLE m AS SELECT unnest(?) AS v, 1::BIGINT AS n, v AS cur", [list(expected)])
    decision = decide_type(con, "m", threshold=0.95, forced="date")
    sql = f"SELECT cur, regexp_matches(cur, ?), {parse_expr(decision)} IS NOT NULL FROM m"
    got = {value: (looks, parses) for value, looks, parses in con.execute(sql, [_MAYBE_DATE]).fetchall()}
    assert got == {value: (ok, ok) for value, ok in expected.items()}


def test_only_a_column_with_month_names_rewrites_its_values() -> None:
    import duckdb

    from taskq.jobs.clean_types import decide_type, parse_expr

    con = duckdb.connect()
    for values, names in [
        (["2024-01-05", "1/5/2024", "Janet"], False),
        (["2024-01-05", "Jan 5, 2024"], True),
    ]:
        con.execute("CREATE OR REPLACE TABLE m AS SELECT unnest(?) AS v, 1::BIGINT AS n, v AS cur", [values])
        decision = decide_type(con, "m", threshold=0.5)
        assert decision.type == "date" and decision.names is names
        assert ("regexp_replace" in parse_expr(decision)) is names


def test_a_year_of_fewer_than_four_digits_is_no_year(tmp_path: Path) -> None:
    # strptime's %Y reads 1 to 3 digits too: 124-01-15 came out as 0124-01-15, and 1/15/124 as
    # 0124-01-15 in a month-first column. A year the text writes with four digits stays one.
    rows = [[f"2024-01-{i % 28 + 1:02d}", f"1/{i % 28 + 1}/2024"] for i in range(40)]
    rows += [["124-01-15", "1/15/124"], ["0001-01-01", "1/15/0001"]]
    params = {"steps": [{"step": "dedupe", "enabled": False}]}
    report, cleaned, out = clean(tmp_path, ["iso", "mdy"], rows, params)
    assert report["summary"]["converted_columns"] == {"iso": "DATE", "mdy": "DATE"}
    assert (cleaned[-1]["iso"], cleaned[-1]["mdy"]) == ("0001-01-01", "0001-01-15")
    reasons = {
        (r["quarantine_column"], r["quarantine_value"], r["quarantine_reason"])
        for r in read_csv(out / "quarantine.csv")
    }
    assert reasons == {("iso", "124-01-15", "not a valid date"), ("mdy", "1/15/124", "not a valid date")}


def test_numeric_dates_with_a_time_of_day_convert(tmp_path: Path) -> None:
    # Excel and US systems export 1/15/2024 14:30 or 1/15/2024 2:30 PM: such columns stayed text.
    header = ["us", "de", "ampm", "dmy_ampm", "mixed"]
    rows = [
        ["1/15/2024 14:30", "15.01.2024 14:30:05", "1/15/2024 2:30 PM", "13/01/2024 2:30 PM", "1/15/2024"],
        [
            "12/31/2023 09:05",
            "01.02.2024 08:00:00",
            "01/15/2024 02:30:00 PM",
            "01/02/2024 11:00 AM",
            "2/1/2024 10:00",
        ],
        [
            "2/1/2024 0:00",
            "31.12.2023 23:59:59",
            "1/16/2024 9:05:30am",  # no space before am/pm: as some systems write it
            "1/3/2024 9:05:30 pm",
            "3/1/2024 0:00:01",
        ],
    ]
    report, cleaned, out = clean(tmp_path, header, rows)
    assert report["summary"]["converted_columns"] == dict.fromkeys(header, "TIMESTAMP")
    assert report["summary"]["quarantined"] == 0
    assert [r["us"] for r in cleaned] == ["2024-01-15 14:30:00", "2023-12-31 09:05:00", "2024-02-01 00:00:00"]
    assert [r["de"] for r in cleaned] == ["2024-01-15 14:30:05", "2024-02-01 08:00:00", "2023-12-31 23:59:59"]
    assert [r["ampm"] for r in cleaned] == [
        "2024-01-15 14:30:00",
        "2024-01-15 14:30:00",
        "2024-01-16 09:05:30",
    ]
    assert [r["dmy_ampm"] for r in cleaned] == [
        "2024-01-13 14:30:00",
        "2024-02-01 11:00:00",
        "2024-03-01 21:05:30",
    ]
    assert [r["mixed"] for r in cleaned] == [
        "2024-01-15 00:00:00",
        "2024-02-01 10:00:00",
        "2024-03-01 00:00:01",
    ]
    dayfirst = {c: changes(out, "types", c)["decision"]["dayfirst"] for c in header}
    assert dayfirst == {"us": False, "de": True, "ampm": False, "dmy_ampm": True, "mixed": False}


def test_twelve_hour_times_read_12_am_as_midnight_and_12_pm_as_noon(tmp_path: Path) -> None:
    values = {
        "1/15/2024 12:00 AM": "2024-01-15 00:00:00",
        "1/15/2024 12:30 AM": "2024-01-15 00:30:00",
        "1/15/2024 1:00 AM": "2024-01-15 01:00:00",
        "1/15/2024 11:59:59 AM": "2024-01-15 11:59:59",
        "1/15/2024 12:00 PM": "2024-01-15 12:00:00",
        "1/15/2024 12:59 pm": "2024-01-15 12:59:00",
        "1/15/2024 1:00 PM": "2024-01-15 13:00:00",
        "1/15/2024 11:59 PM": "2024-01-15 23:59:00",
    }
    bad = ["1/15/2024 13:30 PM", "1/15/2024 0:30 AM"]  # no 12-hour time: they fail, never guessed
    rows = [[v] for v in [*values, *bad]]
    report, cleaned, out = clean(tmp_path, ["t"], rows, {"threshold": 0.5})
    assert report["summary"]["converted_columns"] == {"t": "TIMESTAMP"}
    assert [r["t"] for r in cleaned] == list(values.values())
    failed = {(r["quarantine_value"], r["quarantine_reason"]) for r in read_csv(out / "quarantine.csv")}
    assert failed == {(v, "not a valid timestamp") for v in bad}


def test_numeric_dates_all_at_midnight_are_dates_and_a_forced_date_fails_a_time(tmp_path: Path) -> None:
    rows = [
        ["1/15/2024 00:00", "1/15/2024 14:30"],
        ["1/16/2024 12:00 AM", "1/16/2024 12:00 AM"],
        ["1/17/2024 00:00:00", "1/17/2024 00:00"],
    ]
    report, cleaned, out = clean(
        tmp_path, ["midnight", "forced"], rows, {"columns": {"forced": {"type": "date"}}}
    )
    assert report["summary"]["converted_columns"] == {"midnight": "DATE", "forced": "DATE"}
    assert [(r["midnight"], r["forced"]) for r in cleaned] == [
        ("2024-01-16", "2024-01-16"),
        ("2024-01-17", "2024-01-17"),
    ]
    failed = {(r["quarantine_value"], r["quarantine_reason"]) for r in read_csv(out / "quarantine.csv")}
    assert failed == {("1/15/2024 14:30", "not a valid date")}


def test_two_digit_years_convert_by_the_century_rule_with_a_finding(tmp_path: Path) -> None:
    # 00-68 are 2000-2068, 69-99 are 1969-1999: strptime's %y in DuckDB and Python alike.
    header = ["us", "de", "dash", "timed", "born"]
    rows = [
        ["1/15/24", "15.01.24", "15-01-24", "1/15/24 14:30", "05/03/52"],
        ["12/31/99", "31.12.69", "01-02-00", "12/31/68 2:30 PM", "11/30/69"],
        ["2/29/00", "29.02.68", "28-02-99", "2/1/00 0:00", "7/4/01"],
    ]
    report, cleaned, out = clean(tmp_path, header, rows)
    assert report["summary"]["converted_columns"] == {
        "us": "DATE",
        "de": "DATE",
        "dash": "DATE",
        "timed": "TIMESTAMP",
        "born": "DATE",
    }
    assert [r["us"] for r in cleaned] == ["2024-01-15", "1999-12-31", "2000-02-29"]
    assert [r["de"] for r in cleaned] == ["2024-01-15", "1969-12-31", "2068-02-29"]
    assert [r["dash"] for r in cleaned] == ["2024-01-15", "2000-02-01", "1999-02-28"]
    assert [r["timed"] for r in cleaned] == [
        "2024-01-15 14:30:00",
        "2068-12-31 14:30:00",
        "2000-02-01 00:00:00",
    ]
    assert [r["born"] for r in cleaned] == ["2052-05-03", "1969-11-30", "2001-07-04"]
    decisions = {c: changes(out, "types", c)["decision"] for c in header}
    assert {c: d["dayfirst"] for c, d in decisions.items()} == {
        "us": False,
        "de": True,
        "dash": True,
        "timed": False,
        "born": False,
    }
    assert {d["two_digit_years"] for d in decisions.values()} == {3}
    findings = {f["column"]: f for f in report["recommendations"] if f["code"] == "two_digit_years"}
    assert set(findings) == set(header) and {f["severity"] for f in findings.values()} == {"info"}
    born = findings["born"]["message"]
    assert "00-68 as 2000-2068, 69-99 as 1969-1999" in born
    assert "from '11/30/69' as 1969-11-30 to '05/03/52' as 2052-05-03" in born
    assert born.removeprefix("'born': ") == decisions["born"]["note"]


def test_four_and_two_digit_years_mix_in_one_column(tmp_path: Path) -> None:
    rows = [["1/15/2024"], ["1/16/24"], ["12/31/1999"], ["2/1/2024 14:30"], ["2/2/24 9:00 AM"]]
    report, cleaned, out = clean(tmp_path, ["d"], rows)
    assert report["summary"]["converted_columns"] == {"d": "TIMESTAMP"}
    assert [r["d"] for r in cleaned] == [
        "2024-01-15 00:00:00",
        "2024-01-16 00:00:00",
        "1999-12-31 00:00:00",
        "2024-02-01 14:30:00",
        "2024-02-02 09:00:00",
    ]
    decision = changes(out, "types", "d")["decision"]
    assert decision["two_digit_years"] == 2
    assert "from '1/16/24' as 2024-01-16 to '2/2/24 9:00 AM' as 2024-02-02" in decision["note"]
    # Four-digit years alone: no finding, and the decision says nothing of two-digit years.
    report, _, out = clean(tmp_path, ["d"], [["1/15/2024"], ["12/31/1999"]])
    assert "two_digit_years" not in changes(out, "types", "d")["decision"]
    assert not [f for f in report["recommendations"] if f["code"] == "two_digit_years"]


@pytest.mark.parametrize(
    "values",
    [
        ["1.2.3", "1.2.10", "2.0.13", "10.4.1", "1.10.12"],  # versions
        ["1.2.10", "1.10.12", "2.1.13", "3.1.15", "1.4.22"],  # each one a date if dots were slashes
        ["1/2", "3/4", "1/3", "2/3", "7/8"],  # fractions
        ["3-1", "2-2", "0-0", "4-10", "1-3"],  # scores
        ["192.168.1.10", "10.0.0.1", "8.8.8.8", "1.1.1.1", "172.16.0.12"],  # IPs
        ["14:30", "2:30 PM", "9:05", "12:00 AM", "23:59:59"],  # times alone
        ["13/13/13", "31/31/24", "00/00/00", "99.99.99", "45-67-89"],  # dates of no calendar
    ],
)
def test_things_that_are_not_dates_stay_text(tmp_path: Path, values: list[str]) -> None:
    report, cleaned, _ = clean(tmp_path, ["v"], [[v] for v in values])
    assert report["summary"]["converted_columns"] == {}
    assert [r["v"] for r in cleaned] == values


def test_ids_shaped_like_two_digit_year_dates_stay_text(tmp_path: Path) -> None:
    # 12-34-56: a few such ids are valid dates (05-11-20), most are not under either order.
    rng = random.Random(7)
    ids = [f"{rng.randint(10, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}" for _ in range(200)]
    report, cleaned, out = clean(tmp_path, ["part"], [[i] for i in ids])
    assert report["summary"]["converted_columns"] == {}
    assert "below 95%" in changes(out, "types", "part")["decision"]["reason"]
    assert [r["part"] for r in cleaned] == list(dict.fromkeys(ids))


@pytest.mark.parametrize(
    ("dates", "odd"),
    [
        # %y reads one digit too: 1/2/3 was 2003-01-02 beside m/d/yy dates (QA)
        ([f"{m}/{d}/24" for m in range(1, 13) for d in (3, 14, 25)], ["1/2/3", "1/15/1"]),
        # with dots and a two-digit year, day and month have two digits: 1.2.10 is a version
        ([f"{d:02}.{m:02}.24" for m in range(1, 13) for d in (3, 14, 25)], ["1.2.10", "1.2.3"]),
    ],
)
def test_a_date_column_quarantines_years_it_cannot_read(
    tmp_path: Path, dates: list[str], odd: list[str]
) -> None:
    params = {"threshold": 0.9, "steps": [{"step": "dedupe", "enabled": False}]}
    report, cleaned, out = clean(tmp_path, ["d"], [[v] for v in dates + odd], params)
    assert report["summary"]["converted_columns"] == {"d": "DATE"}
    assert {r["quarantine_value"] for r in read_csv(out / "quarantine.csv")} == set(odd)
    assert changes(out, "types", "d")["decision"]["two_digit_years"] == len(dates)


def test_dotted_dates_read_day_first_without_evidence(tmp_path: Path) -> None:
    # 01.02.2024 is 1 February where dates are written with dots; month-first was the tie rule.
    report, cleaned, _ = clean(tmp_path, ["d"], [["01.02.2024"], ["03.04.2024"], ["05.06.24"]])
    assert [r["d"] for r in cleaned] == ["2024-02-01", "2024-04-03", "2024-06-05"]
    _, cleaned, _ = clean(tmp_path, ["d"], [["01/02/2024"], ["03/04/2024"]])
    assert [r["d"] for r in cleaned] == ["2024-01-02", "2024-03-04"]  # slashes: month first


def test_two_digit_years_forced_to_date_and_replayed(tmp_path: Path) -> None:
    rows = [
        ["1/15/24", "15.01.24 14:30", "a"],
        ["1/16/24 14:30", "16.01.24 00:00", "b"],
        ["1/17/24 12:00 AM", "oops", "c"],
        ["1/18/2024", "18.01.2024 2:30 PM", "d"],
    ]
    params = {"columns": {"forced": {"type": "date"}}}
    report, first, out = clean(tmp_path, ["forced", "auto", "k"], rows, params)
    assert report["summary"]["converted_columns"] == {"forced": "DATE"}  # auto: 3 in 4 parse
    assert [(r["forced"], r["k"]) for r in first] == [
        ("2024-01-15", "a"),
        ("2024-01-17", "c"),
        ("2024-01-18", "d"),
    ]
    failed = {(r["quarantine_value"], r["quarantine_reason"]) for r in read_csv(out / "quarantine.csv")}
    assert failed == {("1/16/24 14:30", "not a valid date")}
    # The quarantined 1/16/24 14:30 is not counted among the dates read (it was: QA).
    assert changes(out, "types", "forced")["decision"]["two_digit_years"] == 2
    params = {"threshold": 0.75, "columns": {"forced": {"type": "date"}}}
    report, first, out = clean(tmp_path, ["forced", "auto", "k"], rows, params)
    assert report["summary"]["converted_columns"] == {"forced": "DATE", "auto": "TIMESTAMP"}
    assert [r["auto"] for r in first] == ["2024-01-15 14:30:00", "2024-01-18 14:30:00"]
    steps = json.loads((out / "changes.json").read_text())["steps"]
    replay = execute("clean", tmp_path / "in.csv", tmp_path / "replay", {"steps": steps})
    assert read_csv(tmp_path / "replay" / "cleaned.csv") == first
    assert (tmp_path / "replay" / "quarantine.csv").read_text() == (out / "quarantine.csv").read_text()
    again = json.loads((tmp_path / "replay" / "changes.json").read_text())["decisions"]
    assert again == json.loads((out / "changes.json").read_text())["decisions"]
    assert replay["recommendations"] == report["recommendations"]


def test_booleans(tmp_path: Path) -> None:
    params = {"steps": [{"step": "dedupe", "enabled": False}]}
    report, cleaned, _ = clean(tmp_path, ["b"], [["Yes"], ["no"], ["TRUE"], ["f"]], params)
    assert report["summary"]["converted_columns"] == {"b": "BOOLEAN"}
    assert [r["b"] for r in cleaned] == ["true", "false", "true", "false"]


def test_emails_phones_and_case(tmp_path: Path) -> None:
    header = ["email", "phone", "city"]
    rows = [
        ["Ann@Example.COM", "(415) 555-2671", "new york"],
        ["bad-address", "415.555.2672", "PARIS"],
        ["bo@x.org", "12", "rome"],
        ["cy@x.org", "+44 20 7946 0958", "oslo"],
    ]
    report, cleaned, out = clean(tmp_path, header, rows, {"columns": {"city": {"case": "title"}}})
    assert cleaned == [
        {"email": "Ann@example.com", "phone": "+14155552671", "city": "New York"},
        {"email": "cy@x.org", "phone": "+442079460958", "city": "Oslo"},
    ]
    quarantined = read_csv(out / "quarantine.csv")
    assert [(q["quarantine_row"], q["quarantine_column"], q["quarantine_value"]) for q in quarantined] == [
        ("1", "email", "bad-address"),
        ("2", "phone", "12"),
    ]
    assert report["summary"]["quarantined"] == 2


def test_quarantine_off_keeps_rows(tmp_path: Path) -> None:
    rows = [[str(i)] for i in range(20)] + [["oops"]]
    params = {"steps": [{"step": "quarantine", "enabled": False}, {"step": "outliers", "enabled": False}]}
    report, cleaned, out = clean(tmp_path, ["id", "n"], [[i, *r] for i, r in enumerate(rows)], params)
    assert len(cleaned) == 21 and cleaned[-1]["n"] == ""
    quarantined = read_csv(out / "quarantine.csv")
    assert [(q["quarantine_row"], q["quarantine_removed"]) for q in quarantined] == [("20", "false")]
    assert report["summary"]["quarantined"] == 0


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_lines_the_reader_rejects_are_quarantined_with_their_text(tmp_path: Path, newline: str) -> None:
    # Ragged lines are no rows read: they take no row number, but they must not vanish.
    # (QA: in a CRLF file their text began with the line feed of the line before.)
    src = tmp_path / "ragged.csv"
    src.write_bytes("a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n".replace("\n", newline).encode())
    out = tmp_path / "out"
    report = execute("clean", src, out, {})
    assert read_csv(out / "cleaned.csv") == [
        {"a": "1", "b": "2", "c": "3"},
        {"a": "10", "b": "11", "c": "12"},
    ]
    quarantined = read_csv(out / "quarantine.csv")
    assert list(quarantined[0]) == [
        "quarantine_row",
        "quarantine_column",
        "quarantine_reason",
        "quarantine_value",
        "quarantine_removed",
        "a",
        "b",
        "c",
    ]
    assert [tuple(q.values()) for q in quarantined] == [
        ("", "", "line 3: expected 3 fields, found 2", "4,5", "true", "", "", ""),
        ("", "", "line 4: expected 3 fields, found 4", "6,7,8,9", "true", "", "", ""),
    ]
    read = changes(out, "read")
    assert read["lines_removed_total"] == 2
    assert read["lines_removed"] == [
        {"line": 3, "reason": "expected 3 fields, found 2"},
        {"line": 4, "reason": "expected 3 fields, found 4"},
    ]
    doc = json.loads((out / "changes.json").read_text())
    assert doc["changes"][0]["step"] == "read"  # first: the reader set them aside before any step
    summary = report["summary"]
    assert (summary["rows_in"], summary["rows_out"], summary["rejected_lines"]) == (2, 2, 2)
    assert summary["quarantined"] == 0  # rows read and quarantined: none


def test_rejected_lines_follow_the_rule_breaks_and_stay_with_quarantine_off(tmp_path: Path) -> None:
    # A line of six fields is reported by DuckDB once per field too many: it is one line, with six.
    lines = ["id,email", *(f"{i},u{i}@example.com" for i in range(20)), "20,bad", "21", "22,x@y.com,1,2,3,4"]
    src = tmp_path / "in.csv"
    src.write_text("\n".join(lines) + "\n")
    for enabled in (True, False):
        out = tmp_path / f"out-{enabled}"
        params = {
            "steps": [{"step": "quarantine", "enabled": enabled}, {"step": "outliers", "enabled": False}]
        }
        report = execute("clean", src, out, params)
        quarantined = read_csv(out / "quarantine.csv")
        assert [
            (q["quarantine_row"], q["quarantine_column"], q["quarantine_reason"], q["quarantine_value"])
            for q in quarantined
        ][1:] == [
            ("", "", "line 23: expected 2 fields, found 1", "21"),
            ("", "", "line 24: expected 2 fields, found 6", "22,x@y.com,1,2,3,4"),
        ]
        assert (quarantined[0]["quarantine_row"], quarantined[0]["email"]) == ("20", "bad")
        assert quarantined[0]["quarantine_removed"] == str(enabled).lower()
        assert all(q["quarantine_removed"] == "true" for q in quarantined[1:])
        assert report["summary"]["rejected_lines"] == 2 and report["summary"]["rows_in"] == 21
        assert len(read_csv(out / "cleaned.csv")) == (20 if enabled else 21)


def test_no_read_entry_without_rejected_lines(tmp_path: Path) -> None:
    report, _, out = clean(tmp_path, ["a"], [["1"], ["2"]])
    doc = json.loads((out / "changes.json").read_text())
    assert not any(c["step"] == "read" for c in doc["changes"])
    assert report["summary"]["rejected_lines"] == 0


def test_dedupe_on_normalised_values(tmp_path: Path) -> None:
    rows = [["Ann ", "x@a.com"], ["ann", "X@A.COM"], ["Bob", "b@a.com"], ["  ANN", "x@a.com"]]
    report, cleaned, out = clean(tmp_path, ["name", "email"], rows)
    assert [r["name"] for r in cleaned] == ["Ann", "Bob"]
    c = changes(out, "dedupe")
    assert c["rows_removed"] == [1, 3] and c["duplicate_of"] == {"1": 0, "3": 0}
    assert report["summary"]["duplicates_removed"] == 2
    _, cleaned, _ = clean(
        tmp_path, ["name", "email"], rows, {"steps": [{"step": "dedupe", "ignore_case": False}]}
    )
    assert len(cleaned) == 4  # case now counts: no two rows are equal


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("leave", ["1", "", "2", "6"]),
        ("drop", ["1", "2", "6"]),
        ("mean", ["1", "3", "2", "6"]),
        ("median", ["1", "2", "2", "6"]),
        ("mode", ["1", "1", "2", "6"]),
        ({"strategy": "constant", "value": 0}, ["1", "0", "2", "6"]),
        ({"strategy": "constant", "value": "7"}, ["1", "7", "2", "6"]),
    ],
)
def test_null_strategies(tmp_path: Path, rule: Any, expected: list[str]) -> None:
    params = {"steps": [{"step": "nulls", "columns": {"n": rule}}]}
    rows = [["a", "1"], ["b", "N/A"], ["c", "2"], ["d", "6"]]
    _, cleaned, out = clean(tmp_path, ["id", "n"], rows, params)
    assert [r["n"] for r in cleaned] == expected
    if rule == "drop":
        assert changes(out, "nulls", "n")["rows_removed"] == [1]


@pytest.mark.parametrize(
    ("column", "rule", "message"),
    [
        ("n", {"strategy": "constant", "value": 1.5}, "constant 1.5 is not a valid BIGINT"),
        ("n", {"strategy": "constant", "value": "abc"}, "constant 'abc' is not a valid BIGINT"),
        ("t", "mean", "mean needs a number column, and t is VARCHAR (0.0% of non-null values look like"),
        ("d", "median", "median needs a number column, and d is DATE"),
        ("t", {"strategy": "constant", "value": 5}, None),  # 5 is text too: fits
        ("d", {"strategy": "constant", "value": "2024-02-30"}, "constant '2024-02-30' is not a valid DATE"),
        # QA: the cast kept the date and silently dropped the time.
        (
            "d",
            {"strategy": "constant", "value": "2024-01-05 10:00"},
            "constant '2024-01-05 10:00' has a time of day",
        ),
        # No value in this file (an export's empty column): the data decides, no failure.
        ("e", "mean", None),
    ],
)
def test_a_null_strategy_named_for_a_column_it_cannot_fit_fails_the_run(
    tmp_path: Path, column: str, rule: Any, message: str | None
) -> None:
    # QA: a constant of the wrong type, or a mean of text, ran to DONE with the nulls left and
    # a warning among the recommendations; a parameter of the wrong type fails the task.
    rows = [["1", "a", "2024-01-01", ""], ["", "", "", "N/A"], ["3", "b", "2024-01-03", " "]]
    params = {"steps": [{"step": "nulls", "columns": {column: rule}}]}
    if message is None:
        clean(tmp_path, ["n", "t", "d", "e"], rows, params)
        return
    with pytest.raises(InvalidParams, match=re.escape(f"steps nulls, columns {column!r}: {message}")):
        clean(tmp_path, ["n", "t", "d", "e"], rows, params)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_default_null_strategy_skips_the_columns_it_does_not_fit(tmp_path: Path) -> None:
    rows = [["1", "a"], ["", ""], ["3", "b"]]
    report, cleaned, out = clean(
        tmp_path, ["n", "t"], rows, {"steps": [{"step": "nulls", "default": "mean"}]}
    )
    assert [(r["n"], r["t"]) for r in cleaned] == [("1", "a"), ("2", ""), ("3", "b")]
    assert changes(out, "nulls", "t")["skipped"] == "mean needs a numeric column, t is VARCHAR"
    assert any(r["code"] == "null_strategy_skipped" for r in report["recommendations"])


@pytest.mark.parametrize("remove", [False, True])
def test_outliers_flag_or_remove(tmp_path: Path, remove: bool) -> None:
    rows = [[str(v)] for v in (10, 11, 12, 11, 10, 12, 11, 500)]
    rows = [[f"r{i}", *r] for i, r in enumerate(rows)]
    report, cleaned, out = clean(tmp_path, ["id", "n"], rows, {"remove_outliers": remove})
    c = changes(out, "outliers", "n")
    assert c["flagged"] == 1 and c["examples"] == [{"row": 7, "value": 500}]
    assert len(cleaned) == (7 if remove else 8)
    assert c["rows_removed"] == ([7] if remove else [])


@pytest.mark.parametrize(
    ("name", "ids", "skipped"),
    [
        ("customer_id", [*range(1, 12), 900_000], True),  # an identifier: a jump in ids is no outlier
        ("customerId", [*range(1, 12), 900_000], True),
        ("rowid", [*range(1, 12), 900_000], True),  # run together, any case (ROWID, RowID was the only one)
        ("USERID", [*range(1, 12), 900_000], True),
        ("amount", [*range(1, 12), 900_000], False),  # not named like an id: checked
        ("paid", [*range(1, 12), 900_000], False),  # ends in id, is no id
        ("customer_id", [*range(1, 11), 3, 900_000], False),  # a repeated value: not an identifier
    ],
)
def test_outliers_skip_identifier_columns(tmp_path: Path, name: str, ids: list[int], skipped: bool) -> None:
    rows = [[str(v), str(10 + i % 3)] for i, v in enumerate(ids)]
    params = {"steps": [{"step": "dedupe", "enabled": False}]}
    report, cleaned, out = clean(tmp_path, [name, "n"], rows, params)
    c = changes(out, "outliers", name)
    if skipped:
        assert c["flagged"] == 0 and "identifier" in c["skipped"]
    else:
        assert "skipped" not in c and c["flagged"] == 1 and c["examples"] == [{"row": 11, "value": 900_000}]
    assert report["summary"]["steps"]["outliers"].get("flagged", 0) == (0 if skipped else 1)
    # Named in the step's columns, an identifier is checked like any column.
    explicit = {"steps": [*params["steps"], {"step": "outliers", "columns": [name]}]}
    (tmp_path / "explicit").mkdir()
    _, _, out = clean(tmp_path / "explicit", [name, "n"], rows, explicit)
    c = changes(out, "outliers", name)
    assert "skipped" not in c and c["flagged"] == 1


@pytest.mark.parametrize("quarantine", [True, False])
def test_a_broken_value_is_no_duplicate_of_null_or_of_another_broken_value(
    tmp_path: Path, quarantine: bool
) -> None:
    rows = [[f"r{i}", f"{i}.5"] for i in range(60)] + [["z", "oops"], ["z", ""], ["z", "oops"], ["z", "bad"]]
    params = {
        "steps": [{"step": "quarantine", "enabled": quarantine}, {"step": "outliers", "enabled": False}]
    }
    report, cleaned, out = clean(tmp_path, ["name", "x"], rows, params)
    # Only the second "z,oops" repeats an earlier row; "z," and "z,bad" are rows of their own.
    assert changes(out, "dedupe")["duplicate_of"] == {"62": 60}
    kept = [(r["name"], r["x"]) for r in cleaned if r["name"] == "z"]
    assert kept == ([("z", "")] if quarantine else [("z", ""), ("z", ""), ("z", "")])
    summary = report["summary"]
    assert summary["rows_in"] == summary["rows_out"] + summary["quarantined"] + summary["duplicates_removed"]


def test_rows_add_up_and_each_quarantined_row_counts_once(tmp_path: Path) -> None:
    good = [[str(i), f"u{i}@example.com", str(i)] for i in range(3, 40)]
    rows = [["1", "bad", "x"], ["2", "worse", "7"], ["2", "worse", "7"], *good]
    params = {"steps": [{"step": "outliers", "enabled": False}]}
    report, cleaned, out = clean(tmp_path, ["id", "email", "n"], rows, params)
    summary = report["summary"]
    # Row 0 breaks rules in two columns; row 2 repeats row 1, whose e-mail breaks a rule.
    assert (summary["quarantined"], summary["duplicates_removed"]) == (2, 1)
    assert summary["rows_in"] == summary["rows_out"] + 2 + 1
    assert summary["steps"]["quarantine"]["rows_removed_total"] == 2
    assert changes(out, "quarantine", "email")["rows_removed"] == [0, 1]  # not row 2: dedupe removed it


def test_no_quarantine_alert_when_quarantine_is_off(tmp_path: Path) -> None:
    rows = [["bad", ""], *[[f"u{i}@example.com", str(i)] for i in range(24)]]
    params = {
        "steps": [
            {"step": "quarantine", "enabled": False},
            {"step": "nulls", "default": "drop"},
            {"step": "outliers", "enabled": False},
        ]
    }
    report, cleaned, _ = clean(tmp_path, ["email", "x"], rows, params)
    assert len(cleaned) == 24 and report["summary"]["quarantined"] == 0
    assert not any(a.get("code") == "rows_quarantined" for a in report["alerts"])


def test_phone_columns_are_named_by_words_not_letters_inside_words(tmp_path: Path) -> None:
    header = ["cancellation_date", "cell_count", "customer_mobile", "television_serial"]
    rows = [
        [f"2024-03-{i + 1:02d}", str(1_000_000 + 7919 * i), f"(415) 555-{2600 + i}", f"2024-{i:06d}"]
        for i in range(20)
    ]
    report, cleaned, out = clean(tmp_path, header, rows, {"steps": [{"step": "outliers", "enabled": False}]})
    assert report["summary"]["quarantined"] == 0 and len(cleaned) == 20
    decisions = json.loads((out / "changes.json").read_text())["decisions"]
    assert {c: d["kind"] for c, d in decisions.items()} == {
        "cancellation_date": None,
        "cell_count": None,
        "customer_mobile": "phone",
        "television_serial": None,
    }
    assert decisions["cancellation_date"]["type"] == "DATE" and decisions["cell_count"]["type"] == "BIGINT"
    assert cleaned[0]["customer_mobile"] == "+14155552600"


def test_dates_in_a_phone_column_do_not_make_it_phones(tmp_path: Path) -> None:
    rows = [[f"2024-03-{i + 1:02d}"] for i in range(20)]
    report, cleaned, out = clean(tmp_path, ["phone"], rows)
    assert report["summary"]["quarantined"] == 0 and cleaned[0]["phone"] == "2024-03-01"
    assert json.loads((out / "changes.json").read_text())["decisions"]["phone"]["kind"] is None


def test_parquet_columns_keep_the_types_the_file_gives_them(tmp_path: Path) -> None:
    import duckdb

    src = tmp_path / "in.parquet"
    duckdb.connect().execute(
        "COPY (SELECT i::INTEGER AS id, CASE i WHEN 3 THEN 1e-7 WHEN 4 THEN 2.5e16 ELSE i + 0.5 END AS x, "
        "TIMESTAMP '2024-01-01 13:00:00.123' + INTERVAL (i) HOUR AS t, "
        "TIMESTAMPTZ '2024-01-01 10:00:00+00' + INTERVAL (i) HOUR AS tz, (i * 1.25)::DECIMAL(10, 2) AS price, "
        "[i, i + 1] AS pair, {'k': i} AS obj, 'abc'::BLOB AS raw, TIME '10:11:12' AS at, "
        "'  Text ' || i AS name FROM range(40) r(i)) "
        f"TO '{src}' (FORMAT parquet)"
    )
    types = dict(
        duckdb.connect().execute(f"SELECT column_name, column_type FROM (DESCRIBE '{src}')").fetchall()
    )
    out = tmp_path / "out"
    report = execute("clean", src, out, {"steps": [{"step": "outliers", "enabled": False}]})
    assert report["summary"]["quarantined"] == 0
    assert report["summary"]["converted_columns"] == {}
    cleaned = out / "cleaned.parquet"
    con = duckdb.connect()
    assert (
        dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE '{cleaned}')").fetchall()) == types
    )
    same = con.execute(
        f"SELECT count(*) FROM (SELECT * EXCLUDE (name) FROM '{src}' EXCEPT SELECT * EXCLUDE (name) FROM '{cleaned}')"
    ).fetchall()
    assert same == [(0,)]
    assert con.execute(f"SELECT name FROM '{cleaned}' LIMIT 1").fetchall() == [("Text 0",)]  # text is cleaned
    changes = json.loads((out / "changes.json").read_text())
    price = [c for c in changes["changes"] if c["column"] == "price" and c["step"] == "types"]
    assert price[0]["changed"] == 0 and "DECIMAL(10,2) in the file" in price[0]["skipped"]
    assert changes["decisions"]["price"]["type"] == "DECIMAL(10,2)"


def test_settings_for_a_typed_column_are_named_as_ignored(tmp_path: Path) -> None:
    src = _parquet(tmp_path / "t.parquet", "SELECT DATE '2024-01-02' + i::INT AS d FROM range(5) r(i)")
    report = execute("clean", src, tmp_path / "out", {"columns": {"d": {"dayfirst": True, "case": "upper"}}})
    notes = sorted((r["code"], r["message"]) for r in report["recommendations"])
    assert notes == [
        ("case_rule_ignored", "case rule ignored: d is DATE in the file"),
        ("param_ignored", "dayfirst setting ignored: d is DATE in the file"),
    ]


def test_row_steps_work_on_parquet_numbers_of_any_type(tmp_path: Path) -> None:
    import duckdb

    src = tmp_path / "in.parquet"
    duckdb.connect().execute(
        "COPY (SELECT CASE WHEN i % 10 = 0 THEN NULL ELSE (i * 1.5)::DECIMAL(8, 2) END AS price, "
        "CASE WHEN i = 7 THEN 30000 ELSE i END::SMALLINT AS qty FROM range(40) r(i)) "
        f"TO '{src}' (FORMAT parquet)"
    )
    out = tmp_path / "out"
    steps = [{"step": "nulls", "columns": {"price": {"strategy": "median"}}}]
    report = execute("clean", src, out, {"steps": steps})
    changes = json.loads((out / "changes.json").read_text())["changes"]
    nulls = next(c for c in changes if c["step"] == "nulls" and c["column"] == "price")
    assert nulls["changed"] == 4 and float(nulls["fill_value"]) == pytest.approx(30.0, abs=1)
    flagged = next(c for c in changes if c["step"] == "outliers" and c["column"] == "qty")
    assert flagged["flagged"] == 1 and flagged["examples"] == [{"row": 7, "value": 30000}]
    assert report["summary"]["rows_out"] == 40
    got = (
        duckdb.connect()
        .execute(
            f"SELECT typeof(price), count(*) FILTER (WHERE price IS NULL) FROM '{out / 'cleaned.parquet'}' GROUP BY 1"
        )
        .fetchall()
    )
    assert got == [("DECIMAL(8,2)", 0)]


def _parquet(path: Path, select: str) -> Path:
    import duckdb

    duckdb.connect().execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
    return path


def _nulls_entry(out: Path, col: str) -> dict:
    return next(c for c in json.loads((out / "changes.json").read_text())["changes"]
                if c["step"] == "nulls" and c["column"] == col)  # fmt: skip


def test_nan_and_infinities_in_a_typed_column_are_not_outliers_and_break_nothing(tmp_path: Path) -> None:
    src = _parquet(
        tmp_path / "nan.parquet",
        "SELECT * FROM (VALUES (1.0::DOUBLE), (2.0), (3.0), ('nan'::DOUBLE), ('-inf'::DOUBLE), (4.0), (100.0)) v(x)",
    )
    execute("clean", src, tmp_path / "out", {"steps": [{"step": "outliers", "remove": True}]})
    entry = next(c for c in json.loads((tmp_path / "out" / "changes.json").read_text())["changes"]
                 if c["step"] == "outliers")  # fmt: skip
    assert (entry["q1"], entry["q3"], entry["flagged"], entry["non_finite"]) == (2.0, 4.0, 1, 2)
    assert entry["rows_removed"] == [6]


@pytest.mark.parametrize("strategy", ["mean", "median"])
def test_mean_and_median_of_wide_numbers_are_exact(tmp_path: Path, strategy: str) -> None:
    src = _parquet(
        tmp_path / "wide.parquet",
        "SELECT * FROM (VALUES (1, 12345678901234567890.1234567891::DECIMAL(38, 10), 9007199254740993::BIGINT), "
        "(2, 12345678901234567890.1234567893, 9007199254740997), (3, NULL, NULL)) v(id, d, b)",
    )
    out = tmp_path / "out"
    execute("clean", src, out, {"columns": {"d": {"nulls": strategy}, "b": {"nulls": strategy}}})
    assert _nulls_entry(out, "d")["fill_value"] == "12345678901234567890.1234567892"
    assert _nulls_entry(out, "b")["fill_value"] == "9007199254740995"


def test_the_mean_of_38_digit_numbers_is_exact_where_their_sum_has_more(tmp_path: Path) -> None:
    # DuckDB's sum of a DECIMAL(38, 9) stops with an overflow error past 38 digits: the job failed.
    from decimal import ROUND_HALF_UP, Context, Decimal

    values = [f"999999999999999999999999999{i:02d}.12345678{i % 10}" for i in range(40)] + ["-1"]
    rows = [[v] for v in values] + [[""]]
    _, cleaned, out = clean(tmp_path, ["v"], rows, {"columns": {"v": {"nulls": "mean"}}})
    ctx = Context(prec=100)
    total = Decimal(0)
    for v in values:
        total = ctx.add(total, Decimal(v))
    mean = str(ctx.divide(total, len(values)).quantize(Decimal("1e-9"), ROUND_HALF_UP, ctx))
    assert _nulls_entry(out, "v")["fill_value"] == cleaned[-1]["v"] == mean


@pytest.mark.parametrize(
    ("values", "fill"),
    [
        ("(0.10::DECIMAL(5, 2)), (0.15), (NULL)", "0.13"),  # 0.125, half away from zero
        ("(-1::DECIMAL(5, 0)), (-2), (NULL)", "-2"),
        ("(-1::DECIMAL(5, 0)), (-2), (-2), (7), (NULL)", "-2"),  # the lower middle fills the upper place too
        ("(1::DECIMAL(5, 0)), (2), (9), (NULL)", "2"),
        ("(99999999999999999999999999999.123456789::DECIMAL(38, 9)), (99999999999999999999999999999.123456788), "
         "(NULL)", "99999999999999999999999999999.123456789"),
    ],
)  # fmt: skip
def test_the_median_of_decimals_is_the_exact_midpoint_rounded(tmp_path: Path, values: str, fill: str) -> None:
    # DuckDB's quantile_cont of a DECIMAL cuts the midpoint to the column's scale: -1 and -2 gave -1.
    src = _parquet(
        tmp_path / "d.parquet", f"SELECT row_number() OVER () AS id, d FROM (VALUES {values}) v(d)"
    )
    out = tmp_path / "out"
    execute("clean", src, out, {"columns": {"d": {"nulls": "median"}}})
    assert _nulls_entry(out, "d")["fill_value"] == fill


@pytest.mark.parametrize(("value", "fill"), [("0.125", None), ("0.5", "0.50"), ("nan", None), ("inf", None)])
def test_a_constant_fills_only_if_the_column_holds_it_exactly(
    tmp_path: Path, value: str, fill: str | None
) -> None:
    src = _parquet(tmp_path / "d.parquet", "SELECT * FROM (VALUES (1, 0.10::DECIMAL(5, 2), 1.5::DOUBLE), "
                                           "(2, NULL, NULL)) v(id, d, x)")  # fmt: skip
    out = tmp_path / "out"
    rule = {"nulls": "constant", "fill_value": value}
    for col in ("d", "x"):
        # A constant the column cannot hold exactly is a parameter of the wrong type.
        misfit = value in ("nan", "inf") or (col == "d" and fill is None)
        if misfit:
            with pytest.raises(InvalidParams, match=f"columns '{col}': constant '{value}'"):
                execute("clean", src, out, {"columns": {col: rule}})
            continue
        execute("clean", src, out, {"columns": {col: rule}})
        if col == "d":
            assert _nulls_entry(out, "d").get("fill_value") == fill
        assert "skipped" not in _nulls_entry(out, col)


def test_a_boolean_constant_is_written_true_not_pythons_true(tmp_path: Path) -> None:
    src = tmp_path / "d.csv"
    src.write_text("id,t,b\n1,a,yes\n2,,\n3,b,no\n")
    out = tmp_path / "out"
    rule = {"nulls": "constant", "fill_value": True}
    execute("clean", src, out, {"columns": {"t": rule, "b": rule}})
    assert (out / "cleaned.csv").read_text().splitlines()[1:] == ["1,a,true", "2,true,true", "3,b,false"]


def test_xlsx_boolean_cells_among_text_read_as_excel_shows_them(tmp_path: Path) -> None:
    from openpyxl import Workbook, load_workbook

    src = tmp_path / "in.xlsx"
    wb = Workbook()
    ws = wb.active
    for row in (["id", "answer"], [1, True], [2, "maybe"], [3, False]):
        ws.append(row)
    wb.save(src)
    off = {"steps": [{"step": s, "enabled": False} for s in STEP_ORDER]}
    execute("clean", src, tmp_path / "o", off)
    got = load_workbook(tmp_path / "o" / "cleaned.xlsx")
    assert [r[1] for r in got.active.iter_rows(min_row=2, values_only=True)] == ["TRUE", "maybe", "FALSE"]


def test_json_lines_keep_nested_values_and_the_strings_as_written(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    lines = [
        {"id": i, "tags": ["a", "b"][: i % 3], "addr": {"city": "Paris"}, "ts": f"2024-01-0{1 + i % 9}T10:00:00Z",
         "name": f" Ann  {i}"}
        for i in range(30)
    ]  # fmt: skip
    src.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "out"
    execute("clean", src, out, {"steps": [{"step": "types", "enabled": False}]})
    got = [json.loads(line) for line in (out / "cleaned.jsonl").read_text().splitlines()]
    assert got[1] == {
        "id": 1,
        "tags": ["a"],
        "addr": {"city": "Paris"},
        "ts": "2024-01-02T10:00:00Z",
        "name": "Ann 1",
    }
    # The types step reads the strings, not DuckDB's JSON reader: a UTC instant, written in UTC.
    execute("clean", src, tmp_path / "typed", {})
    typed = [json.loads(line) for line in (tmp_path / "typed" / "cleaned.jsonl").read_text().splitlines()]
    assert typed[1] == {**got[1], "ts": "2024-01-02 10:00:00+00"}


def test_json_integers_past_64_bits_are_written_back_exactly(tmp_path: Path) -> None:
    # They were read as DOUBLE: {"id": 123456789012345678901234} came back 1.2345678901234568e+23.
    src = tmp_path / "in.jsonl"
    lines = [
        '{"id":123456789012345678901234,"m":9007199254740993,"x":1.5}',
        '{"id":5,"m":1.5,"x":2.5}',
        '{"id":18446744073709551616,"m":2,"x":3.5}',
    ]
    src.write_text("\n".join(lines) + "\n")
    report = execute("clean", src, tmp_path / "out", {})
    assert (tmp_path / "out" / "cleaned.jsonl").read_text().splitlines() == lines
    assert [a["code"] for a in report["alerts"]] == ["json_wide_numbers"]


def test_json_fractions_a_double_would_change_are_written_back_exactly(tmp_path: Path) -> None:
    # They were read as DOUBLE: 1234567890.123456789 came back 1234567890.1234567, 1e400 as null.
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"x": 1234567890.123456789, "y": 0.1, "z": 0.1, "s": "1234567890.123456789"}\n'
        '{"x": 2.5, "y": 0.30000000000000004, "z": 0.30000000000000004, "s": "a"}\n'
        '{"x": 3, "y": 1e400, "z": 3, "s": "b"}\n'
    )
    report = execute("clean", src, tmp_path / "out", {})
    assert (tmp_path / "out" / "cleaned.jsonl").read_text().splitlines() == [
        '{"x":1234567890.123456789,"y":0.1,"z":0.1,"s":"1234567890.123456789"}',
        '{"x":2.500000000,"y":0.30000000000000004,"z":0.30000000000000004,"s":"a"}',
        '{"x":3.000000000,"y":1e400,"z":3.0,"s":"b"}',  # z: every value a DOUBLE's, as before
    ]
    alerts = {a["column"]: a for a in report["alerts"]}
    assert sorted(alerts) == ["x", "y"]
    assert alerts["x"]["code"] == alerts["y"]["code"] == "json_wide_numbers"
    assert (alerts["x"]["severity"], alerts["y"]["severity"]) == ("info", "warning")
    assert "DECIMAL(19,9)" in alerts["x"]["message"]


def test_json_objects_and_lists_are_written_back_as_they_were(tmp_path: Path) -> None:
    # DuckDB would read these as structs (every object gaining the others' keys as null,
    # dates inside rewritten as UTC timestamps) and a list of dates as text.
    lines = [
        {"id": 1, "ev": {"at": "2024-01-01T10:00:00+02:00"}, "days": ["2024-01-01"], "o": {"a": 1}},
        {"id": 2, "ev": None, "days": [], "o": {"b": "x"}},
        {
            "id": 3,
            "ev": {"at": "2024-01-02T10:00:00+02:00"},
            "days": ["2024-01-03"],
            "o": {"a": 1, "b": None},
        },
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "out"
    report = execute("clean", src, out, {})
    assert [json.loads(line) for line in (out / "cleaned.jsonl").read_text().splitlines()] == lines
    assert report["summary"]["duplicates_removed"] == 0


@pytest.mark.parametrize(
    ("values", "kept"),
    [(["007", "12", "345"], "leading zeros"), (["99999999999999999999", "12", "345"], "more than 64 bits")],
)
def test_codes_and_long_ids_stay_text_and_say_why(tmp_path: Path, values: list[str], kept: str) -> None:
    report, cleaned, out = clean(tmp_path, ["code"], [[v] for v in values * 10])
    decision = json.loads((out / "changes.json").read_text())["decisions"]["code"]
    assert decision["type"] == "VARCHAR" and kept in decision["types"]["reason"]
    assert report["summary"]["quarantined"] == 0 and cleaned[0]["code"] == values[0]


def test_type_shares_count_rows_not_distinct_values() -> None:
    import duckdb

    from taskq.jobs.clean_types import decide_type

    # Half the rows hold one integer, the other half 60,000 distinct words: 50% of rows parse,
    # one distinct value in 60,001. (A sample of distinct values once called this "no candidate".)
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE m AS SELECT '7' AS v, 60000::BIGINT AS n UNION ALL "
        "SELECT 'w' || i, 1 FROM range(60000) r(i)"
    )
    con.execute("ALTER TABLE m ADD COLUMN cur VARCHAR")
    con.execute("UPDATE m SET cur = v")
    assert decide_type(con, "m", threshold=0.5).type == "integer"
    text = decide_type(con, "m", threshold=0.6)
    assert text.type == "text" and text.reason.startswith("50.0% of non-null values look like")


@pytest.mark.parametrize("dedupe", [True, False])
def test_an_input_column_named_keep_loses_no_row(tmp_path: Path, dedupe: bool) -> None:
    # clean's own table has a __keep flag: the input column once took its place (a crash or lost rows).
    rows = [["1", "x"], ["2", "yes"], ["3", "no"], ["4", "yes"]]
    params = {"steps": [{"step": "dedupe", "enabled": dedupe}]}
    report, cleaned, _ = clean(tmp_path, ["a", "__keep"], rows, params)
    assert [r["a"] for r in cleaned] == ["1", "2", "3", "4"] and list(cleaned[0]) == ["a", "__keep_input"]
    assert any(a["code"] == "column_renamed" and a["column"] == "__keep" for a in report["alerts"])


def test_a_0_1_column_forced_to_boolean_parses(tmp_path: Path) -> None:
    rows = [["1", "1"], ["2", "0"], ["3", "1"], ["4", "yes"]]
    params = {"columns": {"active": {"type": "boolean"}}, "steps": [{"step": "outliers", "enabled": False}]}
    report, cleaned, out = clean(tmp_path, ["id", "active"], rows, params)
    assert [r["active"] for r in cleaned] == ["true", "false", "true", "true"]
    assert report["summary"]["quarantined"] == 0
    assert json.loads((out / "changes.json").read_text())["decisions"]["active"]["types"]["share"] == 1.0
    # Unforced, 0/1 stay integers.
    (tmp_path / "auto").mkdir()
    _, cleaned, _ = clean(tmp_path / "auto", ["id", "active"], rows[:3])
    assert [r["active"] for r in cleaned] == ["1", "0", "1"]


def test_a_text_column_named_for_outliers_says_it_was_not_checked(tmp_path: Path) -> None:
    rows = [[f"r{i}", str(v)] for i, v in enumerate((10, 11, 12, 11, 10, 12, 11, 500))]
    params = {"steps": [{"step": "outliers", "columns": ["name", "n"]}]}
    _, _, out = clean(tmp_path, ["name", "n"], rows, params)
    assert changes(out, "outliers", "name")["skipped"] == "name is VARCHAR, not a number: no outlier check"
    assert changes(out, "outliers", "n")["flagged"] == 1


def test_rename_columns(tmp_path: Path) -> None:
    _, cleaned, _ = clean(tmp_path, ["First Name", "first-name"], [["a", "b"]], {"steps": ["rename_columns"]})
    assert list(cleaned[0]) == ["first_name", "first_name_2"]


def test_unknown_column_names_available_columns(tmp_path: Path) -> None:
    with pytest.raises(UnknownColumn) as info:
        clean(tmp_path, ["a", "b"], [["1", "2"]], {"columns": {"zz": {"case": "upper"}}})
    assert "'zz'" in info.value.message and "a, b" in info.value.message
    assert not (tmp_path / "out").exists()


def test_replay_from_changes_reproduces_output(tmp_path: Path) -> None:
    rows = [["1,5", " x ", "03/01/2024"], ["2,25", "N/A", "13/02/2024"], ["oops", "y", "01/01/2024"]] * 3
    params = {"threshold": 0.5, "columns": {"b": {"case": "upper", "nulls": "mode"}}}
    _, first, out = clean(tmp_path, ["a", "b", "c"], rows, params)
    steps = json.loads((out / "changes.json").read_text())["steps"]
    report = execute("clean", tmp_path / "in.csv", tmp_path / "replay", {"steps": steps})
    assert read_csv(tmp_path / "replay" / "cleaned.csv") == first
    assert (tmp_path / "replay" / "quarantine.csv").read_text() == (out / "quarantine.csv").read_text()
    assert report["params"]["steps"] == steps


def _frame(path: Path) -> list[tuple]:
    con = duckdb.connect()
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        ws = load_workbook(path, read_only=True).active
        rows = ws.iter_rows(min_row=2, max_col=3, values_only=True)
        return [tuple(str(v) for v in (*row, None, None)[:3]) for row in rows]
    reader = {".parquet": "read_parquet", ".jsonl": "read_json_auto"}.get(path.suffix, "read_csv")
    return [tuple(str(v) for v in r) for r in con.execute(f"SELECT * FROM {reader}('{path}')").fetchall()]


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet", "xlsx", "jsonl"])
def test_output_formats_round_trip(tmp_path: Path, fmt: str) -> None:
    con = duckdb.connect()
    src = tmp_path / f"in.{fmt}"
    con.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES (' Ann ', '1,000', 'N/A'), ('Bob', '25', 'x'), "
        "('Cy', '3', 'y')) v(name, amount, note)"
    )
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        for row in [("name", "amount", "note"), *con.execute("SELECT * FROM t").fetchall()]:
            ws.append(row)
        wb.save(src)
    else:
        opts = {
            "csv": "HEADER",
            "tsv": "HEADER, DELIMITER '\t'",
            "parquet": "FORMAT parquet",
            "jsonl": "FORMAT json",
        }
        con.execute(f"COPY t TO '{src}' ({opts[fmt]})")
    report = execute("clean", src, tmp_path / "out", {"steps": [{"step": "outliers", "enabled": False}]})
    out = tmp_path / "out" / f"cleaned.{fmt}"
    assert out.exists() and f"cleaned.{fmt}" in report["outputs"]
    assert _frame(out) == [("Ann", "1000", "None"), ("Bob", "25", "x"), ("Cy", "3", "y")]


def test_a_number_too_large_for_a_double_is_a_parse_failure_not_infinity(tmp_path: Path) -> None:
    rows = [[v] for v in ["1.5", "2", "1e309", "-1e400", "3"]]
    _, cleaned, out = clean(tmp_path, ["x"], rows, {"steps": [{"step": "types", "threshold": 0.5}]})
    assert [r["x"] for r in cleaned] == ["1.5", "2.0", "3.0"]
    assert changes(out, "types", "x")["failed"] == 2
    assert "inf" not in (out / "cleaned.csv").read_text()


@pytest.mark.parametrize("huge", ["1e309", "-1e400", "1" + "0" * 400])
def test_a_number_past_a_double_does_not_count_for_a_number_column(tmp_path: Path, huge: str) -> None:
    # 1e309 counted as a number (100% parse), then failed its parse and its row was quarantined.
    rows = [["1", huge], ["2", "1.5"], ["3", "2"], ["4", "3"]]
    report, cleaned, out = clean(tmp_path, ["id", "val"], rows)
    decision = json.loads((out / "changes.json").read_text())["decisions"]["val"]
    assert decision["type"] == "VARCHAR" and decision["types"]["share"] == 0.75
    assert [r["val"] for r in cleaned] == [huge, "1.5", "2", "3"] and report["summary"]["quarantined"] == 0
    # Forced, or among enough numbers (DOUBLE or DECIMAL), the share counts the values that parse.
    many = [[str(i), f"{i}.5"] for i in range(5, 44)]
    wide = [["44", "12345678901234567"]]  # a DOUBLE would round it: DECIMAL(18,1)
    for extra, params, sql_type, share in [
        ([], {"columns": {"val": {"type": "number"}}}, "DOUBLE", 0.75),
        (many, {}, "DOUBLE", round(42 / 43, 6)),
        (many + wide, {}, "DECIMAL(18,1)", round(43 / 44, 6)),
        (many + wide, {"columns": {"val": {"type": "number"}}}, "DECIMAL(18,1)", round(43 / 44, 6)),
    ]:
        report, cleaned, out = clean(tmp_path, ["id", "val"], rows + extra, params)
        decision = json.loads((out / "changes.json").read_text())["decisions"]["val"]
        assert (decision["type"], decision["types"]["share"]) == (sql_type, share)
        quarantined = read_csv(out / "quarantine.csv")
        assert [(r["quarantine_value"], r["quarantine_reason"]) for r in quarantined] == [
            (huge, "not a valid number")
        ]
        assert len(cleaned) == len(rows + extra) - 1


def test_numbers_with_more_digits_than_a_double_holds_come_back_exactly(tmp_path: Path) -> None:
    # 1234567890.123456789 was decided "number", cast to DOUBLE and written 1234567890.1234567.
    rows = [
        [
            str(i),
            f"{1234567890 + i}.123456789",
            f"0.1234567890123456{i:02d}",
            f"{i}.25",
            str(1234567890123456789 + i),
        ]
        for i in range(50)
    ]
    header = ["id", "amount", "ratio", "plain", "big"]
    report, cleaned, out = clean(tmp_path, header, rows)
    assert report["summary"]["converted_columns"] == {
        "id": "BIGINT",
        "amount": "DECIMAL(19,9)",
        "ratio": "DECIMAL(19,18)",  # a digit before the point: DuckDB writes DECIMAL(18,18) as .12...
        "plain": "DOUBLE",
        "big": "BIGINT",
    }
    assert [[r[c] for c in ("amount", "ratio", "big")] for r in cleaned] == [[r[1], r[2], r[4]] for r in rows]
    assert cleaned[3]["plain"] == "3.25"
    decision = json.loads((out / "changes.json").read_text())["decisions"]["amount"]["types"]
    assert (decision["type"], decision["precision"], decision["scale"]) == ("number", 19, 9)
    assert "50 row(s) have more significant digits than a DOUBLE holds" in decision["reason"]
    assert changes(out, "types", "amount")["failed"] == 0 and report["summary"]["quarantined"] == 0


@pytest.mark.parametrize(
    ("values", "sql_type", "written"),
    [
        # a DOUBLE written out (pandas): its shortest form, which the DOUBLE holds
        (["0.30000000000000004", "1.5", "2"], "DOUBLE", ["0.30000000000000004", "1.5", "2.0"]),
        (["1,234,567,890.123456789", "-2.5", "3"], "DECIMAL(19,9)",
         ["1234567890.123456789", "-2.500000000", "3.000000000"]),
        (["1.234.567.890,123456789", "-2,5", "3"], "DECIMAL(19,9)",
         ["1234567890.123456789", "-2.500000000", "3.000000000"]),
        # integers past 2**53 among fractions; exponents, written out exactly
        (["12345678901234567", "9223372036854775807", "1.5"], "DECIMAL(20,1)",
         ["12345678901234567.0", "9223372036854775807.0", "1.5"]),
        (["1.234567890123456789e5", "1.25e-1", "-3E+2"], "DECIMAL(19,13)",
         ["123456.7890123456789", "0.1250000000000", "-300.0000000000000"]),
        # a leading mark: .5 has one significant digit and scale 1
        ([".123456789012345678", "5", "-.5"], "DECIMAL(19,18)",
         ["0.123456789012345678", "5.000000000000000000", "-0.500000000000000000"]),
        ([",123456789012345678", "5", "1,5"], "DECIMAL(19,18)",
         ["0.123456789012345678", "5.000000000000000000", "1.500000000000000000"]),
        (["12345678901234567", ".5", "-2"], "DECIMAL(18,1)", ["12345678901234567.0", "0.5", "-2.0"]),
    ],
)  # fmt: skip
def test_a_number_column_is_the_type_that_holds_every_value(
    tmp_path: Path, values: list[str], sql_type: str, written: list[str]
) -> None:
    report, cleaned, _ = clean(tmp_path, ["v"], [[v] for v in values * 10])
    assert report["summary"]["converted_columns"] == {"v": sql_type}
    assert [r["v"] for r in cleaned[:3]] == written and report["summary"]["quarantined"] == 0


def test_integers_of_up_to_64_bits_stay_exact(tmp_path: Path) -> None:
    values = ["12345678901234567", "9223372036854775807", "-9223372036854775808", "9007199254740993"]
    report, cleaned, _ = clean(tmp_path, ["v"], [[v] for v in values])
    assert report["summary"]["converted_columns"] == {"v": "BIGINT"}
    assert [r["v"] for r in cleaned] == values


def test_numbers_no_decimal_holds_stay_text_or_fail_when_forced(tmp_path: Path) -> None:
    wide = "1234567890123456789012345678901234567890.5"  # 41 digits: no DECIMAL holds it
    rows = [[wide], ["1e-400"], *([f"{i}.5"] for i in range(20))]
    report, cleaned, out = clean(tmp_path, ["v"], rows)
    decision = json.loads((out / "changes.json").read_text())["decisions"]["v"]
    assert decision["type"] == "VARCHAR" and "no DECIMAL holds every value" in decision["types"]["reason"]
    assert [r["v"] for r in cleaned[:2]] == [wide, "1e-400"]  # 1e-400 was a DOUBLE 0.0
    report, cleaned, out = clean(tmp_path, ["v"], rows, {"columns": {"v": {"type": "number"}}})
    assert report["summary"]["converted_columns"] == {"v": "DOUBLE"}
    assert [r["v"] for r in cleaned[:2]] == ["0.5", "1.5"]
    # The share counts the rows that parse: the two that fail are not in it.
    decision = json.loads((out / "changes.json").read_text())["decisions"]["v"]
    assert decision["types"]["share"] == round(20 / 22, 6)
    assert {(r["quarantine_value"], r["quarantine_reason"]) for r in read_csv(out / "quarantine.csv")} == {
        (wide, "number with more significant digits than a DOUBLE holds"),
        ("1e-400", "number with more significant digits than a DOUBLE holds"),
    }
    # Forced to number, integers past 64 bits are a DECIMAL (detected, they stay text: long ids).
    report, cleaned, _ = clean(
        tmp_path, ["v"], [["123456789012345678901234"], ["5"]], {"columns": {"v": {"type": "number"}}}
    )
    assert report["summary"]["converted_columns"] == {"v": "DECIMAL(24,0)"}
    assert [r["v"] for r in cleaned] == ["123456789012345678901234", "5"]


@pytest.mark.parametrize(
    ("rule", "fill"),
    [
        ({"nulls": "mean"}, "5.623456789012345678"),
        ({"nulls": "median"}, "5.623456789012345678"),
        ({"nulls": "mode"}, "1.123456789012345678"),
        ({"nulls": "constant", "fill_value": "0.5"}, "0.500000000000000000"),
    ],
)
def test_null_fills_of_a_decimal_column_are_exact(tmp_path: Path, rule: dict[str, Any], fill: str) -> None:
    rows = [[f"{i}.123456789012345678"] for i in range(1, 11)] + [[""]]
    _, cleaned, out = clean(tmp_path, ["v"], rows, {"columns": {"v": rule}})
    entry = next(c for c in json.loads((out / "changes.json").read_text())["changes"] if c["step"] == "nulls")
    assert entry["fill_value"] == fill and cleaned[-1]["v"] == fill
    assert [r["v"] for r in cleaned[:10]] == [r[0] for r in rows[:10]]


def _outliers_of(tmp_path: Path, values: list[str]) -> tuple[str, dict[str, Any]]:
    """The decided type of column x holding ``values``, and its outliers entry."""
    _, _, out = clean(tmp_path, ["x"], [[v] for v in values])
    doc = json.loads((out / "changes.json").read_text())
    return doc["decisions"]["x"]["type"], next(c for c in doc["changes"] if c["step"] == "outliers")


def test_outlier_fences_of_a_decimal_column_come_from_uncut_quartiles(tmp_path: Path) -> None:
    # quantile_cont of a DECIMAL(18,1) cut Q1 10.225 to 10.2 and Q3 10.675 to 10.6: the upper
    # fence fell from 11.35 to 11.2 and 11.3, inside the fences, was flagged (QA).
    values = [f"10.{i}" for i in range(8)] + ["11.3", "12345678901234567.5"]
    sql_type, entry = _outliers_of(tmp_path, values)
    assert sql_type == "DECIMAL(18,1)"
    assert entry["flagged"] == 1 and [e["row"] for e in entry["examples"]] == [9]
    assert entry["lower_fence"] == pytest.approx(9.55) and entry["upper_fence"] == pytest.approx(11.35)


def test_outliers_of_a_38_digit_decimal_column_are_flagged_not_a_crash(tmp_path: Path) -> None:
    # The fences went into the SQL as plain literals: DuckDB read -0.25000000000000006 as a
    # DECIMAL(17, 17) and cast the DECIMAL(38, 2) column to that scale, which failed (QA).
    values = [f"0.{i}0" for i in range(1, 8)] + ["999999999999999999999999999999999999.99"]
    sql_type, entry = _outliers_of(tmp_path, values)
    assert sql_type == "DECIMAL(38,2)"
    assert entry["flagged"] == 1 and [e["row"] for e in entry["examples"]] == [7]


def test_outlier_fences_of_a_decimal_finer_than_a_double_are_exact(tmp_path: Path) -> None:
    # 100000000000000.001 ... .008: as DOUBLEs the quartiles were both 1e14, and every value
    # (or, compared as DOUBLEs, the one that rounds up) fell outside fences of width 0 (QA).
    values = [f"100000000000000.00{i}" for i in range(1, 9)] + ["100000000000000.100"]
    sql_type, entry = _outliers_of(tmp_path, values)
    assert sql_type == "DECIMAL(18,3)"
    assert entry["flagged"] == 1 and [e["row"] for e in entry["examples"]] == [8]  # .100 alone
    # A fence past the type's range (here above 10**17) bounds nothing, and does not fail.
    values = [
        "99999999999999999.5",
        "-99999999999999999.5",
        "0.5",
        "1.5",
        "2.5",
        "-3.5",
        "99999999999999998.5",
    ]
    (tmp_path / "range").mkdir()
    _, entry = _outliers_of(tmp_path / "range", values)
    assert entry["flagged"] == 1 and [e["row"] for e in entry["examples"]] == [1]


def test_the_median_fill_of_38_digit_json_integers_is_exact(tmp_path: Path) -> None:
    # The midpoint went through DECIMAL(38, 1), which holds 37 whole digits: the job failed.
    src = tmp_path / "in.jsonl"
    big = 10**37
    src.write_text(f'{{"k":0,"h":{big}}}\n{{"k":1,"h":{big + 7}}}\n{{"k":2,"h":null}}\n')
    execute("clean", src, tmp_path / "out", {"columns": {"h": {"nulls": "median"}}})
    lines = (tmp_path / "out" / "cleaned.jsonl").read_text().splitlines()
    assert lines[2] == f'{{"k":2,"h":{big + 4}}}'  # 10**37 + 3.5, half away from zero


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "xlsx"])
def test_decimal_columns_are_written_exactly_and_replay(tmp_path: Path, fmt: str) -> None:
    values = [f"{1234567890 + i}.123456789" for i in range(20)] + ["1234567899.5", None, "oops", "1e400"]
    src = tmp_path / f"in.{fmt}"
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.append(["id", "amount"])
        for i, v in enumerate(values):
            ws.append([i, v])
        wb.save(src)
    elif fmt == "jsonl":
        src.write_text("".join(json.dumps({"id": i, "amount": v}) + "\n" for i, v in enumerate(values)))
    else:
        query = "SELECT unnest(range(24)) AS id, unnest(?) AS amount"
        duckdb.connect().execute(f"COPY ({query}) TO '{src}' (FORMAT parquet)", [values])
    # 21 of 23 values are numbers: 1e400, past a DOUBLE's range, is none (91%, below the default 95%).
    params = {"steps": [{"step": "types", "threshold": 0.9}, {"step": "outliers", "remove": True}]}
    report = execute("clean", src, tmp_path / "out", params)
    assert report["summary"]["converted_columns"] == {"amount": "DECIMAL(19,9)"}
    assert report["summary"]["quarantined"] == 2  # oops, and 1e400 (no DOUBLE either)
    out = tmp_path / "out" / f"cleaned.{fmt}"
    if fmt == "xlsx":
        from openpyxl import load_workbook

        got = [str(r[1]) for r in load_workbook(out).active.iter_rows(min_row=2, values_only=True)]
    elif fmt == "jsonl":
        got = [str(json.loads(line, parse_float=str)["amount"]) for line in out.read_text().splitlines()]
    else:
        got = [str(r[0]) for r in duckdb.connect().execute(f"SELECT amount FROM '{out}'").fetchall()]
    assert got[:22] == [*values[:20], "1234567899.500000000", "None"]
    steps = json.loads((tmp_path / "out" / "changes.json").read_text())["steps"]
    execute("clean", src, tmp_path / "replay", {"steps": steps})
    assert _frame(tmp_path / "replay" / f"cleaned.{fmt}") == _frame(out)


def test_number_shapes_are_what_python_decimals_say() -> None:
    from decimal import Decimal

    from taskq.jobs._numbers import number_shape, plain_number

    values = ["0", "-0.000", "007", "100", "1.50", "0.000123", "1.5e3", "-12.340e-5", "1E+21", "2e-3",
              "1234567890.123456789", "9.9e-400", "000.0001e4", ".5", "-.25", "+.5", "5.", "-5.e2"]  # fmt: skip
    rows = (
        duckdb.connect()
        .execute(f"SELECT x, {number_shape('x')}, {plain_number('x')} FROM (SELECT unnest(?) AS x)", [values])
        .fetchall()
    )
    for x, shape, plain in rows:
        sign, digits, exp = Decimal(x).normalize().as_tuple()
        s = "".join(map(str, digits)).strip("0")
        assert shape == {"s": s, "p": len(digits) + int(exp) if s else 0}, x
        assert Decimal(plain) == Decimal(x) and "e" not in plain.lower(), x


def test_xlsx_cell_types_come_back_as_cell_types(tmp_path: Path) -> None:
    # The sheet was read through CSV as text: every number, date and boolean came back a text cell.
    import datetime as dt

    from openpyxl import Workbook, load_workbook

    src = tmp_path / "in.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["n", "x", "when", "at", "ok", "code", "mixed"])
    ws.append([1, 1.5, dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 2, 10, 30), True, "007", 10.5])
    ws.append([2, -0.25, dt.datetime(1999, 12, 31), dt.datetime(2024, 1, 3), False, "042", "call us"])
    wb.save(src)
    off = {"steps": [{"step": s, "enabled": False} for s in STEP_ORDER]}
    for params, out in ((off, tmp_path / "off"), ({}, tmp_path / "default")):
        execute("clean", src, out, params)
        rows = list(load_workbook(out / "cleaned.xlsx").active.iter_rows(min_row=2, values_only=True))
        assert rows[0][:6] == (1, 1.5, dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 2, 10, 30), True, "007")
        assert rows[1][:6] == (2, -0.25, dt.datetime(1999, 12, 31), dt.datetime(2024, 1, 3), False, "042")
        assert [r[6] for r in rows] == ["10.5", "call us"]  # text and numbers mixed: a text column


def test_xlsx_long_integers_come_back_as_text_cells_with_every_digit(tmp_path: Path) -> None:
    # Text cells of 18-digit ids became BIGINT, written as number cells: Excel keeps 15 digits,
    # and five ids a few apart all read back as 1.234567890123457e+17.
    from openpyxl import Workbook, load_workbook

    src = tmp_path / "in.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["ref", "card", "small"])
    refs = [str(123456789012345678 + i) for i in range(5)] + ["-999999999999999"]
    for i, ref in enumerate(refs):
        ws.append([ref, str(4111111111111111 + 2 * i), str(999999999999999 - i)])
    wb.save(src)
    execute("clean", src, tmp_path / "o", {})
    got = list(load_workbook(tmp_path / "o" / "cleaned.xlsx").active.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in got] == refs[:5] + [-999999999999999]
    assert [r[1] for r in got] == [str(4111111111111111 + 2 * i) for i in range(6)]
    assert [r[2] for r in got] == [999999999999999 - i for i in range(6)]  # 15 digits: still numbers


def test_xlsx_formulas_nobody_calculated_are_an_alert_and_written_back_empty(tmp_path: Path) -> None:
    # They read as empty: the report said nothing, and cleaned.xlsx had empty cells where they were.
    from openpyxl import Workbook, load_workbook

    src = tmp_path / "in.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["qty", "total"])
    for i in range(2, 5):
        ws.append([i, f"=A{i}*2"])
    wb.save(src)
    report = execute("clean", src, tmp_path / "out", {})
    [alert] = [a for a in report["alerts"] if a["code"] == "formulas_not_computed"]
    assert alert["column"] == "total" and "(B2, B3, B4)" in alert["message"]
    rows = list(
        load_workbook(tmp_path / "out" / "cleaned.xlsx").active.iter_rows(min_row=2, values_only=True)
    )
    assert rows == [(2, None), (3, None), (4, None)]  # values, never formulas: there was none


class CancelAfter:
    def __init__(self, n: int) -> None:
        self.calls = 0
        self.n = n

    def update(self, percent: float, stage: str | None = None) -> None:
        self.check()

    def check(self) -> None:
        self.calls += 1
        if self.calls > self.n:
            raise TaskCancelled("stop")


def test_cancel_mid_run_writes_nothing(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", ["a", "b"], [["1", "x"], ["2", "y"]])
    out = tmp_path / "out"
    with pytest.raises(TaskCancelled):
        execute("clean", src, out, {}, progress=CancelAfter(8))
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in.csv"]


def test_quarantine_lists_each_failing_column_of_a_row_in_column_order(tmp_path: Path) -> None:
    header = ["n", "email", "phone"]
    rows = [[str(i), f"u{i}@x.org", f"(415) 555-{2600 + i}"] for i in range(30)]
    rows[3] = ["oops", "bad-address", "12"]  # three rule breaks in one row
    rows[7] = ["7", "also-bad", "(415) 555-2607"]
    report, cleaned, out = clean(tmp_path, header, rows, {"steps": [{"step": "outliers", "enabled": False}]})
    quarantined = read_csv(out / "quarantine.csv")
    assert [(q["quarantine_row"], q["quarantine_column"]) for q in quarantined] == [
        ("3", "email"),
        ("3", "n"),
        ("3", "phone"),
        ("7", "email"),
    ]
    assert quarantined[0]["n"] == "oops" and quarantined[0]["quarantine_removed"] == "true"
    assert report["summary"]["quarantined"] == 2 and len(cleaned) == 28


def test_dedupe_treats_nulls_as_equal_and_keeps_the_first(tmp_path: Path) -> None:
    rows = [
        ["a", "N/A", "1"],
        ["b", "", "2"],
        ["A", "", "1"],
        ["b", "null", "2.0"],
        ["c", "", ""],
        ["C", "-", ""],
    ]
    _, cleaned, out = clean(
        tmp_path, ["k", "v", "n"], rows, {"steps": [{"step": "outliers", "enabled": False}]}
    )
    c = changes(out, "dedupe")
    assert c["duplicate_of"] == {"2": 0, "3": 1, "5": 4}
    assert [r["k"] for r in cleaned] == ["a", "b", "c"]


def test_cleaned_table_out_of_input_order_is_written_in_order(tmp_path: Path, monkeypatch) -> None:
    """DuckDB may build clean_rows out of input order; it is not sorted back, so the
    writes must restore the order (cleaned output sorted, quarantine joined by row)."""
    import taskq.jobs.clean as clean_mod

    header = ["id", "name", "phone", "age"]
    rows = [
        [str(i), f" n{i % 7} ", ["(415) 555-2671", "call me", "1-212-555-0100", "+1 646 302 4658"][i % 4],
         "x" if i % 20 == 0 else str(20 + i)]
        for i in range(60)
    ]  # fmt: skip
    params = {"steps": [{"step": "outliers", "enabled": False}]}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, expected, out = clean(tmp_path / "a", header, rows, params)
    real = clean_mod.build_cleaned

    def shuffled(con, view, maps):
        failing = real(con, view, maps)
        con.execute("CREATE OR REPLACE TABLE clean_rows AS SELECT * FROM clean_rows ORDER BY hash(__row)")
        assert not clean_mod.aligned(con, view)
        return failing

    monkeypatch.setattr(clean_mod, "build_cleaned", shuffled)
    _, got, out2 = clean(tmp_path / "b", header, rows, params)
    assert got == expected and len(got) < len(rows)
    assert read_csv(out2 / "quarantine.csv") == read_csv(out / "quarantine.csv")
    assert {r["quarantine_column"] for r in read_csv(out / "quarantine.csv")} == {"age", "phone"}


@pytest.mark.parametrize("forced", [False, True])
@pytest.mark.parametrize("decimal", [".", ","])
def test_integer_parse_shortcut_gives_what_the_pattern_gives(decimal: str, forced: bool) -> None:
    """parse_expr's cast-and-compare shortcut for integers never changes a result."""
    from taskq.jobs.clean_types import _EU_NUM, _US_NUM, TypeDecision, parse_expr

    values = ["12", "-5", "+12", "0", "-0", "0012", " 7", "7 ", "1,234", "1.234", "1_000", "0x1F", "1e3",
              "12.0", "12,5", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
              "\uff11\uff12", "", "abc", ".5", "-.5", "5.", "+5.", "1,234.", "5,", ",5", "1.234,", ".", "-,",
              None]  # fmt: skip
    pattern, cleaned = (_US_NUM, "replace(x, ',', '')") if decimal == "." else (
        _EU_NUM, "replace(replace(x, '.', ''), ',', '.')")  # fmt: skip
    # Forced, 1.234 is no integer (detected, a column with fractions is never "integer").
    whole = f"TRY_CAST({cleaned} AS DOUBLE) = TRY_CAST({cleaned} AS BIGINT)" if forced else "true"
    reference = (
        f"CASE WHEN regexp_full_match(x, '{pattern}') AND {whole} THEN TRY_CAST({cleaned} AS BIGINT) END"
    )
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT x, {parse_expr(TypeDecision('integer', 1.0, decimal=decimal, forced=forced), 'x')}, "
        f"{reference} "
        "FROM (SELECT unnest(?) AS x)",
        [values],
    ).fetchall()
    assert [(x, a) for x, a, _ in rows] == [(x, b) for x, _, b in rows]


def test_outliers_on_more_columns_than_one_query_aggregates(tmp_path: Path) -> None:
    # Quartiles are taken AGGREGATES_PER_QUERY columns at a time (one query for 500 took seconds).
    header = [f"n{i}" for i in range(70)]
    rows = [[str(r * (i + 1)) for i in range(70)] for r in range(20)] + [["100000"] * 70]
    _, _, out = clean(tmp_path, header, rows, {"steps": [{"step": "outliers", "columns": header}]})
    flagged = {
        c["column"]: c["flagged"]
        for c in json.loads((out / "changes.json").read_text())["changes"]
        if c["step"] == "outliers"
    }
    assert len(flagged) == 70 and all(n == 1 for n in flagged.values())


def test_null_fills_are_the_same_on_every_run_and_are_what_is_reported(tmp_path: Path) -> None:
    # Above ~122,880 rows DuckDB aggregates in parallel: mode picked an arbitrary value on a tie
    # (not the smallest, as documented), and the value written could differ from the one reported.
    rng = random.Random(4)
    words = [f"w{i:06d}" for i in range(150_000)]
    rng.shuffle(words)
    rows = [[w, f"{rng.uniform(-5e6, 5e6):.6f}"] for w in words] + [["", ""]] * 2_000
    src = write_csv(tmp_path / "in.csv", ["w", "x"], rows)
    params = {
        "columns": {"w": {"nulls": "mode"}, "x": {"nulls": "mean"}},
        "steps": [{"step": "dedupe", "enabled": False}],
    }
    fills = set()
    for run in range(2):
        out = tmp_path / f"o{run}"
        execute("clean", src, out, params)
        entries = {
            c["column"]: c
            for c in json.loads((out / "changes.json").read_text())["changes"]
            if c["step"] == "nulls"
        }
        assert entries["w"]["fill_value"] == "w000000"  # every value once: the smallest wins the tie
        cleaned = read_csv(out / "cleaned.csv")[-2_000:]
        assert {r["w"] for r in cleaned} == {"w000000"}
        assert {float(r["x"]) for r in cleaned} == {float(entries["x"]["fill_value"])}
        fills.add(entries["x"]["fill_value"])
    assert len(fills) == 1


def test_a_forced_type_is_the_type_and_what_does_not_fit_it_is_quarantined(tmp_path: Path) -> None:
    # Forcing integer on 1.5 gave a DOUBLE column with nothing quarantined; forcing date on
    # values with a time of day gave a TIMESTAMP column.
    rows = [["1.5", "2024-01-31 10:00"], ["2", "2024-02-01"], ["3.0", "2024-02-02 00:00"]]
    params = {"columns": {"q": {"type": "integer"}, "d": {"type": "date"}}}
    report, cleaned, out = clean(tmp_path, ["q", "d"], rows, params)
    assert report["summary"]["converted_columns"] == {"q": "BIGINT", "d": "DATE"}
    assert [(r["q"], r["d"]) for r in cleaned] == [("2", "2024-02-01"), ("3", "2024-02-02")]
    reasons = {
        (r["quarantine_column"], r["quarantine_value"], r["quarantine_reason"])
        for r in read_csv(out / "quarantine.csv")
    }
    assert reasons == {("q", "1.5", "not a valid integer"), ("d", "2024-01-31 10:00", "not a valid date")}


def test_a_fraction_forced_to_integer_fails_however_many_digits_it_has(tmp_path: Path) -> None:
    # The whole-number test went through a DOUBLE, whose nearest value to 12345678901234567.5
    # is 12345678901234568: the fraction passed as an integer, rounded.
    rows = [["12345678901234567.5"], ["12345678901234567.0"], ["-1.5e3"], ["9223372036854775807"], ["2"]]
    report, cleaned, out = clean(tmp_path, ["q"], rows, {"columns": {"q": {"type": "integer"}}})
    assert report["summary"]["converted_columns"] == {"q": "BIGINT"}
    assert [r["q"] for r in cleaned] == ["12345678901234567", "-1500", "9223372036854775807", "2"]
    assert [(r["quarantine_value"], r["quarantine_reason"]) for r in read_csv(out / "quarantine.csv")] == [
        ("12345678901234567.5", "not a valid integer")
    ]


def test_a_bare_decimal_mark_forced_to_integer_or_number(tmp_path: Path) -> None:
    # .5 is no integer (as 0.5 is not); as a number it is 0.5. A trailing mark is no number.
    rows = [["5", ".5"], [".5", "-.25"], ["-7", "+.5e1"], ["5.", "5."], [",5", ",5"]]
    params = {"columns": {"q": {"type": "integer"}, "x": {"type": "number"}}}
    report, cleaned, out = clean(tmp_path, ["q", "x"], rows, params)
    assert report["summary"]["converted_columns"] == {"q": "BIGINT", "x": "DOUBLE"}
    assert [(r["q"], r["x"]) for r in cleaned] == [("5", "0.5"), ("-7", "5.0")]
    reasons = {
        (r["quarantine_column"], r["quarantine_value"], r["quarantine_reason"])
        for r in read_csv(out / "quarantine.csv")
    }
    assert reasons == {
        ("q", ".5", "not a valid integer"),
        ("q", "5.", "not a valid integer"),
        ("x", "5.", "not a valid number"),
        ("q", ",5", "not a valid integer"),  # the decimal mark is the point: ,5 is no number
        ("x", ",5", "not a valid number"),
    }


@pytest.mark.parametrize(
    "values",
    [
        ["1.", "2.", "3.", "10."],  # list ordinals
        ["+15551234567.", "+442079460958.", "+33142685300."],  # phones before a full stop
        ["01.", "02.", "03.", "10."],  # codes with leading zeros
        ["12345678901234567890123.", "22345678901234567890123."],  # long ids
    ],
)
def test_a_trailing_decimal_mark_leaves_text_as_it_is(tmp_path: Path, values: list[str]) -> None:
    report, cleaned, _ = clean(tmp_path, ["v"], [[v] for v in values])
    assert report["summary"]["converted_columns"] == {}
    assert [r["v"] for r in cleaned] == values


def test_a_share_exactly_at_the_threshold_converts(tmp_path: Path) -> None:
    # 0.55 * 100 is 55.00000000000001 in floating point: 55 integers of 100 stayed text.
    rows = [[str(i)] for i in range(55)] + [[f"x{i}"] for i in range(45)]
    report, _, _ = clean(tmp_path, ["n"], rows, {"threshold": 0.55})
    assert report["summary"]["converted_columns"] == {"n": "BIGINT"}


def test_internationalised_addresses_are_valid_and_misplaced_dots_are_not(tmp_path: Path) -> None:
    # IDN domains and UTF-8 local parts were quarantined as invalid (519 of 2,000 rows on a
    # file with @bücher.de addresses), while a leading, trailing or doubled dot passed.
    good = ["anna@Bücher.DE", "chen@example.xn--p1ai", "üser@example.com", "o'neil+tag@x.ie"]
    bad = [".eve@example.com", "user.@x.com", "us..er@x.com", "x@-bad.com"]
    rows = [[e] for e in good * 5 + bad]
    _, cleaned, out = clean(tmp_path, ["email"], rows, {"steps": [{"step": "dedupe", "enabled": False}]})
    assert [r["email"] for r in cleaned[:4]] == [
        "anna@bücher.de",
        "chen@example.xn--p1ai",
        "üser@example.com",
        "o'neil+tag@x.ie",
    ]
    quarantined = {r["quarantine_value"] for r in read_csv(out / "quarantine.csv")}
    assert quarantined == set(bad)


def test_international_phone_numbers_in_a_column_not_named_phone_keep_their_plus(tmp_path: Path) -> None:
    # "+442079460958" in a column named contact became the integer 442079460958.
    rows = [["+442079460958", "+5"], ["+14155552671", "+7"], ["+4930123456", "-3"]]
    report, cleaned, out = clean(tmp_path, ["contact", "amount"], rows)
    assert [r["contact"] for r in cleaned] == ["+442079460958", "+14155552671", "+4930123456"]
    assert report["summary"]["converted_columns"] == {"amount": "BIGINT"}
    assert "phone numbers?" in changes(out, "types", "contact")["decision"]["reason"]


def test_signed_numbers_are_numbers_not_phone_numbers(tmp_path: Path) -> None:
    # A negative value (or a fraction) rules out E.164 phone numbers.
    rows = [["+12345678"], ["-23456789"], ["+34567890"], ["+45678901"]]
    report, cleaned, _ = clean(tmp_path, ["delta"], rows)
    assert report["summary"]["converted_columns"] == {"delta": "BIGINT"}
    assert [r["delta"] for r in cleaned] == ["12345678", "-23456789", "34567890", "45678901"]


ZONED = [
    ("2024-01-05T10:00:00Z", "2024-01-05 10:00:00+00"),
    ("2024-01-05T10:00:00+02:00", "2024-01-05 08:00:00+00"),
    ("2024-01-05 10:00:00.5 +0530", "2024-01-05 04:30:00.5+00"),
    ("2024-01-05T23:30-05", "2024-01-06 04:30:00+00"),
    ("2024-01-05 10:00:00 UTC", "2024-01-05 10:00:00+00"),
    ("2024-01-05T10:00:00.123456z", "2024-01-05 10:00:00.123456+00"),
    ("2024-01-05t10:00:00+14:00", "2024-01-04 20:00:00+00"),  # RFC 3339 allows a lower-case t
    ("9999-12-31 23:30:00 utc", "9999-12-31 23:30:00+00"),
]


@pytest.mark.parametrize(
    "bad",
    [
        "2024-02-30T10:00:00Z",
        "2024-01-05T10:00:00+25:00",
        "2024-01-05T10:00:00+14:30",  # past +14:00, the widest offset in use
        "2024-01-05T10:00:00",
        "2024-01-05T10:00:00.1234567Z",
        "2016-12-31T23:59:60Z",  # a leap second: no timestamp type holds it
        "0001-01-01T00:30:00+01:00",  # 1 BC in UTC
        "9999-12-31T23:30:00-01:00",  # year 10000 in UTC
    ],
)
def test_iso_date_times_with_an_offset_become_utc_instants(tmp_path: Path, bad: str) -> None:
    # They stayed text ("best candidate integer parses 0.0%"), while profile read them as times.
    src = tmp_path / "t.csv"
    rows = [v for v, _ in ZONED] * 4 + [bad]
    src.write_text("id,ts\n" + "".join(f"{i},{v}\n" for i, v in enumerate(rows)))
    out = tmp_path / "out"
    rep = execute("clean", src, out, {})
    got = [line.split(",")[1] for line in (out / "cleaned.csv").read_text().splitlines()[1:]]
    assert got == [w for _, w in ZONED] * 4
    assert rep["summary"]["converted_columns"] == {"id": "BIGINT", "ts": "TIMESTAMP WITH TIME ZONE"}
    with (out / "quarantine.csv").open() as fh:
        quarantined = list(csv.DictReader(fh))
    assert [(q["quarantine_row"], q["quarantine_value"]) for q in quarantined] == [(str(len(rows) - 1), bad)]
    assert quarantined[0]["quarantine_reason"] == "not a valid timestamp with a UTC offset"
    replay = tmp_path / "replay"
    execute("clean", src, replay, {"steps": json.loads((out / "changes.json").read_text())["steps"]})
    assert (replay / "cleaned.csv").read_bytes() == (out / "cleaned.csv").read_bytes()


def test_offsets_in_a_column_of_plain_date_times_fail(tmp_path: Path) -> None:
    # Mostly without an offset: a plain TIMESTAMP column, where the instant of a zoned value
    # would need a zone the others do not have.
    src = tmp_path / "t.csv"
    rows = [f"2024-01-{d:02d} 10:00:00" for d in range(1, 29)] + ["2024-01-29T10:00:00Z"]
    src.write_text("ts\n" + "".join(f"{v}\n" for v in rows))
    rep = execute("clean", src, tmp_path / "o", {})
    assert rep["summary"]["converted_columns"] == {"ts": "TIMESTAMP"}
    assert rep["summary"]["quarantined"] == 1


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "xlsx"])
def test_utc_instants_are_written_in_each_format(tmp_path: Path, fmt: str) -> None:
    import datetime as dt

    from openpyxl import Workbook, load_workbook

    src = tmp_path / f"t.{fmt}"
    values = [v for v, _ in ZONED] * 4
    if fmt == "xlsx":
        wb = Workbook()
        wb.active.append(["id", "ts"])
        for i, v in enumerate(values):
            wb.active.append([i, v])
        wb.save(src)
    else:
        con = duckdb.connect()
        con.execute(
            "CREATE TABLE t AS SELECT unnest(range(?)) AS id, unnest(?::VARCHAR[]) AS ts",
            [len(values), values],
        )
        con.execute(f"COPY t TO '{src}' ({'FORMAT parquet' if fmt == 'parquet' else 'FORMAT json'})")
    out = tmp_path / "out"
    execute("clean", src, out, {})
    first = dt.datetime(2024, 1, 5, 10, tzinfo=dt.UTC)
    if fmt == "xlsx":
        cells = [
            r[1] for r in load_workbook(out / "cleaned.xlsx").active.iter_rows(min_row=2, values_only=True)
        ]
        assert cells[:3] == [w for _, w in ZONED[:3]]  # Excel has no zones: the text the CSV has
    else:
        got = duckdb.sql(f"SELECT ts FROM '{out / f'cleaned.{fmt}'}'").fetchall()
        assert got[0][0] == first and len(got) == len(values)
        assert duckdb.sql(f"DESCRIBE SELECT ts FROM '{out / f'cleaned.{fmt}'}'").fetchall()[0][1] == (
            "TIMESTAMP WITH TIME ZONE"
        )


def test_fractions_with_a_leading_zero_are_codes_and_stay_text(tmp_path: Path) -> None:
    # 01.1 and 1.1 (section codes) read as one number; dedupe then removed a row, silently.
    src = tmp_path / "s.csv"
    src.write_text("section,title\n01.1,Intro\n1.1,Intro\n02.5,Scope\n3.5,Terms\n")
    rep = execute("clean", src, tmp_path / "o", {})
    assert (tmp_path / "o" / "cleaned.csv").read_text().splitlines()[1:] == [
        "01.1,Intro",
        "1.1,Intro",
        "02.5,Scope",
        "3.5,Terms",
    ]
    decision = json.loads((tmp_path / "o" / "changes.json").read_text())["decisions"]["section"]["types"]
    assert decision["type"] == "text" and "leading zeros" in decision["reason"]
    assert rep["summary"]["duplicates_removed"] == 0


@pytest.mark.parametrize(
    ("values", "warned"),
    [
        (["1.1", "1.10", "1.2", "2.0"], "'1.1' and '1.10'"),  # versions: one number, two rows
        (["2024.1", "2024.10", "2024.2", "2024.11"], "'2024.1' and '2024.10'"),  # periods
        (["1,1", "1,10", "1,2", "2,5"], "'1,1' and '1,10'"),  # decimal comma
        (["5", "5.0", "1.10", "2.25"], None),  # 5 and 5.0: written with and without a fraction
        (["1,000.5", "1000.5", "2.10", "3.5"], None),  # thousands separators, no trailing zero
        (["1.10", "2.50", "3.00", "4.25"], None),  # prices: each written one way
        (["1,000.0", "1000.0", "2.5", "3.5"], None),  # a thousands separator
        (["1.0e3", "1000.0", "+2.5", "2.5"], None),  # scientific notation, a plus sign
        (["-0.0", "0.0", "1.5", "2.5"], None),  # zero
        (["1.5", "1.50", "+1.500", "7.25"], "'+1.500' and '1.5' and '1.50'"),
    ],
)
def test_fractions_written_two_ways_as_one_number_are_a_warning(
    tmp_path: Path, values: list[str], warned: str | None
) -> None:
    # 1.1 and 1.10 became the DOUBLE 1.1 and dedupe then removed one of the rows, silently.
    src = tmp_path / "v.csv"
    src.write_text("pkg,version\n" + "".join(f'p,"{v}"\n' for v in values))
    rep = execute("clean", src, tmp_path / "o", {})
    found = [r for r in rep["recommendations"] if r["code"] == "values_merged"]
    if warned is None:
        assert found == []
    else:
        assert len(found) == 1 and warned in found[0]["message"] and found[0]["severity"] == "warning"
        decision = json.loads((tmp_path / "o" / "changes.json").read_text())["decisions"]["version"]
        assert decision["types"]["merged"] == found[0]["message"].split(": ", 1)[1]


@pytest.mark.parametrize(
    ("values", "written", "sign"),
    [
        (["$4,217.18", "-$12.50", "$ 1,000", "$0.99"], ["4217.18", "-12.5", "1000.0", "0.99"], "$"),
        (["1.234,50 €", "12,00 €", "-3,5 €", "7 €"], ["1234.5", "12.0", "-3.5", "7.0"], "€"),
        (["£12", "£1,500", "£7", "-£3"], ["12", "1500", "7", "-3"], "£"),
    ],
)
def test_amounts_with_one_currency_sign_are_numbers(
    tmp_path: Path, values: list[str], written: list[str], sign: str
) -> None:
    # "$4,217.18" stayed text: sales exports could not be summed or checked for outliers.
    rows = [[str(i), v] for i, v in enumerate(values * 5)] + [["99", "call us"]]
    report, cleaned, out = clean(tmp_path, ["id", "amount"], rows, {})
    assert [r["amount"] for r in cleaned[:4]] == written
    assert report["summary"]["converted_columns"]["amount"] in ("DOUBLE", "BIGINT")
    decision = json.loads((out / "changes.json").read_text())["decisions"]["amount"]["types"]
    assert decision["currency"] == sign and sign in decision["reason"]
    assert [r["code"] for r in report["recommendations"] if r["column"] == "amount"] == ["currency_removed"]
    assert [q["quarantine_value"] for q in read_csv(out / "quarantine.csv")] == ["call us"]


@pytest.mark.parametrize("euros", [10, 1])
def test_amounts_in_two_currencies_stay_text(tmp_path: Path, euros: int) -> None:
    # QA: with 96 dollar and 4 euro amounts the column converted and the euro rows left.
    rows = [[f"${i}.50"] for i in range(40 - euros)] + [[f"€{i}.99"] for i in range(euros)]
    report, cleaned, out = clean(tmp_path, ["amount"], rows, {})
    assert report["summary"]["converted_columns"] == {} and len(cleaned) == 40
    decision = json.loads((out / "changes.json").read_text())["decisions"]["amount"]["types"]
    assert decision["reason"] == "amounts in more than one currency ($ and €): kept as text"


def test_only_an_amounts_sign_and_its_spaces_go(tmp_path: Path) -> None:
    # QA: every space of every value went, so "$12 50" read as 1250 and "1 2" as 12.
    odd = ["$12 50", "12 $ 34", "$5 $10", "1 2"]
    rows = [[str(i), f"${i}.25"] for i in range(96)] + [[str(96 + k), v] for k, v in enumerate(odd)]
    _, cleaned, out = clean(tmp_path, ["id", "amount"], rows, {})
    assert [r["amount"] for r in cleaned[:2]] == ["0.25", "1.25"] and len(cleaned) == 96
    assert sorted(q["quarantine_value"] for q in read_csv(out / "quarantine.csv")) == sorted(odd)


def test_amounts_below_the_threshold_get_the_hint_and_convert_when_forced(tmp_path: Path) -> None:
    # QA: 90% amounts gave "0.0% look like a number" and no hint; forced to number, no sign
    # was read off, and every row failed.
    rows = [[str(i), f"${i}.50"] for i in range(90)] + [[str(90 + i), "free"] for i in range(10)]
    report, cleaned, _ = clean(tmp_path, ["id", "amount"], rows, {})
    hint = [r for r in report["recommendations"] if r["code"] == "type_below_threshold"]
    assert len(hint) == 1 and "90.0% of non-null values are amounts in $" in hint[0]["message"]
    forced = {"columns": {"amount": {"type": "number"}}}
    report, cleaned, _ = clean(tmp_path, ["id", "amount"], rows, forced)
    assert report["summary"]["converted_columns"]["amount"] == "DOUBLE" and len(cleaned) == 90
