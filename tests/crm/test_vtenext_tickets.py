"""Tickets in HelpDesk and comments in ModComments, both ways."""
import pytest

from wasb.crm.port import CommentAuthor, CRMError, CRMNotFound, NewPerson, NewTicket, TicketQuery


def new_ticket(person_id, description="Buongiorno, vorrei contattarvi"):
    return NewTicket(title="2025-02-27 22:21:33 - +393351032246", status="Open", priority="High",
                     description=description, person_id=person_id)


@pytest.fixture
def customer(vtenext_crm):
    return vtenext_crm.create_person(NewPerson(kind="lead", name="Daniele", mobile="+393351032246"))


def test_a_ticket_is_opened_for_the_customer_and_found_while_open(vtenext_crm, vtenext_fake, customer):
    ticket = vtenext_crm.create_ticket(new_ticket(customer.id))
    row = vtenext_fake.row(ticket.id)
    assert (row["ticket_title"], row["ticketstatus"], row["ticketpriorities"]) == (
        "2025-02-27 22:21:33 - +393351032246", "Open", "High")
    assert row["description"] == "Buongiorno, vorrei contattarvi"
    assert ticket.number.startswith("TT") and ticket.person_id == customer.id
    assert vtenext_crm.find_open_ticket(customer.id, "Closed").id == ticket.id
    vtenext_crm.set_ticket_status(ticket.id, "Closed")
    assert vtenext_fake.row(ticket.id)["ticketstatus"] == "Closed"
    assert any(op == "revise" for _, op, _ in vtenext_fake.requests)
    assert vtenext_crm.find_open_ticket(customer.id, "Closed") is None
    assert vtenext_fake.ignored_fields == []


def test_a_contact_ticket_points_where_the_crm_wants_it(vtenext_crm, vtenext_fake):
    contact = vtenext_fake.insert("Contacts", lastname="Rossi", mobile="3331234567")
    ticket = vtenext_crm.create_ticket(new_ticket(contact))
    row = vtenext_fake.row(ticket.id)
    if vtenext_fake.flavour == "vtiger":
        assert (row["contact_id"], row["parent_id"]) == (contact, "")
    else:
        assert row["parent_id"] == contact
    assert vtenext_crm.get_ticket(ticket.id).person_id == contact
    assert [t.id for t in vtenext_crm.list_tickets(contact)] == [ticket.id]


def test_on_vtiger_an_existing_lead_gets_its_tickets_through_a_contact(vtenext_crm, vtenext_fake):
    if vtenext_fake.flavour != "vtiger":
        pytest.skip("vtenext tickets point at leads directly")
    lead = vtenext_fake.insert("Leads", firstname="Anna", lastname="Verdi", mobile="+39 333 123 4567")
    ticket = vtenext_crm.create_ticket(new_ticket(lead))
    contact_id = vtenext_fake.row(ticket.id)["contact_id"]
    assert contact_id.startswith("12x")
    contact = vtenext_fake.row(contact_id)
    assert (contact["firstname"], contact["lastname"], contact["mobile"]) == ("Anna", "Verdi", "+39 333 123 4567")
    assert vtenext_crm.find_open_ticket(lead, "Closed").id == ticket.id
    second = vtenext_crm.create_ticket(new_ticket(lead))  # the same contact, not a new one each time
    assert vtenext_fake.row(second.id)["contact_id"] == contact_id
    assert len(vtenext_fake.rows("Contacts")) == 1


def test_a_ticket_for_a_missing_person_is_refused(vtenext_crm):
    with pytest.raises(CRMNotFound):
        vtenext_crm.create_ticket(new_ticket("not-an-id"))
    assert vtenext_crm.get_ticket("9999x1") is None


