"""The Fellegi-Sunter model of master-my-data, fitted without labels.

``u`` (P(level | non-match)) starts from the level frequencies of random pairs,
which are almost all non-matches; ``m`` (P(level | match)), ``u`` and the share
of matches among candidates are then re-estimated by EM over the *distinct*
level patterns of the candidate pairs with their counts (a GROUP BY in DuckDB:
a few thousand patterns at most, so EM runs in numpy in milliseconds whatever
the number of pairs).

Non-matches come in two classes, as in the three-class EM Winkler used for
census records: *strangers* (``u``) and *housemates* (``h``), two people who
share an address, a phone, mostly a surname, but are two people. Housemates
agree on the personal fields (:data:`~taskq.jobs.master_roles.PERSONAL_ROLES`:
first name, date of birth) hardly more than strangers do, so EM fits their ``h``
there as ``u`` (scoring then allows for twins and juniors, below); on every other field EM learns ``h`` from the pairs it takes for
housemates. A pair's match probability is ``p m / (p m + q h + (1 - p - q) u)``
with ``m``, ``h``, ``u`` the products over its fields and ``p``, ``q`` the
shares of matches and housemates among candidates; without housemates (``q`` =
0) that is ``sigmoid(log prior odds + sum of log(m/u))``. With two classes,
people sharing an address and a landline fell into one class with duplicates:
agreement on four correlated fields, each rare among strangers, outweighed a
different first name and date of birth, and whole families became one golden
record. The household class needs a personal field and another one to tell it
apart; a file without either is fitted with two classes.

A file of companies (no personal role, every name a company's: :func:`personal_fields`)
has the company's name as its personal field: its "housemates" are firms at one
address, often with one switchboard. They share a name as random pairs of firms do,
not as the candidates do (blocked on the name, strangers there often have similar
names), so ``h`` there keeps the levels of the random pairs and is not re-fitted;
with it tied to the candidates' ``u``, EM took typo'd duplicates (``Fabrikam`` and
``Febrikam``, one address and phone) for co-located firms, or co-located firms for
duplicates. Before, with no household class, a shared street address (``u`` near 0
among strangers) outweighed two wholly different names: Ironbark Mining and
Jarrah Dental at one address, with different phones, merged (p 1.0), and where 13 %
of the firms share an address precision was 0.69 at recall 0.92; now 1.0 at 0.93.
A person's full name (``Name``, with no first or last name) is compared as its given
and family names (:func:`~taskq.jobs.master_normalize.name_part_sql`): the given name
is then a first name, personal like any other.

EM fits ``h`` on the personal fields as ``u``; the fitted model then scores with
housemates agreeing exactly on each of them at least :data:`HOUSEMATE_AGREEMENT`
of the time: twins share a date of birth, a junior his father's first name. With
``h = u`` an exact date of birth (about 1 pair of strangers in 30,000) weighed +8
against housemates and outweighed a wholly different first name (-3.5): twins at
one address and phone (Anna and Lena Weber) were one golden record (p 0.99999).
Against ``h >= 0.05`` it weighs about +2.7: one personal field for, one against,
and the pair stays apart, or goes to ``stewardship.csv`` when near the threshold
(likewise a father and son of one name, on files with few households). The floor
is for one shared personal field: a pair agreeing exactly on first name *and* date
of birth is scored against housemates with the fitted ``h`` (two people of one
household sharing both are not twins nor juniors). With the floor on each field
alone, such a pair counted as housemates at 0.05 x 0.05, and a true duplicate with
one other field wrong (a mistyped ssn, a married name) was split (QA). The cost is
the duplicate whose first name is wholly different (no typo, nickname or initial)
while everything else is shared: it reads as twins too. The synthetic generator
writes many (its typos of short names): recall 0.973 -> 0.954 on a 3,000-row
household file without ids; 0.9957 -> 0.9948 on the 100k benchmark with households.
The floor is not fitted: EM cannot tell twins from such duplicates without labels,
and with the floor inside EM the household class took every duplicate with one
personal field wrong (recall 0.94 on that file). On a file without households the
household class holds look-alike strangers (see :mod:`.master`), and twins and
juniors are judged against strangers: they still merge there.

A pair whose generational suffixes differ (``Jr`` and ``Sr``) is vetoed in scoring
(:data:`~taskq.jobs.master_scoring.VETO`): EM fits on its levels as on any pair's,
but its log-odds are -inf and its match probability 0, after the identical-records
rule too (a father and son, one address and phone, no birth date, were p 0.94-1.0).
EM could not learn this weight: suffixes are rare, and no level of a field says
"two people" more surely.

Each EM step keeps ``m(different) <= MAX_M_DIFFERENT`` and ``u(different)``,
``h(different) >= m(different)``: duplicates disagree outright on a field at
most half the time, and a disagreement never counts for a match, against
either kind of non-match (so it never raises a pair's probability). On a file without duplicates EM
otherwise makes a group of look-alike strangers its match class.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from .master_normalize import NORMALISED_TABLE
from .master_roles import NAME_ROLES, PERSONAL_ROLES, organisation
from .master_scoring import (
    BITS,
    LEVELS,
    NULL_LEVEL,
    Comparison,
    Feature,
    exact_level,
    pair_sql,
    plan_features,
    vetoed,
)

__all__ = ["Model", "decode", "estimate_model"]

logger = logging.getLogger(__name__)


MAX_M_DIFFERENT = 0.5
"""Most a field's "different" level may hold of the matches, P(different | match)."""

