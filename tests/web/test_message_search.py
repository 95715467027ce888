"""The inbox's search by text, through the search index of migration 0010_message_search (SQLite FTS5
trigram, PostgreSQL pg_trgm), on the real migrated database of each backend."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update

from tests.support.databases import BACKEND, POSTGRES_SERVER
from wasb.contacts.tables import WaContact
from wasb.conversations import search
from wasb.conversations.tables import Conversation, Message
from wasb.store.base import utcnow
from wasb.store.engine import open_database
from wasb.web.ui.views import inbox_rows

TEXTS = {
    "Giulia": ["Buongiorno, il RIMBORSO dell'ordine ORD-5512?", "grazie"],
    "Marco": ["La taglia M è finita?", "Sconto del 50% ancora valido?"],
    "Lucia": ["Vorrei cambiare l'indirizzo", "grazie mille"],
}


@pytest.fixture(params=["indexed", "newest"])
def db(request, database_url):
    """The messages in the index, or all newer than its last batch (0013_message_search_batches):
    the search finds them alike."""
    db = open_database(database_url)
    seed(db)
    if request.param == "indexed":
        index(db)
    yield db
    db.dispose()


def index(db) -> None:
    with db.sessions() as session, session.begin():
        search.index_new(session)


def index_is_sound(db) -> None:
    """SQLite checks the FTS5 index against the message table (an error if they differ)."""
    with db.sessions() as session, session.begin():
        if session.get_bind().dialect.name == "sqlite":
            session.execute(text("INSERT INTO message_search(message_search, rank) VALUES ('integrity-check', 1)"))


def seed(db) -> None:
    now = utcnow()
    with db.sessions() as session, session.begin():
        for i, (name, bodies) in enumerate(TEXTS.items()):
            contact = WaContact(wa_id=f"39333000000{i}", phone_e164=f"+39333000000{i}", profile_name=name)
            session.add(contact)
            session.flush()
            conversation = Conversation(name=name, phone_number_id="1", wa_contact_id=contact.id, status="open",
                                        last_message_at=now)
            session.add(conversation)
            session.flush()
            for j, body in enumerate(bodies):
                session.add(Message(conversation_id=conversation.id, direction="in", type="text", status="received",
                                    timestamp=now, body=body, wamid=f"wamid.{i}.{j}"))


def found(db, q: str) -> set[str]:
    with db.read_sessions() as session:
        return {row.name for row in inbox_rows(session, q=q)}


@pytest.fixture(params=["index", "scan"])
def plan(request, monkeypatch):
    """Both of SQLite's plans (a rare text through the index, a common one by the scan) answer alike."""
    if request.param == "scan":
        monkeypatch.setattr(search, "COMMON", 0)
    return request.param


def test_text_is_found_in_any_case_and_in_any_part_of_a_message(db, plan):
    assert found(db, "rimborso") == {"Giulia"}
    assert found(db, "ord-55") == {"Giulia"}
    assert found(db, "GRAZIE") == {"Giulia", "Lucia"}
    assert found(db, "indirizzo") == {"Lucia"}
    assert found(db, "nothing like this") == set()


def test_like_wildcards_in_the_search_are_taken_literally(db, plan):
    assert found(db, "50%") == {"Marco"}
    assert found(db, "5_%") == set()  # not "5, any character, anything"
    assert found(db, "%") == {"Marco"}


def test_the_index_follows_edits_and_deletions(db, plan):
    with db.sessions() as session, session.begin():
        session.execute(update(Message).where(Message.body == "La taglia M è finita?").values(body="Spedizione veloce?"))
        session.execute(delete(Message).where(Message.body == "grazie mille"))
    assert found(db, "spedizione") == {"Marco"}
    assert found(db, "taglia") == set()
    assert found(db, "grazie") == {"Giulia"}
    index(db)  # edits and deletions of rows not yet indexed leave nothing wrong behind
    index_is_sound(db)
    assert found(db, "spedizione") == {"Marco"}
    assert found(db, "taglia") == set()
    assert found(db, "grazie") == {"Giulia"}


