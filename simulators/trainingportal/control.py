"""Trainingportal's part of the control plane (``/_sim/sandboxes/<id>/trainingportal/...``): providers,
courses, classes, bookings, documents, and the enroller's side (book a seat, cancel a booking)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from ..control import control_blueprint, json_body, listing, page_args, text_arg
from ..platform.http import platform, self_url
from . import provider_calls
from .models import TrainingportalModel

control = control_blueprint("trainingportal_control", "/_sim/sandboxes/<sandbox_id>/trainingportal")


def host_url() -> str:
    """Where the example provider is reached: this server's own address."""
    return self_url()


def model() -> TrainingportalModel:
    return TrainingportalModel(platform())


@control.get("/providers")
def list_providers(sandbox_id: str) -> Response:
    items = model().list_providers(sandbox_id, host_url())
    limit, offset = page_args()
    return listing(items[offset:offset + limit], len(items))


@control.patch("/providers/<username>")
def update_provider(sandbox_id: str, username: str) -> Response:
    return jsonify(model().update_provider(sandbox_id, username, json_body(), host_url()))


@control.get("/courses")
def list_courses(sandbox_id: str) -> Response:
    limit, offset = page_args()
    return listing(*model().list_courses(sandbox_id, limit, offset))


@control.get("/classes")
def list_classes(sandbox_id: str) -> Response:
    limit, offset = page_args()
    return listing(*model().list_classes(sandbox_id, limit, offset, state=text_arg("state"),
                                         course=text_arg("externalCourseId")))


@control.get("/bookings")
def list_bookings(sandbox_id: str) -> Response:
    limit, offset = page_args()
    return listing(*model().list_bookings(sandbox_id, limit, offset, status=text_arg("status"),
                                          class_ext=text_arg("externalCourseClassId")))


@control.get("/bookings/<reference>")
def get_booking(sandbox_id: str, reference: str) -> Response:
    return jsonify(model().get_booking(sandbox_id, reference))


@control.post("/bookings")
def book_seat(sandbox_id: str) -> tuple[Response, int]:
    req = provider_calls.booking_request(json_body(required=False))
    status, body = provider_calls.book(platform(), sandbox_id, req, host_url())
    return jsonify(body), status


@control.post("/bookings/<reference>/cancel")
def cancel_booking(sandbox_id: str, reference: str) -> tuple[Response, int]:
    status, body = provider_calls.cancel(platform(), sandbox_id, reference, host_url())
    return jsonify(body), status


@control.get("/documents")
def list_documents(sandbox_id: str) -> Response:
    limit, offset = page_args()
    return listing(*model().list_documents(sandbox_id, limit, offset, booking=text_arg("bookingReference")))


@control.get("/documents/<document_id>")
def download_document(sandbox_id: str, document_id: str) -> Response:
    meta, data = model().document(sandbox_id, document_id)
    resp = Response(data, mimetype=meta["contentType"])
    name = (meta["filename"] or document_id).replace('"', "").replace("\r", "").replace("\n", "")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name.encode("ascii", "replace").decode()}"'
    resp.headers["X-Document-Type"] = meta["documentType"]
    return resp


def retry_handler(plat: Any, sandbox: str, delivery: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return provider_calls.retry(plat, sandbox, delivery, host_url())
