"""The example provider: a tiny booking system at ``/_sim/example-provider`` that new sandboxes point to.

It plays the provider's side of Trainingportal's reservation and cancellation calls: it issues unique
booking references and remembers them per sandbox (in SQLite, so every worker process sees them). It
can be told to accept, refuse, answer slowly (longer than the caller's timeout) or answer in XML. The
sandbox comes from the ``sandbox`` query parameter of the default URLs. No admin token is needed:
it stands for a provider's public endpoint.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..control import error_response, json_body
from ..platform.errors import Invalid, NotFound, SimError
from ..platform.gate import GATE
from ..platform.http import platform
from ..platform.store import Table, dumps
from ..platform.timeutil import iso
from .models import DEFAULT_TIMEOUT
from .render import to_xml

MODES = ("accept", "refuse", "slow", "xml")
SLOW_CAP = 15.0

EXAMPLE_BOOKINGS = Table(
    name="tp_example_bookings",
    columns={"reference": str, "external_course_class_id": str, "params": str, "cancelled": int,
             "created_at": str},
    pk=("reference",),
)
EXAMPLE_BEHAVIOUR = Table(name="tp_example_behaviour", columns={"mode": str}, pk=())

example = Blueprint("trainingportal_example_provider", __name__, url_prefix="/_sim/example-provider")
example.register_error_handler(SimError, error_response)


def _sandbox() -> str | None:
    sid = request.values.get("sandbox", "")
    return sid if sid and platform().sandboxes.exists(sid) else None


def _mode(sandbox: str) -> str:
    with platform().store.read() as db:
        row = db.execute("SELECT mode FROM tp_example_behaviour WHERE sandbox = ?", [sandbox]).fetchone()
    return row[0] if row else "accept"


def _slow(sandbox: str) -> None:
    """Answer after longer than the caller's timeout (bounded), sleeping in short steps."""
    with platform().store.read() as db:
        row = db.execute("SELECT min(timeout_seconds) FROM tp_providers WHERE sandbox = ?", [sandbox]).fetchone()
    timeout = float(row[0]) if row and row[0] else DEFAULT_TIMEOUT
    deadline = time.monotonic() + min(timeout + 2.0, SLOW_CAP)
    with GATE.waiting():
        while time.monotonic() < deadline:
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


def _answer(body: dict[str, Any], root: str, xml: bool, status: int = 200) -> Response:
    if xml:
        return Response(to_xml(root, body), status=status, mimetype="application/xml")
    resp = jsonify(body)
    resp.status_code = status
    return resp


@example.route("/reserve", methods=["GET", "POST"])
def reserve() -> Response:
    sandbox = _sandbox()
    if sandbox is None:
        return _answer({"successful": False, "bookingReference": None,
                        "errorMessage": f"unknown or missing sandbox {request.values.get('sandbox', '')!r}"},
                       "reservation", False, 400)
    mode = _mode(sandbox)
    if mode == "slow":
        _slow(sandbox)
    xml = mode == "xml"
    class_id = request.values.get("externalCourseClassId", "").strip()
    if mode == "refuse":
        return _answer({"successful": False, "bookingReference": None,
                        "errorMessage": "The course class is fully booked in our booking system"}, "reservation", xml)
    if not class_id:
        return _answer({"successful": False, "bookingReference": None,
                        "errorMessage": "externalCourseClassId is required"}, "reservation", xml)
    reference = str(uuid.uuid4()).replace("-", "_")
    plat = platform()
    with plat.store.write() as db:
        db["tp_example_bookings"].insert({
            "sandbox": sandbox, "reference": reference, "external_course_class_id": class_id[:100],
            "params": dumps({k: v[:255] for k, v in request.values.items() if k != "sandbox"}), "cancelled": 0,
            "created_at": iso(plat.clock.now(sandbox, db))})
    return _answer({"successful": True, "bookingReference": reference, "errorMessage": ""}, "reservation", xml)


@example.route("/cancel", methods=["GET", "POST"])
def cancel() -> Response:
    sandbox = _sandbox()
    if sandbox is None:
        return _answer({"cancelled": False, "errorMessage": "unknown or missing sandbox "
                                                            f"{request.values.get('sandbox', '')!r}"},
                       "cancellation", False, 400)
    mode = _mode(sandbox)
    if mode == "slow":
        _slow(sandbox)
    xml = mode == "xml"
    if mode == "refuse":
        return _answer({"cancelled": False, "errorMessage": "Cancellation refused by our booking system"},
                       "cancellation", xml)
    reference = request.values.get("bookingReference", "").strip()
    plat = platform()
    with plat.store.write() as db:
        row = db.execute("SELECT cancelled FROM tp_example_bookings WHERE sandbox = ? AND reference = ?",
                         [sandbox, reference]).fetchone()
        if row is None:
            return _answer({"cancelled": False, "errorMessage": f"Unknown bookingReference {reference!r}"},
                           "cancellation", xml)
        db.execute("UPDATE tp_example_bookings SET cancelled = 1 WHERE sandbox = ? AND reference = ?",
                   [sandbox, reference])
    return _answer({"cancelled": True, "errorMessage": ""}, "cancellation", xml)


def _behaviour_sandbox(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid(f"sandbox must be a sandbox id, got {value!r}", field="sandbox")
    if not platform().sandboxes.exists(value):
        raise NotFound(f"sandbox {value!r} not found", field="sandbox")
    return value


@example.post("/behaviour")
def set_behaviour() -> Response:
    body = json_body()
    unknown = sorted(set(body) - {"sandbox", "mode"})
    if unknown:
        raise Invalid(f"unknown field(s): {', '.join(unknown)}; allowed: mode, sandbox", field=unknown[0])
    sandbox = _behaviour_sandbox(body.get("sandbox"))
    mode = body.get("mode")
    if mode not in MODES:
        raise Invalid(f"mode must be one of {', '.join(MODES)}, got {mode!r}", field="mode")
    with platform().store.write() as db:
        db.execute("DELETE FROM tp_example_behaviour WHERE sandbox = ?", [sandbox])
        db["tp_example_behaviour"].insert({"sandbox": sandbox, "mode": mode})
    return jsonify({"sandbox": sandbox, "mode": mode})


@example.get("/behaviour")
def get_behaviour() -> Response:
    sandbox = _behaviour_sandbox(request.args.get("sandbox"))
    return jsonify({"sandbox": sandbox, "mode": _mode(sandbox)})
