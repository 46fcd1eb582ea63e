"""Which case a mail continues when it names none: the same customer writing again under
the same subject. (Replies to our own mail and case references are found elsewhere, first.)"""

from __future__ import annotations

import re
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connections

from casework.cases.models import OPEN_STATUSES, Case
from casework.customers.identifiers import IdentifierKind
from casework.customers.models import CustomerIdentifier

# Reply and forward markers of common mail programs (English, German, Nordic, French) with
# an optional counter ("Re[2]:", "AW(3):"), and tags in brackets ("[extern]", "[CW-…]").
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|antw|fwd?|wg|sv|vs|tr|rif)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]|\[[^\]]*\])\s*",
    re.IGNORECASE,
)
# An agent's edited subject keeps the cases it may match few; the newest win.
_MAX_CANDIDATES = 50


def normalise_subject(subject: str) -> str:
    """'AW: [extern] RE:  Rechnung  März' → 'rechnung märz' (no database)."""
    text = subject
    while True:
        shorter = _SUBJECT_PREFIX.sub("", text, count=1)
        if shorter == text:
            break
        text = shorter
    return " ".join(text.split()).casefold()


def find_subject_case_id(sender_address: str, subject: str, *, since: datetime) -> int | None:
    """The open case of the customer with this (normalised) e-mail address whose subject is
    the same as the mail's, with activity since `since`; the most recently active wins."""
    wanted = normalise_subject(subject)
    if not wanted:
        return None  # "Re:" alone says nothing about the matter
    db = connections[DEFAULT_DB_ALIAS]
    since_value = db.ops.adapt_datetimefield_value(since)
    with db.cursor() as cursor:
        cursor.execute(
            _OPEN_CASES_OF_ADDRESS,
            [IdentifierKind.EMAIL.value, sender_address, *OPEN_STATUSES, since_value],
        )
        candidates = cursor.fetchall()
    for case_id, case_subject in candidates:
        if normalise_subject(case_subject) == wanted:
            return case_id
    return None


# Asked for every mail that names no case: one indexed join, without the ORM's query
# building (which cost more than the query).
_OPEN_CASES_OF_ADDRESS = (
    f"SELECT c.id, c.subject FROM {Case._meta.db_table} c "
    f"JOIN {CustomerIdentifier._meta.db_table} i ON i.customer_id = c.customer_id "
    "WHERE i.kind = %s AND i.value = %s "
    f"AND c.status IN ({', '.join(['%s'] * len(OPEN_STATUSES))}) AND c.last_activity_at >= %s "
    f"ORDER BY c.last_activity_at DESC, c.id DESC LIMIT {_MAX_CANDIDATES}"
)
