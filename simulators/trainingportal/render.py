"""JSON by default, XML with ``Accept: application/xml`` (same field names; decision: the root is named
after the resource, lists as ``<courseClasses><courseClass>...``)."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from flask import Response, current_app, request

XML = "application/xml"


def wants_xml() -> bool:
    header = request.environ.get("HTTP_ACCEPT", "")
    if "xml" not in header and "*" not in header:  # nothing in it can select XML: no need to parse it
        return False
    accept = request.accept_mimetypes
    return bool(accept) and accept.best_match(["application/json", XML], default="application/json") == XML \
        and accept[XML] > accept["application/json"]


def _scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return escape(str(value))


def _element(name: str, value: Any, item: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        inner = "".join(_element(k, v) for k, v in value.items())
        return f"<{name}>{inner}</{name}>"
    if isinstance(value, list):
        child = item or (name[:-1] if name.endswith("s") else "item")
        return f"<{name}>" + "".join(_element(child, v) for v in value) + f"</{name}>"
    return f"<{name}>{_scalar(value)}</{name}>"


def to_xml(root: str, value: Any, item: str | None = None) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>' + _element(root, value, item)


def answer(value: Any, root: str, status: int = 200, item: str | None = None) -> Response:
    if wants_xml():
        return Response(to_xml(root, value, item), status=status, mimetype=XML)
    resp = current_app.json.response(value)
    resp.status_code = status
    return resp


def error(status: int, body: dict[str, Any]) -> Response:
    return answer(body, "status" if "sucessful" in body else "error", status)
