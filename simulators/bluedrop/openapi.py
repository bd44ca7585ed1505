"""OpenAPI for Bluedrop: its control routes (``CONTROL_PATHS``, merged into ``/_sim/openapi.json``) and the
Bluedrop360 API v2 itself (``API_DOCUMENT``, served at ``/_sim/openapi/bluedrop.json``: request schemas and
every answer's status with its body schema, so a fuzzer can hold each answer to it)."""

from __future__ import annotations

from typing import Any

from ..control.openapi import PAGE, SID, listing_of, op, ref
from .cms import catalogue
from .schemas import ADDRESS_FIELDS, DELIVERY_METHODS, PRICE_MAX

TAG = "bluedrop"


def _param(name: str, where: str = "path", description: str = "") -> dict[str, Any]:
    out = {"name": name, "in": where, "required": where == "path", "schema": {"type": "string"}}
    if description:
        out["description"] = description
    return out


NETWORK_Q = _param("networkKey", "query", "which network, when the id exists in more than one")
RID = _param("learningRecordId")
LID = _param("learnerId")
NULLABLE_STR = {"type": "string", "nullable": True}

CONTROL_SCHEMAS: dict[str, Any] = {
    "BluedropHistoryEntry": {"type": "object", "required": ["at", "action", "by"], "properties": {
        "at": {"type": "string"}, "action": {"type": "string",
                                             "enum": ["received", "void", "correct", "match", "createLearner"]},
        "by": {"type": "string"}, "reason": {"type": "string"}, "matchState": {"type": "string"},
        "learnerId": {"type": "string"}, "queueReason": {"type": "string"}, "changes": {"type": "object"}}},
    "BluedropLearnerSummary": {"type": "object", "required": ["learnerId", "firstname", "lastname", "birthYear"],
                               "properties": {
                                   "learnerId": {"type": "string"}, "firstname": {"type": "string"},
                                   "lastname": {"type": "string"}, "birthYear": {"type": "integer"},
                                   "contacts": {"type": "object", "properties": {
                                       k: {"type": "array", "items": {"type": "string"}}
                                       for k in ("emails", "phones", "postals")}},
                                   "createdAt": {"type": "string"}, "createdByNetwork": {"type": "string"}}},
    "BluedropLearningRecord": {
        "type": "object",
        "required": ["learningRecordId", "networkKey", "trainingStandardKey", "completionDate", "matchState",
                     "learnerId", "flags", "voided"],
        "properties": {
            "learningRecordId": {"type": "string"}, "networkKey": {"type": "string"},
            "trainingStandardKey": {"type": "string"}, "courseName": NULLABLE_STR,
            "completionDate": {"type": "string"}, "expiryDate": NULLABLE_STR, "externalClassId": NULLABLE_STR,
            "instructorNames": NULLABLE_STR, "evaluatorNames": NULLABLE_STR, "learner": {"type": "object"},
            "matchState": {"type": "string", "enum": ["matched", "queued", "newLearner"]},
            "matchedBy": {"type": "string", "nullable": True, "enum": ["cms", "ministryAdmin", None]},
            "learnerId": NULLABLE_STR, "queueReason": {"type": "string", "nullable": True,
                                                       "enum": ["noSharedContact", "moreThanOneCandidate", None]},
            "flags": {"type": "array", "items": {"type": "string",
                                                 "enum": ["refresherWithoutFullCourse", "jhscPart2WithoutTimelyPart1"]}},
            "flagDetails": {"type": "array", "items": {"type": "object", "required": ["flag", "message"],
                                                       "properties": {"flag": {"type": "string"},
                                                                      "message": {"type": "string"}}}},
            "voided": {"type": "boolean"}, "voidReason": NULLABLE_STR, "receivedAt": {"type": "string"},
            "updatedAt": {"type": "string"},
            "candidates": {"type": "array", "items": ref("BluedropLearnerSummary")},
            "history": {"type": "array", "items": ref("BluedropHistoryEntry")}}},
    "BluedropTrainingEntry": {"type": "object", "required": ["trainingStandardKey", "completionDate", "expiryDate",
                                                             "learningRecordId"], "properties": {
        "trainingStandardKey": {"type": "string"}, "courseName": NULLABLE_STR, "completionDate": {"type": "string"},
        "expiryDate": NULLABLE_STR, "status": {"type": "string", "enum": ["valid", "expired"]},
        "learningRecordId": {"type": "string"}, "networkKey": {"type": "string"},
        "flags": {"type": "array", "items": {"type": "string"}}}},
    "BluedropLearner": {"allOf": [ref("BluedropLearnerSummary"), {
        "type": "object", "required": ["training"],
        "properties": {"training": {"type": "array", "items": ref("BluedropTrainingEntry")}}}]},
    "BluedropOffering": {"type": "object", "required": ["offeringId", "networkKey", "trainingStandardKey", "deleted"],
                         "properties": {"offeringId": {"type": "string"}, "networkKey": {"type": "string"},
                                        "trainingStandardKey": {"type": "string"}, "courseName": {"type": "string"},
                                        "deleted": {"type": "boolean"}, "createdAt": {"type": "string"},
                                        "updatedAt": {"type": "string"}, "deletedAt": NULLABLE_STR},
                         "additionalProperties": True},
    "BluedropMarketplaceItem": {"type": "object", "required": ["type", "offeringId", "networkKey", "courseName",
                                                               "availability"],
                                "properties": {"type": {"type": "string", "enum": ["class", "online"]},
                                               "offeringId": {"type": "string"}, "networkKey": {"type": "string"},
                                               "courseName": {"type": "string"},
                                               "seatsRemaining": {"type": "integer"}, "full": {"type": "boolean"},
                                               "availability": {"type": "string"},
                                               "priceLabel": {"type": "string"}},
                                "additionalProperties": True},
}

