"""The CRM's emoji verdict is decided before a process writes, and kept: a new
process never stores an emoji record as `????` first and repairs it afterwards (the
CRM's history would keep the mangled version)."""
from __future__ import annotations

from tests.fakes.vtenext_fake import ACCESS_KEY
from wasb.config import Config
from wasb.crm.port import CommentAuthor, NewPerson, NewTicket
from wasb.crm.vtenext.link import VtenextLink
from wasb.settings.service import AdminSettings
from wasb.store.engine import open_database
from wasb.store.migrate import upgrade


def _process(database_url, vtenext_server):
    """What a new `wasb serve` builds: its own link to the CRM, on the shared database."""
    config = Config(_env_file=None, database_url=database_url, crm="vtenext", crm_url=vtenext_server.url,
                    crm_user="admin", crm_access_key=ACCESS_KEY)
    db = open_database(database_url)
    return db, VtenextLink(config, db)


def _mangled(fake, record_id):
    return [value for rid, _field, value in fake.history if rid == record_id and "????" in value]


def test_a_new_process_writes_its_first_emoji_in_the_readable_form_at_once(database_url, vtenext_server,
                                                                          vtenext_fake):
    upgrade(database_url)
    db, first = _process(database_url, vtenext_server)
    crm = first.adapter(AdminSettings())
    person = crm.create_person(NewPerson(kind="contact", name="Daniele", mobile="+393351032246"))
    ticket = crm.create_ticket(NewTicket(title="t", status="Open", priority="High", description="d",
                                         person_id=person.id))
    learnt = crm.add_comment(ticket.id, "Perfetto 👍", CommentAuthor.customer("Daniele"))
    assert crm.stores_astral is False and vtenext_fake.row(learnt.id)["commentcontent"].endswith(":thumbs_up:")
    first.close()
    db.dispose()

    db, second = _process(database_url, vtenext_server)  # a restart, or another worker process
    try:
        crm = second.adapter(AdminSettings())
        assert crm.stores_astral is False  # known before it writes anything
        comment = crm.add_comment(ticket.id, "Grazie 🙏", CommentAuthor.customer("Daniele"))
        assert vtenext_fake.row(comment.id)["commentcontent"] == "Daniele wrote:\nGrazie :folded_hands:"
        assert _mangled(vtenext_fake, comment.id) == []  # never '????', not even for a moment
        renamed = crm.update_person(person.id, name="Daniele 😀")
        assert _mangled(vtenext_fake, renamed.id) == []
    finally:
        second.close()
        db.dispose()


def test_a_crm_that_keeps_emoji_is_remembered_too(database_url, vtenext_server, vtenext_fake):
    upgrade(database_url)
    vtenext_fake.emoji_loss = False
    db, first = _process(database_url, vtenext_server)
    crm = first.adapter(AdminSettings())
    person = crm.create_person(NewPerson(kind="contact", name="Daniele 👋", mobile="+393351032246"))
    assert crm.stores_astral is True and vtenext_fake.row(person.id)["lastname"] == "Daniele 👋"
    first.close()
    db.dispose()
    db, second = _process(database_url, vtenext_server)
    try:
        crm = second.adapter(AdminSettings())
        assert crm.stores_astral is True
        retrieves = len(vtenext_fake.operations("retrieve"))
        other = crm.create_person(NewPerson(kind="contact", name="Anna 🌸", mobile="+393331234567"))
        assert vtenext_fake.row(other.id)["lastname"] == "Anna 🌸"
        assert len(vtenext_fake.operations("retrieve")) == retrieves  # no read-back to find out again
    finally:
        second.close()
        db.dispose()
