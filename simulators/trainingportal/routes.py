"""Trainingportal's course-provider REST API at its real path (HTTP only; the rules are in models.py).

Every method answers POST and GET; parameters come from the form body or the query string (the body
wins), nested ones with dotted names; ``username``/``password`` ride on every call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from ..platform.http import begin, form, platform
from .errors import TrainingportalError
from .models import SYSTEM_NAME, TrainingportalModel
from .render import answer, error
from .schemas import API_PREFIX

api = Blueprint("trainingportal_api", __name__, url_prefix=API_PREFIX)
METHODS = ["GET", "POST"]


def request_params() -> dict[str, str]:
    """Query string and form body merged; a form value wins over a query value of the same name."""
    values = request.args.to_dict() if request.environ.get("QUERY_STRING") else {}
    values.update(form())
    return values


def _handle(operation: str, root: str, work: Callable[[TrainingportalModel, str, str, dict[str, str]], Any],
            item: str | None = None) -> Response:
    model = TrainingportalModel(platform())
    try:
        params = request_params()
        sandbox = model.authenticate(params.get("username"), params.get("password"))
        fault = begin(SYSTEM_NAME, sandbox, operation)
        if fault is not None:
            return fault
        return answer(work(model, sandbox, params["username"], params), root, item=item)
    except TrainingportalError as exc:
        return error(exc.status, exc.body())


@api.route("/courses", methods=METHODS)
def get_courses() -> Response:
    return _handle("getCourses", "courses", lambda m, sb, user, p: m.courses(sb, user), item="course")


@api.route("/courses/get/<course>", methods=METHODS)
def get_course(course: str) -> Response:
    return _handle("getCourse", "course", lambda m, sb, user, p: m.course(sb, user, course))


@api.route("/courses/get/<course>/courseClasses", methods=METHODS)
def get_course_classes(course: str) -> Response:
    return _handle("getCourseClasses", "courseClasses", lambda m, sb, user, p: m.course_classes(sb, user, course),
                   item="courseClass")


@api.route("/courses/get/<course>/courseClasses/add", methods=METHODS)
def add_class(course: str) -> Response:
    return _handle("addClass", "courseClass", lambda m, sb, user, p: m.add_class(sb, user, course, p))


@api.route("/courses/get/<course>/courseClasses/update", methods=METHODS)
def update_class(course: str) -> Response:
    return _handle("updateClass", "courseClass", lambda m, sb, user, p: m.update_class(sb, user, course, p))


@api.route("/courses/get/<course>/courseClasses/cancel/<course_class>", methods=METHODS)
def cancel_class(course: str, course_class: str) -> Response:
    return _handle("cancelClass", "status", lambda m, sb, user, p: m.cancel_class(sb, user, course, course_class))


@api.route("/courses/get/<course>/courseClasses/restore/<course_class>", methods=METHODS)
def restore_class(course: str, course_class: str) -> Response:
    return _handle("restoreClass", "status", lambda m, sb, user, p: m.restore_class(sb, user, course, course_class))


@api.route("/booking/get/<reference>", methods=METHODS)
def get_booking_information(reference: str) -> Response:
    return _handle("getBookingInformation", "booking", lambda m, sb, user, p: m.booking_information(sb, user, reference))


@api.route("/booking/update/<reference>", methods=METHODS)
def update_booking_status(reference: str) -> Response:
    return _handle("updateBookingStatus", "status",
                   lambda m, sb, user, p: m.update_booking_status(sb, user, reference, p))


@api.route("/booking/uploadDocumentation/<reference>", methods=METHODS)
def upload_documentation(reference: str) -> Response:
    def work(m: TrainingportalModel, sb: str, user: str, p: dict[str, str]) -> Any:
        upload = request.files.get("file")
        data = upload.read() if upload is not None else None
        return m.upload_document(sb, user, reference, data=data, filename=upload.filename if upload else None,
                                 values=p)

    return _handle("uploadDocumentation", "status", work)


def http_error(status: int, message: str) -> Response:
    """HTTP-level errors under the API prefix (404, 405, 413, 415, 500) in Trainingportal's form."""
    text = {404: "Resource not found: " + request.path,
            405: f"Method {request.method} is not allowed here; use GET or POST",
            413: "Request too large: " + message, 415: "Unsupported media type: " + message,
            500: "Internal error"}.get(status, message)
    resp = error(status, {"errorMessage": text})
    if status == 405:
        resp.headers["Allow"] = "GET, HEAD, OPTIONS, POST"
    return resp
