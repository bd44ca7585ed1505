"""Bluedrop's control plane and fixtures (control-plane.md route table and "The answer to POST /_sim/sandboxes";
spec bluedrop.md "What the CMS does with a record")."""

from __future__ import annotations

import pytest
import requests

from .conftest import Bluedrop

pytestmark = pytest.mark.control_plane


def test_credentials_shape_and_authorization_header(sandbox, empty_sandbox):
    """control-plane.md: credentials.bluedrop.networks[] with networkKey, apiKey, apiSecret, authorization."""
    networks = sandbox["credentials"]["bluedrop"]["networks"]
    assert len(networks) == 2 and len(empty_sandbox["credentials"]["bluedrop"]["networks"]) == 1
    for n in networks:
        assert set(n) == {"networkKey", "apiKey", "apiSecret", "authorization"}
        assert n["networkKey"].startswith("pro-")
        assert n["authorization"] == (f"bln type=api,version=1,entity=network,key={n['apiKey']},"
                                      f"secret={n['apiSecret']}")
    assert networks[0]["networkKey"] != networks[1]["networkKey"]


def test_demo_sandbox_has_stable_documented_networks(sim):
    """control-plane.md: the demo sandbox's credentials are stable (fixtures/accounts.json)."""
    demo = requests.get(f"{sim.url}/_sim/sandboxes/demo", timeout=10).json()
    keys = [(n["networkKey"], n["apiKey"]) for n in demo["credentials"]["bluedrop"]["networks"]]
    assert keys == [("pro-10001", "demo-bd-apikey-northern"), ("pro-20002", "demo-bd-apikey-lakeshore")]


def test_demo_fixtures_show_matching_queue_flags_and_offerings(demo):
    """bluedrop.md: learners on file with training, a queued record, flags, offerings with future sessions."""
    north, _ = demo
    records = north.inspect("/learning-records")
    states = sorted({r["matchState"] for r in records["items"]})
    assert states == ["matched", "newLearner", "queued"]
    flags = sorted(f for r in records["items"] for f in r["flags"])
    assert flags == ["jhscPart2WithoutTimelyPart1", "refresherWithoutFullCourse"]
    queue = north.inspect("/match-queue")
    assert queue["total"] == 1 and len(queue["items"][0]["candidates"]) == 1
    # cross-provider: one learner has training from both networks
    learners = north.inspect("/learners")["items"]
    assert any(len({t["networkKey"] for t in learner["training"]}) == 2 for learner in learners)
    assert any(t["status"] == "expired" for learner in learners for t in learner["training"])
    market = north.inspect("/marketplace")["items"]
    assert {m["type"] for m in market} == {"class", "online"}
    assert "Full" in [m["availability"] for m in market]
    assert north.inspect("/class-offerings")["total"] > len([m for m in market if m["type"] == "class"])


def test_empty_fixtures_hold_no_records(empty_sandbox, sim):
    """control-plane.md: "empty" keeps the network only."""
    bd = Bluedrop(sim, empty_sandbox)
    for path in ("/learning-records", "/learners", "/match-queue", "/class-offerings", "/online-offerings",
                 "/marketplace"):
        assert bd.inspect(path) == {"items": [], "total": 0}


def test_lists_page_and_filter(demo):
    """control-plane.md: lists answer {items, total} with limit and offset."""
    north, _ = demo
    everything = north.inspect("/learning-records")
    page = north.inspect("/learning-records", limit=2, offset=1)
    assert page["total"] == everything["total"] and page["items"] == everything["items"][1:3]
    queued = north.inspect("/learning-records", matchState="queued")
    assert queued["total"] == 1
    mine = north.inspect("/learning-records", networkKey=north.network_key)
    assert {r["networkKey"] for r in mine["items"]} == {north.network_key}
    r = requests.get(north.control + "/bluedrop/learning-records", params={"matchState": "lost"}, timeout=10)
    assert (r.status_code, r.json()["field"]) == (400, "matchState")
    r = requests.get(north.control + "/bluedrop/learners", params={"limit": 0}, timeout=10)
    assert (r.status_code, r.json()["field"]) == (400, "limit")


