"""The per-sandbox simulated clock, and the work that falls due when it passes a time.

A sandbox's time is either wall time plus an offset, or a frozen instant. Systems schedule due work
(``schedule``) under a kind whose handler they register; due work runs when the clock is moved and,
lazily, at the start of every request to a simulated API, so nothing depends on a background thread.
Rules that only compare times (token expiry, link expiry, confirmation delay) read ``now`` directly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from .errors import Invalid, NotFound
from .store import Store, Table, dumps, loads
from .timeutil import iso, parse_datetime

DueHandler = Callable[[sqlite_utils.Database, str, dict, datetime], None]

DUE_TABLE = Table(
    name="_due",
    columns={"id": int, "due_at": str, "kind": str, "ref": str, "payload": str},
    pk=("id",),
    indexes=(("due_at",), ("kind", "ref")),
)


class Clock:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.handlers: dict[str, DueHandler] = {}
        # per thread: (sandbox, clock row) read by ``enter`` at the start of a simulated-API call; ``now``
        # answers from it until ``unpin`` (the app's teardown of that request) instead of a query each time
        self._pinned = threading.local()

    def on_due(self, kind: str, handler: DueHandler) -> None:
        self.handlers[kind] = handler

    # -- reading ----------------------------------------------------------------------------------

    def _row(self, db: sqlite_utils.Database, sandbox: str) -> dict[str, Any]:
        rows = db.execute(
            "SELECT clock_offset, clock_frozen_at FROM _sandboxes WHERE id = ?", [sandbox]
        ).fetchall()
        if not rows:
            raise NotFound(f"sandbox {sandbox!r} not found", field="id")
        return {"offset": rows[0][0] or 0.0, "frozen_at": rows[0][1]}

    @staticmethod
    def _now_from(row: dict[str, Any]) -> datetime:
        if row["frozen_at"]:
            return parse_datetime(row["frozen_at"])
        return datetime.fromtimestamp(time.time() + row["offset"], UTC)

    def now(self, sandbox: str, db: sqlite_utils.Database | None = None) -> datetime:
        """The sandbox's time. During a simulated-API call, from the clock row read when the call began
        (the call happens at the instant it arrived, whatever the control plane does meanwhile)."""
        pinned = getattr(self._pinned, "row", None)
        if pinned is not None and pinned[0] == sandbox:
            return self._now_from(pinned[1])
        if db is not None:
            return self._now_from(self._row(db, sandbox))
        with self.store.read() as rdb:
            return self._now_from(self._row(rdb, sandbox))

    def state(self, sandbox: str) -> dict[str, Any]:
        with self.store.read() as db:
            row = self._row(db, sandbox)
        return {"now": iso(self._now_from(row)), "frozen": bool(row["frozen_at"]),
                "offsetSeconds": round(self._offset(row), 3)}

    @staticmethod
    def _offset(row: dict[str, Any]) -> float:
        if row["frozen_at"]:
            return parse_datetime(row["frozen_at"]).timestamp() - time.time()
        return float(row["offset"])

    # -- moving -----------------------------------------------------------------------------------

    def _store_state(self, db: sqlite_utils.Database, sandbox: str, offset: float, frozen_at: str | None) -> None:
        db.execute("UPDATE _sandboxes SET clock_offset = ?, clock_frozen_at = ? WHERE id = ?",
                   [offset, frozen_at, sandbox])

    def advance(self, sandbox: str, seconds: float) -> dict[str, Any]:
        """Move the clock forward; the simulated clock never runs backwards by ``advance``."""
        if seconds < 0:
            raise Invalid(f"advance must not be negative, got {seconds:g} seconds", field="advance")
        if seconds > 100 * 365 * 86400:
            raise Invalid(f"advance must be at most 100 years, got {seconds:g} seconds", field="advance")
        with self.store.write() as db:
            row = self._row(db, sandbox)
            if row["frozen_at"]:
                frozen = parse_datetime(row["frozen_at"]) + timedelta(seconds=seconds)
                self._store_state(db, sandbox, row["offset"], iso(frozen))
            else:
                self._store_state(db, sandbox, row["offset"] + seconds, None)
        self.run_due(sandbox)
        return self.state(sandbox)

    def set(self, sandbox: str, when: datetime) -> dict[str, Any]:
        if not datetime(1970, 1, 2, tzinfo=UTC) <= when <= datetime(2199, 12, 31, tzinfo=UTC):
            raise Invalid(f"set must be between 1970-01-02 and 2199-12-31, got {iso(when)}", field="set")
        with self.store.write() as db:
            row = self._row(db, sandbox)
            if row["frozen_at"]:
                self._store_state(db, sandbox, row["offset"], iso(when))
            else:
                self._store_state(db, sandbox, when.timestamp() - time.time(), None)
        self.run_due(sandbox)
        return self.state(sandbox)

    def freeze(self, sandbox: str) -> dict[str, Any]:
        with self.store.write() as db:
            row = self._row(db, sandbox)
            if not row["frozen_at"]:
                self._store_state(db, sandbox, row["offset"], iso(self._now_from(row)))
        return self.state(sandbox)

    def unfreeze(self, sandbox: str) -> dict[str, Any]:
        with self.store.write() as db:
            row = self._row(db, sandbox)
            if row["frozen_at"]:
                self._store_state(db, sandbox, parse_datetime(row["frozen_at"]).timestamp() - time.time(), None)
        return self.state(sandbox)

    def reset(self, sandbox: str) -> dict[str, Any]:
        with self.store.write() as db:
            self._row(db, sandbox)
            self._store_state(db, sandbox, 0.0, None)
        return self.state(sandbox)

    # -- due work ---------------------------------------------------------------------------------

    def schedule(self, db: sqlite_utils.Database, sandbox: str, at: datetime, kind: str,
                 ref: str = "", payload: dict | None = None) -> None:
        """Run ``kind``'s handler once the sandbox clock reaches ``at`` (inside the caller's transaction)."""
        if kind not in self.handlers:
            raise KeyError(f"no due handler registered for {kind!r}")
        db["_due"].insert({"sandbox": sandbox, "due_at": iso(at), "kind": kind, "ref": ref,
                           "payload": dumps(payload or {})})

    def unschedule(self, db: sqlite_utils.Database, sandbox: str, kind: str, ref: str) -> None:
        db.execute("DELETE FROM _due WHERE sandbox = ? AND kind = ? AND ref = ?", [sandbox, kind, ref])

    def pending(self, sandbox: str) -> list[dict[str, Any]]:
        """The work still scheduled (the first 100), soonest first."""
        with self.store.read() as db:
            return [{"dueAt": r[0], "kind": r[1], "ref": r[2]} for r in db.execute(
                "SELECT due_at, kind, ref FROM _due WHERE sandbox = ? ORDER BY due_at, id LIMIT 100",
                [sandbox]).fetchall()]

    def enter(self, sandbox: str) -> tuple[bool, list[str]]:
        """The start of a simulated-API call, in one read: the clock (pinned for this thread until
        ``unpin``), due work (run), whether the sandbox has any fault rule (``Faults.pick`` needs no query
        of its own when it has none) and the sandbox's credential secrets (for the journal's masking).
        Returns (whether a fault rule exists, secrets). Nothing is kept between calls."""
        self._pinned.row = None
        with self.store.read() as db:
            row = db.conn.execute(
                "SELECT clock_offset, clock_frozen_at, (SELECT min(due_at) FROM _due WHERE sandbox = ?), "
                "EXISTS (SELECT 1 FROM _faults WHERE sandbox = ?), (SELECT json_group_array(secret) FROM "
                "_credentials WHERE sandbox = ? AND secret IS NOT NULL AND secret != '') "
                "FROM _sandboxes WHERE id = ?", [sandbox, sandbox, sandbox, sandbox]).fetchone()
        self._run_due(sandbox, row)
        self._pinned.row = (sandbox, {"offset": row[0] or 0.0, "frozen_at": row[1]})
        return bool(row[3]), loads(row[4], [])

    def unpin(self) -> None:
        self._pinned.row = None

    def run_due(self, sandbox: str) -> int:
        """Run every piece of work whose time has come, oldest first, each in the same transaction as
        its removal (so a crash never runs one twice or loses one). Returns how many ran."""
        with self.store.read() as db:
            # one round trip on the hot path: the clock and the earliest due time (index on sandbox, due_at)
            row = db.execute(
                "SELECT clock_offset, clock_frozen_at, (SELECT min(due_at) FROM _due WHERE sandbox = ?) "
                "FROM _sandboxes WHERE id = ?", [sandbox, sandbox]).fetchone()
        return self._run_due(sandbox, row)

    def _run_due(self, sandbox: str, row: Any) -> int:
        if row is None:
            raise NotFound(f"sandbox {sandbox!r} not found", field="id")
        if row[2] is None or row[2] > iso(self._now_from({"offset": row[0] or 0.0, "frozen_at": row[1]})):
            return 0
        ran = 0
        with self.store.write() as db:
            now = self.now(sandbox, db)
            rows = list(db.query(
                "SELECT id, due_at, kind, payload FROM _due WHERE sandbox = ? AND due_at <= ? ORDER BY due_at, id",
                [sandbox, iso(now)]))
            for row in rows:
                handler = self.handlers.get(row["kind"])
                db.execute("DELETE FROM _due WHERE sandbox = ? AND id = ?", [sandbox, row["id"]])
                if handler is not None:
                    handler(db, sandbox, loads(row["payload"], {}), parse_datetime(row["due_at"]))
                ran += 1
        return ran
