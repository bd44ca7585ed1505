"""The platform's /_sim routes: health, sandboxes, clock, journal, faults, snapshots, outbox, emails.

Each route parses its input, calls one platform service and renders the answer; the rules live in
``simulators/platform``.
"""

from __future__ import annotations

from flask import Response, jsonify, request

from ..platform.errors import Invalid, NotFound
from ..platform.http import platform
from ..platform.timeutil import parse_datetime, parse_duration
from . import control_blueprint, int_arg, json_body, listing, page_args, text_arg

root = control_blueprint("sim_root", "/_sim", sandbox_scoped=False)
sandbox_bp = control_blueprint("sim_sandbox", "/_sim/sandboxes/<sandbox_id>")


def host_url() -> str:
    return request.host_url.rstrip("/")


# -- sandboxes ------------------------------------------------------------------------------------


@root.post("/sandboxes")
def create_sandbox() -> tuple[Response, int]:
    body = json_body(required=False)
    name, seed, fixtures = body.get("name"), body.get("seed"), body.get("fixtures", "demo")
    if name is not None and (not isinstance(name, str) or not 1 <= len(name.strip()) <= 100):
        raise Invalid(f"name must be a string of 1-100 characters, got {name!r}", field="name")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63):
        raise Invalid(f"seed must be a non-negative integer, got {seed!r}", field="seed")
    if not isinstance(fixtures, str):
        raise Invalid(f"fixtures must be 'demo' or 'empty', got {fixtures!r}", field="fixtures")
    sandboxes = platform().sandboxes
    created = sandboxes.create(name=name.strip() if name else None, seed=seed, fixtures=fixtures)
    resp = jsonify(sandboxes.get(created["id"], host_url()))
    resp.headers["Location"] = f"/_sim/sandboxes/{created['id']}"
    return resp, 201


@root.get("/sandboxes")
def list_sandboxes() -> Response:
    limit, offset = page_args()
    items, total = platform().sandboxes.list(limit, offset)
    return listing(items, total)


@root.post("/reset")
def reset_all() -> Response:
    return jsonify({"reset": platform().sandboxes.reset_all()})


@sandbox_bp.get("")
def get_sandbox(sandbox_id: str) -> Response:
    return jsonify(platform().sandboxes.get(sandbox_id, host_url()))


@sandbox_bp.delete("")
def delete_sandbox(sandbox_id: str) -> tuple[str, int]:
    platform().sandboxes.delete(sandbox_id)
    return "", 204


@sandbox_bp.post("/reset")
def reset_sandbox(sandbox_id: str) -> Response:
    platform().sandboxes.reset(sandbox_id)
    return jsonify(platform().sandboxes.get(sandbox_id, host_url()))


# -- clock ----------------------------------------------------------------------------------------


def clock_answer(sandbox_id: str, state: dict) -> Response:
    """The clock, and the due work still scheduled after any move (what moved has already run)."""
    return jsonify({**state, "pending": platform().clock.pending(sandbox_id)})


@sandbox_bp.get("/clock")
def get_clock(sandbox_id: str) -> Response:
    return clock_answer(sandbox_id, platform().clock.state(sandbox_id))


@sandbox_bp.post("/clock")
def move_clock(sandbox_id: str) -> Response:
    body = json_body()
    actions = [k for k in ("advance", "set", "freeze", "reset") if k in body]
    unknown = set(body) - {"advance", "set", "freeze", "reset"}
    if unknown:
        raise Invalid(f"unknown clock field(s): {', '.join(sorted(unknown))}; use advance, set, freeze or reset",
                      field=sorted(unknown)[0])
    if len(actions) != 1:
        raise Invalid("give exactly one of advance, set, freeze or reset", field="body")
    clock, action = platform().clock, actions[0]
    value = body[action]
    if action == "advance":
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise Invalid(str(exc), field="advance") from None
        return clock_answer(sandbox_id, clock.advance(sandbox_id, seconds))
    if action == "set":
        try:
            when = parse_datetime(value)
        except (ValueError, TypeError):
            raise Invalid(f"set must be an ISO-8601 date-time such as 2027-01-01T09:00:00Z, got {value!r}",
                          field="set") from None
        return clock_answer(sandbox_id, clock.set(sandbox_id, when))
    if not isinstance(value, bool):
        raise Invalid(f"{action} must be true or false, got {value!r}", field=action)
    if action == "freeze":
        return clock_answer(sandbox_id, clock.freeze(sandbox_id) if value else clock.unfreeze(sandbox_id))
    if not value:
        raise Invalid("reset must be true", field="reset")
    return clock_answer(sandbox_id, clock.reset(sandbox_id))


