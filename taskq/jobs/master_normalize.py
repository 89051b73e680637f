"""Normalising values before they are blocked on and compared (DuckDB SQL).

Each role maps a raw VARCHAR column to a canonical string, or NULL when the
value is empty or carries no information. A placeholder (``N/A``, ``unknown``,
``-``...: :data:`taskq.jobs._placeholders.PLACEHOLDERS`) is NULL in every role:
two records both saying ``N/A`` do not agree on anything.

* text (names, city, state, address): lower case, accents stripped, the
  Latin letters without a separable accent spelled plainly (``ø`` -> ``o``,
  ``ł`` -> ``l``, ``ß`` -> ``ss``, ``æ`` -> ``ae``...), every other character but
  a letter or digit *of any script* (Cyrillic, Greek, CJK, Arabic... are kept)
  turned into a space, whitespace collapsed; addresses also get
  common street words abbreviated (``street`` -> ``st``); a full ``name`` has
  its tokens sorted so "Smith John" equals "John Smith", after the company legal
  forms ending it are dropped (``Globex Corp``, ``Globex Corporation`` -> ``globex``;
  ``Inc``, ``Ltd``, ``Pty Ltd``, ``LLC``, ``PLC``, ``GmbH``, ``SRL``..., in any case, with or
  without dots (``S.R.L.``), with a comma after them; ``AG``, ``SA``, ``S.A.``, ``SAS``, ``BV``, ``NV`` only in capitals, as
  ``Sá`` is a surname too; ``SpA`` only so, or dotted, as a spa is no company form;
  ``Co`` and ``Company`` only after ``&`` or ``and`` or before another form (or both:
  ``Johnson and Co Ltd`` -> ``johnson``), as
  ``Jennifer Co`` is a person). Two companies sharing only a legal form then share
  nothing; a name that is nothing but a legal form keeps it.
* first names: optionally mapped through a nickname table (``bill`` -> ``william``).
* last names and full names: a generational suffix (``Jr``, ``Jnr``, ``Sr``, ``Snr``,
  ``II``/``2nd``, ``III``/``3rd``, ``IV``/``4th``) where a person's suffix stands, the
  last word or the last word before a comma and never the first word (``Michael
  Turner Jr``, ``Turner Jr, Michael``), is split off into a column of its own
  (:func:`suffix_field`, written ``jr``, ``sr``, ``ii``, ``iii``, ``iv``), so ``Turner
  Jr`` and ``Turner`` are one last name; scoring vetoes a pair whose suffixes differ
  (:mod:`.master_scoring`). An ordinal inside a name (``Studio 2nd Floor Ltd``) is
  no suffix, and none is read from a full-name column headed like an organisation
  (:func:`taskq.jobs.master_roles.organisation`: ``Company``, ``Account Name``,
  ``Employer``...).
* codes (postcode, street number, id): folded like text, then letters and
  digits only.
* email: trimmed and lower-cased; NULL without an ``@``.
* phone: digits only, without an international prefix (``00``; ``011`` or
  ``0011`` before 10+ digits), leading trunk zeros or a ``(0)``: ``07 4662 1020``
  is ``746621020``, ``+61 7 4662 1020`` ``61746621020``. A country code stays;
  scoring treats a number that ends with another (9+ digits) as the same
  (:mod:`.master_scoring`). NULL with fewer than 6 digits.
* date of birth: ISO ``YYYY-MM-DD`` from ISO, ``YYYYMMDD``, day-first
  ``DD/MM/YYYY`` (then month-first) and a few more; an 8-digit value that is no
  valid date (a typo such as ``19561332``) is kept as ``1956-13-32`` so it still
  compares closely to the right date.

Each row also gets :data:`CONTENT_KEY`, a hash of its normalised values. Rows
sharing it compare the same way with everyone, so ordering by it (then by row)
breaks ties on what records hold, not on where they stand in the file:
blocking, the model's random pairs and clustering use it to give a shuffled
file the same pairs, model and clusters (up to exchanging rows that hold
identical values).

Phonetic keys (metaphone, via jellyfish; the value itself where metaphone has
no code, as for non-Latin scripts) are computed per
distinct value in Python and joined back; only distinct values cross into Python.
"""

from __future__ import annotations

import logging

import duckdb
import jellyfish
import numpy as np
import pyarrow as pa

from ._placeholders import placeholder_sql
from .io import quote_ident, sql_literal
from .master_nicknames import NICKNAMES
from .master_roles import organisation

