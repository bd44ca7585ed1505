"""Bluedrop360 API v2 network: MOL/MLTSD Certificate Management System learning records, and class and
online offerings in the MLTSD Marketplace (spec: bluedrop.md)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from ..platform.registry import System
from ..platform.sandboxes import SeedContext
from ..platform.store import dumps
from ..platform.timeutil import iso
from .control import control
from .models import TABLES, Bluedrop, body_hash, first_start
from .openapi import API_DOCUMENT, CONTROL_PATHS
from .routes import api, http_error, internal_error_preset
from .scale import scale

SYSTEM_NAME = "bluedrop"


def authorization(key: str, secret: str) -> str:
    return f"bln type=api,version=1,entity=network,key={key},secret={secret}"


def _network_key(ctx: SeedContext, slot: str, demo_key: str) -> str:
    if ctx.sandbox == "demo":
        return demo_key
    for _ in range(20):
        candidate = f"pro-{secrets.randbelow(900_000) + 100_000}"
        taken = ctx.db.execute("SELECT 1 FROM _credentials WHERE system = ? AND json_extract(data, '$.networkKey') = ?",
                               [SYSTEM_NAME, candidate]).fetchone()
        if not taken:
            return candidate
    raise RuntimeError("could not pick a unique networkKey")  # pragma: no cover


def _networks(ctx: SeedContext) -> list[dict[str, Any]]:
    data = ctx.fixture("bluedrop")
    wanted = data["networks"] if ctx.fixtures == "demo" else data["networks"][: data["emptyNetworks"]]
    out = []
    for spec in wanted:
        cred = ctx.credential(SYSTEM_NAME, spec["slot"], key_prefix="bd-")
        if not cred.data.get("networkKey"):
            cred = ctx.credential(SYSTEM_NAME, spec["slot"], data={
                "networkKey": _network_key(ctx, spec["slot"], spec["networkKey"]), "name": spec["name"]})
        out.append(cred.data)
    return out


def _people(ctx: SeedContext, count: int) -> list[dict[str, Any]]:
    fake = ctx.faker("bluedrop.people", "en_CA")
    rng = ctx.random("bluedrop.people")
    people, seen = [], set()
    while len(people) < count:
        first, last = fake.first_name(), fake.last_name()
        if (first, last) in seen:
            continue
        seen.add((first, last))
        people.append({
            "uniqueId": f"STU-{rng.randint(10000, 99999)}", "firstname": first, "lastname": last,
            "birthYear": ctx.now.year - rng.randint(22, 60),
            "personalEmail": f"{first}.{last}{rng.randint(1, 99)}@example.ca".lower().replace(" ", ""),
            "mobilePhone": f"{rng.choice(['416', '647', '705', '905', '613'])}{rng.randint(2000000, 9999999)}",
            "address": {"street-address": fake.street_address(), "locality": fake.city(), "region": "ON",
                        "postal-code": fake.postalcode_in_province("ON"), "country-name": "Canada"}})
    return people


def _record(spec: dict[str, Any], person: dict[str, Any], network: str, now: datetime, instructors: str
            ) -> dict[str, Any]:
    learner = {k: v for k, v in person.items() if k not in ("personalEmail", "mobilePhone", "address")}
    for contact in spec.get("contacts", ("personalEmail", "mobilePhone", "address")):
        learner[contact] = person[contact]
    done = (now - timedelta(days=spec["daysAgo"])).replace(hour=21, minute=0, second=0, microsecond=0)
    return {"learningRecordId": spec["id"], "networkKey": network, "trainingStandardKey": spec["key"],
            "completionDate": iso(min(done, now)), "instructorNames": instructors, "learner": learner}


def _seed(ctx: SeedContext) -> None:
    networks = _networks(ctx)
    if ctx.fixtures != "demo":
        return
    data = ctx.fixture("bluedrop")
    people = _people(ctx, data["people"])
    fake = ctx.faker("bluedrop.instructors", "en_CA")
    other = ctx.faker("bluedrop.lookalikes", "en_CA")
    model = Bluedrop(ctx.platform)
    for spec in data["records"]:
        network = networks[spec["network"]]["networkKey"]
        if "samePersonAs" in spec:
            twin = people[spec["samePersonAs"]]
            person = {**twin, "uniqueId": f"LSI-{ctx.random('bluedrop.twin').randint(1000, 9999)}",
                      "personalEmail": other.email(), "mobilePhone": "2895550147",
                      "address": {**twin["address"], "postal-code": "L8P 4R5", "locality": "Hamilton"}}
        else:
            person = people[spec["person"]]
        record = _record(spec, person, network, ctx.now, f"{fake.name()}; {fake.name()}")
        model.insert_record(ctx.db, ctx.sandbox, network, record, body_hash(record), ctx.now)
    today = ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
    for spec in data["classOfferings"]:
        offering = {k: spec[k] for k in ("offeringId", "trainingStandardKey", "deliveryMethod", "courseName",
                                         "seatsRemaining", "price", "contactForPricing") if k in spec}
        events = []
        for s in spec["sessions"]:
            hh, mm = (int(x) for x in s["start"].split(":"))
            start = today + timedelta(days=s["inDays"], hours=hh, minutes=mm)
            events.append({"start": iso(start), "end": iso(start + timedelta(hours=s["hours"]))})
        offering["events"] = events
        network = networks[spec["network"]]["networkKey"]
        slug = offering["offeringId"].lower()
        offering["externalRegistrationUrl"] = f"https://booking.example.ca/{network}/{slug}"
        if spec["deliveryMethod"] == "virtual":
            offering["virtualClassUrl"] = f"https://meet.example.ca/{slug}"
        else:
            offering["address"] = {"street-address": spec["street"], "locality": spec["city"], "region": spec["region"],
                                   "postal-code": spec["postal"], "country-name": "Canada"}
        _insert_offering(ctx.db, ctx.sandbox, "class", network, offering, ctx.now)
    for spec in data["onlineOfferings"]:
        network = networks[spec["network"]]["networkKey"]
        offering = {k: spec[k] for k in ("offeringId", "trainingStandardKey", "courseName", "price", "courseDuration")}
        offering["externalRegistrationUrl"] = f"https://learn.example.ca/{network}/{spec['offeringId'].lower()}"
        _insert_offering(ctx.db, ctx.sandbox, "online", network, offering, ctx.now)


def _insert_offering(db: sqlite_utils.Database, sandbox: str, kind: str, network: str, offering: dict[str, Any],
                     now: datetime) -> None:
    db["bluedrop_offerings"].insert({
        "sandbox": sandbox, "kind": kind, "network_key": network, "offering_id": offering["offeringId"],
        "generation": 0, "data": dumps(offering), "deleted": 0,
        "first_start": first_start(kind, offering), "created_at": iso(now), "updated_at": iso(now),
        "deleted_at": None})


def _credentials(plat: Any, db: sqlite_utils.Database, sandbox: str) -> dict[str, Any]:
    return {"networks": [{"networkKey": c.data.get("networkKey"), "apiKey": c.key,
                          "apiSecret": c.secret, "authorization": authorization(c.key, c.secret)}
                         for c in plat.sandboxes.credentials_of(db, sandbox, SYSTEM_NAME)]}


SYSTEM = System(
    name=SYSTEM_NAME, key="bluedrop", base_path="/api-v2", api=api, tables=TABLES, seed=_seed,
    credentials=_credentials, control=control, control_prefix="bluedrop",
    presets={"bluedrop.internal-error": internal_error_preset},
    openapi_paths=CONTROL_PATHS, http_error=http_error, api_document=lambda: API_DOCUMENT, scale=scale,
)
