"""The benchmark harness itself works: load generators, result parsing, memory sampling, scale progress.

Not a performance check: nothing here asserts a speed (that is ``make bench``'s job).
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sqlite3

import pytest

from benchmarks import loadgen, servers
from benchmarks.run import TARGETS, _verdict
from simulators.app import create_app
from simulators.server import InProcessServer


@pytest.fixture
def suite():
    server = InProcessServer(create_app({"DATABASE": ":memory:"})).start()
    yield server
    server.stop()


@pytest.fixture
def insert_app(tmp_path, monkeypatch):
    monkeypatch.setenv("BASELINE_DB", str(tmp_path / "baseline.db"))
    import benchmarks.baselines.sqlite_insert as mod

    mod = importlib.reload(mod)
    server = InProcessServer(mod.app).start()
    yield server, tmp_path / "baseline.db"
    server.stop()


def _post_plan(url: str, seconds: float = 1) -> dict:
    return {"url": url, "connections": 4, "threads": 2, "seconds": seconds,
            "requests": [{"method": "POST", "path": "/items", "headers": {"Content-Type": "application/json"},
                          "body": json.dumps({"name": "item-{uid}", "n": "{n}"}), "expect": [201]}]}


def test_python_generator_counts_requests_and_parses_results(suite):
    res = loadgen.run_python({"url": suite.url, "connections": 4, "seconds": 1,
                              "requests": [{"method": "GET", "path": "/_sim/health", "expect": [200]}]})
    assert res["generator"] == "python"
    assert res["requests"] > 0 and res["errors"] == 0
    assert 0 < res["p50_ms"] <= res["p99_ms"]
    assert 0.9 <= res["seconds"] < 5


def test_python_generator_counts_unexpected_status_as_errors(suite):
    res = loadgen.run_python({"url": suite.url, "connections": 2, "seconds": 1,
                              "requests": [{"method": "GET", "path": "/_sim/health", "expect": [201]}]})
    assert res["requests"] > 0
    assert res["bad_status"] == res["requests"] == res["errors"]


def test_python_generator_makes_every_uid_unique(insert_app):
    server, db = insert_app
    res = loadgen.run_python(_post_plan(server.url))
    assert res["errors"] == 0 and res["requests"] > 0
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM items")]
    assert len(names) == res["requests"] == len(set(names))


def test_runs_with_their_own_nonce_never_repeat_a_uid(insert_app):
    """Rounds of one workload load the same server: a second round must not reuse the first's ids."""
    server, db = insert_app
    first = loadgen.run(_post_plan(server.url), "python")
    second = loadgen.run(_post_plan(server.url), "python")
    assert first["errors"] == second["errors"] == 0
    with sqlite3.connect(db) as conn:
        count, distinct = conn.execute("SELECT count(*), count(DISTINCT name) FROM items").fetchone()
    assert count == distinct == first["requests"] + second["requests"]


@pytest.mark.skipif(not loadgen.have_wrk(), reason="wrk is not installed")
def test_wrk_script_runs_and_its_result_is_parsed(insert_app):
    server, db = insert_app
    res = loadgen.run_wrk(_post_plan(server.url))
    assert res["generator"] == "wrk"
    assert res["requests"] > 0 and res["bad_status"] == 0
    with sqlite3.connect(db) as conn:
        count, distinct = conn.execute("SELECT count(*), count(DISTINCT name) FROM items").fetchone()
    # wrk counts only completed requests; ones in flight at the deadline may still have been stored
    assert count == distinct >= res["requests"]


def test_only_loopback_is_ever_loaded():
    with pytest.raises(ValueError, match="127.0.0.1"):
        loadgen.run_python({"url": "http://example.com", "seconds": 1, "requests": []})


def test_lua_strings_survive_brackets_and_quotes():
    body = 'a]]b]=]c "q" \\n'
    script = loadgen._lua_script({"requests": [{"method": "POST", "path": "/x", "body": body,
                                                "headers": {"X-A": "[v]"}, "expect": [200, 201]}]})
    assert "[==[a]]b]=]c" in script and "[ [[X-A]] ] = [[[v]]]" in script
    assert "[200] = true, [201] = true" in script


