"""master-my-data scoring: levels of known pairs, the edit-distance gate, the model over patterns."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from taskq.jobs.master_model import Model, decode, estimate_model
from taskq.jobs.master_normalize import build_normalised, suffix_field
from taskq.jobs.master_scoring import NULL_LEVEL, Comparison, pair_sql, plan_features, vetoed

COMPS = [
    Comparison("f0", "given_name", "first_name"),
    Comparison("f1", "surname", "last_name"),
    Comparison("f2", "postcode", "postcode"),
    Comparison("f3", "suburb", "city"),
    Comparison("f4", "dob", "dob"),
    Comparison("f5", "ssn", "id"),
    Comparison("f6", "street_number", "street_number"),
]
# Feature order: given_name, surname, location, dob, ssn, street_number.
ROWS = [
    # given, surname, postcode, suburb, dob, ssn, street_number
    ("john", "smith", "2000", "sydney", "1980-03-12", "1234567", "12"),
    ("john", "smith", "2000", "sydney", "1980-03-12", "1234567", "12"),  # 1: exact copy of 0
    ("smith", "john", "2001", "sydnee", "1980-12-03", "1234576", "21"),  # 2: swapped names, near misses
    ("jon", "smyth", None, None, "1980-03-21", "1237654", None),  # 3: typos, missing values
    ("zoe", "quinn", "4711", "perth", "1955-07-01", "7654321", "300"),  # 4: a stranger
]


def _load(con, rows=ROWS) -> None:  # noqa: ANN001
    cols = list(zip(*rows, strict=True))
    table = {"rid": np.arange(len(rows), dtype=np.int32)}
    table.update({c.field: pa.array(list(cols[i]), pa.string()) for i, c in enumerate(COMPS)})
    con.register("m_norm_arrow", pa.table(table))
    con.execute("CREATE OR REPLACE TEMP TABLE t_norm AS SELECT * FROM m_norm_arrow")
    con.unregister("m_norm_arrow")


def _levels(con, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], list[int]]:  # noqa: ANN001
    con.register("t_pairs", pa.table({"l": [p[0] for p in pairs], "r": [p[1] for p in pairs]}))
    res = con.execute(pair_sql(COMPS, "t_pairs", table="t_norm")).fetchnumpy()
    con.unregister("t_pairs")
    levels = decode(res["code"], len(plan_features(COMPS)))
    return {(int(a), int(b)): lv.tolist() for a, b, lv in zip(res["l"], res["r"], levels, strict=True)}


def test_levels_of_known_pairs(con) -> None:  # noqa: ANN001
    _load(con)
    got = _levels(con, [(0, 1), (0, 2), (0, 3), (0, 4)])
    assert got[(0, 1)] == [3, 3, 3, 3, 3, 2]
    # Names compared crosswise; postcode/suburb near misses; day and month swapped;
    # ssn one transposition; street number "12" vs "21" one transposition.
    assert got[(0, 2)] == [3, 3, 1, 2, 2, 1]
    # jon~john is close (2), smyth~smith somewhat (1); location unknown; dob "12"->"21" is one
    # transposition; 4567 -> 7654 is three edits away but within Levenshtein 4 (level 0).
    assert got[(0, 3)][:2] == [2, 1] and got[(0, 3)][2] == NULL_LEVEL and got[(0, 3)][3] == 2
    assert got[(0, 3)][5] == NULL_LEVEL
    assert got[(0, 4)] == [0, 0, 0, 0, 0, 0]


def test_an_initial_is_somewhat_close_to_the_name_it_starts(con) -> None:  # noqa: ANN001
    # JW(a, anna) is 0.775: an initial was a wholly different first name, the level that
    # tells twins apart, so "A. Weber" read as Anna Weber's twin sister.
    rows = [
        ("anna", "weber", "5417", "kooringa", "1990-04-02", None, "14"),
        ("a", "weber", "5417", "kooringa", "1990-04-02", None, "14"),
        ("l", "weber", "5417", "kooringa", "1990-04-02", None, "14"),
        ("anna", "w", "5417", "kooringa", "1990-04-02", None, "14"),
    ]
    _load(con, rows)
    got = _levels(con, [(0, 1), (0, 2), (0, 3)])
    assert got[(0, 1)][:2] == [1, 3]
    assert got[(0, 2)][:2] == [0, 3]  # another initial is another name
    assert got[(0, 3)][:2] == [3, 1]


def test_report_similarities(con) -> None:  # noqa: ANN001
    _load(con)
    con.register("t_pairs", pa.table({"l": [0, 0], "r": [2, 3]}))
    res = con.execute(
        f"SELECT * FROM ({pair_sql(COMPS, 't_pairs', similarities=True, table='t_norm')}) ORDER BY r"
    ).fetchall()
    swapped, typos = res
    assert swapped[3] == 1.0 and swapped[4] == 1.0  # names compared crosswise
    assert typos[9] is None  # street number missing on one side
    assert 0 < typos[8] < 1  # ssn: 1 - DL / length


def test_edit_distance_gate_is_exact_up_to_two(con) -> None:  # noqa: ANN001
    """DL from the Levenshtein gate equals DuckDB's DL wherever either is <= 2."""
    rnd = random.Random(3)
    alphabet = "0123"
    base = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 9))) for _ in range(3000)]
    other = []
    for s in base:
        t = list(s)
        for _ in range(rnd.randint(0, 4)):
            op, i = rnd.randint(0, 3), rnd.randrange(len(t) + 1)
            if op == 0 and i < len(t):
                del t[i]
            elif op == 1:
                t.insert(i, rnd.choice(alphabet))
            elif op == 2 and i + 1 < len(t):
                t[i], t[i + 1] = t[i + 1], t[i]
            elif i < len(t):
                t[i] = rnd.choice(alphabet)
        other.append("".join(t) or "0")
    rows = [("a", "b", None, None, None, v, None) for v in base + other]
    _load(con, rows)
    n = len(base)
    con.register("t_pairs", pa.table({"l": np.arange(n), "r": np.arange(n) + n}))
    sql = pair_sql(COMPS, "t_pairs", table="t_norm")
    # The ssn level (feature 4): 3 equal, 2 DL <= 1, 1 Levenshtein <= 2, else 0.
    got = con.execute(
        f"SELECT q.l, (q.code >> 12) & 7, damerau_levenshtein(a.f5, b.f5), levenshtein(a.f5, b.f5) "
        f"FROM ({sql}) AS q JOIN t_norm AS a ON a.rid = q.l JOIN t_norm AS b ON b.rid = q.r"
    ).fetchall()
    for _, level, dl, lev in got:
        want = 3 if dl == 0 else 2 if dl <= 1 else 1 if lev <= 2 else 0
        assert level == want


