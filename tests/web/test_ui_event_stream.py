"""`GET /ui/events`: logged-in pages hear which conversations changed; nobody else hears anything."""
from __future__ import annotations

import re
import threading

import httpx
import orjson

from tests.ui.seed import text_message
from wasb.auth.service import create_user
from wasb.store.engine import open_database


def _logged_in_client(server) -> httpx.Client:
    db = open_database(server.database_url)
    try:
        with db.sessions() as session, session.begin():
            create_user(session, "watcher", "watcher-password")
    finally:
        db.dispose()
    client = httpx.Client(base_url=server.url, timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/ui/login").text).group(1)
    assert client.post("/ui/login", data={"username": "watcher", "password": "watcher-password", "csrf": csrf}).status_code == 303
    return client


def test_the_stream_needs_a_login(server):
    assert httpx.get(server.url + "/ui/events").status_code == 401


def test_a_customer_message_is_announced_with_its_conversation_id(server):
    client = _logged_in_client(server)
    events: list[dict] = []
    opened, announced = threading.Event(), threading.Event()

    def listen():
        with client.stream("GET", "/ui/events") as response:
            name = None
            for line in response.iter_lines():
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                    opened.set()
                elif line.startswith("data: ") and name == "conversations":
                    events.append(orjson.loads(line.removeprefix("data: ")))
                    announced.set()
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert opened.wait(20), "the stream did not open"
    server.post_webhook(text_message("393331234567", "Ciao", "wamid.SSE1", name="Giulia"))
    assert announced.wait(20), "no change was announced"
    (conversation,) = server.get("/api/v1/conversations")
    assert conversation["id"] in events[0]["ids"]


def test_an_open_stream_does_not_keep_the_server_from_stopping(server):
    client = _logged_in_client(server)
    opened = threading.Event()

    def listen():
        try:
            with client.stream("GET", "/ui/events") as response:
                for _ in response.iter_lines():
                    opened.set()
        except httpx.HTTPError:
            pass  # the server closed it

    threading.Thread(target=listen, daemon=True).start()
    assert opened.wait(20)
    server.process.terminate()
    server.process.wait(20)  # raises TimeoutExpired if the stream held the shutdown forever
    assert server.process.returncode is not None
