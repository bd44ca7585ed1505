"""GetProgress, GetProgressFull and simulated progress (spec: learning-assistant.md "GetCandidates, GetProgress,
GetProgressFull"; control-plane.md "Inspection": mark outcome met, auto-progress)."""

from __future__ import annotations

import pytest
import requests
import zeep

from .helpers import enrol, learner, reference

pytestmark = [pytest.mark.control_plane, pytest.mark.mutating]


@pytest.fixture
def enrolled(la, sandbox):
    """A learner on the first framework (9 outcomes in its 3 mandatory units) from 2026-09-01 to 2027-09-01 (365
    days), with the sandbox clock frozen at the start date."""
    sandbox.clock.set("2026-09-01T09:00:00Z")
    sandbox.clock.freeze()
    la.authenticate()
    ref = reference(la)
    result = enrol(la, learner(ref))
    assert result.Success is True
    return ref, result.CandidateUUID


def test_progress_shapes(la, enrolled):
    """Spec: Type_progress {CandidateUUID, CourseUUID, PercentComplete, TargetPercent, Status, Units} and the full
    form with Outcomes {OutcomeUUID, Reference, Title, blnMet, DateMet}."""
    ref, cand = enrolled
    progress = la.call("user", "GetProgress", cand)
    assert (progress.CandidateUUID, progress.CourseUUID, progress.PercentComplete, progress.TargetPercent,
            progress.Status) == (cand, ref["framework"].CourseUUID, 0, 0, "ON_TRACK")
    mandatory = [u for u in ref["framework"].Units if u.blnMandatory]
    assert [(u.UnitUUID, u.UnitReference, u.Title, u.PercentComplete, u.DateCompleted) for u in progress.Units] == [
        (u.UnitUUID, u.UnitReference, u.Title, 0, None) for u in mandatory]
    assert not hasattr(progress.Units[0], "Outcomes")
    full = la.call("user", "GetProgressFull", cand)
    assert [[(o.OutcomeUUID, o.Reference, o.Title, o.blnMet, o.DateMet) for o in u.Outcomes] for u in full.Units] == [
        [(o.OutcomeUUID, o.Reference, o.Title, False, None) for o in u.Outcomes] for u in mandatory]


def test_marking_outcomes_met_moves_unit_and_overall_percent(la, sandbox, enrolled):
    """Spec: a unit's percentage is the share of its outcomes met; Status COMPLETE when all are met."""
    ref, cand = enrolled
    unit = next(u for u in ref["framework"].Units if u.blnMandatory)
    first = unit.Outcomes[0].OutcomeUUID
    detail = sandbox.post(f"/learning-assistant/candidates/{cand}/outcomes/{first}/met")
    assert detail["progress"]["units"][0]["percentComplete"] == 33
    assert detail["progress"]["units"][0]["outcomes"][0] == {
        "outcomeUUID": first, "reference": "1", "title": unit.Outcomes[0].Title, "met": True, "dateMet": "2026-09-01",
        "metBy": "assessor"}
    full = la.call("user", "GetProgressFull", cand)
    assert (full.Units[0].PercentComplete, full.PercentComplete) == (33, 11)
    assert (full.Units[0].Outcomes[0].blnMet, full.Units[0].Outcomes[0].DateMet) == (True, "2026-09-01")
    for u in full.Units:
        for o in u.Outcomes:
            sandbox.post(f"/learning-assistant/candidates/{cand}/outcomes/{o.OutcomeUUID}/met")
    done = la.call("user", "GetProgress", cand)
    assert (done.PercentComplete, done.Status) == (100, "COMPLETE")
    assert all(u.PercentComplete == 100 and u.DateCompleted == "2026-09-01" for u in done.Units)
    statuses = {c.CandidateUUID: c.Status for c in la.call("user", "GetCandidates", "", True, True, True)}
    assert statuses[cand] == "Completed"


def test_behind_when_the_clock_moves_without_progress(la, sandbox, enrolled):
    """Spec: TargetPercent is where the learner should be today on the line start -> planned end."""
    _, cand = enrolled
    sandbox.clock.advance("P73D")  # 73 of 365 days: 20 %
    la.authenticate()
    progress = la.call("user", "GetProgress", cand)
    assert (progress.PercentComplete, progress.TargetPercent, progress.Status) == (0, 20, "BEHIND")


