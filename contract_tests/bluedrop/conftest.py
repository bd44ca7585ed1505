"""Helpers for the Bluedrop360 contract tests: HTTP only (requests), bodies in the documented shape."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

FROZEN_NOW = "2026-06-15T12:00:00.000Z"


class Bluedrop:
    """One network's view of the API, plus the sandbox's control plane for inspection."""

    def __init__(self, sim: Any, sandbox: dict, index: int = 0) -> None:
        self.sim, self.sandbox = sim, sandbox
        self.base = sandbox["baseUrls"]["bluedrop"].rstrip("/")
        self.network = sandbox["credentials"]["bluedrop"]["networks"][index]
        self.network_key = self.network["networkKey"]
        self.auth = self.network["authorization"]
        self.control = f"{sim.url}/_sim/sandboxes/{sandbox['id']}"

    def call(self, method: str, path: str, body: Any = None, *, auth: str | None = "default",
             headers: dict | None = None, data: Any = None, params: dict | None = None) -> requests.Response:
        hdrs = dict(headers or {})
        if auth == "default":
            hdrs["Authorization"] = self.auth
        elif auth is not None:
            hdrs["Authorization"] = auth
        return requests.request(method, self.base + path.removeprefix("/api-v2"), json=body if data is None else None, data=data,
                                headers=hdrs, params=params, timeout=30)

    def post(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.call("POST", path, body, **kw)

    def patch(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.call("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.call("DELETE", path, **kw)

    def inspect(self, path: str, **params: Any) -> Any:
        r = requests.get(self.control + "/bluedrop" + path, params=params, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def act(self, path: str, body: Any = None, expect: int = 200) -> Any:
        r = requests.post(self.control + "/bluedrop" + path, json=body, timeout=30)
        assert r.status_code == expect, r.text
        return r.json()

    def clock(self, body: dict) -> dict:
        r = requests.post(self.control + "/clock", json=body, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def now(self) -> datetime:
        r = requests.get(self.control + "/clock", timeout=30)
        return datetime.fromisoformat(r.json()["now"].replace("Z", "+00:00"))

    # -- documented example bodies ------------------------------------------------------------------

    def record(self, record_id: str = "3b0a7c0e-6a63-4c8e-9f0e-1d2c3b4a5f60", **overrides: Any) -> dict:
        body = {
            "learningRecordId": record_id, "networkKey": self.network_key, "trainingStandardKey": "WAH-E-I",
            "completionDate": "2018-11-21T22:38:15.000Z", "externalClassId": "class-2018-11-21",
            "instructorNames": "Jane Doe; John Roe", "evaluatorNames": "Jim Poe",
            "learner": {"uniqueId": "stu-0042", "firstname": "Marie", "lastname": "Tremblay", "birthYear": 1985,
                        "personalEmail": "marie.tremblay@example.ca", "mobilePhone": "4165550123",
                        "homePhone": "4165550199",
                        "address": {"street-address": "1 Yonge Street", "extended-address": "Suite 1801",
                                    "locality": "Toronto", "region": "ON", "postal-code": "M5E 1W7",
                                    "country-name": "Canada"}}}
        return deep_update(body, overrides)

    def class_offering(self, offering_id: str = "class-2026-001", days: int = 7, **overrides: Any) -> dict:
        start = (self.now() + timedelta(days=days)).replace(hour=13, minute=0, second=0, microsecond=0)
        body = {
            "offeringId": offering_id, "networkKey": self.network_key, "trainingStandardKey": "WAH-E-I",
            "deliveryMethod": "in-person", "courseName": "Working at Heights", "seatsRemaining": 12,
            "contactForPricing": False, "price": 150.00,
            "address": {"street-address": "100 King Street West", "locality": "Toronto", "region": "ON",
                        "postal-code": "M5X 1A9", "country-name": "Canada"},
            "events": [{"start": iso(start), "end": iso(start + timedelta(hours=8))},
                       {"start": iso(start + timedelta(days=1)), "end": iso(start + timedelta(days=1, hours=4))}],
            "externalRegistrationUrl": f"https://provider.example.ca/register/{offering_id}"}
        return deep_update(body, overrides)

    def online_offering(self, offering_id: str = "online-jhsc1-en", **overrides: Any) -> dict:
        body = {"offeringId": offering_id, "networkKey": self.network_key, "trainingStandardKey": "JHSC-2014-1-E-O",
                "courseName": "JHSC Part One Online", "price": 99.99, "courseDuration": 2.5,
                "externalRegistrationUrl": f"https://provider.example.ca/elearning/{offering_id}"}
        return deep_update(body, overrides)


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def deep_update(body: dict, overrides: dict) -> dict:
    out = copy.deepcopy(body)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_update(out[key], value)
        else:
            out[key] = value
    return out


def without(body: dict, dotted: str) -> dict:
    out = copy.deepcopy(body)
    parts = dotted.split(".")
    target = out
    for p in parts[:-1]:
        target = target[p]
    target.pop(parts[-1])
    return out


def invalid(*pairs: tuple[str, str]) -> dict:
    return {"code": "invalid", "message": "Request body failed validation",
            "errors": [{"key": k, "message": m} for k, m in pairs]}


@pytest.fixture
def bd(sim, empty_sandbox) -> Bluedrop:
    """The one network of an empty sandbox, its clock frozen at a known instant."""
    client = Bluedrop(sim, empty_sandbox)
    client.clock({"freeze": True})
    client.clock({"set": FROZEN_NOW})
    return client


@pytest.fixture
def demo(sim, sandbox) -> tuple[Bluedrop, Bluedrop]:
    """Both provider networks of a fresh demo sandbox."""
    return Bluedrop(sim, sandbox, 0), Bluedrop(sim, sandbox, 1)
