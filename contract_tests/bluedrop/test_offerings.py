"""Class Offering and Online Offering API contract (spec bluedrop.md §2, §3; vendor docs
docs/cms/class-offering-api.md and docs/cms/online-offering-api.md of courseparkdev/developer.bluedrop360.com)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .conftest import invalid, iso, without

pytestmark = [pytest.mark.control_plane, pytest.mark.mutating]
CO = "/api-v2/class-offerings"
OO = "/api-v2/online-offerings"


def test_class_offering_example_is_204_and_listed_in_the_marketplace(bd):
    """bluedrop.md §2: POST → 204; Marketplace shows it with seatsRemaining and the book link."""
    body = bd.class_offering()
    r = bd.post(CO, body)
    assert (r.status_code, r.content) == (204, b"")
    listed = bd.inspect("/class-offerings")
    assert listed["total"] == 1
    item = listed["items"][0]
    assert {k: item[k] for k in body if k != "networkKey"} == {k: v for k, v in body.items() if k != "networkKey"}
    assert item["networkKey"] == bd.network_key and item["deleted"] is False
    market = bd.inspect("/marketplace")["items"]
    assert [(m["offeringId"], m["seatsRemaining"], m["availability"], m["full"]) for m in market] == [
        ("class-2026-001", 12, "12 seats remaining", False)]
    assert market[0]["externalRegistrationUrl"] == body["externalRegistrationUrl"]
    assert market[0]["priceLabel"] == "$150.00"


def test_marketplace_full_today_past_and_deleted(bd):
    """bluedrop.md Marketplace view: not deleted, first session after the end of today, "Full" at 0."""
    assert bd.post(CO, bd.class_offering("full", seatsRemaining=0, contactForPricing=True, price=None)).status_code == 204
    today = bd.now().replace(hour=20, minute=0)  # later today (the frozen clock is at 12:00 UTC)
    assert bd.post(CO, bd.class_offering("today", events=[{"start": iso(today), "end": iso(today + timedelta(hours=2))}])
                   ).status_code == 204
    assert bd.post(CO, bd.class_offering("gone")).status_code == 204
    assert bd.delete(CO + "/gone").status_code == 204
    market = bd.inspect("/marketplace")
    assert [(m["offeringId"], m["availability"], m["full"], m["priceLabel"]) for m in market["items"]] == [
        ("full", "Full", True, "Contact for pricing")]
    assert bd.inspect("/class-offerings", deleted="false")["total"] == 2
    bd.clock({"advance": "P7D"})
    assert bd.inspect("/marketplace")["total"] == 0


def test_virtual_and_blended_requirements(bd):
    """bluedrop.md §2: virtualClassUrl required for virtual; address for in-person and blended."""
    virtual = without(bd.class_offering("v", trainingStandardKey="JHSC-2014-1-E-V", deliveryMethod="virtual"),
                      "address")
    r = bd.post(CO, virtual)
    assert r.json() == invalid(("virtualClassUrl", "is required when deliveryMethod is virtual; received nothing"))
    assert bd.post(CO, {**virtual, "virtualClassUrl": "https://meet.example.ca/jhsc"}).status_code == 204
    blended = without(bd.class_offering("b", trainingStandardKey="WAH-E-B", deliveryMethod="blended"), "address")
    assert bd.post(CO, blended).json() == invalid(("address", "is required when deliveryMethod is blended; "
                                                              "received nothing"))


def _events(bd, *spans):
    base = (bd.now() + timedelta(days=3)).replace(hour=9, minute=0)
    return [{"start": iso(base + timedelta(hours=a)), "end": iso(base + timedelta(hours=b))} for a, b in spans]


CLASS_CASES = [
    ("online key on the class API", lambda bd, b: {**b, "trainingStandardKey": "JHSC-2014-1-E-O"},
     [("trainingStandardKey", "JHSC-2014-1-E-O is not accepted by the Class Offering API; it is accepted by the "
                              'Learning Record API and the Online Offering API; received "JHSC-2014-1-E-O"')]),
    ("unknown key", lambda bd, b: {**b, "trainingStandardKey": "WAH-E-O"},
     [("trainingStandardKey", "unknown trainingStandardKey: not in the catalogue of 22 keys (e.g. WAH-E-I, "
                              'JHSC-2014-1-E-O); received "WAH-E-O"')]),
    ("delivery vs mode letter", lambda bd, b: {**b, "deliveryMethod": "blended"},
     [("deliveryMethod", 'must be in-person for trainingStandardKey WAH-E-I (mode letter I); received "blended"')]),
    ("delivery not in the list", lambda bd, b: {**b, "deliveryMethod": "online"},
     [("deliveryMethod", 'must be one of in-person, virtual, blended; received "online"')]),
    ("price required", lambda bd, b: without(b, "price"),
     [("price", "is required unless contactForPricing is true; received nothing")]),
    ("price decimals", lambda bd, b: {**b, "price": 150.005},
     [("price", "must have at most 2 decimal places; received 150.005")]),
    ("price bound", lambda bd, b: {**b, "price": 1_000_000},
     [("price", "must be a number of dollars at least 0 and at most 999,999.99; received 1000000")]),
    ("price a string", lambda bd, b: {**b, "price": "150"},
     [("price", 'must be a number of dollars; received "150"')]),
    ("seats negative", lambda bd, b: {**b, "seatsRemaining": -1},
     [("seatsRemaining", "must be an integer from 0 to 100000; received -1")]),
    ("contactForPricing not boolean", lambda bd, b: {**b, "contactForPricing": "yes"},
     [("contactForPricing", 'must be true or false; received "yes"')]),
    ("registration url", lambda bd, b: {**b, "externalRegistrationUrl": "/register/1"},
     [("externalRegistrationUrl", 'must be an absolute http(s) URL; received "/register/1"')]),
    ("no events", lambda bd, b: {**b, "events": []},
     [("events", "must hold 1 to 50 sessions {start, end}; received 0")]),
    ("51 events", lambda bd, b: {**b, "events": _events(bd, *[(i * 2, i * 2 + 1) for i in range(51)])},
     [("events", "must hold 1 to 50 sessions {start, end}; received 51")]),
    ("end before start", lambda bd, b: {**b, "events": _events(bd, (0, 2), (30, 29))},
     [("events.1.end", "must be after the session's start 2026-06-19T15:00:00.000Z; received "
                       "2026-06-19T14:00:00.000Z")]),
    ("longer than 24 h", lambda bd, b: {**b, "events": _events(bd, (0, 25))},
     [("events.0.end", "a session lasts at most 24 hours; received 2026-06-19T10:00:00.000Z (25 hours after its "
                       "start 2026-06-18T09:00:00.000Z)")]),
    ("overlap", lambda bd, b: {**b, "events": _events(bd, (0, 8), (24, 30), (7, 9))},
     [("events.2.start", "sessions must not overlap: overlaps events.0 (2026-06-18T09:00:00.000Z to "
                         "2026-06-18T17:00:00.000Z); received 2026-06-18T16:00:00.000Z")]),
    ("not UTC", lambda bd, b: {**b, "events": [{"start": "2026-07-01T09:00:00-04:00", "end": "2026-07-01T17:00:00Z"}]},
     [("events.0.start", 'must be an ISO-8601 date-time in UTC such as 2026-05-04T13:00:00.000Z; received '
                         '"2026-07-01T09:00:00-04:00"')]),
    ("event not an object", lambda bd, b: {**b, "events": [b["events"][0], "tomorrow"]},
     [("events.1", 'must be an object; received "tomorrow"')]),
    ("postal code in Canada", lambda bd, b: {**b, "address": {**b["address"], "postal-code": "M5X"}},
     [("address.postal-code", "must be a Canadian postal code such as K1A 0B1 (space optional) when country-name "
                              'is Canada; received "M5X"')]),
    ("address without a street", lambda bd, b: {**b, "address": without(b["address"], "street-address")},
     [("address.street-address", "is required; received nothing")]),
]


@pytest.mark.parametrize("mutate,errors", [c[1:] for c in CLASS_CASES], ids=[c[0] for c in CLASS_CASES])
def test_class_offering_rules(bd, mutate, errors):
    """bluedrop.md §2 field table; error body per "Wire conventions"."""
    r = bd.post(CO, mutate(bd, bd.class_offering()))
    assert r.status_code == 400
    assert r.json() == invalid(*errors)


def test_duplicate_offering_is_409_until_deleted(bd):
    """bluedrop.md §2: offeringId unique within the network while not deleted."""
    assert bd.post(CO, bd.class_offering("dup")).status_code == 204
    r = bd.post(CO, bd.class_offering("dup"))
    assert r.status_code == 409
    assert r.json() == {"code": "general", "message": f"class offering 'dup' already exists in network "
                                                      f"{bd.network_key}; change it with PATCH",
                        "errors": [{"key": "offeringId", "message": "'dup' is already listed; PATCH "
                                                                    "/api-v2/class-offerings/dup to change it"}]}
    assert bd.delete(CO + "/dup").status_code == 204
    assert bd.post(CO, bd.class_offering("dup")).status_code == 204
    assert bd.inspect("/class-offerings")["total"] == 2


def test_patch_changes_fields_and_replaces_events(bd):
    """bluedrop.md §2 PATCH: any subset; events replaces the whole list."""
    assert bd.post(CO, bd.class_offering("p")).status_code == 204
    events = _events(bd, (0, 3))
    r = bd.patch(CO + "/p", {"networkKey": bd.network_key, "seatsRemaining": 0, "events": events,
                             "offeringId": "p", "deliveryMethod": "in-person"})
    assert (r.status_code, r.content) == (204, b"")
    item = bd.inspect("/class-offerings")["items"][0]
    assert (item["seatsRemaining"], item["events"], item["price"]) == (0, events, 150.0)
    assert bd.inspect("/marketplace")["items"][0]["availability"] == "Full"


def test_patch_immutable_fields_and_merged_result(bd):
    """bluedrop.md §2: offeringId, trainingStandardKey, deliveryMethod cannot change; merged result must pass."""
    assert bd.post(CO, bd.class_offering("p")).status_code == 204
    r = bd.patch(CO + "/p", {"networkKey": bd.network_key, "trainingStandardKey": "WAH-E-B",
                             "deliveryMethod": "blended", "offeringId": "q"})
    assert r.json() == invalid(
        ("offeringId", 'cannot be changed by PATCH: the offering has "p"; received "q"'),
        ("trainingStandardKey", 'cannot be changed by PATCH: the offering has "WAH-E-I"; received "WAH-E-B"'),
        ("deliveryMethod", 'cannot be changed by PATCH: the offering has "in-person"; received "blended"'))
    r = bd.patch(CO + "/p", {"networkKey": bd.network_key, "price": None})
    assert r.json() == invalid(("price", "is required unless contactForPricing is true; received nothing"))
    r = bd.patch(CO + "/p", {"networkKey": bd.network_key, "events": _events(bd, (0, 5), (4, 6))})
    assert r.json()["errors"][0]["key"] == "events.1.start"
    assert bd.patch(CO + "/p", {"seatsRemaining": 3}).json() == invalid(("networkKey", "is required; "
                                                                                       "received nothing"))
    assert bd.patch(CO + "/p", {"networkKey": bd.network_key, "contactForPricing": True, "price": None}
                    ).status_code == 204
    assert "price" not in bd.inspect("/class-offerings")["items"][0]


def test_patch_and_delete_of_unknown_offering_are_404(bd):
    """bluedrop.md §2: PATCH or DELETE of an offering not in the caller's network (or deleted) → 404."""
    message = f"no class offering 'nope' in network {bd.network_key} (never added, or deleted)"
    expected = {"code": "notFound", "message": message, "errors": [{"key": "offeringId", "message": message}]}
    r = bd.patch(CO + "/nope", {"networkKey": bd.network_key, "seatsRemaining": 1})
    assert (r.status_code, r.json()) == (404, expected)
    r = bd.delete(CO + "/nope")
    assert (r.status_code, r.json()) == (404, expected)


