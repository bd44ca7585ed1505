"""The control plane's own contract (control-plane.md): sandbox answer shape, clock, errors."""

import pytest
import requests

pytestmark = pytest.mark.control_plane


def test_sandbox_answer_shape(sim):
    r = requests.post(f"{sim.url}/_sim/sandboxes", json={"name": "ci-job-17", "seed": 42}, timeout=30)
    assert r.status_code == 201
    body = r.json()
    assert body["name"] == "ci-job-17" and body["seed"] == 42 and body["fixtures"] == "demo"
    assert body["id"].startswith("sbx-")
    assert set(body) >= {"id", "name", "seed", "fixtures", "baseUrls", "credentials"}
    assert requests.get(f"{sim.url}/_sim/sandboxes/{body['id']}", timeout=10).json()["credentials"] == body["credentials"]
    assert requests.delete(f"{sim.url}/_sim/sandboxes/{body['id']}", timeout=10).status_code == 204
    assert requests.get(f"{sim.url}/_sim/sandboxes/{body['id']}", timeout=10).status_code == 404


def test_clock_advance_pt31m(sandbox, sim):
    base = f"{sim.url}/_sim/sandboxes/{sandbox['id']}/clock"
    frozen = requests.post(base, json={"freeze": True}, timeout=10).json()
    moved = requests.post(base, json={"advance": "PT31M"}, timeout=10).json()
    from datetime import datetime

    def t(s):
        return datetime.fromisoformat(s.replace("Z", "+00:00"))

    assert (t(moved["now"]) - t(frozen["now"])).total_seconds() == 31 * 60
    assert moved["frozen"] is True


@pytest.mark.parametrize("body,field", [
    ({"advance": "soon"}, "advance"), ({"advance": -5}, "advance"), ({"set": "yesterday"}, "set"),
    ({"freeze": "yes"}, "freeze"), ({}, "body"), ({"advance": "PT1M", "freeze": True}, "body"),
])
def test_clock_bad_input_names_the_field(sandbox, sim, body, field):
    r = requests.post(f"{sim.url}/_sim/sandboxes/{sandbox['id']}/clock", json=body, timeout=10)
    assert r.status_code == 400
    assert r.json()["code"] == "invalid" and r.json()["field"] == field


def test_unknown_sandbox_and_paths_are_json_404(sim):
    r = requests.get(f"{sim.url}/_sim/sandboxes/sbx-nope/journal", timeout=10)
    assert (r.status_code, r.json()) == (404, {"code": "notFound", "message": "sandbox 'sbx-nope' not found",
                                                "field": "id"})
    r = requests.get(f"{sim.url}/_sim/no-such-thing", timeout=10)
    assert r.status_code == 404 and r.json()["code"] == "notFound"


def test_malformed_json_is_400(sim):
    r = requests.post(f"{sim.url}/_sim/sandboxes", data="{nope", headers={"Content-Type": "application/json"},
                      timeout=10)
    assert (r.status_code, r.json()["field"]) == (400, "body")


def test_fault_without_matcher_is_400(sandbox, sim):
    r = requests.post(f"{sim.url}/_sim/sandboxes/{sandbox['id']}/faults", json={"effect": {"status": 503}},
                      timeout=10)
    assert (r.status_code, r.json()["field"]) == (400, "matcher")


def test_health(sim):
    r = requests.get(f"{sim.url}/_sim/health", timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_wrong_method_is_json_405_with_allow(sim):
    r = requests.put(f"{sim.url}/_sim/sandboxes", json={}, timeout=10)
    assert r.status_code == 405 and r.json()["code"] == "methodNotAllowed"
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_moving_the_clock_runs_due_work_before_it_answers(sandbox, sim):
    """control-plane.md "Clock": moving the clock fires what became due before the call returns.
    A Trainingportal class with bookings is deleted one hour (sandbox clock) after its cancel."""
    tp = sandbox["credentials"]["trainingportal"]["providers"][0]
    auth = {"username": tp["username"], "password": tp["password"]}
    api = sandbox["baseUrls"]["trainingportal"]
    clock = f"{sim.url}/_sim/sandboxes/{sandbox['id']}/clock"
    bookings = requests.get(f"{sim.url}/_sim/sandboxes/{sandbox['id']}/trainingportal/bookings", timeout=10).json()
    booked = next(b for b in bookings["items"] if b.get("enrollmentStatus", b.get("status")) == "NEW")
    classes = requests.get(f"{sim.url}/_sim/sandboxes/{sandbox['id']}/trainingportal/classes", timeout=10).json()
    cls = next(c for c in classes["items"] if c["externalId"] == booked["externalCourseClassId"])
    course = cls["courseExternalId"]
    requests.post(clock, json={"freeze": True}, timeout=10)
    r = requests.post(f"{api}/courses/get/{course}/courseClasses/cancel/{cls['externalId']}", data=auth, timeout=10)
    assert (r.status_code, r.json()) == (200, {"sucessful": True, "errorMessage": ""})
    pending = requests.get(clock, timeout=10).json()["pending"]
    assert [p["kind"] for p in pending] == ["trainingportal.delete-class"]
    assert requests.post(clock, json={"advance": "PT59M"}, timeout=10).json()["pending"] == pending
    assert requests.post(clock, json={"advance": "PT1M"}, timeout=10).json()["pending"] == []
