"""Learning Record API contract (spec bluedrop.md §1 and "Wire conventions"; vendor doc
docs/cms/learning-record-api.md of courseparkdev/developer.bluedrop360.com)."""

from __future__ import annotations

import pytest

from .conftest import FROZEN_NOW, invalid, without

pytestmark = [pytest.mark.control_plane, pytest.mark.mutating]
LR = "/api-v2/learning-records"


def test_documented_example_is_204_and_lands_in_the_cms(bd):
    """bluedrop.md §1: POST /api-v2/learning-records → 204 empty; a nobody-like learner is created."""
    r = bd.post(LR, bd.record())
    assert (r.status_code, r.content) == (204, b"")
    rec = bd.inspect(f"/learning-records/{bd.record()['learningRecordId']}")
    assert rec["matchState"] == "newLearner" and rec["flags"] == [] and rec["voided"] is False
    assert rec["learner"]["address"]["postal-code"] == "M5E 1W7"
    assert rec["expiryDate"] == "2021-11-21T22:38:15.000Z"
    learner = bd.inspect(f"/learners/{rec['learnerId']}")
    assert (learner["firstname"], learner["lastname"], learner["birthYear"]) == ("Marie", "Tremblay", 1985)
    assert learner["training"] == [{
        "trainingStandardKey": "WAH-E-I", "courseName": "Working at Heights - Full course",
        "completionDate": "2018-11-21T22:38:15.000Z", "expiryDate": "2021-11-21T22:38:15.000Z", "status": "expired",
        "learningRecordId": rec["learningRecordId"], "networkKey": bd.network_key, "flags": []}]


def test_identical_retry_is_204_and_a_different_body_409(bd):
    """bluedrop.md §1: duplicate learningRecordId: identical → 204 again; different → 409 general."""
    assert bd.post(LR, bd.record("r-1")).status_code == 204
    assert bd.post(LR, bd.record("r-1")).status_code == 204
    r = bd.post(LR, bd.record("r-1", instructorNames="Someone Else"))
    assert r.status_code == 409
    assert r.json() == {"code": "general", "message": "learning record already exists; records can only be voided "
                                                      "or updated by Bluedrop support",
                        "errors": [{"key": "learningRecordId", "message": f"'r-1' was already submitted by "
                                                                          f"{bd.network_key} with a different body"}]}
    assert bd.inspect("/learning-records")["total"] == 1


def test_unknown_fields_are_ignored_and_nulls_mean_absent(bd):
    """bluedrop.md wire conventions: unknown fields are ignored (tolerant)."""
    body = bd.record("r-tolerant", extra={"x": 1}, evaluatorNames=None, learner={"nickname": "Mimi", "homePhone": None})
    assert bd.post(LR, body).status_code == 204
    rec = bd.inspect("/learning-records/r-tolerant")
    assert "extra" not in rec and "nickname" not in rec["learner"] and "homePhone" not in rec["learner"]


def test_matching_across_networks_normalises_names(demo):
    """bluedrop.md "Learner matching": same name (case, accents, spaces) + birth year + a shared contact."""
    north, lake = demo
    assert north.post(LR, north.record("n-1", learner={"firstname": "Zoé", "lastname": "Côté"})).status_code == 204
    first = north.inspect("/learning-records/n-1")
    assert first["matchState"] == "newLearner"
    body = lake.record("l-1", trainingStandardKey="WAH-Refr-E-I", completionDate="2020-01-10T15:00:00.000Z",
                       learner={"firstname": "  ZOE ", "lastname": "cote", "mobilePhone": "9055550000",
                                "homePhone": "9055550001", "address": None})
    assert lake.post(LR, body).status_code == 204
    second = lake.inspect("/learning-records/l-1")
    assert (second["matchState"], second["learnerId"], second["matchedBy"]) == ("matched", first["learnerId"], "cms")
    training = lake.inspect(f"/learners/{first['learnerId']}")["training"]
    assert [(t["trainingStandardKey"], t["networkKey"]) for t in training] == [
        ("WAH-E-I", north.network_key), ("WAH-Refr-E-I", lake.network_key)]
    assert training[1]["flags"] == []


