"""Column roles for master-my-data: what each column means for matching.

A role decides how a column is normalised, blocked on and compared. Roles come
from the ``roles`` parameter first; every other column is guessed from its name
and, failing that, from a sample of its values. Columns that fit no role, and
record keys (an id-like column whose values are all distinct, such as a row id
or ``rec_id``), are not compared: a key unique per row says nothing about which
rows are the same entity.

A column named for an email, phone or date-of-birth role whose sampled values
are not e-mail addresses, phone numbers or dates (``email_verified`` or
``Mobile`` holding yes/no) does not take the role; its values may still give it
one.

A name is read as its words (``date_of_birth``, ``DateOfBirth`` and ``Date of
Birth`` alike; case and accents aside), and a role's word must be a whole word
(or a known compound or abbreviation: ``homephone``, ``MAILINGZIP``, ``ZIPCD``,
``BIRTHDT``, ``BDATE``, ``streetname``, ``Hausnummer``, ``FIRST_NM``, ``CITYNM``,
``STATECD``, ``PCODE``; ``ST_NAME`` is a street's name, ``ST_NUM`` its number): ``Ethnicity`` is no city,
``Hotel`` no phone. Words that change the meaning keep a column out of a role:
``Place of Birth``, ``Birth Year`` (no date of birth), ``Middle Name``, ``Maiden
Name``, ``Country Name``, ``Bank Name`` (no name), ``Spouse Name``,
``Emergency Contact Phone``, ``Mother's Name`` (another person's: no role; a
``Partner Name`` or ``Beneficiary DOB`` only beside the record's own person's name or
date of birth:
:func:`detect_roles`), ``IP Address``,
``email_verified``, ``phone_type``, ``Accepts Email Marketing``, ``emailed_at``
(facts about a value or timestamps), and ``Order Number``,
``Invoice No`` (a number of an event, not of the entity: one customer has many,
and as an id they would set that customer's records apart). English, German,
French and Spanish headers are known (``Vorname``, ``Nachname``, ``Straße``,
``PLZ``, ``Ort``, ``Geburtsdatum``, ``Telefon``; ``Prénom``, ``Nom``,
``Adresse``, ``Ville``, ``Code postal``, ``Date de naissance``; ``Nombre``,
``Apellidos``, ``Dirección``, ``Ciudad``, ``Teléfono``, ``Fecha de
nacimiento``). A street named with its house number (``Strasse/Hausnummer``) is
the whole street line (``address``), not the street number. A state is read
however qualified or coded (``Mailing State/Province``, ``Default Address Province
Code``, ``Home State``, ``STATE_CD``, ``Estado``); a country has no role (there is
none for it), and neither a country nor a company named with an address
(``Default Address Country Code``, ``Default Address Company``) is an address
part: the company is an organisation's name (``name``), as are ``Company``,
``Company Name``, ``Account Name``, ``Firma``, ``Raison sociale``
(:func:`organisation`): compared as a name, but not blocked on beside a person's
name.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence

from ._placeholders import PLACEHOLDERS

__all__ = [
    "COMPARED_ROLES",
    "PERSONAL_ROLES",
    "NAME_ROLES",
    "ROLES",
    "SINGLE_FACT_ROLES",
    "detect_roles",
    "header_words",
    "looks_like_names",
    "organisation",
    "role_from_name",
    "role_from_values",
    "second_line",
    "value_fit",
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

# Word-level patterns over a header's words (:func:`header_words`: "Date of Birth",
# "dateOfBirth" and "date_of_birth" all read "date of birth"). \b is a word edge, so
# a role word inside a longer word (ethnicity, hotel, cancellation) does not count.
# A column takes the first role whose pattern matches and whose exclusion does not.
_PRE = (
    r"(home|work|business|office|private|personal|primary|main|alt|alternate|alternative|other|"
    r"secondary|contact|customer|client|cust|billing|shipping|mailing|residential|day|daytime|"
    r"evening|night|mobile|cell)?"
)
"""A qualifier written into the same word: ``homephone``, ``workemail``, ``hometown``."""
_FLAG = (
    r"\b(is|has|verified|verify|valid|validated|invalid|confirmed|consent|opt|optin|optout|opted|subscribed"
    r"|unsubscribed|subscribe|unsubscribe|subscription|bounced|bounce|status|flag|type|count|domain|provider"
    r"|format|accepts|accept|accepted|marketing|newsletter|permission|permissions|preference|preferences)\b"
)
"""Words that make a column a fact *about* a role's value (``email_verified``,
``phone_type``, ``has_email``), not the value."""
_TIME = r"\b(at|on|date|time|timestamp|updated|created|modified|changed)\b"
"""Words of a timestamp (``emailed_at``, ``address_updated_on``)."""
_EVENT = (
    r"\b(created|creation|modified|updated|changed|last|latest|recent|activity|activities|order|ordered"
    r"|purchase|purchased|signup|sign|signed|join|joined|joining|registration|registered|register|visit"
    r"|visited|close|closed|closing|start|started|end|ended|expiry|expiration|expires|expired|due|ship"
    r"|shipped|delivery|delivered|invoice|invoiced|payment|paid|login|logon|seen|contacted|opened|sent"
    r"|received|hire|hired|renewal|renewed|subscribed|enrolled|enrollment|enrolment|effective|issue|issued"
    r"|booking|booked|appointment|transaction|contract|converted|conversion|submitted|imported|exported"
    r"|synced|cancelled|canceled|terminated|termination|since|timestamp)\b"
)
"""Words of an event (``Last Activity Date``, ``Created Date``, ``Close Date``): a date so
named is when something happened to the record, no date of birth, by its name or its values."""
_NAME_NOT = (
    r"\b(middle|maiden|birth|nick|nickname|user|file|host|domain|product|item|brand|country|city|street"
    r"|st|town|state|province|region|county|bank|event|campaign|list|tag|plan|payment|store|school)\b"
)
"""Names that are not the person's own name to compare (``Middle Name``, ``Maiden Name``,
``user_name``, ``file_name``, ``Country Name``, ``Bank Name``; ``ST_NAME``, a street's)."""
_ORG = (
    r"(company|companies|business|organi[sz]ation|organi[sz]ations|org|account|trading|employer|vendor"
    r"|supplier|firm|firms|corp|corporation|corporate|firma|firmen|firmenname|unternehmen|arbeitgeber"
    r"|entreprise|societe|empresa|raison sociale|razon social)"
)
"""Words of an organisation's name (``Company``, ``Account Name``, ``Firm``, ``Firma``, ``Raison sociale``)."""
_ORG_ALONE = (
    r"(company|organi[sz]ation|employer|firma|firmenname|unternehmen|arbeitgeber|entreprise|societe|empresa"
    r"|raison sociale|razon social)"
)
"""Of :data:`_ORG`, those that name an organisation without the word name (not ``Account``)."""

