"""Notice changed conversations in any write transaction, record them, tell the pages.

Session listeners see every change to a message, a private note or a conversation, whatever statement
made it: objects a flush writes (`after_flush`), and INSERT, UPDATE and DELETE
statements run through `Session.execute` (`do_orm_execute`: closeConversations' bulk
close, the sender's status updates, the agent-comment poll's upsert, the inbound
worker's statements). So no writer has to remember to announce its change. A statement
that RETURNs the conversation column costs nothing more: its rows name the conversations;
any other UPDATE or DELETE is asked first which rows it will reach. Before commit one `live_change` row per
conversation is appended (in the same transaction, so a rolled-back change is never
announced); after commit this process's hub is told at once. A poller publishes rows
written by other processes.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, event, insert, select
from sqlalchemy.orm import ORMExecuteState, Session

from wasb.conversations.tables import Conversation, ConversationNote, Message
from wasb.live.tables import LiveChange
from wasb.store.base import utcnow

log = logging.getLogger(__name__)

# Who wrote a change row: this process (random per start, never reused).
ORIGIN = secrets.token_hex(8)
KEEP = timedelta(minutes=10)
_PENDING = "live_conversations"
_NOTED = "live_noted"
_SAID = "live_said"  # changes a caller announced itself (not a row it wrote), told after commit
TYPING = "typing"
TICKET = "ticket"


@dataclass(frozen=True)
class Change:
    topic: str
    ref: str


class Hub:
    """In-process pub/sub: threads publish, asyncio subscribers (SSE streams) receive."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = set()

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        with self._lock:
            self._subscribers.add((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        with self._lock:
            self._subscribers = {s for s in self._subscribers if s[1] is not queue}

    def publish(self, changes: list[Change]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(_offer, queue, changes)
            except RuntimeError:  # that loop has closed
                self.unsubscribe(queue)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)


def _offer(queue: asyncio.Queue, changes: list[Change]) -> None:
    try:
        queue.put_nowait(changes)
    except asyncio.QueueFull:
        pass  # a stalled page reloads its lists on the next change anyway


hub = Hub()


@event.listens_for(Session, "after_flush")
def _notice(session: Session, _flush_context) -> None:
    touched: set[int] = session.info.setdefault(_PENDING, set())
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, (Message, ConversationNote)) and obj.conversation_id:
            touched.add(obj.conversation_id)
        elif isinstance(obj, Conversation) and obj.id:
            touched.add(obj.id)


# The watched tables, each with the column that names the conversation a row belongs to.
_CONVERSATION_OF = {Conversation.__table__.name: Conversation.__table__.c.id,
                    Message.__table__.name: Message.__table__.c.conversation_id,
                    ConversationNote.__table__.name: ConversationNote.__table__.c.conversation_id}


@event.listens_for(Session, "do_orm_execute")
def _notice_statement(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    column = _CONVERSATION_OF.get(getattr(state.statement.table, "name", None))
    if column is None:
        return
    if _returns(state.statement, column):
        # The statement names its conversations in its answer: read them there, after it
        # ran, instead of asking the database beforehand (the inbound hot path's way).
        result = state.invoke_statement().freeze()
        index = list(result.metadata.keys).index(_returned_key(state.statement, column))
        state.session.info.setdefault(_PENDING, set()).update(row[index] for row in result.data
                                                               if row[index] is not None)
        return result()
    touched = _touched_by(state, column)
    if touched is None:
        log.warning("the live feed cannot tell which conversations this statement changes; open pages "
                    "will not hear of it: %s", state.statement)
        return
    state.session.info.setdefault(_PENDING, set()).update(touched)


def _returns(statement, column) -> bool:
    return bool(getattr(statement, "_returning", ())) and _returned_key(statement, column) is not None


@functools.lru_cache(maxsize=512)  # the hot path's statements are built once: asked once each
def _returned_key(statement, column) -> str | None:
    """The name under which a RETURNING clause gives `column`, if it does."""
    for returned in statement.exported_columns:
        if returned is column or getattr(returned, "element", None) is column:
            return returned.key
    return None


def _touched_by(state: ORMExecuteState, column) -> set[int] | None:
    """The conversations a statement is about to change (None: it cannot be told).

    An UPDATE or DELETE is asked first, with its own WHERE, which rows it will reach: it
    runs in the same transaction right after, so it reaches those (on SQLite the write
    lock is already held; elsewhere a row can only be named needlessly, costing a page a
    reload)."""
    statement = state.statement
    table = column.table
    many = state.parameters if isinstance(state.parameters, list) else [state.parameters or {}]
    if state.is_insert:
        return _inserted(state, column, many)
    where = statement.whereclause
    if where is None and all(p.get("id") is not None for p in many) and state.parameters:
        # An ORM bulk UPDATE by primary key: the rows are named in the parameters.
        ids = [p["id"] for p in many]
        if column is table.c.id:
            return set(ids)
        return set(state.session.scalars(select(column).where(table.c.id.in_(ids))))
    query = select(column).distinct()
    if where is not None:
        query = query.where(where)
    touched: set[int] = set()
    for params in many:
        touched.update(state.session.scalars(query, params))
    touched.discard(None)
    return touched


def _inserted(state: ORMExecuteState, column, many: list[dict]) -> set[int] | None:
    """The conversations of rows an INSERT writes: their values are in the statement or its
    parameters (a new conversation's own id is not known before it is written)."""
    if column is column.table.c.id:
        return None
    compiled = state.statement.compile(dialect=state.session.get_bind().dialect).params
    values = [v for k, v in compiled.items() if k == column.key or re.fullmatch(rf"{column.key}_m\d+", k)]
    values += [p[column.key] for p in many if p.get(column.key) is not None]
    touched = {v for v in values if v is not None}
    return touched or None


@event.listens_for(Session, "before_commit")
def _record(session: Session) -> None:
    if session.in_nested_transaction():
        # A savepoint (one job of a worker batch) is not a commit: the outer commit
        # records every conversation the batch touched, in one insert.
        return
    session.flush()  # so that after_flush has seen every change of this transaction
    touched: set[int] = session.info.get(_PENDING) or set()
    noted: set[int] = session.info.setdefault(_NOTED, set())
    fresh = sorted(touched - noted)
    if not fresh:
        return
    session.execute(insert(LiveChange), [
        {"topic": "conversation", "ref": str(cid), "origin": ORIGIN, "created_at": utcnow()} for cid in fresh])
    noted.update(fresh)


@event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    if session.in_nested_transaction():
        return  # nothing is visible to others before the outer commit
    noted = session.info.pop(_NOTED, None)
    said = session.info.pop(_SAID, None) or []
    session.info.pop(_PENDING, None)
    if noted or said:
        hub.publish([Change("conversation", str(cid)) for cid in sorted(noted or ())] + said)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    # Only when the outer transaction ends: a savepoint rolled back (one failed job of a
    # batch) keeps what the others touched. Its own conversations are then announced
    # although unchanged, which costs a page a needless reload and loses nothing.
    if transaction.parent is None:
        session.info.pop(_NOTED, None)
        session.info.pop(_PENDING, None)
        session.info.pop(_SAID, None)


def typing_ref(conversation_id: int, username: str) -> str:
    """The change row's ref (64 characters at most: a very long name is cut, only shown)."""
    return f"{conversation_id}:{username}"[:64]


def announce_typing(session: Session, conversation_id: int, username: str) -> None:
    """An agent is writing in the conversation: the pages of other agents who have it open
    warn them, so two people do not answer the customer at once. A change row like any
    other, so every process's pages hear it; nothing is kept once it is pruned."""
    _say(session, Change(TYPING, typing_ref(conversation_id, username)))


def announce_ticket(session: Session, ticket_id: str) -> None:
    """A ticket changed without a conversation changing with it (its status or assignee set
    on its page): the pages showing it read it again. A CRM's own edits are not seen here."""
    _say(session, Change(TICKET, ticket_id[:64]))


def _say(session: Session, change: Change) -> None:
    """Recorded in the caller's transaction (other processes poll it), told here after commit."""
    session.execute(insert(LiveChange), [{"topic": change.topic, "ref": change.ref, "origin": ORIGIN,
                                          "created_at": utcnow()}])
    session.info.setdefault(_SAID, []).append(change)


class Poller:
    """Publishes change rows other processes wrote; prunes old rows now and then.

    Ids from a PostgreSQL sequence can become visible out of order (a lower id commits
    later), so each poll looks a little behind the highest id seen and skips what it has
    already published.
    """

    LOOK_BEHIND = 500

    def __init__(self, db, interval: float = 1.0):
        self.db = db
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last = 0
        self._seen: set[int] = set()
        self._polls = 0

    def start(self) -> None:
        with self.db.read_sessions() as session:
            self._last = session.scalar(select(LiveChange.id).order_by(LiveChange.id.desc()).limit(1)) or 0
        self._thread = threading.Thread(target=self._run, name="wasb-live-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll_once()
            except Exception:  # the database may be restarting; the next poll tries again
                log.warning("live change poll failed", exc_info=True)

    def poll_once(self) -> int:
        self._polls += 1
        with self.db.read_sessions() as session:
            rows = session.execute(select(LiveChange.id, LiveChange.topic, LiveChange.ref, LiveChange.origin)
                                   .where(LiveChange.id > self._last - self.LOOK_BEHIND)
                                   .order_by(LiveChange.id)).all()
        changes = []
        for row_id, topic, ref, origin in rows:
            if row_id in self._seen:
                continue
            self._seen.add(row_id)
            self._last = max(self._last, row_id)
            if origin != ORIGIN:
                changes.append(Change(topic, ref))
        self._seen = {i for i in self._seen if i > self._last - self.LOOK_BEHIND}
        if changes and hub.subscriber_count:
            hub.publish(changes)
        if self._polls % 60 == 0:
            self.prune()
        return len(changes)

    def prune(self) -> None:
        with self.db.sessions() as session, session.begin():
            session.execute(delete(LiveChange).where(LiveChange.created_at < utcnow() - KEEP))
