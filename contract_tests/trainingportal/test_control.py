"""Trainingportal's control routes: providers, courses, classes, bookings, documents (control-plane.md
route table; spec trainingportal.md "Provider account")."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.control_plane]


def test_demo_fixtures(portal):
    """Fixtures: realistic offshore-safety courses, classes in the future, a few bookings."""
    courses = portal.sim("GET", "/trainingportal/courses").json()
    names = [c["name"] for c in courses["items"]]
    assert courses["total"] >= 5 and "Basic Safety Training" in names and "GWO Sea Survival" in names
    classes = portal.sim("GET", "/trainingportal/classes").json()
    assert classes["total"] >= 5
    today = portal.today().isoformat()
    assert all(c["startDate"] > today and c["state"] == "published" for c in classes["items"])
    bookings = portal.sim("GET", "/trainingportal/bookings").json()
    assert bookings["total"] >= 3
    ref = bookings["items"][0]["bookingReference"]
    assert portal.booking(ref).status_code == 200


def test_empty_fixtures_have_provider_and_courses_only(empty_portal):
    """control-plane.md: "empty" keeps the provider with its courses; no classes or bookings."""
    assert empty_portal.courses[0] == {"courseId": 4711, "externalId": "6", "name": "Basic Safety Training"}
    assert empty_portal.sim("GET", "/trainingportal/classes").json() == {"items": [], "total": 0}
    assert empty_portal.sim("GET", "/trainingportal/bookings").json() == {"items": [], "total": 0}
    assert empty_portal.classes("6").json() == []


def test_providers_list_and_patch(empty_portal):
    """Route table: GET providers, PATCH providers/{username} (validated)."""
    r = empty_portal.sim("GET", "/trainingportal/providers")
    assert r.status_code == 200
    provider = r.json()["items"][0]
    sid = empty_portal.sb["id"]
    assert provider["username"] == empty_portal.username
    assert provider["reservationUrl"] == f"{empty_portal.server}/_sim/example-provider/reserve?sandbox={sid}"
    assert provider["cancellationUrl"] == f"{empty_portal.server}/_sim/example-provider/cancel?sandbox={sid}"
    assert provider["confirmationDelaySeconds"] == 2 and provider["timeoutSeconds"] == 10
    path = f"/trainingportal/providers/{empty_portal.username}"
    r = empty_portal.sim("PATCH", path, json={"reservationUrl": "https://booking.example.org/reserve",
                                              "confirmationDelaySeconds": 0, "timeoutSeconds": 3})
    assert r.status_code == 200
    assert r.json()["reservationUrl"] == "https://booking.example.org/reserve"
    assert r.json()["confirmationDelaySeconds"] == 0 and r.json()["timeoutSeconds"] == 3
    r = empty_portal.sim("PATCH", path, json={"reservationUrl": None})
    assert r.json()["reservationUrl"].endswith(f"/reserve?sandbox={sid}")
    for body, field, message in (
            ({"reservationUrl": "ftp://x"}, "reservationUrl",
             "reservationUrl must be an http:// or https:// URL or null, got 'ftp://x'"),
            ({"timeoutSeconds": 0}, "timeoutSeconds", "timeoutSeconds must be a number from 0.1 to 120, got 0"),
            ({"confirmationDelaySeconds": -1}, "confirmationDelaySeconds",
             "confirmationDelaySeconds must be a number from 0 to 86400, got -1"),
            ({"colour": "red"}, "colour", "unknown field(s): colour; allowed: cancellationUrl, "
                                          "confirmationDelaySeconds, displayName, reservationUrl, timeoutSeconds")):
        r = empty_portal.sim("PATCH", path, json=body)
        assert r.status_code == 400
        assert r.json() == {"code": "invalid", "message": message, "field": field}
    r = empty_portal.sim("PATCH", "/trainingportal/providers/nobody", json={"timeoutSeconds": 2})
    assert r.status_code == 404


def test_listings_page_and_filter(portal):
    """Route table: lists answer {"items", "total"} with limit/offset."""
    r = portal.sim("GET", "/trainingportal/classes?limit=2&offset=1").json()
    assert len(r["items"]) == 2 and r["total"] >= 5
    r = portal.sim("GET", "/trainingportal/classes?state=cancelled").json()
    assert r == {"items": [], "total": 0}
    r = portal.sim("GET", "/trainingportal/classes?state=gone")
    assert r.status_code == 400
    assert r.json() == {"code": "invalid", "message": "state must be one of published, cancelled, deleted, got 'gone'",
                        "field": "state"}
    r = portal.sim("GET", "/trainingportal/bookings?status=NEW").json()
    assert r["total"] >= 3 and all(b["enrollmentStatus"] == "NEW" for b in r["items"])
    assert portal.sim("GET", "/trainingportal/bookings?limit=0").status_code == 400


def test_unknown_document_and_booking(portal):
    """Route table: documents/{documentId} download; 404 when unknown."""
    r = portal.sim("GET", "/trainingportal/documents/nope")
    assert r.status_code == 404
    assert r.json() == {"code": "notFound", "message": "document 'nope' not found", "field": "documentId"}
    r = portal.sim("POST", "/trainingportal/bookings/nope/cancel")
    assert r.status_code == 404
