"""Slow clients are closed, not held: raw sockets against a real `wasb serve` with short
bounds. Every loop here is bounded by a socket timeout or a fixed number of rounds."""
from __future__ import annotations

import socket
import time

import httpx
import pytest

from tests.support.server import WasbServer

HEADER_TIMEOUT, BODY_TIMEOUT = 1.0, 2.0
WAIT = 15  # far above the bounds: a connection still open after this is held


@pytest.fixture
def slow_server(database_url, tmp_path):
    srv = WasbServer(database_url, tmp_path, extra_env={
        "WASB_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT), "WASB_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "WASB_MAX_CONNECTIONS": "40"}).start()
    yield srv
    srv.stop()


def connect(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """What the server says before it closes; socket.timeout if it holds the connection."""
    received = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return received
        received += chunk


POST_HEAD = (b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             b"Content-Length: 1000\r\n\r\n")


def test_headers_then_a_stalled_body_get_408_and_the_connection_closes(slow_server):
    with connect(slow_server) as sock:
        sock.sendall(POST_HEAD + b'{"object":')
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_body_dripping_a_byte_at_a_time_is_cut_off(slow_server):
    with connect(slow_server) as sock:
        sock.sendall(POST_HEAD)
        sock.settimeout(0.25)
        answer = b""
        for _ in range(int(WAIT / 0.25)):  # one byte every 0.25 s: never idle, never done
            try:
                sock.sendall(b" ")
                chunk = sock.recv(4096)
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            answer += chunk
            if not chunk:
                break
        else:
            pytest.fail(f"still open after {WAIT} s of dripping")
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_headers_that_never_end_get_408_and_the_connection_closes(slow_server):
    with connect(slow_server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_connection_that_sends_nothing_is_closed(slow_server):
    with connect(slow_server) as sock:
        assert read_until_closed(sock).startswith(b"HTTP/1.1 408 ")


def test_a_healthy_request_gets_through_while_slow_clients_hang_on(slow_server):
    stalled = []
    try:
        for n in range(20):
            sock = connect(slow_server)
            sock.sendall(POST_HEAD if n % 2 else b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            stalled.append(sock)
        started = time.monotonic()
        healthy = httpx.get(slow_server.url + "/healthz", timeout=WAIT)
        assert healthy.status_code == 200
        assert time.monotonic() - started < WAIT
        # ... and the slow ones were all let go.
        for sock in stalled:
            assert read_until_closed(sock).startswith(b"HTTP/1.1 408 ")
    finally:
        for sock in stalled:
            sock.close()


def test_past_the_connection_cap_requests_are_refused_at_once(slow_server):
    stalled = []
    try:
        for _ in range(45):  # WASB_MAX_CONNECTIONS=40
            sock = connect(slow_server)
            sock.sendall(POST_HEAD)
            stalled.append(sock)
        refused = httpx.get(slow_server.url + "/healthz", timeout=WAIT)
        assert refused.status_code == 503
    finally:
        for sock in stalled:
            sock.close()
