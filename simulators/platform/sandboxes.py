"""Sandboxes: isolated worlds with their own credentials, data and clock; credential -> sandbox lookup.

Credentials are random and unique across the server (a unique index guards it); seeded data comes
from fixtures and Faker under the sandbox's seed, so the same seed gives the same names, ids and UUIDs.
The ``demo`` sandbox takes its credentials from ``fixtures/accounts.json`` so they can be documented.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from .errors import Invalid, NotFound
from .store import Table, dumps, loads
from .timeutil import iso, utcnow

if TYPE_CHECKING:  # pragma: no cover
    from faker import Faker

    from .runtime import Platform

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

SANDBOX_TABLE = Table(
    name="_sandboxes",
    columns={"id": str, "name": str, "seed": int, "fixtures": str, "created_at": str,
             "clock_offset": float, "clock_frozen_at": str, "settings": str},
    pk=(),
    unique=(("id",),),
    state=False,
)
CREDENTIAL_TABLE = Table(
    name="_credentials",
    columns={"system": str, "slot": str, "key": str, "secret": str, "data": str},
    pk=("system", "slot"),
    unique=(("system", "key"),),
    state=False,
)


@cache
def fixture(name: str) -> Any:
    """A fixture file's JSON (read once; the one source of truth for seed and reference data)."""
    with open(FIXTURES / f"{name}.json", encoding="utf-8") as fh:
        return json.load(fh)


@dataclass
class Credential:
    sandbox: str
    system: str
    slot: str
    key: str
    secret: str
    data: dict[str, Any]


_FAKERS = threading.local()
# the Faker providers seed functions draw from (names, addresses, emails, dates of birth; company names
# make email domains): a Faker with all ~25 loads each one's locale module, ~25 ms per locale on the demo
# seeding's path to a healthy server; a method of a provider not listed raises AttributeError at once
SEED_PROVIDERS = tuple(f"faker.providers.{name}" for name in ("person", "address", "internet", "company",
                                                                "date_time"))


def _faker(locale: str) -> Faker:
    """A Faker for ``locale`` with :data:`SEED_PROVIDERS`, made once per thread and reseeded by each use:
    ``seed_instance`` restarts its random sequence, so a reused instance gives exactly what a new one
    seeded alike would (providers draw nothing when they are loaded, so fewer of them change no draw).
    Per thread, so two seedings never interleave draws. Faker itself is imported on the first seeding,
    not when the server starts."""
    cache = getattr(_FAKERS, "by_locale", None)
    if cache is None:
        cache = _FAKERS.by_locale = {}
    if locale not in cache:
        from faker import Faker

        cache[locale] = Faker(locale, providers=list(SEED_PROVIDERS))
    return cache[locale]


