"""``python -m benchmarks.ab WORKLOAD VARIANT [VARIANT ...]``: is one way of running ``trainsim serve`` faster?

Each VARIANT is one argument of words: ``NAME=VALUE`` words are the server's environment, the others
options of ``trainsim serve``; ``""`` is the defaults. ``PYTHONPATH=<another checkout>`` runs that
checkout's code (its ``simulators`` comes before the installed one), which is how a change is compared
with the commit before it:

    git worktree add /tmp/before HEAD
    .venv/bin/python -m benchmarks.ab getBooking "PYTHONPATH=/tmp/before" ""
    .venv/bin/python -m benchmarks.ab getBooking "" "--threads 1" "--workers 4 --threads 2"

Every variant gets a server and database of its own and the workload's own set-up (WORKLOAD: a substring of
a workload's name, as ``--only`` takes it). Their rounds take turns (A B A B ...), so the machine's drift
over the minutes reaches each alike. Per round it prints req/s and the CPU the server's whole process tree
spent per request (user + system, from /proc), which moves less than req/s does when other work shares the
machine; the medians follow.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import requests

from . import servers
from .run import measure_alternated
from .workloads import WORKLOADS, Ctx, load_system_workloads


def parse_variant(text: str) -> tuple[list[str], dict[str, str]]:
    """``"--threads 1 PYTHONPATH=/x"`` -> (["--threads", "1"], {"PYTHONPATH": "/x"})."""
    options, env = [], {}
    for word in shlex.split(text):
        name, eq, value = word.partition("=")
        if eq and not word.startswith("-") and name.isidentifier():
            env[name] = value
        else:
            options.append(word)
    return options, env


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ab", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("workload", help="a substring of the workload's name")
    p.add_argument("variants", nargs="+", metavar="VARIANT")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    args = p.parse_args(argv)
    load_system_workloads()
    matches = [w for w in WORKLOADS if args.workload.lower() in w.name.lower()]
    if not matches:
        p.error(f"no workload's name contains {args.workload!r}: {', '.join(w.name for w in WORKLOADS)}")
    workload = matches[0]
    scratch = tempfile.TemporaryDirectory(prefix="trainsim-ab-")
    tmp = Path(scratch.name)
    started: list[servers.Server] = []
    try:
        targets = []
        http = requests.Session()
        for i, text in enumerate(args.variants):
            options, env = parse_variant(text)
            srv = servers.trainsim(str(tmp / f"v{i}" / "state.db"), tmp / f"v{i}.log", options=options, env=env)
            started.append(srv)
            srv.start()
            sandbox = http.post(srv.url + "/_sim/sandboxes", json={"fixtures": workload.fixtures}, timeout=60).json()
            targets.append((srv.url, workload.setup(Ctx(srv.url, http, sandbox)), srv.proc.pid))
        once = argparse.Namespace(connections=args.connections, seconds=args.seconds, rounds=1, quick=False,
                                  generator=args.generator)
        measure_alternated(targets, argparse.Namespace(**{**vars(once), "seconds": 1}), warmup=False)  # warm-up
        rounds: list[list[dict[str, Any]]] = [[] for _ in targets]
        for _ in range(args.rounds):
            for target, done in zip(targets, rounds, strict=True):
                cpu_before = servers.tree_cpu_s(target[2])
                res = measure_alternated([target], once, warmup=False)[0]
                cpu = servers.tree_cpu_s(target[2]) - cpu_before
                done.append({**res, "cpu_us": cpu / res["requests"] * 1e6 if res["requests"] else 0.0})
        print(f"{workload.name}: {args.rounds} rounds of {args.seconds:g} s, {args.connections} connections, "
              f"{rounds[0][0]['generator']}")
        for text, done in zip(args.variants, rounds, strict=True):
            print(f"  {text or '(defaults)'}")
            for label, key in (("req/s", "rps"), ("CPU µs/req", "cpu_us")):
                each = " ".join(f"{d[key]:7.0f}" for d in done)
                print(f"    {label:<10} {each}   median {statistics.median(d[key] for d in done):,.0f}")
            p50 = statistics.median(d["p50_ms"] for d in done)
            p99 = statistics.median(d["p99_ms"] for d in done)
            print(f"    p50 {p50:.1f} ms, p99 {p99:.1f} ms, errors {sum(d['errors'] for d in done)}")
    finally:
        for srv in started:
            srv.stop()
        scratch.cleanup()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
