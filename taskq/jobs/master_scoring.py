"""Comparing candidate pairs, field by field, into packed agreement levels (DuckDB SQL).

Each compared field turns a pair into a *level*: 3 exact, 2 close, 1 somewhat
close, 0 different, or *null* when either side is missing (a missing value is
no evidence either way). The measure fits the role: Jaro-Winkler for names and
text, Damerau-Levenshtein for ids, codes and phone numbers, day/month
transposition for dates. Phones are one number (exact) when equal or when one
ends with the other, 9+ digits, after a 1-3 digit country code (``2125550148``
and ``12125550148``, never ``3125550148``); their typos are counted in the
digits both write (aligned at the right). Emails are close when their local
parts are equal, or when the addresses are similar and their local parts hold
the same digits (``linda.gray462`` and ``linda.gray587`` are different); a name
of one letter is somewhat close to the names it is the initial of. First and last names
are compared crosswise when that fits better, so swapped names still agree; the
first-name feature then takes the more similar of the two crosswise pairs, so a
pair's levels do not depend on which of its records comes first in the file.

The levels of a pair are packed into one BIGINT (3 bits per feature), so the
scored table is ``(l, r, code)``: 16 bytes a pair, never Python objects. The
model that turns codes into match probabilities is in :mod:`.master_model`.

A pair whose generational suffixes differ (``Turner Jr`` and ``Turner Sr``, ``Hart II``
and ``Hart III``, the last word or the last before a comma of a last-name or
full-name column, not one headed like an organisation: the suffix is split off the
name when normalising, :func:`~taskq.jobs.master_normalize.suffix_sql`) is *vetoed*:
its code has the sign bit set (:data:`VETO`, above the 3 x 21 level bits), and
:func:`vetoed` tells it. Its levels are still those of its fields (the names
without suffix compare equal), so the model is fitted on them as on any pair, but
its match probability is 0. A suffix on one side only, or the same on both, is no
evidence either way.

**Cost.** :func:`pair_sql` is one statement over a whole pair relation, in
layers: the joined values and the four name similarities of the swap test;
then the swap flag; then each field's right-hand value and its one similarity;
then the levels, which only compare those columns. Every similarity is computed
once per pair. Damerau-Levenshtein (several times slower than Levenshtein in
DuckDB) only runs where Levenshtein cannot decide: DL <= lev <= 2 * DL, so
lev <= 1 gives DL exactly and lev >= 5 proves DL >= 3, above every threshold.
Edit distances cost O(n * m) per pair, so similarities and distances only see the
first :data:`MAX_COMPARED_CHARS` (300) characters of each value: two long values
equal up to there are "close", not exact (a 5,000-character id in 1,000 rows ran
for minutes before). Equality still compares whole values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .io import quote_ident
from .master_normalize import NORMALISED_TABLE
from .master_roles import second_line

__all__ = [
    "BITS",
    "LEVELS",
    "MAX_COMPARED_CHARS",
    "MAX_FIELDS",
    "NULL_LEVEL",
    "PHONE_DIGITS",
    "VETO",
    "exact_level",
    "Comparison",
    "Feature",
    "pair_sql",
    "plan_features",
    "street_line",
    "vetoed",
]

logger = logging.getLogger(__name__)

BITS = 3
NULL_LEVEL = 7
LEVELS = 4
MAX_FIELDS = 21
VETO = -(2**63)
"""Added to the code of a vetoed pair: the sign bit, free above ``MAX_FIELDS * BITS`` (63) level bits."""


def vetoed(codes: np.ndarray) -> np.ndarray:
    """Per code, whether its pair is vetoed (its generational suffixes differ)."""
    return np.asarray(codes, dtype=np.int64) < 0


_KIND_BY_ROLE = {
    "first_name": "name",
    "last_name": "name",
    "name": "name",
    "city": "short",
    "state": "short",
    "address": "address",
    "postcode": "code",
    "street_number": "code",
    "id": "id",
    "dob": "dob",
    "email": "email",
    "phone": "phone",
}


@dataclass(frozen=True)
class Comparison:
    """One compared field: normalised column ``field`` of input ``column`` with ``role``.

    ``suffix``: the normalised column holding the generational suffix split off the
    field's values (:func:`~taskq.jobs.master_normalize.suffix_field`), or None; a pair
    whose suffixes there differ is vetoed (:data:`VETO`).
    """

    field: str
    column: str
    role: str
    suffix: str | None = None

    @property
    def kind(self) -> str:
        return _KIND_BY_ROLE[self.role]


@dataclass(frozen=True)
class Feature:
    """One term of the model: a single comparison, or a composite of correlated ones.

    Postcode, city and state are strongly correlated (same postcode, same
    suburb, same state), so counting them as three independent agreements would
    let two strangers from one suburb look like a match. They form one
    ``location`` feature: 3 postcode and city agree (where present), 2 one of
    them agrees, 1 a near miss or only the state agrees, 0 nothing agrees.

    A street number and its street are one address line written in two columns:
    a person who moves changes both, and two people at one address share both.
    The first ``street_number`` joins the first ``address`` that is not a
    second line (``address_2``, ``suite``: :func:`~taskq.jobs.master_roles.second_line`) as one ``street``
    feature (named ``<address column>+<number column>``), judged on the street
    with the number as a check: 3 both equal, 2 one typo (the street close, or
    the number one edit off), 1 the street somewhat close, its number equal or
    near, 0 a different street or a different number on it; null when either
    street is missing (a house number alone identifies nobody); a number
    missing on a side leaves the street alone to decide. As two features, a
    move counted as two independent disagreements: among true pairs of the
    benchmark's 1M file, 22 % disagree on both, where independence expects 5 %.
    """

    name: str
    kind: str
    parts: tuple[Comparison, ...]


def street_line(comparisons: list[Comparison]) -> Comparison | None:
    """The address comparison holding the street line: the first address column that is
    not a second line (``address_2``, ``suite``: :func:`~taskq.jobs.master_roles.second_line`),
    wherever it stands, else the first address column; None without one."""
    streets = [c for c in comparisons if c.role == "address"]
    return next((c for c in streets if not second_line(c.column)), streets[0] if streets else None)


def plan_features(comparisons: list[Comparison]) -> list[Feature]:
    """Group ``comparisons`` into model features (first postcode/city/state -> location,
    the street line and first street number -> street)."""
    loc: dict[str, Comparison] = {}
    features: list[Feature] = []
    number = next((c for c in comparisons if c.role == "street_number"), None)
    street = street_line(comparisons)  # the number belongs with it, not with a second line
    if number is None or street is None:
        number = street = None
    for c in comparisons:
        if c.role in ("postcode", "city", "state") and c.role not in loc:
            loc[c.role] = c
            if len(loc) == 1:
                features.append(Feature("location", "location", ()))
            continue
        if c is number:
            continue
        if c is street and number is not None:
            features.append(Feature(f"{c.column}+{number.column}", "street", (c, number)))
            continue
        features.append(Feature(c.column, c.kind, (c,)))
    if loc:
        parts = tuple(loc[r] for r in ("postcode", "city", "state") if r in loc)
        features = [Feature("location", "location", parts) if f.kind == "location" else f for f in features]
    return features[:MAX_FIELDS]


_JW_KINDS = ("name", "address", "short", "email")
# Largest edit distance any level tests ("within 2"); DL only matters up to it.
_DL_CAP = 2
MAX_COMPARED_CHARS = 300
"""Similarities and edit distances see at most this many leading characters of a
value; equality (the exact level) still compares whole values."""


def _cut(x: str) -> str:
    """``x`` cut to :data:`MAX_COMPARED_CHARS` characters, for similarity functions."""
    # strlen (bytes) is free; left() copies, so only values that may be long pay it.
    return f"(CASE WHEN strlen({x}) > {MAX_COMPARED_CHARS} THEN left({x}, {MAX_COMPARED_CHARS}) ELSE {x} END)"


def _dl_sql(x: str, y: str, lev: str, cap: int) -> str:
    """Damerau-Levenshtein of ``x`` and ``y``, exact up to ``cap`` (larger values only say "> cap").

    ``lev`` is their Levenshtein distance, already computed: DL <= lev and
    lev <= 2 * DL, so lev <= 1 is DL itself and lev > 2 * cap proves DL > cap.
    """
    return f"CASE WHEN {lev} <= 1 OR {lev} > {2 * cap} THEN {lev} ELSE damerau_levenshtein({_cut(x)}, {_cut(y)}) END"


def exact_level(kind: str) -> int:
    """The level two equal values of a feature of ``kind`` get: 3, or 2 for short
    strings and codes (which have no "close" level between equal and similar)."""
    return 2 if kind in ("short", "code") else 3


PHONE_DIGITS = 9
"""Digits a phone number must have to be known from its ending: two numbers are the
same when one ends with the other and the shorter has at least this many digits."""
_COUNTRY_CODE_DIGITS = 3


def _phone_same_sql(x: str, y: str) -> str:
    """Whether normalised phones ``x`` and ``y`` are one number: equal, or one ending with
    the other, the shorter of :data:`PHONE_DIGITS` digits or more and the longer only a
    1-3 digit country code more (``2125550148`` and ``12125550148``, not ``3125550148``).
    """
    lx, ly = f"length({x})", f"length({y})"
    return (
        f"({x} = {y} OR (least({lx}, {ly}) >= {PHONE_DIGITS} "
        f"AND abs({lx} - {ly}) BETWEEN 1 AND {_COUNTRY_CODE_DIGITS} "
        f"AND (suffix({x}, {y}) OR suffix({y}, {x}))))"
    )


def _phone_aligned_sql(x: str, y: str) -> tuple[str, str]:
    """``x`` and ``y`` cut to the shorter one's last digits (but at least :data:`PHONE_DIGITS`),
    so a country code on one side is no edit: a typo is counted in the digits both write."""
    n = f"greatest(least(length({x}), length({y})), {PHONE_DIGITS})"
    return f"right({x}, {n})", f"right({y}, {n})"


def _level_sql(kind: str, x: str, y: str, s: str, lev: str) -> str:
    """Level of one field from its values ``x``/``y``, similarity ``s`` and Levenshtein ``lev``."""
    if kind == "name":
        # An initial is somewhat close to the names it starts (JW of a~anna is 0.775):
        # "different" is kept for other names, which tell twins apart (:mod:`.master_model`).
        initial = f"((length({x}) = 1 OR length({y}) = 1) AND left({x}, 1) = left({y}, 1))"
        body = f"WHEN {s} >= 0.92 THEN 2 WHEN {s} >= 0.8 OR {initial} THEN 1"
    elif kind == "address":
        body = f"WHEN {s} >= 0.9 THEN 2 WHEN {s} >= 0.75 THEN 1"
    elif kind == "short":
        body = f"WHEN {s} >= 0.88 THEN 1"
    elif kind == "code":
        body = f"WHEN {s} <= 1 THEN 1"
    elif kind in ("id", "phone"):
        body = f"WHEN {s} <= 1 THEN 2 WHEN {lev} <= 2 THEN 1"
    elif kind == "dob":
        swapped = (
            f"(substr({x}, 1, 4) = substr({y}, 1, 4) AND substr({x}, 6, 2) = substr({y}, 9, 2) "
            f"AND substr({x}, 9, 2) = substr({y}, 6, 2))"
        )
        body = f"WHEN {s} <= 1 OR {swapped} THEN 2 WHEN {s} <= 2 THEN 1"
    elif kind == "email":
        # Similar addresses are close only when their local parts carry the same
        # digits: linda.gray462@ and linda.gray587@ are two people (JW 0.948).
        digits = [f"regexp_replace(split_part({v}, '@', 1), '[^0-9]', '', 'g')" for v in (x, y)]
        body = (
            f"WHEN split_part({x}, '@', 1) = split_part({y}, '@', 1) "
            f"OR ({s} >= 0.92 AND {digits[0]} = {digits[1]}) THEN 2"
        )
    else:  # pragma: no cover - every role has a kind
        raise ValueError(kind)
    top = exact_level(kind)
    same = _phone_same_sql(x, y) if kind == "phone" else f"{x} = {y}"
    return f"CASE WHEN {x} IS NULL OR {y} IS NULL THEN {NULL_LEVEL} WHEN {same} THEN {top} {body} ELSE 0 END"


def _location_sql(parts: dict[str, tuple[str, str, str]]) -> str:
    """Level of the location feature from ``role -> (x, y, similarity)`` of its parts."""

    def eq(role: str) -> str | None:
        return f"({parts[role][0]} = {parts[role][1]})" if role in parts else None

    known = " OR ".join(f"({x} IS NOT NULL AND {y} IS NOT NULL)" for x, y, _ in parts.values())
    strong = [e for e in (eq("postcode"), eq("city")) if e]
    near = []
    if "postcode" in parts:
        near.append(f"coalesce({parts['postcode'][2]} <= 1, false)")
    if "city" in parts:
        near.append(f"coalesce({parts['city'][2]} >= 0.88, false)")
    if "state" in parts:
        near.append(f"coalesce({eq('state')}, false)")
    lines = [f"CASE WHEN NOT ({known}) THEN {NULL_LEVEL}"]
    if strong:
        all_agree = " AND ".join(f"coalesce({e}, true)" for e in strong)
        any_agree = " OR ".join(f"coalesce({e}, false)" for e in strong)
        lines.append(f"WHEN ({all_agree}) AND ({any_agree}) THEN 3 WHEN {any_agree} THEN 2")
    if near:
        lines.append(f"WHEN {' OR '.join(near)} THEN 1")
    return " ".join(lines) + " ELSE 0 END"


def _street_sql(street: tuple[str, str, str], number: tuple[str, str, str]) -> str:
    """Level of the street feature from the ``(x, y, similarity)`` of the street
    (Jaro-Winkler) and of the house number (edit distance, exact up to 1)."""
    sx, sy, js = street
    nx, ny, dn = number
    same = f"({nx} IS NULL OR {ny} IS NULL OR {nx} = {ny})"
    near = f"({same} OR {dn} <= 1)"
    return (
        f"CASE WHEN {sx} IS NULL OR {sy} IS NULL THEN {NULL_LEVEL} "
        f"WHEN {sx} = {sy} AND {same} THEN 3 "
        f"WHEN ({sx} = {sy} AND {near}) OR ({js} >= 0.9 AND {same}) THEN 2 "
        f"WHEN {js} >= 0.75 AND {near} THEN 1 ELSE 0 END"
    )


def _needs_lev(c: Comparison, location: set[Comparison]) -> bool:
    """Whether the level of ``c`` uses an edit distance (then Levenshtein gates DL)."""
    if c.kind in _JW_KINDS:
        return False
    return c not in location or c.role == "postcode"


def pair_sql(
    comparisons: list[Comparison],
    pairs: str,
    *,
    similarities: bool = False,
    table: str = NORMALISED_TABLE,
) -> str:
    """One SELECT scoring every pair of the relation ``pairs`` (columns ``l``, ``r``).

    Args:
        comparisons: the compared fields (columns of ``table``).
        pairs: a table name or a parenthesised subquery yielding ``l``, ``r``.
        similarities: also return ``sim0..simN``, a 0-1 similarity per
            comparison for reports (NULL when either side is missing; exact
            Damerau-Levenshtein, so only for a few pairs).
        table: the normalised table, keyed by ``rid``.

    Returns:
        SQL yielding ``l``, ``r``, ``code`` (feature i's level at bits 3i..3i+2,
        the sign bit set for a vetoed pair) and, with ``similarities``, ``sim0``...
    """
    idx = {c: i for i, c in enumerate(comparisons)}
    by_role: dict[str, Comparison] = {}
    for c in comparisons:
        by_role.setdefault(c.role, c)
    features = plan_features(comparisons)
    location = {c for f in features if f.kind == "location" for c in f.parts}
    swap = "first_name" in by_role and "last_name" in by_role
    # Layer 1: both sides' values (x, b) and the four similarities of the swap test.
    cols = ["p.l", "p.r"]
    for i, c in enumerate(comparisons):
        q = quote_ident(c.field)
        cols += [f"a.{q} AS x{i}", f"b.{q} AS b{i}"]
    fi = si = -1
    if swap:
        fi, si = idx[by_role["first_name"]], idx[by_role["last_name"]]
        f, s = quote_ident(by_role["first_name"].field), quote_ident(by_role["last_name"].field)
        for name, (u, v) in {"ff": (f, f), "ss": (s, s), "fs": (f, s), "sf": (s, f)}.items():
            cols.append(f"jaro_winkler_similarity({_cut(f'a.{u}')}, {_cut(f'b.{v}')}) AS j_{name}")
    # Differing generational suffixes veto the pair (NULL on either side says nothing).
    suffixes = [quote_ident(c.suffix) for c in comparisons if c.suffix is not None]
    if suffixes:
        differ = " OR ".join(f"coalesce(a.{q} <> b.{q}, false)" for q in suffixes)
        cols.append(f"({differ}) AS veto")
    sql = (
        f"SELECT {', '.join(cols)} FROM {pairs} AS p "
        f"JOIN {table} AS a ON a.rid = p.l JOIN {table} AS b ON b.rid = p.r"
    )
    # Layer 2: the swap flag, once per pair.
    if swap:
        sql = (
            "SELECT *, coalesce(j_fs, 0) + coalesce(j_sf, 0) > coalesce(j_ff, 0) + coalesce(j_ss, 0) + 0.2 "
            f"AS sw, coalesce(j_fs, -1) >= coalesce(j_sf, -1) AS fs FROM ({sql})"
        )
    # Layer 3: right-hand values (crosswise names when swapped) and Levenshtein where needed.
    # Swapped, the first-name feature gets the more similar crosswise pair (a's first
    # name with b's last, or a's last with b's first): which record is a (the lower
    # row) then changes nothing, as reversing the pair exchanges j_fs and j_sf.
    # (With a's first name always there, elijah nora / onra elijah scored first
    # name 3 and last name 1 one way round and 1 and 3 the other: a shuffled file
    # got other codes, another model, and could get other clusters; QA F6.)
    cols = ["l", "r"] + (["veto"] if suffixes else [])
    for i, c in enumerate(comparisons):
        if i in (fi, si):
            other, straight, crossed, alt = (
                (si, "j_ff", "j_fs", "j_sf") if i == fi else (fi, "j_ss", "j_sf", "j_fs")
            )
            # fs: the first-name feature is a's first name against b's last one, the
            # last-name feature a's last against b's first (else the other way round).
            cols += [
                f"CASE WHEN sw AND NOT fs THEN x{other} ELSE x{i} END AS x{i}",
                f"CASE WHEN sw AND fs THEN b{other} ELSE b{i} END AS y{i}",
                f"CASE WHEN NOT sw THEN {straight} WHEN fs THEN {crossed} ELSE {alt} END AS j{i}",
            ]
        else:
            cols += [f"x{i}", f"b{i} AS y{i}"]
            if c.kind == "phone":
                # Edit distances of phones see the aligned digits (a country code is no typo).
                ax, ay = _phone_aligned_sql(f"x{i}", f"b{i}")
                cols += [f"{ax} AS ax{i}", f"{ay} AS ay{i}", f"levenshtein({_cut(ax)}, {_cut(ay)}) AS v{i}"]
            elif c.kind in _JW_KINDS and not (c in location and c.role == "state"):
                cols.append(f"jaro_winkler_similarity({_cut(f'x{i}')}, {_cut(f'b{i}')}) AS j{i}")
            elif _needs_lev(c, location):
                cols.append(f"levenshtein({_cut(f'x{i}')}, {_cut(f'b{i}')}) AS v{i}")
    sql = f"SELECT {', '.join(cols)} FROM ({sql})"
    # Layer 4: edit distances exact up to what the levels test.
    cols = ["*"]
    for i, c in enumerate(comparisons):
        if c.kind not in _JW_KINDS and _needs_lev(c, location):
            cap = 1 if c.kind == "code" else _DL_CAP
            x, y = (f"ax{i}", f"ay{i}") if c.kind == "phone" else (f"x{i}", f"y{i}")
            cols.append(f"{_dl_sql(x, y, f'v{i}', cap)} AS d{i}")
    sql = f"SELECT {', '.join(cols)} FROM ({sql})"

    def sim(i: int) -> str:
        return f"j{i}" if comparisons[i].kind in _JW_KINDS else f"d{i}"

    parts = []
    for k, feat in enumerate(features):
        if feat.kind == "location":
            level = _location_sql({c.role: (f"x{idx[c]}", f"y{idx[c]}", sim(idx[c])) for c in feat.parts})
        elif feat.kind == "street":
            s_, n_ = (idx[c] for c in feat.parts)
            level = _street_sql((f"x{s_}", f"y{s_}", sim(s_)), (f"x{n_}", f"y{n_}", sim(n_)))
        else:
            i = idx[feat.parts[0]]
            level = _level_sql(feat.kind, f"x{i}", f"y{i}", sim(i), f"v{i}")
        parts.append(f"(CAST({level} AS BIGINT) << {BITS * k})")
    code = " + ".join(parts) if parts else "CAST(0 AS BIGINT)"
    if suffixes:
        code = f"{code} + CASE WHEN veto THEN CAST({VETO} AS BIGINT) ELSE 0 END"
    out = ["l", "r", f"{code} AS code"]
    if similarities:
        for i, c in enumerate(comparisons):
            x, y = _cut(f"x{i}"), _cut(f"y{i}")
            if c.kind in _JW_KINDS:
                out.append(f"round(jaro_winkler_similarity({x}, {y}), 3) AS sim{i}")
            elif c.kind == "phone":
                # 1 for one number; otherwise the aligned digits, at least one edit apart
                # (a number ending with another after a 4+ digit prefix is not the same).
                ax, ay = _cut(f"ax{i}"), _cut(f"ay{i}")
                dist = f"greatest(damerau_levenshtein({ax}, {ay}), 1)"
                out.append(
                    f"CASE WHEN {_phone_same_sql(f'x{i}', f'y{i}')} THEN 1.0 "
                    f"ELSE round(1 - {dist} / greatest(length({ax}), length({ay}), 1), 3) END AS sim{i}"
                )
            else:
                out.append(
                    f"round(1 - damerau_levenshtein({x}, {y}) / greatest(length({x}), length({y}), 1), 3) AS sim{i}"
                )
    return f"SELECT {', '.join(out)} FROM ({sql})"
