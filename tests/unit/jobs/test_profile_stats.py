"""The statistics behind profile-my-data, checked against plain DuckDB on the same values."""

from __future__ import annotations

import json
import math
import random
import statistics
from pathlib import Path

import duckdb
import pytest

from taskq.jobs import execute
from taskq.jobs import profile as profile_mod
from taskq.jobs.profile_numeric import QUANTILES, numeric_stats, weighted_quantiles
from taskq.jobs.profile_stats import column_values, duplicate_rows, shape


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    yield c
    c.close()


def _groups(con: duckdb.DuckDBPyConnection, values: list) -> None:
    con.execute("CREATE OR REPLACE TABLE raw (v DOUBLE)")
    con.executemany("INSERT INTO raw VALUES (?)", [(v,) for v in values])
    con.execute("CREATE OR REPLACE TEMP TABLE _profile_g AS SELECT v, count(*) AS n FROM raw GROUP BY 1")


@pytest.mark.parametrize("distinct", [5, 300, 5000])
def test_weighted_quantiles_match_quantile_cont_in_both_plans(con, distinct):
    rng = random.Random(distinct)
    values = [float(rng.randint(0, distinct)) + 0.25 for _ in range(4000)]
    _groups(con, values)
    con.execute("CREATE TEMP TABLE xs AS SELECT v AS x, n FROM _profile_g")
    got = weighted_quantiles(con, "xs", len(values), QUANTILES)
    qs = "[" + ", ".join(map(str, QUANTILES)) + "]"
    want = con.execute(f"SELECT quantile_cont(v, {qs}) FROM raw").fetchall()[0][0]
    assert got == pytest.approx([float(w) for w in want], rel=1e-12)


@pytest.mark.parametrize("materialize", [True, False])
def test_numeric_stats_match_duckdb_and_skip_non_finite(con, materialize):
    rng = random.Random(7)
    values = [round(rng.gauss(50, 10), 1) for _ in range(3000)] + [500.0]
    _groups(con, values + [float("nan"), float("inf"), float("-inf")])
    out = numeric_stats(con, "CAST(v AS DOUBLE)", 3.5, materialize=materialize)
    assert out is not None
    st = out["stats"]
    con.execute("DELETE FROM raw WHERE NOT isfinite(v)")
    n, lo, hi, mean, std, med = con.execute(
        "SELECT count(v), min(v), max(v), avg(v), stddev_samp(v), median(v) FROM raw"
    ).fetchall()[0]
    assert (st["count"], st["min"], st["max"], st["non_finite"]) == (n, lo, hi, 3)
    assert st["mean"] == pytest.approx(mean, rel=1e-12) and st["std"] == pytest.approx(std, rel=1e-9)
    assert st["quantiles"]["p50"] == med and st["quantiles_approx"] is False
    assert sum(out["histogram"]["counts"]) == n
    assert out["histogram"]["counts"][-1] == 1  # the 500.0 alone in the top bin
    mad = con.execute(f"SELECT quantile_cont(abs(v - {med}), 0.5) FROM raw").fetchall()[0][0]
    assert out["outliers"]["mad"] == pytest.approx(mad, rel=1e-12)
    robust = con.execute(f"SELECT count(*) FROM raw WHERE 0.6745 * abs(v - {med}) / {mad} > 3.5").fetchall()[
        0
    ][0]
    assert out["outliers"]["robust_z"] == robust >= 1


def test_histogram_bins_are_right_closed(con):
    _groups(con, [0.0, 1.0, 2.0, 3.0, 4.0, 20.0])  # width 1: 1.0 sits on the first edge
    counts = numeric_stats(con, "v", 3.5)["histogram"]["counts"]
    assert counts[:4] == [2, 1, 1, 1] and counts[-1] == 1 and sum(counts) == 6


def test_only_non_finite_values_give_no_stats(con):
    _groups(con, [float("nan"), float("inf")])
    assert numeric_stats(con, "v", 3.5) is None


def test_profile_survives_nan_and_infinity_in_a_numeric_column(tmp_path: Path):
    src = tmp_path / "n.csv"
    src.write_text("v\n" + "".join(f"{i}\n" for i in range(1, 30)) + "NaN\ninf\n")
    execute("profile", src, tmp_path / "o", {})
    prof = json.loads((tmp_path / "o" / "profile.json").read_text())
    st = prof["columns"][0]["stats"]
    assert st["count"] == 29 and st["max"] == 29.0 and st["non_finite"] == 2


