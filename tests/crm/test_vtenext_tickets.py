"""Tickets in HelpDesk and comments in ModComments, both ways."""
import pytest

from wasb.crm.port import CommentAuthor, CRMError, CRMNotFound, NewPerson, NewTicket


def new_ticket(person_id, description="Buongiorno, vorrei contattarvi"):
    return NewTicket(title="2025-02-27 22:21:33 - +393351032246", status="Open", priority="High",
                     description=description, person_id=person_id)


@pytest.fixture
def customer(crm):
    return crm.create_person(NewPerson(kind="lead", name="Daniele", mobile="+393351032246"))


def test_a_ticket_is_opened_for_the_customer_and_found_while_open(crm, fake_crm, customer):
    ticket = crm.create_ticket(new_ticket(customer.id))
    row = fake_crm.row(ticket.id)
    assert (row["ticket_title"], row["ticketstatus"], row["ticketpriorities"]) == (
        "2025-02-27 22:21:33 - +393351032246", "Open", "High")
    assert row["description"] == "Buongiorno, vorrei contattarvi"
    assert ticket.number.startswith("TT") and ticket.person_id == customer.id
    assert crm.find_open_ticket(customer.id, "Closed").id == ticket.id
    crm.set_ticket_status(ticket.id, "Closed")
    assert fake_crm.row(ticket.id)["ticketstatus"] == "Closed"
    assert any(op == "revise" for _, op, _ in fake_crm.requests)
    assert crm.find_open_ticket(customer.id, "Closed") is None
    assert fake_crm.ignored_fields == []


def test_a_contact_ticket_points_where_the_crm_wants_it(crm, fake_crm):
    contact = fake_crm.insert("Contacts", lastname="Rossi", mobile="3331234567")
    ticket = crm.create_ticket(new_ticket(contact))
    row = fake_crm.row(ticket.id)
    if fake_crm.flavour == "vtiger":
        assert (row["contact_id"], row["parent_id"]) == (contact, "")
    else:
        assert row["parent_id"] == contact
    assert crm.get_ticket(ticket.id).person_id == contact
    assert [t.id for t in crm.list_tickets(contact)] == [ticket.id]


def test_on_vtiger_an_existing_lead_gets_its_tickets_through_a_contact(crm, fake_crm):
    if fake_crm.flavour != "vtiger":
        pytest.skip("vtenext tickets point at leads directly")
    lead = fake_crm.insert("Leads", firstname="Anna", lastname="Verdi", mobile="+39 333 123 4567")
    ticket = crm.create_ticket(new_ticket(lead))
    contact_id = fake_crm.row(ticket.id)["contact_id"]
    assert contact_id.startswith("12x")
    contact = fake_crm.row(contact_id)
    assert (contact["firstname"], contact["lastname"], contact["mobile"]) == ("Anna", "Verdi", "+39 333 123 4567")
    assert crm.find_open_ticket(lead, "Closed").id == ticket.id
    second = crm.create_ticket(new_ticket(lead))  # the same contact, not a new one each time
    assert fake_crm.row(second.id)["contact_id"] == contact_id
    assert len(fake_crm.rows("Contacts")) == 1


def test_a_ticket_for_a_missing_person_is_refused(crm):
    with pytest.raises(CRMNotFound):
        crm.create_ticket(new_ticket("not-an-id"))
    assert crm.get_ticket("9999x1") is None


def test_the_customer_message_is_written_as_name_wrote_and_read_back(crm, fake_crm, customer):
    ticket = crm.create_ticket(new_ticket(customer.id))
    written = crm.add_comment(ticket.id, "Benissimo grazie", CommentAuthor.customer("Daniele"))
    row = fake_crm.row(written.id)
    assert row["commentcontent"] == "Daniele wrote:\nBenissimo grazie"
    assert (row["related_to"], row["creator"], row["assigned_user_id"]) == (ticket.id, "19x1", "19x1")
    if fake_crm.flavour == "vtenext":
        assert row["visibility_comm"] == "All"  # empty would make it private to the reference user
    [read] = crm.list_comments(ticket.id)
    assert (read.body, read.customer_name, read.author_user) == ("Benissimo grazie", "Daniele", None)


def test_an_agent_comment_from_the_crm_is_listed_as_the_agent(crm, fake_crm, customer):
    ticket = crm.create_ticket(new_ticket(customer.id))
    crm.add_comment(ticket.id, "Benissimo grazie", CommentAuthor.customer("Daniele"))
    fake_crm.add_agent_comment(ticket.id, "grazie oggi la chiamiamo", user="mario")
    comments = crm.list_comments(ticket.id)
    assert [(c.author_user, c.customer_name, c.body) for c in comments] == [
        (None, "Daniele", "Benissimo grazie"),
        ("19x5", None, "grazie oggi la chiamiamo"),
    ]