_NAME_PATTERNS: tuple[tuple[str, str, str | None], ...] = (
    (
        "ignore",
        r"^(row|row ?id|rec ?id|record ?id|index|idx|uuid|entity ?id|cluster ?id|truth|label)$",
        None,
    ),
    ("email", rf"\b{_PRE}e ?mails?(addr|address|adresse)?\b|\b(courriel|correo)\b", f"{_FLAG}|{_TIME}"),
    (
        "phone",
        rf"\b{_PRE}(tele?phones?|phones?|tel|telefon|telefono|mobile|mobil|handy|cell|cellphone|cellular|fax"
        r"|telefax|movil|celular|portable|mobiltelefon|mobilfunk|mobilfunknummer)(no|nr|num|number|nummer|numero)?\b"
        # "Contact Number" is a phone number; "ph_no", "mob_no" too.
        r"|\b(contact|ph|phn|mob) ?(no|nr|num|number|nbr)\b",
        f"{_FLAG}|{_TIME}",
    ),
    (
        "dob",
        r"\b(dob|d o b|birth|births|birthdate|birthday|bday|bdate|born|dateofbirth|birthdt|dobdt|geburtsdatum"
        r"|geburtstag|naissance|nacimiento)\b|\bgeb ?datum\b|\bfecha de nac\b",
        # Where, in which country, in which year: no date of birth.
        r"\b(place|country|city|town|state|region|location|county|year|month|name|weight|height|order"
        r"|cert|certificate|lieu|pays|ville|lugar|pais|ciudad|ort|land|jahr|ano|annee|mois|mes|monat)\b|"
        + f"{_FLAG}|{_EVENT}",
    ),
    (
        "first_name",
        r"^(first|given|f ?name)$|\b(first|given|fore|christian) ?(names?|nm)\b|\b(forenames?|vorname|vornamen"
        r"|prenoms?)\b",
        f"{_NAME_NOT}|{_FLAG}|{_TIME}",
    ),
    (
        "last_name",
        r"^(last|l ?name)$|\b(last|sur|family) ?(names?|nm)\b|\b(nachname|familienname|zuname|apellidos?"
        r"|nom de famille)\b",
        f"{_NAME_NOT}|{_FLAG}|{_TIME}",
    ),
    (
        "street_number",
        r"\b(street|house|haus|door|st) ?(no|nr|num|number|nummer)\b|^(no|nr|num|number|numero|nummer)$",
        # "Straße und Hausnummer", "Strasse/Hausnummer", "street and number": the whole street line.
        r"\b(and|und|et|y)\b|\b(strasse|str|rue|calle)\b|\bstreet\b.*\b(house|haus)\b",
    ),
    (
        "postcode",
        rf"\b{_PRE}(post ?codes?|postal ?codes?|zip ?codes?|zips?|post ?cd|postal ?cd|zip ?cd|zipcd|postleitzahl"
        r"|code postal|codigo postal)\b|^(postal|plz|cp|pcode)$",
        f"{_FLAG}|{_TIME}",
    ),
    (
        "city",
        rf"\b{_PRE}(city|cities|suburb|town|towncity|locality|municipality|village|ort|wohnort|stadt"
        r"|ville|ciudad|localite|localidad|poblacion|gemeinde|commune)\b|\b(city|town)(nm|name)\b",
        rf"\b(birth|naissance|nacimiento)\b|{_FLAG}|{_TIME}",
    ),
    (
        "state",
        # The last words name the state, maybe as a code: "Mailing State/Province",
        # "Default Address Province Code", "MailingStateCode", "Home State", "Estado".
        r"(^| )(state|province|region|county|territory|bundesland|provincia|estado|kanton|departement"
        r"|stateorprovince)( or province| province| state| region)?( code| cd| abbr| abbreviation| name)?$"
        r"|^(st cd|statecd|statecode|stcd|provcd)$",
        r"\b(country|countries|pays|pais|land|nation|birth|naissance|nacimiento|order|payment|job|task"
        rf"|ticket|case|subscription|lead)\b|{_FLAG}|{_TIME}",
    ),
    (
        "address",
        rf"\b({_PRE}|street|postal|physical|delivery)(addr|address|addresses|adresse|anschrift|direccion|domicilio|street|streets|road"
        r"|strasse|calle)(line)?\b|\b(streetname|strassenname|stname)\b|\bst (name|nm)\b|\bline \d\b",
        # Not a postal address: IP Address, MAC address, wallet address...
        rf"\b(ip|ipv4|ipv6|mac|web|url|wallet|server|host|memory|network|ethernet|bitcoin|e ?mail)\b"
        # Nor the country or the company of an address ("Default Address Country Code",
        # "Default Address Company"): no street line.
        rf"|\b(country|countries|pays|pais|land)\b|\b{_ORG_ALONE}$"
        rf"|{_FLAG}|{_TIME}",
    ),
    (
        "id",
        r"\b(ssn|soc ?sec|social ?sec|social ?security|national ?id|nationalid|passport|tax ?id|taxid"
        r"|nin|licen[cs]e|securite sociale|seguridad social|seguro social|sozialversicherungsnummer)\b"
        r"|^id .|. (id|no|nr|number|num)$|..number$",
        # Numbers of an order, an invoice or a ticket name an event, not the entity:
        # one customer has many, so they would set the same person's records apart.
        r"\b(order|orders|invoice|transaction|txn|ticket|receipt|booking|reservation|payment|shipment"
        r"|tracking|line|row|record|batch|version|sequence|seq|page|item|sku|product|serial|case|claim"
        r"|session|request|message|event|file|job|task|lot)\b|" + f"{_FLAG}|{_TIME}",
    ),
    (
        "name",
        r"(^| )(full ?)?names?$|^(full|cust|customer|person|contact|client|member|patient) ?nm$|\b(full|customer|cust|contact|client|member|patient|person)name\b"
        r"|^(customer|person|nom|nombre|nom complet|nombre completo)$"
        rf"|(^| ){_ORG_ALONE}$|\b{_ORG} ?names?\b|^name of (the )?{_ORG}$|^nombre de la {_ORG}$",
        f"{_NAME_NOT}|{_FLAG}|{_TIME}",
    ),
)

