"""``python -m benchmarks``: load ``trainsim serve`` and its bare peers, print the tables.

One run: the bare Flask hello GET and bare Flask + SQLite insert on granian's WSGI interface (same workers
and threads as ``trainsim serve``); cold start of ``trainsim serve`` and of the pytest plugin's in-process
server; sandbox creation; every workload against a fresh database and (unless ``--skip-scale``) against a
sandbox filled by ``trainsim seed --scale``, on a second server, the two taking turns round by round.
Each figure is the median of ``--rounds`` runs of ``--seconds`` each, 32 connections from a separate
process (wrk when installed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from . import loadgen, servers
from .workloads import WORKLOADS, Ctx, Workload, load_system_workloads

TARGETS = {
    # kind -> (baseline it is compared with, minimum ratio, minimum req/s, maximum p99 ms)
    "read": ("hello", 0.5, 3500, 40),
    "platform": ("hello", 0.5, 3500, 40),
    "write": ("insert", 0.5, 0, 60),
    "soap-read": ("hello", 0.0, 1500, 40),
    "soap-write": ("insert", 0.0, 500, 60),
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def measure(url: str, reqs: list[dict[str, Any]], args: argparse.Namespace, pid: int,
            warmup: bool = True) -> dict[str, Any]:
    return measure_alternated([(url, reqs, pid)], args, warmup)[0]


def measure_alternated(targets: list[tuple[str, list[dict[str, Any]], int]], args: argparse.Namespace,
                       warmup: bool = True) -> list[dict[str, Any]]:
    """Each target (url, requests, server pid) loaded for ``--rounds`` rounds, the targets' rounds taking
    turns (A B A B ...): a change in this shared machine's speed over the minutes of a run then reaches every
    target alike, and a ratio between them (at scale × empty) measures the servers, not the minute."""
    plans = [{"url": url, "requests": reqs, "connections": args.connections, "threads": 2,
              "seconds": args.seconds} for url, reqs, _ in targets]
    if warmup and not args.quick:
        for plan in plans:
            loadgen.run({**plan, "seconds": 1}, args.generator)
    rounds: list[list[dict[str, Any]]] = [[] for _ in targets]
    with contextlib.ExitStack() as stack:
        samplers = [stack.enter_context(servers.RssSampler(pid)) for _, _, pid in targets]
        for _ in range(args.rounds):
            for plan, done in zip(plans, rounds, strict=True):
                done.append(loadgen.run(plan, args.generator))
    return [{
        "rps": statistics.median(r["rps"] for r in done),
        "p50_ms": statistics.median(r["p50_ms"] for r in done),
        "p99_ms": statistics.median(r["p99_ms"] for r in done),
        "errors": sum(r["errors"] for r in done),
        "requests": sum(r["requests"] for r in done),
        "peak_rss_mb": sampler.peak,
        "generator": done[0]["generator"],
        "rounds": [{k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()} for r in done],
    } for done, sampler in zip(rounds, samplers, strict=True)]


def run_baselines(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    out = {}
    with servers.baseline("hello", tmp / "hello.log") as srv:
        out["hello_cold_s"] = srv.start()
        log(f"baseline hello: {srv.url}")
        out["hello"] = measure(srv.url, [{"method": "GET", "path": "/hello", "expect": [200]}], args,
                               srv.proc.pid)
    db = tmp / "baseline.db"
    with servers.baseline("sqlite_insert", tmp / "insert.log", env={"BASELINE_DB": str(db)}) as srv:
        out["insert_cold_s"] = srv.start()
        log(f"baseline insert: {srv.url}")
        body = json.dumps({"name": "item-{uid}", "kind": "benchmark", "count": 1})
        out["insert"] = measure(srv.url, [{"method": "POST", "path": "/items", "body": body, "expect": [201],
                                           "headers": {"Content-Type": "application/json"}}], args, srv.proc.pid)
    return out


def cold_start(tmp: Path, tries: int) -> tuple[list[float], servers.Server]:
    """Seconds from ``trainsim serve`` (fresh DB file) to a healthy /_sim/health; the last server keeps running."""
    times, srv = [], None
    for i in range(tries):
        if srv is not None:
            srv.stop()
        srv = servers.trainsim(str(tmp / f"cold-{i}" / "state.db"), tmp / f"trainsim-cold-{i}.log")
        times.append(srv.start())
    assert srv is not None
    return times, srv


def in_process_ready() -> dict[str, float]:
    code = (
        "import time; t0 = time.perf_counter()\n"
        "from simulators.pytest_plugin import start_in_process\n"
        "import requests\n"
        "t1 = time.perf_counter(); s = start_in_process()\n"
        "assert requests.get(s.url + '/_sim/health', timeout=5).status_code == 200\n"
        "t2 = time.perf_counter(); s.stop()\n"
        "print(t2 - t0, t2 - t1)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                         cwd=servers.ROOT)
    total, start = (float(x) for x in out.stdout.split())
    return {"with_imports_s": total, "start_s": start}


def sandbox_creation(url: str, n: int) -> list[float]:
    http, times = requests.Session(), []
    for _ in range(n):
        t0 = time.perf_counter()
        resp = http.post(url + "/_sim/sandboxes", json={}, timeout=60)
        times.append((time.perf_counter() - t0) * 1000)
        if resp.status_code != 201:
            raise RuntimeError(f"POST /_sim/sandboxes answered {resp.status_code}: {resp.text[:300]}")
    return times


def available(url: str) -> set[str]:
    return set(requests.get(url + "/_sim/health", timeout=10).json().get("systems", []))


def selected(args: argparse.Namespace) -> list[Workload]:
    chosen = WORKLOADS
    if args.only:
        chosen = [w for w in WORKLOADS if any(o.lower() in w.name.lower() for o in args.only)]
    return chosen


def run_workloads(srv: servers.Server, args: argparse.Namespace,
                  scale: tuple[servers.Server, dict[str, Any]] | None = None
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every selected workload on ``srv`` (a sandbox of its own each), and, given ``scale`` (the server on
    the scale database and its sandbox ``scale``), on that too, each workload's rounds alternating between
    the two. Returns (results on the empty database, results at scale)."""
    systems = available(srv.url)
    http = requests.Session()
    results: dict[str, Any] = {}
    at_scale: dict[str, Any] = {}
    for wl in selected(args):
        if wl.system and wl.system not in systems:
            results[wl.name] = {"skipped": f"{wl.system} is not built yet"}
            log(f"  {wl.name}: skipped ({wl.system} absent)")
            continue
        targets = [(srv, None, results, "")]
        if scale is not None and wl.kind != "platform":
            targets.append((*scale, at_scale, " at scale"))
        plans, outs = [], []
        for server, scale_sandbox, out, label in targets:
            try:
                if scale_sandbox is None:
                    sb = http.post(server.url + "/_sim/sandboxes", json={"fixtures": wl.fixtures}, timeout=60).json()
                else:
                    sb = scale_sandbox
                reqs = wl.setup(Ctx(server.url, http, sb, scale=scale_sandbox is not None))
            except Exception as exc:  # noqa: BLE001 - a broken workload is reported, the run goes on
                out[wl.name] = {"skipped": f"setup failed: {exc}"}
                log(f"  {wl.name}{label}: setup failed: {exc}")
                continue
            plans.append((server.url, reqs, server.proc.pid))
            outs.append((out, label))
        if not plans:
            continue
        for res, (out, label) in zip(measure_alternated(plans, args), outs, strict=True):
            res["kind"] = wl.kind
            out[wl.name] = res
            log(f"  {wl.name}{label}: {res['rps']:.0f} req/s, p50 {res['p50_ms']:.1f} ms, p99 "
                f"{res['p99_ms']:.1f} ms, errors {res['errors']}")
    return results, at_scale


