"""Turning scored pairs into clusters, guarded against chains of weak links.

1. Connected components over the edges at or above the threshold (numpy
   label propagation with pointer jumping: a few vectorised passes).
2. A component too large to check (``max_cluster_size``) has its edges cut at
   stricter thresholds until its pieces fit; what still does not fit is kept
   and reported.
3. Every component of three or more rows has *all* its internal pairs scored,
   not only the candidate edges. A component whose every internal pair clears
   the threshold is a clique and stands. Any other one is re-clustered by
   average linkage: two groups joined by at least one edge over the threshold
   merge only if the mean match probability across them is at least
   ``support`` (0.5 by default, i.e. most of the cross pairs agree). A chain
   A~B~C~D whose ends do not match falls apart into its tight parts. Two
   groups holding a vetoed pair (probability exactly :data:`VETOED`: differing
   generational suffixes) never merge, whatever their mean: "Michael Turner"
   matching both Michael Turner Jr and Michael Turner Sr joins one of them, not
   both. (The mean alone let two copies of "Michael Turner" carry Jr and Sr into
   one cluster: 2 of 3 cross pairs agreed.)

A component over ``max_cluster_size`` is not checked, so a vetoed pair in it can
stay together; it is reported as oversized.

Labels are row numbers of each cluster's smallest member until :func:`dense_ids`
turns them into 0..C-1 in order of first row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..progress import Progress

__all__ = ["VETOED", "ClusterResult", "average_linkage", "cluster", "components", "dense_ids"]

logger = logging.getLogger(__name__)

VETOED = 0.0
"""The match probability of a vetoed pair, and of no other
(:meth:`~taskq.jobs.master_model.Model.probability`): its rows never share a cluster."""


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component label (smallest member) of each of ``n`` nodes given edges ``left``-``right``."""
    labels = np.arange(n, dtype=np.int64)
    if len(left) == 0:
        return labels
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    while True:
        low = np.minimum(labels[left], labels[right])
        new = labels.copy()
        np.minimum.at(new, left, low)
        np.minimum.at(new, right, low)
        while True:
            jumped = new[new]
            if np.array_equal(jumped, new):
                break
            new = jumped
        if np.array_equal(new, labels):
            return labels
        labels = new


def average_linkage(prob: np.ndarray, threshold: float, support: float) -> np.ndarray:
    """Group the members of one component; return a group index per member.

    Args:
        prob: symmetric (k, k) match probabilities of all member pairs.
        threshold: an edge is a pair at or above it; groups merge only along edges.
        support: least mean probability across two groups for them to merge.
            Groups with a pair at :data:`VETOED` across them never merge.
    """
    k = prob.shape[0]
    groups: list[list[int]] = [[i] for i in range(k)]
    while len(groups) > 1:
        best, best_pair = -1.0, (0, 0)
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                block = prob[np.ix_(groups[i], groups[j])]
                if block.max() < threshold or (block <= VETOED).any():
                    continue
                mean = float(block.mean())
                if mean > best:
                    best, best_pair = mean, (i, j)
        if best < support:
            break
        i, j = best_pair
        groups[i] = groups[i] + groups[j]
        del groups[j]
    out = np.empty(k, dtype=np.int64)
    for g, members in enumerate(groups):
        out[members] = g
    return out


@dataclass
class ClusterResult:
    """Final labels plus what a steward should look at."""

    labels: np.ndarray
    before: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    split: list[int] = field(default_factory=list)
    oversized: list[int] = field(default_factory=list)
    weakest: dict[int, float] = field(default_factory=dict)


def cluster(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    prob: np.ndarray,
    threshold: float,
    score_within: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]],
    progress: Progress,
    *,
    support: float = 0.5,
    max_cluster_size: int = 100,
    rank: np.ndarray | None = None,
) -> ClusterResult:
    """Cluster ``n`` rows from candidate pairs (``left``, ``right``, ``prob``).

    Args:
        score_within: given (rows, component labels) of rows in components of
            three or more, returns (l, r, prob) for every pair inside a component.
        progress: checked between steps.
        rank: per row, its place in an order set by the row's values; average
            linkage takes a component's members in it, so its ties between
            equally good merges do not follow the file's row order. None: row order.

    Returns:
        Labels (smallest row of the cluster), the labels of components that were
        split, those left oversized, and the weakest internal probability per
        multi-row cluster that was checked.
    """
    strong = prob >= threshold
    el, er, ep = left[strong], right[strong], prob[strong]
    labels = components(n, el, er)
    progress.check()
    result = ClusterResult(labels)
    # Oversized components: cut at stricter thresholds until the pieces fit.
    cut = threshold
    for _ in range(6):
        sizes = np.bincount(labels, minlength=n)
        big = sizes[labels] > max_cluster_size
        if not big.any():
            break
        cut = 1 - (1 - cut) / 10
        inside = big[el]
        keep = ~inside | (ep >= cut)
        el, er, ep = el[keep], er[keep], ep[keep]
        labels = components(n, el, er)
        progress.check()
    sizes = np.bincount(labels, minlength=n)
    result.oversized = sorted({int(x) for x in labels[sizes[labels] > max_cluster_size]})
    result.before = labels.copy()
    check = (sizes[labels] >= 3) & (sizes[labels] <= max_cluster_size)
    rows = np.flatnonzero(check)
    if len(rows):
        pl, pr, pp = score_within(rows, labels[rows])
        progress.check()
        comp = labels[pl]
        order = np.argsort(comp, kind="stable")
        pl, pr, pp, comp = pl[order], pr[order], pp[order], comp[order]
        starts = np.flatnonzero(np.r_[True, comp[1:] != comp[:-1]])
        ends = np.r_[starts[1:], len(comp)]
        for s, e in zip(starts, ends, strict=True):
            lab = int(comp[s])
            weakest = float(pp[s:e].min())
            result.weakest[lab] = weakest
            if weakest >= threshold:
                continue
            members = np.unique(np.r_[pl[s:e], pr[s:e]])
            if rank is not None:
                members = members[np.argsort(rank[members], kind="stable")]
            index = {int(m): i for i, m in enumerate(members)}
            mat = np.eye(len(members))
            li = np.fromiter((index[int(x)] for x in pl[s:e]), dtype=np.int64)
            ri = np.fromiter((index[int(x)] for x in pr[s:e]), dtype=np.int64)
            mat[li, ri] = pp[s:e]
            mat[ri, li] = pp[s:e]
            groups = average_linkage(mat, threshold, support)
            if groups.max() > 0:
                result.split.append(lab)
                for g in range(int(groups.max()) + 1):
                    part = members[groups == g]
                    labels[part] = part.min()
    result.labels = labels
    return result


def dense_ids(labels: np.ndarray) -> np.ndarray:
    """Cluster ids 0..C-1, numbered in order of each cluster's first row."""
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.astype(np.int64)
