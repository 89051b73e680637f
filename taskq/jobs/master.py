"""master-my-data: label-free entity resolution with golden records.

Finds rows of one file that describe the same real-world entity and merges
each group into a golden record. The stages, each in its own module:

=================  ===========================================================
reading            :func:`taskq.jobs.io.open_table`, every column as text
roles              :mod:`.master_roles` (``roles`` param, names, values)
normalising        :mod:`.master_normalize` (SQL) + metaphone keys per value
blocking           :mod:`.master_blocking` (capped passes, linear pair count)
scoring            :mod:`.master_scoring` (levels in SQL, one statement)
model              :mod:`.master_model` (u from random pairs, m and prior by
                   EM over level patterns, with a class for housemates: people
                   sharing an address and phone; match probability per pattern)
clustering         :mod:`.master_cluster` (components + weak-chain guard)
golden records     :mod:`.master_golden` (survivorship per column or name/address group, lineage)
=================  ===========================================================

Outputs (in ``out_dir``): ``clusters.csv`` (``row``, ``cluster_id``; every
input row exactly once), ``golden.csv`` (``cluster_id``, ``cluster_size``,
``source_rows``, golden values; an input column with one of those names is
read and written as ``<name>_input``), ``pairs.csv`` (candidate pairs at or above
``threshold``: rows, per-field similarity, match weight and probability,
whether they ended in one cluster) and ``stewardship.csv`` (pairs within
``review_band`` log-odds of the threshold, and clusters the chain guard split
or could not check; at most ``max_review_rows`` of them, and then a
``review_truncated`` warning and ``summary.review_items_total`` say how many
there were). Parameters are described in :mod:`.master_params`.

``summary.model`` shows the fitted model: ``prior`` (share of candidate pairs
that match), ``household_share`` (share in the second non-match class, which
the model reserves for housemates; on a file without households it holds the
largest group of look-alike strangers instead, so it is not a count of
households) and per field ``m``, ``u`` (and ``h``) by level.

Rows are the 0-based input rows (``__row`` of :mod:`taskq.jobs.io`). All pair
work happens in DuckDB; Python only sees distinct values, level patterns and
the edges above the review band, as numpy arrays.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from ..errors import InputMalformed, InputTooLarge
from ..progress import Progress, ScaledProgress
from .findings import finding
from .io import connect, free_reserved, open_table, quote_ident, write_table
from .master_blocking import CANDIDATES_TABLE, build_candidates, plan_passes
from .master_cluster import ClusterResult, cluster, dense_ids
from .master_golden import golden_query, group_rule, part_groups
from .master_model import Model, estimate_model
from .master_normalize import (
    NORMALISED_TABLE,
    SUFFIX_ROLES,
    build_normalised,
    content_order,
    name_part_sql,
    phonetic_keys,
    suffix_field,
)
from .master_params import check_columns
from .master_params import validate_params as _validate
from .master_roles import NAME_ROLES, detect_roles, looks_like_names, organisation
from .master_scoring import MAX_FIELDS, Comparison, pair_sql, street_line

__all__ = ["run", "validate_params"]

logger = logging.getLogger(__name__)

OUTPUTS = ("clusters.csv", "golden.csv", "pairs.csv", "stewardship.csv")
_RESERVED = ("cluster_id", "cluster_size", "source_rows")
"""golden.csv's own columns: input columns of these names are read as ``<name>_input``."""
_KIND = {"email": "e-mail addresses", "phone": "phone numbers", "dob": "dates"}
_NAMED = {"email": "an email", "phone": "a phone", "dob": "a date-of-birth"}
_SCORE_SLICE = 4_000_000
MODEL_COLLAPSED = 1e-4
"""Below this fitted match share the model found no duplicates to learn from (warned)."""
"""Candidate pairs scored per statement (cancellation is checked between statements)."""


