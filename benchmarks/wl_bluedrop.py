"""Bluedrop360 workloads: JSON POSTs with the network's Authorization header (the documented examples)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from .workloads import Ctx, Workload, register

JSON = {"Content-Type": "application/json"}
# a new learner per record (uniqueId, surname and email from {uid}): every record runs the matching search
# (by name and birth year) and then creates a learner. Reusing a few names instead makes each record slower
# than the last (cms.find_match compares every learner of the same name: linear in namesakes).
LEARNERS = 10


def _network(ctx: Ctx) -> dict[str, Any]:
    return ctx.creds("bluedrop")["networks"][0]


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def learning_record(ctx: Ctx) -> list[dict[str, Any]]:
    net = _network(ctx)
    headers = {**JSON, "Authorization": net["authorization"]}
    reqs = []
    for i in range(LEARNERS):
        body = {
            "learningRecordId": "bench-{uid}", "networkKey": net["networkKey"], "trainingStandardKey": "WAH-E-I",
            "completionDate": "2018-11-21T22:38:15.000Z", "externalClassId": "class-2018-11-21",
            "instructorNames": "Jane Doe; John Roe", "evaluatorNames": "Jim Poe",
            "learner": {"uniqueId": "bench-stu-{uid}", "firstname": "Marie", "lastname": "Tremblay-{uida}",
                        "birthYear": 1980 + i, "personalEmail": "marie.tremblay.{uid}@example.ca",
                        "mobilePhone": "4165550123", "homePhone": "4165550199",
                        "address": {"street-address": "1 Yonge Street", "extended-address": "Suite 1801",
                                    "locality": "Toronto", "region": "ON", "postal-code": "M5E 1W7",
                                    "country-name": "Canada"}}}
        reqs.append({"method": "POST", "path": "/api-v2/learning-records", "headers": headers,
                     "body": json.dumps(body), "expect": [204]})
    return reqs


def class_offering(ctx: Ctx) -> list[dict[str, Any]]:
    net = _network(ctx)
    now = datetime.fromisoformat(ctx.call("GET", f"/_sim/sandboxes/{ctx.sid}/clock").json()["now"].replace("Z", "+00:00"))
    start = (now + timedelta(days=7)).replace(hour=13, minute=0, second=0, microsecond=0)
    body = {
        "offeringId": "bench-{uid}", "networkKey": net["networkKey"], "trainingStandardKey": "WAH-E-I",
        "deliveryMethod": "in-person", "courseName": "Working at Heights", "seatsRemaining": 12,
        "contactForPricing": False, "price": 150.00,
        "address": {"street-address": "100 King Street West", "locality": "Toronto", "region": "ON",
                    "postal-code": "M5X 1A9", "country-name": "Canada"},
        "events": [{"start": _iso(start), "end": _iso(start + timedelta(hours=8))},
                   {"start": _iso(start + timedelta(days=1)), "end": _iso(start + timedelta(days=1, hours=4))}],
        "externalRegistrationUrl": "https://provider.example.ca/register/bench-{uid}"}
    return [{"method": "POST", "path": "/api-v2/class-offerings", "headers": {**JSON, "Authorization":
             net["authorization"]}, "body": json.dumps(body), "expect": [204]}]


register(Workload("Bluedrop learning-record POST", "write", learning_record, system="bluedrop",
                  note="a new record and learner per request: matching search, then a new learner"))
register(Workload("Bluedrop class-offering POST", "write", class_offering, system="bluedrop"))
