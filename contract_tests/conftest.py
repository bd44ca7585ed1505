"""Where the contract tests run: in-process (default), against a running server (``--base-url``),
against a ``trainsim serve`` started here (``--spawn-server``), or against the real services
(``--target real``, credentials from environment variables).

The tests only speak HTTP (requests, zeep) to the system APIs and the control plane; they never
import the simulator. Tests that need the control plane are marked ``control_plane``, tests that change
data on the remote side ``mutating``; both are skipped against the real services.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

from simulators.pytest_plugin import ControlClient, Sandbox, TrainsimServer

REAL_ENV = {
    "bluedrop": ["BLUEDROP_BASE_URL", "BLUEDROP_API_KEY", "BLUEDROP_API_SECRET", "BLUEDROP_NETWORK_KEY"],
    "trainingportal": ["TRAININGPORTAL_BASE_URL", "TRAININGPORTAL_USERNAME", "TRAININGPORTAL_PASSWORD",
                       "TRAININGPORTAL_COURSE_ID"],
    "learning_assistant": ["LEARNING_ASSISTANT_BASE_URL", "LEARNING_ASSISTANT_USERNAME",
                           "LEARNING_ASSISTANT_PASSWORD"],
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract")
    group.addoption("--base-url", default=None, help="run against a trainsim server already running there")
    group.addoption("--spawn-server", action="store_true",
                    help="start `trainsim serve` (2 workers, a fresh SQLite file) and run against it")
    group.addoption("--target", choices=["sim", "real"], default="sim",
                    help="'real' runs the read-only tests against the real services (credentials from env)")


def _system_of(item: pytest.Item) -> str | None:
    parts = Path(str(item.fspath)).parts
    for name in REAL_ENV:
        if name in parts:
            return name
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--target") != "real":
        return
    for item in items:
        if item.get_closest_marker("control_plane") or item.get_closest_marker("mutating"):
            item.add_marker(pytest.mark.skip(reason="changes real data or needs the simulator's control plane"))
            continue
        system = _system_of(item)
        missing = [v for v in REAL_ENV.get(system or "", []) if not os.environ.get(v)]
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"--target real: no credentials for {system} "
                                                    f"(set {', '.join(missing)})"))


def _absent_line(config: pytest.Config) -> str | None:
    if config.getoption("--target") != "real":
        return None
    absent = [s for s, names in REAL_ENV.items() if not all(os.environ.get(n) for n in names)]
    if not absent:
        return None
    names = ", ".join(n for s in absent for n in REAL_ENV[s])
    return f"--target real: skipped {', '.join(absent)}: no credentials in the environment (set {names})"


def pytest_report_header(config: pytest.Config) -> str | None:
    return _absent_line(config)


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:  # noqa: ANN001
    line = _absent_line(config)
    if line:
        terminalreporter.write_line(line, yellow=True)


def _spawn(tmp: str) -> tuple[subprocess.Popen, str]:
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TRAINSIM_LOG_LEVEL": "warning"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators.cli", "serve", "--port", str(port), "--db", os.path.join(tmp, "state.db"),
         "--workers", "2", "--threads", "8"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "server.log"), "w"), env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/_sim/health", timeout=1).status_code == 200:
                return proc, url
        except requests.RequestException:
            time.sleep(0.05)
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("trainsim serve did not become healthy: " + open(os.path.join(tmp, "server.log")).read())


@pytest.fixture(scope="session")
def sim(request: pytest.FixtureRequest) -> TrainsimServer:
    """The simulator under test (not used with --target real)."""
    config = request.config
    if config.getoption("--target") == "real":
        pytest.skip("needs the simulator")
    url = config.getoption("--base-url")
    token = os.environ.get("SIM_ADMIN_TOKEN")
    if url:
        return TrainsimServer(url, ControlClient(url, token))
    if config.getoption("--spawn-server"):
        tmp = tempfile.mkdtemp(prefix="trainsim-contract-")
        proc, url = _spawn(tmp)

        def stop() -> None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()

        request.addfinalizer(stop)
        return TrainsimServer(url, ControlClient(url, token))
    return request.getfixturevalue("trainsim_server")


def _real_sandbox() -> dict:
    env = os.environ.get
    return {
        "id": "real", "baseUrls": {
            "bluedrop": env("BLUEDROP_BASE_URL", ""), "trainingportal": env("TRAININGPORTAL_BASE_URL", ""),
            "learningAssistant": env("LEARNING_ASSISTANT_BASE_URL", "")},
        "credentials": {
            "bluedrop": {"networks": [{
                "networkKey": env("BLUEDROP_NETWORK_KEY", ""), "apiKey": env("BLUEDROP_API_KEY", ""),
                "apiSecret": env("BLUEDROP_API_SECRET", ""),
                "authorization": f"bln type=api,version=1,entity=network,key={env('BLUEDROP_API_KEY', '')},"
                                 f"secret={env('BLUEDROP_API_SECRET', '')}"}]},
            "trainingportal": {"providers": [{
                "username": env("TRAININGPORTAL_USERNAME", ""), "password": env("TRAININGPORTAL_PASSWORD", ""),
                "courses": [{"externalId": env("TRAININGPORTAL_COURSE_ID", "")}]}]},
            "learningAssistant": {"username": env("LEARNING_ASSISTANT_USERNAME", ""),
                                  "password": env("LEARNING_ASSISTANT_PASSWORD", "")}},
    }


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Sandbox | dict:
    """A fresh sandbox with the demo fixtures (against the real services: the configured account)."""
    if request.config.getoption("--target") == "real":
        return _real_sandbox()
    server: TrainsimServer = request.getfixturevalue("sim")
    sb = server.create_sandbox(fixtures="demo")
    request.addfinalizer(sb.delete)
    return sb


@pytest.fixture
def empty_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """A fresh sandbox with accounts and reference data only (simulator only)."""
    server: TrainsimServer = request.getfixturevalue("sim")
    sb = server.create_sandbox(fixtures="empty")
    request.addfinalizer(sb.delete)
    return sb