def add_message(db, body: str, conversation_name: str = "Lucia") -> int:
    with db.sessions() as session, session.begin():
        conversation_id = session.scalar(select(Conversation.id).where(Conversation.name == conversation_name))
        message = Message(conversation_id=conversation_id, direction="in", type="text", status="received",
                          timestamp=utcnow(), body=body)
        session.add(message)
        session.flush()
        return message.id


def test_the_newest_message_is_found_before_and_after_its_batch_is_indexed(db, plan):
    add_message(db, "il pacco è arrivato rotto")
    assert found(db, "arrivato rotto") == {"Lucia"}
    index(db)
    index_is_sound(db)
    assert found(db, "arrivato rotto") == {"Lucia"}


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's rowids; PostgreSQL's sequence never gives an id twice")
def test_a_deleted_newest_message_whose_id_comes_back_is_still_found(db):
    """SQLite gives the largest rowid + 1 to a new row: deleting the newest indexed message
    and writing another reuses its id, which must not be taken as indexed already."""
    index(db)
    newest = add_message(db, "prima versione")
    index(db)
    with db.sessions() as session, session.begin():
        session.execute(delete(Message).where(Message.id == newest))
    assert add_message(db, "seconda versione") == newest
    assert found(db, "seconda versione") == {"Lucia"} and found(db, "prima versione") == set()
    index(db)
    index_is_sound(db)
    assert found(db, "seconda versione") == {"Lucia"} and found(db, "prima versione") == set()


def test_the_migration_made_the_index(db):
    with db.read_sessions() as session:
        if session.get_bind().dialect.name == "sqlite":
            names = set(session.scalars(text("SELECT name FROM sqlite_master WHERE name LIKE 'message_search%'")))
            # 0013_message_search_batches: no trigger on insert (new rows are indexed in batches).
            assert names >= {"message_search", "message_search_mark", "message_search_ad", "message_search_au"}
            assert "message_search_ai" not in names
            plan = " ".join(str(r) for r in session.execute(text(
                "EXPLAIN QUERY PLAN SELECT rowid FROM message_search WHERE body LIKE '%rimborso%'")))
            assert "VIRTUAL TABLE INDEX" in plan  # the trigram index answers, no scan of message
        else:
            index = session.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_message_body_trgm'"))
            assert "gin_trgm_ops" in index
        assert session.scalar(select(Message.id).limit(1)) is not None


@pytest.mark.skipif(BACKEND != "postgresql", reason="pg_trgm is PostgreSQL's")
def test_without_rights_to_install_pg_trgm_the_migration_goes_on_and_search_still_works():
    import uuid

    import psycopg

    from wasb.store.migrate import upgrade

    name, role = f"wasb_noext_{uuid.uuid4().hex[:8]}", f"wasb_role_{uuid.uuid4().hex[:8]}"
    admin = POSTGRES_SERVER
    base = admin.rpartition("/")[0].replace("postgres@", f"{role}:pw@")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")
        conn.execute(f'CREATE DATABASE "{name}"')  # owned by the admin: the role may not CREATE EXTENSION
    try:
        with psycopg.connect(admin.rpartition("/")[0] + f"/{name}", autocommit=True) as conn:
            conn.execute(f"GRANT CREATE, USAGE ON SCHEMA public TO {role}")
        url = f"{base}/{name}"
        upgrade(url)
        db = open_database(url)
        try:
            seed(db)
            assert found(db, "rimborso") == {"Giulia"}  # the search runs, by a scan
            with db.read_sessions() as session:
                assert session.scalar(text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_message_body_trgm'")) == 0
                assert session.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")) == 0
        finally:
            db.dispose()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f"DROP ROLE IF EXISTS {role}")