# -- journal --------------------------------------------------------------------------------------


@sandbox_bp.get("/journal")
def get_journal(sandbox_id: str) -> Response:
    limit, offset = page_args()
    systems = tuple(s.name for s in platform().systems.values())
    items, total = platform().journal.query(
        sandbox_id, limit=limit, offset=offset, system=text_arg("system", systems),
        operation=text_arg("operation"), status=int_arg("status"), since=text_arg("since"),
        after_id=int_arg("afterId"))
    return listing(items, total)


@sandbox_bp.post("/journal/verify")
def verify_journal(sandbox_id: str) -> tuple[Response, int]:
    ok, result = platform().journal.verify(sandbox_id, json_body())
    return jsonify(result), 200 if ok else 409


# -- faults ---------------------------------------------------------------------------------------


@sandbox_bp.get("/faults")
def list_faults(sandbox_id: str) -> Response:
    items = platform().faults.list(sandbox_id)
    return listing(items, len(items))


@sandbox_bp.post("/faults")
def add_fault(sandbox_id: str) -> tuple[Response, int]:
    return jsonify(platform().faults.add(sandbox_id, json_body())), 201


@sandbox_bp.delete("/faults/<fault_id>")
def delete_fault(sandbox_id: str, fault_id: str) -> tuple[str, int]:
    platform().faults.delete(sandbox_id, fault_id)
    return "", 204


# -- snapshots ------------------------------------------------------------------------------------


@sandbox_bp.get("/snapshots")
def list_snapshots(sandbox_id: str) -> Response:
    items = platform().snapshots.list(sandbox_id)
    return listing(items, len(items))


@sandbox_bp.post("/snapshots")
def save_snapshot(sandbox_id: str) -> tuple[Response, int]:
    body = json_body()
    return jsonify(platform().snapshots.save(sandbox_id, body.get("name"))), 201


@sandbox_bp.post("/snapshots/<name>/restore")
def restore_snapshot(sandbox_id: str, name: str) -> Response:
    return jsonify(platform().snapshots.restore(sandbox_id, name))


@sandbox_bp.delete("/snapshots/<name>")
def delete_snapshot(sandbox_id: str, name: str) -> tuple[str, int]:
    platform().snapshots.delete(sandbox_id, name)
    return "", 204


# -- outbox and emails ----------------------------------------------------------------------------


@sandbox_bp.get("/outbox")
def list_outbox(sandbox_id: str) -> Response:
    limit, offset = page_args()
    items, total = platform().outbox.deliveries(sandbox_id, subject=text_arg("subject"), limit=limit,
                                                offset=offset)
    return listing(items, total)


@sandbox_bp.get("/outbox/<delivery_id>")
def get_delivery(sandbox_id: str, delivery_id: str) -> Response:
    return jsonify(platform().outbox.delivery(sandbox_id, delivery_id))


@sandbox_bp.post("/outbox/<delivery_id>/retry")
def retry_delivery(sandbox_id: str, delivery_id: str) -> tuple[Response, int]:
    plat = platform()
    delivery = plat.outbox.delivery(sandbox_id, delivery_id)
    system = plat.systems.get(delivery["system"])
    handler = system.retry.get(delivery["purpose"]) if system else None
    if handler is None:
        raise NotFound(f"delivery {delivery_id!r} cannot be retried", field="deliveryId")
    status, body = handler(plat, sandbox_id, delivery)
    return jsonify(body), status


@sandbox_bp.get("/emails")
def list_emails(sandbox_id: str) -> Response:
    limit, offset = page_args()
    plat = platform()
    items, total = plat.outbox.emails(sandbox_id, plat.clock.now(sandbox_id), subject_ref=text_arg("candidate"),
                                      limit=limit, offset=offset)
    return listing(items, total)


@sandbox_bp.post("/emails/<email_id>/resend")
def resend_email(sandbox_id: str, email_id: str) -> Response:
    plat = platform()
    return jsonify(plat.outbox.resend(sandbox_id, email_id, plat.clock.now(sandbox_id)))