@dataclass
class SeedContext:
    """What a system's seed function gets: the transaction, the sandbox and reproducible randomness."""

    platform: Platform
    db: sqlite_utils.Database
    sandbox: str
    seed: int
    fixtures: str  # "demo" (sample records) or "empty" (only accounts and reference data)
    now: datetime

    def random(self, stream: str) -> random.Random:
        digest = hashlib.sha256(f"{self.seed}:{stream}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def faker(self, stream: str, locale: str = "en_GB") -> Faker:
        fake = _faker(locale)
        fake.seed_instance(self.random(stream).getrandbits(64))
        return fake

    def uuid(self, rng: random.Random) -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    @staticmethod
    def fixture(name: str) -> Any:
        return fixture(name)

    def credential(self, system: str, slot: str, *, key_prefix: str = "", data: dict | None = None) -> Credential:
        """The sandbox's credential in ``slot``: kept across resets, stable for ``demo``, else random."""
        row = self.db.execute(
            "SELECT key, secret, data FROM _credentials WHERE sandbox = ? AND system = ? AND slot = ?",
            [self.sandbox, system, slot]).fetchone()
        if row:
            if data is not None:
                self.db.execute("UPDATE _credentials SET data = ? WHERE sandbox = ? AND system = ? AND slot = ?",
                                [dumps(data), self.sandbox, system, slot])
            return Credential(self.sandbox, system, slot, row[0], row[1], data if data is not None else loads(row[2], {}))
        stable = fixture("accounts").get(system, {}).get(slot) if self.sandbox == "demo" else None
        for _ in range(5):
            key = stable["key"] if stable else f"{key_prefix}{secrets.token_hex(6)}"
            secret = stable["secret"] if stable else secrets.token_urlsafe(18)
            try:
                self.db["_credentials"].insert({"sandbox": self.sandbox, "system": system, "slot": slot,
                                                "key": key, "secret": secret, "data": dumps(data or {})})
                return Credential(self.sandbox, system, slot, key, secret, data or {})
            except sqlite3.IntegrityError:
                if stable:
                    raise
        raise RuntimeError("could not generate a unique credential")  # pragma: no cover


class Sandboxes:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.store = platform.store

    def create(self, name: str | None = None, seed: int | None = None, fixtures: str = "demo",
               sandbox_id: str | None = None) -> dict[str, Any]:
        if fixtures not in ("demo", "empty"):
            raise Invalid(f"fixtures must be 'demo' or 'empty', got {fixtures!r}", field="fixtures")
        if seed is None:
            seed = secrets.randbelow(2**31)
        with self.store.write() as db:
            for _ in range(5):
                sid = sandbox_id or f"sbx-{secrets.token_hex(3)}"
                if not db.execute("SELECT 1 FROM _sandboxes WHERE id = ?", [sid]).fetchone():
                    break
                if sandbox_id:
                    raise Invalid(f"sandbox {sid!r} already exists", field="id")
            if name is None:
                name = sid
            db["_sandboxes"].insert({"sandbox": sid, "id": sid, "name": name, "seed": seed, "fixtures": fixtures,
                                     "created_at": iso(utcnow()), "clock_offset": 0.0, "clock_frozen_at": None,
                                     "settings": "{}"})
            self._seed(db, sid, seed, fixtures)
        return self.get(sid)

    def _seed(self, db: sqlite_utils.Database, sid: str, seed: int, fixtures: str) -> None:
        now = self.platform.clock.now(sid, db)
        for system in self.platform.systems.values():
            system.seed(SeedContext(self.platform, db, sid, seed, fixtures, now))

    def ensure_demo(self) -> None:
        with self.store.read() as db:
            exists = db.execute("SELECT 1 FROM _sandboxes WHERE id = 'demo'").fetchone()
        if not exists:
            try:
                self.create(name="demo", seed=fixture("accounts").get("seed", 2026), sandbox_id="demo")
            except Invalid:  # another worker created it first
                pass

    def row(self, db: sqlite_utils.Database, sid: str) -> dict[str, Any]:
        rows = list(db.query("SELECT * FROM _sandboxes WHERE id = ?", [sid]))
        if not rows:
            raise NotFound(f"sandbox {sid!r} not found", field="id")
        return rows[0]

    def exists(self, sid: str) -> bool:
        with self.store.read() as db:
            return db.execute("SELECT 1 FROM _sandboxes WHERE id = ?", [sid]).fetchone() is not None

    def get(self, sid: str, host_url: str | None = None) -> dict[str, Any]:
        host = (host_url or self.platform.config.get("PUBLIC_URL") or "http://127.0.0.1:8300").rstrip("/")
        with self.store.read() as db:
            row = self.row(db, sid)
            return {
                "id": row["id"], "name": row["name"], "seed": row["seed"], "fixtures": row["fixtures"],
                "createdAt": row["created_at"],
                "baseUrls": {s.key: host + s.base_path for s in self.platform.systems.values()},
                "credentials": {s.key: s.credentials(self.platform, db, sid) for s in self.platform.systems.values()},
            }

    def list(self, limit: int = 100, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        with self.store.read() as db:
            total = db.execute("SELECT count(*) FROM _sandboxes").fetchone()[0]
            rows = list(db.query("SELECT id, name, seed, fixtures, created_at FROM _sandboxes "
                                 "ORDER BY created_at, id LIMIT ? OFFSET ?", [limit, offset]))
        return [{"id": r["id"], "name": r["name"], "seed": r["seed"], "fixtures": r["fixtures"],
                 "createdAt": r["created_at"]} for r in rows], total

    def reset(self, sid: str) -> dict[str, Any]:
        """Back to the seeded state: state, journal, faults, outbox and clock; credentials are kept."""
        with self.store.write() as db:
            row = self.row(db, sid)
            for table in self.store.tables.values():
                if table.name in ("_sandboxes", "_credentials", "_snapshots"):
                    continue
                db.execute(f'DELETE FROM "{table.name}" WHERE sandbox = ?', [sid])
            db.execute("UPDATE _sandboxes SET clock_offset = 0, clock_frozen_at = NULL, settings = '{}' "
                       "WHERE id = ?", [sid])
            self._seed(db, sid, row["seed"], row["fixtures"])
        self.platform.journal.forget(sid)  # in its own file (runtime.py): its own transaction
        return self.get(sid)

    def reset_all(self) -> int:
        with self.store.read() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM _sandboxes").fetchall()]
        for sid in ids:
            self.reset(sid)
        return len(ids)

    def delete(self, sid: str) -> None:
        with self.store.write() as db:
            self.row(db, sid)
            self.store.delete_sandbox_rows(db, sid, state_only=False)
        self.platform.journal.forget(sid)

    # -- credentials ------------------------------------------------------------------------------

    def lookup(self, system: str, key: str) -> Credential | None:
        """The credential with this key for this system, whichever sandbox holds it."""
        if not key:
            return None
        with self.store.read() as db:
            row = db.conn.execute("SELECT sandbox, slot, key, secret, data FROM _credentials WHERE system = ? "
                                  "AND key = ?", [system, key]).fetchone()
        if not row:
            return None
        return Credential(row[0], system, row[1], row[2], row[3], loads(row[4], {}))

    def credentials_of(self, db: sqlite_utils.Database, sid: str, system: str) -> list[Credential]:
        rows = db.execute("SELECT slot, key, secret, data FROM _credentials WHERE sandbox = ? AND system = ? "
                          "ORDER BY slot", [sid, system]).fetchall()
        return [Credential(sid, system, r[0], r[1], r[2], loads(r[3], {})) for r in rows]

    def settings(self, db: sqlite_utils.Database, sid: str) -> dict[str, Any]:
        return loads(self.row(db, sid)["settings"], {})

    def update_settings(self, db: sqlite_utils.Database, sid: str, **values: Any) -> None:
        current = self.settings(db, sid)
        current.update(values)
        db.execute("UPDATE _sandboxes SET settings = ? WHERE id = ?", [dumps(current), sid])