SURE_LOG_ODDS = 30.0
"""Log-odds given to a pair identical on every field (a probability of 1 - 1e-13)."""

_PSEUDO = 1e-3
"""Pseudo-count per level in each EM step, so no level's probability is 0."""

HOUSEMATE_AGREEMENT = 0.05
"""Least ``h`` of an exact agreement on a personal field (first name, date of birth) in
the fitted model: one pair of housemates in twenty are twins, or a junior and his father.
A steward's prior, not a census figure: set so that an exact date of birth does not
outweigh a wholly different first name between housemates, nor an exact first name a
different date of birth."""


def decode(codes: np.ndarray, n_fields: int) -> np.ndarray:
    """Unpack codes into a (len(codes), n_fields) level matrix."""
    codes = np.asarray(codes, dtype=np.int64)
    shifts = np.arange(n_fields, dtype=np.int64) * BITS
    return ((codes[:, None] >> shifts[None, :]) & 7).astype(np.int64)


@dataclass
class Model:
    """A fitted Fellegi-Sunter model.

    Attributes:
        m, u: (fields, LEVELS) probabilities of each level among matches / strangers,
            with ``m(different) <= MAX_M_DIFFERENT`` and ``u(different) >=
            m(different)`` (so a row may not sum to 1): a disagreement weighs at most 0
            against strangers (and against housemates: ``h(different) >= m(different)``).
        prior: share of matches among candidate pairs.
        iterations: EM iterations run.
    """

    m: np.ndarray
    u: np.ndarray
    prior: float
    iterations: int
    top: np.ndarray | None = None
    """Per field, the level of an exact agreement. A pair at it on every field that
    both records fill (a null level is neutral), with at least one exact agreement
    outside ``location``, is a match whatever the weights: such records cannot be
    told apart. (A file of nothing but copies of one record gave u near 1, weights
    near 0 and no match at all; a blank column defeated the rule while it asked
    for every field, null ones included.)"""
    identifying: np.ndarray | None = None
    """Per field, whether an exact agreement on it counts for the rule above (all but
    ``location``: a shared city or postcode alone identifies nobody). None: all do."""
    h: np.ndarray | None = None
    """(fields, LEVELS) probabilities of each level among housemates (equal to ``u``
    on a first name or date of birth, to the random pairs' levels on a company's name,
    but for an exact agreement: at least :data:`HOUSEMATE_AGREEMENT`); None: no
    household class."""
    household: float = 0.0
    """Share of housemates among candidate pairs (strangers are the rest)."""
    h_fitted: np.ndarray | None = None
    """``h`` as EM fitted it (without the floor): the housemate likelihood of a
    pair agreeing exactly on more than one personal field. Twins share a date of birth, a
    junior his father's name; two people sharing both are not a thing the floor is for."""
    personal: np.ndarray | None = None
    """Per field, whether it is personal (first name, date of birth; in a file of
    companies the company's name: :func:`personal_fields`)."""

    def log_odds(self, codes: np.ndarray) -> np.ndarray:
        """Log-odds of a match against either kind of non-match, per level code; -inf for
        a vetoed pair (:func:`~taskq.jobs.master_scoring.vetoed`)."""
        levels = decode(codes, self.m.shape[0])
        stranger = max(1.0 - self.prior - self.household, 1e-12)
        non_match = np.log(stranger) + _log_likelihood(self.u, levels)
        if self.h is not None and self.household > 0:
            housemates = _log_likelihood(self.h, levels)
            if self.h_fitted is not None and self.personal is not None and self.top is not None:
                shared = ((levels == self.top[None, :]) & self.personal[None, :]).sum(axis=1)
                housemates = np.where(shared > 1, _log_likelihood(self.h_fitted, levels), housemates)
            non_match = np.logaddexp(non_match, np.log(self.household) + housemates)
        total = np.log(self.prior) + _log_likelihood(self.m, levels) - non_match
        if self.top is not None:
            agree = levels == self.top[None, :]
            ident = np.ones(len(self.top), dtype=bool) if self.identifying is None else self.identifying
            same = (agree | (levels == NULL_LEVEL)).all(axis=1) & (agree & ident[None, :]).any(axis=1)
            total = np.where(same, np.maximum(total, SURE_LOG_ODDS), total)
        # Differing generational suffixes (Jr, Sr): two people, whatever else agrees.
        total = np.where(vetoed(codes), -np.inf, total)
        return np.asarray(total, dtype=np.float64)

    def probability(self, codes: np.ndarray) -> np.ndarray:
        """Match probability per code; exactly 0 for a vetoed pair, and only for one
        (:data:`~taskq.jobs.master_cluster.VETOED`: clustering never joins its two rows)."""
        p = 1.0 / (1.0 + np.exp(-np.clip(self.log_odds(codes), -700, 700)))
        return np.asarray(np.where(vetoed(codes), 0.0, p), dtype=np.float64)

    def describe(self, comparisons: list[Comparison]) -> dict[str, dict[str, list[float]]]:
        """Per feature, ``m`` and ``u`` by level (different, somewhat, close, exact), and
        ``h`` when there is a household class."""
        out = {}
        for i, f in enumerate(plan_features(comparisons)):
            out[f.name] = {
                "m": [round(float(x), 4) for x in self.m[i]],
                "u": [round(float(x), 6) for x in self.u[i]],
            }
            if self.h is not None and self.household > 0:
                out[f.name]["h"] = [round(float(x), 4) for x in self.h[i]]
        return out