def seed_scale(args: argparse.Namespace, tmp: Path) -> tuple[Path, float]:
    """``trainsim seed --scale`` into a database of its own, as a user runs it; returns the path and seconds."""
    db = tmp / "scale" / "state.db"
    t0 = time.perf_counter()
    log(f"seeding at scale (factor {args.scale_factor}) into {db} ...")
    subprocess.run([str(servers.VENV_BIN / "trainsim"), "seed", "--scale", "--db", str(db), "--sandbox", "scale",
                    "--factor", str(args.scale_factor)], cwd=servers.ROOT, check=True, timeout=900,
                   env=servers._clean_env())
    return db, time.perf_counter() - t0


# -- report -------------------------------------------------------------------------------------------------


def _verdict(name: str, r: dict[str, Any], base: dict[str, Any]) -> str:
    target = TARGETS.get(r["kind"])
    if not target:
        return ""
    ref, ratio, min_rps, max_p99 = target
    if "learning-record" in name:
        min_rps = 1500
    need = max(ratio * base[ref]["rps"], min_rps)
    misses = []
    if r["rps"] < need:
        misses.append(f"req/s {r['rps'] / need:.2f}× of {need:.0f}")
    if r["p99_ms"] > max_p99:
        misses.append(f"p99 {r['p99_ms'] / max_p99:.2f}× of {max_p99} ms")
    if r["errors"]:
        misses.append("errors")
    return "meets" if not misses else "misses: " + ", ".join(misses)


