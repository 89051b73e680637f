"""Tests for profile-my-data: params, statistics, findings, drift, HTML and progress."""

from __future__ import annotations

import datetime
import json
import math
import random
import statistics
from pathlib import Path

import pytest

from taskq.errors import InputEmpty, InputNotFound, InvalidParams, TaskCancelled, UnknownColumn
from taskq.jobs import execute
from taskq.jobs.profile import validate_params
from taskq.jobs.profile_drift import ks_pvalue
from taskq.jobs.profile_quality import infer_type, readiness, scores
from taskq.jobs.profile_stats import collapse_shape


class Recorder:
    """A progress handle that records updates and can cancel after ``cancel_after`` checks."""

    def __init__(self, cancel_after: int | None = None) -> None:
        self.updates: list[tuple[float, str | None]] = []
        self.checks = 0
        self.cancel_after = cancel_after

    def update(self, percent: float, stage: str | None = None) -> None:
        self.updates.append((percent, stage))
        self.check()

    def check(self) -> None:
        self.checks += 1
        if self.cancel_after is not None and self.checks > self.cancel_after:
            raise TaskCancelled("stop")


def messy_csv(path: Path, n: int = 400, seed: int = 1) -> Path:
    rng = random.Random(seed)
    lines = ["id,name,email,age,amount,ssn,card,joined,note"]
    cards = ["4111 1111 1111 1111", "5500-0000-0000-0004", "4012888888881881"]
    for i in range(n):
        age = str(rng.randint(18, 80)) if i % 40 else rng.choice(["N/A", "unknown", "abc"])
        amount = f"{rng.gauss(100, 10):.2f}" if i != 7 else "99999"
        email = f"user{i}@example.com" if i % 10 else ""
        lines.append(
            f"{i},Name {i % 50},{email},{age},{amount},{100 + i % 800:03d}-12-{1000 + i:04d},"
            f"{cards[i % 3]},2024-01-{1 + i % 28:02d},{'  ' if i % 25 == 0 else 'ok'}"
        )
    lines.append(lines[1])  # one exact duplicate row
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def report(tmp_path: Path) -> tuple[dict, dict]:
    src = messy_csv(tmp_path / "people.csv")
    out = tmp_path / "out"
    rep = execute("profile", src, out, {})
    return rep, json.loads((out / "profile.json").read_text())


def col(profile: dict, name: str) -> dict:
    return next(c for c in profile["columns"] if c["name"] == name)


# --- params ---------------------------------------------------------------------------------------


def test_validate_params_defaults_and_errors():
    p = validate_params({})
    assert p["top_k"] == 10 and p["approx_distinct"] is False and p["baseline"] is None
    with pytest.raises(InvalidParams, match="bogus"):
        validate_params({"bogus": 1})
    for key, value in [
        ("top_k", 0),
        ("top_k", "5"),
        ("approx_distinct", "yes"),
        ("columns", []),
        ("outlier_z", -1),
        ("memory_limit", "lots"),
        ("memory_limit", "0GB"),
        ("baseline", 3),
        ("read_options", []),
    ]:
        with pytest.raises(InvalidParams, match=key):
            validate_params({key: value})


# --- statistics -----------------------------------------------------------------------------------


def test_outputs_and_summary(report, tmp_path):
    rep, prof = report
    assert sorted(rep["outputs"]) == ["profile.html", "profile.json", "report.json"]
    assert rep["input"] == {"name": "people.csv", "format": "csv", "rows": 401, "columns": 9}
    assert rep["summary"]["duplicate_rows"] == 1 == prof["duplicate_rows"]
    assert rep["summary"]["readiness"] in ("ready", "needs review", "not ready")


def test_text_column_inferred_integer_with_failures(report):
    _, prof = report
    age = col(prof, "age")
    assert age["type"] == "VARCHAR" and age["inferred_type"] == "integer"
    # 10 rows (+ the duplicate of row 0) hold N/A/unknown/abc: placeholders are missing, "abc" invalid.
    assert age["placeholders"] + age["invalid"] == 11
    assert age["invalid"] >= 1 and age["placeholders"] >= 1
    assert age["stats"]["min"] >= 18 and age["stats"]["max"] <= 80
    assert set(age["stats"]["quantiles"]) == {"p1", "p5", "p25", "p50", "p75", "p95", "p99"}


def test_blank_and_empty_strings_counted(report):
    _, prof = report
    note = col(prof, "note")
    assert note["whitespace"] == 17  # rows 0, 25, ..., 400 (the duplicate repeats row 0)
    email = col(prof, "email")
    assert email["nulls"] == 41  # empty CSV fields are NULL
    assert email["missing"] == 41


def test_distinct_top_values_and_patterns(report):
    _, prof = report
    name = col(prof, "name")
    assert name["distinct"] == 50 and name["distinct_approx"] is False
    assert name["top_values"][0] == {"value": "Name 0", "count": 9}
    assert len(name["top_values"]) == 10
    joined = col(prof, "joined")
    assert joined["inferred_type"] == "date"
    email = col(prof, "email")
    assert email["patterns"][0]["pattern"].endswith("@aaaaaaa.aaa")


def test_outliers(report):
    _, prof = report
    amount = col(prof, "amount")
    assert amount["inferred_type"] == "float"
    assert amount["outliers"]["iqr"] >= 1
    assert amount["outliers"]["robust_z"] >= 1
    assert sum(amount["histogram"]["counts"]) == 401


def test_pii_hints(report):
    rep, prof = report
    assert col(prof, "email")["pii"]["email"] == 360
    assert col(prof, "card")["pii"]["card"] == 401
    assert col(prof, "ssn")["pii"]["national_id"] == 401
    assert col(prof, "name")["pii"] == {"email": 0, "phone": 0, "card": 0, "national_id": 0}
    codes = {(a["column"], a["code"]) for a in rep["alerts"]}
    assert {("email", "pii_email"), ("card", "pii_card"), ("ssn", "pii_national_id")} <= codes
    assert rep["summary"]["readiness"] == "not ready"  # card numbers are critical