def test_the_customer_message_is_written_as_name_wrote_and_read_back(vtenext_crm, vtenext_fake, customer):
    ticket = vtenext_crm.create_ticket(new_ticket(customer.id))
    written = vtenext_crm.add_comment(ticket.id, "Benissimo grazie", CommentAuthor.customer("Daniele"))
    row = vtenext_fake.row(written.id)
    assert row["commentcontent"] == "Daniele wrote:\nBenissimo grazie"
    assert (row["related_to"], row["creator"], row["assigned_user_id"]) == (ticket.id, "19x1", "19x1")
    if vtenext_fake.flavour == "vtenext":
        assert row["visibility_comm"] == "All"  # empty would make it private to the reference user
    [read] = vtenext_crm.list_comments(ticket.id)
    assert (read.body, read.customer_name, read.author_user) == ("Benissimo grazie", "Daniele", None)


def test_an_agent_comment_from_the_crm_is_listed_as_the_agent(vtenext_crm, vtenext_fake, customer):
    ticket = vtenext_crm.create_ticket(new_ticket(customer.id))
    vtenext_crm.add_comment(ticket.id, "Benissimo grazie", CommentAuthor.customer("Daniele"))
    vtenext_fake.add_agent_comment(ticket.id, "grazie oggi la chiamiamo", user="mario")
    comments = vtenext_crm.list_comments(ticket.id)
    assert [(c.author_user, c.customer_name, c.body) for c in comments] == [
        (None, "Daniele", "Benissimo grazie"),
        ("19x5", None, "grazie oggi la chiamiamo"),
    ]


def test_an_agent_comment_sent_from_wasb_keeps_the_agent_as_owner(vtenext_crm, vtenext_fake, customer):
    ticket = vtenext_crm.create_ticket(new_ticket(customer.id))
    comment = vtenext_crm.add_comment(ticket.id, "Le scrivo io", CommentAuthor.agent("19x5"))
    assert comment.author_user == "19x5"
    assert vtenext_fake.row(comment.id)["assigned_user_id"] == "19x5"
    assert vtenext_crm.list_comments(ticket.id)[0].author_user == "19x5"
    # written by the reference user: the poll for agent comments does not echo it back
    assert vtenext_crm.agent_comments_since(None, exclude_user="19x1").items == []


def test_a_comment_on_a_missing_ticket_is_not_found(vtenext_crm, vtenext_fake):
    prefix = vtenext_crm.schema.module("HelpDesk").id_prefix
    with pytest.raises(CRMNotFound):
        vtenext_crm.add_comment(f"{prefix}x99999", "hello", CommentAuthor.customer("X"))
    with pytest.raises(CRMNotFound):
        vtenext_crm.set_ticket_status(f"{prefix}x99999", "Closed")


def test_agent_comments_are_polled_each_once_across_the_boundary_second(vtenext_crm, vtenext_fake, customer):
    ticket = vtenext_crm.create_ticket(new_ticket(customer.id))
    vtenext_fake.set_time("2025-02-27 22:21:44")
    vtenext_crm.add_comment(ticket.id, "from the customer", CommentAuthor.customer("Daniele"))
    first = vtenext_fake.add_agent_comment(ticket.id, "one")
    page = vtenext_crm.agent_comments_since(None, exclude_user="19x1")
    assert [c.id for c in page.items] == [first]
    # more comments in the SAME second as the cursor, then in the next one
    second = vtenext_fake.add_agent_comment(ticket.id, "two")
    vtenext_fake.tick()
    third = vtenext_fake.add_agent_comment(ticket.id, "three")
    page = vtenext_crm.agent_comments_since(page.cursor, exclude_user="19x1")
    assert [c.body for c in page.items] == ["two", "three"]
    assert [c.id for c in page.items] == [second, third]
    assert vtenext_crm.agent_comments_since(page.cursor, exclude_user="19x1").items == []
    assert page.cursor == f"2025-02-27 22:21:45|{third}"


def test_agent_comment_poll_skips_private_comments_and_pages_by_limit(vtenext_crm, vtenext_fake, customer):
    ticket = vtenext_crm.create_ticket(new_ticket(customer.id))
    vtenext_fake.set_time("2025-02-27 22:00:00")
    if vtenext_fake.flavour == "vtenext":
        vtenext_fake.add_agent_comment(ticket.id, "internal", visibility="")  # private to mario
    ids = [vtenext_fake.add_agent_comment(ticket.id, f"c{i}") for i in range(5)]
    got, cursor = [], None
    while True:
        page = vtenext_crm.agent_comments_since(cursor, exclude_user="19x1", limit=2)
        if not page.items:
            break
        got += [c.id for c in page.items]
        cursor = page.cursor
    assert got == ids


