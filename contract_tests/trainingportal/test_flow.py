"""The whole flow of issue 3's "Checked by", as a provider's integration would run it: a client written
from Mintra's published examples (form-encoded POSTs), Trainingportal booking seats through the example
provider and through a provider server started by the test."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .conftest import class_params
from .test_bookings import PDF

pytestmark = [pytest.mark.mutating, pytest.mark.control_plane]


def _flow(portal, course, server_check=None):
    today = portal.today()
    # add a class, then push a new seat count
    added = portal.add_class(course, **class_params(today, "FLOW-1"))
    assert added.status_code == 200 and added.json()["availableSeats"] == 12
    updated = portal.update_class(course, externalId="FLOW-1", availableSeats="8")
    assert updated.status_code == 200 and updated.json()["availableSeats"] == 8
    # a student books a seat on Trainingportal
    r = portal.book(course, "FLOW-1", student={"firstName": "Kari", "lastName": "Nordmann",
                                               "email": "kari@example.org"}, company="Nordsjø Drilling AS")
    assert r.status_code == 201, r.text
    ref = r.json()["booking"]["bookingReference"]
    if server_check:
        server_check(ref)
    assert portal.classes(course).json()[0]["availableSeats"] == 7
    # not visible until the confirmation delay has passed
    assert portal.booking(ref).status_code == 404
    portal.advance("PT5S")
    booking = portal.booking(ref)
    assert booking.status_code == 200
    assert booking.json()["firstname"] == "Kari" and booking.json()["enrollmentStatus"] == "NEW"
    # the course runs; the provider reports it completed and uploads the certificate
    portal.advance("P31D")
    done = portal.update_booking(ref, newStatus="COMPLETED",
                                 completionDate=(today + timedelta(days=31)).isoformat())
    assert done.status_code == 200 and done.json() == {"sucessful": "true", "errorMessage": ""}
    assert portal.booking(ref).json()["enrollmentStatus"] == "COMPLETED"
    up = portal.upload(ref, PDF, filename="kari-nordmann-bst.pdf", documentType="CERTIFICATE")
    assert up.status_code == 200
    doc = portal.sim("GET", f"/trainingportal/documents/{up.json()['documentId']}")
    assert doc.status_code == 200 and doc.content == PDF and doc.headers["Content-Type"] == "application/pdf"
    # a class with bookings is cancelled: still listed as cancelled, deleted an hour later
    assert portal.cancel_class(course, "FLOW-1").json() == {"sucessful": True, "errorMessage": ""}
    assert [c["cancelled"] for c in portal.classes(course).json()] == [True]
    portal.advance("PT61M")
    assert portal.classes(course).json() == []
    assert portal.sim("GET", "/trainingportal/classes?state=deleted").json()["total"] == 1
    # the booking is still readable
    assert portal.booking(ref).json()["enrollmentStatus"] == "COMPLETED"
    return ref


def test_flow_against_the_example_provider(empty_portal):
    """Issue 3 "Checked by", against the suite's example provider (the sandbox default)."""
    ref = _flow(empty_portal, "6")
    assert len(ref) == 36 and ref.count("_") == 4


def test_flow_against_a_provider_server_of_the_test(empty_portal, provider_server):
    """Issue 3 "Checked by", against a provider server started by the test (JSON answers)."""
    empty_portal.set_provider(reservationUrl=f"{provider_server.url}/reserve",
                              cancellationUrl=f"{provider_server.url}/cancel")

    def check(ref):
        assert ref == "PRV-0001"
        path, params = provider_server.calls[-1]
        assert path == "/reserve"
        assert params == {"externalCourseClassId": "FLOW-1", "studentFirstName": "Kari",
                          "studentLastName": "Nordmann", "studentEmailAddress": "kari@example.org",
                          "company": "Nordsjø Drilling AS", **{k: v for k, v in params.items() if k.startswith(
                              "enroller")}}
        assert {"enrollerFirstName", "enrollerLastName"} <= set(params)

    _flow(empty_portal, "6", check)