_OTHER = (
    r"\b(spouse|spouses|husband|wife|emergency|kin|parent|parents|guardian|father|fathers"
    r"|mother|mothers|referrer|assistant|asst)\b"
)
"""Words of another person (``Spouse Name``, ``Emergency Contact Phone``, ``Mother's Name``):
their name, date of birth, phone, email or id is not the record's own."""
_RELATED = r"\b(partner|partners|beneficiary|beneficiaries)\b"
"""Words of a person who is the record in a file of partners or beneficiaries (``Partner
Name``, ``Business Partner Name``, ``Beneficiary DOB``) and another person beside the
record's own person's name or date of birth (a customer's ``Partner Name``):
:func:`detect_roles` tells."""
_PERSON = frozenset({"name", "first_name", "last_name", "dob", "phone", "email", "id"})

_BARE_NAMES = frozenset({"name", "names", "nom", "nombre"})

SINGLE_FACT_ROLES = frozenset({"street_number", "city", "state", "postcode", "dob"})
"""Roles of which a record has one value: two columns of one (``Province`` and ``Province
Code``, ``City`` and ``CITYNM``) hold one fact, and comparing both counts it twice."""
_CODE_WORDS = r"\b(code|codes|cd|abbr|abbrev|abbreviation|iso|short)\b"
"""Words of a column holding a code for its role's value (``Province Code``, ``STATE_CD``)."""