def test_model_from_patterns(con) -> None:  # noqa: ANN001
    """EM over grouped patterns separates copies from strangers."""
    rnd = random.Random(5)
    people = [
        (
            f"g{i % 40}",
            f"s{i % 97}",
            str(2000 + i % 50),
            f"c{i % 50}",
            f"19{i % 90:02d}-01-01",
            str(10**6 + i),
            str(i),
        )
        for i in range(400)
    ]
    rows = people + [p for p in people[:100]]
    _load(con, rows)
    pairs = [(i, 400 + i) for i in range(100)] + [
        (rnd.randrange(400), rnd.randrange(400)) for _ in range(900)
    ]
    pairs = sorted({(min(a, b), max(a, b)) for a, b in pairs if a != b})
    con.register("t_pairs", pa.table({"l": [p[0] for p in pairs], "r": [p[1] for p in pairs]}))
    con.execute(f"CREATE TEMP TABLE t_scored AS {pair_sql(COMPS, 't_pairs', table='t_norm')}")
    model = estimate_model(con, COMPS, "t_scored", len(rows), table="t_norm")
    res = con.execute("SELECT l, r, code FROM t_scored").fetchnumpy()
    prob = model.probability(res["code"])
    copies = res["r"] - res["l"] == 400
    assert copies.sum() == 100
    assert (prob[copies] > 0.99).all() and (prob[~copies] < 0.01).all()


def test_missing_values_are_null_levels(con) -> None:  # noqa: ANN001
    _load(con, [(None,) * 7, ("a", "b", "1", "x", "2000-01-01", "1", "1")])
    lv = _levels(con, [(0, 1)])[(0, 1)]
    assert lv == [NULL_LEVEL] * len(plan_features(COMPS))


def test_identical_rule_treats_null_as_neutral_but_needs_an_identifying_agreement() -> None:
    from taskq.jobs.master_model import Model
    from taskq.jobs.master_scoring import BITS

    # Weights that would never match on their own: u == m everywhere, prior tiny.
    m = np.full((3, 4), 0.25)
    model = Model(m, m.copy(), 1e-6, 0, np.array([3, 3, 3]), np.array([True, True, False]))

    def code(*levels: int) -> int:
        return sum(lv << (BITS * i) for i, lv in enumerate(levels))

    prob = model.probability(
        np.array([code(3, 3, 3), code(3, NULL_LEVEL, 3), code(NULL_LEVEL, NULL_LEVEL, 3)])
    )
    assert prob[0] > 0.999 and prob[1] > 0.999  # a blank field is neutral
    assert prob[2] < 0.01  # only location agrees: not the same record
    assert model.probability(np.array([code(3, 2, NULL_LEVEL)]))[0] < 0.01  # a near miss is no copy