@pytest.mark.parametrize("contact", ["personalEmail", "mobilePhone", "homePhone", "postal-code"])
def test_each_contact_alone_is_enough_to_match(bd, contact):
    """bluedrop.md: a shared contact is the email, either phone, or the postal code."""
    assert bd.post(LR, bd.record("a")).status_code == 204
    learner = {"personalEmail": "other@example.ca", "mobilePhone": "6135550000", "homePhone": "6135550001",
               "address": {"postal-code": "K1A 0B1"}}
    original = bd.record()["learner"]
    if contact == "postal-code":
        learner["address"] = {"postal-code": "m5e1w7"}
    elif contact == "homePhone":
        learner["mobilePhone"] = original["homePhone"]  # either phone matches either phone
    else:
        learner[contact] = original[contact]
    assert bd.post(LR, bd.record("b", learner=learner)).status_code == 204
    assert bd.inspect("/learning-records/b")["matchState"] == "matched"


def test_no_shared_contact_queues_and_an_admin_matches_by_hand(bd):
    """bluedrop.md: same name and birth year, no shared contact → manual match queue; admin matches it."""
    assert bd.post(LR, bd.record("a")).status_code == 204
    learner_id = bd.inspect("/learning-records/a")["learnerId"]
    other = {"personalEmail": "mt85@example.com", "mobilePhone": "2895550101", "homePhone": None,
             "address": {"postal-code": "L8P 4R5", "region": "ON", "country-name": "Canada"}}
    assert bd.post(LR, bd.record("b", learner=other)).status_code == 204
    queued = bd.inspect("/learning-records/b")
    assert (queued["matchState"], queued["learnerId"], queued["queueReason"]) == ("queued", None, "noSharedContact")
    queue = bd.inspect("/match-queue")
    assert queue["total"] == 1 and queue["items"][0]["learningRecordId"] == "b"
    assert [c["learnerId"] for c in queue["items"][0]["candidates"]] == [learner_id]
    matched = bd.act("/learning-records/b/match", {"learnerId": learner_id})
    assert (matched["matchState"], matched["learnerId"], matched["matchedBy"]) == ("matched", learner_id,
                                                                                   "ministryAdmin")
    assert matched["history"][-1]["action"] == "match"
    assert bd.inspect("/match-queue")["total"] == 0
    assert [t["learningRecordId"] for t in bd.inspect(f"/learners/{learner_id}")["training"]] == ["a", "b"]
    r = bd.act("/learning-records/b/match", {"learnerId": learner_id}, expect=409)
    assert r["code"] == "conflict" and r["field"] == "learningRecordId"
    # the new contacts now belong to the learner: a third record with them matches on its own
    assert bd.post(LR, bd.record("c", learner={**other, "mobilePhone": None})).status_code == 204
    assert bd.inspect("/learning-records/c")["learnerId"] == learner_id


def test_admin_creates_a_learner_and_two_sharing_candidates_queue(bd):
    """bluedrop.md: create-learner for a queued record; more than one candidate → queue."""
    assert bd.post(LR, bd.record("a")).status_code == 204
    other = {"personalEmail": "second.marie@example.com", "mobilePhone": "2895550101", "homePhone": None,
             "address": None}
    assert bd.post(LR, bd.record("b", learner=other)).status_code == 204
    created = bd.act("/learning-records/b/create-learner")
    assert created["matchState"] == "newLearner" and created["matchedBy"] == "ministryAdmin"
    assert created["learnerId"] != bd.inspect("/learning-records/a")["learnerId"]
    both = {"personalEmail": "marie.tremblay@example.ca", "mobilePhone": "2895550101", "homePhone": None,
            "address": None}
    assert bd.post(LR, bd.record("c", learner=both)).status_code == 204
    c = bd.inspect("/learning-records/c")
    assert (c["matchState"], c["queueReason"], len(c["candidates"])) == ("queued", "moreThanOneCandidate", 2)
    assert bd.inspect("/learners")["total"] == 2