def _sample_chars(values: Sequence[str | None]) -> int:
    """Characters in the filled, real values of a sample: how full and spelled-out a column is."""
    return sum(
        len(v.strip())
        for v in values
        if v is not None and v.strip() and v.strip().lower() not in PLACEHOLDERS
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


def header_words(column: str) -> str:
    """The words of a header, lower case, accents dropped, one space apart.

    Words are split at anything but a letter or digit, at a lower-case letter
    followed by a capital (``dateOfBirth``), before a capital that starts a word
    after capitals (``IPAddress``) and between letters and digits (``address1``):
    ``"Straße_Nr"`` -> ``"strasse nr"``, ``"E-Mail"`` -> ``"e mail"``,
    ``"Prénom"`` -> ``"prenom"``.
    """
    out: list[str] = []
    for i, ch in enumerate(column):
        prev = column[i - 1] if i else ""
        nxt = column[i + 1] if i + 1 < len(column) else ""
        if prev and (
            (prev.islower() and ch.isupper())
            or (prev.isupper() and ch.isupper() and nxt.islower())
            or (prev.isalpha() and ch.isdigit())
            or (prev.isdigit() and ch.isalpha())
        ):
            out.append(" ")
        out.append(ch)
    text = unicodedata.normalize("NFKD", "".join(out).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.findall(r"[^\W_]+", text))


def organisation(column: str) -> bool:
    """Whether ``column`` is named for an organisation's name (``Company``, ``Company
    Name``, ``Account Name``, ``Vendor Name``, ``Trading Name``, ``Employer``, ``Firm``,
    ``Corporation``, ``Firma``, ``Unternehmen``, ``Raison sociale``) rather than a person's.

    The one test of an organisation's column, wherever it matters. Such a column with
    the ``name`` role is compared as a name (the same customer keeps the same company),
    but a person's name blocks ahead of it (:mod:`.master`): many people share one
    company, so its phonetic keys would pair them all. No generational suffix is read
    from it (``Fund II`` is a name: :func:`.master_normalize.build_normalised`), and it
    is no part of a person's name in golden records
    (:func:`.master_golden.part_groups`)."""
    return bool(re.search(rf"\b{_ORG}( ?names?)?\b", header_words(column)))


def _event(column: str) -> bool:
    """Whether ``column`` is named like a timestamp or an event (``updated_at``, ``Last
    Activity Date``, ``Created Date``): its values give it no role (its dates are no
    dates of birth, nor its e-mail addresses, ``Last Modified By``, the record's)."""
    return bool(
        re.search(r"(_at|_on|updated|created|modified|timestamp|source)$", _norm_name(column))
        or re.search(_EVENT, header_words(column))
    )


def role_from_name(column: str) -> str | None:
    """The role a column's name suggests, or None.

    Matched on whole words of the header (:func:`header_words`), in English,
    German, French and Spanish, case and accents aside; see :data:`_NAME_PATTERNS`.
    ``Partner Name`` or ``Beneficiary DOB`` gets its role here; beside the record's own
    name, date of birth, phone, email or id :func:`detect_roles` takes it away.
    """
    words = header_words(column)
    for role, pattern, unless in _NAME_PATTERNS:
        if re.search(pattern, words) and not (unless and re.search(unless, words)):
            return None if role in _PERSON and re.search(_OTHER, words) else role
    return None


_DATE_FIT = re.compile(
    r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2}\.? [^\W\d_]+\.?,? \d{4})(?!\d)"
)
_FITS: dict[str, Callable[[str], bool]] = {
    "email": lambda v: "@" in v,
    "phone": lambda v: "@" not in v and sum(ch.isdigit() for ch in v) >= 6,
    "dob": lambda v: bool(_DATE_FIT.match(v)) or len(re.sub(r"\D", "", v)) == 8,
}
"""Per role, whether a value can be one (loosely: what normalising would not empty)."""
MIN_FIT = 0.1
"""A column named for a role whose sample has fewer fitting values than this share
(and at least :data:`_MIN_FIT_SAMPLE` values) does not take the role."""
_MIN_FIT_SAMPLE = 3


