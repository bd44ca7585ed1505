"""Mintra Trainingportal: the course-provider REST API, and Trainingportal's calls to the provider's URLs.

``SYSTEM`` is what the app mounts: the API blueprint at ``/mintra/api/courseprovider/rest/v1``, the
control routes at ``/_sim/sandboxes/<id>/trainingportal``, the example provider at
``/_sim/example-provider``, the class-deletion due work and the fault preset.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, jsonify

from ..platform.registry import System
from ..platform.sandboxes import SeedContext
from ..platform.store import dumps
from ..platform.timeutil import iso
from . import openapi
from .control import control, retry_handler
from .errors import BOOKING_NOT_FOUND
from .example_provider import EXAMPLE_BEHAVIOUR, EXAMPLE_BOOKINGS, example
from .models import DEFAULT_DELAY, DEFAULT_TIMEOUT, DELETE_KIND, SYSTEM_NAME, TABLES, TrainingportalModel
from .provider_calls import CANCEL, RESERVE
from .routes import api, http_error
from .scale import scale


def _seed(ctx: SeedContext) -> None:
    data = ctx.fixture("trainingportal")
    now = ctx.now
    for provider in data["providers"]:
        cred = ctx.credential(SYSTEM_NAME, provider["slot"], key_prefix="tp-")
        username = cred.key
        ctx.db["tp_providers"].insert({
            "sandbox": ctx.sandbox, "username": username, "slot": provider["slot"],
            "display_name": provider["displayName"], "reservation_url": None, "cancellation_url": None,
            "confirmation_delay_seconds": float(provider.get("confirmationDelaySeconds", DEFAULT_DELAY)),
            "timeout_seconds": float(provider.get("timeoutSeconds", DEFAULT_TIMEOUT))})
        ctx.db["tp_courses"].insert_all([
            {"sandbox": ctx.sandbox, "username": username, "external_id": c["externalId"], "course_id": c["courseId"],
             "name": c["name"]} for c in provider["courses"]])
        if ctx.fixtures != "demo":
            continue
        class_ids: dict[str, int] = {}
        course_of: dict[str, str] = {}
        for k in provider["classes"]:
            venue = provider["venues"][k["venue"]]
            start = (now + timedelta(days=k["startInDays"])).date()
            row = {"sandbox": ctx.sandbox, "username": username, "course_external_id": k["course"],
                   "external_id": k["externalId"], "state": "published", "location": venue["location"],
                   "available_seats": k["seats"],
                   "enrollment_deadline": (start - timedelta(days=k["enrollDaysBefore"])).isoformat(),
                   "cancellation_deadline": (start - timedelta(days=k["cancelDaysBefore"])).isoformat(),
                   "start_date": start.isoformat(), "start_time": k.get("startTime"),
                   "end_date": (start + timedelta(days=k["days"] - 1)).isoformat(), "end_time": k.get("endTime"),
                   "address_line1": venue["addressLine1"], "address_line2": venue["addressLine2"],
                   "city": venue["city"], "zip_code": venue["zipCode"], "country": venue["country"],
                   "currency": k["currency"], "amount": k["amount"], "send_schedule_info": 1,
                   "created_at": iso(now), "updated_at": iso(now), "cancelled_at": None, "deleted_at": None}
            class_ids[k["externalId"]] = ctx.db["tp_classes"].insert(row).last_pk
            course_of[k["externalId"]] = k["course"]
        fake, rng = ctx.faker("trainingportal.bookings", "no_NO"), ctx.random("trainingportal.references")
        for seq, b in enumerate(provider["bookings"], start=1):
            first, last = fake.first_name(), fake.last_name()
            efirst, elast = fake.first_name(), fake.last_name()
            domain = b["company"].split()[0].lower().replace("ø", "o").replace("æ", "ae").replace("å", "a")
            ctx.db["tp_bookings"].insert({
                "sandbox": ctx.sandbox, "reference": ctx.uuid(rng).replace("-", "_"), "seq": seq,
                "username": username, "class_id": class_ids[b["class"]], "course_external_id": course_of[b["class"]],
                "external_course_class_id": b["class"], "firstname": first, "lastname": last,
                "email": f"{_handle(first)}.{_handle(last)}@{domain}.no",
                "phone": "47" + str(rng.randint(40000000, 99999999)),
                "birth_date": fake.date_of_birth(minimum_age=21, maximum_age=62).isoformat(),
                "enroller": dumps({"firstName": efirst, "lastName": elast,
                                   "email": f"{_handle(efirst)}.{_handle(elast)}@{domain}.no",
                                   "phone": "47" + str(rng.randint(40000000, 99999999))}),
                "company": b["company"], "status": b["status"], "comment": b.get("commentOnEnrollment"),
                "po_number": b.get("purchaseOrderNumber"), "completion_date": None, "reserved_at": iso(now),
                "visible_at": iso(now), "updated_at": iso(now), "cancelled_at": None, "delivery_id": None})


def _handle(name: str) -> str:
    out = name.lower().replace("ø", "o").replace("æ", "ae").replace("å", "a")
    return "".join(ch for ch in out if ch.isalpha() and ch.isascii()) or "x"


def _credentials(plat: Any, db: Any, sandbox: str) -> dict[str, Any]:
    providers = []
    for cred in plat.sandboxes.credentials_of(db, sandbox, SYSTEM_NAME):
        courses = [{"courseId": r["course_id"], "externalId": r["external_id"], "name": r["name"]} for r in db.query(
            "SELECT * FROM tp_courses WHERE sandbox = ? AND username = ? ORDER BY course_id", [sandbox, cred.key])]
        providers.append({"username": cred.key, "password": cred.secret, "courses": courses})
    return {"providers": providers}


def _not_yet_visible() -> Response:
    resp = jsonify({"errorMessage": BOOKING_NOT_FOUND})
    resp.status_code = 404
    return resp


SYSTEM = System(
    name=SYSTEM_NAME, key="trainingportal", base_path="/mintra/api/courseprovider/rest/v1", api=api,
    tables=[*TABLES, EXAMPLE_BOOKINGS, EXAMPLE_BEHAVIOUR], seed=_seed, credentials=_credentials,
    control=control, control_prefix="trainingportal", extra_blueprints=[example],
    due={DELETE_KIND: TrainingportalModel.delete_due},
    presets={"trainingportal.booking-not-yet-visible": _not_yet_visible},
    retry={RESERVE: retry_handler, CANCEL: retry_handler},
    openapi_paths=openapi.CONTROL_PATHS, http_error=http_error, api_document=openapi.api_document, scale=scale,
)
