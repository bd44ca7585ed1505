"""The workloads: each sets up its own sandbox (or uses the scale sandbox) and returns the requests to load.

A workload's ``setup(ctx)`` gets a :class:`Ctx` (``url``, ``http`` session, ``sandbox``: the control plane's
sandbox answer with ``credentials`` and ``baseUrls``) and returns a list of request specs for
:mod:`benchmarks.loadgen`: ``{"method", "path", "headers", "body", "expect"}``. Setup talks to the running
server over HTTP only (control plane and the system's API), like a user's test suite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests


@dataclass
class Ctx:
    url: str
    http: requests.Session
    sandbox: dict[str, Any]
    scale: bool = False

    @property
    def sid(self) -> str:
        return self.sandbox["id"]

    def creds(self, key: str) -> Any:
        return self.sandbox["credentials"][key]

    def call(self, method: str, path: str, expect: tuple[int, ...] = (200, 201, 204), **kw: Any) -> requests.Response:
        resp = self.http.request(method, self.url + path, timeout=60, **kw)
        if resp.status_code not in expect:
            raise RuntimeError(f"setup: {method} {path} answered {resp.status_code}: {resp.text[:500]}")
        return resp


@dataclass
class Workload:
    name: str
    kind: str  # "read", "write", "soap-read", "soap-write", "platform"
    setup: Callable[[Ctx], list[dict[str, Any]]]
    system: str | None = None  # the /_sim/health system name it needs; skipped when absent
    fixtures: str = "demo"  # fixtures of the sandbox it creates
    note: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


def _platform_health(ctx: Ctx) -> list[dict[str, Any]]:
    return [{"method": "GET", "path": "/_sim/health", "expect": [200]}]


def _platform_clock(ctx: Ctx) -> list[dict[str, Any]]:
    return [{"method": "GET", "path": f"/_sim/sandboxes/{ctx.sid}/clock", "expect": [200]}]


WORKLOADS: list[Workload] = [
    Workload("platform GET /_sim/health", "platform", _platform_health, note="no sandbox, no journal"),
    Workload("platform GET clock", "platform", _platform_clock, note="control plane read of a sandbox"),
]


def register(workload: Workload) -> Workload:
    WORKLOADS.append(workload)
    return workload


def load_system_workloads() -> None:
    """Import the per-system workload modules (each appends to WORKLOADS)."""
    from . import wl_bluedrop, wl_learning_assistant, wl_trainingportal  # noqa: F401