def test_nobody_with_that_name_is_a_new_learner(bd):
    """bluedrop.md: nobody with that name and birth year → a new learner."""
    assert bd.post(LR, bd.record("a")).status_code == 204
    assert bd.post(LR, bd.record("b", learner={"birthYear": 1986})).status_code == 204
    assert bd.inspect("/learning-records/b")["matchState"] == "newLearner"
    assert bd.inspect("/learners")["total"] == 2


def test_refresher_without_full_course_is_flagged_not_rejected(bd):
    """bluedrop.md "Training status": WAH refresher with no full course → flag refresherWithoutFullCourse."""
    assert bd.post(LR, bd.record("refr", trainingStandardKey="WAH-Refr-E-B")).status_code == 204
    refr = bd.inspect("/learning-records/refr")
    assert refr["flags"] == ["refresherWithoutFullCourse"]
    assert refr["flagDetails"] == [{"flag": "refresherWithoutFullCourse", "message": "WAH refresher for a learner "
                                    "with no full Working at Heights course on file"}]
    assert bd.post(LR, bd.record("full", completionDate="2017-11-21T22:38:15.000Z")).status_code == 204
    assert bd.inspect("/learning-records/refr")["flags"] == []


@pytest.mark.parametrize("part1,flagged", [(None, True), ("2018-01-10T15:00:00.000Z", True),
                                           ("2018-06-10T15:00:00.000Z", False)])
def test_jhsc_part2_without_timely_part1_is_flagged(bd, part1, flagged):
    """bluedrop.md: JHSC 2014 Part 2 > 6 months after Part 1, or with no Part 1 → flagged."""
    if part1:
        assert bd.post(LR, bd.record("p1", trainingStandardKey="JHSC-2014-1-E-I", completionDate=part1)
                       ).status_code == 204
    assert bd.post(LR, bd.record("p2", trainingStandardKey="JHSC-2014-2-E-V")).status_code == 204
    assert bd.inspect("/learning-records/p2")["flags"] == (["jhscPart2WithoutTimelyPart1"] if flagged else [])
    entry = [t for t in bd.inspect("/learners")["items"][0]["training"] if t["learningRecordId"] == "p2"][0]
    assert entry["expiryDate"] is None


def test_support_voids_and_corrects_with_history(bd):
    """bluedrop.md "Support desk": void, correct fields with a reason; history kept."""
    assert bd.post(LR, bd.record("full", completionDate="2017-11-21T22:38:15.000Z")).status_code == 204
    assert bd.post(LR, bd.record("refr", trainingStandardKey="WAH-Refr-E-I")).status_code == 204
    voided = bd.act("/learning-records/full/void", {"reason": "submitted by mistake"})
    assert voided["voided"] is True and voided["voidReason"] == "submitted by mistake"
    assert voided["history"][-1] == {"at": FROZEN_NOW, "action": "void", "by": "bluedropSupport",
                                     "reason": "submitted by mistake"}
    assert bd.inspect("/learning-records/refr")["flags"] == ["refresherWithoutFullCourse"]
    learner_id = voided["learnerId"]
    assert [t["learningRecordId"] for t in bd.inspect(f"/learners/{learner_id}")["training"]] == ["refr"]
    corrected = bd.act("/learning-records/refr/correct", {"fields": {"trainingStandardKey": "WAH-E-I",
                                                                     "learner": {"homePhone": "4165550777"}},
                                                          "reason": "wrong course code"})
    assert corrected["trainingStandardKey"] == "WAH-E-I" and corrected["flags"] == []
    assert corrected["learner"]["homePhone"] == "4165550777"
    assert corrected["history"][-1]["changes"] == {
        "trainingStandardKey": {"from": "WAH-Refr-E-I", "to": "WAH-E-I"},
        "learner.homePhone": {"from": "4165550199", "to": "4165550777"}}
    dotted = bd.act("/learning-records/refr/correct", {"fields": {"learner.address.locality": "North York"},
                                                       "reason": "typo"})
    assert dotted["learner"]["address"]["locality"] == "North York"
    r = bd.act("/learning-records/refr/correct", {"fields": {"learner": {"birthYear": 1800}}, "reason": "x"},
               expect=400)
    assert r["field"] == "fields.learner.birthYear"
    assert bd.act("/learning-records/full/void", {"reason": "again"}, expect=409)["code"] == "conflict"
    assert bd.act("/learning-records/refr/void", {}, expect=400)["field"] == "reason"