def report(res: dict[str, Any], args: argparse.Namespace) -> str:
    base = res["baselines"]
    lines = [f"load average (1 min) at start / end: {res['load'][0]:.2f} / {res['load'][1]:.2f} on "
             f"{os.cpu_count()} CPUs (other work on the machine skews absolute figures; ratios less so)",
             f"generator: {res['generator']}, {args.connections} connections, {args.seconds} s x "
             f"{args.rounds} round(s), median; server: trainsim serve (granian WSGI, {servers.WORKERS} "
             f"workers x {servers.THREADS} blocking threads)", ""]
    lines += ["| workload | req/s | × bare | p50 ms | p99 ms | errors | peak RSS MB | target |",
              "|---|---:|---:|---:|---:|---:|---:|---|"]
    for key, label in (("hello", "bare Flask hello GET"), ("insert", "bare Flask + SQLite insert")):
        b = base[key]
        lines.append(f"| {label} | {b['rps']:,.0f} | 1.00 | {b['p50_ms']:.1f} | {b['p99_ms']:.1f} | {b['errors']} | "
                     f"{b['peak_rss_mb']:.0f} | |")
    for name, r in res["workloads"].items():
        if "skipped" in r:
            lines.append(f"| {name} | – | – | – | – | – | – | skipped: {r['skipped'][:60]} |")
            continue
        ref = TARGETS.get(r["kind"], ("hello",))[0]
        lines.append(f"| {name} | {r['rps']:,.0f} | {r['rps'] / base[ref]['rps']:.2f} | {r['p50_ms']:.1f} | "
                     f"{r['p99_ms']:.1f} | {r['errors']} | {r['peak_rss_mb']:.0f} | {_verdict(name, r, base)} |")
    cold = res["cold_start"]
    lines += ["", "| start-up | figure | target |", "|---|---:|---|",
              f"| `trainsim serve` to healthy /_sim/health (fresh DB, median of {len(cold['serve_s'])}) | "
              f"{statistics.median(cold['serve_s']):.2f} s | ≤ 0.5 s |",
              f"| pytest plugin in-process server ready (start_in_process) | {cold['in_process']['start_s']:.2f} s "
              f"({cold['in_process']['with_imports_s']:.2f} s with imports) | |",
              f"| sandbox creation, POST /_sim/sandboxes (median of {len(cold['sandbox_ms'])}) | "
              f"{statistics.median(cold['sandbox_ms']):.1f} ms (p max {max(cold['sandbox_ms']):.1f}) | ≤ 50 ms |",
              f"| idle RSS after start (all processes, summed) | {cold['idle_rss_mb']:.0f} MB "
              f"(PSS {cold.get('idle_pss_mb', 0):.0f} MB) | ≤ 120 MB |",
              f"| bare Flask cold start (hello / insert) | {base['hello_cold_s']:.2f} s / "
              f"{base['insert_cold_s']:.2f} s | |"]
    scale = res.get("scale")
    if scale:
        lines += ["", f"At scale: seeded in {scale['_seed_s']:.0f} s (factor {args.scale_factor}, database "
                      f"{scale['_db_mb']:.0f} MB), idle RSS {scale['_idle_rss_mb']:.0f} MB", "",
                  "| workload | req/s | p50 ms | × empty | p99 ms | × empty | errors | flat (≤ 1.25×) |",
                  "|---|---:|---:|---:|---:|---:|---:|---|"]
        for name, r in scale.items():
            if name.startswith("_"):
                continue
            e = res["workloads"].get(name, {})
            if "skipped" in r or "skipped" in e or not e:
                lines.append(f"| {name} | – | – | – | – | – | – | skipped |")
                continue
            p50x, p99x = r["p50_ms"] / max(e["p50_ms"], 1e-9), r["p99_ms"] / max(e["p99_ms"], 1e-9)
            ok = "yes" if p50x <= 1.25 and p99x <= 1.25 else "no"
            lines.append(f"| {name} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {p50x:.2f} | {r['p99_ms']:.1f} | "
                         f"{p99x:.2f} | {r['errors']} | {ok} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short runs (1 round of 1 s, small scale): a smoke check")
    p.add_argument("--rounds", type=int, help="rounds per workload; the median is reported (default 3)")
    p.add_argument("--seconds", type=int, help="seconds per round (default 5)")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--only", action="append", help="only workloads whose name contains this (repeatable)")
    p.add_argument("--skip-scale", action="store_true", help="do not seed and load at scale")
    p.add_argument("--scale-factor", type=float, help="multiply the scale counts (default 1; 0.1 with --quick)")
    p.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    p.add_argument("--json", help="also write the raw results to this file")
    args = p.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.seconds = args.seconds or (1 if args.quick else 5)
    args.scale_factor = args.scale_factor or (0.1 if args.quick else 1.0)
    load_system_workloads()

    generator = "wrk" if args.generator == "wrk" or (args.generator == "auto" and loadgen.have_wrk()) else "python"
    res: dict[str, Any] = {"generator": generator, "args": vars(args), "when": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                                             time.gmtime())}
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="trainsim-bench-") as tmpdir:
        tmp = Path(tmpdir)
        log(f"benchmarks in {tmp} with {generator}")
        res["baselines"] = run_baselines(args, tmp)
        serve_times, srv = cold_start(tmp, 1 if args.quick else 3)
        scale_srv = None
        try:
            time.sleep(0.3)
            idle, idle_pss = srv.rss_mb(), srv.pss_mb()
            sandbox_ms = sandbox_creation(srv.url, 5 if args.quick else 20)
            scale = None
            if not args.skip_scale:
                scale_db, seed_s = seed_scale(args, tmp)
                scale_srv = servers.trainsim(str(scale_db), tmp / "trainsim-scale.log")
                scale_srv.start()
                scale = (scale_srv, requests.get(scale_srv.url + "/_sim/sandboxes/scale", timeout=30).json())
            log("workloads on an empty database" + ("" if scale is None else ", rounds alternating with the "
                                                    "same workload at scale") + ":")
            res["workloads"], at_scale = run_workloads(srv, args, scale)
            if scale_srv is not None:
                at_scale["_idle_rss_mb"] = scale_srv.rss_mb()
                at_scale["_seed_s"] = seed_s
                at_scale["_db_mb"] = sum(f.stat().st_size for f in scale_db.parent.iterdir()) / 1e6
                res["scale"] = at_scale
        finally:
            srv.stop()
            if scale_srv is not None:
                scale_srv.stop()
        res["cold_start"] = {"serve_s": serve_times, "sandbox_ms": sandbox_ms, "idle_rss_mb": idle,
                             "idle_pss_mb": idle_pss, "in_process": in_process_ready()}
    res["elapsed_s"] = time.perf_counter() - started
    res["load"] = (load_start, os.getloadavg()[0])
    text = report(res, args)
    print(text)
    print(f"\n(run took {res['elapsed_s']:.0f} s; python -m benchmarks {' '.join(argv or sys.argv[1:])})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=2, default=str)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
