"""Course-offering methods: getCourses, getCourse, getCourseClasses, addClass, updateClass, cancelClass,
restoreClass (spec trainingportal.md "Course-offering methods"; Mintra support pages add-course-class,
update-course-class, restore-a-course-class)."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import pytest

from .conftest import class_params

pytestmark = [pytest.mark.mutating]


def test_get_courses_lists_the_providers_courses(portal):
    """Spec "Course-offering methods": getCourses answers courseId, externalId, name."""
    r = portal.post("courses")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()[0] == {"courseId": 4711, "externalId": "6", "name": "Basic Safety Training"}
    assert [c["externalId"] for c in r.json()] == [c["externalId"] for c in portal.courses]


def test_get_courses_in_xml(portal):
    """Spec "Wire conventions": Accept: application/xml, root named after the resource."""
    r = portal.get("courses", xml=True)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/xml")
    root = ElementTree.fromstring(r.content)
    assert root.tag == "courses"
    first = root.find("course")
    assert first.findtext("courseId") == "4711" and first.findtext("externalId") == "6"
    assert first.findtext("name") == "Basic Safety Training"


def test_get_course_and_unknown_course(portal):
    """Spec: getCourse answers one course; 404 if the provider has no such course."""
    r = portal.get("courses/get/6")
    assert r.status_code == 200
    assert r.json() == {"courseId": 4711, "externalId": "6", "name": "Basic Safety Training"}
    r = portal.get("courses/get/nope")
    assert r.status_code == 404
    assert r.json() == {"errorMessage": "Course not found: externalCourseId 'nope' is not one of your courses"}


def test_other_accept_values_get_json(portal):
    """Spec "Wire conventions": any other Accept value gets JSON."""
    r = portal.http.get(f"{portal.base}/courses/get/6", params=portal.auth(), headers={"Accept": "text/plain"},
                        timeout=10)
    assert r.status_code == 200 and r.json()["courseId"] == 4711


def test_add_class_answers_the_course_class_object(empty_portal):
    """Spec "Course-class object": courseExternalId in the answer (quirk), ids as strings."""
    today = empty_portal.today()
    params = class_params(today, "1234")
    r = empty_portal.add_class("6", **params)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "cancelled": False, "courseExternalId": "6", "externalId": "1234", "location": "Stavanger",
        "availableSeats": 12, "enrollmentDeadline": params["enrollmentDeadline"],
        "cancellationDeadline": params["cancellationDeadline"], "startDate": params["startDate"],
        "startTime": "08:30", "endDate": params["endDate"], "endTime": "16:00",
        "address": {"addressLine1": "Kokstadflaten 35", "addressLine2": "Inngang B", "city": "Stavanger",
                    "zipCode": "4014", "country": "Norway"},
        "price": {"currency": "NOK", "amount": 9500.0}, "sendScheduleInfoToParticipants": True}
    listed = empty_portal.classes("6")
    assert listed.status_code == 200 and listed.json() == [r.json()]


def test_add_class_via_get_query_parameters(empty_portal):
    """Spec "Wire conventions": every method accepts GET with query parameters."""
    r = empty_portal.get("courses/get/6/courseClasses/add", class_params(empty_portal.today(), "Q-1"))
    assert r.status_code == 200, r.text
    assert r.json()["externalId"] == "Q-1"


def test_body_wins_over_query(empty_portal):
    """Spec "Wire conventions": both are read; the body wins."""
    params = class_params(empty_portal.today(), "B-1")
    r = empty_portal.http.post(f"{empty_portal.base}/courses/get/6/courseClasses/add",
                               params={"location": "Bergen", "availableSeats": "3"},
                               data={**empty_portal.auth(), **params}, timeout=10)
    assert r.status_code == 200
    assert r.json()["location"] == "Stavanger" and r.json()["availableSeats"] == 12


def test_send_schedule_info_defaults_to_true_and_times_are_optional(empty_portal):
    """Spec parameter table: sendScheduleInfoToParticipants optional, default true; times optional."""
    params = class_params(empty_portal.today(), "D-1", sendScheduleInfoToParticipants=None, startTime=None,
                          endTime=None)
    r = empty_portal.add_class("6", **params)
    assert r.status_code == 200, r.text
    assert r.json()["sendScheduleInfoToParticipants"] is True
    assert "startTime" not in r.json() and "endTime" not in r.json()


def test_add_class_in_xml(empty_portal):
    """Spec "Wire conventions": XML with the same field names, root <courseClass>."""
    r = empty_portal.post("courses/get/6/courseClasses/add", class_params(empty_portal.today(), "X-1"), xml=True)
    assert r.status_code == 200
    root = ElementTree.fromstring(r.content)
    assert root.tag == "courseClass"
    assert root.findtext("courseExternalId") == "6" and root.findtext("externalId") == "X-1"
    assert root.findtext("cancelled") == "false"
    assert root.find("address").findtext("zipCode") == "4014"
    assert root.find("price").findtext("currency") == "NOK"
    listed = ElementTree.fromstring(empty_portal.post("courses/get/6/courseClasses", xml=True).content)
    assert listed.tag == "courseClasses" and [e.tag for e in listed] == ["courseClass"]


def test_duplicate_external_id_conflicts(course_class):
    """Spec parameter table: externalId unique within the course among classes not deleted (409)."""
    portal, course, cls = course_class
    r = portal.add_class(course, **class_params(portal.today(), cls))
    assert r.status_code == 409
    assert r.json() == {"errorMessage": "A course class with externalId 'C-1' already exists in course '6'; "
                                        "use updateClass to change it"}


def test_same_external_id_in_another_course_is_fine(course_class):
    """Spec: unique within the course."""
    portal, _, cls = course_class
    assert portal.add_class("HUET", **class_params(portal.today(), cls)).status_code == 200


def test_add_class_on_unknown_course_is_404(empty_portal):
    """Spec "Wire conventions": 404 for an unknown course."""
    r = empty_portal.add_class("999", **class_params(empty_portal.today()))
    assert r.status_code == 404
    assert r.json() == {"errorMessage": "Course not found: externalCourseId '999' is not one of your courses"}


@pytest.mark.parametrize("name,value,message", [
    ("startDate", "01.10.2026", "parameter 'startDate' must be a date as yyyy-MM-dd, got '01.10.2026'"),
    ("endDate", "2026-02-30", "parameter 'endDate' must be a real calendar date as yyyy-MM-dd, got '2026-02-30'"),
    ("enrollmentDeadline", "tomorrow", "parameter 'enrollmentDeadline' must be a date as yyyy-MM-dd, got 'tomorrow'"),
    ("startTime", "8:30", "parameter 'startTime' must be a time as HH:mm (24 h), got '8:30'"),
    ("endTime", "24:00", "parameter 'endTime' must be a time as HH:mm (24 h), got '24:00'"),
    ("availableSeats", "-1", "parameter 'availableSeats' must not be negative, got '-1'"),
    ("availableSeats", "twelve", "parameter 'availableSeats' must be a whole number, got 'twelve'"),
    ("availableSeats", "1.5", "parameter 'availableSeats' must be a whole number, got '1.5'"),
    ("price.currency", "SEK", "parameter 'price.currency' must be one of NOK, EUR, USD, GBP, got 'SEK'"),
    ("price.amount", "-5", "parameter 'price.amount' must be 0 or more, got '-5'"),
    ("price.amount", "9500.555", "parameter 'price.amount' must have at most 2 decimals, got '9500.555'"),
    ("price.amount", "cheap", "parameter 'price.amount' must be a decimal number such as 9500.00, got 'cheap'"),
    ("sendScheduleInfoToParticipants", "yes",
     "parameter 'sendScheduleInfoToParticipants' must be true or false, got 'yes'"),
])
def test_add_class_parameter_rules(empty_portal, name, value, message):
    """Spec parameter table: each rule answers 400 naming the parameter and the value received."""
    r = empty_portal.add_class("6", **class_params(empty_portal.today(), **{name: value}))
    assert r.status_code == 400
    assert r.json() == {"errorMessage": "Invalid " + message}


@pytest.mark.parametrize("name", ["externalId", "location", "availableSeats", "enrollmentDeadline",
                                  "cancellationDeadline", "startDate", "endDate", "address.addressLine1",
                                  "address.addressLine2", "address.city", "address.zipCode", "address.country",
                                  "price.currency", "price.amount"])
def test_add_class_required_parameters(empty_portal, name):
    """Spec parameter table: all required on add (all five address fields too)."""
    r = empty_portal.add_class("6", **class_params(empty_portal.today(), **{name: None}))
    assert r.status_code == 400
    assert r.json() == {"errorMessage": f"Invalid parameter '{name}' is required"}


def test_every_invalid_parameter_is_named_in_one_message(empty_portal):
    """Our decision: a 400 names every invalid parameter at once."""
    r = empty_portal.add_class("6", **class_params(empty_portal.today(), **{
        "availableSeats": "-2", "price.currency": "SEK", "address.city": None}))
    assert r.status_code == 400
    assert r.json() == {"errorMessage": "Invalid parameter 'availableSeats' must not be negative, got '-2'; "
                                        "parameter 'address.city' is required; "
                                        "parameter 'price.currency' must be one of NOK, EUR, USD, GBP, got 'SEK'"}


def test_end_before_start_and_deadlines_after_start(empty_portal):
    """Spec parameter table: start <= end; both deadlines <= startDate."""
    today = empty_portal.today()
    start = today + timedelta(days=30)
    r = empty_portal.add_class("6", **class_params(today, endDate=(start - timedelta(days=1)).isoformat()))
    assert r.status_code == 400
    assert r.json() == {"errorMessage": f"Invalid endDate must not be before startDate, got startDate "
                                        f"'{start}' and endDate '{start - timedelta(days=1)}'"}
    late = (start + timedelta(days=1)).isoformat()
    r = empty_portal.add_class("6", **class_params(today, enrollmentDeadline=late, cancellationDeadline=late))
    assert r.status_code == 400
    assert r.json() == {"errorMessage": f"Invalid enrollmentDeadline must not be after startDate, got "
                                        f"enrollmentDeadline '{late}' and startDate '{start}'; "
                                        f"cancellationDeadline must not be after startDate, got "
                                        f"cancellationDeadline '{late}' and startDate '{start}'"}


def test_one_day_class_needs_start_time_before_end_time(empty_portal):
    """Spec parameter table: on a one-day class start < end."""
    today = empty_portal.today()
    start = (today + timedelta(days=30)).isoformat()
    r = empty_portal.add_class("6", **class_params(today, endDate=start, startTime="16:00", endTime="08:00"))
    assert r.status_code == 400
    assert r.json() == {"errorMessage": "Invalid startTime must be before endTime on a one-day class, got "
                                        "startTime '16:00' and endTime '08:00'"}
    ok = empty_portal.add_class("6", **class_params(today, "ONE", endDate=start, startTime="08:00", endTime="16:00"))
    assert ok.status_code == 200


def test_update_class_is_partial(course_class):
    """Spec: updateClass partial update of the class named by externalId; answers the object."""
    portal, course, cls = course_class
    r = portal.update_class(course, externalId=cls, availableSeats="3")
    assert r.status_code == 200, r.text
    assert r.json()["availableSeats"] == 3 and r.json()["location"] == "Stavanger"
    assert portal.classes(course).json()[0]["availableSeats"] == 3


def test_update_accepts_misspelled_erollment_deadline(course_class):
    """Spec (quirk): on updateClass the documented misspelling erollmentDeadline is the same field."""
    portal, course, cls = course_class
    new = (portal.today() + timedelta(days=15)).isoformat()
    r = portal.update_class(course, externalId=cls, erollmentDeadline=new)
    assert r.status_code == 200
    assert r.json()["enrollmentDeadline"] == new
    bad = portal.update_class(course, externalId=cls, erollmentDeadline="15/12")
    assert bad.status_code == 400
    assert bad.json() == {"errorMessage": "Invalid parameter 'erollmentDeadline' must be a date as yyyy-MM-dd, "
                                          "got '15/12'"}


def test_update_checks_rules_on_the_merged_class(course_class):
    """Spec parameter table: the cross-field rules hold after an update too."""
    portal, course, cls = course_class
    params = class_params(portal.today())
    r = portal.update_class(course, externalId=cls, endDate=params["enrollmentDeadline"])
    assert r.status_code == 400
    assert r.json()["errorMessage"].startswith("Invalid endDate must not be before startDate")


def test_update_requires_external_id_and_known_class(course_class):
    """Spec: only externalId required on update; 404 for an unknown class."""
    portal, course, _ = course_class
    r = portal.update_class(course, availableSeats="4")
    assert r.status_code == 400
    assert r.json() == {"errorMessage": "Invalid parameter 'externalId' is required"}
    r = portal.update_class(course, externalId="nope", availableSeats="4")
    assert r.status_code == 404
    assert r.json() == {"errorMessage": "Course class not found: externalId 'nope' in course '6'"}


def test_cancel_without_bookings_deletes_at_once(course_class):
    """Spec "Class life cycle": a class with no bookings is deleted at once; its externalId is free again."""
    portal, course, cls = course_class
    r = portal.cancel_class(course, cls)
    assert r.status_code == 200
    assert r.json() == {"sucessful": True, "errorMessage": ""}
    assert portal.classes(course).json() == []
    r = portal.restore_class(course, cls)
    assert r.status_code == 404
    assert r.json() == {"errorMessage": "Course class 'C-1' in course '6' does not exist or has been deleted; "
                                        "add a new class with addClass instead"}
    again = portal.add_class(course, **class_params(portal.today(), cls))
    assert again.status_code == 200 and again.json()["cancelled"] is False


def test_restore_published_class_conflicts(course_class):
    """Spec: restoreClass answers 409 when the class is published, not cancelled."""
    portal, course, cls = course_class
    r = portal.restore_class(course, cls)
    assert r.status_code == 409
    assert r.json() == {"errorMessage": "Course class 'C-1' is published, not cancelled; nothing to restore"}


def test_cancel_and_restore_in_xml(course_class):
    """Spec "Wire conventions": status answers as <status>; sucessful (quirk) spelled as documented."""
    portal, course, cls = course_class
    r = portal.post(f"courses/get/{course}/courseClasses/cancel/{cls}", xml=True)
    assert r.status_code == 200
    root = ElementTree.fromstring(r.content)
    assert root.tag == "status" and root.findtext("sucessful") == "true" and root.findtext("errorMessage") == ""


def test_cancel_unknown_class_is_404(course_class):
    """Spec "Wire conventions": 404 unknown class."""
    portal, course, _ = course_class
    r = portal.cancel_class(course, "ghost")
    assert r.status_code == 404
    assert r.json() == {"errorMessage": "Course class not found: externalId 'ghost' in course '6'"}


@pytest.mark.control_plane
def test_cancelled_class_with_bookings_lives_an_hour(course_class):
    """Spec "Class life cycle": with bookings, deleted one hour (sandbox clock) after the cancel;
    restore in that hour brings it back; updateClass on a cancelled class is 409."""
    portal, course, cls = course_class
    assert portal.book(course, cls).status_code == 201
    assert portal.cancel_class(course, cls).json() == {"sucessful": True, "errorMessage": ""}
    listed = portal.classes(course).json()
    assert [c["cancelled"] for c in listed] == [True]
    r = portal.update_class(course, externalId=cls, availableSeats="5")
    assert r.status_code == 409
    assert r.json() == {"errorMessage": "Course class 'C-1' is cancelled and cannot be updated; restore it first"}
    again = portal.cancel_class(course, cls)
    assert again.status_code == 409
    assert again.json() == {"errorMessage": "Course class 'C-1' is already cancelled"}
    dup = portal.add_class(course, **class_params(portal.today(), cls))
    assert dup.status_code == 409
    portal.advance("PT59M")
    assert portal.restore_class(course, cls).json() == {"sucessful": True, "errorMessage": ""}
    assert portal.classes(course).json()[0]["cancelled"] is False
    assert portal.cancel_class(course, cls).status_code == 200
    portal.advance("PT59M")
    assert len(portal.classes(course).json()) == 1
    portal.advance("PT2M")
    assert portal.classes(course).json() == []
    states = portal.sim("GET", "/trainingportal/classes").json()["items"]
    assert [c["state"] for c in states] == ["deleted"]
    assert portal.restore_class(course, cls).status_code == 404
    assert portal.add_class(course, **class_params(portal.today(), cls)).status_code == 200
