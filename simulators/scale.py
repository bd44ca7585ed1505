"""``trainsim seed --scale``: a sandbox in a database file filled with data at benchmark scale.

Creates the sandbox (demo fixtures, so it also holds everything a fresh sandbox holds) and asks every
system that offers ``System.scale(platform, sandbox, factor)`` to bulk-insert its share: 100,000 learning
records (Bluedrop), 10,000 course classes and 50,000 bookings (Trainingportal), 20,000 candidates
(Learning Assistant), each multiplied by ``factor``. A progress bar goes to stderr. Run it against a
database no server is writing to (the seeding holds long write transactions); then ``trainsim serve --db``.
"""

from __future__ import annotations

import inspect
import sys
import threading
import time
from typing import Any

# what each system's scale inserts at factor 1 (the counts), for the progress bar's weights
EXPECTED_ROWS = {"bluedrop": 100_000, "trainingportal": 60_000, "learning-assistant": 20_000}
BAR = 30


class Progress:
    """A one-line progress bar on stderr: overall share done, the current step and elapsed time."""

    def __init__(self, total: float, stream: Any = None) -> None:
        self.total = max(total, 1.0)
        self.done = 0.0
        self.step_share = 0.0
        self.step_total = 0.0
        self.label = ""
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def __enter__(self) -> Progress:
        self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._ticker.join(timeout=2)
        self.draw(final=True)

    def _tick(self) -> None:
        while not self._stop.wait(0.5 if self._tty else 5.0):
            self.draw()

    def step(self, label: str, weight: float) -> None:
        with self._lock:
            self.label, self.step_total, self.step_share = label, weight, 0.0

    def advance_step(self, done: float, total: float) -> None:
        """For a system's own callback: ``done`` of ``total`` rows of the current step."""
        with self._lock:
            self.step_share = min(1.0, done / total) if total else 1.0
        self.draw()

    def finish_step(self) -> None:
        with self._lock:
            self.done += self.step_total
            self.step_total, self.step_share = 0.0, 0.0

    def draw(self, final: bool = False) -> None:
        with self._lock:
            share = min(1.0, (self.done + self.step_total * self.step_share) / self.total)
            label = "done" if final else self.label
        filled = int(share * BAR)
        line = (f"[{'#' * filled}{'.' * (BAR - filled)}] {share * 100:5.1f}%  {label:<40.40}"
                f"  {time.perf_counter() - self.started:6.1f} s")
        if self._tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def seed_scale(db_path: str, sandbox_id: str = "scale", factor: float = 1.0, stream: Any = None) -> dict[str, Any]:
    """Create ``sandbox_id`` in ``db_path`` (replacing one of that id) and fill it at scale."""
    from .app import load_systems
    from .platform.runtime import Platform
    from .platform.store import Store

    if not factor > 0:
        sys.exit(f"trainsim seed: --factor must be a positive number, got {factor}")
    if db_path == ":memory:":
        sys.exit("trainsim seed: --db must be a file (a :memory: database would vanish when seeding ends)")
    out = stream or sys.stderr
    plat = Platform(Store(db_path), load_systems(), {})
    try:
        scalers = [s for s in plat.systems.values() if s.scale is not None]
        missing = [s.name for s in plat.systems.values() if s.scale is None]
        total = sum(EXPECTED_ROWS.get(s.name, 10_000) for s in scalers) * factor + 1
        timings: dict[str, float] = {}
        with Progress(total, out) as bar:
            bar.step(f"sandbox {sandbox_id}", 1)
            if plat.sandboxes.exists(sandbox_id):
                plat.sandboxes.delete(sandbox_id)
            plat.sandboxes.create(name=sandbox_id, sandbox_id=sandbox_id, fixtures="demo")
            bar.finish_step()
            for system in scalers:
                bar.step(f"{system.name} (~{int(EXPECTED_ROWS.get(system.name, 10_000) * factor):,} rows)",
                         EXPECTED_ROWS.get(system.name, 10_000) * factor)
                t0 = time.perf_counter()
                if "progress" in inspect.signature(system.scale).parameters:
                    system.scale(plat, sandbox_id, factor, progress=bar.advance_step)
                else:
                    system.scale(plat, sandbox_id, factor)
                timings[system.name] = time.perf_counter() - t0
                bar.finish_step()
        summary = {"sandbox": sandbox_id, "factor": factor, "seconds": timings, "without_scale": missing}
        out.write(f"trainsim seed: sandbox {sandbox_id!r} filled in {db_path} "
                  f"({', '.join(f'{k} {v:.1f} s' for k, v in timings.items()) or 'no system offers scale'})"
                  + (f"; no scale seeder: {', '.join(missing)}" if missing else "") + "\n")
        return summary
    finally:
        plat.close()
