"""Hostile XML against every Learning Assistant SOAP service, on `trainsim serve` (a real process whose
memory can be measured).

Source: learning-assistant.md "Protocol" ("Malformed XML, a body that is not a SOAP envelope, an unknown
operation -> SOAP Fault (soapenv:Client, HTTP 500 ...). XML parsing must refuse DTDs and external entities
(no XXE, no entity expansion)"), issue 9 ("no file read, no memory blow-up, the server still answering
others").
"""

from __future__ import annotations

import http.server
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from lxml import etree

from .conftest import needs, new_sandbox
from .workload import SOAPENV, TNS, Workload, envelope

pytestmark = needs("learning-assistant")

SERVICES = ["authenticate", "user", "course", "company", "enrolment", "enrolment_update"]
OPERATION = {"authenticate": "Authenticate", "user": "GetTrainers", "course": "GetFrameworks",
             "company": "GetCompanies", "enrolment": "GroupEnrolment", "enrolment_update": "UpdateEnrolment"}
MARKER = "MARKER-5f1c9e0a-secret-file-content"


def _fault(resp: requests.Response) -> tuple[str, str]:
    assert resp.status_code == 500, (resp.status_code, resp.text[:300])
    assert resp.headers["Content-Type"].startswith("text/xml"), resp.headers["Content-Type"]
    root = etree.fromstring(resp.content)
    fault = root.find(f".//{{{SOAPENV}}}Fault")
    assert fault is not None, resp.text[:300]
    return fault.findtext("faultcode"), fault.findtext("faultstring")


def _client_fault(resp: requests.Response) -> str:
    code, message = _fault(resp)
    assert code.endswith("Client"), (code, message)
    assert message
    return message


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Recorder.hits.append(self.path)
        body = f'<!ENTITY leak "{MARKER}">'.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    """One server (1 worker, so its memory is one process) and a network-entity trap, for the module."""
    from .conftest import spawn

    tmp = tmp_path_factory.mktemp("hostile")
    srv = spawn(str(tmp), workers=1, threads=8)
    trap = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=trap.serve_forever, daemon=True).start()
    secret = tmp / "secret.txt"
    secret.write_text(MARKER)
    sb = new_sandbox(srv.url, fixtures="empty")
    yield {"srv": srv, "sb": sb, "work": Workload(srv.url, sb),
           "trap": f"http://127.0.0.1:{trap.server_address[1]}", "file": secret.as_uri()}
    trap.shutdown()
    srv.stop()


def _post(target, service: str, body: bytes | str, content_type: str = "text/xml; charset=utf-8",
          timeout: float = 10) -> requests.Response:
    data = body.encode() if isinstance(body, str) else body
    return requests.post(f"{target['srv'].url}/webservices/soap/{service}.cfc", data=data, timeout=timeout,
                         headers={"Content-Type": content_type, "SOAPAction": '""'})


def _ok_envelope(service: str, inner: str = "") -> str:
    return envelope(OPERATION[service], inner).decode()


MALFORMED = {
    "empty body": "",
    "not XML": "hello, I am not XML",
    "truncated": '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="' + SOAPENV + '"><soapenv:Body><ns1:Auth',
    "mismatched tags": f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}"><soapenv:Body></soapenv:Envelope>',
    "undeclared prefix": "<soapenv:Envelope><soapenv:Body/></soapenv:Envelope>",
    "not a SOAP envelope": f'<html xmlns="{TNS}"><body>hi</body></html>',
    "envelope without body": f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}"><soapenv:Header/></soapenv:Envelope>',
    "SOAP 1.2 envelope": '<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>',
    "empty SOAP body": f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}"><soapenv:Body/></soapenv:Envelope>',
    "two roots": f'<a xmlns="{TNS}"/><b/>',
    "NUL byte": f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}">\x00</soapenv:Envelope>',
    "processing instruction only": '<?xml version="1.0"?><?foo bar?>',
    "comment only": "<!-- nothing -->",
    "CDATA root": "<![CDATA[x]]>",
    "huge attribute count": f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}" '
                            + " ".join(f'a{i}="1"' for i in range(20000)) + "><soapenv:Body/></soapenv:Envelope>",
    "unknown operation": envelope("DropAllTables", "").decode(),
}


@pytest.mark.parametrize("service", SERVICES)
def test_malformed_documents_are_client_faults_on_every_service(target, service):
    """16 malformed or non-SOAP documents x 6 services: each a SOAP Fault soapenv:Client, HTTP 500."""
    for name, body in MALFORMED.items():
        try:
            _client_fault(_post(target, service, body))
        except AssertionError as exc:
            raise AssertionError(f"{service}: {name}: {exc}") from None


