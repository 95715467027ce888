"""A lean HTTP/1.1 load generator for the benchmarks: pre-encoded requests over keep-alive
connections, so the client spends as little CPU as possible next to the server under test."""
from __future__ import annotations

import asyncio
import time

import orjson

PHONE_NUMBER_ID = "106540352242922"


def encode_post(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}",
            "Content-Type: application/json"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def blast(port: int, requests: list[bytes], connections: int = 32,
                answer_times: list[float] | None = None) -> tuple[float, dict[int, int]]:
    """Send every request as fast as the server takes them; returns (seconds, status counts).
    `answer_times`, when given, receives each request's time from write to its answer read (s)."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)
    counts: dict[int, int] = {}

    async def worker():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while True:
            try:
                request = queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            sent = time.perf_counter()
            writer.write(request)
            status = await _read_response(reader)
            if answer_times is not None:
                answer_times.append(time.perf_counter() - sent)
            counts[status] = counts.get(status, 0) + 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started, counts


async def paced(port: int, requests: list[bytes], rate: float, connections: int = 32) -> list[float]:
    """Offer requests at `rate` per second; returns the wall-clock send time of each."""
    sent_at = [0.0] * len(requests)
    queue: asyncio.Queue[int] = asyncio.Queue()

    async def worker():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while True:
            index = await queue.get()
            if index < 0:
                break
            sent_at[index] = time.time()
            writer.write(requests[index])
            await _read_response(reader)
        writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    start = time.perf_counter()
    for i in range(len(requests)):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(i)
    for _ in workers:
        queue.put_nowait(-1)
    await asyncio.gather(*workers)
    return sent_at


def text_webhook(wa_id: str, wamid: str, text: str, timestamp: int) -> bytes:
    """Meta's webhook body of one customer's text message to the bench's business number."""
    return orjson.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": f"Customer {wa_id[-5:]}"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": str(timestamp), "type": "text",
                          "text": {"body": text}}]}}]}]})
