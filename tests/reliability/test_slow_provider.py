"""Slow and hanging provider URLs: Trainingportal's reservation call gives up at the provider's timeout,
the booking fails with the timeout recorded, and nobody else waits meanwhile.

Source: trainingportal.md "Trainingportal calling the provider" ("Timeout 10 s (configurable)";
"timeout or connection error -> the attempt is recorded as failed with the reason, and no seat is
taken"), control-plane.md (PATCH providers: timeoutSeconds), architecture rule "never hold
store.write() while making an outbound HTTP call".
"""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .conftest import needs, new_sandbox
from .workload import Workload

pytestmark = needs("trainingportal")


class Provider:
    """A TCP server that plays a broken provider: ``hang`` (accepts, never answers) or ``trickle`` (sends
    the status line and headers, then one body byte every 0.3 s, forever)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/reserve"
        self.stop = threading.Event()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            if self.mode == "trickle":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
                while not self.stop.is_set():
                    conn.sendall(b" ")
                    time.sleep(0.3)
            else:
                self.stop.wait()
        except OSError:
            pass

    def close(self) -> None:
        self.stop.set()
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hang", "trickle"])
def test_a_hanging_provider_times_out_and_blocks_nobody(serve, mode):
    """Provider timeoutSeconds=4 on a provider that never answers (or trickles a byte every 0.3 s):
    4 bookings at once each fail within 4 + 2 s with a recorded timeout and no seat taken; meanwhile
    other clients' calls (health, getCourses, addClass) are answered in under 2.5 s each (a call stuck
    behind the provider would wait its 4 s; the margin keeps a loaded 2-CPU machine from flaking)."""
    provider = Provider(mode)
    srv = serve(workers=1, threads=8)
    try:
        sb = new_sandbox(srv.url, fixtures="empty")
        work = Workload(srv.url, sb)
        sim = f"{srv.url}/_sim/sandboxes/{sb['id']}"
        user = work.tp_auth["username"]
        r = requests.patch(f"{sim}/trainingportal/providers/{user}",
                           json={"reservationUrl": provider.url, "timeoutSeconds": 4}, timeout=10)
        assert r.status_code == 200, r.text
        kind, cls, ok, status, body = work.write("courseClass", 1)
        assert ok, body
        seats = next(c for c in requests.get(f"{sim}/trainingportal/classes", timeout=10).json()["items"]
                     if c["externalId"] == cls)["availableSeats"]

        def book(_: int) -> tuple[float, requests.Response]:
            started = time.monotonic()
            resp = requests.post(f"{sim}/trainingportal/bookings", timeout=30, json={
                "username": user, "externalCourseId": work.tp_course, "externalCourseClassId": cls})
            return time.monotonic() - started, resp

        with ThreadPoolExecutor(4) as pool:
            bookings = [pool.submit(book, i) for i in range(4)]
            time.sleep(0.3)
            others = []
            deadline = time.monotonic() + 3
            n = 0
            while time.monotonic() < deadline:
                for call in (lambda: requests.get(f"{srv.url}/_sim/health", timeout=5),
                             lambda: requests.get(f"{srv.url}/mintra/api/courseprovider/rest/v1/courses",
                                                  params=work.tp_auth, timeout=5),
                             lambda n=n: work.write("courseClass", 100 + n)):
                    started = time.monotonic()
                    out = call()
                    status = out.status_code if isinstance(out, requests.Response) else out[3]
                    others.append((time.monotonic() - started, status))
                n += 1
            results = [f.result() for f in bookings]
        assert all(status in (200, 204) for _, status in others), others
        slowest = max(t for t, _ in others)
        assert slowest < 2.5, f"another client waited {slowest:.2f} s behind the hanging provider"
        for took, resp in results:
            assert resp.status_code == 502, resp.text
            assert took < 6, f"the booking took {took:.1f} s with a 4 s provider timeout"
            delivery = resp.json()["delivery"]
            assert delivery["outcome"] == "failed" and "timed out" in delivery["reason"], delivery
        after = next(c for c in requests.get(f"{sim}/trainingportal/classes", timeout=10).json()["items"]
                     if c["externalId"] == cls)["availableSeats"]
        assert after == seats
        outbox = requests.get(f"{sim}/outbox", timeout=10).json()
        assert outbox["total"] == 4 and all("timed out" in d["reason"] for d in outbox["items"])
    finally:
        provider.close()