def validate_params(params: dict[str, Any]) -> dict[str, Any]:
    """Check master-my-data parameters; see :mod:`taskq.jobs.master_params`."""
    return _validate(params)


def _roles(
    con: duckdb.DuckDBPyConnection,
    view: str,
    columns: list[str],
    rows: int,
    params: dict[str, Any],
    unfit: dict[str, str] | None = None,
    unused_names: list[str] | None = None,
    duplicates: dict[str, str] | None = None,
) -> dict[str, str]:
    """Every column's role (:func:`.master_roles.detect_roles`). ``unfit`` gets the
    columns refused the role their name suggests; ``unused_names``, when no column
    has a name role, the columns left out (not by the user) that look like names;
    ``duplicates`` the columns left out as a second column of a one-fact role
    (``Province Code`` beside ``Province``), each with the column kept."""
    sample = con.execute(f"SELECT * EXCLUDE (__row) FROM {view} LIMIT 500").fetchall()
    samples = {c: [r[i] for r in sample] for i, c in enumerate(columns)}
    given = dict(params["roles"])
    for c in params["ignore_columns"]:
        given[c] = "ignore"
    for c in (params["recency_column"], params["source_column"]):
        if c is not None and c not in given:
            given[c] = "ignore"
    # Only a guessed id column can turn out to be a record key, and only an exact
    # count tells a key from an id with a few repeats (approx_count_distinct, a
    # HyperLogLog estimate, put 5,000 unique keys at 0.96 of the rows). One
    # count(DISTINCT) per such column: about a second on a million rows.
    guessed = detect_roles(columns, samples, given=given)
    ratios = {}
    for c in columns:
        if guessed[c] == "id" and c not in given:
            distinct = con.execute(f"SELECT count(DISTINCT {quote_ident(c)}) FROM {view}").fetchall()[0][0]
            ratios[c] = distinct / max(rows, 1)
    roles = detect_roles(
        columns, samples, given=given, distinct_ratio=ratios, unfit=unfit, duplicates=duplicates
    )
    if unused_names is not None and not NAME_ROLES & set(roles.values()):
        unused_names.extend(
            c for c in columns if roles[c] == "ignore" and c not in given and looks_like_names(samples[c])
        )
    return roles


def _split_column(roles: dict[str, str]) -> str | None:
    """The column of people's full names to compare as a given and a family name, if any.

    The first column whose role is ``name`` and that is not an organisation's
    (:func:`.master_roles.organisation`), when no column is a first or last name.
    Compared whole, two people who share a family name and an address (a household)
    look alike: ``John Smith`` and ``Mary Smith`` are closer than strangers. As a given
    name they are a personal field (:func:`.master_model.personal_fields`).
    """
    if {"first_name", "last_name"} & set(roles.values()):
        return None
    return next((c for c, r in roles.items() if r == "name" and not organisation(c)), None)


def _compared(
    roles: dict[str, str], split: str | None, columns: list[str]
) -> tuple[list[tuple[str, str]], dict[str, tuple[str, str]]]:
    """``(column, role)`` of each compared column, in column order, and the derived
    columns: ``split`` becomes ``<split> (given)`` (``first_name``) and ``<split> (family)``
    (``last_name``), each mapped to ``(split, part)``. A derived name that an input column
    already has gets a number."""
    compared: list[tuple[str, str]] = []
    parts: dict[str, tuple[str, str]] = {}
    taken = set(columns)
    for col, role in roles.items():
        if role == "ignore":
            continue
        if col != split:
            compared.append((col, role))
            continue
        for part, part_role in (("given", "first_name"), ("family", "last_name")):
            name, k = f"{col} ({part})", 2
            while name in taken:
                name, k = f"{col} ({part} {k})", k + 1
            taken.add(name)
            parts[name] = (col, part)
            compared.append((name, part_role))
    return compared, parts


