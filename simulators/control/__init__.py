"""The /_sim control plane: shared helpers for its blueprints (the platform's and each system's).

Every control blueprint checks ``SIM_ADMIN_TOKEN`` when set, caps the body at 1 MiB, checks that the
sandbox in the path exists, and answers errors as ``{"code", "message", "field"}`` JSON.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..platform.errors import Invalid, NotFound, SimError, Unauthorized
from ..platform.http import enforce_body_limit, platform

BODY_LIMIT = 1024 * 1024
MAX_OFFSET = 2**53
ADMIN_COOKIE = "trainsim_admin"


def admin_token_ok() -> bool:
    token = current_app.config.get("SIM_ADMIN_TOKEN")
    if not token:
        return True
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(ADMIN_COOKIE, "")
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def error_response(exc: SimError) -> Response:
    resp = jsonify(exc.body())
    resp.status_code = exc.status
    if exc.status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="trainsim"'
    return resp


def http_error_response(exc: HTTPException) -> Response:
    code = {404: "notFound", 405: "methodNotAllowed", 413: "tooLarge", 415: "unsupportedMediaType"}.get(
        exc.code or 400, "invalid")
    resp = jsonify({"code": code, "message": exc.description or exc.name})
    resp.status_code = exc.code or 400
    return resp


def control_blueprint(name: str, url_prefix: str, *, sandbox_scoped: bool = True) -> Blueprint:
    bp = Blueprint(name, __name__, url_prefix=url_prefix)

    @bp.before_request
    def _guard() -> Response | None:
        if not admin_token_ok():
            return error_response(Unauthorized("this server requires Authorization: Bearer <SIM_ADMIN_TOKEN>"))
        too_large = body_guard()
        if too_large is not None:
            return too_large
        if sandbox_scoped:
            sid = (request.view_args or {}).get("sandbox_id")
            if sid is not None and not platform().sandboxes.exists(sid):
                return error_response(NotFound(f"sandbox {sid!r} not found", field="id"))
        return None

    bp.register_error_handler(SimError, error_response)
    return bp


def body_guard() -> Response | None:
    """Refuse a declared body over 1 MiB at once, and cap a chunked one (no Content-Length) while reading."""
    if request.content_length is not None and request.content_length > BODY_LIMIT:
        return error_response(_too_large())
    try:
        enforce_body_limit(BODY_LIMIT)
    except RequestEntityTooLarge:
        return error_response(_too_large())
    return None


def _too_large() -> SimError:
    err = SimError(f"request body is over the {BODY_LIMIT} byte limit", field="body")
    err.status = 413
    err.code = "tooLarge"
    return err


def json_body(required: bool = True) -> dict[str, Any]:
    """The request's JSON object, or a 400 naming what is wrong with it."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise Invalid("a JSON object body is required", field="body")
        return {}
    if request.mimetype not in ("application/json", "") and not request.mimetype.endswith("+json"):
        raise Invalid(f"Content-Type must be application/json, got {request.mimetype!r}", field="Content-Type")
    try:
        value = request.get_json(force=True, silent=False)
    except Exception:  # noqa: BLE001 - werkzeug raises BadRequest with an HTML description
        raise Invalid("body is not valid JSON", field="body") from None
    if not isinstance(value, dict):
        raise Invalid(f"body must be a JSON object, got {type(value).__name__}", field="body")
    return value


def page_args() -> tuple[int, int]:
    """``limit`` (default 100, at most 1000) and ``offset`` from the query string."""
    out = []
    for name, default, top in (("limit", 100, 1000), ("offset", 0, None)):
        raw = request.args.get(name)
        if raw is None or raw == "":
            out.append(default)
            continue
        try:
            value = int(raw)
        except ValueError:
            raise Invalid(f"{name} must be an integer, got {raw!r}", field=name) from None
        if value < 0 or (top is not None and not 1 <= value <= top):
            raise Invalid(f"{name} must be {'from 1 to ' + str(top) if top else 'at least 0'}, got {value}",
                          field=name)
        if value > MAX_OFFSET:  # SQLite integers are 64-bit: a larger offset would be a 500
            raise Invalid(f"{name} must be at most {MAX_OFFSET}, got {value}", field=name)
        out.append(value)
    return out[0], out[1]


def listing(items: list[Any], total: int) -> Response:
    return jsonify({"items": items, "total": total})


def paged(items: list[Any]) -> Response:
    """Page an in-memory list with ``limit``/``offset``."""
    limit, offset = page_args()
    return listing(items[offset:offset + limit], len(items))


def text_arg(name: str, choices: tuple[str, ...] | None = None) -> str | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if choices and value not in choices:
        raise Invalid(f"{name} must be one of {', '.join(choices)}, got {value!r}", field=name)
    return value


def int_arg(name: str) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise Invalid(f"{name} must be an integer, got {value!r}", field=name) from None
