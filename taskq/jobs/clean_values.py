"""The value-level steps of clean-my-data, run on each column's distinct values.

Every value step (whitespace, placeholders, types, standardise) is a pure
function of one cell, so it runs on a *value map*: a DuckDB table
``(v, n, cur, fail)`` holding each distinct raw value ``v`` of a column, the
number of rows ``n`` holding it, its current cleaned value ``cur`` and the
reason it breaks a rule (``fail``, NULL when fine). Counts are weighted by
``n``, so the numbers in changes.json are row counts, while the work (regexes,
date parsing, ``phonenumbers``) is done once per distinct value. The cleaned
table is then the input joined to the maps (:func:`taskq.jobs.clean_rows.build_cleaned`).

A NULL input cell stays NULL through every value step; the ``nulls`` step
(a row step) is what fills nulls.

**Near-unique columns** (ids, emails, phones: about as many distinct values
as rows, on inputs of at least :data:`ROWWISE_MIN_ROWS` rows) gain nothing
from a value map: it is as large as the column, and a lookup join back into
the table would cost more than computing the value again. For them
(:func:`near_unique`) there is no map: one pass over the rows counts the
whitespace and placeholder changes and the e-mail/phone shares of all of them
(:func:`_measure_rows`); type detection, when it runs, reads the values stored
row by row (``n = 1``); and the cleaned table applies the later steps row by
row, recording per row and step whether the value changed, was nulled or
failed (:func:`taskq.jobs.clean_rows.build_cleaned`). :func:`finish_rowwise`
then takes the step counts from those records and the examples from the
column's most frequent values, so changes.json is the same either way (a test
runs both paths on the same inputs).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import duckdb

from ..progress import Progress
from ._placeholders import WHITESPACE, placeholder_sql
from ._table import Table, sql_and
from ._table import quote_ident as _q
from ._table import sql_literal as _lit
from .clean_phones import e164, phone_helpers, phone_query
from .clean_types import TypeDecision, decide_type, failure_reason, parse_expr

__all__ = ["BuildStep", "ColumnMap", "EMAIL_PATTERN", "clean_values", "e164", "finish_rowwise"]

logger = logging.getLogger(__name__)

_SPECIALS = "!#$%&'*+/=?^_`{|}~-"
_ATEXT = "A-Za-z0-9" + _SPECIALS
"""Characters of an address's local part besides dots (RFC 5322 atext)."""
EMAIL_PATTERN = (
    rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.(?:[A-Za-z]{2,}|xn--[A-Za-z0-9-]+)"
)
"""A valid ASCII address: dot-separated local part (no leading, trailing or doubled dot),
domain labels, and a top-level domain of letters (or its punycode ``xn--`` form)."""
_UNICODE_EMAIL = (
    r"[\p{L}\p{N}" + _SPECIALS + r"]+(?:\.[\p{L}\p{N}" + _SPECIALS + r"]+)*"
    r"@[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)*"
    r"\.(?:\p{L}{2,}|xn--[A-Za-z0-9-]+)"
)
"""The same with letters and digits of any script: internationalised domains (``bücher.de``)
and UTF-8 local parts (RFC 6531). Unbounded label runs: RE2 with bounded repeats of
Unicode classes was a hundred times slower."""


def email_valid_sql(x: str) -> str:
    """SQL: ``x`` is a valid address. The ASCII pattern decides almost every value; the
    Unicode one runs only on values that hold a byte beyond ASCII."""
    return (
        f"(CASE WHEN regexp_full_match({x}, {_lit(EMAIL_PATTERN)}) THEN true "
        f"WHEN strlen({x}) <> length({x}) THEN regexp_full_match({x}, {_lit(_UNICODE_EMAIL)}) ELSE false END)"
    )


_EMAIL_NAME = re.compile(r"e-?mail", re.I)
_PHONE_WORDS = {
    "phone",
    "phones",
    "tel",
    "telno",
    "telnr",
    "fax",
    "msisdn",
    "telefon",
    "telefono",
    "telefone",
}
"""Name words that make a column a phone candidate (and any word ending in ``phone``)."""
_PHONE_MAYBE = {"cell", "mobile", "mobil", "handy"}
"""Name words that do only with qualifiers like ``no`` or ``home`` beside them: ``cell_count`` holds counts."""
_PHONE_QUALIFIERS = {
    "no", "nr", "num", "number", "home", "work", "private", "primary", "secondary", "main", "alt",
    "alternate", "contact", "personal", "business", "office", "customer", "user", "client", "emergency",
}  # fmt: skip
_PHONE_SHAPE = r"[+(]?[0-9][0-9 ().\-/]{5,}[0-9](\s*(x|ext\.?)\s*[0-9]+)?"
_ISO_DATE = r"[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}"
"""Dates have the phone shape; they do not count towards a phone column."""


