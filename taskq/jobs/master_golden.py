"""Golden records: one surviving value per column and cluster, with lineage.

Survivorship rules, chosen per column (``survivorship = {"default": rule,
column: rule}``). Only non-blank values compete; a cluster whose rows are all
blank in a column gets an empty value. A placeholder (``N/A``, ``unknown``...)
loses to any real value whatever the rule, and wins only where the cluster has
nothing else. Ties that remain after a rule's own tie-breaks fall to the earliest
row (the lowest input row number).

* ``most_frequent``: the value most rows of the cluster carry.
* ``most_complete``: the longest value (most information: "Jonathan" over
  "Jon"); ties go to the most frequent.
* ``most_recent``: the value of the row with the latest ``recency_column``
  (parsed as a timestamp, an ISO/YYYYMMDD/day-first date, else a number). Any
  date ranks above a plain number; rows whose recency is blank, does not parse,
  or is infinite or NaN come last, whatever the other rows hold. Equal
  recencies (``20230601`` and ``2023-06-01``) tie.
* ``source_priority``: the value from the row whose ``source_column`` comes
  first in ``source_priority``; sources not listed come last; ties (one source)
  go to the most frequent.

The parts of a person's name (columns of role ``first_name``, ``last_name`` and
``name``, but not a ``name`` column called like an organisation, ``Company``,
``Account Name``: :func:`.master_roles.organisation`)
and the parts of an address (``address``, ``street_number``, ``city``,
``state``, ``postcode``) each survive together, so that a golden record never
joins parts no input row had together ("Smith, Mary" and "Mary, Smith" made
"Mary Mary"). Such a group (two or more columns, :func:`part_groups`) competes
as one value, by the rule of its first column that has a rule of its own, else
the default (:func:`group_rule`): a row with more real (non-blank,
non-placeholder) parts wins first, a placeholder part counting as a blank; then
the rule on the real parts together (the frequency of the whole combination, the
total length, the row's recency or source); a tie in frequency goes to the row
whose parts most rows share, then to the earliest row. The winning row gives
every part it holds a real value for. A part it lacks (blank or a placeholder) is
filled, column by column and by the group's rule, from the rows of the cluster
that contradict none of its real parts (case aside): "Mary" + blank and blank +
"Smith" give "Mary Smith", but a street's blank postcode never comes from a row
with another street. A placeholder survives only where no such row has a real
value. The price: under ``most_recent`` a newer row missing a part loses to an
older row that has them all, and two filled parts may come from two rows.

Values are the raw input values (not the normalised ones). ``source_rows``
lists the 0-based input rows of the cluster, ``;``-separated, ascending.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from ._placeholders import placeholder_sql
from .io import quote_ident, sql_literal
from .master_normalize import _DATE_FORMATS
from .master_roles import organisation

__all__ = ["ADDRESS_PART_ROLES", "NAME_PART_ROLES", "RULES", "golden_query", "group_rule", "part_groups"]

logger = logging.getLogger(__name__)

RULES = ("most_frequent", "most_complete", "most_recent", "source_priority")


def _recency_sql(column: str) -> str:
    """SQL: ``column`` parsed as a date or timestamp (``rec_t``) and as a number (``rec_n``)."""
    col = quote_ident(column)
    fmts = "[" + ", ".join(sql_literal(f) for f in _DATE_FORMATS) + "]"
    return (
        f"coalesce(try_cast(trim({col}) AS TIMESTAMP), try_strptime(trim({col}), {fmts})) AS rec_t, "
        f"try_cast(trim({col}) AS DOUBLE) AS rec_n"
    )


_REC_KIND = (
    "(CASE WHEN coalesce(isfinite(rec_t), false) THEN 2 "
    "WHEN coalesce(isfinite(rec_n), false) THEN 1 ELSE 0 END)"
)
_REC_KEY = (
    f"{{'k': {_REC_KIND}, 't': CASE WHEN {_REC_KIND} = 2 THEN rec_t ELSE TIMESTAMP '1970-01-01' END, "
    f"'n': CASE WHEN {_REC_KIND} = 1 THEN rec_n ELSE 0.0 END}}"
)
"""Sort key of a row's recency, greater is more recent. DuckDB ranks a NULL field
of a struct above any value (``{'t': NULL} > {'t': TIMESTAMP '2023-06-01'}``), so
no field is ever NULL: ``k`` says what parsed (2 a date or timestamp, 1 only a
number, 0 nothing, nor an infinite date or a NaN) and only that kind's field
carries the value. A blank or unreadable recency comes last; any date ranks above
a plain number; equal recencies tie (and go to the earliest row)."""


NAME_PART_ROLES = frozenset({"first_name", "last_name", "name"})
"""Roles of the parts of a person's name (a ``middle_name`` column is a ``name``)."""