def test_edit_distances_see_only_the_first_characters(con) -> None:  # noqa: ANN001
    # Levenshtein is O(n * m) per pair: 1,000 rows with a 5,000-character id ran
    # for minutes (QA F8). Only the first MAX_COMPARED_CHARS characters are compared.
    from taskq.jobs.master_scoring import MAX_COMPARED_CHARS

    head = "7" * MAX_COMPARED_CHARS
    _load(
        con,
        [
            ("ann", "lee", "2000", "x", "1980-01-01", head + "1" * 4700, "1"),
            ("ann", "lee", "2000", "x", "1980-01-01", head + "2" * 4700, "1"),
            ("ann", "lee", "2000", "x", "1980-01-01", head + "1" * 4700, "1"),
        ],
    )
    lv = _levels(con, [(0, 1), (0, 2)])
    assert lv[(0, 1)][4] == 2  # equal as far as compared: close, not exact
    assert lv[(0, 2)][4] == 3  # equality still sees the whole value


def test_similar_emails_with_other_digits_are_different(con) -> None:  # noqa: ANN001
    # Whole addresses at Jaro-Winkler >= 0.92 were "close": linda.gray462@ and
    # linda.gray587@ (0.948) gave strangers named alike +7 log-odds, and a file
    # of 5,000 distinct people reported 726 duplicates (QA F1).
    comps = [Comparison("e", "email", "email")]
    emails = [
        "linda.gray462@yahoo.com",
        "linda.gray587@yahoo.com",
        "linda.gray462@gmail.com",
        "lidna.gray462@yahoo.com",
        "u657670448@x.com",
        "u757868404@x.com",
    ]
    con.register("t_em", pa.table({"rid": list(range(len(emails))), "e": emails}))
    pairs = [(0, 1), (0, 2), (0, 3), (4, 5)]
    con.register("t_pairs", pa.table({"l": [p[0] for p in pairs], "r": [p[1] for p in pairs]}))
    res = con.execute(pair_sql(comps, "t_pairs", table="t_em")).fetchnumpy()
    got = {(int(a), int(b)): int(c) for a, b, c in zip(res["l"], res["r"], res["code"], strict=True)}
    assert got == {(0, 1): 0, (0, 2): 2, (0, 3): 2, (4, 5): 0}


def test_phones_are_one_number_only_when_one_ends_with_the_other(con) -> None:  # noqa: ANN001
    # Only the last 9 digits were kept: 212-555-0148 and 312-555-0148 (two US
    # numbers) were one phone, exact (level 3) with similarity 1.0. A number
    # written nationally and internationally must still be exact.
    from taskq.jobs.master_normalize import normalise_sql

    pairs = [
        ("212-555-0148", "312-555-0148", 2),  # one digit apart: close, not exact
        ("07 4662 1020", "+61 7 4662 1020", 3),
        ("020 7946 0018", "+44 20 7946 0018", 3),
        ("020 7946 0018", "+44 (0)20 7946 0018", 3),
        ("(212) 555-0148", "+1 212 555 0148", 3),
        ("(212) 555-0148", "1-212-555-0148", 3),
        ("+1 212 555 0148", "011 1 212 555 0148", 3),
        ("98765 43210", "+91 98765 43210", 3),
        ("+91 98765 43210", "0091 98765 43210", 3),
        ("(212) 555-0149", "+1 212 555 0148", 2),  # a typo beside a country code
        ("212-555-0148", "+1 312 555 0148", 2),
        ("212-555-0148", "212-555-4108", 1),
        ("212-555-0148", "415-867-5309", 0),
        ("555 0148", "212-555-0148", 1),  # too short to be known from its end: somewhat
    ]
    raw = [v for pair in pairs for v in pair[:2]]
    con.register("t_raw", pa.table({"rid": list(range(len(raw))), "v": raw}))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE t_ph AS SELECT rid, {normalise_sql('phone', 'v')} AS p FROM t_raw"
    )
    comps = [Comparison("p", "phone", "phone")]
    n = len(pairs)
    con.register("t_pairs", pa.table({"l": [2 * k for k in range(n)], "r": [2 * k + 1 for k in range(n)]}))
    res = con.execute(
        f"SELECT l, code, sim0 FROM ({pair_sql(comps, 't_pairs', similarities=True, table='t_ph')}) ORDER BY l"
    ).fetchall()
    got = [(raw[int(lv)], raw[int(lv) + 1], int(code)) for lv, code, _ in res]
    assert got == [(a, b, level) for a, b, level in pairs]
    sims = {(raw[int(lv)], raw[int(lv) + 1]): sim for lv, _, sim in res}
    assert sims[("212-555-0148", "312-555-0148")] == 0.9
    assert sims[("07 4662 1020", "+61 7 4662 1020")] == 1.0
    assert all(0 <= s < 1 for (a, b, level), s in zip(pairs, sims.values(), strict=True) if level < 3)


