"""Learning Assistant's control routes: candidates with enrolment history and progress, marking outcomes
met, auto-progress. Under ``/_sim/sandboxes/<sandbox_id>/learning-assistant``; the rules are the model's."""

from __future__ import annotations

from flask import Response, jsonify

from ..control import control_blueprint, json_body, listing, page_args, text_arg
from ..platform.errors import Invalid
from ..platform.http import platform
from .models import LearningAssistant

PREFIX = "learning-assistant"
control = control_blueprint("learning_assistant_control", f"/_sim/sandboxes/<sandbox_id>/{PREFIX}")


def _model() -> LearningAssistant:
    return LearningAssistant(platform())


@control.get("/candidates")
def list_candidates(sandbox_id: str) -> Response:
    limit, offset = page_args()
    items, total = _model().list_candidates(sandbox_id, limit=limit, offset=offset, course=text_arg("course"),
                                            search=text_arg("q"))
    return listing(items, total)


@control.get("/candidates/<candidate_uuid>")
def get_candidate(sandbox_id: str, candidate_uuid: str) -> Response:
    return jsonify(_model().candidate(sandbox_id, candidate_uuid))


@control.post("/candidates/<candidate_uuid>/outcomes/<outcome_uuid>/met")
def mark_met(sandbox_id: str, candidate_uuid: str, outcome_uuid: str) -> Response:
    body = json_body(required=False)
    unknown = set(body) - {"dateMet"}
    if unknown:
        raise Invalid(f"unknown field(s): {', '.join(sorted(unknown))}; only dateMet (yyyy-mm-dd) is accepted",
                      field=sorted(unknown)[0])
    return jsonify(_model().mark_outcome_met(sandbox_id, candidate_uuid, outcome_uuid, body.get("dateMet")))


@control.get("/auto-progress")
def get_auto_progress(sandbox_id: str) -> Response:
    return jsonify(_model().auto_progress_state(sandbox_id))


@control.post("/auto-progress")
def set_auto_progress(sandbox_id: str) -> Response:
    body = json_body()
    unknown = set(body) - {"enabled"}
    if unknown:
        raise Invalid(f"unknown field(s): {', '.join(sorted(unknown))}; give {{\"enabled\": true|false}}",
                      field=sorted(unknown)[0])
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise Invalid(f"enabled must be true or false, got {enabled!r}", field="enabled")
    return jsonify(_model().set_auto_progress(sandbox_id, enabled))


@control.get("/reference")
def reference(sandbox_id: str) -> Response:
    """Frameworks, trainers and companies of the sandbox (what GetFrameworks/GetTrainers/GetCompanies answer)."""
    return jsonify(_model().reference(sandbox_id))