REC = ref("BluedropLearningRecord")
CONTROL_PATHS: dict[str, Any] = {"schemas": CONTROL_SCHEMAS, "paths": {
    "/bluedrop/learning-records": {"get": op(
        "Learning records in the CMS with matchState, learnerId, flags, voided", tag=TAG,
        schema=listing_of(REC), errors=(400, 404),
        params=PAGE + [_param("networkKey", "query"), {"name": "matchState", "in": "query", "schema": {
            "type": "string", "enum": ["matched", "queued", "newLearner"]}}, _param("learnerId", "query"),
            {"name": "voided", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]}}])},
    "/bluedrop/learning-records/{learningRecordId}": {"parameters": [SID, RID], "get": op(
        "One learning record with its history (and candidates while queued)", tag=TAG, schema=REC,
        errors=(400, 404), params=[NETWORK_Q])},
    "/bluedrop/learning-records/{learningRecordId}/void": {"parameters": [SID, RID], "post": op(
        "Support desk: void a record (leaves the learner's training and the match queue)", tag=TAG, schema=REC,
        errors=(400, 404, 409), params=[NETWORK_Q],
        body={"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"},
                                                                        "networkKey": {"type": "string"}}})},
    "/bluedrop/learning-records/{learningRecordId}/correct": {"parameters": [SID, RID], "post": op(
        "Support desk: correct fields of a record (re-validated whole) with a reason; kept in history", tag=TAG,
        schema=REC, errors=(400, 404, 409), params=[NETWORK_Q],
        body={"type": "object", "required": ["fields", "reason"], "properties": {
            "fields": {"type": "object"}, "reason": {"type": "string"}, "networkKey": {"type": "string"}}})},
    "/bluedrop/match-queue": {"get": op(
        "Ministry admin: records waiting for a manual match, with their candidates", tag=TAG,
        schema=listing_of(REC), errors=(400, 404), params=PAGE + [_param("networkKey", "query")])},
    "/bluedrop/learning-records/{learningRecordId}/match": {"parameters": [SID, RID], "post": op(
        "Ministry admin: match a queued record to an existing learner", tag=TAG, schema=REC,
        errors=(400, 404, 409), params=[NETWORK_Q],
        body={"type": "object", "required": ["learnerId"], "properties": {"learnerId": {"type": "string"},
                                                                           "networkKey": {"type": "string"}}})},
    "/bluedrop/learning-records/{learningRecordId}/create-learner": {"parameters": [SID, RID], "post": op(
        "Ministry admin: create a new learner for a queued record", tag=TAG, schema=REC, errors=(400, 404, 409),
        params=[NETWORK_Q])},
    "/bluedrop/learners": {"get": op(
        "Learners of the ministry registry (every network of the sandbox), each with training entries", tag=TAG,
        schema=listing_of(ref("BluedropLearner")), errors=(400, 404),
        params=PAGE + [_param("name", "query", "part of a normalised first or last name")])},
    "/bluedrop/learners/{learnerId}": {"parameters": [SID, LID], "get": op(
        "One learner with training entries (trainingStandardKey, completionDate, expiryDate, learningRecordId)",
        tag=TAG, schema=ref("BluedropLearner"))},
    "/bluedrop/class-offerings": {"get": op(
        "Class offerings (deleted ones too, marked)", tag=TAG, schema=listing_of(ref("BluedropOffering")),
        errors=(400, 404), params=PAGE + [_param("networkKey", "query"), {
            "name": "deleted", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]}}])},
    "/bluedrop/online-offerings": {"get": op(
        "Online offerings (deleted ones too, marked)", tag=TAG, schema=listing_of(ref("BluedropOffering")),
        errors=(400, 404), params=PAGE + [_param("networkKey", "query"), {
            "name": "deleted", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]}}])},
    "/bluedrop/marketplace": {"get": op(
        "The MLTSD Marketplace as the public sees it: not deleted, first session after the end of today; "
        "'Full' at 0 seats", tag=TAG, schema=listing_of(ref("BluedropMarketplaceItem")), errors=(400, 404),
        params=PAGE)},
}}


