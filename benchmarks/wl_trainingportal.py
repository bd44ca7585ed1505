"""Trainingportal workloads: form-encoded POSTs with username/password on every call (Mintra's examples)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from .workloads import Ctx, Workload, register

PREFIX = "/mintra/api/courseprovider/rest/v1"
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
CLASSES_PER_COURSE = 50


def _provider(ctx: Ctx) -> dict[str, Any]:
    return ctx.creds("trainingportal")["providers"][0]


def _auth(provider: dict[str, Any]) -> dict[str, str]:
    return {"username": provider["username"], "password": provider["password"]}


def _today(ctx: Ctx) -> date:
    return date.fromisoformat(ctx.call("GET", f"/_sim/sandboxes/{ctx.sid}/clock").json()["now"][:10])


def class_params(today: date, external_id: str) -> dict[str, str]:
    start = today + timedelta(days=30)
    return {
        "externalId": external_id, "location": "Stavanger", "availableSeats": "12",
        "enrollmentDeadline": (start - timedelta(days=10)).isoformat(),
        "cancellationDeadline": (start - timedelta(days=5)).isoformat(),
        "startDate": start.isoformat(), "startTime": "08:30", "endDate": (start + timedelta(days=2)).isoformat(),
        "endTime": "16:00", "address.addressLine1": "Kokstadflaten 35", "address.addressLine2": "Inngang B",
        "address.city": "Stavanger", "address.zipCode": "4014", "address.country": "Norway",
        "price.currency": "NOK", "price.amount": "9500.00", "sendScheduleInfoToParticipants": "true",
    }


def _count_classes(ctx: Ctx, course: str) -> int:
    return ctx.call("GET", f"/_sim/sandboxes/{ctx.sid}/trainingportal/classes",
                    params={"externalCourseId": course, "limit": 1}).json()["total"]


def booking_information(ctx: Ctx) -> list[dict[str, Any]]:
    provider = _provider(ctx)
    items = ctx.call("GET", f"/_sim/sandboxes/{ctx.sid}/trainingportal/bookings", params={"limit": 200}).json()["items"]
    refs = [b["bookingReference"] for b in items
            if b["username"] == provider["username"] and b.get("visible", True) and b.get("cancelledAt") is None][:20]
    if not refs:
        raise RuntimeError("the sandbox holds no booking of its first provider")
    body = urlencode(_auth(provider))
    for ref in refs[:1]:  # the reference answers (once) before the load starts
        ctx.call("POST", f"{PREFIX}/booking/get/{ref}", data=body, headers=FORM)
    return [{"method": "POST", "path": f"{PREFIX}/booking/get/{ref}", "headers": FORM, "body": body,
             "expect": [200]} for ref in refs]


def course_classes(ctx: Ctx) -> list[dict[str, Any]]:
    """A course holding exactly 50 classes: the first with at most 50, topped up through addClass."""
    provider = _provider(ctx)
    courses = [c["externalId"] for c in provider["courses"]]
    counts = {c: _count_classes(ctx, c) for c in courses}
    fitting = [c for c in courses if counts[c] <= CLASSES_PER_COURSE]
    course = fitting[0] if fitting else min(courses, key=counts.get)
    today = _today(ctx)
    for i in range(counts[course], CLASSES_PER_COURSE):
        ctx.call("POST", f"{PREFIX}/courses/get/{course}/courseClasses/add", headers=FORM,
                 data=urlencode({**_auth(provider), **class_params(today, f"BENCH-READ-{i}")}), expect=(200,))
    body = urlencode(_auth(provider))
    got = ctx.call("POST", f"{PREFIX}/courses/get/{course}/courseClasses", data=body, headers=FORM).json()
    if not ctx.scale and len(got) != CLASSES_PER_COURSE:
        raise RuntimeError(f"course {course} answers {len(got)} classes, not {CLASSES_PER_COURSE}")
    return [{"method": "POST", "path": f"{PREFIX}/courses/get/{course}/courseClasses", "headers": FORM,
             "body": body, "expect": [200]}]


def add_class(ctx: Ctx) -> list[dict[str, Any]]:
    provider = _provider(ctx)
    course = provider["courses"][-1]["externalId"]
    params = class_params(_today(ctx), "BENCH-{uid}")
    body = urlencode({**_auth(provider), **params}).replace("%7Buid%7D", "{uid}")
    return [{"method": "POST", "path": f"{PREFIX}/courses/get/{course}/courseClasses/add", "headers": FORM,
             "body": body, "expect": [200]}]


register(Workload("Trainingportal getBookingInformation", "read", booking_information, system="trainingportal",
                  note="20 bookings of the demo data, cycled"))
register(Workload("Trainingportal getCourseClasses (50 classes)", "read", course_classes, system="trainingportal"))
register(Workload("Trainingportal addClass", "write", add_class, system="trainingportal",
                  note="a new externalId per request"))
