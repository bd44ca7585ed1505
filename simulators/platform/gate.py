"""The gate: one thread of a server process runs app code at a time; a thread that waits lets the next in.

CPython runs one thread's Python at a time anyway (the GIL), but it hands the GIL over around every
SQLite call, so eight threads serving a stream of short calls spend their time passing it to one another
(measured with wrk, 32 connections: one thread per worker served getBookingInformation about 30 % faster
than eight). Threads are still needed for calls that wait rather than compute: a latency fault, an outbound
call to a provider's URL, a write lock another process holds. So ``trainsim serve`` keeps its threads and
admits them to the app through this gate, one at a time (:meth:`Gate.enter`), and every such wait steps
out of the gate while it waits (:meth:`Gate.waiting`).

A thread waits for the gate at most :data:`PATIENCE`; past that it goes in anyway, beside the holder, and
they share the GIL as threads did before the gate. So a long call (a large XML body being parsed) or a
wait that was not foreseen delays the others by at most that, and nothing can deadlock on the gate.
Code not run through a gated server (the pytest plugin's server, the tests) never holds the gate, and
:meth:`Gate.waiting` does nothing there.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

PATIENCE = 0.05  # seconds a thread waits for the gate before it goes in beside the holder


class Gate:
    """First come, first in: a leaving thread hands the gate to the longest waiting one."""

    def __init__(self, patience: float = PATIENCE) -> None:
        self.patience = patience
        self._mutex = threading.Lock()
        self._busy = False
        self._waiting: deque[threading.Lock] = deque()  # one locked lock per waiting thread, oldest first
        self._local = threading.local()

    def enter(self, first: bool = False) -> None:
        """Wait (at most ``patience``) for the gate; the thread then runs alone, or beside the holder.
        ``first``: ahead of the threads that wait to start a call (a thread back from a wait within its call
        may hold a lock that others, in this process or another, wait for)."""
        with self._mutex:
            if not self._busy:
                self._busy = True
                self._local.held = True
                return
            turn = threading.Lock()
            turn.acquire()
            if first:
                self._waiting.appendleft(turn)
            else:
                self._waiting.append(turn)
        held = turn.acquire(timeout=self.patience)
        if not held:
            with self._mutex:
                try:
                    self._waiting.remove(turn)  # gave up: goes in beside the holder
                except ValueError:
                    held = True  # handed the gate in the meantime
        self._local.held = held

    def leave(self) -> None:
        if not getattr(self._local, "held", False):
            return
        self._local.held = False
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().release()  # still busy: it is handed over
            else:
                self._busy = False

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Around a wait (a sleep, the network, a lock): the gate is left for the wait, entered again after."""
        if not getattr(self._local, "held", False):
            yield
            return
        self.leave()
        try:
            yield
        finally:
            self.enter(first=True)

    def _after_fork(self) -> None:
        self.__init__(self.patience)  # type: ignore[misc]


GATE = Gate()
os.register_at_fork(after_in_child=GATE._after_fork)
