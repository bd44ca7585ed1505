"""Booking methods and Trainingportal calling the provider (spec trainingportal.md "Booking methods",
"Trainingportal calling the provider"; Mintra support pages get-information-on-a-booking, update-a-booking)."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import pytest

from .conftest import class_params

pytestmark = [pytest.mark.mutating, pytest.mark.control_plane]

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32

STUDENT = {"firstName": "Kari", "lastName": "Nordmann", "email": "kari@example.org", "phone": "4712345678",
           "birthDate": "1969-01-03"}
ENROLLER = {"firstName": "Ola", "lastName": "Hansen", "email": "ola@example.org", "phone": "4798765432"}


def booked(portal, course, cls, **body):
    r = portal.book(course, cls, **body)
    assert r.status_code == 201, r.text
    return r.json()


def visible(portal, course, cls, **body):
    ref = booked(portal, course, cls, **body)["booking"]["bookingReference"]
    portal.advance("PT3S")
    return ref


def test_booking_through_the_example_provider(course_class):
    """Spec "Trainingportal calling the provider": 201 with the booking and the delivery; the seat count
    drops by one; the reservation GET carries the documented parameters."""
    portal, course, cls = course_class
    out = booked(portal, course, cls, student=STUDENT, enroller=ENROLLER, company="Nordsjø Drilling AS",
                 commentOnEnrollment="I have a nut allergy", purchaseOrderNumber="PO-2291")
    booking, delivery = out["booking"], out["delivery"]
    assert booking["enrollmentStatus"] == "NEW" and booking["externalCourseClassId"] == cls
    assert delivery["outcome"] == "delivered" and delivery["status"] == 200
    assert delivery["purpose"] == "reservation"
    assert delivery["url"] == f"{portal.server}/_sim/example-provider/reserve?sandbox={portal.sb['id']}"
    assert delivery["params"] == {
        "externalCourseClassId": cls, "studentFirstName": "Kari", "studentLastName": "Nordmann",
        "studentEmailAddress": "kari@example.org", "studentPhoneNumber": "4712345678",
        "studentBirthDate": "1969-01-03", "enrollerFirstName": "Ola", "enrollerLastName": "Hansen",
        "enrollerEmailAddress": "ola@example.org", "enrollerPhoneNumber": "4798765432",
        "company": "Nordsjø Drilling AS"}
    assert portal.classes(course).json()[0]["availableSeats"] == 11
    outbox = portal.sim("GET", "/outbox").json()
    assert outbox["total"] == 1 and outbox["items"][0]["id"] == delivery["id"]


def test_booking_object_shape_after_the_confirmation_delay(course_class):
    """Spec "Booking methods": firstname/lastname lower case at the top (quirk), camel case in enroller;
    404 "Booking not found" until confirmationDelaySeconds (default 2 s) have passed."""
    portal, course, cls = course_class
    ref = booked(portal, course, cls, student=STUDENT, enroller=ENROLLER, company="Nordsjø Drilling AS",
                 commentOnEnrollment="I have a nut allergy", purchaseOrderNumber="PO-2291")["booking"]["bookingReference"]
    early = portal.booking(ref)
    assert early.status_code == 404 and early.json() == {"errorMessage": "Booking not found"}
    portal.advance("PT2S")
    r = portal.booking(ref)
    assert r.status_code == 200
    assert r.json() == {
        "bookingReference": ref, "externalCourseClassId": cls, "firstname": "Kari", "lastname": "Nordmann",
        "email": "kari@example.org", "phone": "4712345678", "birthDate": "1969-01-03",
        "enroller": {"firstName": "Ola", "lastName": "Hansen", "email": "ola@example.org", "phone": "4798765432"},
        "company": "Nordsjø Drilling AS", "enrollmentStatus": "NEW", "commentOnEnrollment": "I have a nut allergy",
        "purchaseOrderNumber": "PO-2291"}


def test_no_purchase_order_number_when_absent_and_generated_people(course_class):
    """Spec: purchaseOrderNumber is left out when there is none; people generated when left out."""
    portal, course, cls = course_class
    ref = visible(portal, course, cls)
    body = portal.booking(ref).json()
    assert "purchaseOrderNumber" not in body
    assert body["firstname"] and body["lastname"] and "@" in body["email"]
    assert set(body["enroller"]) == {"firstName", "lastName", "email", "phone"}


def test_booking_in_xml(course_class):
    """Spec "Wire conventions": root <booking>, nested <enroller>."""
    portal, course, cls = course_class
    ref = visible(portal, course, cls, student=STUDENT, enroller=ENROLLER)
    root = ElementTree.fromstring(portal.post(f"booking/get/{ref}", xml=True).content)
    assert root.tag == "booking"
    assert root.findtext("firstname") == "Kari" and root.find("enroller").findtext("firstName") == "Ola"
    assert root.findtext("enrollmentStatus") == "NEW"


def test_confirmation_delay_zero_is_visible_at_once(course_class):
    """Spec step 4: settable per provider, 0 allowed."""
    portal, course, cls = course_class
    portal.set_provider(confirmationDelaySeconds=0)
    ref = booked(portal, course, cls)["booking"]["bookingReference"]
    assert portal.booking(ref).status_code == 200


def test_unknown_and_foreign_booking_is_not_found(course_class, sandbox):
    """Spec: 404 for an unknown reference or one of another provider."""
    portal, course, cls = course_class
    ref = visible(portal, course, cls)
    assert portal.booking("nope").json() == {"errorMessage": "Booking not found"}
    from .conftest import Portal

    other = Portal(sandbox)
    r = other.booking(ref)
    assert r.status_code == 404 and r.json() == {"errorMessage": "Booking not found"}


def test_checks_refuse_before_any_call(course_class):
    """Spec step 1: published, availableSeats > 0, today <= enrollmentDeadline; else 409 and no call."""
    portal, course, cls = course_class
    portal.update_class(course, externalId=cls, availableSeats="0")
    r = portal.book(course, cls)
    assert r.status_code == 409
    assert r.json() == {"code": "conflict", "message": "class 'C-1' has no available seats (availableSeats is 0)",
                        "field": "externalCourseClassId"}
    portal.update_class(course, externalId=cls, availableSeats="5")
    deadline = class_params(portal.today())["enrollmentDeadline"]
    portal.advance("P21D")
    r = portal.book(course, cls)
    assert r.status_code == 409
    assert r.json()["message"] == (f"the enrollment deadline of class 'C-1' was {deadline}; "
                                   f"today is {portal.today().isoformat()}")
    assert portal.sim("GET", "/outbox").json()["total"] == 0


def test_booking_a_cancelled_class_is_refused(course_class):
    """Spec step 1: the class must be published."""
    portal, course, cls = course_class
    booked(portal, course, cls)
    portal.cancel_class(course, cls)
    r = portal.book(course, cls)
    assert r.status_code == 409
    assert r.json()["message"] == "class 'C-1' is cancelled, not published; no booking can be made"


def test_book_request_validation(course_class):
    """Control plane: a 400 names the field and the value received; 404 for unknown class/course."""
    portal, course, cls = course_class
    r = portal.sim("POST", "/trainingportal/bookings", json={"externalCourseId": course})
    assert r.status_code == 400
    assert r.json() == {"code": "invalid", "message": "externalCourseClassId is required",
                        "field": "externalCourseClassId"}
    r = portal.book(course, cls, student={"birthDate": "3.1.1969"})
    assert r.status_code == 400
    assert r.json()["field"] == "student.birthDate"
    r = portal.book(course, "ghost")
    assert r.status_code == 404
    assert r.json() == {"code": "notFound", "message": "class 'ghost' not found in course '6'",
                        "field": "externalCourseClassId"}


def test_example_provider_refuses(course_class):
    """Spec: the example provider can be told to refuse; 502 with the delivery; no seat taken."""
    portal, course, cls = course_class
    r = portal.http.post(f"{portal.server}/_sim/example-provider/behaviour",
                         json={"sandbox": portal.sb["id"], "mode": "refuse"}, timeout=10)
    assert r.status_code == 200 and r.json() == {"sandbox": portal.sb["id"], "mode": "refuse"}
    r = portal.book(course, cls)
    assert r.status_code == 502
    body = r.json()
    assert body["code"] == "badGateway"
    assert body["message"] == ("reservation failed: the provider refused the reservation: "
                               "The course class is fully booked in our booking system")
    assert body["delivery"]["outcome"] == "failed" and body["delivery"]["reason"] == body["message"][20:]
    assert portal.classes(course).json()[0]["availableSeats"] == 12
    assert portal.sim("GET", "/trainingportal/bookings").json()["total"] == 0


def test_example_provider_xml_mode(course_class):
    """Spec: the example provider can answer in XML; the reader accepts it."""
    portal, course, cls = course_class
    portal.http.post(f"{portal.server}/_sim/example-provider/behaviour",
                     json={"sandbox": portal.sb["id"], "mode": "xml"}, timeout=10)
    out = booked(portal, course, cls)
    assert out["delivery"]["contentType"].startswith("application/xml")
    assert out["delivery"]["body"].startswith("<?xml")


def test_example_provider_slow_mode_times_out(course_class):
    """Spec step 3: a timeout is a failed attempt, no seat taken (timeout configurable)."""
    portal, course, cls = course_class
    portal.set_provider(timeoutSeconds=0.5)
    portal.http.post(f"{portal.server}/_sim/example-provider/behaviour",
                     json={"sandbox": portal.sb["id"], "mode": "slow"}, timeout=10)
    r = portal.book(course, cls)
    assert r.status_code == 502
    assert r.json()["message"] == "reservation failed: timed out after 0.5 s"
    assert portal.classes(course).json()[0]["availableSeats"] == 12


def test_example_provider_behaviour_validation(empty_portal):
    """Control-plane route table: mode is accept, refuse, slow or xml."""
    url = f"{empty_portal.server}/_sim/example-provider/behaviour"
    r = empty_portal.http.post(url, json={"sandbox": empty_portal.sb["id"], "mode": "explode"}, timeout=10)
    assert r.status_code == 400
    assert r.json() == {"code": "invalid", "message": "mode must be one of accept, refuse, slow, xml, got 'explode'",
                        "field": "mode"}
    r = empty_portal.http.post(url, json={"sandbox": "sbx-none", "mode": "xml"}, timeout=10)
    assert r.status_code == 404


@pytest.mark.parametrize("mode", ["json", "json-string", "xml"])
def test_own_provider_accepting(own_provider, mode):
    """Spec step 2: the provider answers JSON or XML with successful true/"true"; stored under its reference."""
    portal, course, cls, server = own_provider
    server.mode = mode
    out = booked(portal, course, cls, student=STUDENT)
    assert out["booking"]["bookingReference"] == "PRV-0001"
    path, params = server.calls[0]
    assert path == "/reserve" and params["externalCourseClassId"] == cls and params["studentFirstName"] == "Kari"
    assert out["delivery"]["url"] == f"{server.url}/reserve"


@pytest.mark.parametrize("mode,reason", [
    ("refuse", "the provider refused the reservation: Class is full at our end"),
    ("html", "the provider answered HTML, not JSON or XML"),
    ("500", "the provider answered HTTP 500"),
    ("garbage", "the provider's answer is not valid JSON"),
    ("slow", "timed out after 1 s"),
])
def test_own_provider_failing(own_provider, mode, reason):
    """Spec step 3: unsuccessful (errorMesssage misspelling read too), unreadable, non-2xx, timeout ->
    failed with the reason, no seat taken."""
    portal, course, cls, server = own_provider
    server.mode = mode
    r = portal.book(course, cls)
    assert r.status_code == 502
    assert r.json()["message"] == f"reservation failed: {reason}"
    assert r.json()["delivery"]["outcome"] == "failed" and r.json()["delivery"]["reason"] == reason
    assert portal.classes(course).json()[0]["availableSeats"] == 12


def test_connection_refused(course_class):
    """Spec step 3: a connection error is a failed attempt."""
    portal, course, cls = course_class
    portal.set_provider(reservationUrl="http://127.0.0.1:9/reserve")
    r = portal.book(course, cls)
    assert r.status_code == 502
    assert r.json()["message"].startswith("reservation failed: connection failed")
    assert portal.classes(course).json()[0]["availableSeats"] == 12


def test_duplicate_reference_from_the_provider_is_refused(own_provider):
    """Our decision: a bookingReference already used is a failed reservation."""
    portal, course, cls, server = own_provider
    server.reference = "SAME-1"
    booked(portal, course, cls)
    r = portal.book(course, cls)
    assert r.status_code == 502
    assert r.json()["message"] == ("reservation failed: the provider answered bookingReference 'SAME-1', "
                                   "which is already used by another booking")
    assert portal.classes(course).json()[0]["availableSeats"] == 11


def test_retry_runs_the_same_reservation_again(own_provider):
    """Spec step 6: every call is in the delivery log and can be retried from the control plane."""
    portal, course, cls, server = own_provider
    server.mode = "500"
    failed = portal.book(course, cls, student=STUDENT).json()["delivery"]
    server.mode = "json"
    r = portal.sim("POST", f"/outbox/{failed['id']}/retry")
    assert r.status_code == 201, r.text
    again = r.json()["delivery"]
    assert again["retryOf"] == failed["id"] and again["attempt"] == 2 and again["params"] == failed["params"]
    assert r.json()["booking"]["firstname"] == "Kari"
    r = portal.sim("POST", f"/outbox/{again['id']}/retry")
    assert r.status_code == 409
    assert r.json()["message"] == f"delivery {again['id']!r} succeeded; only a failed delivery is retried"


def test_cancellation_through_the_provider(own_provider):
    """Spec step 5: GET <cancellation URL>?bookingReference=; cancelled -> CANCELLED, the seat returns."""
    portal, course, cls, server = own_provider
    ref = visible(portal, course, cls)
    r = portal.sim("POST", f"/trainingportal/bookings/{ref}/cancel")
    assert r.status_code == 200, r.text
    assert r.json()["booking"]["enrollmentStatus"] == "CANCELLED"
    assert r.json()["delivery"]["purpose"] == "cancellation"
    assert server.calls[-1] == ("/cancel", {"bookingReference": ref})
    assert portal.classes(course).json()[0]["availableSeats"] == 12
    assert portal.booking(ref).json()["enrollmentStatus"] == "CANCELLED"
    r = portal.sim("POST", f"/trainingportal/bookings/{ref}/cancel")
    assert r.status_code == 409


def test_cancellation_refused_and_retried(own_provider):
    """Spec step 5/6: a refused cancellation leaves the booking; a retry re-runs it."""
    portal, course, cls, server = own_provider
    ref = visible(portal, course, cls)
    server.mode = "cancel-refuse"
    r = portal.sim("POST", f"/trainingportal/bookings/{ref}/cancel")
    assert r.status_code == 502
    assert r.json()["message"] == "cancellation failed: the provider refused the cancellation: too late for us"
    assert portal.booking(ref).json()["enrollmentStatus"] == "NEW"
    server.mode = "cancel-xml"
    r = portal.sim("POST", f"/outbox/{r.json()['delivery']['id']}/retry")
    assert r.status_code == 200 and r.json()["booking"]["enrollmentStatus"] == "CANCELLED"


def test_cancellation_after_the_deadline_is_refused(course_class):
    """Spec step 5: allowed until the class's cancellationDeadline (else 409, no call)."""
    portal, course, cls = course_class
    ref = visible(portal, course, cls)
    deadline = class_params(portal.today())["cancellationDeadline"]
    portal.advance("P26D")
    r = portal.sim("POST", f"/trainingportal/bookings/{ref}/cancel")
    assert r.status_code == 409
    assert r.json()["message"] == (f"the cancellation deadline of class 'C-1' was {deadline}; "
                                   f"today is {portal.today().isoformat()}")
    assert portal.sim("GET", "/outbox").json()["total"] == 1


