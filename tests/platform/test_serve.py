"""`trainsim serve` as users run it: a real granian process tree on a SQLite file, over real HTTP."""

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from simulators.server import free_port


def start(db, port, workers=2, env=None):
    proc = subprocess.Popen([sys.executable, "-m", "simulators.cli", "serve", "--port", str(port), "--db", db,
                             "--workers", str(workers)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})}, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/_sim/health", timeout=1).status_code == 200:
                return proc, url
        except requests.RequestException:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(proc.stdout.read())


def stop(proc, sig=signal.SIGTERM):
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=15)
    return proc.returncode, out


@pytest.fixture
def served(tmp_path):
    db = str(tmp_path / "state.db")
    proc, url = start(db, free_port())
    yield db, proc, url
    if proc.poll() is None:
        stop(proc)


def test_prints_urls_and_demo_credentials_and_stops_on_sigterm(served):
    db, proc, url = served
    demo = requests.get(f"{url}/_sim/sandboxes/demo", timeout=5).json()
    code, out = stop(proc)
    assert code == 0
    assert f"trainsim serving on {url}" in out and "demo sandbox credentials" in out
    assert "Traceback" not in out
    assert demo["credentials"] and all(f"{k}: " in out for k in demo["credentials"])


def test_sigint_also_stops_cleanly(served):
    _, proc, _ = served
    code, out = stop(proc, signal.SIGINT)
    assert code == 0 and "Traceback" not in out


def test_restart_keeps_every_sandbox_and_its_clock(served, tmp_path):
    db, proc, url = served
    sb = requests.post(f"{url}/_sim/sandboxes", json={"name": "keep-me", "seed": 9}, timeout=10).json()
    clock = requests.post(f"{url}/_sim/sandboxes/{sb['id']}/clock", json={"set": "2030-05-05T10:00:00Z"},
                          timeout=10).json()
    requests.post(f"{url}/_sim/sandboxes/{sb['id']}/clock", json={"freeze": True}, timeout=10)
    stop(proc)
    proc2, url2 = start(db, free_port())
    try:
        again = requests.get(f"{url2}/_sim/sandboxes/{sb['id']}", timeout=10).json()
        assert again["credentials"] == sb["credentials"] and again["name"] == "keep-me"
        assert requests.get(f"{url2}/_sim/sandboxes/{sb['id']}/clock", timeout=10).json()["now"][:16] == \
            clock["now"][:16]
    finally:
        stop(proc2)


def test_two_sandboxes_have_different_credentials(served):
    _, _, url = served
    a = requests.post(f"{url}/_sim/sandboxes", json={}, timeout=10).json()
    b = requests.post(f"{url}/_sim/sandboxes", json={}, timeout=10).json()
    assert a["id"] != b["id"]

    def secrets(sb):
        out = []

        def walk(v):
            if isinstance(v, dict):
                for k, x in v.items():
                    if k in ("apiKey", "apiSecret", "username", "password") and isinstance(x, str):
                        out.append(x)
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(sb["credentials"])
        return set(out)

    assert secrets(a) and not secrets(a) & secrets(b)


def test_admin_token_enforced(tmp_path):
    proc, url = start(str(tmp_path / "t.db"), free_port(), workers=1, env={"SIM_ADMIN_TOKEN": "s3cret-admin"})
    try:
        assert requests.get(f"{url}/_sim/health", timeout=5).status_code == 200
        r = requests.get(f"{url}/_sim/sandboxes", timeout=5)
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"
        ok = requests.get(f"{url}/_sim/sandboxes", headers={"Authorization": "Bearer s3cret-admin"}, timeout=5)
        assert ok.status_code == 200
        bad = requests.get(f"{url}/_sim/sandboxes", headers={"Authorization": "Bearer wrong"}, timeout=5)
        assert bad.status_code == 401
    finally:
        stop(proc)


def _tp(sb):
    tp = sb["credentials"]["trainingportal"]["providers"][0]
    return sb["baseUrls"]["trainingportal"] + "/courses", {"username": tp["username"], "password": tp["password"]}


def test_fault_times_two_across_two_workers_and_journal_masks(served):
    _, _, url = served
    sb = requests.post(f"{url}/_sim/sandboxes", json={}, timeout=10).json()
    courses, auth = _tp(sb)
    r = requests.post(f"{url}/_sim/sandboxes/{sb['id']}/faults", timeout=10, json={
        "matcher": {"system": "trainingportal", "operation": "getCourses"}, "effect": {"status": 503}, "times": 2})
    assert r.status_code == 201
    statuses = []
    for _ in range(8):  # fresh connections: the kernel spreads them over both worker processes
        with requests.Session() as s:
            statuses.append(s.post(courses, data=auth, timeout=10).status_code)
    assert sorted(statuses) == [200] * 6 + [503] * 2
    journal = requests.get(f"{url}/_sim/sandboxes/{sb['id']}/journal?operation=getCourses", timeout=10).json()
    assert journal["total"] == 8
    assert auth["password"] not in str(journal) and "********" in str(journal)


