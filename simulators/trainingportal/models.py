"""Trainingportal's rules and state: providers, courses, course classes, bookings and documents.

Everything Trainingportal decides lives here: parameter rules (400 naming the parameter and the value
received), the class life cycle (published -> cancelled -> deleted, an hour later when it has
bookings), the booking rules (status changes, confirmation delay, seat holds for the reservation
call) and uploads. No Flask here: the routes pass plain dicts in and render what comes back.
"""

from __future__ import annotations

import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import sqlite_utils

from ..platform import errors as sim_errors
from ..platform.store import Table, dumps
from ..platform.timeutil import iso, parse_datetime
from . import errors
from .schemas import (
    ADDRESS_PARAMS,
    BOOKING_STATUSES,
    CLASS_COLUMNS,
    CLASS_PARAMS,
    CLASS_STATES,
    CURRENCIES,
    DOCUMENT_TYPES,
    REQUIRED_ON_ADD,
    booking_out,
    class_out,
    course_out,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..platform.runtime import Platform

SYSTEM_NAME = "trainingportal"
DELETE_KIND = "trainingportal.delete-class"
DELETE_AFTER = timedelta(hours=1)
DEFAULT_DELAY = 2
DEFAULT_TIMEOUT = 10
MAX_UPLOAD = 10 * 1024 * 1024
MAX_TEXT = 255

PROVIDERS = Table(
    name="tp_providers",
    columns={"username": str, "slot": str, "display_name": str, "reservation_url": str, "cancellation_url": str,
             "confirmation_delay_seconds": float, "timeout_seconds": float},
    pk=("username",),
)
COURSES = Table(
    name="tp_courses",
    columns={"username": str, "external_id": str, "course_id": int, "name": str},
    pk=("username", "external_id"),
    indexes=(("course_id",),),
)
CLASSES = Table(
    name="tp_classes",
    columns={"id": int, "username": str, "course_external_id": str, "external_id": str, "state": str,
             "location": str, "available_seats": int, "enrollment_deadline": str, "cancellation_deadline": str,
             "start_date": str, "start_time": str, "end_date": str, "end_time": str, "address_line1": str,
             "address_line2": str, "city": str, "zip_code": str, "country": str, "currency": str, "amount": str,
             "send_schedule_info": int, "created_at": str, "updated_at": str, "cancelled_at": str,
             "deleted_at": str},
    pk=("id",),
    indexes=(("username", "course_external_id", "external_id"), ("state",), ("start_date", "id")),
)
BOOKINGS = Table(
    name="tp_bookings",
    columns={"reference": str, "seq": int, "username": str, "class_id": int, "course_external_id": str,
             "external_course_class_id": str, "firstname": str, "lastname": str, "email": str, "phone": str,
             "birth_date": str, "enroller": str, "company": str, "status": str, "comment": str, "po_number": str,
             "completion_date": str, "reserved_at": str, "visible_at": str, "updated_at": str,
             "cancelled_at": str, "delivery_id": str},
    pk=("reference",),
    indexes=(("class_id", "status"), ("seq",), ("status", "seq"), ("external_course_class_id",)),
)
DOCUMENTS = Table(
    name="tp_documents",
    columns={"id": str, "seq": int, "booking_reference": str, "document_type": str, "description": str,
             "filename": str, "content_type": str, "size": int, "data": bytes, "uploaded_at": str},
    pk=("id",),
    indexes=(("booking_reference",), ("seq",)),
)
# what a reservation attempt asked for, so a retry can run the same flow with the same parameters
ATTEMPTS = Table(
    name="tp_attempts",
    columns={"delivery_id": str, "purpose": str, "request": str},
    pk=("delivery_id",),
)
TABLES = [PROVIDERS, COURSES, CLASSES, BOOKINGS, DOCUMENTS, ATTEMPTS]

MAGIC = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_INT = re.compile(r"^[+-]?[0-9]+$")
_AMOUNT = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")


def today(now: datetime) -> date:
    """Trainingportal's "today": the date of the sandbox clock (UTC)."""
    return now.date()


# -- parameter reading ------------------------------------------------------------------------------


class Params:
    """Reads request parameters; collects every invalid one so a 400 can name them all."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.problems: list[str] = []

    def fail(self, name: str, rule: str, value: Any) -> None:
        self.problems.append(f"parameter '{name}' {rule}, got '{value}'")

    def raise_if_invalid(self, *, status_flag: bool = False) -> None:
        if self.problems:
            raise errors.BadParameter("Invalid " + "; ".join(self.problems), status_flag=status_flag)

    def raw(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None else str(value)

    def text(self, name: str, required: bool = False, limit: int = MAX_TEXT) -> str | None:
        value = self.raw(name)
        if value is None or value.strip() == "":
            if required:
                self.problems.append(f"parameter '{name}' is required" +
                                     ("" if value is None else f", got '{value}'"))
            return None
        value = value.strip()
        if len(value) > limit:
            self.fail(name, f"must be at most {limit} characters", value[:40] + "...")
            return None
        return value

    def date(self, name: str, required: bool = False, alias: str | None = None) -> str | None:
        key = name if self.raw(name) is not None or alias is None else alias
        value = self.text(key, required)
        if value is None:
            return None
        if not _DATE.match(value):
            self.fail(key, "must be a date as yyyy-MM-dd", value)
            return None
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            self.fail(key, "must be a real calendar date as yyyy-MM-dd", value)
            return None

    def time(self, name: str) -> str | None:
        value = self.text(name)
        if value is None:
            return None
        if not _TIME.match(value):
            self.fail(name, "must be a time as HH:mm (24 h)", value)
            return None
        return value

    def seats(self, name: str, required: bool = False) -> int | None:
        value = self.text(name, required)
        if value is None:
            return None
        if not _INT.match(value):
            self.fail(name, "must be a whole number", value)
            return None
        number = int(value)
        if number < 0:
            self.fail(name, "must not be negative", value)
            return None
        if number > 100_000:
            self.fail(name, "must be at most 100000", value)
            return None
        return number

    def currency(self, name: str, required: bool = False) -> str | None:
        value = self.text(name, required)
        if value is not None and value not in CURRENCIES:
            self.fail(name, f"must be one of {', '.join(CURRENCIES)}", value)
            return None
        return value

    def amount(self, name: str, required: bool = False) -> str | None:
        value = self.text(name, required)
        if value is None:
            return None
        if not _AMOUNT.match(value):
            self.fail(name, "must be a decimal number such as 9500.00", value)
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern already rules it out
            self.fail(name, "must be a decimal number such as 9500.00", value)
            return None
        if number < 0:
            self.fail(name, "must be 0 or more", value)
            return None
        if number.as_tuple().exponent < -2:  # type: ignore[operator]
            self.fail(name, "must have at most 2 decimals", value)
            return None
        if number >= Decimal("1000000000"):
            self.fail(name, "must be less than 1000000000", value)
            return None
        return f"{number:.2f}"

    def boolean(self, name: str) -> bool | None:
        value = self.text(name)
        if value is None:
            return None
        if value.lower() not in ("true", "false"):
            self.fail(name, "must be true or false", value)
            return None
        return value.lower() == "true"


def _row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    return dict(rows[0]) if rows else None


def _valid_url(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise sim_errors.Invalid(f"{field} must be an http:// or https:// URL or null, got {value!r}", field=field)
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 2000:
        raise sim_errors.Invalid(f"{field} must be an http:// or https:// URL or null, got {value!r}", field=field)
    return value.strip()


@dataclass
class Reservation:
    """A seat held on Trainingportal's side while the provider's reservation URL is called."""

    sandbox: str
    username: str
    class_id: int
    course_external_id: str
    external_course_class_id: str
    url: str
    params: dict[str, str]
    timeout: float
    delay: float
    request: dict[str, Any]  # what was asked (for a retry)


class TrainingportalModel:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.store = platform.store

    # -- authentication --------------------------------------------------------------------------

    def authenticate(self, username: str | None, password: str | None) -> str:
        """The sandbox of this provider login; 401 when missing or wrong."""
        if not username or not password:
            raise errors.Unauthorized()
        cred = self.platform.sandboxes.lookup(SYSTEM_NAME, username)
        if cred is None or not hmac.compare_digest(cred.secret.encode(), password.encode()):
            raise errors.Unauthorized()
        return cred.sandbox

    # -- courses ---------------------------------------------------------------------------------

    def courses(self, sandbox: str, username: str) -> list[dict[str, Any]]:
        with self.store.read() as db:
            rows = db.query("SELECT * FROM tp_courses WHERE sandbox = ? AND username = ? ORDER BY course_id",
                            [sandbox, username])
            return [course_out(r) for r in rows]

    def _course(self, db: sqlite_utils.Database, sandbox: str, username: str, external_id: str) -> dict[str, Any]:
        row = _row(list(db.query("SELECT * FROM tp_courses WHERE sandbox = ? AND username = ? AND external_id = ?",
                                 [sandbox, username, external_id])))
        if row is None:
            raise errors.NotFound(f"Course not found: externalCourseId '{external_id}' is not one of your courses")
        return row

    def course(self, sandbox: str, username: str, external_id: str) -> dict[str, Any]:
        with self.store.read() as db:
            return course_out(self._course(db, sandbox, username, external_id))

    # -- course classes --------------------------------------------------------------------------

    @staticmethod
    def _live_class(db: sqlite_utils.Database, sandbox: str, username: str, course: str,
                    external_id: str) -> dict[str, Any] | None:
        return _row(list(db.query(
            "SELECT * FROM tp_classes WHERE sandbox = ? AND username = ? AND course_external_id = ? "
            "AND external_id = ? AND state != 'deleted' ORDER BY id DESC LIMIT 1",
            [sandbox, username, course, external_id])))

    def course_classes(self, sandbox: str, username: str, course: str) -> list[dict[str, Any]]:
        with self.store.read() as db:
            self._course(db, sandbox, username, course)
            rows = db.query(f"SELECT {CLASS_COLUMNS} FROM tp_classes WHERE sandbox = ? AND username = ? "
                            "AND course_external_id = ? AND state != 'deleted' ORDER BY +id",  # +id: the course index
                            [sandbox, username, course])
            return [class_out(r) for r in rows]

    @staticmethod
    def _read_class_params(params: Params, *, adding: bool) -> dict[str, Any]:
        """Columns from the wire parameters; on add every required one must be there."""
        req = set(REQUIRED_ON_ADD) if adding else {"externalId"}
        values: dict[str, Any] = {}
        values["external_id"] = params.text("externalId", "externalId" in req, limit=100)
        values["location"] = params.text("location", "location" in req)
        values["available_seats"] = params.seats("availableSeats", "availableSeats" in req)
        # quirk: updateClass accepts the documented misspelling erollmentDeadline for the same field
        values["enrollment_deadline"] = params.date("enrollmentDeadline", "enrollmentDeadline" in req,
                                                    alias=None if adding else "erollmentDeadline")
        values["cancellation_deadline"] = params.date("cancellationDeadline", "cancellationDeadline" in req)
        values["start_date"] = params.date("startDate", "startDate" in req)
        values["end_date"] = params.date("endDate", "endDate" in req)
        values["start_time"] = params.time("startTime")
        values["end_time"] = params.time("endTime")
        for name in ADDRESS_PARAMS:
            values[CLASS_PARAMS[name]] = params.text(name, name in req)
        values["currency"] = params.currency("price.currency", "price.currency" in req)
        values["amount"] = params.amount("price.amount", "price.amount" in req)
        flag = params.boolean("sendScheduleInfoToParticipants")
        values["send_schedule_info"] = None if flag is None else int(flag)
        return {k: v for k, v in values.items() if v is not None}

    @staticmethod
    def _check_class_rules(merged: dict[str, Any]) -> None:
        """Rules across fields, on the class as it would be stored."""
        problems = []
        start, end = merged["start_date"], merged["end_date"]
        if end < start:
            problems.append(f"endDate must not be before startDate, got startDate '{start}' and endDate '{end}'")
        if merged["enrollment_deadline"] > start:
            problems.append(f"enrollmentDeadline must not be after startDate, got enrollmentDeadline "
                            f"'{merged['enrollment_deadline']}' and startDate '{start}'")
        if merged["cancellation_deadline"] > start:
            problems.append(f"cancellationDeadline must not be after startDate, got cancellationDeadline "
                            f"'{merged['cancellation_deadline']}' and startDate '{start}'")
        st, et = merged.get("start_time"), merged.get("end_time")
        if start == end and st and et and st >= et:
            problems.append(f"startTime must be before endTime on a one-day class, got startTime '{st}' "
                            f"and endTime '{et}'")
        if problems:
            raise errors.BadParameter("Invalid " + "; ".join(problems))

    def add_class(self, sandbox: str, username: str, course: str, values: dict[str, str]) -> dict[str, Any]:
        params = Params(values)
        with self.store.write() as db:
            self._course(db, sandbox, username, course)
            cols = self._read_class_params(params, adding=True)
            params.raise_if_invalid()
            cols.setdefault("send_schedule_info", 1)
            cols.setdefault("start_time", None)
            cols.setdefault("end_time", None)
            self._check_class_rules(cols)
            if self._live_class(db, sandbox, username, course, cols["external_id"]):
                raise errors.Conflict(f"A course class with externalId '{cols['external_id']}' already exists "
                                      f"in course '{course}'; use updateClass to change it")
            now = iso(self.platform.clock.now(sandbox, db))
            row = {"sandbox": sandbox, "username": username, "course_external_id": course, "state": "published",
                   **cols, "created_at": now, "updated_at": now, "cancelled_at": None, "deleted_at": None}
            new_id = db["tp_classes"].insert(row).last_pk
            return class_out(_row(list(db.query("SELECT * FROM tp_classes WHERE id = ?", [new_id]))) or row)

    def update_class(self, sandbox: str, username: str, course: str, values: dict[str, str]) -> dict[str, Any]:
        params = Params(values)
        with self.store.write() as db:
            self._course(db, sandbox, username, course)
            cols = self._read_class_params(params, adding=False)
            params.raise_if_invalid()
            row = self._live_class(db, sandbox, username, course, cols["external_id"])
            if row is None:
                raise errors.NotFound(f"Course class not found: externalId '{cols['external_id']}' in course "
                                      f"'{course}'")
            if row["state"] == "cancelled":
                raise errors.Conflict(f"Course class '{cols['external_id']}' is cancelled and cannot be updated; "
                                      f"restore it first")
            merged = {**row, **cols}
            self._check_class_rules(merged)
            cols.pop("external_id")
            if cols:
                cols["updated_at"] = iso(self.platform.clock.now(sandbox, db))
                db["tp_classes"].update(row["id"], cols)
            return class_out(merged)

    def _class_for(self, db: sqlite_utils.Database, sandbox: str, username: str, course: str,
                   class_ext: str) -> dict[str, Any] | None:
        self._course(db, sandbox, username, course)
        return self._live_class(db, sandbox, username, course, class_ext)

    def cancel_class(self, sandbox: str, username: str, course: str, class_ext: str) -> dict[str, Any]:
        with self.store.write() as db:
            row = self._class_for(db, sandbox, username, course, class_ext)
            if row is None:
                raise errors.NotFound(f"Course class not found: externalId '{class_ext}' in course '{course}'")
            if row["state"] == "cancelled":
                raise errors.Conflict(f"Course class '{class_ext}' is already cancelled")
            now = self.platform.clock.now(sandbox, db)
            active = db.execute("SELECT count(*) FROM tp_bookings WHERE sandbox = ? AND class_id = ? "
                                "AND status != 'CANCELLED'", [sandbox, row["id"]]).fetchone()[0]
            if active:
                db["tp_classes"].update(row["id"], {"state": "cancelled", "cancelled_at": iso(now)})
                self.platform.clock.schedule(db, sandbox, now + DELETE_AFTER, DELETE_KIND, ref=str(row["id"]),
                                             payload={"classId": row["id"]})
            else:
                db["tp_classes"].update(row["id"], {"state": "deleted", "cancelled_at": iso(now),
                                                    "deleted_at": iso(now)})
        return {"sucessful": True, "errorMessage": ""}

    def restore_class(self, sandbox: str, username: str, course: str, class_ext: str) -> dict[str, Any]:
        with self.store.write() as db:
            row = self._class_for(db, sandbox, username, course, class_ext)
            if row is None:
                raise errors.NotFound(f"Course class '{class_ext}' in course '{course}' does not exist or has "
                                      f"been deleted; add a new class with addClass instead")
            if row["state"] == "published":
                raise errors.Conflict(f"Course class '{class_ext}' is published, not cancelled; nothing to restore")
            db["tp_classes"].update(row["id"], {"state": "published", "cancelled_at": None,
                                                "updated_at": iso(self.platform.clock.now(sandbox, db))})
            self.platform.clock.unschedule(db, sandbox, DELETE_KIND, str(row["id"]))
        return {"sucessful": True, "errorMessage": ""}

    @staticmethod
    def delete_due(db: sqlite_utils.Database, sandbox: str, payload: dict[str, Any], due_at: datetime) -> None:
        """Due work: a cancelled class with bookings is deleted an hour after the cancel."""
        db.execute("UPDATE tp_classes SET state = 'deleted', deleted_at = ? WHERE sandbox = ? AND id = ? "
                   "AND state = 'cancelled'", [iso(due_at), sandbox, payload.get("classId")])

    # -- bookings --------------------------------------------------------------------------------

    def _visible_booking(self, db: sqlite_utils.Database, sandbox: str, username: str, reference: str,
                         *, status_flag: bool = False) -> dict[str, Any]:
        row = _row(list(db.query("SELECT * FROM tp_bookings WHERE sandbox = ? AND reference = ?",
                                 [sandbox, reference])))
        now = self.platform.clock.now(sandbox, db)
        if row is None or row["username"] != username or parse_datetime(row["visible_at"]) > now:
            raise errors.NotFound(errors.BOOKING_NOT_FOUND, status_flag=status_flag)
        return row

    def booking_information(self, sandbox: str, username: str, reference: str) -> dict[str, Any]:
        with self.store.read() as db:
            return booking_out(self._visible_booking(db, sandbox, username, reference))

    def update_booking_status(self, sandbox: str, username: str, reference: str,
                              values: dict[str, str]) -> dict[str, Any]:
        params = Params(values)
        new_status = params.text("newStatus", required=True)
        if new_status is not None and new_status not in BOOKING_STATUSES:
            params.fail("newStatus", f"must be one of {', '.join(BOOKING_STATUSES)}", new_status)
            new_status = None
        completion = params.date("completionDate")
        params.raise_if_invalid(status_flag=True)
        with self.store.write() as db:
            row = self._visible_booking(db, sandbox, username, reference, status_flag=True)
            if row["status"] == "CANCELLED":
                raise errors.Conflict(f"Booking '{reference}' is cancelled; its status cannot be changed",
                                      status_flag=True)
            now = self.platform.clock.now(sandbox, db)
            if new_status == "COMPLETED":
                if completion is None:
                    raise errors.BadParameter("Invalid parameter 'completionDate' is required when newStatus is "
                                              "COMPLETED", status_flag=True)
                if completion > today(now).isoformat():
                    raise errors.BadParameter(f"Invalid parameter 'completionDate' must not be after today "
                                              f"({today(now).isoformat()}), got '{completion}'", status_flag=True)
                start = db.execute("SELECT start_date FROM tp_classes WHERE sandbox = ? AND id = ?",
                                   [sandbox, row["class_id"]]).fetchone()
                if start and completion < start[0]:
                    raise errors.BadParameter(f"Invalid parameter 'completionDate' must not be before the class's "
                                              f"startDate ({start[0]}), got '{completion}'", status_flag=True)
            else:
                completion = None
            db.execute("UPDATE tp_bookings SET status = ?, completion_date = ?, updated_at = ? "
                       "WHERE sandbox = ? AND reference = ?", [new_status, completion, iso(now), sandbox, reference])
        return {"sucessful": "true", "errorMessage": ""}

    def upload_document(self, sandbox: str, username: str, reference: str, *, data: bytes | None,
                        filename: str | None, values: dict[str, str]) -> dict[str, Any]:
        params = Params(values)
        doc_type = params.text("documentType") or "CERTIFICATE"
        if doc_type not in DOCUMENT_TYPES:
            params.fail("documentType", f"must be one of {', '.join(DOCUMENT_TYPES)}", doc_type)
        description = params.text("description", limit=1000)
        if data is None:
            params.problems.append("parameter 'file' is required: send the document as multipart/form-data "
                                   "field 'file'")
        elif len(data) == 0:
            params.fail("file", "must not be empty", f"{filename or 'file'} of 0 bytes")
        elif len(data) > MAX_UPLOAD:
            raise errors.TooLarge(f"Invalid parameter 'file' must be at most {MAX_UPLOAD} bytes (10 MiB), got "
                                  f"{len(data)} bytes")
        content_type = None
        if data:
            content_type = next((ct for magic, ct in MAGIC if data.startswith(magic)), None)
            if content_type is None:
                params.fail("file", "must be a PDF, PNG or JPEG document (recognised by its content)",
                            f"{filename or 'file'} starting with bytes {data[:8].hex()}")
        params.raise_if_invalid()
        assert data is not None and content_type is not None
        with self.store.write() as db:
            row = self._visible_booking(db, sandbox, username, reference)
            if row["status"] == "CANCELLED":
                raise errors.Conflict(f"Booking '{reference}' is cancelled; no documentation can be uploaded")
            doc_id = secrets.token_hex(12)
            seq = (db.execute("SELECT max(seq) FROM tp_documents WHERE sandbox = ?", [sandbox]).fetchone()[0] or 0)
            db["tp_documents"].insert({
                "sandbox": sandbox, "id": doc_id, "seq": seq + 1, "booking_reference": reference,
                "document_type": doc_type, "description": description, "filename": (filename or "")[:255],
                "content_type": content_type, "size": len(data), "data": data,
                "uploaded_at": iso(self.platform.clock.now(sandbox, db))})
        return {"sucessful": "true", "errorMessage": "", "documentId": doc_id}

    # -- seat reservation (Trainingportal's side; the HTTP call is in provider_calls.py) -----------

    def provider_row(self, db: sqlite_utils.Database, sandbox: str, username: str | None) -> dict[str, Any]:
        if username is None:
            row = _row(list(db.query("SELECT * FROM tp_providers WHERE sandbox = ? ORDER BY slot LIMIT 1",
                                     [sandbox])))
        else:
            row = _row(list(db.query("SELECT * FROM tp_providers WHERE sandbox = ? AND username = ?",
                                     [sandbox, username])))
        if row is None:
            raise sim_errors.NotFound(f"provider {username!r} not found in this sandbox", field="username")
        return row

    @staticmethod
    def urls(provider: dict[str, Any], sandbox: str, host_url: str) -> tuple[str, str]:
        """The provider's reservation and cancellation URLs; unset means the suite's example provider on
        this server (the server part comes from the request, since only then the port is known)."""
        base = host_url.rstrip("/") + "/_sim/example-provider"
        return (provider["reservation_url"] or f"{base}/reserve?sandbox={sandbox}",
                provider["cancellation_url"] or f"{base}/cancel?sandbox={sandbox}")

    def hold_seat(self, sandbox: str, request: dict[str, Any], host_url: str) -> Reservation:
        """Trainingportal's checks, then one seat held in one transaction (released if the call fails)."""
        username = request.get("username")
        course, class_ext = request.get("externalCourseId"), request.get("externalCourseClassId")
        for name, value in (("externalCourseId", course), ("externalCourseClassId", class_ext)):
            if not isinstance(value, str) or not value:
                raise sim_errors.Invalid(f"{name} is required", field=name)
        with self.store.write() as db:
            provider = self.provider_row(db, sandbox, username)
            username = provider["username"]
            if _row(list(db.query("SELECT 1 AS x FROM tp_courses WHERE sandbox = ? AND username = ? AND "
                                  "external_id = ?", [sandbox, username, course]))) is None:
                raise sim_errors.NotFound(f"course {course!r} not found for provider {username!r}",
                                          field="externalCourseId")
            row = self._live_class(db, sandbox, username, course, class_ext)
            if row is None:
                raise sim_errors.NotFound(f"class {class_ext!r} not found in course {course!r}",
                                          field="externalCourseClassId")
            now = self.platform.clock.now(sandbox, db)
            if row["state"] != "published":
                raise sim_errors.Conflict(f"class {class_ext!r} is {row['state']}, not published; no booking "
                                          f"can be made", field="externalCourseClassId")
            if row["available_seats"] <= 0:
                raise sim_errors.Conflict(f"class {class_ext!r} has no available seats (availableSeats is "
                                          f"{row['available_seats']})", field="externalCourseClassId")
            if today(now).isoformat() > row["enrollment_deadline"]:
                raise sim_errors.Conflict(f"the enrollment deadline of class {class_ext!r} was "
                                          f"{row['enrollment_deadline']}; today is {today(now).isoformat()}",
                                          field="externalCourseClassId")
            db.execute("UPDATE tp_classes SET available_seats = available_seats - 1 WHERE sandbox = ? AND id = ?",
                       [sandbox, row["id"]])
            url, _ = self.urls(provider, sandbox, host_url)
            return Reservation(
                sandbox=sandbox, username=username, class_id=row["id"], course_external_id=course,
                external_course_class_id=class_ext, url=url, params=reservation_params(request),
                timeout=float(provider["timeout_seconds"] or DEFAULT_TIMEOUT),
                delay=float(provider["confirmation_delay_seconds"]
                            if provider["confirmation_delay_seconds"] is not None else DEFAULT_DELAY),
                request={**request, "username": username})

    def settle_reservation(self, db: sqlite_utils.Database, res: Reservation, reference: str | None,
                           reason: str | None) -> tuple[dict[str, Any] | None, str | None]:
        """Inside the caller's transaction: store the booking under the provider's reference, or give the
        seat back. Returns (booking, reason the reservation failed)."""
        if reference is not None and reason is None:
            exists = db.execute("SELECT 1 FROM tp_bookings WHERE sandbox = ? AND reference = ?",
                                [res.sandbox, reference]).fetchone()
            if exists:
                reason = f"the provider answered bookingReference {reference!r}, which is already used by " \
                         f"another booking"
        if reason is not None or reference is None:
            db.execute("UPDATE tp_classes SET available_seats = available_seats + 1 WHERE sandbox = ? AND id = ?",
                       [res.sandbox, res.class_id])
            return None, reason or "no booking reference"
        now = self.platform.clock.now(res.sandbox, db)
        student, enroller = res.request.get("student") or {}, res.request.get("enroller") or {}
        seq = (db.execute("SELECT max(seq) FROM tp_bookings WHERE sandbox = ?", [res.sandbox]).fetchone()[0] or 0)
        row = {"sandbox": res.sandbox, "reference": reference, "seq": seq + 1, "username": res.username,
               "class_id": res.class_id, "course_external_id": res.course_external_id,
               "external_course_class_id": res.external_course_class_id,
               "firstname": student.get("firstName"), "lastname": student.get("lastName"),
               "email": student.get("email"), "phone": student.get("phone"), "birth_date": student.get("birthDate"),
               "enroller": dumps(enroller), "company": res.request.get("company"), "status": "NEW",
               "comment": res.request.get("commentOnEnrollment"),
               "po_number": res.request.get("purchaseOrderNumber"), "completion_date": None,
               "reserved_at": iso(now), "visible_at": iso(now + timedelta(seconds=res.delay)),
               "updated_at": iso(now), "cancelled_at": None, "delivery_id": None}
        try:
            db["tp_bookings"].insert(row)
        except sqlite3.IntegrityError:  # pragma: no cover - checked above inside the same transaction
            db.execute("UPDATE tp_classes SET available_seats = available_seats + 1 WHERE sandbox = ? AND id = ?",
                       [res.sandbox, res.class_id])
            return None, f"bookingReference {reference!r} is already used"
        return row, None

    def cancellation_target(self, sandbox: str, reference: str, host_url: str) -> tuple[str, float, dict]:
        """Checks before calling the provider's cancellation URL: the booking exists, is not cancelled,
        and today is not after the class's cancellationDeadline."""
        with self.store.read() as db:
            row = _row(list(db.query("SELECT * FROM tp_bookings WHERE sandbox = ? AND reference = ?",
                                     [sandbox, reference])))
            if row is None:
                raise sim_errors.NotFound(f"booking {reference!r} not found", field="bookingReference")
            if row["status"] == "CANCELLED":
                raise sim_errors.Conflict(f"booking {reference!r} is already cancelled", field="bookingReference")
            cls = _row(list(db.query("SELECT cancellation_deadline FROM tp_classes WHERE sandbox = ? AND id = ?",
                                     [sandbox, row["class_id"]])))
            now = self.platform.clock.now(sandbox, db)
            if cls and today(now).isoformat() > cls["cancellation_deadline"]:
                raise sim_errors.Conflict(f"the cancellation deadline of class {row['external_course_class_id']!r} "
                                          f"was {cls['cancellation_deadline']}; today is {today(now).isoformat()}",
                                          field="bookingReference")
            provider = self.provider_row(db, sandbox, row["username"])
            _, url = self.urls(provider, sandbox, host_url)
            return url, float(provider["timeout_seconds"] or DEFAULT_TIMEOUT), row

    def settle_cancellation(self, db: sqlite_utils.Database, sandbox: str, reference: str) -> dict[str, Any] | None:
        """Inside the caller's transaction: the booking becomes CANCELLED and its seat returns."""
        row = _row(list(db.query("SELECT * FROM tp_bookings WHERE sandbox = ? AND reference = ?",
                                 [sandbox, reference])))
        if row is None or row["status"] == "CANCELLED":
            return None
        now = iso(self.platform.clock.now(sandbox, db))
        db.execute("UPDATE tp_bookings SET status = 'CANCELLED', cancelled_at = ?, updated_at = ? "
                   "WHERE sandbox = ? AND reference = ?", [now, now, sandbox, reference])
        db.execute("UPDATE tp_classes SET available_seats = available_seats + 1 WHERE sandbox = ? AND id = ? "
                   "AND state != 'deleted'", [sandbox, row["class_id"]])
        row.update(status="CANCELLED", cancelled_at=now)
        return row

    # -- inspection (control plane and dashboard) ------------------------------------------------

    def _provider_out(self, db: sqlite_utils.Database, sandbox: str, row: dict[str, Any],
                      host_url: str) -> dict[str, Any]:
        reserve, cancel = self.urls(row, sandbox, host_url)
        courses = [course_out(r) for r in db.query(
            "SELECT * FROM tp_courses WHERE sandbox = ? AND username = ? ORDER BY course_id", [sandbox, row["username"]])]
        return {"username": row["username"], "displayName": row["display_name"], "reservationUrl": reserve,
                "cancellationUrl": cancel, "usesExampleProvider": not row["reservation_url"],
                "confirmationDelaySeconds": row["confirmation_delay_seconds"],
                "timeoutSeconds": row["timeout_seconds"], "courses": courses}

    def list_providers(self, sandbox: str, host_url: str) -> list[dict[str, Any]]:
        with self.store.read() as db:
            rows = list(db.query("SELECT * FROM tp_providers WHERE sandbox = ? ORDER BY slot", [sandbox]))
            return [self._provider_out(db, sandbox, r, host_url) for r in rows]

    def update_provider(self, sandbox: str, username: str, body: dict[str, Any], host_url: str) -> dict[str, Any]:
        allowed = {"reservationUrl", "cancellationUrl", "confirmationDelaySeconds", "timeoutSeconds", "displayName"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise sim_errors.Invalid(f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}",
                                     field=unknown[0])
        changes: dict[str, Any] = {}
        for key, col in (("reservationUrl", "reservation_url"), ("cancellationUrl", "cancellation_url")):
            if key in body:
                changes[col] = _valid_url(body[key], key)
        for key, col, low, high in (("confirmationDelaySeconds", "confirmation_delay_seconds", 0, 86400),
                                    ("timeoutSeconds", "timeout_seconds", 0.1, 120)):
            if key in body:
                value = body[key]
                if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
                    raise sim_errors.Invalid(f"{key} must be a number from {low:g} to {high:g}, got {value!r}",
                                             field=key)
                changes[col] = float(value)
        if "displayName" in body:
            name = body["displayName"]
            if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_TEXT:
                raise sim_errors.Invalid(f"displayName must be a string of 1-{MAX_TEXT} characters, got {name!r}",
                                         field="displayName")
            changes["display_name"] = name.strip()
        with self.store.write() as db:
            self.provider_row(db, sandbox, username)
            if changes:
                sets = ", ".join(f"{c} = ?" for c in changes)
                db.execute(f"UPDATE tp_providers SET {sets} WHERE sandbox = ? AND username = ?",
                           [*changes.values(), sandbox, username])
            return self._provider_out(db, sandbox, self.provider_row(db, sandbox, username), host_url)

    def list_courses(self, sandbox: str, limit: int = 100, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        with self.store.read() as db:
            total = db.execute("SELECT count(*) FROM tp_courses WHERE sandbox = ?", [sandbox]).fetchone()[0]
            rows = list(db.query(
                "SELECT c.*, (SELECT count(*) FROM tp_classes k WHERE k.sandbox = c.sandbox AND k.username = "
                "c.username AND k.course_external_id = c.external_id AND k.state != 'deleted') AS classes "
                "FROM tp_courses c WHERE c.sandbox = ? ORDER BY c.course_id LIMIT ? OFFSET ?",
                [sandbox, limit, offset]))
        return [{**course_out(r), "username": r["username"], "classes": r["classes"]} for r in rows], total

    @staticmethod
    def _class_view(row: dict[str, Any]) -> dict[str, Any]:
        return {**class_out(row), "id": row["id"], "state": row["state"], "username": row["username"],
                "bookings": row.get("bookings", 0), "createdAt": row["created_at"],
                "cancelledAt": row["cancelled_at"], "deletedAt": row["deleted_at"]}

    def list_classes(self, sandbox: str, limit: int = 100, offset: int = 0, *, state: str | None = None,
                     course: str | None = None) -> tuple[list[dict[str, Any]], int]:
        if state is not None and state not in CLASS_STATES:
            raise sim_errors.Invalid(f"state must be one of {', '.join(CLASS_STATES)}, got {state!r}", field="state")
        where, args = "k.sandbox = ?", [sandbox]
        if state:
            where += " AND k.state = ?"
            args.append(state)
        if course:
            where += " AND k.course_external_id = ?"
            args.append(course)
        with self.store.read() as db:
            total = db.execute(f"SELECT count(*) FROM tp_classes k WHERE {where}", args).fetchone()[0]
            rows = list(db.query(
                f"SELECT k.*, (SELECT count(*) FROM tp_bookings b WHERE b.sandbox = k.sandbox AND b.class_id = k.id "
                f"AND b.status != 'CANCELLED') AS bookings FROM tp_classes k WHERE {where} "
                f"ORDER BY k.start_date, k.id LIMIT ? OFFSET ?", [*args, limit, offset]))
        return [self._class_view(r) for r in rows], total

    def _booking_view(self, row: dict[str, Any], now: datetime) -> dict[str, Any]:
        return {**booking_out(row), "externalCourseId": row["course_external_id"], "username": row["username"],
                "reservedAt": row["reserved_at"], "visibleAt": row["visible_at"],
                "visible": parse_datetime(row["visible_at"]) <= now, "cancelledAt": row["cancelled_at"],
                "deliveryId": row["delivery_id"]}

    def list_bookings(self, sandbox: str, limit: int = 100, offset: int = 0, *, status: str | None = None,
                      class_ext: str | None = None) -> tuple[list[dict[str, Any]], int]:
        statuses = (*BOOKING_STATUSES, "CANCELLED")
        if status is not None and status not in statuses:
            raise sim_errors.Invalid(f"status must be one of {', '.join(statuses)}, got {status!r}", field="status")
        where, args = "sandbox = ?", [sandbox]
        if status:
            where += " AND status = ?"
            args.append(status)
        if class_ext:
            where += " AND external_course_class_id = ?"
            args.append(class_ext)
        with self.store.read() as db:
            now = self.platform.clock.now(sandbox, db)
            total = db.execute(f"SELECT count(*) FROM tp_bookings WHERE {where}", args).fetchone()[0]
            rows = list(db.query(f"SELECT * FROM tp_bookings WHERE {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                                 [*args, limit, offset]))
        return [self._booking_view(r, now) for r in rows], total

    def get_booking(self, sandbox: str, reference: str, db: sqlite_utils.Database | None = None) -> dict[str, Any]:
        def fetch(d: sqlite_utils.Database) -> dict[str, Any]:
            row = _row(list(d.query("SELECT * FROM tp_bookings WHERE sandbox = ? AND reference = ?",
                                    [sandbox, reference])))
            if row is None:
                raise sim_errors.NotFound(f"booking {reference!r} not found", field="bookingReference")
            view = self._booking_view(row, self.platform.clock.now(sandbox, d))
            view["documents"] = [self._document_view(r) for r in d.query(
                "SELECT id, seq, booking_reference, document_type, description, filename, content_type, size, "
                "uploaded_at FROM tp_documents WHERE sandbox = ? AND booking_reference = ? ORDER BY seq",
                [sandbox, reference])]
            return view

        if db is not None:
            return fetch(db)
        with self.store.read() as rdb:
            return fetch(rdb)

    @staticmethod
    def _document_view(row: dict[str, Any]) -> dict[str, Any]:
        return {"documentId": row["id"], "bookingReference": row["booking_reference"],
                "documentType": row["document_type"], "description": row["description"],
                "filename": row["filename"], "contentType": row["content_type"], "size": row["size"],
                "uploadedAt": row["uploaded_at"]}

    def list_documents(self, sandbox: str, limit: int = 100, offset: int = 0,
                       booking: str | None = None) -> tuple[list[dict[str, Any]], int]:
        where, args = "sandbox = ?", [sandbox]
        if booking:
            where += " AND booking_reference = ?"
            args.append(booking)
        with self.store.read() as db:
            total = db.execute(f"SELECT count(*) FROM tp_documents WHERE {where}", args).fetchone()[0]
            rows = list(db.query(
                f"SELECT id, seq, booking_reference, document_type, description, filename, content_type, size, "
                f"uploaded_at FROM tp_documents WHERE {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                [*args, limit, offset]))
        return [self._document_view(r) for r in rows], total

    def document(self, sandbox: str, doc_id: str) -> tuple[dict[str, Any], bytes]:
        with self.store.read() as db:
            row = _row(list(db.query("SELECT * FROM tp_documents WHERE sandbox = ? AND id = ?", [sandbox, doc_id])))
        if row is None:
            raise sim_errors.NotFound(f"document {doc_id!r} not found", field="documentId")
        return self._document_view(row), row["data"]


def reservation_params(request: dict[str, Any]) -> dict[str, str]:
    """The query parameters of the reservation call (each sent when known)."""
    student, enroller = request.get("student") or {}, request.get("enroller") or {}
    params = {"externalCourseClassId": request["externalCourseClassId"]}
    for name, source, key in (
            ("studentFirstName", student, "firstName"), ("studentLastName", student, "lastName"),
            ("studentEmailAddress", student, "email"), ("studentPhoneNumber", student, "phone"),
            ("studentBirthDate", student, "birthDate"), ("enrollerFirstName", enroller, "firstName"),
            ("enrollerLastName", enroller, "lastName"), ("enrollerEmailAddress", enroller, "email"),
            ("enrollerPhoneNumber", enroller, "phone")):
        if source.get(key):
            params[name] = str(source[key])
    if request.get("company"):
        params["company"] = str(request["company"])
    return params
