"""Bluedrop's part of the control plane (``/_sim/sandboxes/<id>/bluedrop/...``): what the ministry's
registry and the Marketplace hold, and the actions of Bluedrop support (void, correct) and of a
ministry administrator (match, create-learner). Parsing only; the model does the work."""

from __future__ import annotations

from flask import Response, jsonify, request

from ..control import control_blueprint, json_body, listing, text_arg
from ..control import page_args as _page_args
from ..platform.errors import Invalid
from .models import MATCH_STATES
from .routes import backend

control = control_blueprint("bluedrop_control", "/_sim/sandboxes/<sandbox_id>/bluedrop")


def page_args() -> tuple[int, int]:
    """limit/offset; an offset past any possible row is simply an empty page (and never overflows SQLite)."""
    limit, offset = _page_args()
    return limit, min(offset, 2**62)


def bool_arg(name: str) -> bool | None:
    value = text_arg(name, ("true", "false"))
    return None if value is None else value == "true"


def network_arg(body: dict | None = None) -> str | None:
    value = request.args.get("networkKey") or (body or {}).get("networkKey")
    if value is not None and not isinstance(value, str):
        raise Invalid(f"networkKey must be a string, got {value!r}", field="networkKey")
    return value or None


@control.get("/learning-records")
def learning_records(sandbox_id: str) -> Response:
    limit, offset = page_args()
    items, total = backend().list_records(
        sandbox_id, limit, offset, network_key=text_arg("networkKey"), match_state=text_arg("matchState", MATCH_STATES),
        learner_id=text_arg("learnerId"), voided=bool_arg("voided"))
    return listing(items, total)


@control.get("/learning-records/<record_id>")
def learning_record(sandbox_id: str, record_id: str) -> Response:
    return jsonify(backend().get_record(sandbox_id, record_id, network_arg()))


@control.post("/learning-records/<record_id>/void")
def void(sandbox_id: str, record_id: str) -> Response:
    body = json_body()
    return jsonify(backend().void(sandbox_id, record_id, body.get("reason"), network_arg(body)))


@control.post("/learning-records/<record_id>/correct")
def correct(sandbox_id: str, record_id: str) -> Response:
    body = json_body()
    return jsonify(backend().correct(sandbox_id, record_id, body.get("fields"), body.get("reason"),
                                     network_arg(body)))


@control.get("/match-queue")
def match_queue(sandbox_id: str) -> Response:
    limit, offset = page_args()
    items, total = backend().list_records(sandbox_id, limit, offset, network_key=text_arg("networkKey"),
                                          queue_only=True)
    return listing(items, total)


@control.post("/learning-records/<record_id>/match")
def match(sandbox_id: str, record_id: str) -> Response:
    body = json_body()
    return jsonify(backend().match(sandbox_id, record_id, body.get("learnerId"), network_arg(body)))


@control.post("/learning-records/<record_id>/create-learner")
def create_learner(sandbox_id: str, record_id: str) -> Response:
    body = json_body(required=False)
    return jsonify(backend().create_learner_for(sandbox_id, record_id, network_arg(body)))


@control.get("/learners")
def learners(sandbox_id: str) -> Response:
    limit, offset = page_args()
    items, total = backend().list_learners(sandbox_id, limit, offset, name=text_arg("name"))
    return listing(items, total)


@control.get("/learners/<learner_id>")
def learner(sandbox_id: str, learner_id: str) -> Response:
    return jsonify(backend().get_learner(sandbox_id, learner_id))


@control.get("/class-offerings")
def class_offerings(sandbox_id: str) -> Response:
    limit, offset = page_args()
    items, total = backend().list_offerings(sandbox_id, "class", limit, offset, network_key=text_arg("networkKey"),
                                            deleted=bool_arg("deleted"))
    return listing(items, total)


@control.get("/online-offerings")
def online_offerings(sandbox_id: str) -> Response:
    limit, offset = page_args()
    items, total = backend().list_offerings(sandbox_id, "online", limit, offset, network_key=text_arg("networkKey"),
                                            deleted=bool_arg("deleted"))
    return listing(items, total)


@control.get("/marketplace")
def marketplace(sandbox_id: str) -> Response:
    limit, offset = page_args()
    items, total = backend().marketplace(sandbox_id, limit, offset)
    return listing(items, total)