def test_offerings_of_another_network_are_invisible(demo):
    """bluedrop.md: 403 for another networkKey; another network's offering is not found (404)."""
    north, lake = demo
    assert north.post(CO, north.class_offering("mine")).status_code == 204
    r = lake.patch(CO + "/mine", {"networkKey": north.network_key, "seatsRemaining": 1})
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    assert lake.patch(CO + "/mine", {"networkKey": lake.network_key, "seatsRemaining": 1}).status_code == 404
    assert lake.delete(CO + "/mine").status_code == 404
    r = north.delete(CO + "/mine", params={"networkKey": lake.network_key})
    assert (r.status_code, r.json()["errors"][0]["key"]) == (403, "networkKey")
    assert north.delete(CO + "/mine", params={"networkKey": north.network_key}).status_code == 204


def test_online_offering_example_patch_delete(bd):
    """bluedrop.md §3: POST/PATCH/DELETE online offerings → 204; evergreen Marketplace listing."""
    body = bd.online_offering()
    assert bd.post(OO, body).status_code == 204
    assert bd.inspect("/online-offerings")["items"][0]["courseDuration"] == 2.5
    assert [m["type"] for m in bd.inspect("/marketplace")["items"]] == ["online"]
    assert bd.patch(OO + "/online-jhsc1-en", {"networkKey": bd.network_key, "price": 89, "courseDuration": 3}
                    ).status_code == 204
    item = bd.inspect("/online-offerings")["items"][0]
    assert (item["price"], item["courseDuration"]) == (89, 3)
    r = bd.patch(OO + "/online-jhsc1-en", {"networkKey": bd.network_key, "trainingStandardKey": "JHSC-2014-1-F-O"})
    assert r.json() == invalid(("trainingStandardKey", 'cannot be changed by PATCH: the offering has '
                                                       '"JHSC-2014-1-E-O"; received "JHSC-2014-1-F-O"'))
    assert bd.delete(OO + "/online-jhsc1-en").status_code == 204
    assert bd.inspect("/marketplace")["total"] == 0
    assert bd.delete(OO + "/online-jhsc1-en").status_code == 404


