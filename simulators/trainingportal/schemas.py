"""Trainingportal's wire formats: parameter names, the objects it answers, and how values are spelled.

Rules (what is valid, what conflicts) live in ``models.py``; this module only says how a stored row
looks on the wire, with Mintra's own spelling (``courseExternalId``, ``firstname``, ``sucessful``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..platform.store import loads

API_PREFIX = "/mintra/api/courseprovider/rest/v1"

CURRENCIES = ("NOK", "EUR", "USD", "GBP")
BOOKING_STATUSES = ("NEW", "NO_SHOW", "FAILED", "COMPLETED")
DOCUMENT_TYPES = ("CERTIFICATE", "OTHER")
CLASS_STATES = ("published", "cancelled", "deleted")

# wire parameter -> column of tp_classes (address.* and price.* are dotted nested names on the wire)
CLASS_PARAMS: dict[str, str] = {
    "externalId": "external_id",
    "location": "location",
    "availableSeats": "available_seats",
    "enrollmentDeadline": "enrollment_deadline",
    "cancellationDeadline": "cancellation_deadline",
    "startDate": "start_date",
    "endDate": "end_date",
    "startTime": "start_time",
    "endTime": "end_time",
    "address.addressLine1": "address_line1",
    "address.addressLine2": "address_line2",
    "address.city": "city",
    "address.zipCode": "zip_code",
    "address.country": "country",
    "price.currency": "currency",
    "price.amount": "amount",
    "sendScheduleInfoToParticipants": "send_schedule_info",
}
ADDRESS_PARAMS = ("address.addressLine1", "address.addressLine2", "address.city", "address.zipCode",
                  "address.country")
REQUIRED_ON_ADD = ("externalId", "location", "availableSeats", "enrollmentDeadline", "cancellationDeadline",
                   "startDate", "endDate", *ADDRESS_PARAMS, "price.currency", "price.amount")


def amount_number(text: str | None) -> float | None:
    return None if text is None else float(Decimal(text))


def course_out(row: dict[str, Any]) -> dict[str, Any]:
    return {"courseId": row["course_id"], "externalId": row["external_id"], "name": row["name"]}


# the columns class_out reads: a list of classes selects these, not *, since turning 50 rows of every column
# into Python values was a fifth of getCourseClasses (330 -> 260 us per 50 rows)
CLASS_COLUMNS = ", ".join((
    "state", "course_external_id", "external_id", "location", "available_seats", "enrollment_deadline",
    "cancellation_deadline", "start_date", "start_time", "end_date", "end_time", "address_line1",
    "address_line2", "city", "zip_code", "country", "currency", "amount", "send_schedule_info"))


def class_out(row: dict[str, Any]) -> dict[str, Any]:
    """The course-class object (quirk: the answer says ``courseExternalId``; ids are strings)."""
    out: dict[str, Any] = {
        "cancelled": row["state"] != "published",
        "courseExternalId": row["course_external_id"],
        "externalId": row["external_id"],
        "location": row["location"],
        "availableSeats": row["available_seats"],
        "enrollmentDeadline": row["enrollment_deadline"],
        "cancellationDeadline": row["cancellation_deadline"],
        "startDate": row["start_date"],
    }
    if row["start_time"]:
        out["startTime"] = row["start_time"]
    out["endDate"] = row["end_date"]
    if row["end_time"]:
        out["endTime"] = row["end_time"]
    out["address"] = {"addressLine1": row["address_line1"], "addressLine2": row["address_line2"],
                      "city": row["city"], "zipCode": row["zip_code"], "country": row["country"]}
    out["price"] = {"currency": row["currency"], "amount": amount_number(row["amount"])}
    out["sendScheduleInfoToParticipants"] = bool(row["send_schedule_info"])
    return out


def booking_out(row: dict[str, Any]) -> dict[str, Any]:
    """The booking object with the documented example's spelling (quirk: ``firstname``/``lastname``
    at the top, ``firstName``/``lastName`` inside ``enroller``); no purchaseOrderNumber when absent."""
    out: dict[str, Any] = {"bookingReference": row["reference"],
                           "externalCourseClassId": row["external_course_class_id"]}
    for key, col in (("firstname", "firstname"), ("lastname", "lastname"), ("email", "email"),
                     ("phone", "phone"), ("birthDate", "birth_date")):
        if row[col] is not None:
            out[key] = row[col]
    enroller = loads(row["enroller"], {}) or {}
    if enroller:
        out["enroller"] = {k: enroller[k] for k in ("firstName", "lastName", "email", "phone") if enroller.get(k)}
    if row["company"] is not None:
        out["company"] = row["company"]
    out["enrollmentStatus"] = row["status"]
    if row["comment"] is not None:
        out["commentOnEnrollment"] = row["comment"]
    if row["po_number"]:
        out["purchaseOrderNumber"] = row["po_number"]
    if row["completion_date"]:
        out["completionDate"] = row["completion_date"]
    return out


def status_ok(flag_as_string: bool) -> dict[str, Any]:
    """``sucessful`` (quirk): a string on updateBooking/upload, a JSON boolean on restore/cancel."""
    return {"sucessful": "true" if flag_as_string else True, "errorMessage": ""}