def _blocking_fields(comps: list[Comparison], usable: dict[str, int]) -> dict[str, str]:
    """role -> the field blocked on (and given phonetic keys) for that role.

    Of several columns of one role, the one with the most usable values (after
    normalising; the first on a tie): a mostly empty ``email_old`` before a full
    ``email`` would otherwise find no pairs. An organisation's name
    (:func:`.master_roles.organisation`: ``Company``) is not blocked on when a
    person's name (first, last or full) is: many people share one company, and its
    phonetic keys would pair them all. Addresses block on the street line, not
    ``address_2``."""

    def org(c: Comparison) -> bool:
        return c.role == "name" and organisation(c.column)

    person = any(c.role in NAME_ROLES and not org(c) for c in comps)
    first: dict[str, str] = {}
    for c in sorted(comps, key=lambda c: -usable.get(c.field, 0)):  # stable: ties keep column order
        if person and org(c):
            continue
        first.setdefault(c.role, c.field)
    line = street_line(comps)
    if line is not None:
        first["address"] = line.field
    return first


def _score_pairs(con: duckdb.DuckDBPyConnection, comps: list[Comparison], progress: Progress) -> None:
    """Score all candidate pairs into ``m_scored(l, r, code)``.

    One statement per slice of about :data:`_SCORE_SLICE` pairs (by ``l``), so
    DuckDB parallelises inside each slice while cancellation is still checked
    every few seconds; Python never sees the pairs.
    """
    con.execute("CREATE OR REPLACE TEMP TABLE m_scored (l INTEGER, r INTEGER, code BIGINT)")
    total, hi = con.execute(f"SELECT count(*), coalesce(max(l), 0) FROM {CANDIDATES_TABLE}").fetchall()[0]
    slices = max(1, math.ceil(total / _SCORE_SLICE))
    bounds = [0]
    if slices > 1:
        qs = ", ".join(f"{k / slices!r}" for k in range(1, slices))
        bounds += sorted(
            {
                int(b)
                for b in con.execute(f"SELECT quantile_disc(l, [{qs}]) FROM {CANDIDATES_TABLE}").fetchall()[
                    0
                ][0]
            }
        )
    bounds.append(int(hi) + 1)
    for k, (lo, up) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        progress.check()
        pairs = f"(SELECT l, r FROM {CANDIDATES_TABLE} WHERE l >= {lo} AND l < {up})"
        con.execute(f"INSERT INTO m_scored {pair_sql(comps, pairs)}")
        progress.update(100.0 * (k + 1) / (len(bounds) - 1), "scoring")


def _pattern_table(con: duckdb.DuckDBPyConnection, model: Model) -> None:
    codes = con.execute("SELECT DISTINCT code FROM m_scored").fetchnumpy()["code"]
    codes = np.asarray(codes, dtype=np.int64)
    logit = model.log_odds(codes)
    con.register("m_pat_arrow", pa.table({"code": codes, "weight": logit, "prob": model.probability(codes)}))
    con.execute("CREATE OR REPLACE TEMP TABLE m_pat AS SELECT * FROM m_pat_arrow")
    con.unregister("m_pat_arrow")