def test_percentile_and_fill():
    assert loadgen.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert loadgen.percentile([float(i) for i in range(1, 101)], 99) == 99.0
    assert loadgen.percentile([], 99) == 0.0
    assert loadgen._fill("id-{uid}/{n}", 3, 7, 32) == "id-3x7/228"
    assert loadgen._fill("{uida}", 3, 17, 32, "r12-") == "rbc-dxbh"


def test_tree_rss_counts_this_process():
    assert servers.tree_rss_mb(os.getpid()) > 10


def test_verdict_names_the_missed_target():
    base = {"hello": {"rps": 6000.0}, "insert": {"rps": 2000.0}}
    assert TARGETS["read"][0] == "hello"
    ok = {"kind": "read", "rps": 4000.0, "p99_ms": 20.0, "errors": 0}
    assert _verdict("x", ok, base) == "meets"
    slow = {"kind": "write", "rps": 500.0, "p99_ms": 90.0, "errors": 2}
    assert _verdict("Bluedrop learning-record POST", slow, base) == \
        "misses: req/s 0.33× of 1500, p99 1.50× of 60 ms, errors"


def test_scale_progress_bar_reaches_done():
    from simulators.scale import Progress

    out = io.StringIO()
    with Progress(10, out) as bar:
        bar.step("one", 4)
        bar.advance_step(2, 4)
        bar.finish_step()
        bar.step("two", 6)
        bar.finish_step()
    lines = out.getvalue().splitlines()
    assert "20.0%" in lines[0] and "one" in lines[0]
    assert lines[-1].startswith("[" + "#" * 30 + "] 100.0%  done")


def test_profile_reports_cpu_and_statements_per_call(capsys):
    """``python -m benchmarks.profile``: each workload's own requests straight into the WSGI app."""
    from benchmarks import profile

    profile.run(["getBookingInformation"], calls=20, profile=True, top=5, repeat=2)
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("Trainingportal getBookingInformation:"))
    assert "µs CPU/call" in line and "4.0 SQL statements/call" in line and "0 unexpected statuses" in line
    assert "function calls" in out  # the cProfile table


def test_ab_variant_words_split_into_options_and_environment():
    from benchmarks.ab import parse_variant

    assert parse_variant("") == ([], {})
    assert parse_variant("--threads 1 PYTHONPATH=/tmp/before XJ=") == (["--threads", "1"],
                                                                       {"PYTHONPATH": "/tmp/before", "XJ": ""})
    assert parse_variant("--access-log=/tmp/a.log '--workers' 3") == (["--access-log=/tmp/a.log", "--workers", "3"], {})


def test_tree_cpu_grows_with_work_done():
    before = servers.tree_cpu_s(os.getpid())
    sum(i * i for i in range(2_000_000))
    assert servers.tree_cpu_s(os.getpid()) > before


def test_ab_loads_each_variant_and_reports_cpu_per_request(capsys):
    """``python -m benchmarks.ab``: a real ``trainsim serve`` per variant, rounds taking turns."""
    from benchmarks import ab

    ab.main(["clock", "", "--threads 2", "--rounds", "1", "--seconds", "1", "--connections", "4",
             "--generator", "python"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("platform GET ") and "1 rounds of 1 s, 4 connections, python" in out[0]
    assert [ln.strip() for ln in out if ln.startswith("  ") and not ln.startswith("    ")] == ["(defaults)", "--threads 2"]
    cpu = [float(ln.split("median")[1].replace(",", "")) for ln in out if "CPU µs/req" in ln]
    assert len(cpu) == 2 and all(c > 0 for c in cpu)
    assert [ln.strip().endswith("errors 0") for ln in out if "p99" in ln] == [True, True]


def test_ab_names_the_workloads_when_none_matches(capsys):
    from benchmarks import ab

    with pytest.raises(SystemExit) as exc:
        ab.main(["no-such-workload", ""])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "no workload's name contains 'no-such-workload'" in err and "getBookingInformation" in err
