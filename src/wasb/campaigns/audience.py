"""A campaign's audience: the people a segment of the CRM gives, or the lines of a CSV file,
each checked once, before anything is sent: a number that is not usable, a number already
in the list, a customer who opted out of marketing are left out and counted, with the reason.

Parameters are filled here too (from the person's CRM fields or the CSV line's columns), so
the preview shows each recipient's message and the sending asks the CRM for nothing more."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from wasb.campaigns.tables import DUPLICATE, EXCLUDED, INVALID, OPTED_OUT, PENDING
from wasb.contacts.tables import WaContact
from wasb.crm.mapping import MappingError, check_mapping, resolve_mapping
from wasb.crm.port import CRM, PERSON_KINDS, Person, PersonKind, Segment
from wasb.domain.phones import InvalidPhone, country_of, e164_to_wa_id, in_numbering_plan, to_e164

# At most this many recipients in one campaign (Meta's highest tier is unlimited, a campaign
# of a million would hold the sender for hours): split a larger audience.
MAX_RECIPIENTS = 100_000
PAGE = 100  # people asked of the CRM at a time (vtenext's page)
CSV_PREFIX = "csv."
# A CSV column whose header names it as the number.
PHONE_HEADERS = ("phone", "mobile", "number", "whatsapp", "telefono", "cellulare", "numero")
# A column whose header names the customer (shown in the preview and the report).
NAME_HEADERS = ("name", "nome", "full name", "nome e cognome", "customer", "cliente")


class AudienceError(ValueError):
    """An audience that cannot be taken as asked (a bad CSV, a field the CRM lacks…)."""


@dataclass(frozen=True)
class Candidate:
    """One line of the audience, as the CRM or the CSV gave it."""

    row: int
    phone: str
    person: Person | None = None
    columns: Mapping[str, str] | None = None  # a CSV line's values by column name
    name: str | None = None  # a CSV line's name column


@dataclass
class Audience:
    rows: list[dict]  # campaign_recipient rows (without campaign_id)
    recipients: int = 0
    opted_out: int = 0
    invalid: int = 0
    duplicates: int = 0


def crm_candidates(crm: CRM, kind: PersonKind | None, owner: str | None, field: str | None,
                   value: str | None) -> Iterator[Candidate]:
    """Everyone of the segment (every kind when none is given), page by page."""
    row = 0
    for each in ([kind] if kind else PERSON_KINDS):
        segment = Segment(kind=each, owner=owner or None, field=field or None, value=value)
        offset = 0
        while True:
            page = crm.people_in_segment(segment, limit=PAGE, offset=offset)
            for person in page:
                row += 1
                yield Candidate(row=row, phone=person.mobile or "", person=person)
            if len(page) < PAGE:
                break
            offset += PAGE
            if row > MAX_RECIPIENTS:
                raise AudienceError(f"the segment has more than {MAX_RECIPIENTS} people: choose a narrower one")


def csv_candidates(text: str) -> tuple[list[Candidate], list[str]]:
    """The CSV's lines and its column names. A first line naming a phone column (phone,
    mobile, number…) is a header; without one the number is the first column and the others
    are called 2, 3…; `,` or `;` separate."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise AudienceError("the CSV file is empty")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    lines = list(csv.reader(io.StringIO(text), dialect))
    first = [cell.strip().lower() for cell in lines[0]] if lines else []
    phone_at = next((i for i, cell in enumerate(first) if cell in PHONE_HEADERS), None)
    name_at = next((i for i, cell in enumerate(first) if cell in NAME_HEADERS), None)
    if phone_at is not None:
        names, start = [cell.strip() or str(i + 1) for i, cell in enumerate(lines[0])], 1
    else:
        name_at = None
        width = max(len(line) for line in lines)
        names, start, phone_at = [str(i + 1) for i in range(width)], 0, 0
    candidates = []
    for number, line in enumerate(lines[start:], start=start + 1):
        if not any(cell.strip() for cell in line):
            continue  # a blank line is no recipient
        if len(candidates) >= MAX_RECIPIENTS:
            raise AudienceError(f"the CSV has more than {MAX_RECIPIENTS} lines: split it")
        cells = [cell.strip() for cell in line]
        columns = {names[i]: cells[i] for i in range(min(len(names), len(cells))) if i != phone_at}
        phone = cells[phone_at] if phone_at < len(cells) else ""
        name = cells[name_at] if name_at is not None and name_at < len(cells) else None
        candidates.append(Candidate(row=number, phone=phone, columns=columns, name=(name or None)))
    return candidates, [n for i, n in enumerate(names) if i != phone_at]