ADDRESS_PART_ROLES = frozenset({"address", "street_number", "city", "state", "postcode"})
"""Roles of the parts of one address (street lines, number, city, state, postcode)."""


def part_groups(columns: Sequence[str], roles: Mapping[str, str]) -> list[list[str]]:
    """The columns that hold parts of one name or of one address, each group in input order.

    Each group of two or more columns survives as a whole (:func:`golden_query`): its
    parts come from one row, so "Smith, Mary" and "Mary, Smith" never make "Mary Mary".
    A ``name`` column named like an organisation (``Company``, ``Account Name``:
    :func:`.master_roles.organisation`) is not part of a person's name.
    """
    names = [
        c for c in columns if roles.get(c) in NAME_PART_ROLES and not (roles[c] == "name" and organisation(c))
    ]
    addresses = [c for c in columns if roles.get(c) in ADDRESS_PART_ROLES]
    return [g for g in (names, addresses) if len(g) > 1]


def group_rule(group: Sequence[str], survivorship: Mapping[str, str]) -> tuple[str, list[str]]:
    """The rule a group of columns survives by, and the group's columns whose own rule differs.

    The first column of the group with a rule of its own (``survivorship[column]``)
    sets it; with none, the ``default`` rule.
    """
    own = [survivorship[c] for c in group if c in survivorship]
    rule = own[0] if own else survivorship["default"]
    return rule, [c for c in group if c in survivorship and survivorship[c] != rule]


def _key(rule: str, real: str, length: str, freq: str) -> str:
    """SQL: the arg_max key of ``rule``; no field may be NULL (DuckDB ranks it first).

    ``real`` is the leading field(s), ``freq`` the frequency field(s), as ``'name': sql``.
    """
    if rule == "most_frequent":
        fields = [real, freq]
    elif rule == "most_complete":
        fields = [real, f"'len': {length}", freq]
    elif rule == "most_recent":
        fields = [real, f"'rec': {_REC_KEY}"]
    elif rule == "source_priority":
        fields = [real, "'p': -coalesce(prio, 1000000)", freq]
    else:  # pragma: no cover - validated earlier
        raise ValueError(rule)
    return "{" + ", ".join([*fields, "'r': -__row"]) + "}"