def test_scores_formulas():
    cols = [
        {"missing": 10, "present": 90, "invalid": 9, "inferred_type": "integer", "type": "VARCHAR"},
        {"missing": 0, "present": 100, "invalid": 0, "inferred_type": "integer", "type": "BIGINT"},
    ]
    s = scores(cols, rows=100, duplicates=5)
    assert s["completeness"] == 95.0
    assert s["validity"] == round(100 * (1 - 9 / 190), 1)
    assert s["uniqueness"] == 95.0
    assert s["consistency"] == 95.0
    assert s["overall"] == round((95 + 100 * (1 - 9 / 190) + 95 + 95) / 4, 1)
    assert readiness(s, [])["rating"] == "ready"
    assert readiness(s, [{"severity": "warning", "message": "m"}])["rating"] == "needs review"
    assert readiness(s, [{"severity": "critical", "message": "m"}])["rating"] == "not ready"


def test_infer_type_threshold():
    base = {"present": 100, "parses": {"integer": 95, "float": 95, "boolean": 0, "date": 0, "timestamp": 0}}
    assert infer_type("VARCHAR", base) == ("integer", 5)
    base["parses"]["integer"] = base["parses"]["float"] = 80
    assert infer_type("VARCHAR", base) == ("string", 0)
    assert infer_type("DOUBLE", {}) == ("float", 0)
    assert collapse_shape("Aaaa 99-9999") == "Aa 9-9"


def test_approx_distinct_is_labelled(tmp_path):
    src = messy_csv(tmp_path / "p.csv")
    execute("profile", src, tmp_path / "o", {"approx_distinct": True, "columns": ["name"]})
    prof = json.loads((tmp_path / "o" / "profile.json").read_text())
    name = col(prof, "name")
    assert name["distinct_approx"] is True and 45 <= name["distinct"] <= 55
    assert [c["name"] for c in prof["columns"]] == ["name"]


def test_text_decimals_are_floats_not_integers(tmp_path):
    # DuckDB casts '1.5' to the BIGINT 2: every decimal once "parsed" as an integer, and the
    # report advised storing prices as integers.
    src = tmp_path / "p.csv"
    src.write_text("price,n\n1.5,1\n2.7,2\nn/a,x\n3.25,1e3\n")
    execute("profile", src, tmp_path / "o", {})
    prof = json.loads((tmp_path / "o" / "profile.json").read_text())
    price = col(prof, "price")
    assert price["inferred_type"] == "float" and price["parses"]["integer"] == 0
    assert col(prof, "n")["parses"]["integer"] == 2  # 1e3 is a float's spelling


@pytest.mark.parametrize("top_k", [1, 3, 10, 100])
def test_consistency_does_not_depend_on_how_many_patterns_are_listed(tmp_path, top_k):
    names = ["Al", "Ann", "Anna", "Alice", "Amanda", "Abigail", "Adrianna", "Alexandra", "Antoinette"]
    src = tmp_path / "n.csv"
    src.write_text(
        "first\n" + "".join(f"{n}\n" for n in names + ["Annemarie", "Alessandria", "Anastasiadis"])
    )
    rep = execute("profile", src, tmp_path / "o", {"top_k": top_k})
    # Every value has the shape "Aa" once runs are collapsed; top_k=3 once scored this 25.
    assert rep["summary"]["scores"]["consistency"] == 100.0


def test_pii_hints_leave_order_numbers_and_repeated_digits_alone(tmp_path):
    src = tmp_path / "p.csv"
    rows = [f"A{i},{1_000_000 + i},0000000000000000,(415) 555-{2600 + i}" for i in range(20)]
    src.write_text("ref,order_no,zeros,phone\n" + "\n".join(rows) + "\n")
    execute("profile", src, tmp_path / "o", {})
    prof = json.loads((tmp_path / "o" / "profile.json").read_text())
    assert col(prof, "order_no").get("pii", {}).get("phone", 0) == 0
    assert col(prof, "zeros")["pii"]["card"] == 0
    assert col(prof, "phone")["pii"]["phone"] == 20


def test_ip_addresses_grouped_amounts_and_isbns_raise_no_phone_alert(tmp_path):
    src = tmp_path / "p.csv"
    rows = [
        f"192.168.{i}.{i * 7 % 256},{100 + i} {i * 13 % 1000:03d}.50,978-3-16-{148410 + i}-0"
        for i in range(50)
    ]
    src.write_text("ip,amount,isbn\n" + "\n".join(rows) + "\n")
    rep = execute("profile", src, tmp_path / "o", {})
    assert rep["summary"]["pii_columns"] == []  # each column once raised pii_phone
    assert rep["summary"]["readiness"] == "ready"


def test_batch_ids_year_ranges_upc_codes_and_opening_hours_are_no_phones(tmp_path):
    def check(body: str) -> int:  # the UPC-A check digit of 11 digits
        return -sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body)) % 10

    rows = []
    for i in range(40):
        body = f"0{10450060 + 37 * i:010d}"
        rows.append(
            f"2024{1 + i % 12:02d}{1 + i % 28:02d}-{i % 24:02d}{i % 60:02d}{i * 7 % 60:02d},"
            f"{2000 + i % 20} - {2001 + i % 20},{body}{check(body)},{7 + i % 3:02d}00-{16 + i % 4}00,"
            f"{2000 + i}-{3000 + i},{body}{(check(body) + 1) % 10}"
        )
    (tmp_path / "p.csv").write_text(
        "batch,seasons,upc,hours,hk,bad_check\n" + "".join(r + "\n" for r in rows)
    )
    rep = execute("profile", tmp_path / "p.csv", tmp_path / "o", {"threads": 1})
    prof = json.loads((tmp_path / "o" / "profile.json").read_text())
    phones = {c["name"]: c["pii"]["phone"] for c in prof["columns"]}
    # An 8-digit number written 2000-3000 is no clock time pair; a 12-digit number with a 0 first
    # whose last digit fails the UPC check is no product code: both stay phone-like.
    assert phones == {"batch": 0, "seasons": 0, "upc": 0, "hours": 0, "hk": 40, "bad_check": 40}
    assert sorted(rep["summary"]["pii_columns"]) == ["bad_check", "hk"]


