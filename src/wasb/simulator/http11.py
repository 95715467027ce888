"""Keep-alive HTTP/1.1 POSTs over asyncio streams, for posting webhooks to a plain http:// URL.

Why not httpx: on the 2-core reference box httpx's AsyncClient posts ~280 small webhooks/s,
these raw streams ~6,500/s to the same uvicorn receiver. A benchmark at Meta's 1,000
messages/s means 3,000 status webhooks/s, so the simulator must not be the bottleneck.
Only what posting a webhook needs: Content-Length or chunked answers, `Connection: close`.
"""
from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

CONNECT_TIMEOUT = 5.0
ANSWER_TIMEOUT = 10.0


class Http11Poster:
    def __init__(self, url: str, size: int) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError("Http11Poster handles plain http:// URLs only")
        self.url = url
        self.host = parts.hostname
        self.port = parts.port or 80
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.host_header = parts.netloc
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(size)

    async def post(self, body: bytes, headers: dict[str, str]) -> int:
        """The answer's HTTP status; raises OSError / TimeoutError when there is none."""
        async with self._slots:
            while self._idle:
                # A kept-alive connection may have been closed by the server meanwhile:
                # on failure try the next one, and finally a fresh connection.
                conn = self._idle.pop()
                try:
                    return await self._exchange(conn, body, headers)
                except (OSError, asyncio.IncompleteReadError, ConnectionError, ValueError):
                    _close(conn)
            conn = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), CONNECT_TIMEOUT)
            try:
                return await self._exchange(conn, body, headers)
            except BaseException:
                _close(conn)
                raise

    async def _exchange(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                        body: bytes, headers: dict[str, str]) -> int:
        reader, writer = conn
        head = [f"POST {self.target} HTTP/1.1", f"Host: {self.host_header}",
                f"Content-Length: {len(body)}", "User-Agent: facebookexternalua"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        status, keep_alive = await asyncio.wait_for(_read_answer(reader), ANSWER_TIMEOUT)
        if keep_alive:
            self._idle.append(conn)
        else:
            _close(conn)
        return status

    def close(self) -> None:
        while self._idle:
            _close(self._idle.pop())


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed before an answer")
    parts = status_line.split(None, 2)
    status = int(parts[1])
    length, chunked, keep_alive = 0, False, True
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n"):
            break
        if not line:
            raise ConnectionError("connection closed inside the headers")
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and value == "close":
            keep_alive = False
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            await reader.readexactly(size + 2)  # the chunk and its CRLF (the last: just CRLF)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, keep_alive


def _close(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
    try:
        conn[1].close()
    except Exception:  # noqa: BLE001 - closing a broken socket may fail in several ways
        pass