def test_swapped_names_level_the_same_both_ways(con) -> None:  # noqa: ANN001
    # The first-name feature compared the lower row's first name crosswise, so
    # elijah nora / onra elijah got levels (3, 1) one way round and (1, 3) the
    # other: a shuffled file scored its pairs differently (QA F6).
    rows = [
        ("elijah", "nora", "6470", "penford", "2002-07-26", "4011236", "130"),
        ("onra", "elijah", "6470", "penford", "2002-07-62", "4011236", "130"),
        ("smith", "jon", "2000", "sydney", "1980-03-12", "1234567", "12"),
        ("john", "smith", "2000", "sydney", "1980-03-12", "1234567", "12"),
    ]
    _load(con, rows)
    got = _levels(con, [(0, 1), (1, 0), (2, 3), (3, 2)])
    assert got[(0, 1)] == got[(1, 0)]
    assert got[(0, 1)][:2] == [3, 1]  # the better crosswise pair is the first name's
    assert got[(2, 3)] == got[(3, 2)]


def test_housemates_are_a_non_match_class_of_their_own() -> None:
    from taskq.jobs.master_model import Model
    from taskq.jobs.master_scoring import BITS

    # Fields: first name (personal), surname, address, phone. Strangers rarely share
    # the last three; housemates share them and differ on the first name.
    m = np.array([[0.01, 0.05, 0.14, 0.8]] + [[0.05, 0.05, 0.1, 0.8]] * 3)
    u = np.array(
        [[0.95, 0.02, 0.01, 0.02], [0.5, 0.2, 0.1, 0.2], [0.99, 0.01, 1e-4, 1e-5], [0.99, 0.01, 1e-6, 1e-6]]
    )
    h = np.vstack([u[0], [[0.01, 0.01, 0.03, 0.95]] * 3])

    def code(*levels: int) -> int:
        return sum(lv << (BITS * i) for i, lv in enumerate(levels))

    codes = np.array([code(0, 3, 3, 3), code(3, 3, 3, 3), code(2, 3, 3, 0)])
    two = Model(m, u, 0.1, 0)
    three = Model(m, u, 0.1, 0, h=h, household=0.1)
    # Against strangers alone, three rare agreements outweigh a different first name.
    assert two.probability(codes)[0] > 0.99
    assert three.probability(codes)[0] < 0.01
    assert (three.probability(codes)[1:] > 0.9).all()  # a copy; a typo with a new phone
    # Without housemates the odds are the two-class ones: log prior odds + sum of log(m/u).
    want = np.log(0.1 / 0.9) + np.log(m[[0, 1, 2, 3], [0, 3, 3, 3]] / u[[0, 1, 2, 3], [0, 3, 3, 3]]).sum()
    assert two.log_odds(codes[:1])[0] == pytest.approx(want)
    assert Model(m, u, 0.1, 0, h=h, household=0.0).log_odds(codes) == pytest.approx(two.log_odds(codes))


def test_a_street_number_and_its_street_are_one_feature(con) -> None:  # noqa: ANN001
    # Scored apart, a move (new number, new street) was two independent disagreements,
    # and a shared street address two rare agreements. Once the household class took
    # strangers sharing a street address out of u, moved duplicates of the 1M benchmark
    # fell to p 0.78-0.89 and its recall from 0.9909 to 0.9887.
    comps = [Comparison("a", "address_1", "address"), Comparison("n", "street_number", "street_number")]
    assert [(f.name, f.kind) for f in plan_features(comps)] == [("address_1+street_number", "street")]
    rows = [
        ("nelson street", "12"),
        ("nelson street", "12"),  # 1: a copy
        ("nelson street", "21"),  # 2: the number one transposition off
        ("nelsen street", "12"),  # 3: a typo in the street
        ("king road", "305"),  # 4: moved
        ("nelson street", None),  # 5: no number: the street decides
        (None, "12"),  # 6: no street: a number alone says nothing
        ("nelson street", "40"),  # 7: another house in the street
        ("nelsen street", "21"),  # 8: a typo in both
    ]
    con.register(
        "t_st",
        pa.table({"rid": list(range(len(rows))), "a": [r[0] for r in rows], "n": [r[1] for r in rows]}),
    )
    pairs = [(0, k) for k in range(1, len(rows))]
    con.register("t_pairs", pa.table({"l": [p[0] for p in pairs], "r": [p[1] for p in pairs]}))
    res = con.execute(pair_sql(comps, "t_pairs", table="t_st")).fetchnumpy()
    got = dict(zip(res["r"].tolist(), res["code"].tolist(), strict=True))
    assert got == {1: 3, 2: 2, 3: 2, 4: 0, 5: 3, 6: NULL_LEVEL, 7: 0, 8: 1}