def check_sources(mapping: Mapping[str, str], *, csv_columns: list[str] | None) -> None:
    """Every source names a CRM field (a CRM segment) or a column of the file (a CSV)."""
    crm_fields = {k: v for k, v in mapping.items() if not str(v).startswith(CSV_PREFIX)}
    check_mapping(crm_fields)
    if any(str(path).startswith("ticket.") for path in crm_fields.values()):
        raise MappingError("a campaign fills parameters from the person's record or the CSV: it has no ticket")
    if csv_columns is None:
        if len(crm_fields) != len(mapping):
            raise MappingError("csv.<column> sources need a CSV audience")
        return
    if crm_fields:
        raise MappingError("a CSV audience fills parameters from its own columns (csv.<column>) or fixed values, "
                           f"not from CRM fields: {', '.join(sorted(crm_fields.values()))}")
    for key, path in mapping.items():
        if path[len(CSV_PREFIX):] not in csv_columns:
            raise MappingError(f"mapping {key}: the CSV has no column {path[len(CSV_PREFIX):]!r}; "
                               f"its columns: {', '.join(csv_columns) or 'only the number'}")


def classify(session: Session, candidates: Iterator[Candidate] | list[Candidate], mapping: Mapping[str, str],
             default_country: str) -> Audience:
    """Each candidate becomes a recipient row: to be sent, or left out with the reason."""
    opted_out = set(session.scalars(select(WaContact.wa_id).where(WaContact.marketing_opted_out.is_(True))))
    audience, seen = Audience(rows=[]), set()
    for candidate in candidates:
        row = {"row": candidate.row, "phone": candidate.phone[:100], "state": PENDING, "reason": None,
               "person_id": candidate.person.id if candidate.person else None,
               "person_kind": candidate.person.kind if candidate.person else None,
               "name": ((candidate.person.name if candidate.person else candidate.name) or "")[:200] or None,
               "wa_id": None, "country": None,
               "param_values": None}
        audience.rows.append(row)
        try:
            e164 = to_e164(candidate.phone, default_country)
            if not in_numbering_plan(e164):
                raise InvalidPhone(f"{candidate.phone!r} is in no country's numbering plan")
        except InvalidPhone as exc:
            row.update(state=EXCLUDED, reason=f"{INVALID}: {exc}" if candidate.phone else f"{INVALID}: no mobile number")
            audience.invalid += 1
            continue
        row.update(wa_id=e164_to_wa_id(e164), country=country_of(e164))
        if row["wa_id"] in seen:
            row.update(state=EXCLUDED, reason=f"{DUPLICATE}: the number is already in this campaign")
            audience.duplicates += 1
            continue
        seen.add(row["wa_id"])
        if row["wa_id"] in opted_out:
            row.update(state=EXCLUDED, reason=f"{OPTED_OUT}: the customer opted out of marketing messages")
            audience.opted_out += 1
            continue
        try:
            row["param_values"] = _values(candidate, mapping)
        except MappingError as exc:
            row.update(state=EXCLUDED, reason=f"{INVALID}: {exc}")
            audience.invalid += 1
            continue
        audience.recipients += 1
    return audience


def _values(candidate: Candidate, mapping: Mapping[str, str]) -> dict[str, str]:
    if candidate.person is not None:
        return resolve_mapping(mapping, person=candidate.person, ticket=None)
    values = {}
    for key, path in mapping.items():
        value = (candidate.columns or {}).get(path[len(CSV_PREFIX):], "")
        if not value:
            raise MappingError(f"mapping {key}: the column {path[len(CSV_PREFIX):]} is empty on line {candidate.row}")
        values[str(key)] = value
    return values