def _name_words(column: str) -> list[str]:
    """``"customerCellPhone_2"`` -> ``["customer", "cell", "phone"]``: lower-case words, digits dropped."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", column)
    return [w for w in re.split(r"[^a-z]+", spaced.lower()) if w]


def _phone_name(column: str) -> bool:
    """Whether the column's name says it may hold phone numbers (``phone``, ``tel``, ``fax``,
    ``mobile_no``, ``home_cell``...); a word inside another (``cancellation``) does not count."""
    words = _name_words(column)
    if any(w in _PHONE_WORDS or w.endswith("phone") for w in words):
        return True
    return any(w in _PHONE_MAYBE for w in words) and all(
        w in _PHONE_MAYBE or w in _PHONE_QUALIFIERS for w in words
    )


_WS = WHITESPACE + "+"
"""Runs of whitespace (:data:`taskq.jobs._placeholders.WHITESPACE`)."""
_PLAIN = "regexp_full_match(cur, '[!-~]+(?: [!-~]+)*')"
"""Printable ASCII words split by single spaces: the whitespace step leaves it as it is
(one regex pass, cheaper than the handful of string scans it stands for)."""
EXAMPLES = 5
ROWWISE_MIN_ROWS = 50_000
"""Inputs with fewer rows use value maps for every column (small maps cost nothing)."""
ROWWISE_MIN_SHARE = 0.5
"""A column is near-unique when its (approximate) distinct count is at least this share of rows."""
CANDIDATES = 2_000
"""How many of a near-unique column's most frequent values are searched for examples first."""
AFFECTED_ROWS = 50_000
"""Up to this many rows affected by a near-unique column's steps, examples come from their values alone."""
EMAIL_SHARE = 0.9
"""Share of non-null values that must be addresses for a column to hold e-mails..."""
EMAIL_NAMED_SHARE = 0.5
"""...or, when its name says e-mail, this share."""
SHORTCUT_EXCEPTIONS = 16
"""A value-map column whose cleaned values are a plain cast of the raw ones but for at most this
many distinct values is built as that cast, with those values listed (:func:`_shortcut`)."""


@dataclass(frozen=True)
class BuildStep:
    """One value step as the cleaned table applies it to ``{x}``, the step's input.

    ``helpers`` are ``(name, template)`` pairs computed first, in order, each in
    its own projection level; ``new`` and ``fail`` may refer to them as ``{name}``.
    """

    new: str
    fail: str | None = None
    helpers: tuple[tuple[str, str], ...] = ()
    slot: int | None = None
    """Row-wise columns: where the cleaned table records this step's outcome (bits ``2*slot``)."""


@dataclass
class ColumnMap:
    """A column's value map after the value steps.

    Attributes:
        column: the input column name.
        table: the DuckDB table ``(v, n, cur, fail)``; it is dropped once the
            counts are taken unless the cleaned table needs it (``expr`` None).
        sql_type: DuckDB type of ``cur`` (VARCHAR unless the types step converted it).
        identity: True when no value changed and none failed: the cleaned table
            can take the input column as is, without a join.
        failed: rows whose value breaks a rule (to quarantine); a row-wise column
            counts its failures in the cleaned table instead (see ``entries``).
        kind: ``email``/``phone`` when standardised as such, else None.
        decision: the types step's decision, if it ran.
    """

    column: str
    table: str
    sql_type: str = "VARCHAR"
    identity: bool = True
    failed: int = 0
    kind: str | None = None
    decision: TypeDecision | None = None
    notes: list[str] = field(default_factory=list)
    base: tuple[str, str] = ("v", "w")
    """SQL for the base map's ``w`` (over ``v``) and ``cur`` (over ``w``): whitespace and placeholders."""
    expr: list[BuildStep] | None = None
    """The value steps as SQL templates over ``{x}``, to apply in order to a raw
    value; None when the cleaned value needs the lookup in ``table`` (phones)."""
    rowwise: bool = False
    """Near-unique column, no value map (``table`` holds its rows only while type
    detection runs); ``expr`` holds the steps the cleaned table applies, and the
    counts of ``stages`` wait for :func:`finish_rowwise`."""
    stages: list[_Stage] = field(default_factory=list)
    """(row-wise) the steps applied and counted in the cleaned table (types, standardise)."""
    entries: list[dict[str, Any]] = field(default_factory=list)
    """(row-wise) the changes entries, one per step of ``prefix + stages``; the examples
    of all and the counts of ``stages`` are filled in by :func:`finish_rowwise`."""
    phone: str | None = None
    """(row-wise) the phone step's default region, when the column holds phones."""
    prefix: list[_Stage] = field(default_factory=list)
    """(row-wise) whitespace and placeholders, counted by :func:`_measure_rows`."""
    typed: bool = False
    """The file itself types the column (``sql_type``: a Parquet column that is not a
    string, JSON numbers, lists...): the value steps, which clean text, leave it as it is."""
    shortcut: BuildStep | None = None
    """(value map) the cleaned value and failure reason as one step over the raw value,
    checked against every distinct value by :func:`_run_stages` (see :func:`_shortcut`)."""


@dataclass
class _Stage:
    """One value step as SQL templates over its input ``{x}`` (the previous stage's value).

    ``fail`` may also read the step's output as ``{new}``.
    """

    step: str
    new: str
    fail: str | None = None
    retype: bool = False
    """The stage changes the value's SQL type (a converting types step)."""
    pre: str | None = None
    """A base-map column already holding this stage's output (whitespace, placeholders)."""
    extra: dict[str, Any] = field(default_factory=dict)
    row: BuildStep | None = None
    """How the cleaned table computes this stage row by row, when ``new``/``fail``
    refer to a base-map column (the phone step's ``e164``)."""

    def build_step(self, slot: int | None = None) -> BuildStep:
        return dataclasses.replace(self.row or BuildStep(self.new, self.fail), slot=slot)


def _template_lit(text: str) -> str:
    """``text`` as a SQL string literal that is safe inside a step template.

    Templates are filled in by replacing ``{x}``, ``{new}`` and helper names in
    braces: data in a literal (``{x} `` in a cell, a placeholder token) would
    be replaced too. Each ``{`` ends a piece of the literal, so no token can form
    (``'{' || 'x} '``).
    """
    if "{" not in text:
        return _lit(text)
    *heads, tail = text.split("{")
    return "(" + " || ".join([_lit(h + "{") for h in heads] + [_lit(tail)]) + ")"


def _sub(template: str, value: str) -> str:
    return template.replace("{x}", value)


