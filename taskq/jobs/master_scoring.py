"""Comparing candidate pairs and scoring them Fellegi-Sunter style, without labels.

Each compared field turns a pair into a *level* (SQL, inside DuckDB):
3 exact, 2 close, 1 somewhat close, 0 different, or *null* when either side is
missing (a missing value is no evidence either way). The measure fits the role:
Jaro-Winkler for names and text, Damerau-Levenshtein for ids, codes and phone
numbers, day/month transposition for dates. First and last names are compared
crosswise when that fits better, so swapped names still agree.

The levels of a pair are packed into one BIGINT (3 bits per field), so the
scored table is ``(l, r, code)``: 16 bytes a pair, never Python objects.

The model: ``u`` (P(level | non-match)) comes from the level frequencies of
random pairs, which are almost all non-matches; ``m`` (P(level | match)) and the
share of matches among candidates come from EM over the distinct level
patterns with their counts (a few thousand at most, in numpy). A pair's match
probability is ``sigmoid(log prior odds + sum of log(m/u))``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from .io import quote_ident
from .master_normalize import NORMALISED_TABLE

__all__ = [
    "BITS",
    "MAX_FIELDS",
    "NULL_LEVEL",
    "Comparison",
    "Feature",
    "Model",
    "code_sql",
    "estimate_model",
    "pair_similarities_sql",
    "plan_features",
    "similarity_sql",
]

logger = logging.getLogger(__name__)

BITS = 3
NULL_LEVEL = 7
LEVELS = 4
MAX_FIELDS = 21

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
    """One compared field: normalised column ``field`` of input ``column`` with ``role``."""

    field: str
    column: str
    role: str

    @property
    def kind(self) -> str:
        return _KIND_BY_ROLE[self.role]


@dataclass(frozen=True)
class Feature:
    """One term of the model: a single comparison, or the location composite.

    Postcode, city and state are strongly correlated (same postcode, same
    suburb, same state), so counting them as three independent agreements would
    let two strangers from one suburb look like a match. They form one
    ``location`` feature: 3 postcode and city agree (where present), 2 one of
    them agrees, 1 a near miss or only the state agrees, 0 nothing agrees.
    """

    name: str
    kind: str
    parts: tuple[Comparison, ...]


def plan_features(comparisons: list[Comparison]) -> list[Feature]:
    """Group ``comparisons`` into model features (first postcode/city/state -> location)."""
    loc: dict[str, Comparison] = {}
    features: list[Feature] = []
    for c in comparisons:
        if c.role in ("postcode", "city", "state") and c.role not in loc:
            loc[c.role] = c
            if len(loc) == 1:
                features.append(Feature("location", "location", ()))
            continue
        features.append(Feature(c.column, c.kind, (c,)))
    if loc:
        parts = tuple(loc[r] for r in ("postcode", "city", "state") if r in loc)
        features = [Feature("location", "location", parts) if f.kind == "location" else f for f in features]
    return features[:MAX_FIELDS]


def _location_sql(parts: dict[str, tuple[str, str]]) -> str:
    def eq(role: str) -> str | None:
        return f"({parts[role][0]} = {parts[role][1]})" if role in parts else None

    known = " OR ".join(f"({a} IS NOT NULL AND {b} IS NOT NULL)" for a, b in parts.values())
    strong = [e for e in (eq("postcode"), eq("city")) if e]
    near = []
    if "postcode" in parts:
        near.append(
            f"coalesce(damerau_levenshtein({parts['postcode'][0]}, {parts['postcode'][1]}) <= 1, false)"
        )
    if "city" in parts:
        near.append(
            f"coalesce(jaro_winkler_similarity({parts['city'][0]}, {parts['city'][1]}) >= 0.88, false)"
        )
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


def _level_sql(kind: str, a: str, b: str) -> str:
    jw = f"jaro_winkler_similarity({a}, {b})"
    dl = f"damerau_levenshtein({a}, {b})"
    if kind == "name":
        body = f"WHEN {jw} >= 0.92 THEN 2 WHEN {jw} >= 0.8 THEN 1"
    elif kind == "address":
        body = f"WHEN {jw} >= 0.9 THEN 2 WHEN {jw} >= 0.75 THEN 1"
    elif kind == "short":
        body = f"WHEN {jw} >= 0.88 THEN 1"
    elif kind == "code":
        body = f"WHEN {dl} <= 1 THEN 1"
    elif kind in ("id", "phone"):
        body = f"WHEN {dl} <= 1 THEN 2 WHEN levenshtein({a}, {b}) <= 2 THEN 1"
    elif kind == "dob":
        swapped = (
            f"(substr({a}, 1, 4) = substr({b}, 1, 4) AND substr({a}, 6, 2) = substr({b}, 9, 2) "
            f"AND substr({a}, 9, 2) = substr({b}, 6, 2))"
        )
        body = f"WHEN {dl} <= 1 OR {swapped} THEN 2 WHEN {dl} <= 2 THEN 1"
    elif kind == "email":
        body = f"WHEN split_part({a}, '@', 1) = split_part({b}, '@', 1) OR {jw} >= 0.92 THEN 2"
    else:  # pragma: no cover - every role has a kind
        raise ValueError(kind)
    top = 2 if kind in ("short", "code") else 3
    return (
        f"CASE WHEN {a} IS NULL OR {b} IS NULL THEN {NULL_LEVEL} WHEN {a} = {b} THEN {top} {body} ELSE 0 END"
    )


def similarity_sql(kind: str, a: str, b: str) -> str:
    """A 0-1 similarity of ``a`` and ``b`` for reports (NULL when either is missing)."""
    if kind in ("name", "address", "short", "email"):
        return f"round(jaro_winkler_similarity({a}, {b}), 3)"
    return f"round(1 - damerau_levenshtein({a}, {b}) / greatest(length({a}), length({b}), 1), 3)"


def _sides(comparisons: list[Comparison], a: str, b: str) -> list[tuple[str, str]]:
    """Per comparison, the SQL of the left and right value; names crosswise when swapped."""
    fields = {c.role: quote_ident(c.field) for c in comparisons}
    swap = None
    if "first_name" in fields and "last_name" in fields:
        f, s = fields["first_name"], fields["last_name"]
        straight = f"coalesce(jaro_winkler_similarity({a}.{f}, {b}.{f}), 0) + coalesce(jaro_winkler_similarity({a}.{s}, {b}.{s}), 0)"
        crossed = f"coalesce(jaro_winkler_similarity({a}.{f}, {b}.{s}), 0) + coalesce(jaro_winkler_similarity({a}.{s}, {b}.{f}), 0)"
        swap = f"({crossed} > {straight} + 0.2)"
    out = []
    for c in comparisons:
        left, right = f"{a}.{quote_ident(c.field)}", f"{b}.{quote_ident(c.field)}"
        if swap and c.role in ("first_name", "last_name"):
            other = fields["last_name" if c.role == "first_name" else "first_name"]
            right = f"CASE WHEN {swap} THEN {b}.{other} ELSE {right} END"
        out.append((left, right))
    return out


def code_sql(comparisons: list[Comparison], a: str = "a", b: str = "b") -> str:
    """SQL packing every feature's level into one BIGINT (feature i at bits 3i..3i+2)."""
    sides = dict(zip(comparisons, _sides(comparisons, a, b), strict=True))
    parts = []
    for i, feat in enumerate(plan_features(comparisons)):
        if feat.kind == "location":
            level = _location_sql({c.role: sides[c] for c in feat.parts})
        else:
            level = _level_sql(feat.kind, *sides[feat.parts[0]])
        parts.append(f"(CAST({level} AS BIGINT) << {BITS * i})")
    return " + ".join(parts) if parts else "CAST(0 AS BIGINT)"