def test_approximate_distinct_never_exceeds_the_values(tmp_path):
    src = tmp_path / "p.csv"
    src.write_text("k\n" + "".join(f"user{i}@x.com\n" for i in range(25_000)))  # HLL says 25,441
    execute("profile", src, tmp_path / "o", {"approx_distinct": True})
    k = col(json.loads((tmp_path / "o" / "profile.json").read_text()), "k")
    assert k["distinct_approx"] is True and k["distinct"] <= k["non_null"] == 25_000


def test_a_column_named_twice_is_refused():
    with pytest.raises(InvalidParams, match="each column once"):
        validate_params({"columns": ["a", "b", "a"]})


# --- drift ----------------------------------------------------------------------------------------


def test_ks_pvalue_matches_known_values():
    assert ks_pvalue(0.0, 100, 100) == 1.0
    assert math.isclose(ks_pvalue(0.2, 100, 100), 0.0366, abs_tol=0.01)
    assert ks_pvalue(0.5, 1000, 1000) < 1e-10


def test_drift_against_baseline(tmp_path):
    rng = random.Random(3)
    base = tmp_path / "base.csv"
    cur = tmp_path / "cur.csv"
    base.write_text(
        "x,c,only_base\n" + "".join(f"{rng.gauss(0, 1):.4f},{rng.choice('ab')},1\n" for _ in range(2000))
    )
    cur.write_text("x,c\n" + "".join(f"{rng.gauss(1, 1):.4f},{rng.choice('ab')}\n" for _ in range(2000)))
    rep = execute("profile", cur, tmp_path / "o", {"baseline": str(base)})
    prof = json.loads((tmp_path / "o" / "profile.json").read_text())
    drift = {d["column"]: d for d in prof["drift"]}
    assert drift["x"]["test"] == "ks" and drift["x"]["drifted"] is True and drift["x"]["p_value"] < 1e-6
    assert drift["c"]["test"] == "psi" and drift["c"]["drifted"] is False and drift["c"]["status"] == "stable"
    assert drift["only_base"]["summary"] == "only in the baseline"
    assert drift["only_base"]["status"] == "not compared"
    assert rep["summary"]["drifted_columns"] == ["x"]
    with pytest.raises(InputNotFound, match="baseline"):
        execute("profile", cur, tmp_path / "o2", {"baseline": str(tmp_path / "nope.csv")})


def test_drift_with_nothing_to_compare_is_drift_and_the_json_stays_strict(tmp_path):
    base = tmp_path / "base.csv"
    cur = tmp_path / "cur.csv"
    base.write_text("x,gone,k\nfoo,1,1\nbar,2,2\n")
    cur.write_text("x,gone,k,e5,a1\n1,,1,5,1\n2,,2,5,1\n3,,3,5,1\n")
    execute("profile", cur, tmp_path / "o", {"baseline": str(base)})
    text = (tmp_path / "o" / "profile.json").read_text()
    prof = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    drift = {d["column"]: d for d in prof["drift"]}
    # Numbers now, words in the baseline: no D to compute (it was NaN, "stable"), and no evidence of
    # a change either: none of the words reads as a number.
    assert drift["x"]["status"] == "not testable" and drift["x"]["statistic"] is None
    assert drift["x"]["summary"] == (
        "none of the 2 values in the baseline reads as a number, so there are no numeric values to compare"
    )
    assert (
        drift["gone"]["drifted"] is True and drift["gone"]["summary"] == "no values in the input to compare"
    )
    assert drift["k"]["drifted"] is False
    # Columns only in the input come in input order (a set once made the order vary between runs).
    assert [d["column"] for d in prof["drift"] if d["summary"] == "only in the input"] == ["e5", "a1"]


def test_typed_and_text_values_are_compared_as_read_not_as_spelled(tmp_path):
    # The baseline's one "maybe" (and "x") keeps its column text: TRUE against the input's typed
    # true was PSI 17.7, drifted; 10:05 against the typed 10:05:00 the same.
    flags = ["TRUE" if i % 3 else "FALSE" for i in range(200)]
    times = [f"10:{5 * (i % 12):02d}" for i in range(200)]
    cur, base = tmp_path / "cur.csv", tmp_path / "base.csv"
    cur.write_text("flag,t\n" + "".join(f"{f},{t}:00\n" for f, t in zip(flags, times, strict=True)))
    base.write_text("flag,t\n" + "".join(f"{f},{t}\n" for f, t in zip(flags, times, strict=True)))
    base.write_text(base.read_text() + "maybe,x\n,\n")
    execute("profile", cur, tmp_path / "o", {"baseline": str(base), "threads": 1})
    prof = json.loads((tmp_path / "o" / "profile.json").read_text())
    assert [c["type"] for c in prof["columns"]] == ["BOOLEAN", "TIME"]
    drift = {d["column"]: d for d in prof["drift"]}
    for name in ("flag", "t"):
        assert drift[name]["test"] == "psi" and drift[name]["status"] == "stable", drift[name]
        assert drift[name]["n_baseline"] == 201  # the blank row is none, as the typed side's NULL


def test_unreadable_dates_or_numbers_and_empty_columns_are_not_testable(tmp_path):
    # 01/31/2024 text (kept text by one "junk") against typed dates: 0 values by the ISO rule, which
    # was "drifted: no date or time values in the baseline". Empty in both files was "stable".
    cur, base = tmp_path / "cur.csv", tmp_path / "base.csv"
    days = [datetime.date(2024, 1, 1) + datetime.timedelta(days=i) for i in range(100)]
    cur.write_text("d,n,e,gone\n" + "".join(f"{d:%m/%d/%Y},{i},,{i}\n" for i, d in enumerate(days)))
    base.write_text(
        "d,n,e,gone\n" + "".join(f"{d:%m/%d/%Y},w{i},,\n" for i, d in enumerate(days)) + "junk,w,,\n"
    )
    execute("profile", cur, tmp_path / "o", {"baseline": str(base), "threads": 1})
    prof = json.loads((tmp_path / "o" / "profile.json").read_text())
    assert col(prof, "d")["type"] == "DATE"
    drift = {d["column"]: d for d in prof["drift"]}
    assert [drift[c]["status"] for c in ("d", "n", "e", "gone")] == [
        "not testable",
        "not testable",
        "not testable",
        "drifted",
    ]
    assert drift["d"]["test"] == "ks" and drift["d"]["summary"].startswith(
        "none of the 101 values in the baseline reads as a date or time by the profile's rule (ISO 8601"
    )
    assert drift["n"]["summary"].startswith("none of the 101 values in the baseline reads as a number")
    assert drift["e"]["summary"] == "no values in either file to compare"
    assert {i["column"] for i in prof["issues"] if i["code"] == "drift_not_testable"} == {"d", "n", "e"}