__all__ = [
    "CONTENT_KEY",
    "NORMALISED_TABLE",
    "SUFFIX_ROLES",
    "build_normalised",
    "content_order",
    "normalise_sql",
    "phonetic_keys",
    "suffix_field",
    "suffix_sql",
]

logger = logging.getLogger(__name__)

NORMALISED_TABLE = "m_norm"

CONTENT_KEY = "vkey"
"""Column of :data:`NORMALISED_TABLE`: a hash of the row's normalised values (fields are ``f0``, ``f1``...)."""

_ABBREVIATIONS = (
    ("street", "st"),
    ("road", "rd"),
    ("avenue", "ave"),
    ("av", "ave"),
    ("drive", "dr"),
    ("place", "pl"),
    ("court", "ct"),
    ("crescent", "cres"),
    ("lane", "ln"),
    ("parade", "pde"),
    ("close", "cl"),
    ("boulevard", "blvd"),
    ("highway", "hwy"),
    ("terrace", "tce"),
    ("apartment", "apt"),
    ("north", "n"),
    ("south", "s"),
    ("east", "e"),
    ("west", "w"),
)

_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y%m%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%Y/%m/%d",
    "%d %B %Y",
    "%d %b %Y",
)


_NOT_LETTER_OR_DIGIT = "[^\\p{L}\\p{N}]"
"""RE2 class of everything but a letter or digit of any script."""

_LETTERS = (("ß", "ss"), ("æ", "ae"), ("œ", "oe"), ("þ", "th"))
"""Lower-case letters written as two Latin letters once accents are stripped."""
_LETTER_FROM, _LETTER_TO = "øłđðı", "olddi"
"""Lower-case letters that are one Latin letter (no accent to strip: ø is no o + mark)."""


def _fold(col: str) -> str:
    """Trimmed, lower case, accents stripped, ø ł đ ð ı ß æ œ þ spelled in plain Latin.

    Letters of other scripts (Cyrillic, Greek, CJK, Arabic...) are kept as they are.
    """
    expr = f"translate(strip_accents(lower(trim({col}))), '{_LETTER_FROM}', '{_LETTER_TO}')"
    for letter, latin in _LETTERS:
        expr = f"replace({expr}, '{letter}', '{latin}')"
    return expr


def _text(col: str) -> str:
    return (
        f"nullif(trim(regexp_replace(regexp_replace({_fold(col)}, "
        f"'{_NOT_LETTER_OR_DIGIT}+', ' ', 'g'), '\\s+', ' ', 'g')), '')"
    )


_STRASSE = "(?:strasse|str)"
"""German ``Straße`` (folded: ``strasse``) and its abbreviation ``Str.``, as a word or as the
end of one (``Friedrichstraße``, ``Friedrichstr.``): both become ``st``, as ``street`` does."""


def _address(col: str) -> str:
    expr = _text(col)
    # Compound first: friedrichstrasse and friedrichstr are "friedrich st", as friedrich strasse is.
    expr = f"regexp_replace({expr}, '([a-z]){_STRASSE}\\b', '\\1 st', 'g')"
    expr = f"regexp_replace({expr}, '\\b{_STRASSE}\\b', 'st', 'g')"
    for word, short in _ABBREVIATIONS:
        expr = f"regexp_replace({expr}, '\\b{word}\\b', '{short}', 'g')"
    return expr


_LEGAL_FORMS = (
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "ltd",
    "limited",
    "llc",
    "llp",
    "plc",
    "lp",
    "gmbh",
    "pty",
    "pte",
    "sarl",
    "srl",
    "s\\.p\\.a",
)
"""Legal forms of a company (RE2, any case), dropped from the end of a ``name``; those of
up to four letters also with a dot after each letter (``L.L.C.``, ``S.R.L.``, ``s.r.l.``)."""
_LEGAL_FORMS_UPPER = ("AG", "SA", "S\\.A", "SAS", "S\\.A\\.S", "BV", "B\\.V", "NV", "N\\.V", "SpA")
"""Legal forms that are also a word or a person's name or initials (Maria Sá, a day spa):
dropped only as written here (``SpA``, never ``Spa``)."""
_COMPANY = "(?i:co|company)"
"""``Co`` and ``Company``: dropped only after ``&`` or ``and`` (``Smith & Co``) or before another
legal form (``Acme Co., Ltd.``); alone they are words and names (Jennifer Co, Maria Company)."""
_LEGAL_FORM_ROUNDS = 3
"""Legal forms dropped one after the other from the end of a name (``Pty Ltd``, ``GmbH & Co``)."""