def test_example_provider_cancels_its_own_reference(course_class):
    """Spec: the example provider remembers the references it issued."""
    portal, course, cls = course_class
    ref = visible(portal, course, cls)
    r = portal.sim("POST", f"/trainingportal/bookings/{ref}/cancel")
    assert r.status_code == 200 and r.json()["delivery"]["body"] == '{"cancelled":true,"errorMessage":""}\n'


# -- updateBookingStatus ----------------------------------------------------------------------------


def test_update_booking_status_new_no_show_failed(course_class):
    """Spec: newStatus NEW, NO_SHOW, FAILED or COMPLETED; answer {"sucessful": "true", "errorMessage": ""}."""
    portal, course, cls = course_class
    ref = visible(portal, course, cls)
    for status in ("NO_SHOW", "FAILED", "NEW"):
        r = portal.update_booking(ref, newStatus=status)
        assert r.status_code == 200
        assert r.json() == {"sucessful": "true", "errorMessage": ""}
        assert portal.booking(ref).json()["enrollmentStatus"] == status


def test_update_booking_status_rules(course_class):
    """Spec: COMPLETED needs completionDate, not after today, not before the class's startDate; 400 answers
    {"sucessful": "false", "errorMessage": ...}."""
    portal, course, cls = course_class
    ref = visible(portal, course, cls)
    r = portal.update_booking(ref, newStatus="DONE")
    assert r.status_code == 400
    assert r.json() == {"sucessful": "false", "errorMessage": "Invalid parameter 'newStatus' must be one of NEW, "
                                                              "NO_SHOW, FAILED, COMPLETED, got 'DONE'"}
    r = portal.update_booking(ref)
    assert r.status_code == 400
    assert r.json() == {"sucessful": "false", "errorMessage": "Invalid parameter 'newStatus' is required"}
    r = portal.update_booking(ref, newStatus="COMPLETED")
    assert r.status_code == 400
    assert r.json() == {"sucessful": "false",
                        "errorMessage": "Invalid parameter 'completionDate' is required when newStatus is COMPLETED"}
    today = portal.today()
    future = (today + timedelta(days=1)).isoformat()
    r = portal.update_booking(ref, newStatus="COMPLETED", completionDate=future)
    assert r.status_code == 400
    assert r.json() == {"sucessful": "false", "errorMessage": f"Invalid parameter 'completionDate' must not be after "
                                                              f"today ({today.isoformat()}), got '{future}'"}
    start = class_params(today)["startDate"]
    r = portal.update_booking(ref, newStatus="COMPLETED", completionDate=today.isoformat())
    assert r.status_code == 400
    assert r.json() == {"sucessful": "false", "errorMessage": f"Invalid parameter 'completionDate' must not be "
                                                              f"before the class's startDate ({start}), got "
                                                              f"'{today.isoformat()}'"}
    r = portal.update_booking(ref, newStatus="COMPLETED", completionDate="2026/10/01")
    assert r.status_code == 400
    assert r.json()["errorMessage"] == ("Invalid parameter 'completionDate' must be a date as yyyy-MM-dd, "
                                        "got '2026/10/01'")


