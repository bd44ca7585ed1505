"""Snapshots: a sandbox's whole state (every state table) and its clock, saved and restored by name."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from .errors import Invalid, NotFound
from .store import Store, Table, dumps, loads, pack, unpack
from .timeutil import iso, parse_datetime, utcnow

SNAPSHOT_TABLE = Table(
    name="_snapshots",
    columns={"name": str, "created_at": str, "clock_offset": float, "clock_frozen_at": str,
             "frozen": int, "settings": str, "rows": int, "data": bytes},
    pk=("name",),
    state=False,
)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class Snapshots:
    def __init__(self, store: Store) -> None:
        self.store = store

    def save(self, sandbox: str, name: Any) -> dict[str, Any]:
        if not isinstance(name, str) or not NAME.match(name):
            raise Invalid(f"name must be 1-100 letters, digits, '.', '_' or '-', got {name!r}", field="name")
        with self.store.write() as db:
            clock = db.execute("SELECT clock_offset, clock_frozen_at, settings FROM _sandboxes WHERE id = ?",
                               [sandbox]).fetchone()
            if clock is None:
                raise NotFound(f"sandbox {sandbox!r} not found", field="id")
            data, count = {}, 0
            for table in self.store.state_tables():
                rows = [dict(r) for r in db.query(f'SELECT * FROM "{table.name}" WHERE sandbox = ?', [sandbox])]
                for r in rows:
                    for k, v in r.items():
                        if isinstance(v, bytes):
                            r[k] = {"__bytes__": v.hex()}
                data[table.name] = rows
                count += len(rows)
            # the sandbox time at the snapshot: restoring takes the clock back to it
            at = clock[1] or iso(datetime.fromtimestamp(time.time() + (clock[0] or 0), UTC))
            db["_snapshots"].upsert({
                "sandbox": sandbox, "name": name, "created_at": iso(utcnow()), "clock_offset": clock[0],
                "clock_frozen_at": at, "frozen": 1 if clock[1] else 0, "settings": clock[2], "rows": count,
                "data": pack(dumps(data), level=3)}, pk=("sandbox", "name"))
        return {"name": name, "createdAt": iso(utcnow()), "rows": count}

    def list(self, sandbox: str) -> list[dict[str, Any]]:
        with self.store.read() as db:
            rows = db.execute("SELECT name, created_at, rows FROM _snapshots WHERE sandbox = ? ORDER BY created_at",
                              [sandbox]).fetchall()
        return [{"name": r[0], "createdAt": r[1], "rows": r[2]} for r in rows]

    def restore(self, sandbox: str, name: str) -> dict[str, Any]:
        with self.store.write() as db:
            snap = db.execute("SELECT frozen, clock_frozen_at, settings, data, rows FROM _snapshots "
                              "WHERE sandbox = ? AND name = ?", [sandbox, name]).fetchone()
            if snap is None:
                raise NotFound(f"snapshot {name!r} not found", field="name")
            data = loads(unpack(snap[3]), {})
            for table in self.store.state_tables():
                db.execute(f'DELETE FROM "{table.name}" WHERE sandbox = ?', [sandbox])
                rows = data.get(table.name, [])
                for r in rows:
                    for k, v in r.items():
                        if isinstance(v, dict) and "__bytes__" in v:
                            r[k] = bytes.fromhex(v["__bytes__"])
                if rows:
                    db[table.name].insert_all(rows)
            at = parse_datetime(snap[1])
            offset = at.timestamp() - time.time()
            db.execute("UPDATE _sandboxes SET clock_offset = ?, clock_frozen_at = ?, settings = ? WHERE id = ?",
                       [offset, snap[1] if snap[0] else None, snap[2], sandbox])
        return {"name": name, "restored": True, "rows": snap[4]}

    def delete(self, sandbox: str, name: str) -> None:
        with self.store.write() as db:
            if not db.execute("DELETE FROM _snapshots WHERE sandbox = ? AND name = ?", [sandbox, name]).rowcount:
                raise NotFound(f"snapshot {name!r} not found", field="name")
