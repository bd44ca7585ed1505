"""Limits: body size on every route, SIM_ADMIN_TOKEN on every /_sim route, a bounded journal.

Source: control-plane.md (SIM_ADMIN_TOKEN, journal retention "the last 10,000 entries per sandbox",
"caps the body at 1 MiB" in simulators/control), bluedrop.md ("413 body over 1 MiB"), trainingportal.md
(uploads at most 10 MiB), issue 9 ("request body size limits on every route ... never a 500").
"""

from __future__ import annotations

import http.client
import re
from urllib.parse import urlsplit

import pytest
import requests

from simulators.app import MAX_BODY
from simulators.control import BODY_LIMIT
from tests.platform.echo_system import SYSTEM as ECHO

from .conftest import needs, new_sandbox

TOKEN = "adm-7c1f0e2b9d"


def _rules(app, prefix: str = ""):
    """Every (method, concrete path, rule) of the app, with path variables filled in."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or not rule.rule.startswith(prefix):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((method, rule))
    return out


def _fill(rule, sandbox_id: str) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1).split(":")[-1]
        return sandbox_id if name == "sandbox_id" else "x1"

    return re.sub(r"<([^>]+)>", value, rule.rule)


def _raw(url: str, method: str, path: str, headers: dict[str, str], body: bytes = b"",
         timeout: float = 10) -> tuple[int, bytes]:
    """One request on a raw connection; the body sent may be shorter than the declared Content-Length."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _chunked(url: str, method: str, path: str, size: int, content_type: str) -> tuple[int, bytes]:
    """A body sent with Transfer-Encoding: chunked (no Content-Length for a guard to look at)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.putheader("Content-Type", content_type)
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        chunk = b"a" * 65536
        sent = 0
        try:
            while sent < size:
                conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _limit_for(path: str) -> int:
    """The documented cap of the route: 1 MiB on /_sim and Bluedrop, the app's overall cap elsewhere."""
    if path.startswith("/_sim") and not path.startswith("/_sim/example-provider"):
        return BODY_LIMIT
    if path.startswith("/api-v2"):
        return 1024 * 1024
    return MAX_BODY


# -- body size ------------------------------------------------------------------------------------


def test_every_route_refuses_a_declared_body_over_its_limit(live):
    """Each route and method of the app, told a body is one byte over the route's limit, answers 413
    (in the system's wire format) at once, without reading the body and never with a 500."""
    srv = live()
    sid = new_sandbox(srv.url)["id"]
    failures, tried = [], 0
    for method, rule in _rules(srv.app):
        path = _fill(rule, sid)
        limit = _limit_for(path)
        try:
            status, body = _raw(srv.url, method, path, {"Content-Type": "application/json",
                                                        "Content-Length": str(limit + 1)}, b"{" + b" " * 1000,
                                timeout=3)
        except OSError as exc:  # the server waited for the rest of the body instead of refusing it
            status, body = 0, repr(exc).encode()
        tried += 1
        if status != 413:
            failures.append(f"{method} {rule.rule}: {status} {body[:120]!r}")
    assert tried > 20
    assert not failures, "\n".join(failures)


def test_control_plane_routes_refuse_a_chunked_body_over_1_mib(live):
    """A chunked body carries no Content-Length: the 1 MiB cap of /_sim must hold while reading too."""
    srv = live()
    sid = new_sandbox(srv.url)["id"]
    for path in ("/_sim/sandboxes", f"/_sim/sandboxes/{sid}/faults", f"/_sim/sandboxes/{sid}/journal/verify",
                 f"/_sim/sandboxes/{sid}/clock", f"/_sim/sandboxes/{sid}/snapshots"):
        status, body = _chunked(srv.url, "POST", path, BODY_LIMIT + 65536 * 2, "application/json")
        assert status == 413, (path, status, body[:200])
        assert b'"tooLarge"' in body
    # and a small chunked body still works
    status, body = _chunked(srv.url, "POST", f"/_sim/sandboxes/{sid}/clock", 0, "application/json")
    assert status == 400 and b'"body"' in body


