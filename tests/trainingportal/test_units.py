"""Unit tests of Trainingportal's own code: parameter rules, answer reading, XML rendering, scale, snapshots."""

from __future__ import annotations

import time

import pytest

from simulators.app import create_app
from simulators.platform.outbox import CallResult
from simulators.trainingportal import errors
from simulators.trainingportal.models import Params, TrainingportalModel
from simulators.trainingportal.provider_calls import cancellation_outcome, reservation_outcome
from simulators.trainingportal.render import to_xml


def result(body: str, status: int = 200, ctype: str = "application/json", error: str | None = None) -> CallResult:
    return CallResult(url="http://p/reserve", params={}, status=status, body=body, content_type=ctype, error=error)


@pytest.mark.parametrize("body,ctype,expected", [
    ('{"successful": true, "bookingReference": "R1", "errorMessage": ""}', "application/json", ("R1", None)),
    ('{"successful": "TRUE", "bookingReference": 42}', "application/json", ("42", None)),
    ("<r xmlns='urn:x'><successful>true</successful><bookingReference> R2 </bookingReference></r>",
     "text/xml", ("R2", None)),
    ('{"successful": false, "errorMesssage": "full"}', "application/json",
     (None, "the provider refused the reservation: full")),
    ('{"successful": "false"}', "application/json",
     (None, "the provider refused the reservation (successful is not true)")),
    ('{"successful": true}', "application/json", (None, "the provider answered successful without a bookingReference")),
    ('{"successful": true, "bookingReference": "a/b"}', "application/json",
     (None, "the provider's bookingReference 'a/b' is not usable (at most 200 printable characters, no '/')")),
    ("[1, 2]", "application/json", (None, "the provider's JSON answer is not an object")),
    ("<html><body>hi</body></html>", "text/plain", (None, "the provider answered HTML, not JSON or XML")),
    ("<r><unclosed></r>", "application/xml", (None, "the provider's answer is not well-formed XML")),
    ("OK", "text/plain", (None, "the provider's answer is neither JSON nor XML (Content-Type text/plain)")),
    ("", "application/json", (None, "the provider answered an empty body")),
])
def test_reservation_answers(body, ctype, expected):
    assert reservation_outcome(result(body, ctype=ctype)) == expected


def test_reservation_transport_failures():
    assert reservation_outcome(result("", error="timed out after 1 s")) == (None, "timed out after 1 s")
    assert reservation_outcome(result('{"successful": true, "bookingReference": "R"}', status=503)) == (
        None, "the provider answered HTTP 503")


def test_cancellation_answers():
    assert cancellation_outcome(result('{"cancelled": "true", "errorMessage": ""}')) is None
    assert cancellation_outcome(result("<x><cancelled>false</cancelled><errorMessage>no</errorMessage></x>",
                                       ctype="application/xml")) == "the provider refused the cancellation: no"


def test_params_collect_every_problem():
    p = Params({"a": "1.005", "d": "2026-13-01", "t": "7:00", "n": "-3", "c": "sek"})
    assert p.amount("a") is None and p.date("d") is None and p.time("t") is None
    assert p.seats("n") is None and p.currency("c") is None
    with pytest.raises(errors.BadParameter) as exc:
        p.raise_if_invalid()
    assert exc.value.body() == {"errorMessage": (
        "Invalid parameter 'a' must have at most 2 decimals, got '1.005'; parameter 'd' must be a real calendar "
        "date as yyyy-MM-dd, got '2026-13-01'; parameter 't' must be a time as HH:mm (24 h), got '7:00'; "
        "parameter 'n' must not be negative, got '-3'; parameter 'c' must be one of NOK, EUR, USD, GBP, got 'sek'")}


def test_params_accept_good_values_and_non_ascii_digits_are_refused():
    p = Params({"a": "9500", "d": "2026-10-01", "t": "23:59", "n": "0", "x": "١٢"})
    assert (p.amount("a"), p.date("d"), p.time("t"), p.seats("n")) == ("9500.00", "2026-10-01", "23:59", 0)
    assert p.seats("x") is None and p.problems == ["parameter 'x' must be a whole number, got '١٢'"]