def personal_fields(features: list[Feature]) -> np.ndarray:
    """Per feature, whether it tells apart two entities at one address (module docstring).

    The personal roles (:data:`~taskq.jobs.master_roles.PERSONAL_ROLES`: first name, date
    of birth) where the file has one. Else, in a file of organisations (no person's name:
    every name is a ``name`` column headed like an organisation's,
    :func:`~taskq.jobs.master_roles.organisation`, such as ``Company``), the company's
    name: two firms at one address (and switchboard) are two firms. Without it a shared
    street address, almost never seen among strangers, outweighed two wholly
    different names: four firms at one address were one golden record (QA: precision
    0.69 where 13 % of the firms share an address).

    A person's full name is not one: housemates share its surname, so their full names
    are closer than random pairs' and a household class fitted on it cost recall (on a
    3,000-row ``Name``-only file without households 0.81 -> 0.77; with a tenth in
    households precision rose 0.58 -> 0.82 but recall fell 0.84 -> 0.78). Its given name
    is (master-my-data compares such a column as a given and a family name). Nor is a
    last name, which housemates share.
    """
    personal = np.array([any(p.role in PERSONAL_ROLES for p in f.parts) for f in features], dtype=bool)
    if personal.any():
        return personal
    names = [c for f in features for c in f.parts if c.role in NAME_ROLES]
    if not names or not all(c.role == "name" and organisation(c.column) for c in names):
        return personal
    return np.array([f.kind == "name" and f.parts[0].role == "name" for f in features], dtype=bool)


