"""An agent's message leaves through the Graph API and its ticks come back."""
from tests.outbound.flows import customer_writes, message, send, sent_to, wait_status


def test_a_reply_inside_the_window_is_sent_then_delivered_then_read(wasb, sim):
    conversation = customer_writes(sim, wasb)
    answer = send(wasb, conversation["id"], type="text", body="Certo, la contattiamo alle 12.00",
                  token=wasb.agent_token)
    assert answer.status_code == 201, answer.text
    row = answer.json()
    assert row["status"] == "queued" and row["direction"] == "out" and row["author"] == "token:agent-tool"
    read = wait_status(wasb, conversation["id"], row["id"], "read")
    (sent,) = sent_to(sim)
    assert sent["type"] == "text" and sent["text"] == "Certo, la contattiamo alle 12.00"
    assert read["wamid"] == sent["wamid"]
    assert sent["request"]["biz_opaque_callback_data"] == f"wasb:{row['id']}"
    assert read["pricing"]["category"] == "service"
    assert wasb.get(f"/api/v1/conversations/{conversation['id']}")["last_message_status"] == "read"


def test_an_agent_answer_shows_on_the_ticket_and_sets_it_waiting_for_the_customer(wasb, sim):
    conversation = customer_writes(sim, wasb)
    customer_writes(sim, wasb, text="Mi richiamate?")
    ticket = wasb.get(f"/api/v1/tickets/{conversation['ticket_id']}")
    assert ticket["status"] == "Answered by customer"
    row = send(wasb, conversation["id"], type="text", body="La chiamo subito").json()
    ticket = wasb.get(f"/api/v1/tickets/{conversation['ticket_id']}")
    assert ticket["status"] == "Wait For Response"
    comment = ticket["comments"][-1]
    assert comment["author"] == "agent" and comment["body"] == "La chiamo subito"
    assert comment["author_user"] == "token:tests"
    assert message(wasb, conversation["id"], row["id"])["crm_comment_id"] == comment["id"]
    customer_writes(sim, wasb, text="Grazie")
    assert wasb.get(f"/api/v1/tickets/{conversation['ticket_id']}")["status"] == "Answered by customer"


def test_a_person_never_seen_on_whatsapp_gets_a_conversation_and_only_a_template_starts_it(wasb, sim):
    person = wasb.api("POST", "/api/v1/people", json={"kind": "contact", "name": "Anna Bianchi",
                                                       "mobile": "+39 333 123 4567"}).json()
    refused = wasb.api("POST", f"/api/v1/people/{person['id']}/messages", json={"type": "text", "body": "Salve"})
    assert refused.status_code == 409 and "has not written on WhatsApp yet" in refused.json()["detail"]
    sim.post("/_sim/templates", json={"name": "benvenuto", "language": "it", "category": "UTILITY",
                                      "status": "APPROVED", "body_text": "Salve {{1}}!"}).raise_for_status()
    answer = wasb.api("POST", f"/api/v1/people/{person['id']}/messages", json={
        "type": "template", "template": {"name": "benvenuto", "language": "it", "parameters": ["Anna"]}})
    assert answer.status_code == 201, answer.text
    (conversation,) = wasb.get("/api/v1/conversations")
    assert conversation["person_id"] == person["id"] and conversation["contact"]["wa_id"] == "393331234567"
    wait_status(wasb, conversation["id"], answer.json()["id"], "read")
    (sent,) = sent_to(sim, "393331234567")
    assert sent["template"]["rendered"] == "Salve Anna!"
    # the same person again: the same conversation
    again = wasb.api("POST", f"/api/v1/people/{person['id']}/messages", json={
        "type": "template", "template": {"name": "benvenuto", "language": "it", "parameters": ["Anna"]}})
    assert again.status_code == 201 and len(wasb.get("/api/v1/conversations")) == 1


def test_an_uploaded_photo_goes_to_meta_first_and_is_sent_by_its_media_id(wasb, sim):
    conversation = customer_writes(sim, wasb)
    photo = b"\x89PNG\r\n\x1a\n" + b"pixels" * 100
    answer = wasb.api("POST", f"/api/v1/conversations/{conversation['id']}/messages",
                      data={"type": "image", "body": "Il modello blu"},
                      files={"file": ("blu.png", photo, "image/png")})
    assert answer.status_code == 201, answer.text
    wait_status(wasb, conversation["id"], answer.json()["id"], "read")
    (sent,) = sent_to(sim)
    assert sent["type"] == "image" and sent["caption"] == "Il modello blu" and sent["media_id"]
    assert sent["link"] is None
    assert sim.get(f"/_sim/media/{sent['media_id']}").content == photo