def test_a_bad_cursor_is_refused_rather_than_matching_everything(vtenext_crm):
    with pytest.raises(CRMError):
        vtenext_crm.agent_comments_since("garbage|", exclude_user="19x1")
    with pytest.raises(CRMError):
        vtenext_crm.people_modified_since("2025-02-27 22:00:00|1' OR '1'='1")


def test_emoji_loss_is_detected_once_and_a_readable_form_is_written(vtenext_crm, vtenext_fake, customer):
    ticket = vtenext_crm.create_ticket(new_ticket(customer.id))
    assert vtenext_crm.stores_astral is None
    first = vtenext_crm.add_comment(ticket.id, "Perfetto 👍", CommentAuthor.customer("Daniele"))
    assert vtenext_crm.stores_astral is False
    assert first.body == "Perfetto 👍"  # the caller gets its original back
    assert vtenext_fake.row(first.id)["commentcontent"] == "Daniele wrote:\nPerfetto :thumbs_up:"
    retrieves = len(vtenext_fake.operations("retrieve"))
    second = vtenext_crm.add_comment(ticket.id, "Grazie 🙏", CommentAuthor.customer("Daniele"))
    assert vtenext_fake.row(second.id)["commentcontent"] == "Daniele wrote:\nGrazie :folded_hands:"
    assert len(vtenext_fake.operations("retrieve")) == retrieves  # the verdict is cached
    assert "????" not in vtenext_fake.row(second.id)["commentcontent"]


def test_a_crm_that_stores_emoji_gets_them_unchanged(vtenext_crm, vtenext_fake, customer):
    vtenext_fake.emoji_loss = False
    ticket = vtenext_crm.create_ticket(new_ticket(customer.id, description="Ciao 👋"))
    assert vtenext_crm.stores_astral is True
    assert vtenext_fake.row(ticket.id)["description"] == "Ciao 👋"


def test_documents_are_not_downloadable_through_the_webservice(vtenext_crm, vtenext_fake):
    doc = vtenext_fake.insert("Documents", notes_title="Preventivo", filename="preventivo.pdf", filetype="application/pdf",
                          filelocationtype="I")
    with pytest.raises(CRMError, match="does not return file contents"):
        vtenext_crm.get_document(doc)
    prefix = doc.split("x")[0]
    assert vtenext_crm.get_document(f"{prefix}x99999") is None


def test_the_tickets_list_filters_and_sorts_in_vtql(vtenext_crm, vtenext_fake, customer):
    def ticket(title, status):
        return vtenext_crm.create_ticket(NewTicket(title=title, status=status, priority="Low",
                                                   description="...", person_id=customer.id))

    broken = ticket("Broken screen", "Open")
    late = ticket("Late delivery", "Closed")
    refund = ticket("Refund for the broken case", "Open")
    for minute, made in enumerate((broken, late, refund)):  # a minute apart, as people write
        vtenext_fake.set_fields(made.id, createdtime=f"2026-01-01 10:0{minute}:00")
    vtenext_fake.set_fields(late.id, modifiedtime="2020-01-01 10:00:00")

    def ids(**wanted):
        return [t.id for t in vtenext_crm.list_tickets(query=TicketQuery(**wanted))]

    assert ids(text="broken") == [refund.id, broken.id]  # newest first
    assert ids(text="broken", sort="number", descending=False) == [broken.id, refund.id]
    assert ids(status="Closed") == [late.id]
    assert ids(text=late.number) == [late.id]
    assert ids(text=late.number.removeprefix("TT")) == [late.id]
    assert ids(untouched_days=30) == [late.id]
    assert ids(sort="status", descending=False)[0] == late.id  # Closed < Open
    assert ids(assigned_user="not-an-id") == []
    owner = vtenext_fake.row(broken.id)["assigned_user_id"]
    assert set(ids(assigned_user=owner)) == {broken.id, late.id, refund.id}
    assert ids(text="broken", status="Closed") == []
    assert ids(sort="modified")[-1] == late.id


