"""Journal, faults, clock due work and snapshots over real HTTP, through a tiny test system."""

import requests


def test_journal_masks_secrets_and_names_operation(echo):
    echo.add(id="n1", text="hello", password="hunter22")
    entries = echo.sim("GET", "/journal").json()["items"]
    assert entries[0]["operation"] == "echo.addNote"
    assert entries[0]["status"] == 201
    dumped = str(entries)
    assert "hunter22" not in dumped
    assert echo.headers["X-Echo-Secret"] not in dumped


def test_fault_times_two_hits_exactly_two_calls(echo):
    r = echo.sim("POST", "/faults", json={"matcher": {"system": "echo", "operation": "listNotes"},
                                         "effect": {"status": 503, "body": {"error": "busy"}}, "times": 2})
    assert r.status_code == 201
    statuses = [echo.notes().status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    ok = echo.sim("POST", "/journal/verify", json={"matcher": {"operation": "listNotes", "status": 503},
                                                  "expect": {"count": 2}})
    assert ok.status_code == 200, ok.text
    miss = echo.sim("POST", "/journal/verify", json={"matcher": {"operation": "listNotes", "status": 503},
                                                    "expect": {"count": 3}})
    assert miss.status_code == 409
    assert miss.json()["matched"] == 2 and miss.json()["nearestMisses"]


def test_drop_closes_connection_without_answer(echo):
    echo.sim("POST", "/faults", json={"matcher": {"system": "echo"}, "effect": {"drop": True}, "times": 1})
    try:
        echo.notes()
        raise AssertionError("expected the connection to be dropped")
    except requests.ConnectionError:
        pass
    assert echo.notes().status_code == 200


def test_preset_fault(echo):
    echo.sim("POST", "/faults", json={"matcher": {"operation": "listNotes"}, "effect": {"preset": "echo.teapot"}})
    r = echo.notes()
    assert (r.status_code, r.text) == (418, "I am a teapot")


def test_due_work_runs_when_clock_passes(echo):
    echo.add(id="short", text="x", expireIn=600)
    assert "short" in [n["id"] for n in echo.notes().json()]
    echo.sim("POST", "/clock", json={"advance": "PT9M"})
    assert "short" in [n["id"] for n in echo.notes().json()]
    echo.sim("POST", "/clock", json={"advance": "PT1M"})
    assert "short" not in [n["id"] for n in echo.notes().json()]


def test_snapshot_restore_brings_back_exact_state(echo):
    echo.add(id="a", text="one")
    before = echo.notes().json()
    clock_before = echo.sim("POST", "/clock", json={"freeze": True}).json()["now"]
    assert echo.sim("POST", "/snapshots", json={"name": "s1"}).status_code == 201
    echo.add(id="b", text="two")
    echo.sim("POST", "/clock", json={"advance": "P1D"})
    assert echo.sim("POST", "/snapshots/s1/restore").status_code == 200
    assert echo.notes().json() == before
    assert echo.sim("GET", "/clock").json()["now"] == clock_before
    assert echo.sim("POST", "/snapshots/nope/restore").status_code == 404


def test_sandboxes_isolated(live, echo):
    other = requests.post(f"{live.url}/_sim/sandboxes", json={"seed": 7}, timeout=10).json()
    assert other["credentials"] != echo.sandbox["credentials"]
    echo.add(id="mine", text="secret stuff")
    from .conftest import Echo

    theirs = Echo(live.url, other).notes().json()
    assert "mine" not in [n["id"] for n in theirs]
    # the same seed gives the same generated data
    assert [n["text"] for n in theirs] == [n["text"] for n in echo.notes().json() if n["id"].startswith("seed")]