def test_the_same_file_sent_again_reuses_its_upload_and_another_file_is_uploaded(wasb, sim):
    """Meta keeps an upload 30 days: a file already uploaded goes again by the same media id
    (a campaign's header reaches thousands with one upload); a different file gets its own."""
    photo, other = b"\x89PNG\r\n\x1a\n" + b"listino" * 100, b"\x89PNG\r\n\x1a\n" + b"altro" * 100
    sent = []
    for wa_id, content in (("393331110001", photo), ("393331110002", photo), ("393331110003", other)):
        conversation = customer_writes(sim, wasb, wa_id=wa_id)
        answer = wasb.api("POST", f"/api/v1/conversations/{conversation['id']}/messages", data={"type": "image"},
                          files={"file": ("listino.png", content, "image/png")})
        assert answer.status_code == 201, answer.text
        wait_status(wasb, conversation["id"], answer.json()["id"], "delivered", "read")
        (at_meta,) = sent_to(sim, wa_id)
        sent.append(at_meta["media_id"])
    assert sent[0] and sent[0] == sent[1] and sent[2] not in (None, sent[0])
    assert sim.get(f"/_sim/media/{sent[0]}").content == photo and sim.get(f"/_sim/media/{sent[2]}").content == other


def test_a_document_an_agent_sends_is_stored_and_opened_from_the_file_that_was_sent(wasb, sim):
    conversation = customer_writes(sim, wasb)
    pdf = b"%PDF-1.4\n" + b"preventivo " * 200
    answer = wasb.api("POST", f"/api/v1/conversations/{conversation['id']}/messages",
                      data={"type": "document"}, files={"file": ("preventivo.pdf", pdf, "application/pdf")})
    assert answer.status_code == 201, answer.text
    queued = answer.json()
    assert queued["media"]["state"] == "stored" and queued["media"]["url"] == f"/api/v1/messages/{queued['id']}/media"
    assert queued["media"]["filename"] == "preventivo.pdf" and queued["media"]["size"] == len(pdf)
    sent = wait_status(wasb, conversation["id"], queued["id"], "read")
    assert sent["media"]["state"] == "stored" and sent["media"]["url"] and sent["media"]["id"]  # Meta's id once uploaded
    opened = wasb.api("GET", sent["media"]["url"], token=wasb.agent_token)
    assert opened.status_code == 200 and opened.content == pdf
    assert opened.headers["content-type"].startswith("application/pdf")
    assert "preventivo.pdf" in opened.headers["content-disposition"]


def test_a_crm_document_sent_by_its_id_is_kept_as_it_was_sent(wasb, sim):
    conversation = customer_writes(sim, wasb)
    original = b"%PDF-1.4\n" + b"contratto " * 100
    document = wasb.api("POST", "/api/v1/documents", files={"file": ("contratto.pdf", original, "application/pdf")}).json()
    answer = send(wasb, conversation["id"], type="document", document_id=str(document["id"]))
    assert answer.status_code == 201, answer.text
    sent = wait_status(wasb, conversation["id"], answer.json()["id"], "read")
    assert sent["media"]["state"] == "stored" and sent["media"]["url"] is not None
    opened = wasb.api("GET", sent["media"]["url"])
    assert opened.status_code == 200 and opened.content == original


def test_bad_messages_are_refused_with_a_reason_and_nothing_is_queued(wasb, sim):
    conversation = customer_writes(sim, wasb)
    cases = [({"type": "text", "body": ""}, 422, "needs a body"),
             ({"type": "sticker", "body": "x"}, 422, "unknown message type"),
             ({"type": "document"}, 422, "document_id or an uploaded file"),
             ({"type": "document", "document_id": "999"}, 404, "no document 999"),
             ({"type": "text", "body": "x", "reply_to": "123456"}, 422, "reply_to")]
    for body, status, why in cases:
        answer = send(wasb, conversation["id"], **body)
        assert answer.status_code == status and why in answer.json()["detail"], (body, answer.text)
    assert send(wasb, 999999, type="text", body="x").status_code == 404
    assert len(wasb.get(f"/api/v1/conversations/{conversation['id']}")["messages"]) == 1
