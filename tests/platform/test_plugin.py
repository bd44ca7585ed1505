"""The pytest plugin as a user meets it: a test file outside this repo that only uses its fixtures."""

import subprocess
import sys
import textwrap

from simulators.server import free_port

from .test_serve import start, stop

USER_TEST = textwrap.dedent('''
    import requests

    def test_course_sync_survives_an_outage(trainsim_sandbox):
        sb = trainsim_sandbox
        tp = sb["credentials"]["trainingportal"]["providers"][0]
        url = sb["baseUrls"]["trainingportal"] + "/courses"
        auth = {"username": tp["username"], "password": tp["password"]}
        assert requests.post(url, data=auth).status_code == 200
        sb.clock.freeze()
        before = sb.clock.now()
        sb.clock.advance("PT31M")
        assert sb.clock.now() > before
        sb.faults.add(system="trainingportal", operation="getCourses", status=503, times=1)
        assert requests.post(url, data=auth).status_code == 503
        assert requests.post(url, data=auth).status_code == 200
        sb.journal.verify(count=3, system="trainingportal", operation="getCourses")
        sb.snapshot("s1")
        sb.restore("s1")

    def test_each_test_gets_its_own_sandbox(trainsim_sandbox, trainsim_server):
        assert trainsim_sandbox.id != "demo" and trainsim_server.url.startswith("http://")
''')


def run_user_tests(tmp_path, *args):
    (tmp_path / "test_user.py").write_text(USER_TEST)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path), *args],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_plugin_in_process(tmp_path):
    run = run_user_tests(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


def test_plugin_against_a_running_server(tmp_path):
    proc, url = start(str(tmp_path / "state.db"), free_port())
    try:
        run = run_user_tests(tmp_path, "--trainsim-url", url)
        assert run.returncode == 0, run.stdout + run.stderr
        assert requests_get(f"{url}/_sim/sandboxes")["total"] == 1  # the user's sandboxes were deleted
    finally:
        stop(proc)


def requests_get(url):
    import requests

    return requests.get(url, timeout=10).json()