def test_placeholders_are_no_values_in_text_psi(tmp_path):
    # All N/A in both files was "stable"; N/A against "-" was "drifted", PSI 18.4; a column
    # half N/A in one file and half "-" in the other, its real values alike, was drifted too.
    real = [f"v{i % 5}" for i in range(100)]
    base = "same,swap,mixed,gone\n" + "".join(f"N/A,-,{v if i % 2 else '-'},a\n" for i, v in enumerate(real))
    cur = "same,swap,mixed,gone\n" + "".join(
        f"N/A,N/A,{v if i % 2 else 'null'},N/A\n" for i, v in enumerate(real)
    )
    _, prof = _drift_of(tmp_path, base, cur)
    drift = {d["column"]: d for d in prof["drift"]}
    assert [drift[c]["status"] for c in ("same", "swap", "mixed", "gone")] == [
        "not testable",
        "not testable",
        "stable",
        "drifted",
    ]
    assert drift["swap"]["summary"] == "no values in either file to compare"
    assert (drift["mixed"]["n"], drift["mixed"]["n_baseline"]) == (50, 50)
    assert drift["gone"]["summary"] == "no values in the input to compare"


def test_a_side_where_under_half_the_values_read_is_not_testable(tmp_path):
    # 299 "$375.15" amounts and one plain number: KS on that one value said "stable".
    base = "amount,shipped\n" + "".join(f"{100 + i}.5,2024-01-{1 + i % 28:02d}\n" for i in range(300))
    rows = [f"${375 + i}.15,02/{1 + i % 28:02d}/2024" for i in range(299)] + ["340.94,2024-03-01"]
    _, prof = _drift_of(tmp_path, base, "amount,shipped\n" + "".join(r + "\n" for r in rows))
    drift = {d["column"]: d for d in prof["drift"]}
    assert [(drift[c]["test"], drift[c]["status"]) for c in ("amount", "shipped")] == [
        ("ks", "not testable"),
        ("ks", "not testable"),
    ]
    assert drift["amount"]["summary"] == (
        "only 1 of the 300 values in the input reads as a number, so there are too few numeric values to compare"
    )
    assert drift["shipped"]["summary"].startswith("only 1 of the 300 values in the input reads as a date")
    assert drift["amount"]["statistic"] is None and drift["amount"]["p_value"] is None


def test_no_values_on_one_side_drifts_even_when_the_other_side_does_not_read(tmp_path):
    # A typed baseline all NULL against 100 words: "not testable, no numeric values in either file",
    # as if both sides were empty; the RUNBOOK says no values on one side has drifted.
    import duckdb

    base = tmp_path / "base.parquet"
    duckdb.sql(
        "SELECT i AS id, CAST(NULL AS DOUBLE) AS discount, CAST(NULL AS DATE) AS shipped FROM range(100) t(i)"
    ).write_parquet(str(base))
    cur = tmp_path / "cur.csv"
    cur.write_text("id,discount,shipped\n" + "".join(f"{i},spring sale,pending\n" for i in range(100)))
    execute("profile", cur, tmp_path / "o", {"baseline": str(base), "threads": 1})
    drift = {d["column"]: d for d in json.loads((tmp_path / "o" / "profile.json").read_text())["drift"]}
    for name in ("discount", "shipped"):
        assert drift[name]["status"] == "drifted", drift[name]
        assert drift[name]["summary"] == "no values in the baseline to compare"


def test_text_timestamps_with_an_offset_are_read_as_their_utc_instant(tmp_path):
    # The cast to TIMESTAMP dropped the offset: 05:00+05:00 was 05:00 UTC, and the same instants
    # written +05:00 and Z drifted (D=0.52). Naive values, and dates ending "-05", keep their clock.
    t0 = datetime.datetime(2024, 3, 1, tzinfo=datetime.UTC)
    instants = [t0 + datetime.timedelta(minutes=7 * i) for i in range(200)]
    plus5 = datetime.timezone(datetime.timedelta(hours=5))
    cur = ["N/A"] + [t.astimezone(plus5).isoformat() for t in instants]
    base = ["N/A"] + [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in instants]
    _, prof = _drift_of(
        tmp_path, "t\n" + "".join(f"{v}\n" for v in base), "t\n" + "".join(f"{v}\n" for v in cur)
    )
    t = col(prof, "t")
    assert t["inferred_type"] == "timestamp"
    assert (t["stats"]["min"], t["stats"]["max"]) == ("2024-03-01 00:00:00", "2024-03-01 23:13:00")
    [d] = prof["drift"]
    assert (d["status"], d["statistic"]) == ("stable", 0.0)
    mixed = [
        "2024-01-05",
        "2024-01-05 10:00",
        "2024-01-05T10:00:00-0130",
        "2024-01-05 10:00 UTC",
        "2024-01-05T03:00+14",
    ]
    c = _profile_text(tmp_path, "t", mixed)
    assert c["invalid"] == 0
    assert (c["stats"]["min"], c["stats"]["max"]) == ("2024-01-04 13:00:00", "2024-01-05 11:30:00")


# --- errors, progress, html -----------------------------------------------------------------------


def test_unknown_column_and_bad_input(tmp_path):
    src = messy_csv(tmp_path / "p.csv", n=20)
    with pytest.raises(UnknownColumn, match="nope"):
        execute("profile", src, tmp_path / "o", {"columns": ["nope"]})
    (tmp_path / "h.csv").write_text("a,b\n")
    with pytest.raises(InputEmpty):
        execute("profile", tmp_path / "h.csv", tmp_path / "o", {})
    assert not (tmp_path / "o").exists()