def _within_scorer(
    con: duckdb.DuckDBPyConnection, comps: list[Comparison], model: Model
) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    def score(rows: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        con.register("m_members", pa.table({"rid": rows.astype(np.int32), "comp": labels.astype(np.int64)}))
        pairs = (
            "(SELECT x.rid AS l, y.rid AS r FROM m_members AS x "
            "JOIN m_members AS y ON x.comp = y.comp AND x.rid < y.rid)"
        )
        res = con.execute(pair_sql(comps, pairs)).fetchnumpy()
        con.unregister("m_members")
        codes = np.asarray(res["code"], dtype=np.int64)
        return np.asarray(res["l"], np.int64), np.asarray(res["r"], np.int64), model.probability(codes)

    return score


def run(input_path: Path, out_dir: Path, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Resolve entities in ``input_path``; write the four CSV outputs into ``out_dir``.

    Edge cases: with no column fit for matching (or a single row) every row is
    its own cluster and a warning says why. A role mapped to a missing column
    raises :class:`~taskq.errors.UnknownColumn`; unreadable input the matching
    :class:`~taskq.errors.InputError`. Cancellation (``progress.check()``)
    propagates; :func:`taskq.jobs.execute` then discards everything written.
    """
    params = _validate(dict(params))
    out_dir = Path(out_dir)
    progress.update(0, "reading")
    con = connect(memory_limit=params["memory_limit"], threads=params["threads"])
    try:
        return _run(con, Path(input_path), out_dir, params, progress)
    except (duckdb.ConversionException, duckdb.InvalidInputException) as exc:
        raise InputMalformed(
            f"{Path(input_path).name}: cannot match records: {str(exc).splitlines()[0]}"
        ) from exc
    finally:
        con.close()


def _run(
    con: duckdb.DuckDBPyConnection, path: Path, out_dir: Path, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    table = open_table(con, path, all_varchar=True, options=params["read_options"])
    table = free_reserved(con, table, _RESERVED, "master-my-data")
    if len(table.columns) > params["max_columns"]:
        # Role detection and golden records work column by column: a 10,000-column
        # file would run for hours. Records of people or companies are not that wide.
        raise InputTooLarge(
            f"{path.name}: {len(table.columns)} columns; master-my-data takes at most {params['max_columns']} "
            "(param max_columns); drop the columns that do not describe the entity"
        )
    check_columns(params, table.columns, path.name)
    rows, view = table.rows, table.view
    unfit: dict[str, str] = {}
    unused_names: list[str] = []
    duplicates: dict[str, str] = {}
    roles = _roles(con, view, table.columns, rows, params, unfit, unused_names, duplicates)
    split = _split_column(roles) if params["split_names"] else None
    compared, parts = _compared(roles, split, table.columns)
    comps = [
        Comparison(f"f{i}", c, r, suffix_field(f"f{i}") if r in SUFFIX_ROLES else None)
        for i, (c, r) in enumerate(compared)
    ]
    alerts: list[dict[str, Any]] = list(table.warnings)  # rows the reader skipped, renamed columns
    if split is not None:
        alerts.append(
            finding(
                "info",
                f"{split!r} holds people's full names: compared as a given name (the first word after "
                "any title, or the first after a comma) and a family name (the last word with its "
                "particles, or the words before a comma), so people who share a family name and an "
                "address are told apart by their given names; set params.split_names to false to "
                "compare the whole name",
                column=split,
                code="name_split",
            )
        )
    if unused_names:
        # Without names, relatives sharing an address, phone or email look like one person.
        alerts.append(
            finding(
                "warning",
                f"no column is compared as a name, but {', '.join(map(repr, unused_names))} look like names "
                "of people: records are matched without names, so relatives sharing an address, phone or "
                "email may merge; set params.roles (name, first_name, last_name) to use them",
                column=unused_names[0] if len(unused_names) == 1 else None,
                code="names_not_used",
            )
        )
    for col, kept in duplicates.items():
        alerts.append(
            finding(
                "info",
                f"{col!r} holds the same {roles[kept]} as {kept!r}, which is compared: {col!r} is not "
                "(one fact counted twice would outweigh the others; set params.roles to compare it)",
                column=col,
                code="role_duplicate",
            )
        )
    for col, role in unfit.items():
        alerts.append(
            finding(
                "info",
                f"{col!r} is named like {_NAMED[role]} column but its values are not {_KIND[role]}: "
                f"not compared (set params.roles to use it)",
                column=col,
                code="role_values_mismatch",
            )
        )
    issues: list[dict[str, Any]] = []
    recs: list[dict[str, Any]] = []
    if len(comps) > MAX_FIELDS:
        issues.append(
            finding(
                "warning",
                f"only the first {MAX_FIELDS} of {len(comps)} matching columns are compared",
                code="too_many_match_columns",
            )
        )
        comps = comps[:MAX_FIELDS]
    progress.update(5, "normalising")
    source = view
    if parts:
        derived = ", ".join(
            f"{name_part_sql(quote_ident(col), part)} AS {quote_ident(name)}"
            for name, (col, part) in parts.items()
        )
        source = "m_source"
        con.execute(f"CREATE OR REPLACE TEMP VIEW {source} AS SELECT *, {derived} FROM {view}")
    build_normalised(con, source, [(c.field, c.column, c.role) for c in comps], nicknames=params["nicknames"])
    usable: dict[str, int] = {}
    if comps:
        # Counted after normalising: blanks, placeholders and values with nothing
        # left (no letter or digit, an email without @) are empty too.
        counts = [f"count({quote_ident(c.field)})" for c in comps]
        filled = con.execute(f"SELECT {', '.join(counts)} FROM {NORMALISED_TABLE}").fetchall()[0]
        for c, n in zip(comps, filled, strict=True):
            usable[c.field] = int(n)
            if not n:
                alerts.append(
                    finding(
                        "warning",
                        f"{c.column!r} ({c.role}) has no usable values: it cannot match any row",
                        column=parts[c.column][0] if c.column in parts else c.column,
                        code="empty_match_column",
                    )
                )
    first = _blocking_fields(comps, usable)
    phon: dict[str, str] = {}
    for role in ("first_name", "last_name", "name"):
        if role in first:
            progress.check()
            phonetic_keys(con, first[role], f"ph_{role}")
            phon[role] = f"ph_{role}"
    progress.update(15, "blocking")
    passes = plan_passes(first, phon, params["block_window"]) if comps and rows > 1 else []
    pass_counts = build_candidates(con, passes, ScaledProgress(progress, 15, 25))
    candidates = con.execute(f"SELECT count(*) FROM {CANDIDATES_TABLE}").fetchall()[0][0]
    progress.update(25, "scoring")
    _score_pairs(con, comps, ScaledProgress(progress, 25, 60))
    # Ties (random pairs, clustering) go by what rows hold, not where they stand.
    order = content_order(con)
    rank = np.empty(rows, dtype=np.int64)
    rank[order] = np.arange(rows, dtype=np.int64)
    model = estimate_model(con, comps, "m_scored", rows, order=order)
    _pattern_table(con, model)
    progress.update(65, "clustering")
    thr = params["threshold"]
    logit_thr = math.log(thr / (1 - thr))
    low = 1 / (1 + math.exp(-(logit_thr - params["review_band"])))
    high = 1 / (1 + math.exp(-(logit_thr + params["review_band"])))
    edges = con.execute(
        f"SELECT s.l, s.r, p.prob FROM m_scored AS s JOIN m_pat AS p USING (code) WHERE p.prob >= {low!r}"
    ).fetchnumpy()
    el, er, ep = (np.asarray(edges[k]) for k in ("l", "r", "prob"))
    result = cluster(
        rows,
        el.astype(np.int64),
        er.astype(np.int64),
        ep.astype(np.float64),
        thr,
        _within_scorer(con, comps, model),
        progress,
        support=params["cluster_support"],
        max_cluster_size=params["max_cluster_size"],
        rank=rank,
    )
    ids = dense_ids(result.labels)
    con.register("m_assign_arrow", pa.table({"rid": np.arange(rows, dtype=np.int64), "cluster_id": ids}))
    con.execute("CREATE OR REPLACE TEMP TABLE m_assign AS SELECT * FROM m_assign_arrow")
    con.unregister("m_assign_arrow")
    progress.update(75, "golden records")
    golden_cols = table.columns  # none is named like golden.csv's own columns (free_reserved)
    rules = {c: params["survivorship"].get(c, params["survivorship"]["default"]) for c in golden_cols}
    groups = []
    for group in part_groups(golden_cols, roles):
        rule, overridden = group_rule(group, params["survivorship"])
        groups.append((rule, group))
        if overridden:
            recs.append(
                finding(
                    "warning",
                    f"columns {', '.join(map(repr, group))} survive together (parts of one name or "
                    f"address come from one row) by rule {rule!r}, the rule of the first of them; "
                    f"the rule set for {', '.join(map(repr, overridden))} is not used",
                    code="survivorship_group_rule",
                )
            )
    write_table(
        con,
        golden_query(
            view,
            "m_assign",
            golden_cols,
            rules,
            groups=groups,
            recency_column=params["recency_column"],
            source_column=params["source_column"],
            source_priority=params["source_priority"],
        ),
        out_dir / "golden.csv",
        "csv",
    )
    progress.update(85, "writing")
    write_table(
        con, "SELECT rid AS row, cluster_id FROM m_assign ORDER BY rid", out_dir / "clusters.csv", "csv"
    )
    progress.check()
    sim_cols = "".join(f", q.sim{i} AS {quote_ident(c.column + '_sim')}" for i, c in enumerate(comps))
    matched = f"(SELECT s.l, s.r FROM m_scored AS s JOIN m_pat AS p USING (code) WHERE p.prob >= {thr!r})"
    pair_select = (
        f"SELECT q.l AS left_row, q.r AS right_row{sim_cols}, "
        f"round(p.weight, 3) AS match_weight, round(p.prob, 6) AS match_probability, "
        f"ca.cluster_id AS left_cluster, cb.cluster_id AS right_cluster "
        f"FROM ({pair_sql(comps, matched, similarities=True)}) AS q JOIN m_pat AS p USING (code) "
        f"JOIN m_assign AS ca ON ca.rid = q.l JOIN m_assign AS cb ON cb.rid = q.r"
    )
    n_pairs = write_table(con, f"{pair_select} ORDER BY q.l, q.r", out_dir / "pairs.csv", "csv")
    progress.check()
    n_review, n_review_all = _write_stewardship(
        con, out_dir, result, ids, low, high, params["max_review_rows"]
    )
    clusters = int(ids.max()) + 1 if rows else 0
    multi = int((np.bincount(ids) > 1).sum()) if rows else 0
    dup_rows = rows - clusters
    if not comps:
        alerts.append(
            finding(
                "warning",
                f"{path.name}: no column looks like a name, address, date of birth, email, phone or id; set params.roles",
                code="no_match_columns",
            )
        )
    if dup_rows:
        issues.append(
            finding(
                "warning" if dup_rows / max(rows, 1) > 0.01 else "info",
                f"{dup_rows} of {rows} rows are duplicates of another row ({multi} clusters of 2+ rows)",
                code="duplicate_records",
            )
        )
    if n_review:
        recs.append(
            finding(
                "info",
                f"review {n_review} pairs/clusters near the threshold in stewardship.csv",
                code="review_matches",
            )
        )
    if n_review_all > n_review:
        recs.append(
            finding(
                "warning",
                f"stewardship.csv holds the first {n_review} of {n_review_all} review items "
                f"(max_review_rows={params['max_review_rows']})",
                code="review_truncated",
            )
        )
    if candidates and model.prior < MODEL_COLLAPSED:
        # EM found (almost) no matching pairs among the candidates: only exact copies
        # (the identical-records rule) can merge; near-duplicates are left apart.
        issues.append(
            finding(
                "warning",
                f"the match model found almost no duplicates among {candidates} candidate pairs "
                f"(match share {model.prior:.2g}): only exact copies were merged. Right for a file "
                "without duplicates; if this one has them, it may hold too few records (or nearly "
                "all of one entity) to learn from: check pairs.csv and stewardship.csv, or lower threshold",
                code="model_found_no_matches",
            )
        )
    if result.oversized:
        recs.append(
            finding(
                "warning",
                f"{len(result.oversized)} clusters exceed max_cluster_size={params['max_cluster_size']} and were not checked for chains; raise threshold or review them",
                code="oversized_clusters",
            )
        )
    progress.update(100, "writing")
    summary = {
        "rows": rows,
        "clusters": clusters,
        "multi_row_clusters": multi,
        "duplicate_rows": dup_rows,
        "roles": {
            parts[c.column][0] if c.column in parts else c.column: roles.get(c.column, "name") for c in comps
        },
        "candidate_pairs": int(candidates),
        "pairs_by_pass": pass_counts,
        "matched_pairs": int(n_pairs),
        "threshold": thr,
        "split_clusters": len(result.split),
        "review_items": n_review,
        "review_items_total": n_review_all,
        "review_truncated": n_review_all > n_review,
        "model": {
            "prior": round(model.prior, 6),
            "household_share": round(model.household, 6),
            "em_iterations": model.iterations,
            "fields": model.describe(comps),
        },
    }
    return {
        "input": {"name": path.name, "format": table.format, "rows": rows, "columns": len(table.columns)},
        "alerts": alerts,
        "issues": issues,
        "recommendations": recs,
        "summary": summary,
        "outputs": list(OUTPUTS),
    }


def _write_stewardship(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    result: ClusterResult,
    ids: np.ndarray,
    low: float,
    high: float,
    limit: int,
) -> tuple[int, int]:
    """Pairs with probability in [low, high) plus split/oversized clusters, at most ``limit`` rows.

    Rows are ordered clusters first, then by cluster, left and right row (a total
    order, so the file and which rows a limit keeps are the same on every run).
    Returns the rows written and the items there were before the limit.
    """
    flagged = [(lab, "split_weak_chain") for lab in result.split] + [
        (lab, "oversized") for lab in result.oversized
    ]
    old = np.asarray([lab for lab, _ in flagged], dtype=np.int64)
    reason = [r for _, r in flagged]
    con.register("m_flag_arrow", pa.table({"old": old, "reason": pa.array(reason, pa.string())}))
    con.register("m_old_arrow", pa.table({"rid": np.arange(len(ids), dtype=np.int64), "old": result.before}))
    query = (
        f"SELECT * FROM (SELECT 'pair' AS kind, ca.cluster_id AS cluster_id, s.l AS left_row, s.r AS right_row, "
        f"round(p.prob, 6) AS match_probability, NULL AS rows, "
        f"CASE WHEN ca.cluster_id = cb.cluster_id THEN 'merged_near_threshold' "
        f"ELSE 'not_merged_near_threshold' END AS reason "
        f"FROM m_scored AS s JOIN m_pat AS p USING (code) JOIN m_assign AS ca ON ca.rid = s.l "
        f"JOIN m_assign AS cb ON cb.rid = s.r WHERE p.prob >= {low!r} AND p.prob < {high!r} "
        f"UNION ALL SELECT 'cluster', a.cluster_id, NULL, NULL, NULL, "
        f"string_agg(CAST(a.rid AS VARCHAR), ';' ORDER BY a.rid), any_value(f.reason) "
        f"FROM m_assign AS a JOIN m_old_arrow AS o ON o.rid = a.rid JOIN m_flag_arrow AS f ON f.old = o.old "
        f"GROUP BY a.cluster_id)"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE m_review AS {query}")
    total = int(con.execute("SELECT count(*) FROM m_review").fetchall()[0][0])
    n = write_table(
        con,
        f"SELECT * FROM m_review ORDER BY kind DESC, cluster_id, left_row, right_row LIMIT {int(limit)}",
        out_dir / "stewardship.csv",
        "csv",
    )
    con.unregister("m_flag_arrow")
    con.unregister("m_old_arrow")
    con.execute("DROP TABLE m_review")
    return n, total