def test_a_full_body_over_the_limit_is_413_json_and_the_server_keeps_answering(live):
    """A real 2 MiB JSON body (sent in full) to a control route: 413 tooLarge, then normal service."""
    srv = live()
    big = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    try:
        r = requests.post(f"{srv.url}/_sim/sandboxes", data=big, headers={"Content-Type": "application/json"},
                          timeout=30)
        assert (r.status_code, r.json()["code"]) == (413, "tooLarge")
    except requests.ConnectionError:
        pytest.fail("the server reset the connection instead of answering 413")
    assert requests.get(f"{srv.url}/_sim/health", timeout=5).status_code == 200


# -- SIM_ADMIN_TOKEN ------------------------------------------------------------------------------


def _strings(value) -> list[str]:
    """Every credential string (keys, secrets, passwords) of a sandbox answer, 6 characters or longer."""
    if isinstance(value, dict):
        return [x for v in value.values() for x in _strings(v)]
    if isinstance(value, list):
        return [x for v in value for x in _strings(v)]
    return [value] if isinstance(value, str) and len(value) >= 6 else []


def _open_without_token(path: str) -> bool:
    return path == "/_sim/health" or path.startswith("/_sim/example-provider")


def test_admin_token_guards_every_sim_route(live):
    """With SIM_ADMIN_TOKEN set, every /_sim route but /_sim/health and /_sim/example-provider/* answers
    401 JSON without the token or with a wrong one, and not 401 with it."""
    srv = live({"SIM_ADMIN_TOKEN": TOKEN})
    good = {"Authorization": f"Bearer {TOKEN}"}
    sb = new_sandbox(srv.url, headers=good)
    sid, secrets = sb["id"], _strings(sb["credentials"])
    checked, failures = 0, []
    for method, rule in _rules(srv.app, "/_sim"):
        path = _fill(rule, sid)
        if _open_without_token(rule.rule) or rule.endpoint == "dashboard.static":
            continue  # health for container checks; the dashboard's CSS/JS carry no data (login page)
        html = rule.endpoint.startswith("dashboard.")
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {TOKEN}x"},
                        {"Authorization": TOKEN}, {"Cookie": "trainsim_admin=wrong"}):
            r = requests.request(method, srv.url + path, headers=headers, timeout=10, allow_redirects=False)
            ctype = r.headers.get("Content-Type", "").split(";")[0]
            if html:  # the dashboard answers its login page
                ok = r.status_code == 401 and ctype == "text/html" and not any(x in r.text for x in secrets)
            else:
                ok = r.status_code == 401 and ctype == "application/json" and r.json().get("code") == "unauthorized"
            if not ok:
                failures.append(f"{method} {rule.rule} with {headers}: {r.status_code}")
        r = requests.request(method, srv.url + path, headers=good, json={}, timeout=30)
        if r.status_code == 401 or r.status_code >= 500:
            failures.append(f"{method} {rule.rule} with the token: {r.status_code}")
        checked += 1
    assert checked > 15
    assert not failures, "\n".join(failures)
    # health stays open for container checks
    assert requests.get(f"{srv.url}/_sim/health", timeout=5).status_code == 200


def test_without_admin_token_the_control_plane_is_open(live):
    srv = live()
    assert requests.get(f"{srv.url}/_sim/sandboxes", timeout=5).status_code == 200


def test_admin_token_set_through_the_environment_of_trainsim_serve(serve):
    """`trainsim serve` reads SIM_ADMIN_TOKEN from its environment (control-plane.md, Running it)."""
    srv = serve(workers=1, env={"SIM_ADMIN_TOKEN": TOKEN})
    assert requests.get(f"{srv.url}/_sim/sandboxes", timeout=5).status_code == 401
    assert requests.get(f"{srv.url}/_sim/sandboxes", headers={"Authorization": f"Bearer {TOKEN}"},
                        timeout=5).status_code == 200
    assert requests.get(f"{srv.url}/_sim/health", timeout=5).status_code == 200
    assert TOKEN not in srv.read_log()


