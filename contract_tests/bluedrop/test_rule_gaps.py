"""Rules of bluedrop.md that no other contract test pinned down (found by removing each rule from the
simulator in turn; see MUTATIONS.md). HTTP only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .conftest import invalid, iso, without

pytestmark = [pytest.mark.control_plane, pytest.mark.mutating]
CO = "/api-v2/class-offerings"


def test_in_person_class_needs_an_address(bd):
    """bluedrop.md §2 `address`: "required for in-person and blended" (in-person half)."""
    body = without(bd.class_offering("ip"), "address")
    r = bd.post(CO, body)
    assert r.status_code == 400
    assert r.json() == invalid(("address", "is required when deliveryMethod is in-person; received nothing"))


def test_session_ending_when_it_starts_is_invalid(bd):
    """bluedrop.md §2 `events`: "each ends after it starts" (a zero-length session does not)."""
    start = (bd.now() + timedelta(days=7)).replace(hour=13, minute=0, second=0, microsecond=0)
    body = bd.class_offering("zero", events=[{"start": iso(start), "end": iso(start)}])
    r = bd.post(CO, body)
    assert r.status_code == 400
    assert r.json() == invalid(("events.0.end", f"must be after the session's start {iso(start)}; "
                                                f"received {iso(start)}"))


@pytest.mark.parametrize("field,value", [("mobilePhone", "41655501"), ("homePhone", "416555012345")])
def test_phone_numbers_have_exactly_ten_digits(bd, field, value):
    """bluedrop.md §1 `learner.mobilePhone`, `learner.homePhone`: "optional, exactly 10 digits"."""
    r = bd.post("/api-v2/learning-records", bd.record(learner={field: value}))
    assert r.status_code == 400
    assert r.json() == invalid((f"learner.{field}", f'must be exactly 10 digits; received "{value}"'))


def test_instructor_names_are_required(bd):
    """bluedrop.md §1 `instructorNames`: "required string, names separated by `; `"."""
    r = bd.post("/api-v2/learning-records", without(bd.record(), "instructorNames"))
    assert r.status_code == 400
    assert r.json() == invalid(("instructorNames", "is required; received nothing"))


def test_registration_url_must_be_http_or_https(bd):
    """bluedrop.md §2 `externalRegistrationUrl`: "required absolute http(s) URL" (ftp is not)."""
    url = "ftp://provider.example.ca/register/ftp"
    r = bd.post(CO, bd.class_offering("ftp", externalRegistrationUrl=url))
    assert r.status_code == 400
    assert r.json() == invalid(("externalRegistrationUrl", f'must be an absolute http(s) URL; received "{url}"'))