def test_control_errors_name_the_field(demo):
    """control-plane.md: control errors {code, message, field}."""
    north, _ = demo
    r = requests.get(north.control + "/bluedrop/learners/LRN-9999999", timeout=10)
    assert r.status_code == 404 and r.json() == {"code": "notFound", "message": "no learner 'LRN-9999999'",
                                                 "field": "learnerId"}
    r = requests.get(north.control + "/bluedrop/learning-records/nope", timeout=10)
    assert (r.status_code, r.json()["field"]) == (404, "learningRecordId")
    queued = north.inspect("/match-queue")["items"][0]["learningRecordId"]
    r = requests.post(north.control + f"/bluedrop/learning-records/{queued}/match", json={"learnerId": 5},
                      timeout=10)
    assert (r.status_code, r.json()["field"]) == (400, "learnerId")
    r = requests.post(north.control + f"/bluedrop/learning-records/{queued}/match", json={"learnerId": "LRN-404"},
                      timeout=10)
    assert (r.status_code, r.json()["field"]) == (404, "learnerId")
    r = requests.get(f"{north.sim.url}/_sim/sandboxes/sbx-none/bluedrop/learners", timeout=10)
    assert r.status_code == 404


def test_reset_restores_the_seeded_state(demo):
    """control-plane.md: POST /_sim/sandboxes/{id}/reset goes back to the seeded state, credentials kept."""
    north, _ = demo
    before = north.inspect("/learning-records")
    assert north.post("/api-v2/learning-records", north.record("extra")).status_code == 204
    r = requests.post(north.control + "/reset", timeout=30)
    assert r.status_code == 200
    assert r.json()["credentials"]["bluedrop"]["networks"][0]["networkKey"] == north.network_key
    after = north.inspect("/learning-records")
    assert after["total"] == before["total"]
    assert [x["learningRecordId"] for x in after["items"]] == [x["learningRecordId"] for x in before["items"]]


def test_api_document_is_served(sim):
    """control-plane.md / CONTRIBUTING: the API's own OpenAPI document at /_sim/openapi/bluedrop.json."""
    doc = requests.get(f"{sim.url}/_sim/openapi/bluedrop.json", timeout=10).json()
    assert doc["openapi"].startswith("3.0")
    assert set(doc["paths"]) == {"/api-v2/learning-records", "/api-v2/class-offerings",
                                 "/api-v2/class-offerings/{offeringId}", "/api-v2/online-offerings",
                                 "/api-v2/online-offerings/{offeringId}"}
    assert set(doc["paths"]["/api-v2/learning-records"]["post"]["responses"]) == {
        "204", "400", "401", "403", "405", "409", "413", "415", "500"}
    control = requests.get(f"{sim.url}/_sim/openapi.json", timeout=10).json()
    assert "/_sim/sandboxes/{id}/bluedrop/match-queue" in control["paths"]


@pytest.mark.mutating
def test_concurrent_records_for_one_person_make_one_learner(sim, empty_sandbox):
    """bluedrop.md matching; architecture: a write lands whole (2 worker processes with --spawn-server)."""
    from concurrent.futures import ThreadPoolExecutor

    bd = Bluedrop(sim, empty_sandbox)
    bodies = [bd.record(f"c-{i}") for i in range(12)] + [bd.record("c-0")]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda b: bd.post("/api-v2/learning-records", b).status_code, bodies))
    assert statuses == [204] * 13
    assert bd.inspect("/learners")["total"] == 1
    states = sorted(r["matchState"] for r in bd.inspect("/learning-records")["items"])
    assert states == ["matched"] * 11 + ["newLearner"]


@pytest.mark.mutating
def test_snapshot_restore_covers_bluedrop_state(sim, empty_sandbox):
    """control-plane.md Snapshots: a snapshot holds the whole sandbox state."""
    bd = Bluedrop(sim, empty_sandbox)
    assert bd.post("/api-v2/class-offerings", bd.class_offering("s")).status_code == 204
    assert requests.post(bd.control + "/snapshots", json={"name": "one"}, timeout=10).status_code == 201
    assert bd.post("/api-v2/learning-records", bd.record("after")).status_code == 204
    assert bd.delete("/api-v2/class-offerings/s").status_code == 204
    assert requests.post(bd.control + "/snapshots/one/restore", timeout=10).status_code == 200
    assert bd.inspect("/learning-records")["total"] == 0 and bd.inspect("/learners")["total"] == 0
    assert bd.inspect("/class-offerings", deleted="false")["total"] == 1