def _without_legal_form(col: str) -> str:
    """The raw value ``col`` without the company legal forms that end it.

    ``Globex Corp``, ``Globex Corporation``, ``Globex Corp.`` and ``Globex Corp,`` are all
    ``Globex``, ``Johnson and Co Ltd`` is ``Johnson``; at least one letter or digit is kept,
    so ``Inc`` alone stays itself.
    """
    dotted = [f.replace("\\.", "") for f in _LEGAL_FORMS if len(f.replace("\\.", "")) <= 4]
    spelled = list(_LEGAL_FORMS) + ["\\.".join(f) for f in dotted if "\\." not in f]
    form = f"(?:(?i:{'|'.join(spelled)})|{'|'.join(_LEGAL_FORMS_UPPER)})"
    # "& Co", "and Co" or a bare space before Co: one alternative, so that "Johnson and Co Ltd"
    # loses "and Co Ltd" whole, not "Co Ltd" leaving "Johnson and".
    joined = "(?:[\\s,]*&[\\s,]*|[\\s,]+(?i:and)\\s+)"
    tail = (
        f"(?:[\\s,.&]+{form}|{joined}{_COMPANY}|(?:{joined}|[\\s,.]+){_COMPANY}\\.?[\\s,]+{form})[\\s.,;]*$"
    )
    expr = col
    for _ in range(_LEGAL_FORM_ROUNDS):
        expr = f"regexp_replace({expr}, '^(.*?[\\p{{L}}\\p{{N}}].*?){tail}', '\\1')"
    return expr


SUFFIX_ROLES = frozenset({"last_name", "name"})
"""Roles whose values may carry a generational suffix (``Turner Jr``, ``Michael Turner III``)."""

_SUFFIXES = {
    "jr": "jr",
    "jnr": "jr",
    "sr": "sr",
    "snr": "sr",
    "iii": "iii",
    "ii": "ii",
    "2nd": "ii",
    "3rd": "iii",
    "iv": "iv",
    "4th": "iv",
}
"""Generational suffixes (a word of the value, any case) and the one each stands for.
``Junior`` and ``Senior`` spelled out are not among them: they are surnames too."""

_SUFFIX_AT = (
    "^(.*?[\\p{L}\\p{N}].*?[^\\p{L}\\p{N}]+)"
    f"((?i:{'|'.join(_SUFFIXES)}))"
    "([^\\p{L}\\p{N},]*(?:,|$))"
)
"""RE2: a suffix where a person's suffix stands, after at least one word: the last word
of the value or the last before a comma (``Michael Turner Jr``, ``Turner Jr., Michael``,
``Hale, Jr.``). Groups: 1 what precedes it, 2 the suffix, 3 what follows up to the comma
or the end. ``Studio 2nd Floor Ltd`` has none: ``2nd`` is followed by more words."""


def suffix_field(field: str) -> str:
    """The column of :data:`NORMALISED_TABLE` holding the generational suffix of ``field``."""
    return f"{field}_sfx"


def _without_suffix(col: str) -> str:
    """The raw value ``col`` without the generational suffix :func:`suffix_sql` reads.

    The first word stays whatever it is: ``Ii`` alone or first is a name (a Japanese
    surname), ``II`` after a name is a suffix.
    """
    return f"regexp_replace({col}, '{_SUFFIX_AT}', '\\1\\3')"


def suffix_sql(role: str, col: str) -> str:
    """A DuckDB expression: the generational suffix of the VARCHAR ``col`` for ``role``
    (one of :data:`SUFFIX_ROLES`), written as ``jr``, ``sr``, ``ii``, ``iii`` or ``iv``;
    NULL without one. A suffix counts only as the last word, or the last word before a
    comma, and never as the first word (:data:`_SUFFIX_AT`); the first such one counts."""
    if role not in SUFFIX_ROLES:
        raise ValueError(f"no suffix for role {role!r}")
    found = f"nullif(lower(regexp_extract({_real(col)}, '{_SUFFIX_AT}', 2)), '')"
    spellings = " ".join(
        f"WHEN {sql_literal(k)} THEN {sql_literal(v)}" for k, v in _SUFFIXES.items() if k != v
    )
    return f"(CASE {found} {spellings} ELSE {found} END)"