@pytest.mark.parametrize(
    ("column", "second"),
    [
        ("address_2", True),
        ("Address Line 2", True),
        ("address2_line", True),
        ("address_2_text", True),
        ("Address_2_Street", True),
        ("address_2nd_line", True),
        ("suite", True),
        ("address_1", False),
        ("address_line_1", False),
        ("street", False),
        ("billing_address", False),
        ("community", False),
    ],
)
def test_second_address_lines_are_known_by_name(column: str, second: bool) -> None:
    from taskq.jobs.master_roles import second_line

    assert second_line(column) is second
    # and the street number goes with the other line, whichever comes first
    comps = [
        Comparison("b", column if second else "address_2", "address"),
        Comparison("a", "address_1" if second else column, "address"),
        Comparison("n", "street_number", "street_number"),
    ]
    street = next(f for f in plan_features(comps) if f.kind == "street")
    assert street.parts[0].field == "a"


def _name_levels(con, names: list[str], pairs: list[tuple[int, int]]) -> list[int]:  # noqa: ANN001
    """The ``name`` level of each pair of rows of ``names``, normalised as master-my-data does."""
    con.register("t_names", pa.table({"__row": list(range(len(names))), "name": names}))
    build_normalised(con, "t_names", [("f0", "name", "name")])
    con.unregister("t_names")
    comps = [Comparison("f0", "name", "name")]
    con.register("t_pairs", pa.table({"l": [p[0] for p in pairs], "r": [p[1] for p in pairs]}))
    res = con.execute(f"SELECT * FROM ({pair_sql(comps, 't_pairs')}) ORDER BY l, r").fetchnumpy()
    con.unregister("t_pairs")
    return decode(res["code"], 1)[:, 0].tolist()


def test_company_legal_forms_are_no_part_of_the_name(con) -> None:  # noqa: ANN001
    # "corporation globex" and "corp globex" (tokens sorted) were somewhat close at best,
    # so one company written two ways stayed two (p 0.26 with one phone and address; QA).
    # Two companies sharing only a legal form share nothing.
    names = ["Globex Corporation", "Globex Corp", "Acme Widgets Inc.", "ACME Widgets Incorporated"]
    names += ["Acme Inc", "Globex Inc"]
    assert _name_levels(con, names, [(0, 1), (2, 3), (4, 5)]) == [3, 3, 0]


def test_differing_generational_suffixes_veto_a_pair(con) -> None:  # noqa: ANN001
    # Michael Turner Jr and Sr, one address and phone, no birth date, merged (p 0.94-1.0;
    # QA): the suffix was part of the last name and "turner jr" was close to "turner sr".
    # The suffix is now split off: the names agree exactly and differing suffixes veto.
    rows = ["Turner Jr", "Turner Sr", "Turner", "Turner, Jr.", "Hart II", "Hart III"]
    con.register("t_people", pa.table({"__row": list(range(len(rows))), "surname": rows}))
    build_normalised(con, "t_people", [("f0", "surname", "last_name")])
    con.unregister("t_people")
    comps = [Comparison("f0", "surname", "last_name", suffix_field("f0"))]
    pairs = [(0, 1), (0, 2), (0, 3), (1, 2), (4, 5)]
    con.register("t_pairs", pa.table({"l": [p[0] for p in pairs], "r": [p[1] for p in pairs]}))
    res = con.execute(f"SELECT * FROM ({pair_sql(comps, 't_pairs')}) ORDER BY l, r").fetchnumpy()
    codes = res["code"]
    assert decode(codes, 1)[:, 0].tolist() == [3, 3, 3, 3, 3]
    assert vetoed(codes).tolist() == [True, False, False, False, True]
    model = Model(np.array([[0.1, 0.1, 0.1, 0.7]]), np.array([[0.9, 0.05, 0.04, 0.01]]), 0.1, 1)
    model.top = np.array([3])
    assert model.probability(codes).tolist()[0] == 0.0
    assert model.probability(codes).tolist()[1] > 0.99