def _run_stages(
    con: duckdb.DuckDBPyConnection,
    cm: ColumnMap,
    stages: list[_Stage],
    phone: str | None,
    shortcut: bool = False,
) -> list[dict[str, Any]]:
    """Apply ``stages`` to ``cm.table`` in one statement; return each stage's counts.

    Stage ``k`` turns column ``s{k-1}`` into ``s{k}`` (``s0`` is the raw value
    ``v``) and may give a failure reason ``f{k}``, read from its *input*. A value
    that already failed in an earlier stage is not counted as failing again, and
    the first failure is the one kept. Counts are weighted by ``n`` (rows).
    ``phone``, when set, is the phone step's region: each base map row gets
    ``e164`` of its ``cur`` (the value after the placeholders step, the phone
    step's input) from :func:`taskq.jobs.clean_phones.phone_query`.
    With ``phone`` set, ``cm.table`` then holds ``v, n, cur, fail`` (and the
    stages' columns that are not copies of another) for the cleaned table's
    lookup; otherwise it is left as it was.

    With ``shortcut``, the same scan also looks for :attr:`ColumnMap.shortcut`.
    """
    lookup = phone is not None
    base = f"SELECT v, n, w, cur AS p FROM {cm.table}"
    if phone:
        base = f"SELECT v, n, w, cur AS p, e164 FROM ({phone_query(con, f'SELECT v, n, w, cur FROM {cm.table}', phone)})"
    sql = f"SELECT *, v AS s0 FROM ({base})"
    # ref[k]: the column holding s{k}. A stage whose output is already a base column
    # (whitespace, placeholders) or its input unchanged (a types step keeping text)
    # is not stored again: on a column of a million distinct values every stored
    # copy of the strings costs a noticeable part of this statement.
    ref, kept = ["v"], ["v", "n", "w", "p"]
    for k, st in enumerate(stages, 1):
        prev = f"s{k - 1}"
        cols = f"{st.pre or _sub(st.new, prev)} AS s{k}"
        if st.pre in ("w", "p"):
            ref.append(st.pre)
        elif st.new == "{x}" and not st.fail:
            ref.append(ref[-1])
        else:
            ref.append(f"s{k}")
            kept.append(f"s{k}")
        sql = f"SELECT *, {cols} FROM ({sql})"
        if st.fail:
            # A failure reason may read the stage's output as {new}: one level further out.
            sql = f"SELECT *, {_sub(st.fail, prev).replace('{new}', ref[-1])} AS f{k} FROM ({sql})"
            kept.append(f"f{k}")
    last = f"s{len(stages)}"
    if ref[-1] == last:  # stored as cur below
        kept.remove(last)
        ref[-1] = "cur"
    every = [f"f{k}" for k, st in enumerate(stages, 1) if st.fail]
    fail = f"coalesce({', '.join(every)}, NULL)" if every else "NULL::VARCHAR"
    result = f"SELECT {', '.join(kept)}, {last} AS cur, {fail} AS fail FROM ({sql})"
    # With a lookup the table replaces the base map (the cleaned table joins it);
    # otherwise the counts and examples are aggregated straight from the query,
    # without materialising every stage of every distinct value.
    source = f"{cm.table}__all" if lookup else f"({result})"
    if lookup:
        con.execute(f"CREATE OR REPLACE TABLE {cm.table}__all AS {result}")
    fails: list[str] = []
    aggs, examples = [], []
    for k, st in enumerate(stages, 1):
        prev, cur = ref[k - 1], ref[k]
        earlier = f"coalesce({', '.join(fails)}, NULL)" if fails else "NULL"
        newfail = f"CASE WHEN {earlier} IS NULL THEN f{k} END" if st.fail else "NULL::VARCHAR"
        moved = f"CAST({cur} AS VARCHAR) IS DISTINCT FROM CAST({prev} AS VARCHAR)"
        aggs += [
            f"coalesce(sum(n) FILTER (WHERE {newfail} IS NOT NULL), 0)",
            f"coalesce(sum(n) FILTER (WHERE {newfail} IS NULL AND {prev} IS NOT NULL AND {cur} IS NULL), 0)",
            f"coalesce(sum(n) FILTER (WHERE {newfail} IS NULL AND {cur} IS NOT NULL AND {moved}), 0)",
        ]
        # Up to EXAMPLES of the most frequent values the stage changed or failed, ties
        # by raw value, NULL first (raw values are VARCHAR: byte order is code point
        # order, and each is one map row, so the order is total). The row-wise path
        # relies on this order being the map's own (see _rowwise_examples).
        examples.append(
            f"min_by(struct_pack(b := CAST({prev} AS VARCHAR), a := CAST({cur} AS VARCHAR), r := {newfail}, "
            f"n := n, v := v), struct_pack(o := -n, x := v IS NOT NULL, y := coalesce(v, '')), "
            f"{EXAMPLES}) FILTER (WHERE {newfail} IS NOT NULL OR {moved})"
        )
        if st.fail:
            fails.append(f"f{k}")
    aggs += [
        "coalesce(sum(n), 0)",
        "count(*) FILTER (WHERE CAST(cur AS VARCHAR) IS DISTINCT FROM v)",
        "coalesce(sum(n) FILTER (WHERE fail IS NOT NULL), 0)",
    ]
    cast = _cast(cm.sql_type)
    extra = []
    shortcut = shortcut and SHORTCUT_EXCEPTIONS >= 0  # negative: no shortcut (tests compare both ways)
    if shortcut:
        # The distinct values the plain cast does not clean as the stages do: how many,
        # and the first SHORTCUT_EXCEPTIONS + 1 of them (by value: deterministic).
        miss = f"fail IS NOT NULL OR CAST({_sub(cast, 'v')} AS VARCHAR) IS DISTINCT FROM CAST(cur AS VARCHAR)"
        extra = [
            f"count(*) FILTER (WHERE {miss})",
            f"min_by(struct_pack(v := v, c := CAST(cur AS VARCHAR), f := fail), v, {SHORTCUT_EXCEPTIONS + 1}) "
            f"FILTER (WHERE {miss})",
        ]
    row = con.execute(f"SELECT {', '.join(aggs + examples + extra)} FROM {source}").fetchall()[0]
    assert row is not None
    if shortcut and row[-2] <= SHORTCUT_EXCEPTIONS:
        cm.shortcut = _shortcut(cast, cm.sql_type, row[-1] or [])
    row = row[: len(aggs) + len(examples)]
    counts = [int(x) for x in row[: len(aggs)]]
    total, moved_values, failed_rows = counts[-3:]
    shown: dict[int, list[dict[str, Any]]] = {}
    listed = [
        (k, e["b"], e["a"], e["r"], e["n"], e["v"])
        for k, es in enumerate(row[len(aggs) :], 1)
        for e in es or []
    ]
    listed.sort(key=lambda t: (t[0], -t[4], t[5] is not None, t[5] or ""))
    for k, b, a, r, _, _ in listed:
        shown.setdefault(k, []).append({"before": b, "after": a, **({"reason": r} if r else {})})
    if lookup:
        con.execute(f"DROP TABLE {cm.table}")
        con.execute(f"ALTER TABLE {cm.table}__all RENAME TO {cm.table}")
    cm.identity = moved_values == 0 and failed_rows == 0 and cm.sql_type == "VARCHAR"
    cm.failed = failed_rows
    out = []
    for k in range(1, len(stages) + 1):
        failed, nulled, changed = counts[3 * (k - 1) : 3 * k]
        out.append(
            {
                "changed": changed,
                "unchanged": total - changed - nulled - failed,
                "nulled": nulled,
                "failed": failed,
                "examples": shown.get(k, []),
            }
        )
    return out


