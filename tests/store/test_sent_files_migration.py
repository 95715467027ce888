"""0018_sent_files_stored: a file an agent sent before 0018 (kept under outbound/<sha256>)
becomes openable, as new ones are; a customer's pending download and a CRM document sent
without a copy stay as they were."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.store.test_template_sources_migration import empty_url  # noqa: F401  (fixture)
from wasb.conversations.tables import Conversation, Message
from wasb.store.base import utcnow
from wasb.store.migrate import upgrade

SHA = "ab" * 32


def test_files_agents_sent_before_are_marked_stored_where_the_upload_is_kept(empty_url):  # noqa: F811
    upgrade(empty_url, "0017_template_parameter_sources")
    engine = sa.create_engine(empty_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with Session(engine) as s, s.begin():
            # The address book and conversations as 0017 has them (the models have columns of later migrations).
            contact_id = s.execute(sa.text("INSERT INTO wa_contact (phone_e164, created_at, modified_at) "
                                           "VALUES ('+393351234567', :now, :now) RETURNING id"),
                                   {"now": utcnow()}).scalar_one()
            conversation_id = s.execute(sa.insert(Conversation.__table__).values(
                name="Mario", phone_number_id="1", wa_contact_id=contact_id, status="open", unread=0)
                .returning(Conversation.__table__.c.id)).scalar_one()
            # Only the columns 0017 has: the model's insert would name every later one too.
            for row in (dict(direction="out", type="document", status="sent", media_sha256=SHA,
                             media_filename="offer.pdf"),
                        dict(direction="out", type="document", status="sent", document_id="7x1",
                             media_filename="contract.pdf"),
                        dict(direction="in", type="image", status="received", media_id="m1", media_sha256=SHA,
                             media_state="pending")):
                s.execute(sa.insert(Message.__table__).values(conversation_id=conversation_id, timestamp=utcnow(),
                                                              created_at=utcnow(), **row))
        upgrade(empty_url)
        with Session(engine) as s:
            rows = [(m.media_filename or m.type, m.media_state, m.media_path)
                    for m in s.scalars(sa.select(Message).order_by(Message.id))]
        assert rows == [("offer.pdf", "stored", f"outbound/{SHA}"), ("contract.pdf", None, None),
                        ("image", "pending", None)]
    finally:
        engine.dispose()
