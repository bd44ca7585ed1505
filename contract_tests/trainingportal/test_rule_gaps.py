"""Rules of trainingportal.md that no other contract test pinned down (found by removing each rule from
the simulator in turn; see MUTATIONS.md). HTTP only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .conftest import class_params
from .test_bookings import PDF, visible

pytestmark = [pytest.mark.mutating]


def test_one_day_class_with_equal_start_and_end_time_is_refused(empty_portal):
    """trainingportal.md course-class parameters: "on a one-day class start < end" (equal is not <)."""
    today = empty_portal.today()
    start = (today + timedelta(days=30)).isoformat()
    r = empty_portal.add_class("6", **class_params(today, endDate=start, startTime="09:00", endTime="09:00"))
    assert r.status_code == 400
    assert r.json() == {"errorMessage": "Invalid startTime must be before endTime on a one-day class, got "
                                        "startTime '09:00' and endTime '09:00'"}


@pytest.mark.control_plane
def test_no_documentation_for_a_cancelled_booking(course_class):
    """trainingportal.md wire conventions: 409 for a state conflict; as updateBookingStatus refuses a
    cancelled booking (409), uploadDocumentation does too (our decision) and keeps no document."""
    portal, course, cls = course_class
    ref = visible(portal, course, cls)
    assert portal.sim("POST", f"/trainingportal/bookings/{ref}/cancel").status_code == 200
    r = portal.upload(ref, PDF)
    assert r.status_code == 409
    assert r.json() == {"errorMessage": f"Booking '{ref}' is cancelled; no documentation can be uploaded"}
    docs = portal.sim("GET", "/trainingportal/documents", params={"bookingReference": ref})
    assert docs.status_code == 200 and docs.json()["total"] == 0