_TITLES = "mr|mrs|ms|miss|mx|dr|prof|sir|dame|rev|fr|herr|frau|mme|mlle|sr|sra|srta"  # Mr, Dr., Prof. Dr.
_TITLE_AT = f"^(?:(?i:{_TITLES})\\.?\\s+)+"
"""RE2: titles before a full name (``Mr``, ``Dr.``, ``Prof. Dr.``): no part of the given name."""
_SUFFIX_ONLY = f"(?i:{'|'.join(_SUFFIXES)})\\.?"
"""RE2: a generational suffix alone (``Jr.``): after a comma it ends a name (``John Smith, Jr.``)."""

_PARTICLES = "van|von|de|der|den|del|della|da|di|du|dos|das|la|le|ter|ten|st|bin|ibn|al|el|mac|o"
_FAMILY_AT = f"(?:^|\\s)((?:(?i:{_PARTICLES})\\.?\\s+)*[^\\s]+(?:[\\s,]+{_SUFFIX_ONLY})?)\\s*$"
"""RE2: the family name at the end of a full name: the last word, with the particles before
it (``van der Berg``) and a generational suffix after it (``Turner Jr``). Middle names are
no part of it: ``Mary Ann Smith`` is a Smith, as ``Mary Smith`` is."""

_POSTNOMINALS = "phd|ph\\.d|md|m\\.d|esq|cpa|dds|dmd|mba|rn|jd|dvm|llm|msc|bsc|obe|mbe|cbe|frcs|facs"
_AFTER_NAME = f"(?:\\s*\\([^)]*\\)|[\\s,]+(?i:{_POSTNOMINALS})\\.?)+$"
"""RE2: what ends a full name without being part of it: degrees and honours (``Janet Dolan
PhD``, ``Alan Grantham, MD``) and words in parentheses (``Carla Ruiz (née Soto)``; a
generational suffix in them is kept: ``Dennis Moyer (Jnr)`` is a junior)."""
_INITIAL = "[\\p{Latin}\\p{Greek}\\p{Cyrillic}]\\.?,?"
"""RE2: an initial (``A.``): one letter of an alphabet. One Han or Hangul character is a
whole name (``王 伟``)."""

NAME_PARTS = ("given", "family")
"""The parts :func:`name_part_sql` reads out of a person's full name."""


def name_part_sql(col: str, part: str) -> str:
    """A DuckDB expression: the ``given`` name or the ``family`` name in the full name ``col``.

    ``Smith, John A.`` (a comma, not before a suffix alone) is family name first; else
    the first word is the given name (``John A. Smith``, after any titles: ``Dr. Jane
    Doe``) and the last word the family name (:data:`_FAMILY_AT`: with its particles and
    suffix; middle names and initials are neither), after a company's legal form is
    dropped, and degrees and words in parentheses after the name (:data:`_AFTER_NAME`). A
    generational suffix stays with the family name (``Turner Jr``), where
    :func:`suffix_sql` reads it. A single word is a given name, its family name NULL; after
    a title it is the family name (``Mr. Quincy``), the given name NULL.
    """
    if part not in NAME_PARTS:
        raise ValueError(f"no name part {part!r}")
    spaced = f"regexp_replace({_without_legal_form(_real(col))}, '\\s+', ' ', 'g')"
    unwrapped = f"regexp_replace({spaced}, '\\s*\\(({_SUFFIX_ONLY})\\)', ' \\1', 'g')"  # Moyer (Jnr)
    name = f"trim(regexp_replace(trim({unwrapped}), '{_AFTER_NAME}', ''))"
    # The name is bound once (a lambda's argument), not written out at each use below:
    # every use of a plain expression repeats the whole chain of regexes before it.
    t, u = "nm.t", "nm.u"  # the name, and the name without its titles
    after = f"trim(substr({t}, strpos({t}, ',') + 1))"
    comma = f"(strpos({t}, ',') > 0 AND {after} <> '' AND NOT regexp_full_match({after}, '{_SUFFIX_ONLY}'))"
    # A title before one word alone: that word is the family name (Mr. Quincy, Herr Müller).
    titled_one = f"({u} <> {t} AND NOT regexp_matches({u}, '[\\s,]'))"
    if part == "given":
        source = f"regexp_replace(CASE WHEN {comma} THEN {after} ELSE {t} END, '{_TITLE_AT}', '')"
        given = f"nullif(regexp_extract({source}, '^[^\\s,]+'), '')"
        body = f"CASE WHEN {titled_one} THEN NULL ELSE {given} END"
    else:
        rest = f"regexp_replace({u}, '^[^\\s,]+[\\s,]*', '')"
        words = f"list_filter(string_split({rest}, ' '), lambda w: NOT regexp_full_match(w, '{_INITIAL}'))"
        last = f"regexp_extract(array_to_string({words}, ' '), '{_FAMILY_AT}', 1)"
        family = (
            f"CASE WHEN {titled_one} THEN {u} WHEN {comma} THEN trim(split_part({t}, ',', 1)) ELSE {last} END"
        )
        body = f"nullif(trim({family}), '')"
    bound = f"struct_pack(t := n0, u := regexp_replace(n0, '{_TITLE_AT}', ''))"
    return f"list_transform([{name}], lambda n0: list_transform([{bound}], lambda nm: {body})[1])[1]"


