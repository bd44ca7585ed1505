"""Unit tests of Bluedrop's own code: CMS rules, Authorization parsing, schema loading, catalogue, scale."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from flask import json

from simulators.app import create_app
from simulators.bluedrop import SYSTEM, cms
from simulators.bluedrop.errors import Unauthorized
from simulators.bluedrop.models import parse_authorization, validate
from simulators.bluedrop.openapi import API_DOCUMENT
from simulators.bluedrop.schemas import load


def test_normalise_ignores_case_accents_and_spaces():
    assert cms.normalise("  Zoé  Côté ") == "zoe cote"
    assert cms.name_key("ÉLODIE", " d'Amours", 1990) == cms.name_key("elodie", "d'amours ", 1990)


def test_contacts_are_normalised():
    c = cms.contacts({"personalEmail": " A@Example.CA ", "mobilePhone": "4165550123", "homePhone": "4165550123",
                      "address": {"postal-code": "m5e 1w7"}})
    assert c == {"emails": ["a@example.ca"], "phones": ["4165550123"], "postals": ["M5E1W7"]}


def test_add_months_clamps_the_day():
    assert cms.add_months(datetime(2026, 8, 31, tzinfo=UTC), 6) == datetime(2027, 2, 28, tzinfo=UTC)
    assert cms.add_years(datetime(2024, 2, 29, tzinfo=UTC), 3) == datetime(2027, 2, 28, tzinfo=UTC)


@pytest.mark.parametrize("part1,flag", [
    ("2026-01-31T00:00:00.000Z", []),  # Part 2 on 2026-07-31: exactly 6 months
    ("2026-01-30T00:00:00.000Z", [cms.FLAG_JHSC_PART2]),
    ("2026-08-01T00:00:00.000Z", [cms.FLAG_JHSC_PART2]),  # Part 1 after Part 2
])
def test_jhsc_part2_window(part1, flag):
    entry = {"key": "JHSC-2014-2-E-I", "completion": "2026-07-31T00:00:00.000Z"}
    assert cms.flags_for(entry, [{"key": "JHSC-2014-1-E-O", "completion": part1}]) == flag


def test_1996_part2_is_never_flagged():
    assert cms.flags_for({"key": "JHSC-1996-2-E-I", "completion": "2026-07-31T00:00:00.000Z"}, []) == []


def test_expiry_only_for_wah():
    assert cms.expiry_of("WAH-Refr-F-I", "2020-05-01T10:00:00.000Z") == "2023-05-01T10:00:00.000Z"
    assert cms.expiry_of("JHSC-2014-1-E-I", "2020-05-01T10:00:00.000Z") is None


def test_catalogue_columns():
    rows = cms.catalogue()
    assert len(rows) == 22 and all(r["learningRecord"] for r in rows.values())
    assert sorted(k for k, r in rows.items() if r["onlineOffering"]) == ["JHSC-2014-1-E-O", "JHSC-2014-1-F-O"]
    assert not any(r["classOffering"] and r["onlineOffering"] for r in rows.values())
    for key, row in rows.items():
        assert key.endswith("-" + row["modeLetter"]) and cms.MODES[row["modeLetter"]] == row["mode"]


def test_authorization_parsing():
    p = parse_authorization("BLN key = k1 ,secret=s=1, token=t,type=api")
    assert (p["key"], p["secret"], p["token"]) == ("k1", "s=1", "t")
    with pytest.raises(Unauthorized, match="entity must be network"):
        parse_authorization("bln entity=user,key=k,secret=s")
    with pytest.raises(Unauthorized, match="key and secret"):
        parse_authorization("bln type=api")


def test_schema_errors_flatten_to_dotted_keys_and_keep_indices():
    data, errors = load("class", {"events": [{"start": "x", "end": "2026-01-01T00:00:00Z"}, 5]})
    keys = [k for k, _ in errors]
    assert "events.0.start" in keys and "events.1" in keys
    assert data["events"][1] is None and "end" in data["events"][0]


@pytest.mark.parametrize("value", [10**40, -(10**40), 1e308, float("nan"), True, [], {}, "🙂" * 300])
def test_extreme_values_never_raise(value):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for kind in ("learningRecord", "class", "online"):
        body = {name: value for name in ("learningRecordId", "price", "seatsRemaining", "courseDuration", "events",
                                         "learner", "address", "completionDate", "trainingStandardKey")}
        _, errs = validate(kind, body, now)
        assert errs.pairs


def test_api_document_documents_every_status_with_a_body_schema():
    for path in API_DOCUMENT["paths"].values():
        for method, operation in path.items():
            if method == "parameters":
                continue
            assert {"204", "400", "401", "403", "405", "500"} <= set(operation["responses"])
            for status, answer in operation["responses"].items():
                if status != "204":
                    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    refs = json.dumps(API_DOCUMENT).count('"$ref": "#/components/schemas/')
    assert refs > 20 and all(name in API_DOCUMENT["components"]["schemas"] for name in (
        "LearningRecord", "Learner", "Address", "ClassOffering", "ClassOfferingPatch", "Event", "OnlineOffering",
        "OnlineOfferingPatch", "Error"))


@pytest.fixture
def app():
    return create_app({"DATABASE": ":memory:", "DEMO": False})


def test_scale_inserts_in_bulk_and_matching_stays_indexed(app):
    plat = app.extensions["trainsim"]
    sb = plat.sandboxes.create(fixtures="empty")["id"]
    started = time.perf_counter()
    counts = SYSTEM.scale(plat, sb, 0.05)
    assert counts["learningRecords"] == 5000 and 3000 < counts["learners"] < 4200
    assert time.perf_counter() - started < 5
    with plat.store.read() as db:
        plan = db.execute("EXPLAIN QUERY PLAN SELECT learner_id, contacts, seq FROM bluedrop_learners INDEXED BY "
                          "idx_bluedrop_learners_sandbox_name_key_seq WHERE sandbox = ? AND name_key = ? "
                          "ORDER BY seq", [sb, "x"]).fetchall()
        assert "name_key" in str(plan) and "SCAN" not in str(plan)
        sample = db.execute("SELECT body FROM bluedrop_records WHERE sandbox = ? LIMIT 1", [sb]).fetchone()[0]
    creds = plat.sandboxes.get(sb)["credentials"]["bluedrop"]["networks"]
    client = app.test_client()
    # a scaled record sent again as it is: an identical retry (its stored hash is the API's own)
    again = json.loads(sample)
    cred = [c for c in creds if c["networkKey"] == again["networkKey"]][0]
    r = client.post("/api-v2/learning-records", json=again, headers={"Authorization": cred["authorization"]})
    assert r.status_code == 204, r.get_data(as_text=True)
    # a record for a scaled learner, sent again with their contact, matches them
    body = json.loads(sample)
    body["learningRecordId"] = "after-scale"
    body["networkKey"] = creds[0]["networkKey"]
    r = client.post("/api-v2/learning-records", json=body, headers={"Authorization": creds[0]["authorization"]})
    assert r.status_code == 204, r.get_data(as_text=True)
    rec = client.get(f"/_sim/sandboxes/{sb}/bluedrop/learning-records/after-scale").get_json()
    assert rec["matchState"] == "matched"
    total = client.get(f"/_sim/sandboxes/{sb}/bluedrop/learning-records?limit=1").get_json()["total"]
    assert total == counts["learningRecords"] + 1
