"""Schemathesis against the OpenAPI documents the suite serves: the control plane (/_sim/openapi.json) and
the simulated REST APIs (/_sim/openapi/bluedrop.json, /_sim/openapi/trainingportal.json).

Every operation gets a bounded number of generated requests (a fixed, derandomized seed, so a CI run is
reproducible), sent over real HTTP to the app on a threaded server. Checked: no 5xx, the status code is
one the document lists, and the answer's content type, headers and body match the document.

Not checked (a decision, see RELIABILITY.md): ``positive_data_acceptance``: the documents give field
types, and the server applies the rules on top (ranges, formats, cross-field checks) and answers a 400
naming the field, so a schema-valid but rule-breaking request is rightly refused.

Source: issue 9 ("schemathesis ... no 5xx, every answer matches its documented schema"), control-plane.md
("described by an OpenAPI 3 document at /_sim/openapi.json").
"""

from __future__ import annotations

import os
import random
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import needs, new_sandbox

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
EXAMPLES = int(os.environ.get("TRAINSIM_FUZZ_EXAMPLES", "8"))


@pytest.fixture(scope="module")
def server():
    from simulators.app import create_app
    from simulators.server import InProcessServer

    app = create_app({"DATABASE": ":memory:"})
    srv = InProcessServer(app, threads=16).start()
    yield srv
    srv.stop()


def _fuzz(url: str, document: str, fill: dict[str, list[str]] | None = None,
          headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    """Run every operation of the document; returns (cases sent, {operation: first failure}).

    ``fill``: path parameter -> real ids, used in half of the cases; ``params``: query or form fields
    (credentials) set to a real value in 3 of 4 cases, so most cases get past authentication."""
    raw = requests.get(url + document, timeout=10).json()
    base = url + raw.get("servers", [{"url": "/"}])[0]["url"].rstrip("/")
    schema = schemathesis.openapi.from_url(url + document)
    failures: dict[str, str] = {}
    sent = 0
    statuses: Counter = Counter()
    rng = random.Random(9)
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        @given(case=operation.as_strategy())
        def run(case) -> None:
            nonlocal sent
            sent += 1
            # half of the cases name real objects, so they reach the handlers' rules and not only a 404
            deleting_sandbox = case.method.upper() == "DELETE" and case.path == "/_sim/sandboxes/{id}"
            for name, values in (fill or {}).items():
                if deleting_sandbox:
                    break
                if name in (case.path_parameters or {}) and values and rng.random() < 0.5:
                    case.path_parameters[name] = rng.choice(values)
            for name, value in (params or {}).items():
                if rng.random() < 0.75:
                    for holder in (case.query, case.body):
                        if isinstance(holder, dict) and name in holder:
                            holder[name] = value
            response = case.call(base_url=base, headers=headers, timeout=30)
            statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every operation's failure
            first = getattr(exc, "exceptions", [exc])[0]
            failures[f"{operation.method.upper()} {operation.path}"] = str(first)[:1500]
    print(f"{document}: {sent} cases, answers by status {dict(sorted(statuses.items()))}")
    return sent, failures


def _report(sent: int, failures: dict[str, str]) -> None:
    assert sent > 0
    assert not failures, "\n\n".join(f"== {k}\n{v}" for k, v in failures.items())


@pytest.mark.slow
def test_fuzz_control_plane(server):
    """Every /_sim operation, EXAMPLES generated cases each (about 400 requests)."""
    sb = new_sandbox(server.url, fixtures="empty")
    # the sandbox used for sandbox-scoped routes is never the one a DELETE case may remove
    sent, failures = _fuzz(server.url, "/_sim/openapi.json", fill={"id": [sb["id"]]})
    print(f"control plane: {sent} cases")
    _report(sent, failures)


def _api_headers(system: str, sb: dict) -> dict[str, str]:
    if system == "bluedrop":
        return {"Authorization": sb["credentials"]["bluedrop"]["networks"][0]["authorization"]}
    return {}


@pytest.mark.slow
@needs("bluedrop")
def test_fuzz_bluedrop_api(server):
    """Every Bluedrop operation of /_sim/openapi/bluedrop.json, with a valid credential (so cases reach
    the validation and the rules, not only the 401)."""
    sb = new_sandbox(server.url, fixtures="demo")
    assert requests.get(f"{server.url}/_sim/openapi/bluedrop.json", timeout=10).status_code == 200
    offerings = [o["offeringId"] for o in requests.get(
        f"{server.url}/_sim/sandboxes/{sb['id']}/bluedrop/class-offerings", timeout=10).json()["items"]]
    network = sb["credentials"]["bluedrop"]["networks"][0]["networkKey"]
    sent, failures = _fuzz(server.url, "/_sim/openapi/bluedrop.json", fill={"offeringId": offerings},
                           headers=_api_headers("bluedrop", sb), params={"networkKey": network})
    print(f"bluedrop: {sent} cases")
    _report(sent, failures)


@pytest.mark.slow
@needs("trainingportal")
def test_fuzz_trainingportal_api(server):
    """Every Trainingportal operation of /_sim/openapi/trainingportal.json."""
    sb = new_sandbox(server.url, fixtures="demo")
    assert requests.get(f"{server.url}/_sim/openapi/trainingportal.json", timeout=10).status_code == 200
    provider = sb["credentials"]["trainingportal"]["providers"][0]
    courses = [c["externalId"] for c in provider["courses"]]
    classes = [c["externalId"] for c in requests.get(
        f"{server.url}/_sim/sandboxes/{sb['id']}/trainingportal/classes?limit=1000", timeout=10).json()["items"]]
    bookings = [b["bookingReference"] for b in requests.get(
        f"{server.url}/_sim/sandboxes/{sb['id']}/trainingportal/bookings?limit=1000", timeout=10).json()["items"]]
    sent, failures = _fuzz(server.url, "/_sim/openapi/trainingportal.json",
                           fill={"externalCourseId": courses, "externalCourseClassId": classes,
                                 "bookingReference": bookings},
                           params={"username": provider["username"], "password": provider["password"]})
    print(f"trainingportal: {sent} cases")
    _report(sent, failures)