ONLINE_CASES = [
    ("class key on the online API", {"trainingStandardKey": "JHSC-2014-1-E-V"},
     [("trainingStandardKey", "JHSC-2014-1-E-V is not accepted by the Online Offering API; it is accepted by the "
                              'Learning Record API and the Class Offering API; received "JHSC-2014-1-E-V"')]),
    ("duration zero", {"courseDuration": 0},
     [("courseDuration", "must be a number of hours greater than 0 and at most 100; received 0")]),
    ("duration over 100", {"courseDuration": 100.5},
     [("courseDuration", "must be a number of hours greater than 0 and at most 100; received 100.5")]),
    ("price missing", {"price": None}, [("price", "must not be null; received null")]),
    ("courseName wrong type", {"courseName": ["JHSC"]}, [("courseName", 'must be a string; received ["JHSC"]')]),
]


@pytest.mark.parametrize("changes,errors", [c[1:] for c in ONLINE_CASES], ids=[c[0] for c in ONLINE_CASES])
def test_online_offering_rules(bd, changes, errors):
    """bluedrop.md §3 field table."""
    r = bd.post(OO, bd.online_offering(**changes))
    assert (r.status_code, r.json()) == (400, invalid(*errors))


def test_journal_operation_names(bd):
    """control-plane.md Journal: operation names per call."""
    import requests

    bd.post(CO, bd.class_offering("j"))
    bd.patch(CO + "/j", {"networkKey": bd.network_key, "seatsRemaining": 1})
    bd.delete(CO + "/j")
    bd.post(OO, bd.online_offering("j"))
    bd.patch(OO + "/j", {"networkKey": bd.network_key, "price": 1})
    bd.delete(OO + "/j")
    items = requests.get(bd.control + "/journal", params={"system": "bluedrop"}, timeout=10).json()["items"]
    assert [e["operation"] for e in reversed(items)] == [
        "bluedrop.createClassOffering", "bluedrop.updateClassOffering", "bluedrop.deleteClassOffering",
        "bluedrop.createOnlineOffering", "bluedrop.updateOnlineOffering", "bluedrop.deleteOnlineOffering"]
    assert all(e["status"] == 204 for e in items)
