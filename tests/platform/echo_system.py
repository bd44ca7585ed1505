"""A tiny simulated system used only by the platform's tests: credentials, one table, due work, a preset."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from simulators.platform.http import add_secret, begin, platform
from simulators.platform.registry import System
from simulators.platform.sandboxes import SeedContext
from simulators.platform.store import Table

NOTES = Table(name="echo_notes", columns={"id": str, "text": str, "created_at": str}, pk=("id",))

api = Blueprint("echo_api", __name__, url_prefix="/echo")


def _auth() -> tuple[str, Response | None]:
    cred = platform().sandboxes.lookup("echo", request.headers.get("X-Echo-Key", ""))
    if cred is None or cred.secret != request.headers.get("X-Echo-Secret"):
        return "", (jsonify({"error": "unauthorized"}), 401)  # type: ignore[return-value]
    add_secret(cred.secret)
    return cred.sandbox, None


@api.route("/notes", methods=["POST"])
def add_note() -> Response:
    sandbox, denied = _auth()
    if denied:
        return denied
    fault = begin("echo", sandbox, "addNote", secrets=[request.headers.get("X-Session-Token", "")])
    if fault is not None:
        return fault
    body = request.get_json(force=True)
    plat = platform()
    with plat.store.write() as db:
        now = plat.clock.now(sandbox, db)
        db["echo_notes"].insert({"sandbox": sandbox, "id": body["id"], "text": body["text"],
                                 "created_at": now.isoformat()})
        if body.get("expireIn"):
            from datetime import timedelta

            plat.clock.schedule(db, sandbox, now + timedelta(seconds=body["expireIn"]), "echo.expire",
                                ref=body["id"], payload={"id": body["id"]})
    return jsonify({"ok": True, "password": body.get("password", "")}), 201


@api.route("/notes", methods=["GET"])
def list_notes() -> Response:
    sandbox, denied = _auth()
    if denied:
        return denied
    fault = begin("echo", sandbox, "listNotes")
    if fault is not None:
        return fault
    with platform().store.read() as db:
        rows = list(db.query("SELECT id, text FROM echo_notes WHERE sandbox = ? ORDER BY id", [sandbox]))
    return jsonify(rows)


def _expire(db, sandbox, payload, due_at) -> None:
    db.execute("DELETE FROM echo_notes WHERE sandbox = ? AND id = ?", [sandbox, payload["id"]])


def _seed(ctx: SeedContext) -> None:
    ctx.credential("echo", "main", key_prefix="echo-")
    if ctx.fixtures == "demo":
        fake = ctx.faker("echo.notes")
        for i in range(3):
            ctx.db["echo_notes"].insert({"sandbox": ctx.sandbox, "id": f"seed-{i}", "text": fake.name(),
                                         "created_at": ctx.now.isoformat()})


def _credentials(plat, db, sandbox) -> dict:
    creds = plat.sandboxes.credentials_of(db, sandbox, "echo")
    return {"key": creds[0].key, "secret": creds[0].secret}


SYSTEM = System(
    name="echo", key="echo", base_path="/echo", api=api, tables=[NOTES], seed=_seed, credentials=_credentials,
    due={"echo.expire": _expire},
    presets={"echo.teapot": lambda: Response("I am a teapot", status=418)},
)