def golden_query(
    view: str,
    assign_table: str,
    columns: Sequence[str],
    rules: Mapping[str, str],
    *,
    groups: Sequence[tuple[str, Sequence[str]]] = (),
    recency_column: str | None = None,
    source_column: str | None = None,
    source_priority: Sequence[str] = (),
) -> str:
    """SQL selecting one golden row per cluster, ordered by ``cluster_id``.

    Args:
        view: the input view (VARCHAR columns plus ``__row``).
        assign_table: ``(rid, cluster_id)`` for every row.
        columns: the columns to carry into the golden record, in order.
        rules: column -> rule; every column in ``columns`` must be present.
        groups: ``(rule, columns)`` of column groups that survive as a whole: the
            rule picks one row, which gives the group's columns it has real values
            for; the others are filled from rows agreeing with it (see
            :func:`part_groups` and the module's docstring). A column is in one
            group at most; ``rules`` is not read for it.
        recency_column, source_column, source_priority: inputs of the rules that need them.
    """
    index = {c: i for i, c in enumerate(columns)}
    grouped = {c for _, g in groups for c in g}
    windows = []
    aggs = []
    picks = {}
    for i, column in enumerate(columns):
        value = f"nullif(trim(CAST(j.{quote_ident(column)} AS VARCHAR)), '')"
        windows.append(f"{value} AS v{i}")
        windows.append(f"NOT {placeholder_sql(value)} AS k{i}")
        windows.append(f"count(*) OVER (PARTITION BY j.cluster_id, {value}) AS f{i}")
        if column in grouped:
            continue
        key = _key(rules[column], f"'real': k{i}", f"length(v{i})", f"'f': f{i}")
        aggs.append(f"arg_max(v{i}, {key}) FILTER (WHERE v{i} IS NOT NULL) AS a{i}")
        picks[column] = f"coalesce(a{i}, '')"
    ranked = []
    for g, (rule, group) in enumerate(groups):
        ids = [index[c] for c in group]
        # A part's real value: NULL where it is blank or a placeholder, which rank alike.
        real_values = [f"CASE WHEN k{i} THEN v{i} END" for i in ids]
        # The group competes as one value: rows with more real parts first (a blank or
        # a placeholder never beats a value, and a placeholder never beats a blank),
        # then the rule on the real parts together, where a tie in frequency goes to the
        # row whose parts most rows share ("Mary, Smith" over "Smith, Mary" and "Mary, Smiht").
        values = ", ".join(
            f"CASE WHEN NOT {placeholder_sql(v)} THEN {v} END"
            for v in (f"nullif(trim(CAST(j.{quote_ident(c)} AS VARCHAR)), '')" for c in group)
        )
        windows.append(f"count(*) OVER (PARTITION BY j.cluster_id, {values}) AS gf{g}")
        real = " + ".join(f"CAST(v{i} IS NOT NULL AND k{i} AS INTEGER)" for i in ids)
        length = " + ".join(f"CASE WHEN k{i} THEN coalesce(length(v{i}), 0) ELSE 0 END" for i in ids)
        share = " + ".join(f"CASE WHEN v{i} IS NOT NULL AND k{i} THEN f{i} ELSE 0 END" for i in ids)
        key = _key(rule, f"'real': {real}", length, f"'f': gf{g}, 'share': {share}")
        # The winning row's real parts (a list: arg_max skips a NULL value, and a part may be
        # NULL), beside every row of its cluster.
        ranked.append(f"arg_max([{', '.join(real_values)}], {key}) OVER (PARTITION BY cluster_id) AS w{g}")
        # A row that contradicts none of the winner's real parts (case aside) may fill the
        # parts the winner lacks; each such part by the group's rule, column by column.
        agree = " AND ".join(
            f"coalesce(lower(w{g}[{n}]) = lower(CASE WHEN k{i} THEN v{i} END), true)"
            for n, i in enumerate(ids, 1)
        )
        aggs.append(f"any_value(w{g}) AS w{g}")
        for n, (i, c) in enumerate(zip(ids, group, strict=True), 1):
            fill_key = _key(rule, f"'real': k{i}", f"length(v{i})", f"'f': f{i}")
            aggs.append(f"arg_max(v{i}, {fill_key}) FILTER (WHERE v{i} IS NOT NULL AND {agree}) AS a{i}")
            picks[c] = f"coalesce(w{g}[{n}], a{i}, '')"
    extra = []
    if recency_column is not None:
        extra.append(_recency_sql(recency_column))
    if source_column is not None:
        plist = "[" + ", ".join(sql_literal(str(s)) for s in source_priority) + "]"
        extra.append(f"list_position({plist}, trim(CAST(j.{quote_ident(source_column)} AS VARCHAR))) AS prio")
    inner = ", ".join(["j.__row", "j.cluster_id", *windows, *extra])
    # Singletons (most clusters) need no survivorship: their golden record is the
    # row itself, so only multi-row clusters go through the windows and aggregates.
    sizes = f"(SELECT cluster_id, count(*) AS n FROM {assign_table} GROUP BY cluster_id)"
    rows = (
        f"FROM {view} AS s JOIN {assign_table} AS a ON a.rid = s.__row "
        f"JOIN {sizes} AS z ON z.cluster_id = a.cluster_id"
    )
    single = ", ".join(
        f"coalesce(nullif(trim(CAST(s.{quote_ident(c)} AS VARCHAR)), ''), '')" for c in columns
    )
    picked = "".join(f", {picks[c]} AS {quote_ident(c)}" for c in columns)
    return (
        f"SELECT * FROM (SELECT cluster_id, cluster_size, source_rows{picked} FROM ("
        f"SELECT cluster_id, count(*) AS cluster_size, "
        f"string_agg(CAST(__row AS VARCHAR), ';' ORDER BY __row) AS source_rows{''.join(', ' + a for a in aggs)} "
        f"FROM (SELECT *{''.join(', ' + r for r in ranked)} FROM ("
        f"SELECT {inner} FROM (SELECT s.*, a.cluster_id {rows} WHERE z.n > 1) AS j)) "
        f"GROUP BY cluster_id) UNION ALL SELECT a.cluster_id, CAST(1 AS BIGINT), CAST(s.__row AS VARCHAR)"
        f"{', ' + single if single else ''} {rows} WHERE z.n = 1) ORDER BY cluster_id"
    )
