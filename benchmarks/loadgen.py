"""Load generators: wrk (when installed) or a bounded Python one (threads + http.client keep-alive).

Both take the same *plan*: ``{"url": "http://127.0.0.1:PORT", "requests": [{"method", "path", "headers",
"body", "expect": [201]}], "connections": 32, "threads": 2, "seconds": 5, "nonce": ""}``. Requests are
cycled per connection; ``{uid}`` in a path or body becomes ``<nonce><connection>x<counter>``, unique
across runs with distinct nonces (``run()`` gives each its own); ``{uida}`` is the same with its digits
spelled as letters (for names), and ``{n}`` an integer unique in a run.
Both return ``{"requests", "seconds", "rps", "p50_ms", "p99_ms", "errors", "bad_status", "generator"}``; ``errors`` counts socket errors, timeouts and answers whose status is not in
``expect``. Every loop stops by itself when ``seconds`` have passed. Only 127.0.0.1 is ever loaded.

Run as ``python -m benchmarks.loadgen`` with the plan as JSON on stdin: the load then comes from a
separate process, as it does with wrk.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any
from urllib.parse import urlsplit

DEFAULT_CONNECTIONS = 32
DEFAULT_THREADS = 2
WRK = "/usr/bin/wrk"


def _check_local(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.hostname != "127.0.0.1":
        raise ValueError(f"benchmarks only load 127.0.0.1, got {url!r}")
    return parts.hostname, parts.port or 80


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    # nearest rank
    k = max(0, min(len(sorted_values) - 1, math.ceil(pct / 100.0 * len(sorted_values)) - 1))
    return sorted_values[k]


_LETTERS = str.maketrans("0123456789", "abcdefghij")


def _fill(template: str, conn_index: int, counter: int, connections: int, nonce: str = "") -> str:
    if "{" not in template:
        return template
    uid = f"{nonce}{conn_index}x{counter}"
    return (template.replace("{uid}", uid).replace("{uida}", uid.translate(_LETTERS))
            .replace("{n}", str(counter * connections + conn_index + 1)))


# -- the Python generator ---------------------------------------------------------------------------------


def run_python(plan: dict[str, Any]) -> dict[str, Any]:
    host, port = _check_local(plan["url"])
    connections = int(plan.get("connections", DEFAULT_CONNECTIONS))
    seconds = float(plan["seconds"])
    reqs = plan["requests"]
    nonce = plan.get("nonce", "")
    start = time.perf_counter()
    deadline = start + seconds
    lat: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    bad = [0] * connections

    def worker(i: int) -> None:
        conn: http.client.HTTPConnection | None = None
        counter = 0
        while True:
            now = time.perf_counter()
            if now >= deadline:
                break
            spec = reqs[(counter + i) % len(reqs)]
            path = _fill(spec["path"], i, counter, connections, nonce)
            body = spec.get("body")
            data = _fill(body, i, counter, connections, nonce).encode() if body is not None else None
            counter += 1
            t0 = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=max(1.0, deadline - now + 2))
                conn.request(spec["method"], path, body=data, headers=spec.get("headers") or {})
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                if conn is not None:
                    conn.close()
                conn = None
                continue
            lat[i].append((time.perf_counter() - t0) * 1000.0)
            if status not in spec.get("expect", (200,)):
                bad[i] += 1
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 15)
    elapsed = time.perf_counter() - start
    all_lat = sorted(x for per in lat for x in per)
    done = len(all_lat)
    return {"requests": done, "seconds": round(elapsed, 3), "rps": done / elapsed if elapsed else 0.0,
            "p50_ms": percentile(all_lat, 50), "p99_ms": percentile(all_lat, 99),
            "errors": sum(errors) + sum(bad), "bad_status": sum(bad), "generator": "python"}


# -- wrk ----------------------------------------------------------------------------------------------------


def _lua_str(value: str) -> str:
    level = 0
    while f"]{'=' * level}]" in value:
        level += 1
    eq = "=" * level
    return f"[{eq}[{value}]{eq}]" if not value.startswith("\n") else f"[{eq}[\n{value}]{eq}]"


LUA = r"""
local specs = {%(specs)s}
local expected = {%(expect)s}
local threads = {}
local nonce = %(nonce)s

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

counter = 0
bad = 0