def pair_similarities_sql(comparisons: list[Comparison], a: str = "a", b: str = "b") -> list[str]:
    """Per comparison, a similarity expression (same crosswise rule as the levels)."""
    return [
        similarity_sql(c.kind, left, right)
        for c, (left, right) in zip(comparisons, _sides(comparisons, a, b), strict=True)
    ]


def decode(codes: np.ndarray, n_fields: int) -> np.ndarray:
    """Unpack codes into a (len(codes), n_fields) level matrix."""
    codes = np.asarray(codes, dtype=np.int64)
    shifts = np.arange(n_fields, dtype=np.int64) * BITS
    return ((codes[:, None] >> shifts[None, :]) & 7).astype(np.int64)


@dataclass
class Model:
    """A fitted Fellegi-Sunter model.

    Attributes:
        m, u: (fields, LEVELS) probabilities of each level among matches / non-matches.
        prior: share of matches among candidate pairs.
        iterations: EM iterations run.
    """

    m: np.ndarray
    u: np.ndarray
    prior: float
    iterations: int

    @property
    def weights(self) -> np.ndarray:
        """Natural-log Bayes factors per field and level; a null level weighs 0."""
        w = np.zeros((self.m.shape[0], NULL_LEVEL + 1))
        w[:, :LEVELS] = np.log(self.m / self.u)
        return w

    def log_odds(self, codes: np.ndarray) -> np.ndarray:
        levels = decode(codes, self.m.shape[0])
        w = self.weights
        total = w[np.arange(w.shape[0])[None, :], levels].sum(axis=1)
        return total + np.log(self.prior / (1 - self.prior))

    def probability(self, codes: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(self.log_odds(codes), -700, 700)))

    def describe(self, comparisons: list[Comparison]) -> dict[str, dict[str, list[float]]]:
        return {
            f.name: {
                "m": [round(float(x), 4) for x in self.m[i]],
                "u": [round(float(x), 6) for x in self.u[i]],
            }
            for i, f in enumerate(plan_features(comparisons))
        }