def _cast(sql_type: str) -> str:
    """The plain cast of a raw value ``{x}`` to ``sql_type`` (none for text)."""
    return "{x}" if sql_type == "VARCHAR" else f"TRY_CAST({{x}} AS {sql_type})"


def _shortcut(cast: str, sql_type: str, exceptions: list[dict[str, Any]]) -> BuildStep:
    """One step from the raw value ``{x}`` to the cleaned value and failure reason.

    ``exceptions`` are the distinct raw values for which ``cast`` does not give
    the cleaned value (as text, so of the same type and the same digits) or
    which failed: each is listed with its cleaned value and reason, every other
    value is cast. Checked against every distinct value of the column, so the
    cleaned table gets what the stages give, for the cost of a cast and a few
    comparisons instead of every stage's patterns (a whitespace or number
    pattern, a list of placeholder tokens, a dozen date formats).
    """
    if not exceptions:
        return BuildStep(cast)

    def typed(text: str | None) -> str:
        if text is None:
            return f"NULL::{sql_type}"
        return _template_lit(text) if sql_type == "VARCHAR" else f"CAST({_template_lit(text)} AS {sql_type})"

    new = " ".join(f"WHEN {_template_lit(e['v'])} THEN {typed(e['c'])}" for e in exceptions)
    fails = " ".join(
        f"WHEN {_template_lit(e['v'])} THEN {_template_lit(e['f'])}" for e in exceptions if e["f"] is not None
    )
    return BuildStep(f"CASE {{x}} {new} ELSE {cast} END", f"CASE {{x}} {fails} END" if fails else None)


def _shares(con: duckdb.DuckDBPyConnection, table: str, conds: list[str]) -> list[float]:
    """Per condition, the share of rows with a non-null ``cur`` meeting it (one scan for all)."""
    sums = ", ".join(f"coalesce(sum(n) FILTER (WHERE {c}), 0)" for c in conds)
    row = con.execute(f"SELECT {sums}, coalesce(sum(n), 0) FROM {table} WHERE cur IS NOT NULL").fetchall()[0]
    assert row is not None
    return [x / row[-1] if row[-1] else 0.0 for x in row[:-1]]