def _entity_payloads(target) -> dict[str, str]:
    file_uri, trap = target["file"], target["trap"]
    auth = "<szUsername>&xxe;</szUsername><szPassword>x</szPassword>"
    body = envelope("Authenticate", auth).decode()
    return {
        "file entity": f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "{file_uri}">]>{body}',
        "network entity": f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "{trap}/entity">]>{body}',
        "parameter entity": f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "{trap}/param"> %p;]>'
                            + body.replace("&xxe;", "&leak;"),
        "external DTD": f'<?xml version="1.0"?><!DOCTYPE soapenv:Envelope SYSTEM "{trap}/dtd">'
                        + body.replace("&xxe;", "x"),
        "public DTD": f'<?xml version="1.0"?><!DOCTYPE x PUBLIC "-//X//EN" "{trap}/public">'
                      + body.replace("&xxe;", "x"),
        "internal entity only": '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe "inline">]>' + body,
        "file entity in an attribute": f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "{file_uri}">]>'
                                       + body.replace("<szUsername>&xxe;", '<szUsername a="&xxe;">'),
        "XInclude": body.replace("&xxe;", f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                                          f'href="{file_uri}" parse="text"/>'),
        "XInclude network": body.replace("&xxe;", f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                                                  f'href="{trap}/xinclude" parse="text"/>'),
        "schemaLocation": body.replace("<soapenv:Envelope ", '<soapenv:Envelope xmlns:xsi='
                                       '"http://www.w3.org/2001/XMLSchema-instance" '
                                       f'xsi:schemaLocation="{TNS} {trap}/xsd" ').replace("&xxe;", "x"),
    }


def test_external_entities_read_no_file_and_call_no_url(target):
    """XXE with file, network and parameter entities, external/public DTDs, XInclude and schemaLocation, on
    every service: no answer (nor the journal) holds the marker from the file, the trap URL is never hit,
    and every document with a DTD is a Client fault."""
    _Recorder.hits.clear()
    for name, body in _entity_payloads(target).items():
        for service in SERVICES:
            resp = _post(target, service, body.replace("Authenticate", OPERATION[service]))
            assert MARKER not in resp.text, (name, service)
            assert resp.status_code in (200, 500), (name, service, resp.status_code)
            if "<!DOCTYPE" in body:
                _client_fault(resp)
    time.sleep(0.3)
    assert _Recorder.hits == [], _Recorder.hits
    journal = requests.get(f"{target['srv'].url}/_sim/sandboxes/{target['sb']['id']}/journal?limit=1000",
                           timeout=10).text
    assert MARKER not in journal


def _laughs(depth: int = 10, width: int = 10) -> str:
    ents = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * width}">' for i in range(1, depth))
    return (f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY l0 "lol">{ents}]>'
            + envelope("GetTrainers", f"<x>&l{depth - 1};</x>").decode())


def _deep(n: int) -> str:
    return envelope("GetTrainers", "<a>" * n + "x" + "</a>" * n).decode()


HEAVY = {
    "billion laughs": lambda: _laughs(),
    "quadratic blowup": lambda: ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "' + "A" * 50_000 + '">]>'
                                 + envelope("GetTrainers", "<x>" + "&a;" * 20_000 + "</x>").decode()),
    "deep nesting 100k": lambda: _deep(100_000),
    "deep nesting 5k": lambda: _deep(5_000),
    "10 MiB of text": lambda: envelope("GetTrainers", "<x>" + "A" * (10 * 1024 * 1024) + "</x>").decode(),
    "12 MiB over the cap": lambda: envelope("GetTrainers", "<x>" + "A" * (12 * 1024 * 1024) + "</x>").decode(),
    "100k sibling elements": lambda: envelope("GetTrainers", "<x/>" * 100_000).decode(),
}


def _answer_or_fault(resp: requests.Response) -> None:
    assert resp.status_code in (413, 500), (resp.status_code, resp.text[:200])
    if resp.status_code == 500:
        _client_fault(resp)