_EXTENSION = "[\\s,;]*(?:(?i:ext|extn|extension|x)\\.?|#)\\s*[0-9]{1,6}\\s*$"
"""RE2: a phone extension at the end (``ext. 12``, ``x204``, ``#5``)."""


def _dob(col: str) -> str:
    fmts = "[" + ", ".join(sql_literal(f) for f in _DATE_FORMATS) + "]"
    digits = f"regexp_replace(trim({col}), '[^0-9]', '', 'g')"
    return (
        f"coalesce(strftime(try_strptime(trim({col}), {fmts}), '%Y-%m-%d'), "
        f"CASE WHEN length({digits}) = 8 AND substr({digits}, 1, 2) IN ('18', '19', '20') "
        f"THEN substr({digits}, 1, 4) || '-' || substr({digits}, 5, 2) || '-' || substr({digits}, 7, 2) END)"
    )


def _real(col: str) -> str:
    """``col``, NULL where it is a placeholder token."""
    return f"(CASE WHEN {placeholder_sql(col)} THEN NULL ELSE {col} END)"


def normalise_sql(role: str, col: str, *, nicknames: bool = True, suffixes: bool = True) -> str:
    """A DuckDB expression normalising the VARCHAR expression ``col`` for ``role``.

    ``first_name`` nickname mapping refers to the ``m_nick`` table that
    :func:`build_normalised` creates; call it through there when ``nicknames``.
    Without ``suffixes`` a generational suffix stays part of a name (a company's).
    """
    col = _real(col)
    if role in ("first_name", "city", "state"):
        expr = _text(col)
        if role == "first_name" and nicknames:
            expr = f"coalesce((SELECT canon FROM m_nick WHERE nick = {expr}), {expr})"
        return expr
    if role in SUFFIX_ROLES and suffixes:
        col = _without_suffix(col)
    if role == "last_name":
        return _text(col)
    if role == "name":
        text = _text(_without_legal_form(col))
        return f"nullif(array_to_string(list_sort(string_split({text}, ' ')), ' '), '')"
    if role == "address":
        return _address(col)
    if role in ("postcode", "street_number", "id"):
        return f"nullif(regexp_replace({_fold(col)}, '{_NOT_LETTER_OR_DIGIT}', '', 'g'), '')"
    if role == "email":
        return f"CASE WHEN contains(trim({col}), '@') THEN lower(trim({col})) END"
    if role == "phone":
        # An extension is no part of the number: 212-555-0148 ext. 12 is 212-555-0148.
        line = f"regexp_replace({col}, '{_EXTENSION}', '')"
        # A "(0)" is a trunk zero written beside a country code (+44 (0)20 ...).
        digits = f"regexp_replace(regexp_replace({line}, '\\(\\s*0\\s*\\)', '', 'g'), '[^0-9]', '', 'g')"
        # 011 (North America) or 0011 (Australia) dials abroad when a whole number
        # follows; a national 0114 496 0000 (Sheffield) keeps its 114.
        abroad = f"regexp_replace({digits}, '^0?011([0-9]{{10,}})$', '\\1')"
        # Then leading zeros go: 00 (the usual international prefix) and trunk zeros.
        number = f"ltrim({abroad}, '0')"
        return f"CASE WHEN length({number}) >= 6 THEN {number} END"
    if role == "dob":
        return _dob(col)
    raise ValueError(f"no normalisation for role {role!r}")


