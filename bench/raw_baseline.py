"""The raw baseline of bench/intake.py: a bare Starlette endpoint that inserts the body into
SQLite (WAL, synchronous=NORMAL), one insert per request. Run: python bench/raw_baseline.py DB PORT"""
from __future__ import annotations

import sqlite3
import sys
import threading

import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

db_path, port = sys.argv[1], int(sys.argv[2])
local = threading.local()


def connection() -> sqlite3.Connection:
    if not hasattr(local, "conn"):
        conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE IF NOT EXISTS event (id INTEGER PRIMARY KEY, body BLOB)")
        local.conn = conn
    return local.conn


async def receive(request):
    body = await request.body()
    connection().execute("INSERT INTO event (body) VALUES (?)", (body,))
    return JSONResponse({"stored": True})


app = Starlette(routes=[Route("/webhooks/whatsapp", receive, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