def test_update_booking_status_in_xml_and_unknown(course_class):
    """Spec: 404 unknown booking; XML root <status> with sucessful as text."""
    portal, course, cls = course_class
    r = portal.post("booking/update/nope", {"newStatus": "NEW"}, xml=True)
    assert r.status_code == 404
    root = ElementTree.fromstring(r.content)
    assert root.tag == "status" and root.findtext("sucessful") == "false"
    assert root.findtext("errorMessage") == "Booking not found"


def test_update_cancelled_booking_conflicts(course_class):
    """Spec: 409 for a cancelled booking."""
    portal, course, cls = course_class
    ref = visible(portal, course, cls)
    assert portal.sim("POST", f"/trainingportal/bookings/{ref}/cancel").status_code == 200
    r = portal.update_booking(ref, newStatus="NO_SHOW")
    assert r.status_code == 409
    assert r.json() == {"sucessful": "false",
                        "errorMessage": f"Booking '{ref}' is cancelled; its status cannot be changed"}


# -- uploadDocumentation ----------------------------------------------------------------------------


@pytest.mark.parametrize("content,ctype", [(PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg")])
def test_upload_is_recognised_by_content_and_downloadable(course_class, content, ctype):
    """Spec: PDF, PNG or JPEG recognised by content, not by name; kept and downloadable."""
    portal, course, cls = course_class
    ref = visible(portal, course, cls)
    r = portal.upload(ref, content, filename="whatever.txt", description="Sea survival certificate")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sucessful"] == "true" and body["errorMessage"] == "" and body["documentId"]
    dl = portal.sim("GET", f"/trainingportal/documents/{body['documentId']}")
    assert dl.status_code == 200 and dl.content == content
    assert dl.headers["Content-Type"] == ctype
    docs = portal.sim("GET", f"/trainingportal/bookings/{ref}").json()["documents"]
    assert docs[0]["documentType"] == "CERTIFICATE" and docs[0]["description"] == "Sea survival certificate"


def test_upload_rules(course_class):
    """Spec: file required, PDF/PNG/JPEG only, not empty, at most 10 MiB (413); documentType
    CERTIFICATE or OTHER."""
    portal, course, cls = course_class
    ref = visible(portal, course, cls)
    r = portal.upload(ref, b"GIF89a....", filename="cert.pdf")
    assert r.status_code == 400
    assert r.json() == {"errorMessage": "Invalid parameter 'file' must be a PDF, PNG or JPEG document (recognised by "
                                        "its content), got 'cert.pdf starting with bytes 4749463839612e2e'"}
    r = portal.upload(ref, b"", filename="cert.pdf")
    assert r.status_code == 400
    assert r.json() == {"errorMessage": "Invalid parameter 'file' must not be empty, got 'cert.pdf of 0 bytes'"}
    r = portal.post(f"booking/uploadDocumentation/{ref}")
    assert r.status_code == 400
    assert r.json() == {"errorMessage": "Invalid parameter 'file' is required: send the document as "
                                        "multipart/form-data field 'file'"}
    r = portal.upload(ref, PDF, documentType="DIPLOMA")
    assert r.status_code == 400
    assert r.json() == {"errorMessage": "Invalid parameter 'documentType' must be one of CERTIFICATE, OTHER, "
                                        "got 'DIPLOMA'"}
    big = PDF + b"0" * (10 * 1024 * 1024)
    r = portal.upload(ref, big)
    assert r.status_code == 413
    assert r.json() == {"errorMessage": f"Invalid parameter 'file' must be at most 10485760 bytes (10 MiB), got "
                                        f"{len(big)} bytes"}
    ok = portal.upload(ref, PDF, documentType="OTHER")
    assert ok.status_code == 200
    assert portal.upload("nope", PDF).json() == {"errorMessage": "Booking not found"}
