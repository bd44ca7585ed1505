"""Servers for the reliability suite: `trainsim serve` as a real subprocess tree, or the app in-process.

* ``serve(workers=3, db=..., env=...)`` starts ``trainsim serve`` (granian, N worker processes) on a
  free port with a temp SQLite file, in its own process group so ``kill9()`` takes the whole tree down
  at once (parent and workers), as a crashed container would.
* ``live(config)`` starts ``create_app(config)`` on cheroot in this process (fast), for tests that need
  a config knob (JOURNAL_RETENTION, SIM_ADMIN_TOKEN) or the app object itself (its url_map).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from simulators.app import create_app, load_systems
from simulators.server import InProcessServer

SYSTEMS = {s.name for s in load_systems()}


def needs(*systems: str) -> pytest.MarkDecorator:
    """Skip while a system package has not landed yet (the suite is built alongside the systems)."""
    missing = [s for s in systems if s not in SYSTEMS]
    return pytest.mark.skipif(bool(missing), reason=f"system package not built yet: {', '.join(missing)}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    """One ``trainsim serve`` process tree."""

    url: str
    proc: subprocess.Popen
    db: str
    log: str
    args: list[str] = field(default_factory=list)

    def kill9(self) -> None:
        """SIGKILL to the parent and every worker at once: no shutdown code runs anywhere."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill9()
        # a worker left behind would keep the port and the database open
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def pids(self) -> list[int]:
        """The parent process and its workers (from /proc, no extra dependency)."""
        out = [self.proc.pid]
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == self.proc.pid:
                out.append(int(entry))
        return out

    def rss_kib(self) -> int:
        """Resident memory of the whole tree, in KiB."""
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/status") as fh:
                    for line in fh:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
            except OSError:
                continue
        return total

    def read_log(self) -> str:
        with open(self.log, encoding="utf-8", errors="replace") as fh:
            return fh.read()


def spawn(tmp: str, *, workers: int = 3, threads: int = 8, db: str | None = None,
          env: dict[str, str] | None = None, port: int | None = None) -> Served:
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    db = db or os.path.join(tmp, "state.db")
    log = os.path.join(tmp, f"server-{port}.log")
    args = [sys.executable, "-m", "simulators.cli", "serve", "--port", str(port), "--db", db,
            "--workers", str(workers), "--threads", str(threads)]
    full_env = {**os.environ, "TRAINSIM_LOG_LEVEL": "warning", **(env or {})}
    if "SIM_ADMIN_TOKEN" not in (env or {}):
        full_env.pop("SIM_ADMIN_TOKEN", None)
    with open(log, "a") as err:
        proc = subprocess.Popen(args, stdout=err, stderr=subprocess.STDOUT, env=full_env, start_new_session=True)
    served = Served(url, proc, db, log, args)
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/_sim/health", timeout=1).status_code == 200:
                return served
        except requests.RequestException:
            time.sleep(0.05)
        if proc.poll() is not None:
            break
    served.stop()
    raise RuntimeError("trainsim serve did not become healthy:\n" + served.read_log())


@pytest.fixture
def serve(tmp_path: Any) -> Iterator[Callable[..., Served]]:
    """A factory: ``serve(workers=3)``; every server it started is stopped afterwards."""
    started: list[Served] = []

    def start(**kwargs: Any) -> Served:
        served = spawn(str(tmp_path), **kwargs)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


@dataclass
class Live:
    url: str
    app: Any
    server: InProcessServer

    @property
    def platform(self) -> Any:
        return self.app.extensions["trainsim"]


@pytest.fixture
def live() -> Iterator[Callable[..., Live]]:
    """A factory: ``live({"JOURNAL_RETENTION": 20}, systems=None)`` -> the app on cheroot in this process."""
    started: list[Live] = []

    def start(config: dict[str, Any] | None = None, systems: list[Any] | None = None) -> Live:
        app = create_app({"DATABASE": ":memory:", **(config or {})}, systems=systems)
        server = InProcessServer(app, threads=24).start()
        out = Live(server.url, app, server)
        started.append(out)
        return out

    yield start
    for item in started:
        item.server.stop()


def new_sandbox(url: str, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
    r = requests.post(f"{url}/_sim/sandboxes", json=body or {"fixtures": "empty"}, headers=headers, timeout=60)
    assert r.status_code == 201, r.text
    return r.json()