# -- journal retention ----------------------------------------------------------------------------


def _echo(url: str, sb: dict) -> requests.Session:
    s = requests.Session()
    s.headers.update({"X-Echo-Key": sb["credentials"]["echo"]["key"],
                      "X-Echo-Secret": sb["credentials"]["echo"]["secret"]})
    return s


def test_journal_stays_bounded_per_sandbox_when_sandboxes_interleave(live):
    """JOURNAL_RETENTION=20, two sandboxes calling in strict alternation, 300 calls each: each sandbox's
    journal holds at most 2 x 20 entries, and the newest entry is always kept."""
    srv = live({"JOURNAL_RETENTION": 20}, systems=[ECHO])
    a, b = new_sandbox(srv.url), new_sandbox(srv.url)
    sa, sb = _echo(srv.url, a), _echo(srv.url, b)
    for i in range(300):
        assert sa.get(f"{srv.url}/echo/notes?n={i}", timeout=5).status_code == 200
        assert sb.get(f"{srv.url}/echo/notes?n={i}", timeout=5).status_code == 200
    for sbx in (a, b):
        j = requests.get(f"{srv.url}/_sim/sandboxes/{sbx['id']}/journal?limit=1000", timeout=5).json()
        assert j["total"] <= 40, (sbx["id"], j["total"])
        assert j["items"][0]["request"]["query"] == "n=299"
    with srv.platform.journal.store.read() as db:
        assert db.execute("SELECT count(*) FROM _journal").fetchone()[0] <= 80


# -- uploads --------------------------------------------------------------------------------------


@needs("trainingportal")
def test_upload_over_10_mib_is_refused_and_10_mib_is_kept(live):
    """trainingportal.md uploadDocumentation: at most 10 MiB. 10 MiB + 1 byte: 413 with errorMessage, and
    no document is stored; exactly 10 MiB: accepted and downloadable byte for byte."""
    srv = live()
    sb = new_sandbox(srv.url, fixtures="empty")
    provider = sb["credentials"]["trainingportal"]["providers"][0]
    auth = {"username": provider["username"], "password": provider["password"]}
    from .workload import Workload

    work = Workload(srv.url, sb)
    cls = work.write("courseClass", 1)[1]
    sim = f"{srv.url}/_sim/sandboxes/{sb['id']}"
    booked = requests.post(f"{sim}/trainingportal/bookings", timeout=30, json={
        "username": provider["username"], "externalCourseId": work.tp_course, "externalCourseClassId": cls})
    ref = booked.json()["booking"]["bookingReference"]
    requests.post(f"{sim}/clock", json={"advance": "PT10S"}, timeout=10)
    url = f"{srv.url}/mintra/api/courseprovider/rest/v1/booking/uploadDocumentation/{ref}"
    head = b"%PDF-1.4\n"
    too_big = head + b"0" * (10 * 1024 * 1024 + 1 - len(head))
    r = requests.post(url, data=auth, files={"file": ("c.pdf", too_big, "application/pdf")}, timeout=60)
    assert r.status_code == 413 and r.json()["errorMessage"], (r.status_code, r.text[:200])
    docs = requests.get(f"{sim}/trainingportal/documents", timeout=10).json()
    assert docs["total"] == 0
    exact = head + b"1" * (10 * 1024 * 1024 - len(head))
    r = requests.post(url, data=auth, files={"file": ("c.pdf", exact, "application/pdf")}, timeout=60)
    assert r.status_code == 200, r.text[:300]
    got = requests.get(f"{sim}/trainingportal/documents/{r.json()['documentId']}", timeout=30)
    assert got.status_code == 200 and got.content == exact
