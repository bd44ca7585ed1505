"""The platform object: one store and the shared services, wired to the registered systems."""

from __future__ import annotations

from typing import Any

from .clock import DUE_TABLE, Clock
from .faults import FAULT_TABLE, Faults
from .journal import JOURNAL_TABLE, Journal
from .outbox import EMAIL_TABLE, OUTBOX_TABLE, Outbox
from .registry import System
from .sandboxes import CREDENTIAL_TABLE, SANDBOX_TABLE, Sandboxes
from .snapshots import SNAPSHOT_TABLE, Snapshots
from .store import Store

PLATFORM_TABLES = [SANDBOX_TABLE, CREDENTIAL_TABLE, DUE_TABLE, FAULT_TABLE, SNAPSHOT_TABLE, OUTBOX_TABLE,
                   EMAIL_TABLE]
# the journal has a file of its own (``state.journal.db`` beside ``state.db``): every call writes an entry,
# and in WAL mode a write to a file makes every other connection to it drop its page cache at its next
# read, so a read call re-read ~17 pages from the file; with the entries elsewhere, reads keep their pages
JOURNAL_STORE = "journal"


class Platform:
    def __init__(self, store: Store, systems: list[System], config: dict[str, Any] | None = None) -> None:
        self.store = store
        self.config = dict(config or {})
        self.systems: dict[str, System] = {s.name: s for s in systems}
        self.clock = Clock(store)
        self.journal = Journal(store.companion(JOURNAL_STORE),
                               retention=int(self.config.get("JOURNAL_RETENTION", 10_000)))
        self.faults = Faults(store, self.systems)
        self.snapshots = Snapshots(store)
        self.outbox = Outbox(store)
        self.sandboxes = Sandboxes(self)
        tables = list(PLATFORM_TABLES)
        for system in systems:
            tables += system.tables
            for kind, handler in system.due.items():
                self.clock.on_due(kind, handler)
        store.register(tables, retired=(JOURNAL_TABLE.name,))  # a database from before the journal moved
        self.journal.store.register([JOURNAL_TABLE])

    def system(self, name: str) -> System:
        return self.systems[name]

    def close(self) -> None:
        """Close this process's connections to both files (each opens again on its next use)."""
        self.store.close()
        self.journal.store.close()