# -- the Bluedrop360 API v2 document ------------------------------------------------------------------

def _str(max_length: int = 255, **kw: Any) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": r"\S", **kw}


KEYS = sorted(catalogue())
DATETIME = {"type": "string", "format": "date-time", "example": "2018-11-21T22:38:15.000Z"}
URL = {"type": "string", "format": "uri", "maxLength": 2048, "example": "https://booking.example.ca/wah"}
MONEY = {"type": "number", "minimum": 0, "maximum": PRICE_MAX, "multipleOf": 0.01}
PHONE = {"type": "string", "pattern": r"^\d{10}$", "example": "4165550123", "nullable": True}

API_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string", "enum": ["invalid", "general", "unauthorized", "forbidden", "notFound",
                                            "methodNotAllowed", "tooLarge", "unsupportedMediaType", "internal"]},
        "message": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "required": ["key", "message"], "properties": {
            "key": {"type": "string", "example": "learner.birthYear"}, "message": {"type": "string"}}}}}},
    "Address": {"type": "object", "description": "hCard address; hyphenated keys. When country-name is Canada, "
                                                 "postal-code (A1A 1A1) and region (province code) are required.",
                "properties": {name: {"type": "string", "maxLength": 255, "nullable": True}
                               for name in ADDRESS_FIELDS}},
    "Learner": {"type": "object", "required": ["uniqueId", "firstname", "lastname", "birthYear"],
                "description": "At least one of personalEmail, mobilePhone, homePhone is required.",
                "properties": {"uniqueId": _str(100), "firstname": _str(100), "lastname": _str(100),
                               "birthYear": {"type": "integer", "minimum": 1000, "maximum": 9999, "example": 1985},
                               "personalEmail": {"type": "string", "format": "email", "maxLength": 254,
                                                 "nullable": True},
                               "mobilePhone": PHONE, "homePhone": PHONE,
                               "address": {"allOf": [{"$ref": "#/components/schemas/Address"}], "nullable": True}}},
    "LearningRecord": {"type": "object", "required": ["learningRecordId", "networkKey", "trainingStandardKey",
                                                      "completionDate", "instructorNames", "learner"],
                       "properties": {
                           "learningRecordId": _str(100),
                           "networkKey": _str(100, example="pro-10001",
                                              description="the caller's own network (403 otherwise)"),
                           "trainingStandardKey": {"type": "string", "enum": KEYS},
                           "completionDate": DATETIME, "externalClassId": {**_str(100), "nullable": True},
                           "instructorNames": _str(2000, example="Jane Doe; John Roe"),
                           "evaluatorNames": {**_str(2000), "nullable": True},
                           "learner": {"$ref": "#/components/schemas/Learner"}}},
    "Event": {"type": "object", "required": ["start", "end"],
              "properties": {"start": DATETIME, "end": DATETIME}},
}
NETWORK_KEY = _str(100, example="pro-10001", description="the caller's own network (403 otherwise)")
_CLASS_PROPS = {
    "offeringId": _str(100), "networkKey": NETWORK_KEY, "trainingStandardKey": {"type": "string", "enum": [
        k for k, v in catalogue().items() if v["classOffering"]]},
    "deliveryMethod": {"type": "string", "enum": list(DELIVERY_METHODS)}, "courseName": _str(255),
    "seatsRemaining": {"type": "integer", "minimum": 0, "maximum": 100_000},
    "contactForPricing": {"type": "boolean", "nullable": True}, "price": {**MONEY, "nullable": True},
    "address": {"allOf": [{"$ref": "#/components/schemas/Address"}], "nullable": True},
    "events": {"type": "array", "minItems": 1, "maxItems": 50, "items": {"$ref": "#/components/schemas/Event"}},
    "externalRegistrationUrl": URL, "virtualClassUrl": {**URL, "nullable": True},
}
_ONLINE_PROPS = {
    "offeringId": _str(100), "networkKey": NETWORK_KEY,
    "trainingStandardKey": {"type": "string", "enum": [k for k, v in catalogue().items() if v["onlineOffering"]]},
    "courseName": _str(255), "price": MONEY,
    "courseDuration": {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": 100, "example": 2.5},
    "externalRegistrationUrl": URL,
}
API_SCHEMAS.update({
    "ClassOffering": {"type": "object", "properties": _CLASS_PROPS, "required": [
        "offeringId", "networkKey", "trainingStandardKey", "deliveryMethod", "courseName", "seatsRemaining", "events",
        "externalRegistrationUrl"],
        "description": "price unless contactForPricing; address for in-person and blended; virtualClassUrl for "
                       "virtual; sessions end after they start, last at most 24 h and do not overlap."},
    "ClassOfferingPatch": {"type": "object", "required": ["networkKey"], "properties": _CLASS_PROPS,
                           "description": "Any subset; offeringId, trainingStandardKey and deliveryMethod may not "
                                          "change; events replaces the whole list."},
    "OnlineOffering": {"type": "object", "properties": _ONLINE_PROPS, "required": [
        "offeringId", "networkKey", "trainingStandardKey", "courseName", "price", "courseDuration",
        "externalRegistrationUrl"]},
    "OnlineOfferingPatch": {"type": "object", "required": ["networkKey"], "properties": _ONLINE_PROPS},
})


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/Error"}}}}


def _operation(op_id: str, summary: str, *, body: str | None, extra: tuple[int, ...],
               links: tuple[str, ...] = ()) -> dict[str, Any]:
    responses: dict[str, Any] = {"204": {"description": "done (empty body)"}}
    if links:  # a created offering can then be patched and deleted (stateful fuzzing follows these)
        responses["204"]["links"] = {name: {"operationId": name, "parameters": {
            "offeringId": "$request.body#/offeringId"}} for name in links}
    texts = {400: "invalid (every failing field) or general", 401: "unauthorized", 403: "forbidden",
             404: "notFound", 405: "wrong method", 409: "general (conflict)", 413: "body over 1 MiB",
             415: "not JSON", 500: "internal"}
    for code in sorted({400, 401, 403, 405, 500, *extra}):
        responses[str(code)] = _error(texts[code])
    out: dict[str, Any] = {"operationId": op_id, "summary": summary, "tags": [TAG], "responses": responses,
                           "security": [{"bln": []}]}
    if body:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
            "$ref": f"#/components/schemas/{body}"}}}}
    return out


