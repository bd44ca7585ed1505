"""Bare Flask + SQLite: ``POST /items`` stores the JSON body in one transaction and answers it with its id.

The database is the file in ``BASELINE_DB`` (WAL, synchronous=NORMAL, as the suite's store), one
connection per worker thread: the simplest correct thing a user would write.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time

from flask import Flask, jsonify, request

app = Flask(__name__)
DB = os.environ.get("BASELINE_DB", "baseline.db")
_local = threading.local()


_ready = threading.Lock()
_created: list[bool] = []


def _create_once() -> None:
    """The file in WAL mode with its table, once per process, before any thread's connection uses it.
    Switching a new file to WAL takes an exclusive lock that the busy timeout does not wait for: when
    another connection (a thread, or the other worker) is at it too, try again."""
    with _ready:
        if _created:
            return
        conn = sqlite3.connect(DB, isolation_level=None, timeout=30)
        conn.execute("PRAGMA busy_timeout = 30000")
        for attempt in range(100):
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError:
                if attempt == 99:
                    raise
                time.sleep(0.05)
        conn.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT, body TEXT)")
        conn.close()
        _created.append(True)


def _conn() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        _create_once()
        conn = sqlite3.connect(DB, isolation_level=None, timeout=30)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA synchronous = NORMAL")
        _local.conn = conn
    return conn


@app.post("/items")
def insert():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        return jsonify({"error": "name (string) is required"}), 400
    conn = _conn()
    conn.execute("BEGIN IMMEDIATE")
    try:
        cur = conn.execute("INSERT INTO items (name, body) VALUES (?, ?)", [body["name"], json.dumps(body)])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return jsonify({"id": cur.lastrowid, **body}), 201


@app.get("/health")
def health():
    _conn()
    return jsonify({"status": "ok"})
