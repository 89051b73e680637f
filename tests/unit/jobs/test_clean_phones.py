"""The SQL fast path for NANP phone numbers agrees with ``phonenumbers`` (:func:`e164`)."""

from __future__ import annotations

import random

import duckdb
import pytest

from taskq.jobs.clean_phones import e164, nanp_sql, phone_query, phone_table

# Area codes of the US, Canada and the Caribbean regions chosen by leading digits,
# plus unassigned and non-geographic ones, so every branch of the region choice runs.
AREAS = [
    "201", "212", "305", "415", "555", "800", "900", "204", "416", "905", "268", "264", "684",
    "246", "441", "242", "767", "809", "829", "849", "473", "671", "658", "876", "869", "345",
    "758", "670", "664", "787", "939", "721", "649", "868", "784", "284", "340", "123", "011",
]  # fmt: skip
SHAPES = [
    "+1 {a} {b} {c}", "({a}) {b}-{c}", "{a}.{b}.{c}", "+1-{a}-{b}-{c}", "{a}{b}{c}", "+1{a}{b}{c}",
    "+1 ({a}) {b}.{c}", "+ 1 {a} {b}{c}", " ({a}){b}-{c} ", "1 {a} {b} {c}", "+44 {a}{b}{c}",
    "+1 {a} {b}{c} x12", "++1 {a}{b}{c}", "{a} {b} {c}0", "+{a}{b}{c}", "+1 {a} {b}",
]  # fmt: skip