def test_expansion_bombs_deep_nesting_and_huge_bodies_keep_memory_bounded(target):
    """Billion laughs, quadratic blow-up, 100k-deep nesting, 10-12 MiB bodies, 100k siblings, each sent
    3 times: every one a Client fault (or 413) within 10 s, and the server's RSS grows by < 150 MiB."""
    srv = target["srv"]
    assert requests.get(f"{srv.url}/_sim/health", timeout=5).status_code == 200
    before = srv.rss_kib()
    for name, make in HEAVY.items():
        body = make().encode()
        for _ in range(3):
            started = time.monotonic()
            try:
                resp = _post(target, "user", body, timeout=20)
            except requests.ConnectionError:
                pytest.fail(f"{name}: connection reset instead of an answer")
            assert time.monotonic() - started < 10, name
            try:
                _answer_or_fault(resp)
            except AssertionError as exc:
                raise AssertionError(f"{name}: {exc}") from None
    grown = (srv.rss_kib() - before) / 1024
    assert grown < 150, f"RSS grew by {grown:.0f} MiB"
    assert srv.proc.poll() is None


ENCODINGS = {
    "latin-1 bytes declared UTF-8": (b'<?xml version="1.0" encoding="UTF-8"?>'
                                     + envelope("Authenticate", "<szUsername>Bj\xf8rn</szUsername>"
                                                "<szPassword>x</szPassword>").split(b"?>", 1)[1]
                                     .replace(b"Bj\xc3\xb8rn", b"Bj\xf8rn")),
    "unknown encoding name": envelope("Authenticate", "<szUsername>a</szUsername>").replace(
        b'encoding="UTF-8"', b'encoding="x-klingon-9"'),
    "UTF-16 declared, UTF-8 bytes": envelope("Authenticate", "<szUsername>a</szUsername>").replace(
        b'encoding="UTF-8"', b'encoding="UTF-16"'),
    "UTF-32 BOM on UTF-8 bytes": b"\x00\x00\xfe\xff" + envelope("Authenticate", "<szUsername>a</szUsername>"),
    "truncated UTF-8 sequence": envelope("Authenticate", "<szUsername>a</szUsername>").replace(b">a<", b">\xe2\x82<"),
    "overlong UTF-8": envelope("Authenticate", "<szUsername>a</szUsername>").replace(b">a<", b">\xc0\xaf<"),
    "EBCDIC declared": envelope("Authenticate", "<szUsername>a</szUsername>").replace(
        b'encoding="UTF-8"', b'encoding="cp500"'),
}


KNOWN_DEFECTS: dict[str, str] = {}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[n]))
                                  if n in KNOWN_DEFECTS else n for n in ENCODINGS])
def test_wrong_encodings_are_client_faults(target, name):
    """7 wrongly encoded envelopes (bytes that do not match the declared or detected encoding, unknown and
    EBCDIC encodings) to Authenticate: each a Client fault, never a 200 with mangled data or a 5xx crash."""
    for ctype in ("text/xml; charset=utf-8", "text/xml"):
        try:
            _client_fault(_post(target, "authenticate", ENCODINGS[name], content_type=ctype))
        except AssertionError as exc:
            raise AssertionError(f"{name} ({ctype}): {exc}") from None


def test_the_server_keeps_answering_others_under_hostile_load(target):
    """8 threads send the heavy payloads for ~4 s while a well-behaved client enrols learners and checks
    health: each of its calls is answered (within 10 s) and every enrolment succeeds."""
    bodies = [make().encode() for name, make in HEAVY.items() if "MiB" not in name]
    stop = threading.Event()

    def attacker(i: int) -> int:
        n = 0
        while not stop.is_set():
            try:
                _post(target, "user", bodies[(i + n) % len(bodies)], timeout=20)
            except requests.RequestException:
                pass
            n += 1
        return n

    work: Workload = target["work"]
    slow, results = [], []
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(attacker, i) for i in range(8)]
        deadline = time.monotonic() + 4
        n = 0
        while time.monotonic() < deadline:
            started = time.monotonic()
            results.append(work.write("enrolment", 50_000 + n))
            assert requests.get(f"{target['srv'].url}/_sim/health", timeout=15).status_code == 200
            took = time.monotonic() - started
            # a server that stopped answering others would not answer until the attack stops (never, here:
            # it stops after this loop) and the health call's timeout would fail it; the bound only catches
            # the slow tail. On granian, 8 threads parsing hostile XML hold the GIL against the Rust side's
            # hand-offs: the slowest call measured 3.2-6.2 s (gunicorn gthread: 1.7-2.9 s); RELIABILITY.md
            if took > 10:
                slow.append(took)
            n += 1
        stop.set()
        attacks = sum(f.result() for f in futures)
    assert attacks >= 16
    assert results and all(r[2] for r in results), [r[3:] for r in results if not r[2]][:3]
    assert not slow, slow
