"""Send a template to a CRM person or a phone number (the plugin's "Send Template" action).

Parameters come explicitly (`params`), from CRM fields of the target named in the request
(`mapping`, e.g. `{"1": "person.name", "ticket_no": "ticket.number"}`), or from the sources an
admin set on the template (`template.parameter_sources`); explicit values win, then the
request's mapping. A parameter none of them fills is refused, never guessed. The message
goes through the outbound queue like any other, inside or outside the window.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from wasb.contacts.tables import WaContact
from wasb.conversations.tables import Conversation, Message
from wasb.conversations.tickets import usable_ticket
from wasb.crm.port import Person, Ticket
from wasb.domain.phones import InvalidPhone, to_e164
from wasb.outbound.service import (
    InvalidMessage, NotFound, Outgoing, Upload, check_consent, conversation_for_number, conversation_for_person,
    queue_message,
)
from wasb.runtime import Runtime
from wasb.settings.service import settings_for_transaction
from wasb.crm.mapping import MappingError, needs, resolve_available, resolve_mapping
from wasb.templates.parameters import ParameterError, as_mapping, describe_parameters
from wasb.templates.service import TemplateError, check_sendable, get_template, parameter_sources


@dataclass(frozen=True)
class TemplateSend:
    person_id: str | None = None
    phone: str | None = None
    params: Sequence[Any] | Mapping[str, Any] | None = None
    mapping: Mapping[str, str] | None = None
    header_document_id: str | None = None
    header_upload: Upload | None = None  # a media header's file sent with the request instead
    ticket_id: str | None = None  # the ticket `ticket.*` fields come from (default: the person's open one)


def send_template(rt: Runtime, session: Session, template_id: int, request: TemplateSend, author: str) -> Message:
    """Queue the template; raises TemplateNotFound/NotFound (404) or TemplateError,
    MappingError, InvalidMessage (422) with the reason. Nothing is written on refusal
    (the caller's transaction rolls back)."""
    template = get_template(session, template_id)
    check_sendable(template)
    person, conversation, contact = _target(rt, session, request)
    check_consent(rt, contact, template)  # before any CRM field is read for a template that cannot go
    values = _values(rt, session, template, request, person, conversation)
    outgoing = Outgoing(type="template", template_name=template.name, template_language=template.language,
                        template_values=values, header_document_id=request.header_document_id,
                        upload=request.header_upload)
    return queue_message(rt, session, conversation.id, outgoing, author)


def _target(rt: Runtime, session: Session, request: TemplateSend) -> tuple[Person | None, Conversation, WaContact]:
    if bool(request.person_id) == bool(request.phone):
        raise InvalidMessage("to: give exactly one of person_id or phone")
    crm = rt.crm(session)
    if request.person_id:
        person = crm.get_person(request.person_id)
        if person is None:
            raise NotFound(f"no person {request.person_id}")
        conversation, contact = conversation_for_person(rt, session, person)
        return person, conversation, contact
    try:
        e164 = to_e164(request.phone, rt.config.default_country)
    except InvalidPhone as exc:
        raise InvalidMessage(f"to.phone {request.phone!r} is not a usable number: {exc}") from None
    people = crm.find_people_by_phone(e164)
    if len(people) == 1:
        conversation, contact = conversation_for_person(rt, session, people[0])
        return people[0], conversation, contact
    # No CRM record (or several: nothing is guessed): the address book entry alone.
    conversation, contact = conversation_for_number(rt, session, e164)
    person = crm.get_person(contact.crm_person_id) if contact.crm_person_id else None
    return person, conversation, contact


def _values(rt: Runtime, session: Session, template: Any, request: TemplateSend, person: Person | None,
            conversation: Conversation) -> dict[str, Any]:
    """The template's own sources, the request's mapped CRM fields over them, explicit params over all."""
    mapping = request.mapping or {}
    if not isinstance(mapping, Mapping):
        raise MappingError('mapping must be an object like {"1": "person.name"}')
    sources = parameter_sources(template)
    ticket = (_ticket(rt, session, request, person, conversation)
              if needs(sources, "ticket") or needs(mapping, "ticket") else None)
    # The template's sources fill what this customer has; the request's mapping must fill all it names.
    values: dict[str, Any] = resolve_available(sources, person=person, ticket=ticket)
    values.update(resolve_mapping(mapping, person=person, ticket=ticket))
    try:
        values.update(as_mapping(describe_parameters(template), request.params))
    except ParameterError as exc:
        raise TemplateError(f"{template.name} ({template.language}): {exc}") from None
    return values


def _ticket(rt: Runtime, session: Session, request: TemplateSend, person: Person | None,
            conversation: Conversation) -> Ticket | None:
    crm = rt.crm(session)
    if request.ticket_id:
        ticket = crm.get_ticket(request.ticket_id)
        if ticket is None:
            raise NotFound(f"no ticket {request.ticket_id}")
        return ticket
    if person is None:
        return None
    return usable_ticket(crm, settings_for_transaction(session, rt.config), conversation.ticket_id, person.id)