function init(args)
  tid = tonumber(wrk.thread:get("tid")) or 0
end

local function fill(s, n)
  if s == nil then return nil end
  if not string.find(s, "{", 1, true) then return s end
  local uid = nonce .. tostring(tid) .. "x" .. tostring(n)
  s = string.gsub(s, "{uida}", (string.gsub(uid, "%%d", function(d) return string.char(97 + tonumber(d)) end)))
  s = string.gsub(s, "{uid}", uid)
  s = string.gsub(s, "{n}", tostring(n * 1000 + tid + 1))
  return s
end

function request()
  counter = counter + 1
  local spec = specs[((counter + tid) %% #specs) + 1]
  return wrk.format(spec.method, fill(spec.path, counter), spec.headers, fill(spec.body, counter))
end

function response(status, headers, body)
  if not expected[status] then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local total_bad = 0
  for _, t in ipairs(threads) do
    total_bad = total_bad + (tonumber(t:get("bad")) or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '\nWRKJSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "connect": %%d, ' ..
    '"read": %%d, "write": %%d, "timeout": %%d, "bad": %%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, total_bad))
end
"""


def _lua_script(plan: dict[str, Any]) -> str:
    specs = []
    for spec in plan["requests"]:
        headers = ", ".join(f"[ {_lua_str(k)} ] = {_lua_str(v)}" for k, v in (spec.get("headers") or {}).items())
        body = _lua_str(spec["body"]) if spec.get("body") is not None else "nil"
        specs.append(f"{{method = {_lua_str(spec['method'])}, path = {_lua_str(spec['path'])}, "
                     f"headers = {{{headers}}}, body = {body}}}")
    # one set of accepted statuses for the plan: wrk's response() cannot tell which request it answers
    statuses = sorted({int(s) for spec in plan["requests"] for s in spec.get("expect", (200,))})
    return LUA % {"specs": ",\n".join(specs), "expect": ", ".join(f"[{s}] = true" for s in statuses),
                  "nonce": _lua_str(plan.get("nonce", ""))}


def run_wrk(plan: dict[str, Any]) -> dict[str, Any]:
    _check_local(plan["url"])
    connections = int(plan.get("connections", DEFAULT_CONNECTIONS))
    threads = min(int(plan.get("threads", DEFAULT_THREADS)), connections)
    seconds = float(plan["seconds"])
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(_lua_script(plan))
        script = fh.name
    try:
        out = subprocess.run(
            [WRK, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
             "-s", script, plan["url"].rstrip("/") + "/"],
            capture_output=True, text=True, timeout=seconds + 30, check=False)
    finally:
        os.unlink(script)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result (exit {out.returncode}): {out.stdout[-800:]} {out.stderr[-800:]}")
    r = json.loads(line[len("WRKJSON "):])
    elapsed = r["duration_us"] / 1e6
    sock_errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return {"requests": r["requests"], "seconds": round(elapsed, 3),
            "rps": r["requests"] / elapsed if elapsed else 0.0,
            "p50_ms": r["p50_us"] / 1000.0, "p99_ms": r["p99_us"] / 1000.0,
            "errors": sock_errors + r["bad"], "bad_status": r["bad"], "generator": "wrk"}


_runs = 0


def have_wrk() -> bool:
    return os.path.exists(WRK) or shutil.which("wrk") is not None


def run(plan: dict[str, Any], generator: str = "auto") -> dict[str, Any]:
    """Load from a separate process: wrk, or ``python -m benchmarks.loadgen``. Each run gets its own
    nonce, so ``{uid}`` stays unique across the rounds of a workload."""
    global _runs
    _runs += 1
    plan = {**plan, "nonce": plan.get("nonce", f"r{os.getpid() % 10000}n{_runs}-")}
    if generator == "wrk" or (generator == "auto" and have_wrk()):
        return run_wrk(plan)
    out = subprocess.run([sys.executable, "-m", "benchmarks.loadgen"], input=json.dumps(plan), text=True,
                         capture_output=True, timeout=float(plan["seconds"]) + 60, check=False,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if out.returncode != 0:
        raise RuntimeError(f"python load generator failed: {out.stderr[-1500:]}")
    return json.loads(out.stdout)


if __name__ == "__main__":
    print(json.dumps(run_python(json.load(sys.stdin))))