def test_drop_fault_closes_the_connection_under_granian(served):
    _, _, url = served
    sb = requests.post(f"{url}/_sim/sandboxes", json={}, timeout=10).json()
    courses, auth = _tp(sb)
    requests.post(f"{url}/_sim/sandboxes/{sb['id']}/faults", timeout=10, json={
        "matcher": {"system": "trainingportal"}, "effect": {"drop": True}, "times": 1})
    with pytest.raises(requests.ConnectionError):
        requests.post(courses, data=auth, timeout=10)
    assert requests.post(courses, data=auth, timeout=10).status_code == 200


def test_drop_closes_only_its_own_connection_amid_other_clients(served):
    """granian keeps its sockets in Rust: the drop finds the request's own connection among the worker's
    others (server.py ``_Peers``). Other kept-alive clients on the same address keep being answered."""
    import http.client
    import threading

    _, _, url = served
    port = int(url.rsplit(":", 1)[1])
    sb = requests.post(f"{url}/_sim/sandboxes", json={}, timeout=10).json()
    courses, auth = _tp(sb)
    stop, errors, answered = threading.Event(), [], [0]

    def other_client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while not stop.is_set():
            try:
                conn.request("GET", "/_sim/health")
                resp = conn.getresponse()
                resp.read()
                answered[0] += 1
                if resp.status != 200:
                    errors.append(resp.status)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(repr(exc))
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    threads = [threading.Thread(target=other_client) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        outcomes = []
        for _ in range(5):
            requests.post(f"{url}/_sim/sandboxes/{sb['id']}/faults", timeout=10, json={
                "matcher": {"system": "trainingportal"}, "effect": {"drop": True}, "times": 1}).raise_for_status()
            try:
                outcomes.append(requests.post(courses, data=auth, timeout=10).status_code)
            except requests.ConnectionError:
                outcomes.append("dropped")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
    assert outcomes == ["dropped"] * 5
    assert errors == [] and answered[0] > 0


def test_calls_waiting_in_latency_faults_do_not_hold_up_the_others(tmp_path):
    """One worker: its calls go through the gate one at a time (simulators/platform/gate.py), yet four
    calls asleep in latency faults do not hold up the worker's other calls. (This checks what a user sees;
    that the sleep steps out of the gate, rather than the others going in after the gate's patience, is
    test_gate.py's to check.)"""
    import threading

    proc, url = start(str(tmp_path / "state.db"), free_port(), workers=1)
    try:
        sb = requests.post(f"{url}/_sim/sandboxes", json={}, timeout=10).json()
        courses, auth = _tp(sb)
        requests.post(f"{url}/_sim/sandboxes/{sb['id']}/faults", timeout=10, json={
            "matcher": {"system": "trainingportal", "operation": "getCourses"}, "effect": {"latencyMs": 3000},
            "times": 4}).raise_for_status()
        done = []

        def slow():
            done.append(("slow", requests.post(courses, data=auth, timeout=20).status_code))

        threads = [threading.Thread(target=slow) for _ in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # all four asleep in their fault (the journal has none yet)
            rule = requests.get(f"{url}/_sim/sandboxes/{sb['id']}/faults", timeout=10).json()["items"][0]
            if rule["remaining"] == 0:
                break
            time.sleep(0.05)
        for _ in range(10):  # other calls of the same worker, while the four sleep
            done.append(("quick", requests.post(courses.replace("/courses", "/courses/get/none"), data=auth,
                                                timeout=20).status_code))
        for t in threads:
            t.join(timeout=20)
        assert [kind for kind, _ in done] == ["quick"] * 10 + ["slow"] * 4
        assert {status for kind, status in done if kind == "slow"} == {200}
    finally:
        stop(proc)


def test_cli_drives_a_running_server(served):
    _, _, url = served

    def cli(*args):
        run = subprocess.run([sys.executable, "-m", "simulators.cli", *args, "--url", url], capture_output=True,
                             text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        return run.stdout

    import json

    created = json.loads(cli("sandbox", "create", "--name", "from-cli", "--seed", "4"))
    assert created["name"] == "from-cli" and created["seed"] == 4
    assert json.loads(cli("snapshot", "save", "before", "--sandbox", created["id"]))["name"] == "before"
    assert json.loads(cli("snapshot", "restore", "before", "--sandbox", created["id"]))["restored"] is True
    assert json.loads(cli("reset"))["reset"] >= 2
    listed = json.loads(cli("sandbox", "list"))
    assert created["id"] in [s["id"] for s in listed["items"]]
    bad = subprocess.run([sys.executable, "-m", "simulators.cli", "snapshot", "restore", "nope", "--sandbox",
                          created["id"], "--url", url], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "404" in bad.stderr
