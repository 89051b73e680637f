"""The synthetic person-record generator and the pairwise scorer."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from taskq.jobs import synth


def test_same_seed_same_records_and_other_seed_differs() -> None:
    a = synth.generate(500, seed=3)
    b = synth.generate(500, seed=3)
    c = synth.generate(500, seed=4)
    assert a.columns == b.columns
    assert np.array_equal(a.entity, b.entity)
    assert a.columns["surname"] != c.columns["surname"]


def test_sizes_and_duplicate_share() -> None:
    data = synth.generate(2000, dup_fraction=0.3, seed=1)
    assert len(data) == 2000
    assert all(len(v) == 2000 for v in data.columns.values())
    entities = len(np.unique(data.entity))
    assert entities == 1400  # 30 % of the records are duplicates


def test_duplicates_are_corrupted_but_mostly_similar() -> None:
    data = synth.generate(3000, seed=2)
    ssn = np.array(data.columns["soc_sec_id"], dtype=object)
    _, counts = np.unique(data.entity, return_counts=True)
    assert counts.max() > 1
    changed = 0
    for e in np.unique(data.entity)[:300]:
        rows = np.flatnonzero(data.entity == e)
        if len(rows) > 1:
            recs = [tuple(data.columns[c][i] for c in synth.COLUMNS) for i in rows]
            changed += len(set(recs)) > 1
    assert changed > 0
    # soc_sec_id stays mostly equal inside an entity: truth is recoverable.
    assert len(set(ssn.tolist())) < len(ssn)


def test_write_csv_with_truth_column(tmp_path) -> None:
    data = synth.generate(50, seed=0)
    path = synth.write_csv(data, tmp_path / "people.csv", truth_column="entity_id")
    with path.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [*synth.COLUMNS, "entity_id"]
    assert len(rows) == 51
    assert [int(r[-1]) for r in rows[1:]] == data.entity.tolist()


def test_pairwise_scores_counts_pairs() -> None:
    truth = np.array([0, 0, 0, 1, 1, 2])
    perfect = synth.pairwise_scores(np.array([5, 5, 5, 7, 7, 9]), truth)
    assert perfect["f1"] == 1.0
    # Split {0,1,2} into {0,1},{2} and merge 2 with 1's entity: 1 of 3+1 true pairs lost.
    pred = np.array([0, 0, 1, 2, 2, 2])
    s = synth.pairwise_scores(pred, truth)
    assert s["true_pairs"] == 4 and s["predicted_pairs"] == 4
    assert s["precision"] == pytest.approx(2 / 4)
    assert s["recall"] == pytest.approx(2 / 4)
    with pytest.raises(ValueError):
        synth.pairwise_scores(np.array([1]), truth)
