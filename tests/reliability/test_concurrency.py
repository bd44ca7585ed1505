"""Concurrent writes and crash durability against `trainsim serve` (granian, 3 worker processes, one
SQLite file), through real HTTP.

Source: issue 9 ("every acknowledged write is present exactly once, ids unique, no `database is locked`
error reaches a client"; "kill -9 of the server during a write load ... every write that was
acknowledged is there, and the database passes PRAGMA integrity_check"), control-plane.md ("a server
restarted on the same file finds every sandbox, credential and record as it was").
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .conftest import new_sandbox
from .workload import KINDS, Workload

THREADS = 32


def _assert_clean(answers: list[tuple]) -> None:
    bad = [(kind, status, body[:300]) for kind, _id, ok, status, body in answers if not ok]
    locked = [a for a in answers if "locked" in a[4].lower() or "database is" in a[4].lower()]
    assert not locked, locked[:3]
    assert not [a for a in answers if a[3] >= 500], bad[:5]
    assert not bad, bad[:5]


def _exactly_once(acked: list[tuple], inventory: dict[str, list[str]]) -> None:
    for kind in KINDS:
        listed = Counter(inventory[kind])
        dupes = [i for i, c in listed.items() if c > 1]
        assert not dupes, (kind, dupes[:5])
        mine = [a[1] for a in acked if a[0] == kind]
        assert len(set(mine)) == len(mine), f"{kind}: the client was given the same id twice"
        missing = [i for i in mine if i not in listed]
        assert not missing, (kind, len(missing), missing[:5])
        extra = set(listed) - set(mine)
        assert not extra, (kind, "rows nobody acknowledged", sorted(extra)[:5])


@pytest.mark.slow
def test_32_threads_write_every_system_at_once_through_3_workers(serve):
    """32 threads x 8 writes (learning records, class offerings, course classes, enrolments, interleaved)
    against `trainsim serve --workers 3`: no 5xx, no 'database is locked', each write there exactly once."""
    srv = serve(workers=3, threads=8)
    sb = new_sandbox(srv.url, fixtures="empty")
    work = Workload(srv.url, sb)
    start = threading.Barrier(THREADS)

    def client(t: int) -> list[tuple]:
        start.wait()
        return [work.write(KINDS[(t + i) % len(KINDS)], t * 100 + i) for i in range(8)]

    with ThreadPoolExecutor(THREADS) as pool:
        answers = [a for batch in pool.map(client, range(THREADS)) for a in batch]
    assert len(answers) == THREADS * 8
    _assert_clean(answers)
    _exactly_once(answers, work.inventory())
    assert "Traceback" not in srv.read_log() and "locked" not in srv.read_log()


@pytest.mark.slow
def test_32_threads_create_sandboxes_and_snapshots_at_once(serve):
    """Control-plane writes at once: 32 threads each create a sandbox and save 2 snapshots of a shared
    sandbox under unique names. Every 201 is listed exactly once, ids are unique."""
    srv = serve(workers=3, threads=8)
    shared = new_sandbox(srv.url, fixtures="empty")["id"]
    start = threading.Barrier(THREADS)

    def client(t: int) -> list[tuple]:
        s = requests.Session()
        start.wait()
        out = []
        r = s.post(f"{srv.url}/_sim/sandboxes", json={"fixtures": "empty", "name": f"load-{t}"}, timeout=60)
        out.append(("sandbox", r.json().get("id") if r.status_code == 201 else None, r.status_code == 201,
                    r.status_code, r.text))
        for i in range(2):
            r = s.post(f"{srv.url}/_sim/sandboxes/{shared}/snapshots", json={"name": f"s-{t}-{i}"}, timeout=60)
            out.append(("snapshot", f"s-{t}-{i}", r.status_code == 201, r.status_code, r.text))
        return out

    with ThreadPoolExecutor(THREADS) as pool:
        answers = [a for batch in pool.map(client, range(THREADS)) for a in batch]
    _assert_clean(answers)
    ids = [a[1] for a in answers if a[0] == "sandbox"]
    assert len(set(ids)) == THREADS
    listed = requests.get(f"{srv.url}/_sim/sandboxes?limit=1000", timeout=30).json()["items"]
    counts = Counter(x["id"] for x in listed)
    assert all(counts[i] == 1 for i in ids)
    snaps = Counter(x["name"] for x in requests.get(f"{srv.url}/_sim/sandboxes/{shared}/snapshots",
                                                    timeout=30).json()["items"])
    assert snaps == Counter(a[1] for a in answers if a[0] == "snapshot")


def _integrity(path: str) -> str:
    conn = sqlite3.connect(path, timeout=30)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.slow
def test_kill_9_during_a_write_load_loses_no_acknowledged_write(serve, tmp_path):
    """16 threads write every kind (plus sandboxes and snapshots) for ~2.5 s; then SIGKILL to the parent and
    all 3 workers at once, mid-write. Restarted on the same file: every acknowledged write is there
    exactly once, PRAGMA integrity_check is ok, and the server takes writes again."""
    db = str(tmp_path / "crash.db")
    srv = serve(workers=3, threads=8, db=db)
    sb = new_sandbox(srv.url, fixtures="empty")
    work = Workload(srv.url, sb, timeout=10)
    acked: list[tuple] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(t: int) -> None:
        i = 0
        s = requests.Session()
        while not stop.is_set():
            try:
                if i % 9 == 8:
                    r = s.post(f"{srv.url}/_sim/sandboxes/{sb['id']}/snapshots", json={"name": f"c-{t}-{i}"},
                               timeout=10)
                    answer = ("snapshot", f"c-{t}-{i}", r.status_code == 201, r.status_code, r.text)
                else:
                    answer = work.write(KINDS[(t + i) % len(KINDS)], t * 10_000 + i)
            except requests.RequestException:
                return  # the server died under this request: not acknowledged
            with lock:
                acked.append(answer)
            i += 1

    threads = [threading.Thread(target=client, args=(t,)) for t in range(16)]
    for th in threads:
        th.start()
    time.sleep(2.5)
    srv.kill9()
    stop.set()
    for th in threads:
        th.join(timeout=30)
    assert len(acked) > 50, f"too little load before the kill: {len(acked)}"
    assert not [a for a in acked if a[3] >= 500], [a for a in acked if a[3] >= 500][:3]
    oks = [a for a in acked if a[2]]
    print(f"crash: {len(acked)} answers before the kill, {len(oks)} acknowledged writes, "
          f"{Counter(a[0] for a in oks)}")

    assert _integrity(db) == "ok"
    again = serve(workers=3, threads=8, db=db)
    work.base = again.url
    inventory = work.inventory()
    for kind in KINDS:
        listed = Counter(inventory[kind])
        mine = [a[1] for a in oks if a[0] == kind]
        assert mine, f"no {kind} was acknowledged before the kill"
        assert not [i for i in mine if listed[i] != 1], (kind, [i for i in mine if listed[i] != 1][:5])
    snaps = {x["name"] for x in requests.get(f"{again.url}/_sim/sandboxes/{sb['id']}/snapshots",
                                             timeout=30).json()["items"]}
    assert {a[1] for a in oks if a[0] == "snapshot"} <= snaps
    # the credentials still find the sandbox, and the restarted server takes writes
    assert work.write(KINDS[0], 999_999)[2]
    assert requests.get(f"{again.url}/_sim/sandboxes/{sb['id']}", timeout=10).json()["credentials"] == \
        sb["credentials"]
    again.stop()
    assert _integrity(db) == "ok"
