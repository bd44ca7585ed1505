"""Isolation: two sandboxes on one server; every API of every system and every control-plane read is
tried with sandbox A's credentials (or A's control-plane path) against sandbox B's ids.

Source: control-plane.md "Sandboxes (isolation)" ("Nothing of one sandbox is visible from another"),
issue 9 ("nothing leaks, and the answer is the system's normal 401/403/404").
"""

from __future__ import annotations

import uuid

import pytest
import requests
from lxml import etree

from .conftest import SYSTEMS, new_sandbox
from .workload import TNS, Workload, _xml, envelope

TP = "/mintra/api/courseprovider/rest/v1"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A spawned server with sandboxes A and B; B holds one object of every kind, made through its APIs."""
    from .conftest import spawn

    srv = spawn(str(tmp_path_factory.mktemp("iso")), workers=2)
    a, b = new_sandbox(srv.url, fixtures="demo"), new_sandbox(srv.url, fixtures="demo")
    wa, wb = Workload(srv.url, a), Workload(srv.url, b)
    ids: dict[str, str] = {}
    sim_b = f"{srv.url}/_sim/sandboxes/{b['id']}"
    if "bluedrop" in SYSTEMS:
        ids["record"] = wb.write("learningRecord", 1)[1]
        ids["offering"] = wb.write("classOffering", 2)[1]
        # a learner that only B has: the one B's new record created
        ids["learner"] = requests.get(f"{sim_b}/bluedrop/learning-records/{ids['record']}",
                                      timeout=10).json()["learnerId"]
        assert ids["learner"]
    if "trainingportal" in SYSTEMS:
        ids["class"] = wb.write("courseClass", 3)[1]
        provider = b["credentials"]["trainingportal"]["providers"][0]
        booked = requests.post(f"{sim_b}/trainingportal/bookings", timeout=30, json={
            "username": provider["username"], "externalCourseId": wb.tp_course, "externalCourseClassId": ids["class"]})
        assert booked.status_code == 201, booked.text
        ids["booking"] = booked.json()["booking"]["bookingReference"]
        ids["delivery"] = booked.json()["delivery"]["id"]
        requests.post(f"{sim_b}/clock", json={"advance": "PT10S"}, timeout=10)
        up = requests.post(f"{srv.url}{TP}/booking/uploadDocumentation/{ids['booking']}", data=wb.tp_auth,
                           files={"file": ("c.pdf", PDF, "application/pdf")}, timeout=30)
        assert up.status_code == 200, up.text
        ids["document"] = up.json()["documentId"]
    if "learning-assistant" in SYSTEMS:
        kind, source, ok, status, body = wb.write("enrolment", 4)
        assert ok, body
        ids["source"] = source
        ids["candidate"] = next(c["candidateUUID"] for c in requests.get(
            f"{sim_b}/learning-assistant/candidates?limit=1000", timeout=10).json()["items"]
            if c["sourceSystemLearnerUUID"] == source)
        emails = requests.get(f"{sim_b}/emails", timeout=10).json()["items"]
        if emails:
            ids["email"] = emails[0]["id"]
    fault = requests.post(f"{sim_b}/faults", json={"matcher": {"system": sorted(SYSTEMS)[0]}, "effect": {
        "status": 503}, "probability": 0.0, "seed": 1}, timeout=10)
    assert fault.status_code == 201, fault.text
    ids["fault"] = fault.json()["id"]
    assert requests.post(f"{sim_b}/snapshots", json={"name": "b-only"}, timeout=30).status_code == 201
    before = requests.get(sim_b, timeout=10).json()
    yield {"srv": srv, "a": a, "b": b, "wa": wa, "wb": wb, "ids": ids, "b_before": before}
    srv.stop()


def _leaks(text: str, world, asked: str = "") -> list[str]:
    """B's ids and credential secrets found in an answer given to A (an id A itself sent, which a 4xx
    names back as the value received, is no leak)."""
    b_secrets = [v for net in world["b"]["credentials"].get("bluedrop", {}).get("networks", [])
                 for v in (net["apiKey"], net["apiSecret"], net["networkKey"])]
    for p in world["b"]["credentials"].get("trainingportal", {}).get("providers", []):
        b_secrets += [p["username"], p["password"]]
    la = world["b"]["credentials"].get("learningAssistant")
    if la:
        b_secrets += [la["username"], la["password"]]
    return [x for x in list(world["ids"].values()) + b_secrets if x and x in text and x not in asked]


def test_control_plane_reads_of_b_ids_through_a_are_404(world):
    """Every sandbox-scoped control-plane read and action, on A's path with B's id: 404 notFound, no B data."""
    ids, url = world["ids"], f"{world['srv'].url}/_sim/sandboxes/{world['a']['id']}"
    calls = [("DELETE", f"/faults/{ids['fault']}"), ("POST", "/snapshots/b-only/restore"),
             ("DELETE", "/snapshots/b-only")]
    if "record" in ids:
        calls += [("GET", f"/bluedrop/learning-records/{ids['record']}"),
                  ("POST", f"/bluedrop/learning-records/{ids['record']}/void", {"reason": "x"}),
                  ("POST", f"/bluedrop/learning-records/{ids['record']}/correct", {"fields": {"instructorNames": "X Y"}, "reason": "x"}),
                  ("POST", f"/bluedrop/learning-records/{ids['record']}/match", {"learnerId": ids["learner"]}),
                  ("POST", f"/bluedrop/learning-records/{ids['record']}/create-learner"),
                  ("GET", f"/bluedrop/learners/{ids['learner']}")]
    if "booking" in ids:
        calls += [("GET", f"/trainingportal/bookings/{ids['booking']}"),
                  ("POST", f"/trainingportal/bookings/{ids['booking']}/cancel"),
                  ("GET", f"/trainingportal/documents/{ids['document']}"),
                  ("GET", f"/outbox/{ids['delivery']}"), ("POST", f"/outbox/{ids['delivery']}/retry")]
    if "candidate" in ids:
        calls += [("GET", f"/learning-assistant/candidates/{ids['candidate']}")]
    if "email" in ids:
        calls += [("POST", f"/emails/{ids['email']}/resend")]
    failures = []
    for method, path, *body in calls:
        r = requests.request(method, url + path, json=body[0] if body else None, timeout=30)
        if r.status_code != 404 or r.json().get("code") != "notFound" or _leaks(r.text, world, path):
            failures.append(f"{method} {path}: {r.status_code} {r.text[:150]}")
    assert not failures, "\n".join(failures)
    # and every list of A is free of B's objects
    lists = ["/journal?limit=1000", "/faults", "/snapshots", "/outbox?limit=1000", "/emails?limit=1000"]
    lists += [f"/{p}?limit=1000" for p, s in (
        ("bluedrop/learning-records", "bluedrop"), ("bluedrop/learners", "bluedrop"),
        ("bluedrop/class-offerings", "bluedrop"), ("bluedrop/match-queue", "bluedrop"),
        ("trainingportal/classes", "trainingportal"), ("trainingportal/bookings", "trainingportal"),
        ("trainingportal/documents", "trainingportal"), ("learning-assistant/candidates", "learning-assistant"))
        if s in SYSTEMS]
    for path in lists:
        r = requests.get(url + path, timeout=30)
        assert r.status_code == 200, (path, r.text[:200])
        assert not _leaks(r.text, world), (path, _leaks(r.text, world))
    assert requests.get(f"{world['srv'].url}/_sim/sandboxes/{world['b']['id']}", timeout=10).json() == \
        world["b_before"]


@pytest.mark.skipif("bluedrop" not in SYSTEMS, reason="bluedrop not built")
def test_bluedrop_with_a_credentials_on_b_network_and_offerings(world):
    """A's key on B's networkKey: 403 forbidden; A's key on B's offering ids: 404; mixed key/secret: 401."""
    wa, ids, b_net = world["wa"], world["ids"], world["b"]["credentials"]["bluedrop"]["networks"][0]
    base, auth = f"{world['srv'].url}/api-v2", {"Authorization": wa.network["authorization"]}
    record = {"learningRecordId": f"x-{uuid.uuid4()}", "networkKey": b_net["networkKey"],
              "trainingStandardKey": "WAH-E-I", "completionDate": "2026-01-05T10:00:00.000Z",
              "instructorNames": "A B", "learner": {"uniqueId": "u", "firstname": "Ann", "lastname": "Lee",
                                                     "birthYear": 1990, "personalEmail": "ann@example.ca"}}
    r = requests.post(f"{base}/learning-records", json=record, headers=auth, timeout=10)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    r = requests.post(f"{base}/class-offerings", json={"offeringId": "x", "networkKey": b_net["networkKey"]},
                      headers=auth, timeout=10)
    assert r.status_code in (400, 403), r.text  # schema errors may be listed first; never accepted
    for method, extra in (("PATCH", {"json": {"networkKey": wa.network["networkKey"], "seatsRemaining": 1}}),
                          ("DELETE", {})):
        r = requests.request(method, f"{base}/class-offerings/{ids['offering']}", headers=auth, timeout=10, **extra)
        assert (r.status_code, r.json()["code"]) == (404, "notFound"), (method, r.text)
        assert not _leaks(r.text, world, ids["offering"])
    r = requests.delete(f"{base}/class-offerings/{ids['offering']}?networkKey={b_net['networkKey']}", headers=auth,
                        timeout=10)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    mixed = f"bln type=api,version=1,entity=network,key={wa.network['apiKey']},secret={b_net['apiSecret']}"
    r = requests.post(f"{base}/learning-records", json=record, headers={"Authorization": mixed}, timeout=10)
    assert (r.status_code, r.json()["code"]) == (401, "unauthorized")
    offers = requests.get(f"{world['srv'].url}/_sim/sandboxes/{world['b']['id']}/bluedrop/class-offerings?limit=1000",
                          timeout=10).json()["items"]
    assert ids["offering"] in [o["offeringId"] for o in offers]


@pytest.mark.skipif("trainingportal" not in SYSTEMS, reason="trainingportal not built")
def test_trainingportal_with_a_credentials_on_b_classes_and_bookings(world):
    """A's login on B's class and booking: 404 errorMessage on every method; A's username with B's
    password: 401."""
    wa, wb, ids = world["wa"], world["wb"], world["ids"]
    base, auth = world["srv"].url + TP, wa.tp_auth
    course = wb.tp_course
    # A's clock past B's confirmation delay, so only the sandbox and provider scoping can hide B's booking
    assert requests.post(f"{world['srv'].url}/_sim/sandboxes/{world['a']['id']}/clock", json={"advance": "PT1M"},
                         timeout=10).status_code == 200
    calls = [(f"/courses/get/{course}/courseClasses/update", {"externalId": ids["class"], "availableSeats": "1"}),
             (f"/courses/get/{course}/courseClasses/cancel/{ids['class']}", {}),
             (f"/courses/get/{course}/courseClasses/restore/{ids['class']}", {}),
             (f"/booking/get/{ids['booking']}", {}),
             (f"/booking/update/{ids['booking']}", {"newStatus": "NO_SHOW"})]
    for path, extra in calls:
        for method in ("GET", "POST"):
            kw = {"params": {**auth, **extra}} if method == "GET" else {"data": {**auth, **extra}}
            r = requests.request(method, base + path, timeout=10, **kw)
            assert r.status_code == 404 and "errorMessage" in r.json(), (method, path, r.status_code, r.text)
            assert not _leaks(r.text, world, path + str(extra)), (path, r.text)
    up = requests.post(f"{base}/booking/uploadDocumentation/{ids['booking']}", data=auth,
                       files={"file": ("c.pdf", PDF, "application/pdf")}, timeout=10)
    assert up.status_code == 404, up.text
    listed = requests.get(f"{base}/courses/get/{course}/courseClasses", params=auth, timeout=10)
    assert listed.status_code in (200, 404) and ids["class"] not in listed.text
    mixed = {"username": auth["username"], "password": wb.tp_auth["password"]}
    r = requests.get(f"{base}/courses", params=mixed, timeout=10)
    assert (r.status_code, r.json()) == (401, {"errorMessage": "Invalid username or password"})


@pytest.mark.skipif("learning-assistant" not in SYSTEMS, reason="learning-assistant not built")
def test_learning_assistant_with_a_token_on_b_candidates(world):
    """A's token on B's candidate: GetProgress/GetProgressFull are faults or NOT_FOUND, UpdateEnrolment is
    NOT_FOUND, GetCandidates lists none of B's; A's username with B's password: AuthenticateReturn NO."""
    wa, wb, ids = world["wa"], world["wb"], world["ids"]
    header = wa.token_header()
    for op in ("GetProgress", "GetProgressFull"):
        r = wa.soap("user", envelope(op, f"<CandidateUUID>{ids['candidate']}</CandidateUUID>", header))
        assert r.status_code in (200, 500), r.text
        assert not _leaks(r.text, world, ids["candidate"]), (op, r.text[:300])
        if r.status_code == 200:
            assert "NOT_FOUND" in r.text, r.text[:300]
    r = wa.soap("user", envelope("GetCandidates", "<CourseQAN/><blnActive>1</blnActive><blnCompleted>1</blnCompleted>"
                                                  "<blnTest>1</blnTest>", header))
    assert r.status_code == 200 and not _leaks(r.text, world)
    user = {"CandidateUUID": ids["candidate"], "CourseUUID": wb.la_ref["course"], "Surname": "Hijack"}
    r = wa.soap("enrolment_update", envelope("UpdateEnrolment", f"<User>{_xml(user)}</User>", header))
    assert r.status_code == 200, r.text
    ret = etree.fromstring(r.content).find(f".//{{{TNS}}}UpdateEnrolmentResponse/UpdateEnrolmentReturn")
    assert ret.findtext("Success") == "false" and "NOT_FOUND" in r.text
    la_a, la_b = world["a"]["credentials"]["learningAssistant"], world["b"]["credentials"]["learningAssistant"]
    r = wa.soap("authenticate", envelope("Authenticate", _xml({"szUsername": la_a["username"],
                                                                "szPassword": la_b["password"]})))
    assert r.status_code == 200 and ">NO<" in r.text and "authToken" not in r.text
    detail = requests.get(f"{world['srv'].url}/_sim/sandboxes/{world['b']['id']}/learning-assistant/candidates/"
                          f"{ids['candidate']}", timeout=10).json()
    assert "Hijack" not in str(detail)