def _level_freq(levels: np.ndarray, counts: np.ndarray, n_fields: int, pseudo: float) -> np.ndarray:
    out = np.full((n_fields, LEVELS), pseudo, dtype=np.float64)
    for f in range(n_fields):
        col = levels[:, f]
        ok = col < LEVELS
        np.add.at(out[f], col[ok], counts[ok])
    return out / out.sum(axis=1, keepdims=True)


def estimate_model(
    con: duckdb.DuckDBPyConnection,
    comparisons: list[Comparison],
    scored_table: str,
    n_rows: int,
    *,
    sample_pairs: int = 200_000,
    seed: int = 7,
    max_iter: int = 100,
) -> Model:
    """Fit u from random pairs and m plus the prior from EM over ``scored_table``'s codes."""
    features = plan_features(comparisons)
    n_fields = len(features)
    k = min(sample_pairs, max(n_rows * 4, 1000))
    rng = np.random.default_rng(seed)
    left = rng.integers(0, n_rows, k, dtype=np.int64)
    right = rng.integers(0, n_rows, k, dtype=np.int64)
    keep = left != right
    con.register(
        "m_rand_arrow", pa.table({"l": left[keep].astype(np.int32), "r": right[keep].astype(np.int32)})
    )
    rand = con.execute(
        f"SELECT code, count(*) FROM (SELECT {code_sql(comparisons)} AS code FROM m_rand_arrow AS p "
        f"JOIN {NORMALISED_TABLE} AS a ON a.rid = p.l JOIN {NORMALISED_TABLE} AS b ON b.rid = p.r) GROUP BY code"
    ).fetchnumpy()
    con.unregister("m_rand_arrow")
    u = _level_freq(decode(rand["code"], n_fields), rand["count_star()"].astype(np.float64), n_fields, 1.0)

    pats = con.execute(f"SELECT code, count(*) AS n FROM {scored_table} GROUP BY code").fetchnumpy()
    levels = decode(pats["code"], n_fields)
    counts = pats["n"].astype(np.float64)
    # Start: matches mostly agree exactly, share of matches modest.
    m = np.tile(np.array([0.05, 0.05, 0.1, 0.8]), (n_fields, 1))
    for f, c in enumerate(features):
        if c.kind in ("short", "code"):
            m[f] = [0.05, 0.15, 0.8, 1e-6]
    m = m / m.sum(axis=1, keepdims=True)
    prior = 0.1
    it = 0
    if len(counts) == 0:
        return Model(m, u, 1e-6, 0)
    fidx = np.arange(n_fields)[None, :]
    valid = levels < LEVELS
    safe = np.where(valid, levels, 0)
    for step in range(1, max_iter + 1):
        it = step
        lm = np.where(valid, np.log(m)[fidx, safe], 0.0).sum(axis=1)
        lu = np.where(valid, np.log(u)[fidx, safe], 0.0).sum(axis=1)
        z = np.log(prior) + lm - np.log1p(-prior) - lu
        post = 1.0 / (1.0 + np.exp(-np.clip(z, -700, 700)))
        wpost = counts * post
        new_prior = float(np.clip(wpost.sum() / counts.sum(), 1e-9, 1 - 1e-9))
        new_m = np.full((n_fields, LEVELS), 1e-3)
        for f in range(n_fields):
            ok = valid[:, f]
            np.add.at(new_m[f], levels[ok, f], wpost[ok])
        new_m /= new_m.sum(axis=1, keepdims=True)
        new_u = _level_freq(levels, counts - wpost, n_fields, 1e-3)
        delta = float(np.abs(new_m - m).max()) + float(np.abs(new_u - u).max()) + abs(new_prior - prior)
        m, u, prior = new_m, new_u, new_prior
        if delta < 1e-6:
            break
    logger.debug("EM converged after %d iterations; prior %.4f", it, prior)
    return Model(m, u, prior, it)
