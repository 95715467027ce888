"""The CRM's emoji verdict is decided before any customer record is written, on the
login user's own Users record, and kept: no process, not even the first of a fresh
install, stores an emoji record as `????` and repairs it afterwards (the CRM's history
would keep the mangled version)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.fakes.vtenext_fake import ACCESS_KEY
from wasb.config import Config
from wasb.crm.port import CommentAuthor, NewPerson, NewTicket
from wasb.crm.vtenext import VtenextCRM, Webservice, adapter
from wasb.crm.vtenext.link import STORES_EMOJI, VtenextLink
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
    assert _mangled(vtenext_fake, learnt.id) == []  # decided before this first write
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


def _customer_history(fake):
    """Every text value the CRM's history keeps for customer data (not the Users records)."""
    users = fake.prefixes["Users"] + "x"
    return [(rid, name, value) for rid, name, value in fake.history if not rid.startswith(users)]


def _write_customer_data(crm):
    """What a fresh install writes for a new WhatsApp customer, each text holding an emoji."""
    person = crm.create_person(NewPerson(kind="lead", name="Ann 🌸", mobile="+393351032246"))
    ticket = crm.create_ticket(NewTicket(title="WhatsApp 💬", status="Open", priority="High",
                                         description="Grazie 👍", person_id=person.id))
    comment = crm.add_comment(ticket.id, "A presto 😀", CommentAuthor.customer("Ann 🌸"))
    renamed = crm.update_person(person.id, name="Anna 🌷")
    return renamed, ticket, comment


def test_a_fresh_install_on_a_crm_without_utf8mb4_never_stores_question_marks(database_url, vtenext_server,
                                                                              vtenext_fake):
    upgrade(database_url)
    admin = vtenext_fake.users["admin"].id
    vtenext_fake.records["Users"][int(admin.split("x")[1])]["description"] = "Turno del mattino"
    db, link = _process(database_url, vtenext_server)
    try:
        crm = link.adapter(AdminSettings())
        assert crm.stores_astral is None and link.verdicts.get(STORES_EMOJI) is None  # a fresh install
        person, ticket, comment = _write_customer_data(crm)
        assert not [entry for entry in _customer_history(vtenext_fake) if "????" in entry[2]]
        assert vtenext_fake.row(ticket.id)["description"] == "Grazie :thumbs_up:"
        assert vtenext_fake.row(comment.id)["commentcontent"] == "Ann :cherry_blossom: wrote:\nA presto :grinning_face:"
        assert person.name.endswith(":tulip:")
        # Found out on the login user's own record, which is as it was.
        assert crm.stores_astral is False and link.verdicts.get(STORES_EMOJI) is False
        assert any(rid == admin and "????" in value for rid, _f, value in vtenext_fake.history)
        assert vtenext_fake.row(admin)["description"] == "Turno del mattino"
    finally:
        link.close()
        db.dispose()


def test_a_fresh_install_on_a_crm_with_utf8mb4_writes_emoji_as_they_are(database_url, vtenext_server, vtenext_fake):
    upgrade(database_url)
    vtenext_fake.emoji_loss = False
    admin = vtenext_fake.users["admin"].id
    db, link = _process(database_url, vtenext_server)
    try:
        crm = link.adapter(AdminSettings())
        person, ticket, comment = _write_customer_data(crm)
        assert vtenext_fake.row(ticket.id)["description"] == "Grazie 👍"
        assert vtenext_fake.row(comment.id)["commentcontent"] == "Ann 🌸 wrote:\nA presto 😀"
        assert person.name.endswith("Anna 🌷")
        assert crm.stores_astral is True and link.verdicts.get(STORES_EMOJI) is True
        # Found out on the login user's own record, which is as it was.
        assert any(rid == admin and value != "" for rid, _f, value in vtenext_fake.history)
        assert vtenext_fake.row(admin)["description"] == ""
    finally:
        link.close()
        db.dispose()


