"""Servers under test, started as subprocesses exactly as users start them, and their memory from /proc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# `trainsim serve` defaults (simulators/cli.py); the baselines run on the same stack with the same numbers
WORKERS = 2
THREADS = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINSIM_") and k != "SIM_ADMIN_TOKEN"}
    env.update(extra)
    return env


def _tree(pid: int) -> list[int]:
    """``pid`` and every descendant, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _tree_field_mb(pid: int, path: str, field: str) -> float:
    total_kb = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/{path}", encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith(field):
                        total_kb += int(line.split()[1])
                        break
        except OSError:
            continue
    return total_kb / 1024.0


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) that ``pid`` and every descendant alive now have used."""
    total = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and every descendant, summed (MB): pages the forked workers share with
    the arbiter count once per process, so this overstates what the tree really holds."""
    return _tree_field_mb(pid, "status", "VmRSS:")


def tree_pss_mb(pid: int) -> float:
    """Proportional set size of the tree (MB): each shared page split between the processes sharing it."""
    return _tree_field_mb(pid, "smaps_rollup", "Pss:")


class RssSampler:
    """Peak of :func:`tree_rss_mb` while the ``with`` block runs (sampled every 100 ms)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_mb(self.pid))
            self._stop.wait(0.1)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.peak = max(self.peak, tree_rss_mb(self.pid))


class Server:
    """A server subprocess on 127.0.0.1:``port``; ``start()`` returns seconds until ``health`` answered 200."""

    def __init__(self, name: str, cmd: list[str], port: int, health: str, env: dict[str, str] | None = None,
                 log: Path | None = None) -> None:
        self.name, self.cmd, self.port, self.health = name, cmd, port, health
        self.env = env or _clean_env()
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> float:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log}")
            try:
                if requests.get(self.url + self.health, timeout=1).status_code == 200:
                    return time.perf_counter() - t0
            except requests.RequestException:
                pass
            time.sleep(0.005)
        self.stop()
        raise RuntimeError(f"{self.name} was not healthy within {timeout:.0f} s; see {self.log}")

    def rss_mb(self) -> float:
        return tree_rss_mb(self.proc.pid) if self.proc else 0.0

    def pss_mb(self) -> float:
        return tree_pss_mb(self.proc.pid) if self.proc else 0.0

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # granian's parent process stops its workers
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def trainsim(db: str, log: Path, port: int | None = None, options: list[str] | tuple[str, ...] = (),
             env: dict[str, str] | None = None) -> Server:
    """``trainsim serve`` as users run it: the console script, default workers and threads (unless
    ``options`` say otherwise), environment cleared of ``TRAINSIM_*`` (plus ``env``)."""
    port = port or free_port()
    return Server("trainsim", [str(VENV_BIN / "trainsim"), "serve", "--port", str(port), "--db", db, *options],
                  port, "/_sim/health", env=_clean_env(**(env or {})), log=log)


def baseline(module: str, log: Path, env: dict[str, str] | None = None) -> Server:
    """A bare Flask app on granian's WSGI interface, with the same workers/threads/HTTP settings as
    ``trainsim serve`` (simulators/server.py)."""
    port = free_port()
    cmd = [sys.executable, "-m", "granian", "--interface", "wsgi", "--http", "1", "--no-ws",
           "--workers", str(WORKERS), "--blocking-threads", str(THREADS), "--http1-header-read-timeout", "30000",
           "--workers-kill-timeout", "5", "--log-level", "warning", "--host", "127.0.0.1", "--port", str(port),
           f"benchmarks.baselines.{module}:app"]
    return Server(f"baseline {module}", cmd, port, "/health", env=_clean_env(**(env or {})), log=log)