def test_the_crms_active_users_are_listed_by_name_and_filter_the_tickets(vtenext_crm, vtenext_fake, customer):
    """Owners are Users ids here: the tickets list offers the CRM's users by name, the filter
    sends the id, and a user an admin deactivated is not offered."""
    gone = vtenext_fake.add_user(7, "lucia", "LuciaKeyLuciaKey", "Lucia", "Bianchi")
    vtenext_fake.set_fields(gone, status="Inactive")
    users = vtenext_crm.list_users()
    assert [(u.id, u.name) for u in users] == [(vtenext_fake.users["admin"].id, "Admin Administrator"),
                                               (vtenext_fake.users["mario"].id, "Mario Rossi")]
    ticket = vtenext_crm.create_ticket(new_ticket(customer.id))
    vtenext_fake.set_fields(ticket.id, assigned_user_id=vtenext_fake.users["mario"].id)
    other = vtenext_crm.create_ticket(new_ticket(customer.id))
    mario = users[1].id
    assert [t.id for t in vtenext_crm.list_tickets(query=TicketQuery(assigned_user=mario))] == [ticket.id]
    assert other.id not in {t.id for t in vtenext_crm.list_tickets(query=TicketQuery(assigned_user=mario))}


def test_a_ticket_is_given_to_an_active_crm_user_by_id(vtenext_crm, vtenext_fake, customer):
    """The ticket page's assignee picker: revise `assigned_user_id` with a Users id the CRM
    lists; an inactive or unknown user is refused before anything is written."""
    gone = vtenext_fake.add_user(7, "lucia", "LuciaKeyLuciaKey", "Lucia", "Bianchi")
    vtenext_fake.set_fields(gone, status="Inactive")
    ticket = vtenext_crm.create_ticket(new_ticket(customer.id))
    mario = vtenext_fake.users["mario"].id
    assert ticket.assigned_user != mario
    assigned = vtenext_crm.set_ticket_assignee(ticket.id, mario)
    assert (assigned.id, assigned.name) == (mario, vtenext_fake.users["mario"].first_name + " "
                                            + vtenext_fake.users["mario"].last_name)
    assert vtenext_crm.get_ticket(ticket.id).assigned_user == mario
    assert vtenext_fake.rows("HelpDesk")[-1]["assigned_user_id"] == mario
    for refused in (gone, "19x999"):
        with pytest.raises(ValueError):
            vtenext_crm.set_ticket_assignee(ticket.id, refused)
    assert vtenext_crm.get_ticket(ticket.id).assigned_user == mario
    with pytest.raises(CRMNotFound):
        vtenext_crm.set_ticket_assignee("11x1", mario)  # not a ticket id


def test_the_users_are_read_once_a_minute_for_pages_and_afresh_for_an_assignment(vtenext_crm, vtenext_fake,
                                                                                  customer):
    """A ticket page's live refresh names the owner every few seconds: the users come from a
    copy read at most a minute ago. Giving a ticket to someone reads them again, so a user
    deactivated since is refused."""
    def users_queries() -> int:
        return sum("from users" in q.lower() for q in vtenext_fake.queries)

    before = users_queries()
    first = vtenext_crm.list_users()
    assert users_queries() == before + 1
    assert vtenext_crm.list_users() == first and users_queries() == before + 1  # the copy
    mario = vtenext_fake.users["mario"].id
    vtenext_fake.set_fields(mario, status="Inactive")
    ticket = vtenext_crm.create_ticket(new_ticket(customer.id))
    with pytest.raises(ValueError, match="no active CRM user"):
        vtenext_crm.set_ticket_assignee(ticket.id, mario)
    assert users_queries() == before + 2
    assert mario not in {u.id for u in vtenext_crm.list_users()}  # the fresh read renewed the copy