def test_an_agent_comment_sent_from_wasb_keeps_the_agent_as_owner(crm, fake_crm, customer):
    ticket = crm.create_ticket(new_ticket(customer.id))
    comment = crm.add_comment(ticket.id, "Le scrivo io", CommentAuthor.agent("19x5"))
    assert comment.author_user == "19x5"
    assert fake_crm.row(comment.id)["assigned_user_id"] == "19x5"
    assert crm.list_comments(ticket.id)[0].author_user == "19x5"
    # written by the reference user: the poll for agent comments does not echo it back
    assert crm.agent_comments_since(None, exclude_user="19x1").items == []


def test_a_comment_on_a_missing_ticket_is_not_found(crm, fake_crm):
    prefix = crm.schema.module("HelpDesk").id_prefix
    with pytest.raises(CRMNotFound):
        crm.add_comment(f"{prefix}x99999", "hello", CommentAuthor.customer("X"))
    with pytest.raises(CRMNotFound):
        crm.set_ticket_status(f"{prefix}x99999", "Closed")


def test_agent_comments_are_polled_each_once_across_the_boundary_second(crm, fake_crm, customer):
    ticket = crm.create_ticket(new_ticket(customer.id))
    fake_crm.set_time("2025-02-27 22:21:44")
    crm.add_comment(ticket.id, "from the customer", CommentAuthor.customer("Daniele"))
    first = fake_crm.add_agent_comment(ticket.id, "one")
    page = crm.agent_comments_since(None, exclude_user="19x1")
    assert [c.id for c in page.items] == [first]
    # more comments in the SAME second as the cursor, then in the next one
    second = fake_crm.add_agent_comment(ticket.id, "two")
    fake_crm.tick()
    third = fake_crm.add_agent_comment(ticket.id, "three")
    page = crm.agent_comments_since(page.cursor, exclude_user="19x1")
    assert [c.body for c in page.items] == ["two", "three"]
    assert [c.id for c in page.items] == [second, third]
    assert crm.agent_comments_since(page.cursor, exclude_user="19x1").items == []
    assert page.cursor == f"2025-02-27 22:21:45|{third}"


def test_agent_comment_poll_skips_private_comments_and_pages_by_limit(crm, fake_crm, customer):
    ticket = crm.create_ticket(new_ticket(customer.id))
    fake_crm.set_time("2025-02-27 22:00:00")
    if fake_crm.flavour == "vtenext":
        fake_crm.add_agent_comment(ticket.id, "internal", visibility="")  # private to mario
    ids = [fake_crm.add_agent_comment(ticket.id, f"c{i}") for i in range(5)]
    got, cursor = [], None
    while True:
        page = crm.agent_comments_since(cursor, exclude_user="19x1", limit=2)
        if not page.items:
            break
        got += [c.id for c in page.items]
        cursor = page.cursor
    assert got == ids


def test_a_bad_cursor_is_refused_rather_than_matching_everything(crm):
    with pytest.raises(CRMError):
        crm.agent_comments_since("garbage|", exclude_user="19x1")
    with pytest.raises(CRMError):
        crm.people_modified_since("2025-02-27 22:00:00|1' OR '1'='1")


def test_emoji_loss_is_detected_once_and_a_readable_form_is_written(crm, fake_crm, customer):
    ticket = crm.create_ticket(new_ticket(customer.id))
    assert crm.stores_astral is None
    first = crm.add_comment(ticket.id, "Perfetto 👍", CommentAuthor.customer("Daniele"))
    assert crm.stores_astral is False
    assert first.body == "Perfetto 👍"  # the caller gets its original back
    assert fake_crm.row(first.id)["commentcontent"] == "Daniele wrote:\nPerfetto :thumbs_up:"
    retrieves = len(fake_crm.operations("retrieve"))
    second = crm.add_comment(ticket.id, "Grazie 🙏", CommentAuthor.customer("Daniele"))
    assert fake_crm.row(second.id)["commentcontent"] == "Daniele wrote:\nGrazie :folded_hands:"
    assert len(fake_crm.operations("retrieve")) == retrieves  # the verdict is cached
    assert "????" not in fake_crm.row(second.id)["commentcontent"]


def test_a_crm_that_stores_emoji_gets_them_unchanged(crm, fake_crm, customer):
    fake_crm.emoji_loss = False
    ticket = crm.create_ticket(new_ticket(customer.id, description="Ciao 👋"))
    assert crm.stores_astral is True
    assert fake_crm.row(ticket.id)["description"] == "Ciao 👋"


def test_documents_are_not_downloadable_through_the_webservice(crm, fake_crm):
    doc = fake_crm.insert("Documents", notes_title="Preventivo", filename="preventivo.pdf", filetype="application/pdf",
                          filelocationtype="I")
    with pytest.raises(CRMError, match="does not return file contents"):
        crm.get_document(doc)
    prefix = doc.split("x")[0]
    assert crm.get_document(f"{prefix}x99999") is None
