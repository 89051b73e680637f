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


def test_households_share_address_and_phone_but_not_who_they_are() -> None:
    plain = synth.generate(2000, seed=5)
    data = synth.generate(2000, seed=5, households=0.3)
    assert "phone" not in plain.columns and list(data.columns) == [*synth.COLUMNS, "phone"]
    cols = data.columns
    by_phone: dict[str, set[int]] = {}
    for i, phone in enumerate(cols["phone"]):
        if phone:
            by_phone.setdefault(phone, set()).add(int(data.entity[i]))
    shared = [entities for entities in by_phone.values() if len(entities) > 1]
    assert len(shared) > 100  # households of two or more people
    # One record per entity (some are corrupted duplicates: most, not all, agree).
    one = {int(e): i for i, e in enumerate(data.entity)}
    same_street = different_people = 0
    for entities in shared:
        rows = [one[e] for e in entities]
        same_street += len({cols["address_1"][i] for i in rows}) == 1
        different_people += len({(cols["given_name"][i], cols["date_of_birth"][i]) for i in rows}) == len(
            rows
        )
    assert same_street > 0.7 * len(shared) and different_people > 0.95 * len(shared)
    # The second RNG leaves the records without households as they were.
    assert synth.generate(2000, seed=5, households=0.0).columns == plain.columns
    with pytest.raises(ValueError):
        synth.generate(10, households=0.9)