OFFERING_ID = {"name": "offeringId", "in": "path", "required": True, "schema": {"type": "string"}}
DELETE_NETWORK = {"name": "networkKey", "in": "query", "required": False, "schema": {"type": "string"},
                  "description": "if given, must be the credential's own network"}
API_DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Bluedrop360 API v2 network (simulated)", "version": "2",
             "description": "Learning Record API (MOL/MLTSD Certificate Management System), Class Offering API and "
                            "Online Offering API (MLTSD Marketplace). Authorization: bln type=api,version=1,"
                            "entity=network,key=<apiKey>,secret=<apiSecret>."},
    "servers": [{"url": "/"}],
    "paths": {
        "/api-v2/learning-records": {"post": _operation(
            "createLearningRecord", "Add a learning record to the CMS (identical retry: 204 again)",
            body="LearningRecord", extra=(409, 413, 415))},
        "/api-v2/class-offerings": {"post": _operation(
            "createClassOffering", "Add a class offering to the MLTSD Marketplace", body="ClassOffering",
            extra=(409, 413, 415), links=("updateClassOffering", "deleteClassOffering"))},
        "/api-v2/class-offerings/{offeringId}": {
            "parameters": [OFFERING_ID],
            "patch": _operation("updateClassOffering", "Patch a class offering", body="ClassOfferingPatch",
                                extra=(404, 413, 415)),
            "delete": {**_operation("deleteClassOffering", "Delete a class offering", body=None, extra=(404,)),
                       "parameters": [DELETE_NETWORK]}},
        "/api-v2/online-offerings": {"post": _operation(
            "createOnlineOffering", "Add an online offering to the MLTSD Marketplace", body="OnlineOffering",
            extra=(409, 413, 415), links=("updateOnlineOffering", "deleteOnlineOffering"))},
        "/api-v2/online-offerings/{offeringId}": {
            "parameters": [OFFERING_ID],
            "patch": _operation("updateOnlineOffering", "Patch an online offering", body="OnlineOfferingPatch",
                                extra=(404, 413, 415)),
            "delete": {**_operation("deleteOnlineOffering", "Delete an online offering", body=None, extra=(404,)),
                       "parameters": [DELETE_NETWORK]}},
    },
    "components": {"schemas": API_SCHEMAS, "securitySchemes": {"bln": {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": "bln type=api,version=1,entity=network,key=<apiKey>,secret=<apiSecret>"}}},
}
