"""Trainingportal calling the provider's own URLs: seat reservation and booking cancellation.

The flow of a reservation: Trainingportal's checks and a seat hold in one transaction
(``TrainingportalModel.hold_seat``), the outbound GET through the platform outbox with no transaction
held, reading the provider's JSON or XML answer, then one transaction that stores the booking under
the provider's reference (or gives the seat back) together with the delivery record. A cancellation
goes the same way. Retries re-run the same flow with the same parameters.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from ..platform import errors as sim_errors
from ..platform.outbox import CallResult
from ..platform.store import dumps, loads
from .models import SYSTEM_NAME, TrainingportalModel

if TYPE_CHECKING:  # pragma: no cover
    from faker import Faker

    from ..platform.runtime import Platform

RESERVE, CANCEL = "reservation", "cancellation"
PERSON_FIELDS = ("firstName", "lastName", "email", "phone")
STUDENT_FIELDS = (*PERSON_FIELDS, "birthDate")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# -- the control-plane request ----------------------------------------------------------------------


def _text(body: dict[str, Any], key: str, field: str, required: bool = False, limit: int = 255) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise sim_errors.Invalid(f"{field} is required", field=field)
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value.strip()) > limit or not value.strip():
        raise sim_errors.Invalid(f"{field} must be a non-empty string of at most {limit} characters, got {value!r}",
                                 field=field)
    return value.strip()


def _person(body: dict[str, Any], key: str, fields: tuple[str, ...], fake: Faker) -> dict[str, str]:
    value = body.get(key)
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise sim_errors.Invalid(f"{key} must be an object with {', '.join(fields)}, got {value!r}", field=key)
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise sim_errors.Invalid(f"unknown field(s) in {key}: {', '.join(unknown)}; allowed: {', '.join(fields)}",
                                 field=f"{key}.{unknown[0]}")
    person = {f: _text(value, f, f"{key}.{f}") for f in fields}
    if person.get("birthDate") and not _DATE.match(person["birthDate"] or ""):
        raise sim_errors.Invalid(f"{key}.birthDate must be a date as yyyy-MM-dd, got {person['birthDate']!r}",
                                 field=f"{key}.birthDate")
    if person.get("email") and "@" not in (person["email"] or ""):
        raise sim_errors.Invalid(f"{key}.email must be an email address, got {person['email']!r}",
                                 field=f"{key}.email")
    if not value:  # left out: a generated person (Norwegian names)
        first, last = fake.first_name(), fake.last_name()
        handle = re.sub(r"[^a-z.]", "", (first + "." + last).lower().replace("ø", "o").replace("æ", "ae")
                        .replace("å", "a")) or "person"
        person = {"firstName": first, "lastName": last, "email": f"{handle}@{fake.free_email_domain()}",
                  "phone": "47" + str(fake.random_int(40000000, 99999999))}
        if "birthDate" in fields:
            person["birthDate"] = fake.date_of_birth(minimum_age=19, maximum_age=64).isoformat()
    return {k: v for k, v in person.items() if v}


def booking_request(body: dict[str, Any]) -> dict[str, Any]:
    """Validate ``POST trainingportal/bookings`` and fill in generated people when left out."""
    allowed = {"username", "externalCourseId", "externalCourseClassId", "student", "enroller", "company",
               "commentOnEnrollment", "purchaseOrderNumber"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise sim_errors.Invalid(f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}",
                                 field=unknown[0])
    from faker import Faker  # here: only this (control-plane) call needs it, not the server's start

    fake = Faker("no_NO")
    request = {
        "username": _text(body, "username", "username"),
        "externalCourseId": _text(body, "externalCourseId", "externalCourseId", required=True, limit=100),
        "externalCourseClassId": _text(body, "externalCourseClassId", "externalCourseClassId", required=True,
                                       limit=100),
        "student": _person(body, "student", STUDENT_FIELDS, fake),
        "enroller": _person(body, "enroller", PERSON_FIELDS, fake),
        "company": _text(body, "company", "company"),
        "commentOnEnrollment": _text(body, "commentOnEnrollment", "commentOnEnrollment", limit=2000),
        "purchaseOrderNumber": _text(body, "purchaseOrderNumber", "purchaseOrderNumber", limit=100),
    }
    if "company" not in body:
        request["company"] = fake.company()
    return request


# -- reading the provider's answer -------------------------------------------------------------------


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def read_answer(result: CallResult) -> tuple[dict[str, Any] | None, str | None]:
    """The provider's answer as a flat dict (JSON object or XML elements), or why it is unusable."""
    if result.error:
        return None, result.error
    if not result.ok_status:
        return None, f"the provider answered HTTP {result.status}"
    text = result.body.strip()
    ctype = (result.content_type or "").split(";")[0].strip().lower()
    if not text:
        return None, "the provider answered an empty body"
    if ctype == "text/html" or text[:15].lower().startswith(("<!doctype html", "<html")):
        return None, "the provider answered HTML, not JSON or XML"
    if text.startswith(("{", "[")):
        try:
            value = json.loads(text)
        except ValueError:
            return None, "the provider's answer is not valid JSON"
        if not isinstance(value, dict):
            return None, "the provider's JSON answer is not an object"
        return value, None
    if text.startswith("<"):
        try:
            root = ElementTree.fromstring(text)
        except ElementTree.ParseError:
            return None, "the provider's answer is not well-formed XML"
        out: dict[str, Any] = {}
        for el in root.iter():
            name = el.tag.rsplit("}", 1)[-1]
            if el is not root and name not in out:
                out[name] = (el.text or "").strip()
        return out, None
    return None, f"the provider's answer is neither JSON nor XML (Content-Type {ctype or 'missing'})"