def test_xml_rendering():
    assert to_xml("courseClasses", [{"a": True, "b": None, "c": {"d": "x<y"}}], item="courseClass") == (
        '<?xml version="1.0" encoding="UTF-8"?><courseClasses><courseClass><a>true</a><c><d>x&lt;y</d></c>'
        '</courseClass></courseClasses>')


@pytest.fixture
def plat():
    app = create_app({"DATABASE": ":memory:", "DEMO": False})
    return app.extensions["trainsim"]


def test_scale_is_fast_and_keeps_lookups_indexed(plat):
    sb = plat.sandboxes.create(fixtures="empty")
    started = time.perf_counter()
    out = plat.systems["trainingportal"].scale(plat, sb["id"])
    assert out == {"courses": 200, "classes": 10000, "bookings": 50000}
    assert time.perf_counter() - started < 10
    again = plat.systems["trainingportal"].scale(plat, sb["id"], 0.01)
    assert again == {"courses": 2, "classes": 100, "bookings": 500}
    model = TrainingportalModel(plat)
    user = sb["credentials"]["trainingportal"]["providers"][0]["username"]
    assert len(model.course_classes(sb["id"], user, "SCALE-0007")) == 50
    with plat.store.read() as db:
        plan = db.execute("EXPLAIN QUERY PLAN SELECT * FROM tp_classes WHERE sandbox = ? AND username = ? AND "
                          "course_external_id = ? AND state != 'deleted' ORDER BY +id", ["s", "u", "c"]).fetchall()
    assert "username_course_external_id" in plan[0][3]


def test_snapshot_keeps_uploaded_documents(plat):
    sb = plat.sandboxes.create(fixtures="demo")
    sid = sb["id"]
    model = TrainingportalModel(plat)
    user = sb["credentials"]["trainingportal"]["providers"][0]["username"]
    ref = model.list_bookings(sid)[0][0]["bookingReference"]
    plat.snapshots.save(sid, "before")
    doc = model.upload_document(sid, user, ref, data=b"%PDF-1.7 x", filename="a.pdf", values={})
    plat.snapshots.save(sid, "with-doc")
    plat.snapshots.restore(sid, "before")
    assert model.list_documents(sid)[1] == 0
    plat.snapshots.restore(sid, "with-doc")
    meta, data = model.document(sid, doc["documentId"])
    assert data == b"%PDF-1.7 x" and meta["contentType"] == "application/pdf"


def test_deletion_due_work_spares_a_restored_class(plat):
    sb = plat.sandboxes.create(fixtures="demo")
    sid = sb["id"]
    model = TrainingportalModel(plat)
    user = sb["credentials"]["trainingportal"]["providers"][0]["username"]
    assert model.cancel_class(sid, user, "6", "BST-1001") == {"sucessful": True, "errorMessage": ""}
    assert [p["kind"] for p in plat.clock.pending(sid)] == ["trainingportal.delete-class"]
    model.restore_class(sid, user, "6", "BST-1001")
    assert plat.clock.pending(sid) == []
    plat.clock.advance(sid, 7200)
    states = {c["externalId"]: c["state"] for c in model.list_classes(sid)[0]}
    assert states["BST-1001"] == "published"


def test_seeding_is_reproducible(plat):
    a = plat.sandboxes.create(fixtures="demo", seed=5)
    b = plat.sandboxes.create(fixtures="demo", seed=5)
    model = TrainingportalModel(plat)
    strip = [{k: v for k, v in x.items() if k not in ("reservedAt", "visibleAt", "username")}
             for x in model.list_bookings(a["id"])[0]]
    assert strip == [{k: v for k, v in x.items() if k not in ("reservedAt", "visibleAt", "username")}
                     for x in model.list_bookings(b["id"])[0]]
