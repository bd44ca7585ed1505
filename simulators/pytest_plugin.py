"""pytest fixtures for users' own test suites (registered by entry point when trainsim is installed).

* ``trainsim_server``: the suite on a real threaded server in this process, on a free port, once per
  session (``.url``); with ``--trainsim-url URL`` it is a server already running there instead.
* ``trainsim_sandbox``: a fresh sandbox per test, deleted afterwards. It is the ``POST /_sim/sandboxes``
  answer (``sb["credentials"]``, ``sb["baseUrls"]``) plus helpers for its clock, journal, faults and
  snapshots, all plain HTTP calls to the control plane.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("trainsim")
    group.addoption("--trainsim-url", default=os.environ.get("TRAINSIM_URL"),
                    help="use a running trainsim server instead of starting one in-process")
    group.addoption("--trainsim-admin-token", default=os.environ.get("SIM_ADMIN_TOKEN"),
                    help="bearer token when the server sets SIM_ADMIN_TOKEN")


class SimError(AssertionError):
    """A control-plane call answered an error."""


class ControlClient:
    """Plain HTTP to ``/_sim``; raises SimError on an error answer."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None, expect: tuple[int, ...] = (200, 201, 204)) -> Any:
        resp = self.session.request(method, self.url + path, json=body, timeout=60)
        if resp.status_code not in expect:
            raise SimError(f"{method} {path} answered {resp.status_code}: {resp.text}")
        return resp.json() if resp.content else None


class TrainsimServer:
    def __init__(self, url: str, control: ControlClient, server: Any = None) -> None:
        self.url = url.rstrip("/")
        self.control = control
        self._server = server

    def create_sandbox(self, **options: Any) -> Sandbox:
        return Sandbox(self.control, self.control.call("POST", "/_sim/sandboxes", options))

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()


class _Clock:
    def __init__(self, sb: Sandbox) -> None:
        self._sb = sb

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._sb._call("POST", "/clock", body)

    def now(self) -> str:
        return self._sb._call("GET", "/clock")["now"]

    def state(self) -> dict[str, Any]:
        return self._sb._call("GET", "/clock")

    def advance(self, duration: str | float) -> dict[str, Any]:
        return self._post({"advance": duration})

    def set(self, when: str) -> dict[str, Any]:
        return self._post({"set": when})

    def freeze(self) -> dict[str, Any]:
        return self._post({"freeze": True})

    def unfreeze(self) -> dict[str, Any]:
        return self._post({"freeze": False})

    def reset(self) -> dict[str, Any]:
        return self._post({"reset": True})


class _Journal:
    def __init__(self, sb: Sandbox) -> None:
        self._sb = sb

    def entries(self, **filters: Any) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        return self._sb._call("GET", "/journal" + (f"?{query}" if query else ""))["items"]

    def verify(self, count: int | None = None, *, at_least: int | None = None, at_most: int | None = None,
               **matcher: Any) -> dict[str, Any]:
        """Assert how many calls matched (``system``, ``operation``, ``status``, ``bodyContains``...)."""
        expect = {k: v for k, v in (("count", count), ("atLeast", at_least), ("atMost", at_most)) if v is not None}
        if not expect:
            expect = {"atLeast": 1}
        return self._sb._call("POST", "/journal/verify", {"matcher": matcher, "expect": expect})


class _Faults:
    def __init__(self, sb: Sandbox) -> None:
        self._sb = sb

    def add(self, *, system: str | None = None, operation: str | None = None, times: int | None = None,
            probability: float | None = None, seed: int | None = None, **effect: Any) -> dict[str, Any]:
        """E.g. ``sb.faults.add(system="bluedrop", status=503, times=2)`` or ``preset="bluedrop.internal-error"``."""
        body: dict[str, Any] = {"matcher": {k: v for k, v in (("system", system), ("operation", operation)) if v},
                                "effect": {("latencyMs" if k == "latency_ms" else k): v for k, v in effect.items()}}
        for k, v in (("times", times), ("probability", probability), ("seed", seed)):
            if v is not None:
                body[k] = v
        return self._sb._call("POST", "/faults", body)

    def list(self) -> list[dict[str, Any]]:
        return self._sb._call("GET", "/faults")["items"]

    def remove(self, fault_id: str) -> None:
        self._sb._call("DELETE", f"/faults/{fault_id}")


class Sandbox(dict):
    """The sandbox answer as a dict, with ``clock``, ``journal``, ``faults``, ``snapshot``, ``restore``."""

    def __init__(self, control: ControlClient, answer: dict[str, Any]) -> None:
        super().__init__(answer)
        self._control = control
        self.id = answer["id"]
        self.clock = _Clock(self)
        self.journal = _Journal(self)
        self.faults = _Faults(self)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        return self._control.call(method, f"/_sim/sandboxes/{self.id}{path}", body, expect=(200, 201, 204))

    def get(self, path: str, default: Any = None) -> Any:  # type: ignore[override]
        """``sb.get("/bluedrop/learners")`` reads the control plane; ``sb.get("id")`` reads the dict."""
        if isinstance(path, str) and path.startswith("/"):
            return self._call("GET", path)
        return super().get(path, default)

    def post(self, path: str, body: Any = None) -> Any:
        return self._call("POST", path, body)

    def snapshot(self, name: str) -> dict[str, Any]:
        return self._call("POST", "/snapshots", {"name": name})

    def restore(self, name: str) -> dict[str, Any]:
        return self._call("POST", f"/snapshots/{name}/restore")

    def reset(self) -> dict[str, Any]:
        return self._call("POST", "/reset")

    def delete(self) -> None:
        self._control.call("DELETE", f"/_sim/sandboxes/{self.id}", expect=(204, 404))


def start_in_process(config: dict[str, Any] | None = None) -> Any:
    from .app import create_app
    from .server import InProcessServer

    app = create_app({"DATABASE": ":memory:", **(config or {})})
    return InProcessServer(app).start()


@pytest.fixture(scope="session")
def trainsim_server(request: pytest.FixtureRequest) -> Iterator[TrainsimServer]:
    url = request.config.getoption("--trainsim-url")
    token = request.config.getoption("--trainsim-admin-token")
    if url:
        yield TrainsimServer(url, ControlClient(url, token))
        return
    server = start_in_process({"SIM_ADMIN_TOKEN": token} if token else None)
    try:
        yield TrainsimServer(server.url, ControlClient(server.url, token), server)
    finally:
        server.stop()


@pytest.fixture
def trainsim_sandbox(trainsim_server: TrainsimServer) -> Iterator[Sandbox]:
    sb = trainsim_server.create_sandbox()
    try:
        yield sb
    finally:
        sb.delete()
