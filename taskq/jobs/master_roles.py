"""Column roles for master-my-data: what each column means for matching.

A role decides how a column is normalised, blocked on and compared. Roles come
from the ``roles`` parameter first; every other column is guessed from its name
and, failing that, from a sample of its values. Columns that fit no role, and
record keys (an id-like column whose values are all distinct, such as a row id
or ``rec_id``), are not compared: a key unique per row says nothing about which
rows are the same entity.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence

__all__ = [
    "COMPARED_ROLES",
    "PERSONAL_ROLES",
    "ROLES",
    "detect_roles",
    "role_from_name",
    "role_from_values",
    "second_line",
]

logger = logging.getLogger(__name__)

ROLES = (
    "name",
    "first_name",
    "last_name",
    "address",
    "street_number",
    "city",
    "state",
    "postcode",
    "email",
    "phone",
    "dob",
    "id",
    "ignore",
)
"""Every role a column may have. ``ignore`` keeps a column out of matching."""

COMPARED_ROLES = frozenset(ROLES) - {"ignore"}

PERSONAL_ROLES = frozenset({"first_name", "dob"})
"""Roles whose values belong to one person, not to the people they live with.

A household (or a shared house) shares an address, a phone, often a surname and
sometimes an email, but hardly ever a first name or a date of birth: the match
model's household class (:mod:`.master_model`) agrees on these no more than
strangers do. A full ``name`` is not one of them (it holds the shared surname),
nor is an ``id`` (an account number may be the household's)."""

# Checked in order; the first pattern that matches the normalised name wins.
_NAME_PATTERNS: tuple[tuple[str, str], ...] = (
    ("ignore", r"^(row|row_?id|rec_?id|record_?id|index|idx|uuid|entity_?id|cluster_?id|truth|label)$"),
    ("email", r"e_?mail"),
    ("phone", r"phone|mobile|cell|tel(ephone)?$|^tel|fax"),
    ("dob", r"dob|birth|bday|born"),
    ("first_name", r"^(first|given|fore|christian)_?names?$|^f_?name$|^given$|first_?name|given_?name"),
    ("last_name", r"^(last|sur|family)_?names?$|^l_?name$|surname|last_?name|family_?name"),
    ("street_number", r"street_?(no|num|number)|house_?(no|num|number)|^(no|number|num)$"),
    ("postcode", r"post_?code|postal|zip|^plz$|^cp$"),
    ("city", r"city|suburb|town|locality|municipality|village"),
    ("state", r"^(state|province|region|county|territory)$"),
    ("address", r"addr|street|road|line_?\d"),
    ("id", r"ssn|soc_?sec|social|national_?id|passport|tax_?id|nin$|licen[cs]e|_id$|^id_|_no$|number$"),
    ("name", r"(^|_)(full_?)?name$|^customer$|^person$|^company$|organisation|organization"),
)

_SECOND_LINE = re.compile(
    r"(?i)(addr(ess)?|line|street)[ _.-]*(2|3|two|three|ii)(?![0-9])"
    r"|(^|[^a-z])(suite|apt|apartment|unit|building|care_?of)([^a-z]|$)"
)
"""Names of address columns that hold a second line (``address_2``, ``line 2``, ``suite``)."""


def second_line(column: str) -> bool:
    """Whether address column ``column`` holds a second address line (``address_2``,
    ``Address Line 2``, ``suite``, ``apt``): the street number and blocking go with the
    street line, wherever the columns stand."""
    return bool(_SECOND_LINE.search(column))


_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)
_PHONE_RE = re.compile(r"^\+?[\d\s().\-/]{7,20}$")
_DATE_RE = re.compile(r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|(19|20)\d{6})$")
_POSTCODE_RE = re.compile(r"^(\d{4,5}|[a-z]{1,2}\d[a-z\d]?\s*\d[a-z]{2})$", re.I)


def _norm_name(column: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", column.strip().lower()).strip("_")


def role_from_name(column: str) -> str | None:
    """The role a column's name suggests, or None."""
    name = _norm_name(column)
    for role, pattern in _NAME_PATTERNS:
        if re.search(pattern, name):
            return role
    return None


def role_from_values(values: Sequence[str | None]) -> str | None:
    """The role most (80 %) of the non-empty sample ``values`` fit, or None."""
    filled = [v.strip() for v in values if v is not None and v.strip()]
    if len(filled) < 5:
        return None

    def share(pattern: re.Pattern[str]) -> float:
        return sum(1 for v in filled if pattern.match(v)) / len(filled)

    if share(_EMAIL_RE) >= 0.8:
        return "email"
    if share(_DATE_RE) >= 0.8:
        return "dob"
    digits = [re.sub(r"\D", "", v) for v in filled]
    if share(_PHONE_RE) >= 0.8 and sum(1 for d in digits if 8 <= len(d) <= 15) / len(filled) >= 0.8:
        return "phone"
    return None


def detect_roles(
    columns: Sequence[str],
    samples: Mapping[str, Sequence[str | None]],
    *,
    given: Mapping[str, str] | None = None,
    distinct_ratio: Mapping[str, float] | None = None,
) -> dict[str, str]:
    """Assign a role to every column.

    Args:
        columns: the input's columns, in order.
        samples: a few hundred values per column (as text) for value-based guesses.
        given: roles set by the user; they win and are never second-guessed.
        distinct_ratio: exact distinct values / rows per column; an id-like
            column at 0.999 or more is a record key and is ignored (a column
            left out is not a key).

    Returns:
        column -> role for every column (``ignore`` for those not compared).
        Name-based guesses beat value-based ones; a column that looks like a
        date of birth but is named like a timestamp (``updated_at``) stays ignored.
    """
    given = dict(given or {})
    ratios = distinct_ratio or {}
    roles: dict[str, str] = {}
    for col in columns:
        if col in given:
            roles[col] = given[col]
            continue
        role = role_from_name(col)
        if role is None and not re.search(
            r"(_at|_on|updated|created|modified|timestamp|source)$", _norm_name(col)
        ):
            role = role_from_values(samples.get(col, ()))
        if role == "id" and ratios.get(col, 0.0) >= 0.999:
            logger.debug("column %r is unique per row; treated as a record key", col)
            role = "ignore"
        roles[col] = role or "ignore"
    return roles
