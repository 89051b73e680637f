"""Synthetic person records with known duplicates, for tests, benchmarks and demos.

:func:`generate` builds FEBRL-like records (``given_name, surname, street_number,
address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id``) for
a number of entities, then adds corrupted duplicates of some of them: typos,
OCR confusions, phonetic respellings, nickname swaps, swapped first/last names,
missing values, transposed dates and changed addresses. The entity each record
belongs to is returned separately (or written to its own column, which the
master tool must then be told to ignore), so it can be used as ground truth.

With ``households`` some people live with another one: they share its address,
its landline (a ``phone`` column, added only then) and mostly its surname, but
keep their own given name, date of birth and id (a few, the juniors, even share
the given name). They are different entities: a tool that merges them is wrong.

:func:`pairwise_scores` compares a clustering with that truth (pairwise
precision, recall and F1). Everything is seeded: the same arguments give the
same records.

Only originals are drawn vectorised; duplicates are corrupted one by one, which
costs a few seconds per million records and is fine for a generator.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .master_nicknames import NICKNAMES

__all__ = ["COLUMNS", "SynthData", "generate", "pairwise_scores", "write_csv"]

logger = logging.getLogger(__name__)

COLUMNS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)

_GIVEN = [
    "james",
    "john",
    "robert",
    "michael",
    "william",
    "david",
    "richard",
    "joseph",
    "thomas",
    "charles",
    "christopher",
    "daniel",
    "matthew",
    "anthony",
    "mark",
    "donald",
    "steven",
    "paul",
    "andrew",
    "joshua",
    "kenneth",
    "kevin",
    "brian",
    "george",
    "timothy",
    "ronald",
    "edward",
    "jason",
    "jeffrey",
    "ryan",
    "jacob",
    "gary",
    "nicholas",
    "eric",
    "jonathan",
    "stephen",
    "larry",
    "justin",
    "scott",
    "brandon",
    "benjamin",
    "samuel",
    "gregory",
    "alexander",
    "frank",
    "patrick",
    "raymond",
    "jack",
    "dennis",
    "jerry",
    "tyler",
    "aaron",
    "jose",
    "adam",
    "nathan",
    "henry",
    "douglas",
    "zachary",
    "peter",
    "kyle",
    "ethan",
    "walter",
    "noah",
    "jeremy",
    "christian",
    "keith",
    "roger",
    "terry",
    "gerald",
    "harold",
    "sean",
    "austin",
    "carl",
    "arthur",
    "lawrence",
    "dylan",
    "jesse",
    "jordan",
    "bryan",
    "billy",
    "joe",
    "bruce",
    "gabriel",
    "logan",
    "albert",
    "willie",
    "alan",
    "juan",
    "wayne",
    "elijah",
    "randy",
    "roy",
    "vincent",
    "ralph",
    "eugene",
    "russell",
    "bobby",
    "mason",
    "philip",
    "louis",
    "mary",
    "patricia",
    "jennifer",
    "linda",
    "elizabeth",
    "barbara",
    "susan",
    "jessica",
    "sarah",
    "karen",
    "lisa",
    "nancy",
    "betty",
    "margaret",
    "sandra",
    "ashley",
    "kimberly",
    "emily",
    "donna",
    "michelle",
    "carol",
    "amanda",
    "dorothy",
    "melissa",
    "deborah",
    "stephanie",
    "rebecca",
    "sharon",
    "laura",
    "cynthia",
    "kathleen",
    "amy",
    "angela",
    "shirley",
    "anna",
    "brenda",
    "pamela",
    "emma",
    "nicole",
    "helen",
    "samantha",
    "katherine",
    "christine",
    "debra",
    "rachel",
    "carolyn",
    "janet",
    "catherine",
    "maria",
    "heather",
    "diane",
    "ruth",
    "julie",
    "olivia",
    "joyce",
    "virginia",
    "victoria",
    "kelly",
    "lauren",
    "christina",
    "joan",
    "evelyn",
    "judith",
    "megan",
    "andrea",
    "cheryl",
    "hannah",
    "jacqueline",
    "martha",
    "gloria",
    "teresa",
    "ann",
    "sara",
    "madison",
    "frances",
    "kathryn",
    "janice",
    "jean",
    "abigail",
    "alice",
    "judy",
    "sophia",
    "grace",
    "denise",
    "amber",
    "doris",
    "marilyn",
    "danielle",
    "beverly",
    "isabella",
    "theresa",
    "diana",
    "natalie",
    "brittany",
    "charlotte",
    "marie",
    "kayla",
    "alexis",
    "lori",
    "chloe",
    "zoe",
    "lachlan",
    "liam",
    "jayden",
    "isabelle",
    "ella",
    "mia",
    "ruby",
    "sienna",
    "jasmine",
    "tahlia",
    "bailey",
    "riley",
    "harrison",
    "cooper",
]


_SUR_A = [
    "smith",
    "brown",
    "wilson",
    "taylor",
    "johnson",
    "white",
    "martin",
    "anderson",
    "thompson",
    "nguyen",
    "thomas",
    "walker",
    "harris",
    "lee",
    "ryan",
    "robinson",
    "kelly",
    "king",
    "davis",
    "wright",
    "evans",
    "roberts",
    "green",
    "hall",
    "wood",
    "jackson",
    "clarke",
    "patel",
    "khan",
    "lewis",
    "james",
    "phillips",
    "mitchell",
    "turner",
    "campbell",
    "morris",
    "young",
    "hill",
    "moore",
    "cooper",
    "ward",
    "stewart",
    "baker",
    "murphy",
    "bell",
    "cook",
    "wilkinson",
    "morgan",
    "hughes",
    "edwards",
    "collins",
    "mills",
    "shaw",
    "miller",
    "jones",
    "williams",
    "garcia",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "perez",
    "sanchez",
    "ramirez",
    "torres",
    "flores",
    "rivera",
    "gomez",
    "diaz",
    "reyes",
    "cruz",
    "morales",
    "ortiz",
    "gutierrez",
    "chavez",
    "ramos",
    "ruiz",
    "alvarez",
    "castillo",
    "jimenez",
    "moreno",
    "romero",
    "herrera",
    "medina",
    "aguilar",
    "vargas",
    "kim",
    "park",
    "chen",
    "wang",
    "zhang",
    "liu",
    "yang",
    "huang",
    "zhao",
    "wu",
    "zhou",
]
_SYL1 = [
    "ab",
    "al",
    "an",
    "ar",
    "bal",
    "ber",
    "bran",
    "car",
    "cas",
    "dal",
    "dar",
    "el",
    "fer",
    "gar",
    "hal",
    "har",
    "kel",
    "kin",
    "lan",
    "mar",
    "mc",
    "mor",
    "nor",
    "pen",
    "ros",
    "sal",
    "stan",
    "tal",
    "ver",
    "wal",
    "wil",
]
_SYL2 = [
    "a",
    "an",
    "ard",
    "berg",
    "bury",
    "by",
    "den",
    "don",
    "er",
    "ett",
    "ford",
    "gan",
    "ham",
    "ington",
    "kins",
    "ley",
    "lin",
    "man",
    "mond",
    "ney",
    "rick",
    "ridge",
    "son",
    "ston",
    "ter",
    "ton",
    "well",
    "wick",
    "worth",
]

_STREET = [
    "main",
    "high",
    "church",
    "park",
    "victoria",
    "george",
    "king",
    "queen",
    "william",
    "albert",
    "station",
    "railway",
    "bridge",
    "mill",
    "elizabeth",
    "edward",
    "charles",
    "john",
    "james",
    "oxford",
    "cambridge",
    "wellington",
    "nelson",
    "hill",
    "river",
    "lake",
    "forest",
    "ocean",
    "beach",
    "bay",
    "harbour",
    "gordon",
    "wattle",
    "banksia",
    "acacia",
    "eucalyptus",
    "jacaranda",
    "waratah",
    "murray",
    "darling",
    "flinders",
    "collins",
    "bourke",
    "swanston",
    "lonsdale",
    "spencer",
    "hope",
    "grace",
    "mitchell",
    "hume",
    "macquarie",
    "phillip",
]
_STREET_TYPE = ("street", "road", "avenue", "place", "crescent", "drive", "court", "lane", "parade", "close")
_ADDR2 = ("", "", "", "", "", "", "unit 1", "unit 4", "flat 2", "rosedale", "the elms", "villa 3", "kooringa")
_STATE = ("nsw", "vic", "qld", "sa", "wa", "tas", "act", "nt")

_OCR = (("0", "o"), ("1", "l"), ("5", "s"), ("8", "b"), ("m", "rn"), ("2", "z"), ("6", "g"), ("i", "l"))
_PHONETIC = (
    ("ph", "f"),
    ("c", "k"),
    ("ie", "y"),
    ("ck", "k"),
    ("ll", "l"),
    ("th", "t"),
    ("ee", "ea"),
    ("ou", "ow"),
)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_HOUSEHOLD_FIELDS = ("street_number", "address_1", "address_2", "suburb", "postcode", "state", "phone")
"""What the members of a household share (the surname mostly, too)."""


@dataclass
class SynthData:
    """Generated records and their truth.

    Attributes:
        columns: column name -> list of string values ('' means missing).
        entity: entity id of each record (same length as every column).
    """

    columns: dict[str, list[str]]
    entity: np.ndarray

    def __len__(self) -> int:
        return len(self.entity)


def _surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    base = np.array(_SUR_A, dtype=object)
    made = np.array([a + b for a in _SYL1 for b in _SYL2], dtype=object)
    # Zipf-ish: common surnames are common, the long tail is made up.
    pick_common = rng.random(n) < 0.45
    out = np.where(pick_common, rng.choice(base, n), rng.choice(made, n))
    return out


def _originals(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    given = rng.choice(np.array(_GIVEN, dtype=object), n)
    surname = _surnames(rng, n)
    street_no = rng.integers(1, 400, n).astype(str).astype(object)
    street = (
        rng.choice(np.array(_STREET, dtype=object), n)
        + " "
        + rng.choice(np.array(_STREET_TYPE, dtype=object), n)
    )
    addr2 = rng.choice(np.array(_ADDR2, dtype=object), n)
    n_sub = 1500
    sub_names = np.array([a + b for a in _SYL1 for b in _SYL2] * 2, dtype=object)[:n_sub]
    sub_names = np.array(
        [s + (" park" if i >= len(sub_names) // 2 else "") for i, s in enumerate(sub_names)], dtype=object
    )
    sub_pc = rng.choice(np.arange(2000, 8000), n_sub, replace=False)
    sub_idx = rng.integers(0, n_sub, n)
    suburb = sub_names[sub_idx]
    postcode = sub_pc[sub_idx].astype(str).astype(object)
    state = np.array(_STATE, dtype=object)[(sub_pc[sub_idx] // 1000 - 2) % len(_STATE)]
    days = rng.integers(0, 75 * 365, n)
    dob = (np.datetime64("1930-01-01") + days.astype("timedelta64[D]")).astype(str)
    dob = np.char.replace(dob, "-", "").astype(object)
    ssn = rng.choice(np.arange(1_000_000, 9_999_999), n, replace=False).astype(str).astype(object)
    return {
        "given_name": given,
        "surname": surname,
        "street_number": street_no,
        "address_1": street,
        "address_2": addr2,
        "suburb": suburb,
        "postcode": postcode,
        "state": state,
        "date_of_birth": dob,
        "soc_sec_id": ssn,
    }


def _typo(rng: np.random.Generator, s: str) -> str:
    if not s:
        return s
    i = int(rng.integers(0, len(s)))
    op = int(rng.integers(0, 4))
    c = _LETTERS[int(rng.integers(0, 26))] if not s[i].isdigit() else str(int(rng.integers(0, 10)))
    if op == 0 and len(s) > 2:
        return s[:i] + s[i + 1 :]
    if op == 1:
        return s[:i] + c + s[i:]
    if op == 2 and i + 1 < len(s):
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]
    return s[:i] + c + s[i + 1 :]


def _sub_first(rng: np.random.Generator, s: str, table: tuple[tuple[str, str], ...]) -> str:
    options = [(a, b) for a, b in table if a in s] + [(b, a) for a, b in table if b in s]
    if not options:
        return _typo(rng, s)
    a, b = options[int(rng.integers(0, len(options)))]
    return s.replace(a, b, 1)


def _corrupt(
    rng: np.random.Generator, rec: dict[str, str], n_mods: int, pools: dict[str, np.ndarray]
) -> None:
    """Apply ``n_mods`` random corruptions to ``rec`` in place."""
    for _ in range(n_mods):
        kind = int(rng.integers(0, 10))
        field = COLUMNS[int(rng.integers(0, len(COLUMNS)))]
        if kind <= 2:
            rec[field] = _typo(rng, rec[field])
        elif kind == 3:
            rec[field] = _sub_first(rng, rec[field], _OCR)
        elif kind == 4:
            f = "surname" if rng.random() < 0.5 else "given_name"
            rec[f] = _sub_first(rng, rec[f], _PHONETIC)
        elif kind == 5:
            nick = NICKNAMES.get(rec["given_name"])
            if nick:
                rec["given_name"] = nick[int(rng.integers(0, len(nick)))]
            else:
                rec["given_name"] = _typo(rng, rec["given_name"])
        elif kind == 6:
            rec["given_name"], rec["surname"] = rec["surname"], rec["given_name"]
        elif kind == 7:
            if field not in ("given_name", "surname"):
                rec[field] = ""
            else:
                rec["address_2" if rng.random() < 0.5 else "state"] = ""
        elif kind == 8:
            d = rec["date_of_birth"]
            if len(d) == 8 and d[6:8].isdigit() and int(d[6:8]) <= 12:
                rec["date_of_birth"] = d[:4] + d[6:8] + d[4:6]
            elif len(d) == 8:
                rec["date_of_birth"] = d[:6] + d[7] + d[6]
        else:
            j = int(rng.integers(0, len(pools["address_1"])))
            rec["street_number"] = str(int(rng.integers(1, 400)))
            rec["address_1"] = pools["address_1"][j]
            if rng.random() < 0.5:
                rec["suburb"], rec["postcode"], rec["state"] = (
                    pools["suburb"][j],
                    pools["postcode"][j],
                    pools["state"][j],
                )


def _phone(rng: np.random.Generator) -> str:
    digits = str(int(rng.integers(10_000_000, 100_000_000)))
    return f"0{int(rng.integers(2, 9))} {digits[:4]} {digits[4:]}"


def _phone_variant(rng: np.random.Generator, phone: str) -> str:
    """The phone of a duplicate: mostly the same number, sometimes written or typed
    otherwise, blank, or a new number (the person changed it)."""
    x = float(rng.random())
    digits = phone.replace(" ", "")
    if x < 0.15:
        return f"+61 {digits[1]} {digits[2:6]} {digits[6:]}"
    if x < 0.25:
        return _phone(rng)
    if x < 0.30:
        return _typo(rng, digits)
    if x < 0.33:
        return ""
    return phone


def _make_households(rng: np.random.Generator, orig: dict[str, np.ndarray], share: float) -> None:
    """Move ``share`` of the originals in with another one (in place); add ``phone``."""
    n = len(orig["surname"])
    orig["phone"] = np.array([_phone(rng) for _ in range(n)], dtype=object)
    members = int(round(n * share))
    if not members:
        return
    order = rng.permutation(n)
    # Heads come from a pool half the members' size: two members per head on average.
    pool = order[members : members + max(1, members // 2)]
    moved, heads = order[:members], rng.choice(pool, members)
    for field in _HOUSEHOLD_FIELDS:
        orig[field][moved] = orig[field][heads]
    same_surname = rng.random(members) < 0.85
    orig["surname"][moved[same_surname]] = orig["surname"][heads[same_surname]]
    junior = rng.random(members) < 0.1
    orig["given_name"][moved[junior]] = orig["given_name"][heads[junior]]


def generate(
    n_records: int,
    *,
    dup_fraction: float = 0.4,
    max_dups: int = 4,
    max_mods: int = 3,
    missing_rate: float = 0.02,
    households: float = 0.0,
    seed: int = 0,
) -> SynthData:
    """Generate about ``n_records`` person records with known duplicates.

    Args:
        n_records: total number of records (originals plus duplicates).
        dup_fraction: share of the records that are duplicates of another one.
        max_dups: most duplicates per original (1..max_dups, skewed to 1).
        max_mods: most corruptions per duplicate (1..max_mods, uniform).
        missing_rate: chance that any field of any record is blank.
        households: share of the originals (0 to 0.5) that live with another one
            (see the module docstring); above 0 the records get a ``phone``
            column. Drawn from a second RNG: 0 gives the records of before.
        seed: RNG seed; same arguments, same output.

    Returns:
        The records in shuffled order and the entity id of each.
    """
    if n_records < 1:
        raise ValueError("n_records must be at least 1")
    if not 0.0 <= households <= 0.5:
        raise ValueError("households must be in [0, 0.5]")
    rng = np.random.default_rng(seed)
    n_dups_target = int(round(n_records * dup_fraction))
    n_orig = n_records - n_dups_target
    orig = _originals(rng, n_orig)
    pools = _originals(rng, 4096)
    # Number of duplicates per original: pick originals, skewed so most get one.
    counts = np.zeros(n_orig, dtype=np.int64)
    if n_dups_target and n_orig:
        weights = rng.integers(1, max_dups + 1, n_orig) ** -1.5
        chosen = rng.choice(n_orig, n_dups_target, p=weights / weights.sum())
        counts = np.minimum(np.bincount(chosen, minlength=n_orig), max_dups)
    deficit = n_dups_target - int(counts.sum())
    if deficit > 0:
        room = np.flatnonzero(counts < max_dups)
        counts[rng.choice(room, min(deficit, len(room)), replace=False)] += 1
    # Households draw from their own RNG, so households=0 leaves rng's draws alone.
    hrng = np.random.default_rng([seed, 1]) if households else None
    if hrng is not None:
        _make_households(hrng, orig, households)
    names = COLUMNS + (("phone",) if hrng is not None else ())
    cols: dict[str, list[str]] = {c: list(orig[c]) for c in names}
    entity = list(range(n_orig))
    for i in np.flatnonzero(counts):
        base = {c: orig[c][i] for c in names}
        for _ in range(int(counts[i])):
            rec = dict(base)
            _corrupt(rng, rec, int(rng.integers(1, max_mods + 1)), pools)
            if hrng is not None:
                rec["phone"] = _phone_variant(hrng, rec["phone"])
            for c in names:
                cols[c].append(rec[c])
            entity.append(int(i))
    n = len(entity)
    blank = rng.random((n, len(COLUMNS))) < missing_rate
    if hrng is not None:
        blank = np.c_[blank, hrng.random(n) < missing_rate]
    order = rng.permutation(n)
    out: dict[str, list[str]] = {}
    for k, c in enumerate(names):
        values = cols[c]
        mask = blank[:, k]
        out[c] = ["" if mask[j] else values[j] for j in order]
    return SynthData(out, np.asarray(entity, dtype=np.int64)[order])


def write_csv(data: SynthData, path: Path, *, truth_column: str | None = None) -> Path:
    """Write ``data`` as a CSV file with a header; optionally add the entity id column."""
    path = Path(path)
    names = list(data.columns) + ([truth_column] if truth_column else [])
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        cols = [data.columns[c] for c in data.columns]
        if truth_column:
            cols.append([str(e) for e in data.entity.tolist()])
        writer.writerows(zip(*cols, strict=True))
    logger.debug("wrote %d synthetic records to %s", len(data), path)
    return path


def _pairs_within(labels: np.ndarray) -> int:
    _, counts = np.unique(labels, return_counts=True)
    counts = counts.astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def pairwise_scores(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a clustering against the truth.

    Both arrays give a cluster/entity label per record, in the same record order.
    A pair counts as predicted when both records share a predicted label, and as
    true when they share a truth label. With no predicted (or no true) pairs,
    precision (or recall) is 1.0 by convention.
    """
    predicted = np.asarray(predicted)
    truth = np.asarray(truth)
    if predicted.shape != truth.shape:
        raise ValueError("predicted and truth must have the same length")
    _, p_codes = np.unique(predicted, return_inverse=True)
    _, t_codes = np.unique(truth, return_inverse=True)
    joint = p_codes.astype(np.int64) * (int(t_codes.max(initial=0)) + 1) + t_codes
    tp = _pairs_within(joint)
    pred_pairs = _pairs_within(p_codes)
    true_pairs = _pairs_within(t_codes)
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_pairs": float(true_pairs),
        "predicted_pairs": float(pred_pairs),
    }
