"""python verify.py ID=nodeid ... : apply mutation ID in /tmp/mut_v (with /work/main's contract_tests) and
run nodeid; it must fail. Prints killed/survived."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from mutations import M

d = "/tmp/mut_v"
if not os.path.exists(d):
    subprocess.run(["cp", "-r", "/tmp/mut", d], check=True)
subprocess.run(f"rm -rf {d}/contract_tests && cp -r /work/main/contract_tests {d}/contract_tests", shell=True, check=True)
byid = {m[0]: m for m in M}
for arg in sys.argv[1:]:
    mid, node = arg.split("=", 1)
    _, rule, path, old, new, _ = byid[mid]
    subprocess.run(["git", "checkout", "--", "simulators"], cwd=d, check=True)
    f = os.path.join(d, path)
    t = open(f).read()
    assert t.count(old) == 1
    open(f, "w").write(t.replace(old, new))
    p = subprocess.run(["/work/main/.venv/bin/python", "-m", "pytest", node, "-q", "-p", "no:cacheprovider"],
                       cwd=d, env=dict(os.environ, PYTHONPATH=d), capture_output=True, text=True, timeout=300)
    print(mid, "killed" if p.returncode else "SURVIVED", node, p.stdout.strip().splitlines()[-1])
    subprocess.run(["git", "checkout", "--", "simulators"], cwd=d, check=True)