# -- validation: one test per rule, exact bodies -------------------------------------------------------

CASES = [
    ("learningRecordId missing", lambda b: without(b, "learningRecordId"),
     [("learningRecordId", "is required; received nothing")]),
    ("learningRecordId too long", lambda b: {**b, "learningRecordId": "x" * 101},
     [("learningRecordId", "must be at most 100 characters; received 101 characters")]),
    ("trainingStandardKey unknown", lambda b: {**b, "trainingStandardKey": "WAH-E-V"},
     [("trainingStandardKey", 'unknown trainingStandardKey: not in the catalogue of 22 keys (e.g. WAH-E-I, '
                              'JHSC-2014-1-E-O); received "WAH-E-V"')]),
    ("completionDate not ISO", lambda b: {**b, "completionDate": "21/11/2018"},
     [("completionDate", 'must be an ISO-8601 date-time with a time zone such as 2018-11-21T22:38:15.000Z; '
                         'received "21/11/2018"')]),
    ("completionDate in the future", lambda b: {**b, "completionDate": "2026-06-16T00:00:00Z"},
     [("completionDate", f'must not be after the current time {FROZEN_NOW}; received "2026-06-16T00:00:00Z"')]),
    ("WAH before the standard", lambda b: {**b, "completionDate": "2015-03-31T12:00:00.000Z"},
     [("completionDate", "must not be before 2015-04-01 (the Working at Heights standard's start) for WAH-E-I; "
                         'received "2015-03-31T12:00:00.000Z"')]),
    ("instructorNames blank name", lambda b: {**b, "instructorNames": "Jane Doe; "},
     [("instructorNames", "must be names separated by '; ' with no blank name; received \"Jane Doe; \"")]),
    ("firstname blank", lambda b: {**b, "learner": {**b["learner"], "firstname": "   "}},
     [("learner.firstname", 'must not be blank; received "   "')]),
    ("birthYear not 4 digits", lambda b: {**b, "learner": {**b["learner"], "birthYear": 85}},
     [("learner.birthYear", "must be a 4-digit year (an integer); received 85")]),
    ("birthYear a string", lambda b: {**b, "learner": {**b["learner"], "birthYear": "1985"}},
     [("learner.birthYear", 'must be a 4-digit year (an integer); received "1985"')]),
    ("too young", lambda b: {**b, "learner": {**b["learner"], "birthYear": 2005}},
     [("learner.birthYear", "learner must be 14 to 100 years old in the completion year 2018; received 2005 "
                            "(age 13)")]),
    ("too old", lambda b: {**b, "learner": {**b["learner"], "birthYear": 1917}},
     [("learner.birthYear", "learner must be 14 to 100 years old in the completion year 2018; received 1917 "
                            "(age 101)")]),
    ("email", lambda b: {**b, "learner": {**b["learner"], "personalEmail": "marie@"}},
     [("learner.personalEmail", 'must be a valid email address; received "marie@"')]),
    ("phone", lambda b: {**b, "learner": {**b["learner"], "mobilePhone": "416-555-0123"}},
     [("learner.mobilePhone", 'must be exactly 10 digits; received "416-555-0123"')]),
    ("no contact", lambda b: {**b, "learner": {k: v for k, v in b["learner"].items()
                                               if k not in ("personalEmail", "mobilePhone", "homePhone")}},
     [("learner", "at least one contact is required (personalEmail, mobilePhone or homePhone): the ministry "
                  "matches learners on it; received none")]),
    ("postal code", lambda b: {**b, "learner": {**b["learner"], "address": {**b["learner"]["address"],
                                                                           "postal-code": "90210"}}},
     [("learner.address.postal-code", 'must be a Canadian postal code such as K1A 0B1 (space optional) when '
                                      'country-name is Canada; received "90210"')]),
    ("province", lambda b: {**b, "learner": {**b["learner"], "address": {**b["learner"]["address"],
                                                                        "region": "Ontario"}}},
     [("learner.address.region", "must be a province or territory code (AB, BC, MB, NB, NL, NS, NT, NU, ON, PE, "
                                 'QC, SK, YT) when country-name is Canada; received "Ontario"')]),
    ("learner not an object", lambda b: {**b, "learner": "Marie"},
     [("learner", 'must be an object; received "Marie"')]),
]