def _log_likelihood(p: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Sum over fields of log ``p[field, level]`` per row of ``levels``; a null level adds 0."""
    valid = levels < LEVELS
    safe = np.where(valid, levels, 0)
    fidx = np.arange(p.shape[0])[None, :]
    return np.asarray(np.where(valid, np.log(p)[fidx, safe], 0.0).sum(axis=1), dtype=np.float64)


def _level_freq(levels: np.ndarray, counts: np.ndarray, n_fields: int, pseudo: float) -> np.ndarray:
    out = np.full((n_fields, LEVELS), pseudo, dtype=np.float64)
    for f in range(n_fields):
        col = levels[:, f]
        ok = col < LEVELS
        np.add.at(out[f], col[ok], counts[ok])
    return np.asarray(out / out.sum(axis=1, keepdims=True), dtype=np.float64)


def estimate_model(
    con: duckdb.DuckDBPyConnection,
    comparisons: list[Comparison],
    scored_table: str,
    n_rows: int,
    *,
    sample_pairs: int = 200_000,
    seed: int = 7,
    max_iter: int = 100,
    table: str = NORMALISED_TABLE,
    order: np.ndarray | None = None,
) -> Model:
    """Start u from random pairs; fit m, u and the prior by EM over ``scored_table``'s codes.

    ``order``: the rows in an order set by their values
    (:func:`~taskq.jobs.master_normalize.content_order`); random pairs are drawn
    as positions in it, so they do not depend on the file's row order. None:
    positions are rows.
    """
    features = plan_features(comparisons)
    n_fields = len(features)
    top = np.array([exact_level(f.kind) for f in features], dtype=np.int64)
    ident = np.array([f.kind != "location" for f in features], dtype=bool)
    k = min(sample_pairs, max(n_rows * 4, 1000))
    rng = np.random.default_rng(seed)
    left = rng.integers(0, n_rows, k, dtype=np.int64)
    right = rng.integers(0, n_rows, k, dtype=np.int64)
    keep = left != right
    if order is not None:
        left, right = order[left], order[right]
    con.register(
        "m_rand_arrow", pa.table({"l": left[keep].astype(np.int32), "r": right[keep].astype(np.int32)})
    )
    rand = con.execute(
        f"SELECT code, count(*) FROM ({pair_sql(comparisons, 'm_rand_arrow', table=table)}) GROUP BY code ORDER BY code"
    ).fetchnumpy()
    con.unregister("m_rand_arrow")
    u = _level_freq(decode(rand["code"], n_fields), rand["count_star()"].astype(np.float64), n_fields, 1.0)

    pats = con.execute(
        f"SELECT code, count(*) AS n FROM {scored_table} GROUP BY code ORDER BY code"
    ).fetchnumpy()
    levels = decode(pats["code"], n_fields)
    counts = pats["n"].astype(np.float64)
    # Start: matches mostly agree exactly, share of matches modest; housemates agree
    # like matches on what they share and like strangers on personal fields.
    m = np.tile(np.array([0.05, 0.05, 0.1, 0.8]), (n_fields, 1))
    for f, c in enumerate(features):
        if c.kind in ("short", "code"):
            m[f] = [0.05, 0.15, 0.8, 1e-6]
    m = m / m.sum(axis=1, keepdims=True)
    personal = personal_fields(features)
    households = bool(personal.any() and not personal.all())
    # On a company's name (personal only in a file without a personal role) housemates,
    # firms at one address, score like random pairs throughout (module docstring); on a
    # first name or a date of birth they share the strangers' fitted levels.
    tied = personal & np.array([any(p.role in PERSONAL_ROLES for p in f.parts) for f in features], dtype=bool)
    random_u = u.copy()
    h = np.where(personal[:, None], u, m)
    prior, household = 0.1, (0.05 if households else 0.0)
    it = 0
    if len(counts) == 0:
        return Model(m, u, 1e-6, 0, top, ident)
    total = counts.sum()
    for step in range(1, max_iter + 1):
        it = step
        # Posterior of each class per pattern (match, stranger, housemate), in log space.
        z = np.stack(
            [
                np.log(prior) + _log_likelihood(m, levels),
                np.log(max(1.0 - prior - household, 1e-12)) + _log_likelihood(u, levels),
                np.log(household) + _log_likelihood(h, levels)
                if households
                else np.full(len(counts), -np.inf),
            ]
        )
        post = np.exp(z - z.max(axis=0, keepdims=True))
        w = counts * post / post.sum(axis=0, keepdims=True)
        new_prior = float(np.clip(w[0].sum() / total, 1e-9, 1 - 1e-9))
        new_household = float(np.clip(w[2].sum() / total, 1e-9, 1 - 1e-9)) if households else 0.0
        new_m = _level_freq(levels, w[0], n_fields, _PSEUDO)
        # Strangers and housemates share the personal fields' levels (but a company's name).
        new_u = np.where(
            tied[:, None],
            _level_freq(levels, w[1] + w[2], n_fields, _PSEUDO),
            _level_freq(levels, w[1], n_fields, _PSEUDO),
        )
        # Without duplicates to learn from, EM adopts any look-alike group as the
        # match class: among pairs blocked on surnames, "same first name and dob,
        # different surname, phone and address" became one, and its differences
        # counted *for* a match (+3 log-odds for a different surname; QA F1b).
        # Copies of one record mostly agree, and disagreeing is no evidence of a
        # match: m(different) is capped and u(different) kept at least as high
        # (the rows of m and u then need not sum to 1).
        new_m[:, 0] = np.minimum(new_m[:, 0], MAX_M_DIFFERENT)
        new_u[:, 0] = np.maximum(new_u[:, 0], new_m[:, 0])
        new_h = h
        if households:
            new_h = np.where(personal[:, None], new_u, _level_freq(levels, w[2], n_fields, _PSEUDO))
            new_h = np.where((personal & ~tied)[:, None], random_u, new_h)
            # Against housemates too a disagreement weighs at most 0: housemates share the
            # location, so h(location different) fell to 0.005 while m was 0.1, and a suburb
            # that differed made a father and son at one address and phone a match (p 0.40
            # with the suburb shared, 0.998 without).
            new_h[:, 0] = np.maximum(new_h[:, 0], new_m[:, 0])
        delta = (
            float(np.abs(new_m - m).max())
            + float(np.abs(new_u - u).max())
            + float(np.abs(new_h - h).max())
            + abs(new_prior - prior)
            + abs(new_household - household)
        )
        m, u, h, prior, household = new_m, new_u, new_h, new_prior, new_household
        if delta < 1e-6:
            break
    logger.debug("EM converged after %d iterations; match share %.4f, housemates %.4f", it, prior, household)
    if not households:
        return Model(m, u, prior, it, top, ident, None, household)
    # Housemates are no strangers on the personal fields: twins, juniors (module docstring).
    rows = np.flatnonzero(personal)
    floored = h.copy()
    floored[rows, top[rows]] = np.maximum(h[rows, top[rows]], HOUSEMATE_AGREEMENT)
    return Model(m, u, prior, it, top, ident, floored, household, h, personal)