def _error_message(answer: dict[str, Any]) -> str:
    # the reader also accepts the misspelling errorMesssage (three s)
    for key in ("errorMessage", "errorMesssage"):
        if answer.get(key):
            return str(answer[key])
    return ""


def reservation_outcome(result: CallResult) -> tuple[str | None, str | None]:
    """(bookingReference, None) when the provider reserved the seat, else (None, reason)."""
    answer, reason = read_answer(result)
    if answer is None:
        return None, reason
    message = _error_message(answer)
    if not _flag(answer.get("successful")):
        return None, "the provider refused the reservation" + (f": {message}" if message else
                                                               " (successful is not true)")
    ref = answer.get("bookingReference")
    if isinstance(ref, int | float) and not isinstance(ref, bool):
        ref = str(ref)
    if not isinstance(ref, str) or not ref.strip():
        return None, "the provider answered successful without a bookingReference"
    ref = ref.strip()
    if len(ref) > 200 or "/" in ref or not ref.isprintable():
        return None, f"the provider's bookingReference {ref[:60]!r} is not usable (at most 200 printable " \
                     f"characters, no '/')"
    return ref, None


def cancellation_outcome(result: CallResult) -> str | None:
    """None when the provider cancelled, else the reason."""
    answer, reason = read_answer(result)
    if answer is None:
        return reason
    if not _flag(answer.get("cancelled")):
        message = _error_message(answer)
        return "the provider refused the cancellation" + (f": {message}" if message else " (cancelled is not true)")
    return None


# -- the flows ---------------------------------------------------------------------------------------


def book(platform: Platform, sandbox: str, request: dict[str, Any], host_url: str,
         retry_of: str | None = None) -> tuple[int, dict[str, Any]]:
    """Reserve a seat through the provider's reservation URL: 201 {booking, delivery} or 502."""
    model = TrainingportalModel(platform)
    res = model.hold_seat(sandbox, request, host_url)  # 404/409 before any call
    result = platform.outbox.call(res.url, res.params, timeout=res.timeout)
    reference, reason = reservation_outcome(result)
    with platform.store.write() as db:
        booking, reason = model.settle_reservation(db, res, reference, reason)
        at = platform.clock.now(sandbox, db)
        did = platform.outbox.record(
            db, sandbox, system=SYSTEM_NAME, purpose=RESERVE,
            subject=f"class:{res.course_external_id}/{res.external_course_class_id}", result=result,
            outcome="delivered" if booking else "failed", reason=reason or "", at=at, retry_of=retry_of)
        db["tp_attempts"].insert({"sandbox": sandbox, "delivery_id": did, "purpose": RESERVE,
                                  "request": dumps(res.request)})
        if booking:
            db.execute("UPDATE tp_bookings SET delivery_id = ? WHERE sandbox = ? AND reference = ?",
                       [did, sandbox, booking["reference"]])
            view = model.get_booking(sandbox, booking["reference"], db)
        delivery = platform.outbox.delivery(sandbox, did, db)
    if booking:
        return 201, {"booking": view, "delivery": delivery}
    return 502, {"code": "badGateway", "message": f"reservation failed: {reason}", "delivery": delivery}


def cancel(platform: Platform, sandbox: str, reference: str, host_url: str,
           retry_of: str | None = None) -> tuple[int, dict[str, Any]]:
    """Cancel a booking through the provider's cancellation URL: 200 {booking, delivery} or 502."""
    model = TrainingportalModel(platform)
    url, timeout, _ = model.cancellation_target(sandbox, reference, host_url)  # 404/409 before any call
    result = platform.outbox.call(url, {"bookingReference": reference}, timeout=timeout)
    reason = cancellation_outcome(result)
    with platform.store.write() as db:
        cancelled = model.settle_cancellation(db, sandbox, reference) if reason is None else None
        if reason is None and cancelled is None:
            reason = "the booking was cancelled meanwhile"
        did = platform.outbox.record(
            db, sandbox, system=SYSTEM_NAME, purpose=CANCEL, subject=f"booking:{reference}", result=result,
            outcome="delivered" if reason is None else "failed", reason=reason or "",
            at=platform.clock.now(sandbox, db), retry_of=retry_of)
        db["tp_attempts"].insert({"sandbox": sandbox, "delivery_id": did, "purpose": CANCEL,
                                  "request": dumps({"bookingReference": reference})})
        view = model.get_booking(sandbox, reference, db)
        delivery = platform.outbox.delivery(sandbox, did, db)
    if reason is None:
        return 200, {"booking": view, "delivery": delivery}
    return 502, {"code": "badGateway", "message": f"cancellation failed: {reason}", "booking": view,
                 "delivery": delivery}


def retry(platform: Platform, sandbox: str, delivery: dict[str, Any], host_url: str) -> tuple[int, dict[str, Any]]:
    """``POST outbox/{deliveryId}/retry``: the same flow with the same parameters, as a new attempt."""
    if delivery["outcome"] == "delivered":
        raise sim_errors.Conflict(f"delivery {delivery['id']!r} succeeded; only a failed delivery is retried",
                                  field="deliveryId")
    with platform.store.read() as db:
        row = db.execute("SELECT request FROM tp_attempts WHERE sandbox = ? AND delivery_id = ?",
                         [sandbox, delivery["id"]]).fetchone()
    if row is None:
        raise sim_errors.NotFound(f"delivery {delivery['id']!r} has no recorded request to retry",
                                  field="deliveryId")
    request = loads(row[0], {})
    if delivery["purpose"] == RESERVE:
        return book(platform, sandbox, request, host_url, retry_of=delivery["id"])
    return cancel(platform, sandbox, request["bookingReference"], host_url, retry_of=delivery["id"])