def test_blank_and_placeholder_counts(con):
    values = ["", " ", "\t\n", "\x0b", " N/A ", "null", "x", "a b", None, "  unknown"]
    con.execute("CREATE TABLE t (c VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [(v,) for v in values])
    out = column_values(con, "SELECT c AS v FROM t", "VARCHAR", 10)
    # "\x0b" (vertical tab) is whitespace, as clean's whitespace step sees it; "  unknown" is a
    # placeholder once trimmed.
    assert (out["empty"], out["whitespace"], out["placeholders"]) == (1, 3, 3)
    assert out["present"] == 2 and out["non_null"] == 9


def test_unicode_whitespace_only_values_are_whitespace_not_values(con):
    values = ["\u00a0", "\u2003\u200b", "\ufeff", "\u3000 ", "a\u00a0b", "x"]
    con.execute("CREATE TABLE t (c VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [(v,) for v in values])
    out = column_values(con, "SELECT c AS v FROM t", "VARCHAR", 10)
    assert out["whitespace"] == 4 and out["present"] == 2


def test_hex_binary_and_grouped_digits_are_not_numbers(con):
    con.execute("CREATE TABLE t (c VARCHAR)")
    con.executemany(
        "INSERT INTO t VALUES (?)", [(v,) for v in ["0x1F", "0b101", "1_000", "1_000.5", "12", "-3"]]
    )
    out = column_values(con, "SELECT c AS v FROM t", "VARCHAR", 10)
    assert out["parses"]["integer"] == 2 and out["parses"]["float"] == 2  # "12" and "-3" only


def test_nan_in_a_float_column_is_missing_and_leading_zeros_are_counted(tmp_path: Path):
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT CASE WHEN i % 2 = 0 THEN 'NaN'::DOUBLE ELSE i END AS x, lpad(i::VARCHAR, 5, '0') AS zip "
        f"FROM range(10) t(i)) TO '{tmp_path / 'n.parquet'}'"
    )
    rep = execute("profile", tmp_path / "n.parquet", tmp_path / "o", {})
    prof = json.loads((tmp_path / "o" / "profile.json").read_text())
    x, zip_ = prof["columns"]
    assert (x["placeholders"], x["present"], x["missing"]) == (5, 5, 5)
    assert zip_["inferred_type"] == "integer" and zip_["leading_zeros"] == 10
    codes = {f["code"] for f in rep["recommendations"] if f.get("column") == "zip"}
    assert "keep_text" in codes and "convert_type" not in codes


def test_megabyte_cells_are_cut_in_top_values_and_patterns(tmp_path: Path):
    src = tmp_path / "big.csv"
    src.write_text("t\n" + "".join("x" * 1_000_000 + f"{i}\n" for i in range(3)))
    execute("profile", src, tmp_path / "o", {})
    (t,) = json.loads((tmp_path / "o" / "profile.json").read_text())["columns"]
    assert t["top_values"][0]["truncated"] is True and t["top_values"][0]["length"] == 1_000_001
    assert len(t["top_values"][0]["value"]) == 200 and t["patterns"][0]["truncated"] is True
    assert (tmp_path / "o" / "profile.json").stat().st_size < 100_000


def test_patterns_shape_latin1_letters_and_digits():
    assert shape("Zoë-42 ß") == "Aaa-99 a"


def test_patterns_shape_letters_and_digits_of_every_script():
    # Cyrillic and Greek have case; CJK and Arabic letters do not (lower); Arabic-Indic digits are digits.
    assert shape("Иван Петров") == "Aaaa Aaaaaa"
    assert shape("Ωμέγα-7") == "Aaaaa-9"
    assert shape("東京 ٣٤") == "aa 99"
    assert shape("a_b+c") == "a_a+a"


def test_duplicate_rows_exact_with_nulls(con):
    con.execute("CREATE TABLE t (a INTEGER, b VARCHAR)")
    rows = [(1, "x"), (1, "x"), (1, None), (1, None), (None, None), (2, "y"), (1, "x")]
    con.executemany("INSERT INTO t VALUES (?, ?)", rows)
    assert duplicate_rows(con, "t", ["a", "b"]) == 3
    assert duplicate_rows(con, "t", ["b"]) == 4
    con.execute("CREATE TABLE u AS SELECT range AS a FROM range(1000)")
    assert duplicate_rows(con, "u", ["a"]) == 0


def test_a_key_column_skips_the_duplicate_pass(tmp_path: Path, monkeypatch):
    src = tmp_path / "k.csv"
    src.write_text("id,v\n" + "".join(f"{i},{i % 3}\n" for i in range(50)))

    def boom(*_a, **_k):
        raise AssertionError("duplicate pass should not run: id is a key")

    monkeypatch.setattr(profile_mod.stats, "duplicate_rows", boom)
    rep = execute("profile", src, tmp_path / "o", {})
    assert rep["summary"]["duplicate_rows"] == 0
    # approximate distinct counts are no proof of a key: the exact pass runs (and finds none)
    monkeypatch.undo()
    rep = execute("profile", src, tmp_path / "o2", {"approx_distinct": True})
    assert rep["summary"]["duplicate_rows"] == 0


def test_values_near_the_double_limits_do_not_overflow(con):
    values = [1e308, -1e308, 1e308, 5.0]
    _groups(con, values)
    out = numeric_stats(con, "v", 3.5)
    st = out["stats"]
    assert st["mean"] == pytest.approx(statistics.fmean(values), rel=1e-12)
    assert st["std"] == pytest.approx(statistics.stdev(values), rel=1e-12)
    assert sum(out["histogram"]["counts"]) == 4 and out["outliers"]["iqr"] == 0


def _profile_parquet(tmp_path: Path, select: str) -> dict[str, dict]:
    """Profile the rows of ``select`` written as Parquet (typed columns); columns by name."""
    src = tmp_path / "in.parquet"
    duckdb.connect().execute(f"COPY ({select}) TO '{src}'")
    execute("profile", src, tmp_path / "o", {})
    return {c["name"]: c for c in json.loads((tmp_path / "o" / "profile.json").read_text())["columns"]}


def test_integers_past_2_53_keep_their_spread(tmp_path: Path):
    # As DOUBLEs, 2**63 + i are all one number: std came out 0 (true: 288.8), and DECIMAL(38,0)
    # around 1e30 gave a std of 2e16.
    cols = _profile_parquet(
        tmp_path,
        "SELECT (9223372036854775808 + i)::UBIGINT AS u, (1e30::DECIMAL(38,0) + i) AS d FROM range(1000) t(i)",
    )
    expected = statistics.stdev(range(1000))
    for name, base in (("u", 2**63), ("d", 10**30)):
        st = cols[name]["stats"]
        assert abs(st["std"] - expected) < 1e-6
        assert st["min"] == float(base) and st["quantiles"]["p50"] == float(base) + 499.5
        assert cols[name]["outliers"]["iqr"] == 0


def test_integers_past_2_53_keep_the_spread_of_their_bulk_beside_far_extremes(tmp_path: Path):
    # Taken relative to the minimum -2**63, the values near 2**53 were all ~2**63 apart from it
    # again: their odd steps were lost and the MAD came out 0 (true: 11).
    values = [2**53 + 1 + 2 * i for i in range(20)] + [2**63 - 1, -(2**63)]
    src = tmp_path / "t.csv"
    src.write_text("t\n" + "".join(f"{v}\n" for v in values))
    execute("profile", src, tmp_path / "o", {"threads": 1})
    [c] = json.loads((tmp_path / "o" / "profile.json").read_text())["columns"]
    assert c["type"] == "BIGINT" and (c["stats"]["min"], c["stats"]["max"]) == (-(2**63), 2**63 - 1)
    twice = sorted(values)[10] + sorted(values)[11]  # twice the median, exactly (a float would round)
    assert c["outliers"]["mad"] == statistics.median(abs(2 * v - twice) / 2 for v in values) == 11
    assert c["outliers"]["robust_z"] == 2 and c["stats"]["quantiles"]["p50"] == float(2**53 + 20)


def test_decimals_whose_spread_a_double_cannot_hold_keep_it(tmp_path: Path):
    # 0.1 + i * 1e-18 as DOUBLEs: the mean came out below the minimum, the std 6x too large.
    cols = _profile_parquet(
        tmp_path,
        "SELECT (0.1::DECIMAL(38,20) + i * 0.000000000000000001::DECIMAL(38,20)) AS t, "
        "(i / 100)::DECIMAL(10,2) AS price FROM range(1000) t(i)",
    )
    st = cols["t"]["stats"]
    assert st["min"] <= st["mean"] <= st["max"]
    assert abs(st["std"] - statistics.stdev(range(1000)) * 1e-18) < 1e-24
    assert abs(cols["price"]["stats"]["mean"] - 4.995) < 1e-9 and cols["price"]["stats"]["min"] == 0.0


PHONES = [
    "+1 415 555 0100",
    "(415) 555-0100",
    "415.555.0100",
    "415-555-0100",
    "+49 30 1234567",
    "030 1234567",
]
PHONES += ["01 23 45 67 89", "+44 20 7946 0958", "1-800-555-0100", "4155550100", "+14155550100"]
NOT_PHONES = ["192.168.1.7", "10.0.0.254", "100 000.50", "1 234 567.89", "1.234.567", "1234567,89"]
NOT_PHONES += ["978-3-16-148410-0", "979 10 90636 07 1", "0-306-40615-2", "15.01.2024 10.30", "2024-01-15"]
NOT_PHONES += ["2024-01-15 10.30.00", "1.2.3.4", "1234567.89", "1 234 567,89"]
# ZIP+4 codes, year ranges, compact date-times, bare ISBN-13s, dotted pairs, spaced dates: all were phones.
NOT_PHONES += ["94105-1234", "2019-2020", "1999-2000-2001", "20240115103000", "9780306406157"]
NOT_PHONES += ["12.34.56.78.90", "2024 01 15", "(2024) 1234"]
PHONES += ["(+44) 7911 123456", "01.23.45.67.89", "(020) 7946 0958", "1.800.555.0100"]  # the first was missed


@pytest.mark.parametrize("value", PHONES + NOT_PHONES)
def test_phone_hints_take_phone_numbers_not_addresses_amounts_isbns_or_dates(con, value):
    out = column_values(con, f"SELECT '{value}' AS v", "VARCHAR", 10)
    assert out["pii"]["phone"] == (value in PHONES)


def test_values_at_both_double_limits_give_finite_quantiles_mad_and_edges(con):
    # -1e308 and 1e308: hi - lo overflowed, so the median was inf * 0.5 (null in the JSON, "inf"
    # in the HTML), the MAD NaN, every value a robust-z outlier and the top bin edges inf.
    _groups(con, [-1e308] * 10 + [1e308] * 10)
    out = numeric_stats(con, "v", 3.5)
    q = out["stats"]["quantiles"]
    assert q["p50"] == 0.0 and q["p1"] == -1e308 and q["p99"] == 1e308
    assert out["outliers"]["mad"] == 1e308 and out["outliers"]["robust_z"] == 0
    edges = out["histogram"]["edges"]
    assert all(math.isfinite(e) for e in edges) and edges[-1] == 1e308 and edges[9] == 0.0
    assert out["histogram"]["counts"][0] == 10 and out["histogram"]["counts"][-1] == 10
    assert out["outliers"]["iqr_fences"] == [None, None] and out["outliers"]["iqr"] == 0
    assert "NaN" not in json.dumps(out) and "Infinity" not in json.dumps(out)


def test_quantile_interpolation_near_the_double_limits_matches_quantile_cont(con):
    values = [-1.7e308, -1.5e308, 1.6e308, 1.7e308]
    _groups(con, values * 5)  # 4 distinct values in 20: the running-sum plan
    got = weighted_quantiles(con, "(SELECT v AS x, n FROM _profile_g)", 20, QUANTILES)
    qs = "[" + ", ".join(map(str, QUANTILES)) + "]"
    want = con.execute(f"SELECT quantile_cont(v, {qs}) FROM raw").fetchall()[0][0]
    assert got == pytest.approx([float(w) for w in want], rel=1e-12)


def test_integer_columns_report_exact_min_and_max(tmp_path: Path):
    # Through a DOUBLE, 2**64 - 21 .. 2**64 - 1 all became 2**64 (outside UBIGINT): min == max.
    cols = _profile_parquet(
        tmp_path,
        "SELECT (18446744073709551615 - i)::UBIGINT AS u, (i - 10)::INTEGER AS small FROM range(21) t(i)",
    )
    src = tmp_path / "h.jsonl"  # JSON integers past 64 bits are read as HUGEINT
    src.write_text("".join(f'{{"h": {10**30 + i}}}\n' for i in range(21)))
    execute("profile", src, tmp_path / "j", {})
    [cols["h"]] = json.loads((tmp_path / "j" / "profile.json").read_text())["columns"]
    assert cols["h"]["type"] == "HUGEINT"
    for name, lo, hi in (("u", 2**64 - 21, 2**64 - 1), ("h", 10**30, 10**30 + 20), ("small", -10, 10)):
        st = cols[name]["stats"]
        assert (st["min"], st["max"]) == (lo, hi) and type(st["min"]) is int and type(st["max"]) is int
        assert cols[name]["histogram"]["min"] == lo
    src = tmp_path / "ids.csv"  # text inferred integer ("x" keeps it text)
    src.write_text("id\n" + "".join(f"{2**62 + i}\n" for i in range(30)) + "x\n")
    execute("profile", src, tmp_path / "t", {})
    [c] = json.loads((tmp_path / "t" / "profile.json").read_text())["columns"]
    assert c["inferred_type"] == "integer" and (c["stats"]["min"], c["stats"]["max"]) == (2**62, 2**62 + 29)