def numbers(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        area = rng.choice(AREAS) if rng.random() < 0.8 else f"{rng.randrange(1000):03d}"
        b, c = f"{rng.randrange(1000):03d}", f"{rng.randrange(10000):04d}"
        out.append(rng.choice(SHAPES).format(a=area, b=b, c=c))
    return out


@pytest.mark.parametrize("region", ["US", "CA", "JM", "BS", "GB"])
def test_fast_path_matches_phonenumbers(region: str) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest(?) AS cur", [numbers(4000, seed=len(region))])
    query = nanp_sql("SELECT DISTINCT cur FROM t", region)
    assert query is not None
    rows = con.execute(query).fetchall()
    decided = [(cur, got) for cur, fast, got in rows if fast]
    assert len(decided) > 1000 and any(got for _, got in decided) and any(not got for _, got in decided)
    assert [(cur, e164(cur, region)) for cur, _ in decided] == decided


def punctuated(n: int, seed: int) -> list[str]:
    """NANP numbers as people type them: optional ``+1``/``1``/``1-``, separators and parentheses
    anywhere among the digits, sometimes an area or exchange code starting 0/1, sometimes 9 or 11 digits."""
    rng = random.Random(seed)
    seps = ["", "", " ", "-", ".", "  ", " - ", "(", ")", ") ", "--", ". "]
    out = []
    for _ in range(n):
        area = rng.choice(AREAS) if rng.random() < 0.7 else f"{rng.randrange(1000):03d}"
        digits = area + f"{rng.randrange(1000):03d}" + f"{rng.randrange(10000):04d}"
        if rng.random() < 0.05:
            digits = rng.choice([digits[:9], digits + "7"])
        prefix = rng.choice(["", "", "1", "1-", "1 ", "+1 ", "+1", "+1-", "1.", "(1) ", "+ 1 ", "1("])
        if rng.random() < 0.5:  # the usual shapes: (area) exchange-line, area.exchange.line...
            a, b, c = digits[:3], digits[3:6], digits[6:]
            body = rng.choice(["({a}) {b}-{c}", "{a}-{b}-{c}", "{a}.{b}.{c}", "{a} {b} {c}", "{a}{b}-{c}"])
            text = prefix + body.format(a=a, b=b, c=c)
        else:
            text = prefix + "".join(d + rng.choice(seps) for d in digits)
        out.append(
            text if rng.random() < 0.9 else rng.choice([" ", "(", ")"]) + text + rng.choice([" ", ")"])
        )
    return out


@pytest.mark.parametrize("region", ["US", "CA"])
def test_punctuated_numbers_match_phonenumbers(region: str) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest(?) AS cur", [punctuated(5000, seed=len(region) + 7)])
    rows = con.execute(nanp_sql("SELECT DISTINCT cur FROM t", region) or "").fetchall()
    decided = [(cur, got) for cur, fast, got in rows if fast]
    assert len(decided) > 0.8 * len(rows)
    assert sum(1 for cur, _ in decided if cur.lstrip(" (").startswith("1")) > 500
    assert any(got for _, got in decided) and any(not got for _, got in decided)
    assert [(cur, e164(cur, region)) for cur, _ in decided] == decided


def test_fast_path_leaves_other_shapes_to_phonenumbers() -> None:
    con = duckdb.connect()
    others = [
        "+44 20 7946 0958", "(415) 555-2671 ext 3", "+1 415 555 267", "555-CALL-NOW", "+1 1 415 555 2671",
        "11 415 555 2671", "1 015 555 2671", "1/415/555/2671", " +1 415 555 2671", "0114155552671",
    ]  # fmt: skip
    con.execute("CREATE TABLE t AS SELECT unnest(?) AS cur", [others])
    rows = con.execute(nanp_sql("SELECT cur FROM t", "US") or "").fetchall()
    assert [fast for _, fast, _ in rows] == [False] * len(others)


def test_phone_table_combines_both_paths() -> None:
    con = duckdb.connect()
    values = ["(415) 555-2671", "+1 555 000 0000", "+44 20 7946 0958", "12", "415.555.2672"]
    con.execute("CREATE TABLE m AS SELECT unnest(?) AS cur", [[*values, None]])
    phone_table(con, "m", "p", "US")
    got = dict(con.execute("SELECT cur, e164 FROM p").fetchall())
    assert got == {v: e164(v, "US") for v in values}


def test_phone_column_all_on_the_fast_path_end_to_end(tmp_path) -> None:
    """Every phone is a NANP shape, so phonenumbers itself is never called."""
    from tests.unit.jobs.test_clean import clean, read_csv

    phones = ["(415) 555-2671", "+1 555 000 0000", "415.555.2672", "+14155552673", "(415) 555-2671"]
    rows = [[str(i), p] for i, p in enumerate(phones)]
    report, cleaned, out = clean(
        tmp_path, ["id", "phone"], rows, {"steps": [{"step": "outliers", "enabled": False}]}
    )
    assert [r["phone"] for r in cleaned] == ["+14155552671", "+14155552672", "+14155552673", "+14155552671"]
    quarantined = read_csv(out / "quarantine.csv")
    assert [(q["quarantine_row"], q["quarantine_value"]) for q in quarantined] == [("1", "+1 555 000 0000")]
    assert report["summary"]["quarantined"] == 1


def test_phone_query_calls_phonenumbers_only_off_the_fast_path(monkeypatch) -> None:
    import taskq.jobs.clean_phones as clean_phones

    seen: list[str | None] = []

    def counting(value: str | None, region: str) -> str | None:
        seen.append(value)
        return e164(value, region)

    monkeypatch.setattr(clean_phones, "e164", counting)
    con = duckdb.connect()
    values = [*numbers(3000, seed=3), "+44 20 7946 0958", "call me"]
    con.execute("CREATE TABLE m AS SELECT DISTINCT unnest(?) AS cur, 1 AS n", [values])
    con.execute("INSERT INTO m VALUES (NULL, 2)")
    rows = con.execute(
        f"SELECT cur, n, e164 FROM ({phone_query(con, 'SELECT cur, n FROM m', 'US')})"
    ).fetchall()
    fast = {cur for cur, f, _ in con.execute(nanp_sql("SELECT cur FROM m", "US") or "").fetchall() if f}
    assert len(rows) == len(set(values)) + 1
    assert {cur: got for cur, _, got in rows} == {v: e164(v, "US") for v in [*values, None]}
    assert sorted(seen) == sorted(v for v in set(values) if v not in fast)


def test_alternatives_split_only_at_the_top_level() -> None:
    from taskq.jobs.clean_phones import _NSN_SHAPE, _alternatives

    assert _alternatives(r"[2-9]\d{9}|3\d{6}") == [r"[2-9]\d{9}", r"3\d{6}"]
    # Inside a group, a character class or after a backslash, "|" is not an alternative.
    assert _alternatives(r"(?:[2-8]\d|90)\d{8}|[|]\||x") == [r"(?:[2-8]\d|90)\d{8}", r"[|]\|", "x"]
    assert _NSN_SHAPE not in _alternatives(r"(?:[2-9]\d{9}|3)\d{6}")


def test_sql_and_evaluates_its_second_side_only_where_the_first_holds() -> None:
    from taskq.jobs._table import sql_and

    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest(['7', 'x', NULL, '-1']) AS v")
    # A plain AND would cast 'x' and fail the query; NULL reads as false, as in a WHERE.
    cond = sql_and("v <> 'x'", "CAST(v AS INT) > 0")
    assert con.execute(f"SELECT v, {cond} FROM t").fetchall() == [
        ("7", True),
        ("x", False),
        (None, False),
        ("-1", False),
    ]


def test_extensions_are_kept() -> None:
    assert e164("202-555-0143 x12", "US") == "+12025550143;ext=12"
    assert e164("+44 20 7946 0958 ext. 7", "US") == "+442079460958;ext=7"
    assert e164("(202) 555-0143", "US") == "+12025550143"