def test_progress_stages_and_cancellation(tmp_path):
    src = messy_csv(tmp_path / "p.csv", n=50)
    rec = Recorder()
    execute("profile", src, tmp_path / "o", {}, progress=rec)
    stages = [s for _, s in rec.updates]
    assert stages[0] == "reading" and stages[-1] == "done"
    assert any(s and s.startswith("column 9/9") for s in stages)
    assert "writing" in stages
    percents = [p for p, _ in rec.updates]
    assert percents == sorted(percents)
    with pytest.raises(TaskCancelled):
        execute("profile", src, tmp_path / "o2", {}, progress=Recorder(cancel_after=5))
    assert not (tmp_path / "o2").exists()


def test_html_is_self_contained_and_escaped(tmp_path):
    src = tmp_path / "x.csv"
    src.write_text("label,v\n<script>alert(1)</script>,1\nok,2\nok,3\n")
    execute("profile", src, tmp_path / "o", {})
    page = (tmp_path / "o" / "profile.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<svg" in page and "<style>" in page
    assert "http://" not in page and "https://" not in page


def test_too_many_columns_is_a_clean_input_error_unless_a_subset_is_asked(tmp_path):
    import pytest

    from taskq.errors import InputTooLarge
    from taskq.jobs import execute

    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(30)) + "\n" + ",".join("1" for _ in range(30)) + "\n")
    with pytest.raises(InputTooLarge, match="30 columns"):
        execute("profile", wide, tmp_path / "out", {"max_columns": 20})
    assert not (tmp_path / "out").exists()
    report = execute("profile", wide, tmp_path / "out", {"max_columns": 20, "columns": ["c1", "c2"]})
    assert report["tool"] == "profile-my-data"


def test_html_shows_edge_whitespace_so_look_alike_values_differ():
    from taskq.jobs.profile_html import _visible_edges

    assert _visible_edges(" Paris") == "␣Paris"
    assert _visible_edges("Aaaaa ") == "Aaaaa␣"
    assert _visible_edges("New York") == "New York"
    assert _visible_edges("  ") == "␣␣"


# --- sampled columns, inference and PII edge cases (QA findings) ----------------------------------


def test_a_value_filling_most_of_a_high_cardinality_column_is_always_in_the_sample(tmp_path):
    # 30,000 distinct words (more than PATTERN_SAMPLE) plus "1" on 300,000 rows: a plain hash
    # sample of distinct values can leave "1" out, and inferred a 91 % integer column "string".
    src = tmp_path / "heavy.csv"
    src.write_text("v\n" + "".join(f"w{i:05d}x\n" for i in range(30_000)) + "1\n" * 300_000)
    execute("profile", src, tmp_path / "o", {})
    v = col(json.loads((tmp_path / "o" / "profile.json").read_text()), "v")
    assert v["patterns_sampled"] is True
    assert v["parses"]["integer"] == 300_000 and v["inferred_type"] == "integer"
    assert v["patterns"][0] == {"pattern": "9", "count": 300_000}
    assert abs(v["patterns"][1]["count"] - 30_000) <= 300  # the sampled shape, scaled


def test_sampled_pii_counts_do_not_scale_a_frequent_value_with_the_rest(tmp_path):
    src = tmp_path / "phones.csv"
    rows = [f"(415) {200 + i // 10_000:03d}-{i % 10_000:04d}" for i in range(60_000)] + ["hello"] * 60_000
    src.write_text("phone\n" + "\n".join(rows) + "\n")
    execute("profile", src, tmp_path / "o", {})
    p = col(json.loads((tmp_path / "o" / "profile.json").read_text()), "phone")
    assert abs(p["pii"]["phone"] - 60_000) <= 1_500  # was 120,000: "hello" scaled as a phone
    assert {"pattern": "aaaaa", "count": 60_000} in p["patterns"]


def test_text_timestamps_are_not_inferred_as_dates(tmp_path):
    src = tmp_path / "ts.csv"
    src.write_text("ts\n" + "".join(f"2024-01-{d:02d} 1{d % 10}:30:00\n" for d in range(1, 20)) + "bad\n")
    execute("profile", src, tmp_path / "o", {})
    ts = col(json.loads((tmp_path / "o" / "profile.json").read_text()), "ts")
    assert ts["parses"]["date"] == 0 and ts["inferred_type"] == "timestamp"
    assert ts["stats"]["max"].startswith("2024-01-19") and "19:30" in ts["stats"]["max"]


