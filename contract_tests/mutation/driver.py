"""Mutation driver: python driver.py [ids...] ; workers = copies /tmp/mut_w<N> of /tmp/mut."""
import json
import os
import queue
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(__file__))
from mutations import M  # noqa: E402

PY = "/work/main/.venv/bin/python"
WORKERS = int(os.environ.get("WORKERS", "2"))
OUT = os.environ.get("OUT", "/tmp/mutdrv/results.jsonl")

free = queue.Queue()
for i in range(WORKERS):
    d = f"/tmp/mut_w{i}"
    if not os.path.exists(d):
        subprocess.run(["cp", "-r", "/tmp/mut", d], check=True)
    free.put(d)

def run(m):
    mid, rule, path, old, new, tests = m
    d = free.get()
    try:
        subprocess.run(["git", "checkout", "--", "simulators"], cwd=d, check=True)
        f = os.path.join(d, path)
        text = open(f).read()
        n = text.count(old)
        if n != 1:
            return {"id": mid, "rule": rule, "result": f"BADPATCH({n})"}
        open(f, "w").write(text.replace(old, new))
        t = time.time()
        env = dict(os.environ, PYTHONPATH=d)
        try:
            p = subprocess.run([PY, "-m", "pytest", *tests.split(), "-q", "-x", "-p", "no:cacheprovider"],
                               cwd=d, env=env, capture_output=True, text=True, timeout=240)
            out = p.stdout
            rc = p.returncode
        except subprocess.TimeoutExpired:
            out, rc = "TIMEOUT", 99
        failed = [line.split(" ")[1] for line in out.splitlines() if line.startswith(("FAILED ", "ERROR "))]
        res = {"id": mid, "rule": rule, "file": path, "old": old, "new": new, "tests": tests,
               "result": "killed" if rc != 0 else "survived", "by": failed[:1], "rc": rc,
               "secs": round(time.time() - t, 1), "tail": out.strip().splitlines()[-1:] }
        return res
    finally:
        subprocess.run(["git", "checkout", "--", "simulators"], cwd=d)
        free.put(d)

ids = set(sys.argv[1:])
todo = [m for m in M if not ids or m[0] in ids]
with ThreadPoolExecutor(WORKERS) as ex, open(OUT, "a") as fh:
    for r in ex.map(run, todo):
        print(r["id"], r["result"], r.get("by"), r.get("secs"), r["rule"], flush=True)
        fh.write(json.dumps(r) + "\n")
        fh.flush()
