"""Template parameters taken from CRM fields of the target: `{"1": "person.name",
"ticket_no": "ticket.number"}`. Pure: the records are looked up by the caller."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from wasb.crm.port import Person, Ticket

RECORDS = {"person": [f.name for f in fields(Person)], "ticket": [f.name for f in fields(Ticket)]}
# Values made from a field rather than read from it.
DERIVED = ("person.first_name",)
# What an admin may pick as the source of a template's parameter (the template's page); a
# parameter with none is asked of the agent. The ticket's title is left out on purpose: the
# tickets WASB opens are titled by machine ("2026-11-30 08:32:55 - +39…"), not for a customer.
SOURCES = ("person.name", "person.first_name", "person.company", "person.email", "ticket.number")


class MappingError(ValueError):
    """A mapped field that does not exist or is empty on the target: the message names it."""


def check_mapping(mapping: Mapping[str, Any]) -> None:
    """Every value names a known field (`person.name`, `ticket.number`…)."""
    for key, path in mapping.items():
        record, _, name = str(path).partition(".")
        if path in DERIVED:
            continue
        if record not in RECORDS or name not in RECORDS[record]:
            known = ", ".join([f"{r}.{f}" for r, names in RECORDS.items() for f in names] + list(DERIVED))
            raise MappingError(f"mapping {key}: {path!r} is not a CRM field; one of {known}")


def needs(mapping: Mapping[str, Any], record: str) -> bool:
    return any(str(path).startswith(record + ".") for path in mapping.values())


def resolve_mapping(mapping: Mapping[str, Any], *, person: Person | None, ticket: Ticket | None) -> dict[str, str]:
    check_mapping(mapping)
    records = {"person": person, "ticket": ticket}
    values: dict[str, str] = {}
    for key, path in mapping.items():
        record_name, _, name = str(path).partition(".")
        record = records[record_name]
        if record is None:
            whose = f"person {person.id} ({person.name})" if person else "the recipient"
            missing = "no CRM record" if record_name == "person" else "no open ticket"
            raise MappingError(f"mapping {key}: {path} cannot be filled: {whose} has {missing}")
        value = _value(record, str(path), name)
        if value is None or (isinstance(value, str) and not value.strip()):
            label = (f"{record.kind} {record.id} ({record.name})" if record_name == "person"
                     else f"ticket {record.number}")
            raise MappingError(f"mapping {key}: the field {path} is empty on {label}")
        values[str(key)] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return values


def first_name(person: Person) -> str:
    """The first word of a person's name; a company (account) is called by its whole name."""
    name = person.name.strip()
    return name if person.kind == "account" else name.split(" ", 1)[0]


def _value(record: Any, path: str, name: str) -> Any:
    if path == "person.first_name":
        return first_name(record)
    return getattr(record, name)


def resolve_available(mapping: Mapping[str, Any], *, person: Person | None, ticket: Ticket | None) -> dict[str, str]:
    """The mapped values that can be filled for this target, leaving out the ones it has no
    value for (a picker shows those empty, for the agent to fill)."""
    values: dict[str, str] = {}
    for key, path in mapping.items():
        try:
            values.update(resolve_mapping({key: path}, person=person, ticket=ticket))
        except MappingError:
            continue
    return values
