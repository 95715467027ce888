"""kill -9 in the middle of a 2,000-message burst: the web process, the worker process, both.

A real `wasb serve` on the run's database (a SQLite file, or PostgreSQL with
WASB_TEST_DATABASE) takes 200 customers × 10 messages from several concurrent senders; each
customer's messages go in order, one at a time, so the order they arrive in is defined. A
POST that did not get a 200 stops its customer's sequence (the rest would overtake it);
after the kill and the restart every message without a 200 is sent again, in order, as Meta
redelivers. Then every message is stored exactly once, each customer's messages are in the
order they were sent, and each customer has one ticket with the comments in that order.
The web process is started again by the test (as systemd would); a killed worker child is
started again by serve's supervisor, which the test checks by its new pid.
"""
from __future__ import annotations

import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import httpx
import orjson
import psutil
import pytest
from sqlalchemy import text

from tests.runtime.test_worker_process import worker_of
from tests.support.bursts import verify_every_message_once_in_order
from tests.support.polling import wait_until
from tests.support.server import APP_SECRET, PHONE_NUMBER_ID, WABA_ID, WasbServer
from wasb.store.engine import make_engine
from wasb.whatsapp.signature import HEADER, sign_body

CUSTOMERS = 200
PER_CUSTOMER = 10
SENDERS = 8
# Kill once this share of the burst has been accepted: the intake and the worker are both busy.
KILL_AT = 0.3
# A burst, a restart and the processing of 2,000 messages: more than the suite's default on a busy box.
pytestmark = pytest.mark.timeout(300)


def customer(n: int) -> str:
    return f"39333{n:07d}"


def wamid(wa_id: str, index: int) -> str:
    return f"wamid.burst.{wa_id}.{index:02d}"


def words(wa_id: str, index: int) -> str:
    return f"{wa_id} #{index}"


def webhook(wa_id: str, index: int, sent_at: int) -> bytes:
    return orjson.dumps({"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": f"Customer {wa_id[-4:]}"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid(wa_id, index), "timestamp": str(sent_at + index),
                          "type": "text", "text": {"body": words(wa_id, index)}}]}}]}]})


@dataclass
class Burst:
    """Who sent what: per customer, the bodies in order and how far the 200s went."""
    url: str
    bodies: dict[str, list[bytes]]
    accepted: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # a prefix: sent in order
    refused: int = 0  # POSTs that did not get a 200
    _count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total_accepted(self) -> int:
        with self._lock:
            return self._count

    def unsent(self) -> dict[str, int]:
        """Per customer, how many of its messages still wait for a 200."""
        return {c: len(b) - self.accepted[c] for c, b in self.bodies.items() if self.accepted[c] < len(b)}

    def send(self, customers: list[str]) -> None:
        """Each customer's messages from where its 200s stopped, by SENDERS threads at once."""
        todo: queue.SimpleQueue[str] = queue.SimpleQueue()
        for c in customers:
            todo.put(c)
        threads = [threading.Thread(target=self._sender, args=(todo,)) for _ in range(SENDERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def _sender(self, todo: queue.SimpleQueue[str]) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while True:
                try:
                    wa_id = todo.get_nowait()
                except queue.Empty:
                    return
                for body in self.bodies[wa_id][self.accepted[wa_id]:]:
                    try:
                        ok = client.post("/webhooks/whatsapp", content=body, headers={
                            "Content-Type": "application/json", HEADER: sign_body(body, APP_SECRET)}).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    if not ok:  # its later messages would overtake this one: they wait for the redelivery
                        with self._lock:
                            self.refused += 1
                        break
                    self.accepted[wa_id] += 1
                    with self._lock:
                        self._count += 1


def query(url: str, sql: str) -> list:
    engine = make_engine(url, immediate=False)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).all()
    finally:
        engine.dispose()


def stored_messages(url: str) -> int:
    return query(url, "SELECT count(*) FROM message WHERE wamid LIKE 'wamid.burst.%'")[0][0]


def all_processed(url: str, expected: int) -> bool:
    """Every message is in `message` and no stored event waits for the worker."""
    return (stored_messages(url) == expected
            and query(url, "SELECT count(*) FROM inbound_event WHERE state = 'pending'")[0][0] == 0)


def verify(url: str, burst: Burst) -> None:
    verify_every_message_once_in_order(lambda sql: query(url, sql), "burst", list(burst.bodies), PER_CUSTOMER,
                                       words)


def kill_during_burst(server: WasbServer, burst: Burst, kill) -> threading.Thread:
    """Start the burst; kill -9 once KILL_AT of it is accepted; the burst goes on meanwhile."""
    sender = threading.Thread(target=burst.send, args=(list(burst.bodies),))
    sender.start()
    wait_until(lambda: burst.total_accepted >= KILL_AT * CUSTOMERS * PER_CUSTOMER or not sender.is_alive(),
               180, "the burst to be under way")
    assert sender.is_alive() and burst.total_accepted < CUSTOMERS * PER_CUSTOMER, "the burst ended before the kill"
    kill()
    return sender


def new_burst(server: WasbServer) -> Burst:
    now = int(time.time()) - 3600
    customers = [customer(n) for n in range(CUSTOMERS)]
    return Burst(server.url, {c: [webhook(c, i, now) for i in range(PER_CUSTOMER)] for c in customers})


def redeliver_and_verify(server: WasbServer, burst: Burst) -> None:
    unsent = burst.unsent()
    burst.send(list(unsent))
    assert burst.unsent() == {}, "the restarted service refused a redelivery"
    wait_until(lambda: all_processed(server.database_url, CUSTOMERS * PER_CUSTOMER), 180,
               "every message to be processed")
    verify(server.database_url, burst)


def test_kill_9_of_the_web_process_mid_burst_loses_nothing_and_keeps_each_customers_order(server):
    burst = new_burst(server)
    sender = kill_during_burst(server, burst, server.kill)
    sender.join()
    assert burst.refused > 0  # some POSTs met the dead process: they are the ones Meta redelivers
    server.start()
    redeliver_and_verify(server, burst)


def test_kill_9_of_the_worker_process_mid_burst_is_restarted_and_loses_nothing(server):
    worker = worker_of(server)
    serve_pid = server.process.pid
    burst = new_burst(server)
    sender = kill_during_burst(server, burst, worker.kill)
    restarted = worker_of(server, other_than=worker.pid)  # the supervisor's doing: the test starts none
    sender.join()
    assert burst.refused == 0  # the web process never stopped answering
    assert server.process.poll() is None and server.process.pid == serve_pid
    redeliver_and_verify(server, burst)
    assert worker_of(server).pid == restarted.pid


def test_kill_9_of_both_processes_mid_burst_loses_nothing_and_keeps_each_customers_order(server):
    worker = worker_of(server)
    burst = new_burst(server)

    def kill_both():
        worker.kill()
        server.kill()

    sender = kill_during_burst(server, burst, kill_both)
    sender.join()
    assert burst.refused > 0
    assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
    server.start()
    assert worker_of(server).pid != worker.pid
    redeliver_and_verify(server, burst)