def test_auto_progress_shows_three_months_of_progress(la, sandbox, enrolled):
    """Spec: with auto-progress learners meet outcomes steadily; advancing the clock 3 months shows 3 months."""
    _, cand = enrolled
    assert sandbox.get("/learning-assistant/auto-progress") == {"enabled": False, "frozenAt": None}
    assert sandbox.post("/learning-assistant/auto-progress", {"enabled": True}) == {"enabled": True,
                                                                                   "frozenAt": None}
    before = la.call("user", "GetProgressFull", cand)
    assert (before.PercentComplete, before.TargetPercent, before.Status) == (0, 0, "ON_TRACK")
    sandbox.clock.advance("P3M")  # 90 days
    la.authenticate()
    after = la.call("user", "GetProgressFull", cand)
    # outcome k of 9 falls due on day k*365//9 + 1: days 1, 41, 82 are past
    assert (after.PercentComplete, after.TargetPercent, after.Status) == (33, 24, "ON_TRACK")
    met = [o.DateMet for u in after.Units for o in u.Outcomes if o.blnMet]
    assert met == ["2026-09-02", "2026-10-12", "2026-11-22"]
    sandbox.post("/learning-assistant/auto-progress", {"enabled": False})
    sandbox.clock.advance("P3M")
    la.authenticate()
    frozen = la.call("user", "GetProgress", cand)
    assert (frozen.PercentComplete, frozen.TargetPercent, frozen.Status) == (33, 49, "BEHIND")
    sandbox.clock.advance("P365D")
    la.authenticate()
    sandbox.post("/learning-assistant/auto-progress", {"enabled": True})
    assert la.call("user", "GetProgress", cand).Status == "COMPLETE"


def test_unknown_candidate_progress_is_a_fault(la, enrolled):
    """Decision: GetProgress of a candidate not in this account -> soapenv:Server.userException."""
    with pytest.raises(zeep.exceptions.Fault) as info:
        la.call("user", "GetProgress", "NOT-A-CANDIDATE")
    assert (info.value.code, info.value.message) == (
        "soapenv:Server.userException", "CandidateUUID 'NOT-A-CANDIDATE' is not a candidate of this account")


def test_control_routes_errors(sim, sandbox, enrolled):
    """Control plane: every 4xx names the field, the rule and the value."""
    _, cand = enrolled
    base = f"{sim.url}/_sim/sandboxes/{sandbox.id}/learning-assistant"
    r = requests.post(f"{base}/auto-progress", json={"enabled": "yes"}, timeout=10)
    assert (r.status_code, r.json()) == (400, {"code": "invalid", "message": "enabled must be true or false, got 'yes'",
                                               "field": "enabled"})
    r = requests.post(f"{base}/candidates/NOPE/outcomes/X/met", timeout=10)
    assert (r.status_code, r.json()) == (404, {"code": "notFound", "message": "candidate 'NOPE' not found",
                                               "field": "candidateUUID"})
    r = requests.post(f"{base}/candidates/{cand}/outcomes/NOPE/met", timeout=10)
    assert r.status_code == 404 and r.json()["field"] == "outcomeUUID"
    r = requests.get(f"{base}/candidates?limit=0", timeout=10)
    assert r.status_code == 400 and r.json()["field"] == "limit"
    r = requests.get(f"{sim.url}/_sim/sandboxes/nope/learning-assistant/candidates", timeout=10)
    assert r.status_code == 404


def test_candidates_listing_pages(sandbox, enrolled):
    """Control plane "Route table": lists answer {items, total} with limit and offset."""
    _, cand = enrolled
    page = sandbox.get("/learning-assistant/candidates?limit=2")
    assert page["total"] == 7 and len(page["items"]) == 2
    assert page["items"][0]["candidateUUID"] == cand
    rest = sandbox.get("/learning-assistant/candidates?limit=100&offset=2")
    assert len(rest["items"]) == 5
    found = sandbox.get(f"/learning-assistant/candidates?q={cand}")
    assert [c["candidateUUID"] for c in found["items"]] == [cand]