def test_when_the_check_is_refused_customer_data_is_written_readable_and_nothing_is_decided(
        database_url, vtenext_server, vtenext_fake):
    upgrade(database_url)
    vtenext_fake.permissions["Users"] = {"updateable": False}  # this role may not edit even its own record
    db, link = _process(database_url, vtenext_server)
    try:
        crm = link.adapter(AdminSettings())
        person, ticket, comment = _write_customer_data(crm)
        assert not [entry for entry in _customer_history(vtenext_fake) if "????" in entry[2]]
        assert vtenext_fake.row(ticket.id)["description"] == "Grazie :thumbs_up:"
        assert vtenext_fake.row(comment.id)["commentcontent"] == "Ann :cherry_blossom: wrote:\nA presto :grinning_face:"
        assert crm.stores_astral is None and link.verdicts.get(STORES_EMOJI) is None  # not guessed
    finally:
        link.close()
        db.dispose()


def test_the_check_is_made_on_the_login_users_own_record_and_tried_again_once_allowed(
        vtenext_server, vtenext_fake, monkeypatch):
    monkeypatch.setattr(adapter, "PROBE_RETRY", 0.0)  # try again at the next write, not an hour later
    vtenext_fake.permissions["Users"] = {"updateable": False}
    ws = Webservice(vtenext_server.url, "mario", "MarioKeyMarioKey", timeout=5)  # not an admin
    try:
        crm = VtenextCRM(ws)
        person = crm.create_person(NewPerson(kind="contact", name="Ann 🌸", mobile="+393351032246"))
        assert crm.stores_astral is None and vtenext_fake.row(person.id)["lastname"] == "Ann :cherry_blossom:"
        vtenext_fake.permissions.clear()  # the admin lets the role edit its own record
        renamed = crm.update_person(person.id, name="Anna 🌷")
        assert crm.stores_astral is False and vtenext_fake.row(renamed.id)["lastname"] == "Anna :tulip:"
        mario, admin = vtenext_fake.users["mario"].id, vtenext_fake.users["admin"].id
        assert {rid for rid, _f, value in vtenext_fake.history if "????" in value} == {mario}
        assert vtenext_fake.row(mario)["description"] == "" and vtenext_fake.row(admin)["description"] == ""
    finally:
        ws.close()


def _users_revisions(fake):
    users = fake.prefixes["Users"] + "x"
    return [p for _m, _op, p in fake.operations("revise") if users in p.get("element", "")]


def test_a_users_field_left_by_another_check_is_never_put_back_as_the_users_text(vtenext_crm, vtenext_fake):
    admin = vtenext_fake.users["admin"].id
    vtenext_fake.records["Users"][int(admin.split("x")[1])]["description"] = "WASB emoji check ????"
    ticket = vtenext_crm.create_ticket(NewTicket(title="t", status="Open", priority="High", description="Ciao 👋",
                                                 person_id=vtenext_fake.insert("Contacts", lastname="Ann")))
    assert vtenext_fake.row(ticket.id)["description"] == "Ciao :waving_hand:"
    assert vtenext_crm.stores_astral is None and _users_revisions(vtenext_fake) == []


def test_threads_writing_at_once_make_one_check(vtenext_crm, vtenext_fake):
    ticket = vtenext_crm.create_ticket(NewTicket(title="t", status="Open", priority="High", description="d",
                                                 person_id=vtenext_fake.insert("Contacts", lastname="Ann")))
    with ThreadPoolExecutor(4) as pool:
        comments = list(pool.map(lambda i: vtenext_crm.add_comment(ticket.id, f"{i} 👍", CommentAuthor.customer("Ann")),
                                 range(8)))
    assert len(_users_revisions(vtenext_fake)) == 2  # the emoji check, then the old value back
    assert vtenext_fake.row(vtenext_fake.users["admin"].id)["description"] == ""
    assert all(vtenext_fake.row(c.id)["commentcontent"].endswith(":thumbs_up:") for c in comments)