@pytest.mark.parametrize("mutate,errors", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_answers_400_invalid_naming_field_rule_and_value(bd, mutate, errors):
    """bluedrop.md §1 field table; error body per "Wire conventions"."""
    r = bd.post(LR, mutate(bd.record()))
    assert r.status_code == 400
    assert r.json() == invalid(*errors)


def test_every_failing_field_in_one_answer(bd):
    """bluedrop.md: 400 invalid lists every failing field, not just the first."""
    body = bd.record(learningRecordId=7, completionDate="yesterday", trainingStandardKey="WAH-NOPE",
                     learner={"birthYear": 19850, "homePhone": "123",
                              "address": {"postal-code": "ABC", "region": "ON", "country-name": "Canada"}})
    r = bd.post(LR, body)
    assert r.status_code == 400
    assert [e["key"] for e in r.json()["errors"]] == [
        "learningRecordId", "trainingStandardKey", "completionDate", "learner.birthYear", "learner.homePhone",
        "learner.address.postal-code"]


def test_networkkey_of_another_network_is_403(demo):
    """bluedrop.md: a networkKey that is not the credential's own network → 403 forbidden."""
    north, lake = demo
    r = north.post(LR, north.record(networkKey=lake.network_key))
    assert r.status_code == 403
    message = (f"networkKey '{lake.network_key}' is not this API key's network ({north.network_key}); a provider "
               f"may only write to its own network")
    assert r.json() == {"code": "forbidden", "message": message, "errors": [{"key": "networkKey", "message": message}]}


@pytest.mark.parametrize("header,message", [
    (None, "Authorization header is required: bln type=api,version=1,entity=network,key=<apiKey>,secret=<apiSecret>"),
    ("Bearer abc", 'Authorization scheme must be bln; received "Bearer"'),
    ("bln type=api,version=1,entity=network,key=nope,secret=nope", "unknown API key or wrong secret"),
    ("bln type=api,version=1,entity=network,key=KEY", "Authorization must carry secret= (bln type=api,version=1,"
                                                      "entity=network,key=<apiKey>,secret=<apiSecret>)"),
])
def test_missing_or_wrong_credentials_are_401(bd, header, message):
    """bluedrop.md: missing or wrong key/secret → 401 unauthorized."""
    header = header and header.replace("KEY", bd.network["apiKey"])
    r = bd.post(LR, bd.record(), auth=header)
    assert r.status_code == 401
    assert r.json() == {"code": "unauthorized", "message": message}


def test_wrong_secret_is_401(bd):
    """bluedrop.md: wrong secret → 401."""
    r = bd.post(LR, bd.record(), auth=f"bln type=api,version=1,entity=network,key={bd.network['apiKey']},secret=x")
    assert (r.status_code, r.json()["code"]) == (401, "unauthorized")


def test_authorization_tolerates_order_spaces_and_token(bd):
    """bluedrop.md: a token= parameter may be present and is ignored (vendor client code)."""
    n = bd.network
    header = f"bln  secret={n['apiSecret']} , token=abc.def ,key={n['apiKey']}, entity=network,version=1,type=api"
    assert bd.post(LR, bd.record(), auth=header).status_code == 204


@pytest.mark.parametrize("kwargs,status,body", [
    ({"data": "learningRecordId=1", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415,
     {"code": "unsupportedMediaType",
      "message": 'Content-Type must be application/json; received "application/x-www-form-urlencoded"'}),
    ({"data": "{not json", "headers": {"Content-Type": "application/json"}}, 400,
     invalid(("body", "must be valid JSON; received a body that does not parse"))),
    ({"data": "[1, 2]", "headers": {"Content-Type": "application/json"}}, 400,
     invalid(("body", "must be a JSON object; received [1, 2]"))),
    ({"data": "", "headers": {"Content-Type": "application/json"}}, 400,
     invalid(("body", "a JSON object is required; received an empty body"))),
])
def test_body_that_is_not_a_json_object(bd, kwargs, status, body):
    """bluedrop.md: 415 not JSON; 400 invalid for a body that does not parse."""
    r = bd.call("POST", LR, **kwargs)
    assert (r.status_code, r.json()) == (status, body)


def test_body_over_one_mib_is_413(bd):
    """bluedrop.md: 413 body over 1 MiB."""
    r = bd.call("POST", LR, data='{"x": "' + "a" * (1024 * 1024) + '"}', headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json() == {"code": "tooLarge", "message": "request body is 1048585 bytes; the limit is 1048576 bytes "
                                                       "(1 MiB)"}


def test_oversized_body_is_413_before_authentication_and_when_chunked(bd):
    """bluedrop.md: 413 body over 1 MiB (a declared size is refused at once, even without credentials)."""
    big = '{"x": "' + "a" * (1024 * 1024) + '"}'
    r = bd.call("POST", LR, data=big, headers={"Content-Type": "application/json"}, auth=None)
    assert (r.status_code, r.json()["code"]) == (413, "tooLarge")
    chunks = iter([big[i:i + 65536].encode() for i in range(0, len(big), 65536)])
    r = bd.call("POST", LR, data=chunks, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json() == {"code": "tooLarge", "message": "request body is over the 1048576 byte (1 MiB) limit"}


def test_wrong_method_is_405_and_unknown_path_404(bd):
    """bluedrop.md: there is no GET, PATCH or DELETE for learning records; 405 in the same body form."""
    r = bd.call("GET", LR)
    assert (r.status_code, r.json()) == (405, {"code": "methodNotAllowed", "message": "method GET is not allowed "
                                                                                      "on /api-v2/learning-records; "
                                                                                      "allowed: POST"})
    assert r.headers["Allow"] == "POST"
    r = bd.call("DELETE", LR + "/abc")
    assert (r.status_code, r.json()) == (404, {"code": "notFound",
                                               "message": "no such resource: DELETE /api-v2/learning-records/abc"})
    r = bd.call("GET", "/api-v2/learners")
    assert (r.status_code, r.json()) == (404, {"code": "notFound", "message": "no such resource: GET /api-v2/learners"})


def test_internal_error_preset_and_journal(bd):
    """control-plane.md Faults: preset bluedrop.internal-error → 500 internal; every call journaled."""
    requests = __import__("requests")
    r = requests.post(bd.control + "/faults", json={"matcher": {"system": "bluedrop",
                                                                "operation": "createLearningRecord"},
                                                    "effect": {"preset": "bluedrop.internal-error"}, "times": 1},
                      timeout=10)
    assert r.status_code == 201, r.text
    r = bd.post(LR, bd.record())
    assert (r.status_code, r.json()) == (500, {"code": "internal",
                                               "message": "An internal error occurred; please try again later"})
    assert bd.post(LR, bd.record()).status_code == 204
    entries = requests.get(bd.control + "/journal", params={"operation": "bluedrop.createLearningRecord"},
                           timeout=10).json()["items"]
    assert [e["status"] for e in entries] == [204, 500]
    assert bd.network["apiSecret"] not in str(entries)
