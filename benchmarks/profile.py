"""``python -m benchmarks.profile``: CPU per call of each workload, in-process, with a profile.

The load figures of ``make bench`` say how fast; this says where the time goes. It builds the app on a
fresh database, runs each workload's setup over real HTTP (cheroot in a thread), then calls the WSGI app
directly with each request spec, one thread, no server and no sockets: the figure is the app's own cost
per call (µs of CPU), repeatable enough to compare a change with the one before it. ``--profile`` adds
the top functions by cumulative time (cProfile; ``--sort tottime`` by their own time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from werkzeug.test import EnvironBuilder

from simulators.app import create_app
from simulators.server import InProcessServer

from .workloads import WORKLOADS, Ctx, load_system_workloads


def _environ(spec: dict[str, Any], n: int) -> dict[str, Any]:
    """A WSGI environ for one request spec (``{uid}``/``{uida}`` filled as the load generators fill them)."""
    body = spec.get("body") or ""
    if "{uid" in body or "{uid" in spec["path"]:
        uid = uuid.uuid4().hex[:12]
        letters = "".join(chr(97 + int(c, 16) % 26) for c in uid)
        body = body.replace("{uida}", letters).replace("{uid}", uid)
    return EnvironBuilder(path=spec["path"], method=spec["method"], headers=spec.get("headers") or {},
                          data=body.encode()).get_environ()


def _call(app: Any, environ: dict[str, Any]) -> str:
    status: list[str] = []
    out = app(environ, lambda s, h, e=None: status.append(s))
    for _ in out:
        pass
    if hasattr(out, "close"):
        out.close()
    return status[0]


def run(names: list[str], calls: int, profile: bool, top: int, repeat: int = 5, sort: str = "cumulative"
        ) -> None:
    load_system_workloads()
    tmp = Path(tempfile.mkdtemp(prefix="trainsim-profile-"))
    app = create_app({"DATABASE": str(tmp / "state.db"), "DEMO": False})
    srv = InProcessServer(app).start()
    http = requests.Session()
    try:
        for wl in WORKLOADS:
            if names and not any(n.lower() in wl.name.lower() for n in names):
                continue
            sb = http.post(srv.url + "/_sim/sandboxes", json={"fixtures": wl.fixtures}, timeout=60).json()
            specs = wl.setup(Ctx(srv.url, http, sb))
            for _ in range(min(50, calls)):  # warm caches
                _call(app, _environ(specs[0], 0))
            prof = cProfile.Profile() if profile else None
            bad, cpus, walls, statements = 0, [], [], [0]
            plat = app.extensions["trainsim"]
            conns = [plat.store.db.conn, plat.journal.store.db.conn]  # the state, and the journal's own file
            for conn in conns:
                conn.set_trace_callback(lambda sql, n=statements: n.__setitem__(0, n[0] + 1))
            for _ in range(repeat):  # the fastest batch: the least disturbed by other work on the machine
                envs = [_environ(specs[i % len(specs)], i) for i in range(calls)]
                cpu0, wall0 = time.process_time(), time.perf_counter()
                if prof:
                    prof.enable()
                for env in envs:
                    status = _call(app, env)
                    bad += int(status[:3]) not in specs[0]["expect"]
                if prof:
                    prof.disable()
                cpus.append(time.process_time() - cpu0)
                walls.append(time.perf_counter() - wall0)
            for conn in conns:
                conn.set_trace_callback(None)
            cpu, wall = min(cpus), min(walls)
            print(f"{wl.name}: {cpu / calls * 1e6:,.0f} µs CPU/call, {wall / calls * 1e6:,.0f} µs wall/call, "
                  f"{statements[0] / (calls * repeat):.1f} SQL statements/call "
                  f"(fastest of {repeat} x {calls} calls, {bad} unexpected statuses)", flush=True)
            if prof:
                s = io.StringIO()
                pstats.Stats(prof, stream=s).sort_stats(sort).print_stats(top)
                print(s.getvalue())
    finally:
        srv.stop()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    ap.add_argument("--only", action="append", default=[], help="workloads whose name contains this")
    ap.add_argument("--calls", type=int, default=1000, help="calls per batch")
    ap.add_argument("--repeat", type=int, default=5, help="batches; the fastest is reported")
    ap.add_argument("--profile", action="store_true", help="print the top functions (cProfile)")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime", "ncalls"],
                    help="order of the top functions: cumulative time, own time (tottime) or calls")
    args = ap.parse_args(argv)
    run(args.only, args.calls, args.profile, args.top, args.repeat, args.sort)


if __name__ == "__main__":
    main()
