"""SQLite state through sqlite-utils: one connection per process, WAL, migrations, one transaction per write.

Every table a system declares has a ``sandbox`` column first in its primary key, and every query the
platform makes filters on it. Systems declare tables with :class:`Table`; the store creates them,
migrates them and lets snapshots, reset and delete treat every table the same way.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading
import time
import weakref
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils
from sqlite_utils.db import jsonify_if_needed, quote_identifier
from sqlite_utils.utils import dedupe_keys

from .gate import GATE

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: processes coordinate by SQLite's busy timeout alone
    fcntl = None  # type: ignore[assignment]

SCHEMA_VERSION = 1


class _Table(sqlite_utils.db.Table):
    """sqlite-utils' Table, except that ``insert(record)`` of one non-empty dict into an existing table, with
    no options, is one ``INSERT`` (sqlite-utils wraps it in a savepoint and re-derives the columns: ~0.3 ms).
    Values are converted as sqlite-utils converts them (``jsonify_if_needed``); ``last_rowid`` and
    ``last_pk`` are set as sqlite-utils sets them when no ``pk`` is given (both the new rowid). A single
    statement that fails is undone by SQLite itself, as the savepoint did. Anything else: sqlite-utils."""

    def insert(self, record: Any, *args: Any, **kwargs: Any) -> sqlite_utils.db.Table:  # type: ignore[override]
        if args or kwargs or not isinstance(record, dict) or not record or self._defaults.get("pk") \
                or not self.exists():
            return super().insert(record, *args, **kwargs)
        keys = list(record)
        sql = (f"INSERT INTO {quote_identifier(self.name)} ({', '.join(quote_identifier(k) for k in keys)}) "
               f"VALUES ({', '.join('?' * len(keys))})")
        cursor = self.db.execute(sql, [jsonify_if_needed(record[k]) for k in keys])
        self.last_rowid = cursor.lastrowid
        self.last_pk = self.last_rowid
        return self


class _Database(sqlite_utils.Database):
    """sqlite-utils' Database, except that ``query()`` runs a plain SELECT without the savepoint it wraps
    every statement in (there to roll back a statement that turns out to write; a SELECT cannot): one
    round trip per read instead of three. Anything else goes through sqlite-utils unchanged."""

    # sqlite-utils reads sqlite_master for the table and view names on every db["t"] and insert (three
    # statements per insert). The names change only by DDL, which runs through this connection at start-up
    # (Store.register: every process registers the same tables; no code creates or drops tables later):
    # they are kept until this connection runs DDL.
    _names: dict[str, list[str]] | None = None

    def table_names(self, fts4: bool = False, fts5: bool = False) -> list[str]:
        if fts4 or fts5:
            return super().table_names(fts4=fts4, fts5=fts5)
        return list(self._cached_names("table"))

    def view_names(self) -> list[str]:
        return list(self._cached_names("view"))

    def _cached_names(self, kind: str) -> list[str]:
        if self._names is None:
            self._names = {}
        names = self._names.get(kind)
        if names is None:
            names = self._names[kind] = [r[0] for r in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = ?", [kind]).fetchall()]
        return names

    def table(self, table_name: str, **kwargs: Any) -> sqlite_utils.db.Table:  # type: ignore[override]
        if kwargs or table_name in self._cached_names("view"):
            return super().table(table_name, **kwargs)
        return _Table(self, table_name)

    def forget_names(self) -> None:
        self._names = None

    def execute(self, sql: str, parameters: Any = None) -> sqlite3.Cursor:  # type: ignore[override]
        if sql.lstrip()[:4].upper() in ("CREA", "DROP", "ALTE"):
            self._names = None
        return super().execute(sql, parameters)

    def executescript(self, sql: str) -> sqlite3.Cursor:  # type: ignore[override]
        self._names = None
        return super().executescript(sql)

    def query(self, sql: str, params: Any = None) -> Iterator[dict[str, Any]]:  # type: ignore[override]
        if self._tracer is None and sql.lstrip()[:7].upper() in ("SELECT ", "SELECT\n", "SELECT\t"):
            cursor = self.conn.execute(sql, params if params is not None else ())
            keys = [d[0] for d in cursor.description]
            if len(set(keys)) != len(keys):
                keys = dedupe_keys(keys)
            return (dict(zip(keys, row, strict=True)) for row in cursor)
        return super().query(sql, params)


class _Pending:
    """A statement handed to ``Store.write_one``, waiting for its batch."""

    __slots__ = ("sql", "params", "ready", "finished", "cursor", "error")

    def __init__(self, sql: str, params: Any) -> None:
        self.sql, self.params = sql, params
        self.ready = threading.Event()
        self.finished = False
        self.cursor: sqlite3.Cursor | None = None
        self.error: BaseException | None = None

    def result(self) -> sqlite3.Cursor:
        if self.error is not None:
            raise self.error
        assert self.cursor is not None
        return self.cursor


@dataclass(frozen=True)
class Table:
    """A table owned by one system (or the platform). ``columns`` exclude ``sandbox``, which is added."""

    name: str
    columns: dict[str, type]
    pk: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    json_columns: tuple[str, ...] = ()
    # part of a snapshot and of a reset (sandbox state); the journal, faults and snapshots are not
    state: bool = True
    # migrations: version -> list of SQL statements run once when the stored version is lower
    migrations: dict[int, list[str]] = field(default_factory=dict)
    version: int = 1


_STORES: weakref.WeakSet[Store] = weakref.WeakSet()

# WAL checkpoints run in a background thread of each process, not in the commit that happens to cross
# SQLite's 1,000-page mark: a checkpoint copies the WAL into the database file and syncs both, which cost
# a request 10-30 ms at the worst and about 40 % of an insert's average time (measured: 62 -> 44 µs per
# 2 KB insert, 197 -> 89 µs per 20 KB insert, autocheckpoint on vs off)
CHECKPOINT_PAGES = 1000
CHECKPOINT_POLL = 0.1  # seconds between looks at the WAL's size
WAL_RESTART_PAGES = 4 * CHECKPOINT_PAGES  # past this, checkpoint with writers held off (see _Checkpointer)
WAL_BACKSTOP_PAGES = 20 * CHECKPOINT_PAGES  # SQLite checkpoints in the commit itself past this (80 MB)
WAL_RESTART_GRACE = 0.002  # seconds writers stay held off after it, for readers to leave the WAL


class _Checkpointer(threading.Thread):
    """Checkpoints (PASSIVE: never waits for readers or writers) ``path``'s WAL once it holds more than
    ``CHECKPOINT_PAGES`` pages, on its own connection. Stops with ``stop()`` or when its store is gone."""

    def __init__(self, store: Store) -> None:
        super().__init__(name="trainsim-checkpointer", daemon=True)
        self.path = store.path
        self.store_ref = weakref.ref(store)
        self.stopping = threading.Event()

    def run(self) -> None:
        wal = self.path + "-wal"
        conn: sqlite3.Connection | None = None
        last = None
        try:
            while not self.stopping.wait(CHECKPOINT_POLL) and self.store_ref() is not None:
                try:
                    st = os.stat(wal)
                except OSError:
                    continue
                # the WAL is truncated to journal_size_limit when a writer restarts it after a complete
                # checkpoint, so its size tells how much it holds; unchanged since the last look: nothing new
                if st.st_size < CHECKPOINT_PAGES * 4096 or (st.st_size, st.st_mtime_ns) == last:
                    continue
                last = (st.st_size, st.st_mtime_ns)
                try:
                    if conn is None:
                        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                               timeout=5)
                    if st.st_size < WAL_RESTART_PAGES * 4096:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    else:
                        # under steady reads and writes a checkpoint always ends behind the newest
                        # commit, or a reader still holds a snapshot in the WAL when the next writer
                        # comes, so no writer starts the WAL over and it only grows (1.7 GB after the
                        # scale benchmark). Past the mark: checkpoint with writers held off (the write
                        # lock), and hold them a moment longer, while the readers of older snapshots
                        # finish (new ones read the database file): the next writer starts the WAL over
                        # (the bulk of the copying and its syncs first, without holding anyone off)
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                        store = self.store_ref()
                        if store is None:
                            break
                        with store._exclusive():
                            for _ in range(10):  # readers of older snapshots block the last frames
                                _, frames, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                                if done >= frames:
                                    break
                                time.sleep(WAL_RESTART_GRACE / 2)
                            time.sleep(WAL_RESTART_GRACE)
                        del store
                except sqlite3.Error:
                    pass  # busy (another process checkpoints) or the file went away: try again later
        finally:
            if conn is not None:
                conn.close()

    def stop(self) -> None:
        self.stopping.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=5)


def _reset_after_fork() -> None:
    for store in list(_STORES):
        store._after_fork()


os.register_at_fork(after_in_child=_reset_after_fork)


class Store:
    """The state database. ``path`` is a file path or ``:memory:``.

    A file database gives each thread its own connection: readers never wait for one another or for a
    writer (WAL). A write first takes the process's re-entrant lock (its threads) and then an exclusive
    ``flock`` on ``<path>-lock`` (the processes of ``trainsim serve``), so writers queue where the lock is
    handed over the moment it is released, not in SQLite's busy handler, which sleeps 1 ms and more between
    tries (measured: with two workers journaling every call, the busy handler's sleeps, not CPU, bounded
    throughput). Any other process writing the file still coordinates through SQLite's own locks
    (``BEGIN IMMEDIATE`` + busy timeout). A ``:memory:`` database exists only in its connection: there every
    thread shares one, each access under the lock.

    Connections are opened on first use in each process and thread: a store built before a fork (``trainsim
    serve`` builds the app once in the parent, then forks its workers) never shares a connection with a
    child; the child opens its own (an SQLite connection must not cross a fork).
    """

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self.memory = path == ":memory:"
        if not self.memory:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._lock = threading.RLock()
        self._local = threading.local()
        self._shared: _Database | None = None  # the one connection of a :memory: database
        self._open_dbs: weakref.WeakSet[_Database] = weakref.WeakSet()  # this process's, to close them all
        self._pid = os.getpid()
        # connections a parent opened, kept referenced (never closed) in a forked child
        self._inherited: list[Any] = []
        self._checkpointer: _Checkpointer | None = None
        self._lock_fd: int | None = None  # <path>-lock, opened per process
        self._locked = False  # this process holds the flock (only ever touched under self._lock)
        self._pending_lock = threading.Lock()  # write_one's group commit
        self._pending: list[_Pending] = []
        self._leading = False
        self.tables: dict[str, Table] = {}
        _STORES.add(self)
        self._open()  # opened now: the file exists and is in WAL mode once the store is built

    def _connect(self) -> _Database:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        conn.execute("PRAGMA busy_timeout = 30000")
        if not self.memory:
            # switching a new file to WAL takes an exclusive lock that the busy timeout does not wait
            # for: when another process is creating the same file at that moment, try again
            for attempt in range(100):
                try:
                    conn.execute("PRAGMA journal_mode = WAL")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or attempt == 99:
                        raise
                    time.sleep(0.05)
            conn.execute("PRAGMA synchronous = NORMAL")
            # the checkpointer thread does it; SQLite's own, in the committing connection, only as a backstop
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_BACKSTOP_PAGES}")
            conn.execute(f"PRAGMA journal_size_limit = {CHECKPOINT_PAGES * 4096 // 4}")
        conn.execute("PRAGMA foreign_keys = OFF")
        return _Database(conn)

    def _open(self) -> _Database:
        """This thread's connection (a :memory: database's only one), opened on first use."""
        if self.memory:
            if self._shared is None:
                with self._lock:
                    if self._shared is None:
                        self._shared = self._connect()
            return self._shared
        db = getattr(self._local, "db", None)
        if db is not None:
            return db
        db = self._connect()
        self._local.db = db
        self._local.depth = 0
        with self._lock:
            self._open_dbs.add(db)
            if self._checkpointer is None:
                self._checkpointer = _Checkpointer(self)
                self._checkpointer.start()
        return db

    @property
    def db(self) -> _Database:
        return self._open()

    def _after_fork(self) -> None:
        """In a forked child, before any of its threads run (``os.register_at_fork``): new locks, no
        connection (each thread's next use opens one); the parent's stay open in the parent. A ``:memory:``
        database exists only in its connection: the child keeps its copy, as before."""
        if self.memory:
            return
        self._inherited.append((self._local, list(self._open_dbs)))
        self._local = threading.local()
        self._open_dbs = weakref.WeakSet()
        self._checkpointer = None  # the parent's thread did not come along; the next _open starts one
        self._lock = threading.RLock()
        if self._lock_fd is not None:  # the parent's descriptor: the child opens its own
            os.close(self._lock_fd)
            self._lock_fd = None
        self._locked = False
        self._pending_lock = threading.Lock()
        self._pending = []
        self._leading = False
        self._pid = os.getpid()

    # -- transactions -----------------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[sqlite_utils.Database]:
        """Reads outside a write see the last committed state; inside one, the write's own changes too."""
        if self.memory:
            with self._lock:
                yield self._open()
            return
        yield self._open()

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """The right to write: this process's lock, then (outermost only) the file lock across processes."""
        if not self._lock.acquire(blocking=False):
            with GATE.waiting():  # another thread writes: let the others of this process run meanwhile
                self._lock.acquire()
        try:
            if self.memory or self._locked or fcntl is None:
                yield
                return
            if self._lock_fd is None:
                self._lock_fd = os.open(self.path + "-lock", os.O_RDWR | os.O_CREAT, 0o644)
            # waited for inside the gate (gate.py): another process holds it for one commit, and a thread
            # that stepped out would come back behind this process's other calls, holding the lock meanwhile
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            self._locked = True
            try:
                yield
            finally:
                self._locked = False
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    @contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """One atomic transaction: everything inside lands whole or not at all. Nested calls join it."""
        with self._exclusive():
            db = self._open()
            local = self._local
            if getattr(local, "depth", 0):
                local.depth += 1
                try:
                    yield db
                finally:
                    local.depth -= 1
                return
            db.conn.execute("BEGIN IMMEDIATE")
            local.depth = 1
            try:
                yield db
            except BaseException:
                local.depth = 0
                if db.conn.in_transaction:
                    db.conn.execute("ROLLBACK")
                db.forget_names()  # a rolled-back CREATE must not stay in the names
                raise
            local.depth = 0
            db.conn.execute("COMMIT")

    def write_one(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        """One statement that lands whole or not at all, committed before this returns; inside a ``write()``
        it joins that transaction.

        Group commit: the statements that threads of this process hand in while another thread is
        writing wait for it, and then one of them writes them all in one transaction (one lock hand-over
        and one commit for the lot, instead of one each: under load half of all journal writes waited
        for the lock, 4.3 ms on average, the holder needing the GIL back before it could let go). Should
        that transaction fail, each statement is run again on its own, so one failing statement never
        takes another down."""
        if self.memory or getattr(self._local, "depth", 0):
            with self._exclusive():
                return self._open().conn.execute(sql, params)
        with self._pending_lock:
            lead = not self._leading
            self._leading = True
            if not lead:
                item = _Pending(sql, params)
                self._pending.append(item)
        if lead:  # nobody else writing (the usual case, the gate letting one thread in at a time): now
            try:
                with self._exclusive():
                    return self._open().conn.execute(sql, params)
            finally:
                self._hand_over()
        with GATE.waiting():
            item.ready.wait()
        if item.finished:
            return item.result()
        self._lead()  # handed the lead: this thread writes the next batch (holding its own statement)
        return item.result()

    def _lead(self) -> None:
        """Write the batch waiting now, then hand the lead to the oldest newcomer (or give it up)."""
        with self._pending_lock:
            batch, self._pending = self._pending, []
        try:
            self._write_batch(batch)
        finally:
            for item in batch:
                if item.cursor is None and item.error is None:  # the writing thread was interrupted
                    item.error = sqlite3.OperationalError("the statement was not written: its batch was interrupted")
                item.finished = True
                item.ready.set()
            self._hand_over()

    def _hand_over(self) -> None:
        """The lead to the oldest statement handed in meanwhile (it writes the next batch), or given up."""
        with self._pending_lock:
            if self._pending:
                self._pending[0].ready.set()  # not finished: it leads next
            else:
                self._leading = False

    def _write_batch(self, batch: list[_Pending]) -> None:
        try:
            if len(batch) == 1:
                with self._exclusive():
                    batch[0].cursor = self._open().conn.execute(batch[0].sql, batch[0].params)
                return
            with self.write() as db:
                for item in batch:
                    item.cursor = db.conn.execute(item.sql, item.params)
            return
        except Exception:  # noqa: BLE001 - each statement again on its own, with its own outcome
            if len(batch) == 1:
                batch[0].error = sys.exc_info()[1]
                return
        for item in batch:
            item.cursor = None
            try:
                with self._exclusive():
                    item.cursor = self._open().conn.execute(item.sql, item.params)
            except Exception as exc:  # noqa: BLE001 - raised in the thread that handed it in
                item.error = exc

    def close(self) -> None:
        """Close this process's connections; a file store opens new ones on their next use."""
        with self._lock:
            if self._checkpointer is not None:
                self._checkpointer.stop()
                self._checkpointer = None
            if self._pid == os.getpid():
                for db in list(self._open_dbs):
                    db.conn.close()
                if self._shared is not None:
                    self._shared.conn.close()
            if self._lock_fd is not None and not self._locked:
                os.close(self._lock_fd)
                self._lock_fd = None
            self._open_dbs = weakref.WeakSet()
            self._local = threading.local()
            self._shared = None

    # -- schema -----------------------------------------------------------------------------------

    def companion(self, name: str) -> Store:
        """A store of its own beside this one: ``state.db`` -> ``state.<name>.db`` (in memory for an
        in-memory store). Its writes do not touch this file, so they cost this store's readers nothing."""
        if self.memory:
            return Store(":memory:")
        root, ext = os.path.splitext(self.path)
        return Store(f"{root}.{name}{ext or '.db'}")

    def register(self, tables: list[Table], retired: tuple[str, ...] = ()) -> None:
        """Create or migrate the given tables (idempotent; safe when several processes start at once), and
        drop the ``retired`` ones (tables that moved elsewhere) if this database still holds them.

        A database that already holds every table at its version, and none retired, is only read: no write
        transaction, which would wait for any other process's write (a demo sandbox being seeded, at start-up)."""
        for table in tables:
            self.tables[table.name] = table
        if self._registered(tables, retired):
            self._open().forget_names()  # as the write below does: another process may have created them
            return
        with self.write() as db:
            db.forget_names()  # another process may have created tables since this connection last looked
            for name in retired:
                db.execute(f'DROP TABLE IF EXISTS "{name}"')
            if "_schema" not in db.table_names():
                db["_schema"].create({"component": str, "version": int}, pk="component")
            elif retired:
                db.execute(f"DELETE FROM _schema WHERE component IN ({', '.join('?' * len(retired))})", list(retired))
            for table in tables:
                row = list(db.query("SELECT version FROM _schema WHERE component = ?", [table.name]))
                if table.name not in db.table_names():
                    columns: dict[str, Any] = {"sandbox": str, **table.columns}
                    if table.pk == ("id",) and table.columns.get("id") is int:
                        # an INTEGER PRIMARY KEY: SQLite assigns ids; rows still carry their sandbox, found
                        # by an index that starts with it (a declared one does: each below starts with
                        # sandbox; a lone one besides would cost every insert a write and help no query)
                        db[table.name].create(columns, pk="id")
                        if not table.indexes:
                            db[table.name].create_index(["sandbox"], if_not_exists=True)
                    else:
                        db[table.name].create(columns, pk=("sandbox", *table.pk))
                    for cols in table.indexes:
                        db[table.name].create_index(["sandbox", *cols], if_not_exists=True)
                    for cols in table.unique:
                        db[table.name].create_index(list(cols), unique=True, if_not_exists=True)
                    db["_schema"].upsert({"component": table.name, "version": table.version}, pk="component")
                    continue
                stored = row[0]["version"] if row else 1
                for version in sorted(v for v in table.migrations if v > stored):
                    for sql in table.migrations[version]:
                        db.execute(sql)
                if stored < table.version:
                    db["_schema"].upsert({"component": table.name, "version": table.version}, pk="component")
            db["_schema"].upsert({"component": "_store", "version": SCHEMA_VERSION}, pk="component")

    def _registered(self, tables: list[Table], retired: tuple[str, ...] = ()) -> bool:
        """Whether every table exists at its version or later, none of the retired ones does, and the
        store's own schema is current."""
        with self.read() as db:
            names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}
            if "_schema" not in names or names.intersection(retired):
                return False
            versions = dict(db.execute("SELECT component, version FROM _schema").fetchall())
        return versions.get("_store") == SCHEMA_VERSION and all(
            t.name in names and versions.get(t.name, 1) >= t.version for t in tables)

    def state_tables(self) -> list[Table]:
        return [t for t in self.tables.values() if t.state]

    def delete_sandbox_rows(self, db: sqlite_utils.Database, sandbox: str, *, state_only: bool) -> None:
        for table in self.tables.values():
            if state_only and not table.state:
                continue
            db.execute(f'DELETE FROM "{table.name}" WHERE sandbox = ?', [sandbox])

    def integrity_check(self) -> str:
        with self.read() as db:
            return db.execute("PRAGMA integrity_check").fetchone()[0]


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def loads(text: str | None, default: Any = None) -> Any:
    if text is None or text == "":
        return default
    return json.loads(text)


def pack(text: str, over: int = 0, level: int = 1) -> str | bytes:
    """Text as stored: as it is up to ``over`` characters, zlib-compressed UTF-8 (a BLOB) beyond."""
    if len(text) <= over:
        return text
    return zlib.compress(text.encode("utf-8", "surrogatepass"), level)


def unpack(value: str | bytes | None) -> str | None:
    """The text of a stored value: :func:`pack`'s inverse (a value stored as text comes back as it is)."""
    if isinstance(value, bytes):
        return zlib.decompress(value).decode("utf-8", "surrogatepass")
    return value
