"""HTTP only for the Bluedrop360 API v2 (``/api-v2``): read the request, authenticate, ``begin()``,
call the model, answer 204 or the error in Bluedrop's wire form. No rule is decided here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from ..platform.http import begin, current_request, enforce_body_limit, platform
from .errors import (
    BluedropError,
    Internal,
    Invalid,
    MethodNotAllowed,
    NotFound,
    TooLarge,
    UnsupportedMediaType,
    field_errors,
    received,
)
from .models import Bluedrop

BODY_LIMIT = 1024 * 1024

api = Blueprint("bluedrop_api", __name__, url_prefix="/api-v2")


@api.before_request
def _body_cap() -> None:
    """A body over 1 MiB is refused (413) at once, before authentication or anything reads it."""
    enforce_body_limit(BODY_LIMIT)


def backend() -> Bluedrop:
    plat = platform()
    model = getattr(plat, "_bluedrop", None)
    if model is None:
        model = Bluedrop(plat)
        plat._bluedrop = model  # one backend per app (it holds no state of its own)
    return model


def render(exc: BluedropError) -> Response:
    resp = jsonify(exc.body())
    resp.status_code = exc.status
    if exc.status == 401:
        resp.headers["WWW-Authenticate"] = 'bln type=api,version=1,entity=network'
    return resp


def json_body() -> dict[str, Any]:
    """The request's JSON object, or the 413/415/400 that says what is wrong with it."""
    req = current_request()
    length = req.content_length
    if length is not None and length > BODY_LIMIT:
        raise TooLarge(f"request body is {length} bytes; the limit is {BODY_LIMIT} bytes (1 MiB)")
    raw = req.get_data(cache=True)
    if len(raw) > BODY_LIMIT:
        raise TooLarge(f"request body is {len(raw)} bytes; the limit is {BODY_LIMIT} bytes (1 MiB)")
    mimetype = req.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(f"Content-Type must be application/json; received "
                                   f"{received(req.headers.get('Content-Type', ''))}")
    if not raw.strip():
        raise Invalid(field_errors([("body", "a JSON object is required; received an empty body")]))
    try:
        value = current_app.json.loads(raw.decode(req.mimetype_params.get("charset", "utf-8")))
    except (ValueError, UnicodeDecodeError, LookupError, RecursionError):
        raise Invalid(field_errors([("body", "must be valid JSON; received a body that does not parse")])) from None
    if not isinstance(value, dict):
        raise Invalid(field_errors([("body", f"must be a JSON object; received {received(value)}")]))
    return value


def call(operation: str, action: Callable[..., None], *, body: bool = True) -> Response:
    model = backend()
    try:
        cred = model.authenticate(request.headers.get("Authorization"))
        fault = begin("bluedrop", cred.sandbox, operation, secrets=[cred.secret])
        if fault is not None:
            return fault
        if body:
            action(cred, json_body())
        else:
            action(cred)
    except BluedropError as exc:
        return render(exc)
    return Response(status=204)


@api.post("/learning-records")
def create_learning_record() -> Response:
    return call("createLearningRecord", lambda cred, raw: backend().create_learning_record(cred, raw))


def _offering_routes(path: str, kind: str, noun: str) -> None:
    @api.post(f"/{path}", endpoint=f"create_{kind}")
    def create() -> Response:
        return call(f"create{noun}", lambda cred, raw: backend().create_offering(kind, cred, raw))

    @api.patch(f"/{path}/<offering_id>", endpoint=f"update_{kind}")
    def update(offering_id: str) -> Response:
        return call(f"update{noun}", lambda cred, raw: backend().update_offering(kind, cred, offering_id, raw))

    @api.delete(f"/{path}/<offering_id>", endpoint=f"delete_{kind}")
    def delete(offering_id: str) -> Response:
        return call(f"delete{noun}", lambda cred: backend().delete_offering(
            kind, cred, offering_id, request.args.get("networkKey")), body=False)


_offering_routes("class-offerings", "class", "ClassOffering")
_offering_routes("online-offerings", "online", "OnlineOffering")


def http_error(status: int, description: str) -> Response:
    """404/405/413/415/500 on an /api-v2 path, in Bluedrop's form (``SYSTEM.http_error``)."""
    where = f"{request.method} {request.path}"
    if status == 405:
        try:
            allowed = sorted(current_app.url_map.bind_to_environ(request.environ).allowed_methods(request.path))
        except HTTPException:  # pragma: no cover
            allowed = []
        allowed = [m for m in allowed if m not in ("HEAD", "OPTIONS")]
        resp = render(MethodNotAllowed(f"method {request.method} is not allowed on {request.path}; allowed: "
                                       f"{', '.join(allowed) or 'none'}"))
        resp.headers["Allow"] = ", ".join(allowed)
        return resp
    if status == 404:
        return render(NotFound(f"no such resource: {where}"))
    if status == 413:
        size = request.content_length
        return render(TooLarge(f"request body is {size} bytes; the limit is {BODY_LIMIT} bytes (1 MiB)" if size else
                               f"request body is over the {BODY_LIMIT} byte (1 MiB) limit"))
    if status == 415:
        return render(UnsupportedMediaType("Content-Type must be application/json"))
    if status >= 500:
        return render(Internal("internal error"))
    return render(Invalid(field_errors([("body", description or "bad request")]), message="Bad request"))


def internal_error_preset() -> Response:
    """Fault preset ``bluedrop.internal-error``: the 500 the real service answers when it fails."""
    return render(Internal("An internal error occurred; please try again later"))


__all__ = ["api", "http_error", "internal_error_preset"]