def value_fit(role: str, values: Sequence[str | None]) -> float | None:
    """Share of the filled sample ``values`` that can be a ``role`` value: e-mail
    addresses (an ``@``), phone numbers (6+ digits), dates. None for roles not
    checked, or with fewer than 3 values that are not blank or placeholders."""
    fits = _FITS.get(role)
    if fits is None:
        return None
    filled = [
        v.strip() for v in values if v is not None and v.strip() and v.strip().lower() not in PLACEHOLDERS
    ]
    if len(filled) < _MIN_FIT_SAMPLE:
        return None
    return sum(1 for v in filled if fits(v)) / len(filled)


_NAME_VALUE = re.compile(r"^[^\W\d_]+(?:[ '’.\-]+[^\W\d_]+){0,3}\.?$")
NAME_ROLES = frozenset({"name", "first_name", "last_name"})


def looks_like_names(values: Sequence[str | None]) -> bool:
    """Whether sample ``values`` look like names of people: at least 3 filled,
    80 % of them one to four words of letters, and varied (30 % distinct, so that
    categories such as yes/no or an ethnicity do not count). Places look alike."""
    filled = [
        v.strip() for v in values if v is not None and v.strip() and v.strip().lower() not in PLACEHOLDERS
    ]
    if len(filled) < 3:
        return False
    wordy = sum(1 for v in filled if _NAME_VALUE.match(v) and len(v) > 1)
    return wordy >= 0.8 * len(filled) and len({v.casefold() for v in filled}) >= 0.3 * len(filled)


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
    unfit: dict[str, str] | None = None,
    duplicates: dict[str, str] | None = None,
) -> dict[str, str]:
    """Assign a role to every column.

    Args:
        columns: the input's columns, in order.
        samples: a few hundred values per column (as text) for value-based guesses.
        given: roles set by the user; they win and are never second-guessed.
        distinct_ratio: exact distinct values / rows per column; an id-like
            column at 0.999 or more is a record key and is ignored (a column
            left out is not a key).
        unfit: if given, filled with column -> role for columns named for an
            email, phone or date-of-birth role whose sampled values are not such
            values (:func:`value_fit` under :data:`MIN_FIT`: ``email_verified``
            holding yes/no); they do not take it.
        duplicates: if given, filled with column -> the column kept for columns
            left out as a second column of a one-fact role (below).

    Returns:
        column -> role for every column (``ignore`` for those not compared).
        Name-based guesses beat value-based ones; a column that looks like a
        date of birth but is named like a timestamp or an event (``updated_at``,
        ``Last Activity Date``, ``Created Date``, ``Close Date``: :data:`_EVENT`)
        stays ignored.
        A guessed bare ``Name`` (``Nom``, ``Nombre``) beside a guessed or given
        first name and no surname is the surname, and the other way round. A
        partner's or beneficiary's name, date of birth, phone, email or id
        (``Partner Name``, ``Beneficiary DOB``) is the record's own in a file with
        no other person's name or date of birth (a partner directory, though it
        has a ``Contact Email`` or a ``Company``), another person's (ignored)
        beside one (a customer's ``Partner Name`` beside ``First Name``). Of two or more columns
        of one role in :data:`SINGLE_FACT_ROLES` (``Province`` and ``Province
        Code``), one is compared: a given one, else the one whose sample holds the
        most characters (filled and spelled out: ``Victoria`` over ``VIC``), then
        one not named as a code, then the first; the others guessed are ignored.
    """
    given = dict(given or {})
    ratios = distinct_ratio or {}
    roles: dict[str, str] = {}
    for col in columns:
        if col in given:
            roles[col] = given[col]
            continue
        role = role_from_name(col)
        fit = value_fit(role, samples.get(col, ())) if role else None
        if fit is not None and fit < MIN_FIT:
            logger.debug("column %r is named like %s but its values are not", col, role)
            if unfit is not None:
                unfit[col] = str(role)
            role = None
        if role is None and not _event(col):
            role = role_from_values(samples.get(col, ()))
        if role == "id" and ratios.get(col, 0.0) >= 0.999:
            logger.debug("column %r is unique per row; treated as a record key", col)
            role = "ignore"
        roles[col] = role or "ignore"
    # A partner's or beneficiary's name, phone... is the record's own in a file of partners,
    # another person's beside the record's own (a customer's "Partner Name").
    own = [
        c
        for c in columns
        if (roles[c] == "dob" or (roles[c] in NAME_ROLES and not organisation(c)))
        and not re.search(_RELATED, header_words(c))
    ]
    if own:
        for col in columns:
            if col not in given and roles[col] in _PERSON and re.search(_RELATED, header_words(col)):
                logger.debug("column %r is of a partner or beneficiary beside the record's own", col)
                roles[col] = "ignore"
    # One fact, one column: Province ("Victoria") and Province Code ("VIC") agree together.
    for role in sorted(SINGLE_FACT_ROLES):
        cols = [c for c in columns if roles[c] == role]
        if len(cols) < 2:
            continue
        keep = min(
            cols,
            key=lambda c: (
                c not in given,
                -_sample_chars(samples.get(c, ())),
                bool(re.search(_CODE_WORDS, header_words(c))),
                columns.index(c),
            ),
        )
        for col in cols:
            if col != keep and col not in given:
                logger.debug("column %r holds the %s of %r too; not compared", col, role, keep)
                roles[col] = "ignore"
                if duplicates is not None:
                    duplicates[col] = keep
    # A bare "Name" beside a first name alone is the surname (German "Vorname, Name",
    # French "Nom, Prénom"); beside a surname alone, the first name ("Nombre, Apellidos").
    taken = set(roles.values())
    for col in columns:
        if col not in given and roles[col] == "name" and header_words(col) in _BARE_NAMES:
            if "first_name" in taken and "last_name" not in taken:
                roles[col] = "last_name"
            elif "last_name" in taken and "first_name" not in taken:
                roles[col] = "first_name"
    return roles