def test_card_numbers_stored_as_numbers_are_flagged_and_random_ids_are_not(tmp_path):
    def luhn_ok(digits: str) -> bool:
        total = 0
        for i, ch in enumerate(reversed(digits)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        return total % 10 == 0

    rng = random.Random(5)
    cards = []
    while len(cards) < 200:
        body = "4" + "".join(rng.choice("0123456789") for _ in range(14))
        check = next(str(c) for c in range(10) if luhn_ok(body + str(c)))
        cards.append(body + check)
    ids = ["".join(rng.choice("123456789") for _ in range(16)) for _ in range(200)]
    assert 5 <= sum(map(luhn_ok, ids)) <= 40  # about one in ten passes by chance
    src = tmp_path / "c.csv"
    src.write_text("card,tracking\n" + "".join(f"{c},{t}\n" for c, t in zip(cards, ids, strict=True)))
    rep = execute("profile", src, tmp_path / "o", {})
    prof = json.loads((tmp_path / "o" / "profile.json").read_text())
    assert col(prof, "card")["type"] == "BIGINT" and col(prof, "card")["pii"]["card"] == 200
    assert rep["summary"]["pii_columns"] == ["card"]  # not "tracking", though some pass Luhn


def test_drift_uses_ks_when_only_the_baseline_is_numeric(tmp_path):
    rng = random.Random(9)
    base = tmp_path / "base.csv"
    cur = tmp_path / "cur.csv"
    base.write_text("x\n" + "".join(f"{rng.gauss(100, 10):.3f}\n" for _ in range(2000)))
    junk = ["n/a?", "see note", "tbd"]
    cur.write_text(
        "x\n"
        + "".join(f"{rng.gauss(200, 10):.3f}\n" if i % 7 else f"{rng.choice(junk)}\n" for i in range(2000))
    )
    execute("profile", cur, tmp_path / "o", {"baseline": str(base)})
    prof = json.loads((tmp_path / "o" / "profile.json").read_text())
    assert col(prof, "x")["inferred_type"] == "string"  # 14 % junk: below the 90 % threshold
    (x,) = prof["drift"]
    assert x["test"] == "ks" and x["drifted"] is True and x["statistic"] == 1.0


def test_drift_compares_the_values_the_statistics_count(tmp_path):
    # KS read text with a plain cast: "nan" entered as NaN, "1_000" as 1000 and "0x10" as 16,
    # values the profile's own statistics leave out.
    base = tmp_path / "base.csv"
    cur = tmp_path / "cur.csv"
    base.write_text("x\n" + "".join(f"{i}\n" for i in range(1, 201)))
    cur.write_text("x\n" + "".join(f"{i}\n" for i in range(1, 201)) + "nan\n1_000\n0x10\nNaN\n")
    execute("profile", cur, tmp_path / "o", {"baseline": str(base)})
    (x,) = json.loads((tmp_path / "o" / "profile.json").read_text())["drift"]
    assert x["test"] == "ks" and (x["n"], x["n_baseline"]) == (200, 200)
    assert x["statistic"] == 0.0 and x["drifted"] is False


def _drift_of(tmp_path: Path, base: str, cur: str) -> tuple[dict, dict]:
    (tmp_path / "base.csv").write_text(base)
    (tmp_path / "cur.csv").write_text(cur)
    rep = execute("profile", tmp_path / "cur.csv", tmp_path / "o", {"baseline": str(tmp_path / "base.csv")})
    return rep, json.loads((tmp_path / "o" / "profile.json").read_text())


def _series(start: str, n: int = 1000, every: int = 37, fmt: str = "%Y-%m-%d %H:%M:%S") -> list[str]:
    t0 = datetime.datetime.fromisoformat(start)
    return [(t0 + datetime.timedelta(minutes=every * i)).strftime(fmt) for i in range(n)]


def test_a_shifted_timestamp_column_drifts_by_ks_on_epoch_seconds(tmp_path):
    # The same 1,000 timestamps 17 months later: PSI over the top 20 + "other" said 0.042, stable.
    def rows(start: str, junk: bool) -> str:
        days = _series(start, every=1440, fmt="%Y-%m-%d")
        text = [t if i % 50 or not junk else "n/a?" for i, t in enumerate(_series(start))]
        return "t,d,s\n" + "".join(
            f"{t},{d},{s}\n" for t, d, s in zip(_series(start), days, text, strict=True)
        )

    base, cur = rows("2024-01-01", False), rows("2025-06-01", True)  # 2 % junk: "s" is text
    rep, prof = _drift_of(tmp_path, base, cur)
    assert [col(prof, c)["inferred_type"] for c in "tds"] == ["timestamp", "date", "timestamp"]
    assert col(prof, "s")["type"] == "VARCHAR"
    drift = {d["column"]: d for d in prof["drift"]}
    for c in "tds":
        assert drift[c]["test"] == "ks" and drift[c]["statistic"] > 0.5, drift[c]  # d: 1,000 days overlap
        assert drift[c]["drifted"] is True and drift[c]["status"] == "drifted"
    assert rep["summary"]["drifted_columns"] == ["t", "d", "s"]


def test_an_unmoved_timestamp_column_is_stable_and_a_date_baseline_picks_ks(tmp_path):
    junk = ["soon", "see note", "tbd"]
    # "u" is dates in the baseline (typed DATE), "v" text dates there (2 % junk); both are
    # text now with 20 % junk (inferred string): the baseline's dates still decide the test.
    base = "t,u,v\n" + "".join(
        f"{t},{t[:10]},{t[:10] if i % 50 else junk[0]}\n" for i, t in enumerate(_series("2024-01-01"))
    )
    cur = (
        "t,u,v\n"
        + "".join(
            f"{t},{d},{d}\n"
            for i, t in enumerate(_series("2024-01-01 00:10"))  # ten minutes on: the same spread
            for d in [t[:10] if i % 5 else junk[i % 3]]
        )
    )
    _rep, prof = _drift_of(tmp_path, base, cur)
    assert col(prof, "u")["inferred_type"] == col(prof, "v")["inferred_type"] == "string"
    drift = {d["column"]: d for d in prof["drift"]}
    assert drift["t"]["test"] == "ks" and drift["t"]["drifted"] is False and drift["t"]["status"] == "stable"
    for c in "uv":  # the junk is no date: left out
        assert drift[c]["test"] == "ks" and drift[c]["n"] == 800 and drift[c]["status"] == "stable", drift[c]


def test_ids_and_free_text_are_not_testable_by_psi_rather_than_stable(tmp_path):
    base = "id,note,c\n" + "".join(f"u{i},note number {i * 7},{'ab'[i % 2]}\n" for i in range(1000))
    # New ids and notes, wholly unlike the old ones; "c" keeps its two values.
    cur = "id,note,c\n" + "".join(f"x{i},other text {i * 3},{'ab'[i % 3 % 2]}\n" for i in range(1000))
    rep, prof = _drift_of(tmp_path, base, cur)
    drift = {d["column"]: d for d in prof["drift"]}
    for c in ("id", "note"):
        assert drift[c]["test"] == "psi" and drift[c]["status"] == "not testable", drift[c]
        assert drift[c]["drifted"] is None and drift[c]["statistic"] is None
        assert drift[c]["coverage"] == {"input": 0.0, "baseline": 0.02}
        assert "20 most common values are 2.0% of it and 0.0% of the input" in drift[c]["summary"]
    assert drift["c"]["status"] == "stable" and drift["c"]["coverage"] == {"input": 1.0, "baseline": 1.0}
    assert rep["summary"]["drifted_columns"] == []
    codes = [(f["code"], f.get("column")) for f in prof["issues"] if f["code"].startswith("drift")]
    assert codes == [("drift_not_testable", "id"), ("drift_not_testable", "note")]
    page = (tmp_path / "o" / "profile.html").read_text()
    assert page.count(">not testable</td>") == 2 and page.count(">stable</td>") == 1


def test_a_flood_of_new_values_still_drifts_whatever_the_coverage(tmp_path):
    base = "c\n" + "".join(f"{'abc'[i % 3]}\n" for i in range(1000))
    cur = "c\n" + "".join(f"{'abc'[i % 3] if i % 4 == 0 else f'new{i}'}\n" for i in range(1000))
    _rep, prof = _drift_of(tmp_path, base, cur)
    (c,) = prof["drift"]
    assert c["coverage"]["input"] == 0.25 and c["drifted"] is True and c["status"] == "drifted"


def test_an_unreadable_baseline_is_named_as_the_baseline(tmp_path):
    cur = tmp_path / "cur.csv"
    cur.write_text("x\n1\n2\n")
    (tmp_path / "base.csv").write_text("")
    with pytest.raises(InputEmpty, match=r"^baseline base\.csv: the file is empty"):
        execute("profile", cur, tmp_path / "o", {"baseline": str(tmp_path / "base.csv")})


def test_json_integers_past_64_bits_profile_as_integers(tmp_path: Path) -> None:
    # They were read as DOUBLE: type DOUBLE, inferred float, top value 1.2345678901234569e+23.
    src = tmp_path / "ids.jsonl"
    src.write_text('{"id": 123456789012345678901234}\n{"id": 5}\n{"id": 18446744073709551616}\n')
    execute("profile", src, tmp_path / "out", {})
    [col] = json.loads((tmp_path / "out" / "profile.json").read_text())["columns"]
    assert (col["type"], col["inferred_type"]) == ("HUGEINT", "integer")
    assert {v["value"] for v in col["top_values"]} == {
        "123456789012345678901234",
        "5",
        "18446744073709551616",
    }


@pytest.mark.parametrize("evidence", ["", "13/11/2023,x\n"])
def test_profile_reports_the_dates_clean_writes(tmp_path, evidence):
    # 01/02/2024 with no day above 12: DuckDB's sniffer read 1 February, clean writes 2 January.
    src = tmp_path / "d.csv"
    src.write_text("d,t\n01/02/2024,a\n03/04/2024,b\n12/11/2023,c\n" + evidence)
    execute("profile", src, tmp_path / "p", {})
    execute("clean", src, tmp_path / "c", {})
    prof = col(json.loads((tmp_path / "p" / "profile.json").read_text()), "d")
    cleaned = [line.split(",")[0] for line in (tmp_path / "c" / "cleaned.csv").read_text().splitlines()[1:]]
    assert (prof["stats"]["min"], prof["stats"]["max"]) == (min(cleaned), max(cleaned))
    assert sorted(v["value"] for v in prof["top_values"]) == sorted(cleaned)
    assert ("2024-01-02" in cleaned) == (not evidence)


def _profile_text(tmp_path: Path, header: str, values: list[str]) -> dict:
    """Profile one CSV column of ``values`` (read as text) and return it."""
    src = tmp_path / "v.csv"
    src.write_text(header + "\n" + "".join(f"{v}\n" for v in values))
    execute("profile", src, tmp_path / "o", {"threads": 1})
    [c] = json.loads((tmp_path / "o" / "profile.json").read_text())["columns"]
    return c


def test_statistics_of_a_text_column_leave_out_its_invalid_values(tmp_path):
    # 2.5, 1e3 and 1_000 are invalid in a column inferred integer, yet a plain cast to DOUBLE
    # fed them to the statistics: count 98, max 1000, mean 66.96.
    c = _profile_text(tmp_path, "v", [str(i) for i in range(1, 96)] + ["2.5", "1e3", "1_000", "0x10", "0b11"])
    assert c["type"] == "VARCHAR" and (c["inferred_type"], c["invalid"]) == ("integer", 5)
    st = c["stats"]
    assert (st["count"], st["min"], st["max"], st["mean"]) == (95, 1, 95, 48.0)
    assert sum(c["histogram"]["counts"]) == 95 and st["quantiles"]["p50"] == 48.0


def test_a_text_column_inferred_float_keeps_its_integers_and_drops_digit_groups(tmp_path):
    values = [f"{i}.5" for i in range(40)] + [str(i) for i in range(40)] + ["1_000.5", "abc"]
    c = _profile_text(tmp_path, "v", values)
    assert (c["inferred_type"], c["invalid"]) == ("float", 2)
    assert (c["stats"]["count"], c["stats"]["max"]) == (80, 39.5)


def test_text_integers_past_2_53_keep_their_spread(tmp_path):
    # Cast to DOUBLE, 2**60 + i were one number: std 0 (true: 29.01).
    c = _profile_text(tmp_path, "id", [str(2**60 + i) for i in range(100)] + ["x"])
    assert (c["inferred_type"], c["invalid"]) == ("integer", 1)
    assert abs(c["stats"]["std"] - statistics.stdev(range(100))) < 1e-9


def test_text_integers_past_bigint_are_integers_with_exact_ends(tmp_path):
    # Cast to BIGINT only, 20-digit ids near 2**64 were floats: min == max, std 0.
    c = _profile_text(tmp_path, "id", [str(2**64 - 16 + i) for i in range(20)] + ["junk"])
    assert (c["inferred_type"], c["invalid"]) == ("integer", 1)
    assert (c["stats"]["min"], c["stats"]["max"]) == (2**64 - 16, 2**64 + 3)
    assert abs(c["stats"]["std"] - statistics.stdev(range(20))) < 1e-9


def test_integers_past_39_digits_are_profiled_as_text_with_a_finding(tmp_path):
    # DuckDB types such a CSV column BIGNUM: it was inferred "other", with no statistics and no finding.
    src = tmp_path / "w.csv"
    src.write_text("n\n" + "".join(f"{100 * i}\n" for i in range(1, 30)) + f"{10**39 + 7}\n-{10**40}\n")
    rep = execute("profile", src, tmp_path / "o", {"threads": 1})
    prof = json.loads((tmp_path / "o" / "profile.json").read_text())
    n = col(prof, "n")
    assert (n["type"], n["inferred_type"], n["invalid"], n["present"]) == ("BIGNUM", "string", 0, 31)
    assert n["length"]["max"] == 42 and n["distinct"] == 31
    [wide] = [i for i in rep["issues"] if i["code"] == "wide_integers"]
    assert (wide["severity"], wide["column"]) == ("info", "n") and "42 characters" in wide["message"]


def test_the_date_range_of_a_text_column_leaves_out_date_times(tmp_path):
    # A date column's values must have no time of day; DuckDB casts '2030-01-01 10:00' to a DATE anyway.
    values = [f"2020-01-{d:02d}" for d in range(1, 21)] + ["2030-01-01 10:00", "x"]
    c = _profile_text(tmp_path, "d", values)
    assert (c["inferred_type"], c["invalid"]) == ("date", 2)
    assert c["stats"] == {"min": "2020-01-01", "max": "2020-01-20"}


def test_typed_columns_keep_every_value_in_their_statistics(tmp_path):
    src = tmp_path / "t.csv"
    src.write_text("i,f\n" + "".join(f"{k},{k}.5\n" for k in range(1, 51)))
    execute("profile", src, tmp_path / "o", {"threads": 1})
    prof = json.loads((tmp_path / "o" / "profile.json").read_text())
    i, f = col(prof, "i"), col(prof, "f")
    assert (i["type"], f["type"]) == ("BIGINT", "DOUBLE")
    assert (i["stats"]["count"], i["stats"]["max"], i["stats"]["mean"]) == (50, 50, 25.5)
    assert (f["stats"]["count"], f["stats"]["max"], f["stats"]["mean"]) == (50, 50.5, 26.0)


def test_html_numbers_have_no_invented_digits():
    from taskq.jobs.profile_html import _num

    assert _num(2**64 - 1) == "18,446,744,073,709,551,615"  # an exact integer keeps every digit
    assert _num(1e308) == "1e+308" and _num(-1.8446744073709552e19) == "-1.84467e+19"
    assert _num(123456.7) == "123,457" and _num(12.3456) == "12.35" and _num(0.00001234) == "1.234e-05"
    assert _num(float("nan")) == "–" and _num(None) == "–"
    # Rounding up to 10,000 or to 1e15 picks the form of the rounded value: 9999.5 was "1e+04".
    assert [_num(v) for v in (9999.5, 9999.96, -9999.7, 9999.4)] == ["10,000", "10,000", "-10,000", "9,999"]
    assert _num(999999999999999.9) == "1e+15" and _num(999999999999998.0) == "999,999,999,999,998"


def test_html_rounds_halves_away_from_zero_and_never_shows_minus_zero():
    from taskq.jobs.profile_html import _num

    # Python's formats round halves to even: 1234.5 showed as 1,234 and 0.125 as 0.12.
    assert [_num(v) for v in (1234.5, 1235.5, -2.5, 0.125, 12.345, 2.675)] == [
        "1,235",
        "1,236",
        "-2.5",
        "0.125",
        "12.35",
        "2.675",
    ]
    assert _num(-1234.5) == "-1,235"
    assert [_num(v) for v in (12344.5, -12345.5, 0.12345, 1.0005)] == ["12,345", "-12,346", "0.1235", "1.001"]
    assert [_num(v) for v in (-0.0, 0.0, -0.00004, -0.4)] == ["0", "0", "-4e-05", "-0.4"]
    assert _num(-0.4999) == "-0.4999" and _num(-12345.4) == "-12,345"


def test_html_lists_all_seven_quantiles_and_defines_them(tmp_path):
    src = tmp_path / "q.csv"
    src.write_text("v,s\n" + "".join(f"{i},e\u0301\n" for i in range(1, 101)))
    execute("profile", src, tmp_path / "o", {})
    page = (tmp_path / "o" / "profile.html").read_text(encoding="utf-8")
    for key in ("p1", "p5", "p25", "p50", "p75", "p95", "p99"):
        assert f"<th>{key}</th>" in page
    assert "<th>p5</th><td>5.95</td>" in page and "<th>p95</th><td>95.05</td>" in page
    assert "quantile_cont" in page and "Unicode code points" in page
    # The footnote says how numbers are shown, as the RUNBOOK promises.
    assert "4 significant digits below 10,000" in page and "from 1e15 up and below 1e-4" in page
    s = col(json.loads((tmp_path / "o" / "profile.json").read_text()), "s")
    assert s["length"]["max"] == 2  # e + combining accent: two code points


def test_amounts_with_a_currency_sign_get_a_pointer_to_clean(tmp_path):
    # "$4,217.18" was a string with no word said, while clean-my-data converts such a column.
    src = tmp_path / "s.csv"
    rows = [f'{i},"${i * 37:,}.{i % 100:02d}","€{i}",{i}%\n' for i in range(200)] + ["200,free,$5,1%\n"]
    src.write_text("id,amount,mixed,discount\n" + "".join(rows))
    rep = execute("profile", src, tmp_path / "o", {})
    recs = [r for r in rep["recommendations"] if r["code"] == "currency_amounts"]
    assert [r["column"] for r in recs] == ["amount"] and "$" in recs[0]["message"]  # two signs: no promise
    amount = col(json.loads((tmp_path / "o" / "profile.json").read_text()), "amount")
    assert amount["amounts"] == {"currency": "$", "share": 0.995}


def test_numbers_with_thousands_separators_get_a_pointer_to_clean(tmp_path):
    # QA: 1,234 and 1.234,56 were profiled as plain strings, while clean-my-data converts them.
    src = tmp_path / "n.csv"
    rows = [f'{i},"{i * 1037:,}","{f"{i * 1037:,}".replace(",", ".")},5",{i},w{i}\n' for i in range(1, 200)]
    src.write_text("id,us,eu,plain,word\n" + "".join(rows) + '200,"1,000",None,7,x\n')
    rep = execute("profile", src, tmp_path / "o", {})
    recs = {r["column"]: r["message"] for r in rep["recommendations"] if r["code"] == "formatted_numbers"}
    assert set(recs) == {"us", "eu"}  # plain is an integer column, word no number
    assert "100% of its values are numbers" in recs["eu"]  # "None" is a placeholder, not counted
    profile = json.loads((tmp_path / "o" / "profile.json").read_text())
    assert col(profile, "us")["written_numbers"] == 1.0 and "written_numbers" not in col(profile, "word")
