"""Control-plane rules (control-plane.md "Clock", "Journal and verification", "Faults") that no other
contract test pinned down (found by removing each rule from the platform in turn; see MUTATIONS.md).
The simulated API used is Bluedrop's Learning Record API (an empty body answers 400, journaled)."""

from __future__ import annotations

from datetime import datetime

import pytest
import requests

pytestmark = pytest.mark.control_plane
LR = "/learning-records"


class World:
    def __init__(self, sim, sandbox) -> None:
        self.control = f"{sim.url}/_sim/sandboxes/{sandbox['id']}"
        self.api = sandbox["baseUrls"]["bluedrop"].rstrip("/")
        self.network = sandbox["credentials"]["bluedrop"]["networks"][0]

    def record(self, path: str = LR) -> int:
        return requests.post(self.api + path, json={}, headers={"Authorization": self.network["authorization"]},
                             timeout=30).status_code

    def sim(self, method: str, path: str, body=None) -> requests.Response:
        return requests.request(method, self.control + path, json=body, timeout=30)


@pytest.fixture
def world(sim, empty_sandbox) -> World:
    return World(sim, empty_sandbox)


def test_fault_times_limits_the_matching_calls(world):
    """control-plane.md "Faults": `times` = the next N matching calls, then the API answers normally."""
    r = world.sim("POST", "/faults", {"system": "bluedrop", "operation": "createLearningRecord",
                                      "status": 503, "body": {"code": "down"}, "times": 2})
    assert r.status_code == 201, r.text
    assert [world.record() for _ in range(3)] == [503, 503, 400]


def test_fault_matches_only_its_operation(world):
    """control-plane.md "Faults": the matcher names an operation; other operations are not affected."""
    r = world.sim("POST", "/faults", {"system": "bluedrop", "operation": "createOnlineOffering", "status": 503})
    assert r.status_code == 201, r.text
    assert world.record() == 400
    assert world.record("/online-offerings") == 503


def test_fault_probability_is_reproducible_with_a_seed(world):
    """control-plane.md "Faults": `probability` with a `seed` (reproducible): some calls, not all, the same
    ones for the same seed."""
    def run() -> list[int]:
        r = world.sim("POST", "/faults", {"system": "bluedrop", "status": 503, "probability": 0.5, "seed": 7})
        assert r.status_code == 201, r.text
        out = [world.record() for _ in range(20)]
        assert world.sim("DELETE", f"/faults/{r.json()['id']}").status_code == 204
        return out

    first = run()
    assert 503 in first and 400 in first
    assert run() == first


def test_journal_masks_the_api_secret(world):
    """control-plane.md "Journal": secrets (API secrets) are masked in the journal."""
    assert world.record() == 400
    entries = world.sim("GET", "/journal?system=bluedrop").json()["items"]
    assert entries and world.network["apiSecret"] not in str(entries)


def test_verify_count_is_exact_and_at_most_is_an_upper_bound(world):
    """control-plane.md "Journal and verification": `count` exact, `atMost` upper bound, `atLeast` lower
    bound: 200 when it holds, 409 when not."""
    assert [world.record() for _ in range(2)] == [400, 400]
    matcher = {"system": "bluedrop", "operation": "createLearningRecord"}

    def verify(expect: dict) -> int:
        return world.sim("POST", "/journal/verify", {"matcher": matcher, "expect": expect}).status_code

    assert verify({"count": 2}) == 200
    assert verify({"count": 1}) == 409
    assert verify({"atMost": 1}) == 409
    assert verify({"atMost": 2}) == 200
    assert verify({"atLeast": 3}) == 409
    assert verify({"atLeast": 2}) == 200


def test_clock_reset_returns_to_real_time(world):
    """control-plane.md "Clock": `{"reset": true}` → no offset, not frozen."""
    world.sim("POST", "/clock", {"advance": "P10D"})
    world.sim("POST", "/clock", {"freeze": True})
    body = world.sim("POST", "/clock", {"reset": True}).json()
    assert body["frozen"] is False and abs(body["offsetSeconds"]) < 1
    now = datetime.fromisoformat(body["now"].replace("Z", "+00:00"))
    assert abs((now - datetime.now(now.tzinfo)).total_seconds()) < 30


def test_snapshot_restore_takes_the_clock_back(world):
    """control-plane.md "Snapshots": "A snapshot holds the whole sandbox state and clock"."""
    world.sim("POST", "/clock", {"freeze": True})
    world.sim("POST", "/clock", {"set": "2027-01-01T09:00:00Z"})
    assert world.sim("POST", "/snapshots", {"name": "new-year"}).status_code == 201
    world.sim("POST", "/clock", {"advance": "P30D"})
    assert world.sim("POST", "/snapshots/new-year/restore").status_code == 200
    clock = world.sim("GET", "/clock").json()
    assert clock["now"].startswith("2027-01-01T09:00:00") and clock["frozen"] is True