def _kind_conds(column: str, cfg: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    """``(kind, {})`` when params name the kind of ``column``, else ``(None, conditions)``:
    per kind, the condition on ``cur`` whose share decides it (:func:`_pick_kind`)."""
    for kind in ("email", "phone"):
        chosen = cfg[f"{kind}_columns"]
        if isinstance(chosen, list) and column in chosen:
            return kind, {}
    conds = {}
    if cfg["email_columns"] == "auto":
        # contains() is a byte search: most values of most columns never reach the regex.
        conds["email"] = sql_and("contains(cur, '@')", email_valid_sql("cur"))
    if cfg["phone_columns"] == "auto" and _phone_name(column):
        conds["phone"] = sql_and(
            f"regexp_full_match(cur, {_lit(_PHONE_SHAPE)})", f"NOT regexp_full_match(cur, {_lit(_ISO_DATE)})"
        )
    return None, conds


def _pick_kind(column: str, share: dict[str, float]) -> str | None:
    email = share.get("email", 0.0)  # absent: not detected, and 0 reaches no threshold
    if email >= EMAIL_SHARE or (_EMAIL_NAME.search(column) and email >= EMAIL_NAMED_SHARE):
        return "email"
    if "phone" in share and share["phone"] >= 0.5:
        return "phone"
    return None


def _kind(con: duckdb.DuckDBPyConnection, table: str, column: str, cfg: dict[str, Any]) -> str | None:
    """``email``, ``phone`` or None: how the standardise step treats ``column``."""
    forced, conds = _kind_conds(column, cfg)
    # Compiling the address patterns costs ~20 ms a query, more than matching a whole value
    # map: when too few values hold an @ for any share of addresses to reach the lowest
    # threshold, they are not run (the share of valid addresses is at most that of @s).
    if "email" in conds and _shares(con, table, ["contains(cur, '@')"])[0] < EMAIL_NAMED_SHARE:
        del conds["email"]
    if not conds:
        return forced
    return _pick_kind(column, dict(zip(conds, _shares(con, table, list(conds.values())), strict=True)))


def _title(value: str) -> str:
    return (
        f"array_to_string(list_transform(string_split(lower({value}), ' '), "
        "lambda w: upper(left(w, 1)) || substr(w, 2)), ' ')"
    )


def _create_base(con: duckdb.DuckDBPyConnection, cm: ColumnMap, source: str) -> None:
    """``cm.table`` as the base map ``(v, n, w, cur)`` of ``source`` (a query giving ``v, n``)."""
    w, p = cm.base
    con.execute(
        f"CREATE OR REPLACE TABLE {cm.table} AS SELECT v, n, w, {p} AS cur FROM "
        f"(SELECT v, n, {w} AS w FROM ({source}))"
    )


def _prefix_stages(ws: dict[str, Any], ph: dict[str, Any]) -> tuple[list[_Stage], tuple[str, str]]:
    """The whitespace and placeholders stages (the same for every column), and the base
    map's SQL for ``w`` (over ``v``) and ``cur`` (over ``w``) that they stand for."""
    stages: list[_Stage] = []
    w, p = "v", "w"
    if ws["enabled"]:
        value = "nfc_normalize({x})" if ws["nfc"] else "{x}"
        if ws["collapse"]:
            new = f"trim(regexp_replace({value}, {_lit(_WS)}, ' ', 'g'))"
        else:
            new = f"regexp_replace({value}, {_lit('^' + _WS + '|' + _WS + '$')}, '', 'g')"
        stages.append(
            _Stage(
                "whitespace", f"CASE WHEN {_PLAIN.replace('cur', '{x}')} THEN {{x}} ELSE {new} END", pre="w"
            )
        )
        w = _sub(stages[-1].new, "v")
    if ph["enabled"]:
        tokens = ", ".join(_template_lit(t) for t in ph["tokens"]) or "NULL"
        stages.append(
            _Stage("placeholders", f"CASE WHEN {{x}} IN ({tokens}) THEN NULL ELSE {{x}} END", pre="p")
        )
        p = _sub(stages[-1].new, "w")
    return stages, (w, p)


SAMPLE_ROWS = 50_000
"""Rows read to rule out columns that are clearly not near-unique."""


def near_unique(con: duckdb.DuckDBPyConnection, view: str, columns: list[str], rows: int) -> set[str]:
    """The columns of ``view`` to clean row by row: near-unique ones, on large enough inputs.

    A column with fewer distinct values than :data:`ROWWISE_MIN_SHARE` of the
    first :data:`SAMPLE_ROWS` rows is ruled out (a sample repeats values no
    less than the whole column); the rest are measured over every row. Both
    counts are HyperLogLog estimates (an exact distinct count of the sample
    costs twice as much). Both paths give the same output: an estimate that is
    off costs time, never correctness.
    """
    if not columns or rows < max(ROWWISE_MIN_ROWS, 1):
        return set()
    sample = min(rows, SAMPLE_ROWS)
    counts = ", ".join(f"approx_count_distinct({_q(c)})" for c in columns)
    row = con.execute(f"SELECT {counts} FROM (SELECT * FROM {view} LIMIT {sample})").fetchall()[0]
    maybe = [c for c, d in zip(columns, row, strict=True) if d >= ROWWISE_MIN_SHARE * sample]
    if not maybe:
        return set()
    estimates = ", ".join(f"approx_count_distinct({_q(c)})" for c in maybe)
    row = con.execute(f"SELECT {estimates} FROM {view}").fetchall()[0]
    return {c for c, d in zip(maybe, row, strict=True) if d >= ROWWISE_MIN_SHARE * rows}


@dataclass
class _Measured:
    """What one pass over the rows found for a row-wise column."""

    kind: str | None
    counts: list[tuple[int, int]]
    """Per prefix stage (whitespace, placeholders): rows changed, rows nulled."""
    total: int


def _measure_rows(
    con: duckdb.DuckDBPyConnection, view: str, columns: list[str], prefix: list[_Stage], cfg: dict[str, Any]
) -> dict[str, _Measured]:
    """One scan of ``view`` for every row-wise column: the whitespace and placeholders
    counts, and the e-mail/phone shares that decide the standardise kind."""
    if not columns:
        return {}
    new = {stage.pre: stage.new for stage in prefix}  # "w": whitespace, "p": placeholders
    alias = {c: f"x{i}" for i, c in enumerate(columns)}
    inner = ", ".join(f"{_q(c)} AS {a}_v" for c, a in alias.items())
    mid = ", ".join(f"{a}_v, {_sub(new.get('w', '{x}'), f'{a}_v')} AS {a}_w" for a in alias.values())
    outer = ", ".join(f"{a}_v, {a}_w, {_sub(new.get('p', '{x}'), f'{a}_w')} AS {a}_c" for a in alias.values())
    aggs: list[str] = []
    plans = {c: _kind_conds(c, cfg) if cfg["enabled"] else (None, {}) for c in columns}
    for c, a in alias.items():
        refs = {"w": (f"{a}_v", f"{a}_w"), "p": (f"{a}_w", f"{a}_c")}
        for stage in prefix:
            outcome = outcome_sql(*refs[stage.pre or ""], None)  # these steps never fail
            aggs += [f"count(*) FILTER (WHERE {outcome} = {code})" for code in (_CHANGED, _NULLED)]
        conds = plans[c][1]
        aggs += [
            f"count(*) FILTER (WHERE {a}_c IS NOT NULL AND ({e.replace('cur', f'{a}_c')}))"
            for e in conds.values()
        ]
        aggs.append(f"count({a}_c)")
    row = con.execute(
        f"SELECT {', '.join(aggs)}, count(*) FROM (SELECT {outer} FROM (SELECT {mid} FROM (SELECT {inner} FROM {view})))"
    ).fetchall()[0]
    values = iter(int(x) for x in row[:-1])
    out = {}
    for c in columns:
        counts = [(next(values), next(values)) for _ in prefix]
        forced, conds = plans[c]
        hits = {k: next(values) for k in conds}
        nonnull = next(values)
        kind = (
            _pick_kind(c, {k: h / nonnull if nonnull else 0.0 for k, h in hits.items()}) if conds else forced
        )
        out[c] = _Measured(kind, counts, int(row[-1]))
    return out


def _blank_counts() -> dict[str, Any]:
    return {"changed": 0, "unchanged": 0, "nulled": 0, "failed": 0, "examples": []}


_FAILED, _NULLED, _CHANGED = 3, 2, 1
"""The per-row, per-step outcomes :func:`taskq.jobs.clean_rows.build_cleaned` records (2 bits a step)."""


def outcome_sql(prev: str, new: str, newfail: str | None) -> str:
    """SQL for one step's outcome code on one row, as :func:`_run_stages` counts it."""
    failed = f"WHEN {newfail} IS NOT NULL THEN {_FAILED} " if newfail else ""
    return (
        f"(CASE {failed}WHEN {prev} IS NOT NULL AND {new} IS NULL THEN {_NULLED} "
        f"WHEN {new} IS NOT NULL AND CAST({new} AS VARCHAR) IS DISTINCT FROM CAST({prev} AS VARCHAR) "
        f"THEN {_CHANGED} ELSE 0 END)"
    )


def _defer_stages(
    cm: ColumnMap, stages: list[_Stage], changes: list[dict[str, Any]], measured: _Measured
) -> None:
    """Plan a row-wise column: counted steps now, the rest in the cleaned table.

    The whitespace and placeholders steps were counted by the pass over the
    rows (:func:`_measure_rows`); one that changed nothing is left out of the
    cleaned table. Every later step (types, standardise) is applied row by row
    in the cleaned table, which records each row's outcome for
    :func:`finish_rowwise`. Examples for all of them come later too.
    """
    stored = len(measured.counts)
    expr: list[BuildStep] = []
    # A step's slot is its index in cm.entries. Every step in the cleaned table records
    # its outcome, the first ones too: :func:`_rowwise_examples` finds the rows any
    # step affected by their codes.
    for slot, (entry, (changed, nulled)) in enumerate(zip(stages[:stored], measured.counts, strict=True)):
        counts = {"changed": changed, "unchanged": measured.total - changed - nulled, "nulled": nulled}
        record = {"step": entry.step, "column": cm.column, **_blank_counts(), **counts, **entry.extra}
        cm.entries.append(record)
        changes.append(record)
        if changed or nulled:
            expr.append(entry.build_step(slot))
    cm.prefix, cm.stages = stages[:stored], stages[stored:]
    for slot, entry in enumerate(cm.stages, stored):
        record = {"step": entry.step, "column": cm.column, **_blank_counts(), **entry.extra}
        cm.entries.append(record)
        changes.append(record)
        if entry.new != "{x}" or entry.fail or entry.row:
            expr.append(entry.build_step(slot))
    cm.identity, cm.expr = False, expr


def finish_rowwise(
    con: duckdb.DuckDBPyConnection, view: str, table: str, maps: dict[str, ColumnMap], codes: dict[str, str]
) -> None:
    """Fill in the changes entries of the row-wise columns once the cleaned ``table`` exists.

    Counts of the steps applied in ``table`` come from the outcome codes in its
    hidden columns ``codes`` (one scan for every column); examples from the
    column's most frequent values (:func:`_rowwise_examples`).
    """
    cols = [c for c, cm in maps.items() if cm.rowwise]
    if not cols:
        return
    # The first steps' counts came from the pass over the rows; the codes count the rest.
    slots = {
        c: [s.slot for s in maps[c].expr or [] if s.slot is not None and s.slot >= len(maps[c].prefix)]
        for c in cols
    }
    aggs = [
        f"count(*) FILTER (WHERE ({_q(codes[c])} >> {2 * k}) & 3 = {code})"
        for c in cols
        for k in slots[c]
        for code in (_FAILED, _NULLED, _CHANGED)
    ]
    row = con.execute(f"SELECT {', '.join(aggs + ['count(*)'])} FROM {table}").fetchall()[0]
    total, counts = int(row[-1]), iter(int(x) for x in row[:-1])
    for col in cols:
        cm = maps[col]
        for k, entry in enumerate(cm.entries[len(cm.prefix) :], len(cm.prefix)):  # slot k: entries[k]
            if k in slots[col]:
                entry["failed"], entry["nulled"], entry["changed"] = next(counts), next(counts), next(counts)
            entry["unchanged"] = total - _affected(entry)
        _rowwise_examples(con, view, cm, f"SELECT __row FROM {table} WHERE {_q(codes[col])} <> 0")
        con.execute(f"DROP TABLE IF EXISTS {cm.table}")


def _affected(entry: dict[str, Any]) -> int:
    return int(entry["failed"]) + int(entry["nulled"]) + int(entry["changed"])


def _rowwise_examples(con: duckdb.DuckDBPyConnection, view: str, cm: ColumnMap, affected_rows: str) -> None:
    """Examples for a row-wise column's entries, as a value map would give them.

    :func:`_run_stages` on the column's whole value map would give them, at
    the cost the row-wise path avoids. Only values some step changed, nulled
    or failed can be examples, and a step's outcome depends on the value
    alone, so every row holding such a value is one of ``affected_rows`` (a
    query giving ``__row``). When those are few (at most
    :data:`AFFECTED_ROWS`), the map of their values, with the full count of
    each, gives the same examples.

    Otherwise: examples are ordered by ``(-n, raw value)``, so the same ones
    come from the map's first values in that order, provided those hold
    :data:`EXAMPLES` of them or account for every affected row; failing that,
    from the whole map.
    """
    wanted = [_affected(e) for e in cm.entries]
    if not any(wanted):
        return
    counted = f"SELECT {_q(cm.column)} AS v, count(*) AS n FROM {view}"
    if sum(wanted) <= AFFECTED_ROWS:  # rows affected by any step: at most the sum
        tries = [f" WHERE __row IN ({affected_rows}) GROUP BY ALL"]
    else:
        tries = [f" GROUP BY ALL ORDER BY n DESC, v NULLS FIRST LIMIT {CANDIDATES}", " GROUP BY ALL"]
    for i, query in enumerate(tries):
        probe = ColumnMap(cm.column, f"{cm.table}_examples", sql_type=cm.sql_type, base=cm.base)
        _create_base(con, probe, counted + query)
        stats = _run_stages(con, probe, cm.prefix + cm.stages, cm.phone)
        con.execute(f"DROP TABLE {probe.table}")
        complete = all(
            not need or len(found["examples"]) >= EXAMPLES or _affected(found) == need
            for need, found in zip(wanted, stats, strict=True)
        )
        if complete or i == len(tries) - 1:
            for entry, found in zip(cm.entries, stats, strict=True):
                entry["examples"] = found["examples"]
            return


def clean_values(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    steps: dict[str, dict[str, Any]],
    progress: Progress,
) -> tuple[dict[str, ColumnMap], list[dict[str, Any]]]:
    """Run the enabled value steps on every column of ``table``.

    Per column, one statement builds the value map with the whitespace and
    placeholders steps applied, the detections (email/phone, type) read it,
    and one more statement applies the remaining steps and counts every step.
    Near-unique columns are planned instead (see the module docstring): their
    entries are complete only after :func:`finish_rowwise`.

    Args:
        table: the input (all VARCHAR) from :func:`taskq.jobs.io.open_table`.
        steps: validated steps by name (:func:`taskq.jobs.clean_params.step_map`).
        progress: 0-100 over the columns; ``check()`` runs between columns and steps.

    Returns:
        The value map per column, and one changes entry per (step, column).
    """
    maps: dict[str, ColumnMap] = {}
    changes: list[dict[str, Any]] = []
    ws, ph, ty, st = (steps[s] for s in ("whitespace", "placeholders", "types", "standardise"))
    prefix, base = _prefix_stages(ws, ph)
    view, rows = table.view, table.rows
    columns = [c for c in table.columns if table.types.get(c, "VARCHAR") == "VARCHAR"]
    progress.update(0, "cleaning values: measuring columns")
    rowwise = near_unique(con, view, columns, rows)
    if rowwise:
        progress.update(2, f"cleaning values: one pass over {', '.join(c for c in columns if c in rowwise)}")
    measured = _measure_rows(con, view, [c for c in columns if c in rowwise], prefix, st)
    for i, col in enumerate(table.columns):
        progress.check()
        progress.update(100.0 * i / len(table.columns), f"cleaning values: {col}")
        if col not in columns:
            maps[col] = _typed_column(col, f"clean_map_{i}", table.types[col], steps, changes, rows)
            continue
        cm = ColumnMap(col, f"clean_map_{i}", base=base, rowwise=col in rowwise)
        quoted = _q(col)
        stages = list(prefix)
        if not cm.rowwise:
            _create_base(con, cm, f"SELECT v, count(*) AS n FROM ({table.column_query(col)}) GROUP BY ALL")
        progress.check()
        if st["enabled"]:
            cm.kind = measured[col].kind if cm.rowwise else _kind(con, cm.table, col, st)
        if ty["enabled"]:
            forced = ty["columns"].get(col, "auto")
            if cm.kind is not None and forced == "auto":
                decision = TypeDecision("text", 0.0, reason=f"{cm.kind} column: standardised, not converted")
            else:
                as_is = cm.rowwise and not any(any(c) for c in measured[col].counts)
                if as_is:
                    # Whitespace and placeholders change nothing here: the detection reads
                    # the input column itself, with no copy of a million values.
                    con.execute(
                        f"CREATE OR REPLACE VIEW {cm.table} AS SELECT {quoted} AS v, 1::BIGINT AS n, "
                        f"{quoted} AS w, {quoted} AS cur FROM {view}"
                    )
                elif cm.rowwise:  # the detection reads its values many times: store them once, row by row
                    _create_base(con, cm, f"SELECT {quoted} AS v, 1::BIGINT AS n FROM {view}")
                # Missing-value words (unknown, TBD, Null...) are no values of any type: the
                # detection reads the others, and the types step nulls them (below).
                detected = cm.table
                if ph["enabled"]:
                    detected = f"{cm.table}__values"
                    con.execute(
                        f"CREATE OR REPLACE TEMP VIEW {detected} AS SELECT * FROM {cm.table} "
                        f"WHERE cur IS NULL OR NOT {placeholder_sql('cur')}"
                    )
                decision = decide_type(
                    con,
                    detected,
                    threshold=ty["threshold"],
                    forced=forced,
                    dayfirst=ty["dayfirst"].get(col),
                    decimal=ty["decimal"].get(col),
                )
                if ph["enabled"]:
                    con.execute(f"DROP VIEW {detected}")
                if as_is:
                    con.execute(f"DROP VIEW {cm.table}")
            cm.decision = decision
            if decision.type == "text":
                stages.append(_Stage("types", "{x}", extra={"decision": decision.as_dict()}))
            else:
                parsed = parse_expr(decision, "{x}")
                # {new} is the parsed value: the failure test does not parse again.
                fail = failure_reason(decision)
                if ph["enabled"]:
                    # In a column of numbers, dates or booleans a missing-value word (any of
                    # profile-my-data's placeholders, in any case) is missing, not broken.
                    missing = placeholder_sql("{x}")
                    parsed = f"CASE WHEN {missing} THEN NULL ELSE {parsed} END"
                    fail = f"CASE WHEN {missing} THEN NULL ELSE {fail} END"
                stages.append(
                    _Stage("types", parsed, fail, extra={"decision": decision.as_dict()}, retype=True)
                )
                cm.sql_type = decision.sql_type  # DOUBLE, or a DECIMAL when a DOUBLE would round
        progress.check()
        phone = None
        if st["enabled"]:
            phone = _standardise(con, cm, st, stages)
        if cm.rowwise:
            cm.phone = phone
            _defer_stages(cm, stages, changes, measured[col])
            maps[col] = cm
            continue
        expr: list[BuildStep] = []
        lookup = phone is not None
        for entry, stats in zip(
            stages, _run_stages(con, cm, stages, phone, shortcut=not lookup), strict=True
        ):
            changes.append({"step": entry.step, "column": col, **stats, **entry.extra})
            if not (stats["changed"] or stats["nulled"] or stats["failed"] or entry.retype):
                continue
            expr.append(BuildStep(entry.new, entry.fail if stats["failed"] else None))
        # The cleaned value straight from the raw one, for the cleaned table to
        # compute without a lookup join. A stage that left every distinct value
        # of this column as it was is the identity here and is left out; phones
        # need their lookup table. The shortcut, when there is one, does all stages at once.
        cm.expr = None if lookup else [cm.shortcut] if cm.shortcut else expr
        if not lookup:  # the cleaned table computes this column itself: free the map
            con.execute(f"DROP TABLE {cm.table}")
        maps[col] = cm
    progress.update(100.0, "cleaning values: done")
    return maps, changes


def _typed_column(
    col: str,
    name: str,
    sql_type: str,
    steps: dict[str, dict[str, Any]],
    changes: list[dict[str, Any]],
    rows: int,
) -> ColumnMap:
    """The map of a column the file types itself: every value step leaves it as it is.

    Each enabled value step still gets its changes entry (nothing changed, with
    a ``skipped`` note); params that name the column in a value step get a note too.
    """
    cm = ColumnMap(col, name, sql_type=sql_type, typed=True)
    why = f"{col} is {sql_type} in the file: this step cleans text and leaves it as it is"
    for step in ("whitespace", "placeholders", "types", "standardise"):
        if steps[step]["enabled"]:
            changes.append(
                {"step": step, "column": col, **_blank_counts(), "unchanged": rows, "skipped": why}
            )
    st, ty = steps["standardise"], steps["types"]
    named = [
        f"{what} ignored: {col} is {sql_type} in the file"
        for what, on in (
            (f"type {ty['columns'].get(col)!r}", col in ty["columns"]),
            ("dayfirst setting", col in ty["dayfirst"]),
            ("decimal setting", col in ty["decimal"]),
            ("email standardising", isinstance(st["email_columns"], list) and col in st["email_columns"]),
            ("phone standardising", isinstance(st["phone_columns"], list) and col in st["phone_columns"]),
            ("case rule", col in st["case"]),
        )
        if on
    ]
    cm.notes.extend(named)
    return cm


def _standardise(
    con: duckdb.DuckDBPyConnection, cm: ColumnMap, cfg: dict[str, Any], stages: list[_Stage]
) -> str | None:
    """Add the email, phone and case stages for one column (text columns only).

    Returns the default region when the column holds phones: their E.164 form
    is computed per value-map row (:mod:`taskq.jobs.clean_phones`).
    """
    if cm.sql_type != "VARCHAR":
        if cm.column in cfg["case"]:
            cm.notes.append(f"case rule ignored: the column was converted to {cm.sql_type}")
        return None
    phone = None
    if cm.kind == "email":
        # A valid address has exactly one "@", so it is its own rebuild when it has no
        # upper case at all (the cheap test skips the rebuild for most values).
        new = (
            "CASE WHEN {valid} AND lower({x}) <> {x} THEN "
            "split_part({x}, '@', 1) || '@' || lower(split_part({x}, '@', 2)) ELSE {x} END"
        )
        fail = "CASE WHEN {x} IS NOT NULL AND NOT {valid} THEN 'invalid email address' END"
        valid = email_valid_sql("{x}")
        row = BuildStep(new, fail, (("valid", valid),))  # row by row: the pattern is matched once
        stages.append(
            _Stage(
                "standardise",
                new.replace("{valid}", valid),
                fail.replace("{valid}", valid),
                extra={"kind": "email"},
                row=row,
            )
        )
    elif cm.kind == "phone":
        phone = cfg["default_region"]
        new = "CASE WHEN e164 IS NOT NULL THEN e164 ELSE {x} END"
        reason = _lit("invalid phone number for region " + cfg["default_region"])
        fail = f"CASE WHEN {{x}} IS NOT NULL AND e164 IS NULL THEN {reason} END"
        # Row by row (near-unique columns) the E.164 form is computed in place, not looked up.
        row = BuildStep(
            new.replace("e164", "{e164}"),
            fail.replace("e164", "{e164}"),
            tuple(phone_helpers(con, phone)),
        )
        stages.append(_Stage("standardise", new, fail, extra={"kind": "phone"}, row=row))
    rule = cfg["case"].get(cm.column)
    if rule is not None:
        new = _title("{x}") if rule == "title" else f"{rule}({{x}})"
        stages.append(_Stage("standardise", new, extra={"kind": "case", "rule": rule}))
    return phone