def _nickname_table(con: duckdb.DuckDBPyConnection) -> None:
    rows = [(nick, canon) for canon, nicks in NICKNAMES.items() for nick in nicks]
    # A nickname shared by two names (chris) maps to the first one listed.
    seen: dict[str, str] = {}
    for nick, canon in rows:
        seen.setdefault(nick, canon)
    table = pa.table({"nick": list(seen), "canon": list(seen.values())})
    con.register("m_nick_arrow", table)
    con.execute("CREATE OR REPLACE TEMP TABLE m_nick AS SELECT * FROM m_nick_arrow")
    con.unregister("m_nick_arrow")


def build_normalised(
    con: duckdb.DuckDBPyConnection,
    view: str,
    fields: list[tuple[str, str, str]],
    *,
    nicknames: bool = True,
) -> None:
    """Create :data:`NORMALISED_TABLE` with ``rid`` (the 0-based row), one column per field,
    a :func:`suffix_field` column per field of a role in :data:`SUFFIX_ROLES` and
    :data:`CONTENT_KEY`.

    Args:
        con: connection holding ``view`` (with its ``__row`` column).
        view: the input view.
        fields: ``(field name, source column, role)`` triples; the field name
            becomes the normalised column's name.
        nicknames: map first-name nicknames to a canonical name.
    """
    _nickname_table(con)
    selects = ["CAST(__row AS INTEGER) AS rid"]
    names = [quote_ident(field) for field, _, _ in fields]
    names += [quote_ident(suffix_field(field)) for field, _, role in fields if role in SUFFIX_ROLES]
    content = f"hash({', '.join(names)})" if names else "CAST(0 AS UBIGINT)"
    joins = []
    for i, (field, column, role) in enumerate(fields):
        src = quote_ident(column)
        # A company column's "II" or "2nd" is part of the company's name.
        person = not (role == "name" and organisation(column))
        if role == "first_name" and nicknames:
            base = _text(_real(src))
            joins.append(f"LEFT JOIN m_nick AS k{i} ON k{i}.nick = {base}")
            selects.append(f"coalesce(k{i}.canon, {base}) AS {quote_ident(field)}")
        else:
            expr = normalise_sql(role, src, nicknames=False, suffixes=person)
            selects.append(f"{expr} AS {quote_ident(field)}")
        if role in SUFFIX_ROLES:
            sfx = suffix_sql(role, src) if person else "CAST(NULL AS VARCHAR)"
            selects.append(f"{sfx} AS {quote_ident(suffix_field(field))}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {NORMALISED_TABLE} AS SELECT *, {content} AS {CONTENT_KEY} "
        f"FROM (SELECT {', '.join(selects)} FROM {view} {' '.join(joins)}) ORDER BY rid"
    )
    logger.debug("normalised %d fields", len(fields))


def content_order(con: duckdb.DuckDBPyConnection, table: str = NORMALISED_TABLE) -> np.ndarray:
    """The rows (``rid``) of ``table`` ordered by :data:`CONTENT_KEY`, then by row.

    Only rows with identical normalised values keep their file order, and those
    are interchangeable.
    """
    res = con.execute(f"SELECT rid FROM {table} ORDER BY {CONTENT_KEY}, rid").fetchnumpy()
    return np.asarray(res["rid"], dtype=np.int64)


def _metaphone(value: str) -> str:
    """Metaphone code of ``value``; the value itself where metaphone has none.

    Metaphone only knows Latin letters: a Cyrillic, Greek or CJK name gets an
    empty code. Its initial as the key made blocks of everyone sharing a first
    letter; the whole value keeps the key as selective as a spelling.
    """
    try:
        return jellyfish.metaphone(value).replace(" ", "") or value
    except Exception:  # jellyfish rejects a few odd inputs
        return value


def phonetic_keys(con: duckdb.DuckDBPyConnection, field: str, key: str) -> None:
    """Add column ``key`` to the normalised table: the metaphone code of ``field``.

    Only distinct values are sent to Python (jellyfish), then joined back.
    """
    values = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT {quote_ident(field)} FROM {NORMALISED_TABLE} WHERE {quote_ident(field)} IS NOT NULL"
        ).fetchall()
    ]
    codes = pa.table(
        {"v": values, "k": [_metaphone(v) for v in values]},
        schema=pa.schema([("v", pa.string()), ("k", pa.string())]),
    )
    con.register("m_phon_arrow", codes)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {NORMALISED_TABLE} AS SELECT n.*, p.k AS {quote_ident(key)} "
        f"FROM {NORMALISED_TABLE} AS n LEFT JOIN m_phon_arrow AS p ON n.{quote_ident(field)} = p.v ORDER BY n.rid"
    )
    con.unregister("m_phon_arrow")
