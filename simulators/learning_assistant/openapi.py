"""OpenAPI for Learning Assistant's control routes (``SYSTEM.openapi_paths``)."""

from __future__ import annotations

from typing import Any

from ..control.openapi import PAGE, SID, listing_of, op, ref

TAG = "learning-assistant"
P = "/learning-assistant"
CANDIDATE = {"name": "candidateUUID", "in": "path", "required": True, "schema": {"type": "string"}}
OUTCOME = {"name": "outcomeUUID", "in": "path", "required": True, "schema": {"type": "string"}}

_SUMMARY_PROPS = {
    "candidateUUID": {"type": "string"}, "sourceSystemLearnerUUID": {"type": "string"},
    "forename": {"type": "string"}, "surname": {"type": "string"}, "uln": {"type": "string"},
    "courseUUID": {"type": "string"}, "courseQAN": {"type": "string", "nullable": True},
    "startDate": {"type": "string", "format": "date"}, "plannedEndDate": {"type": "string", "format": "date"},
    "status": {"type": "string", "enum": ["Active", "Completed"]}, "test": {"type": "boolean"},
    "percentComplete": {"type": "integer"}, "targetPercent": {"type": "integer"},
    "progressStatus": {"type": "string", "enum": ["ON_TRACK", "BEHIND", "COMPLETE"]},
    "enrolledAt": {"type": "string"}, "updatedAt": {"type": "string"}}

SCHEMAS: dict[str, Any] = {
    "LACandidateSummary": {"type": "object", "required": list(_SUMMARY_PROPS), "properties": _SUMMARY_PROPS},
    "LACandidate": {"type": "object", "required": [*_SUMMARY_PROPS, "record", "history", "progress", "emails"],
                    "properties": {**_SUMMARY_PROPS, "courseTitle": {"type": "string", "nullable": True},
                                   "assignEvaluation": {"type": "boolean"},
                                   "record": {"type": "object", "description": "the enrolment as stored, wire names"},
                                   "history": {"type": "array", "items": {
                                       "type": "object", "required": ["at", "action", "changes"],
                                       "properties": {"at": {"type": "string"},
                                                      "action": {"type": "string", "enum": ["enrolled", "updated"]},
                                                      "changes": {"type": "object"}}}},
                                   "emails": {"type": "array", "items": {"type": "object"}},
                                   "progress": {"type": "object", "required": ["percentComplete", "targetPercent",
                                                                               "status", "units"],
                                                "properties": {"percentComplete": {"type": "integer"},
                                                               "targetPercent": {"type": "integer"},
                                                               "status": {"type": "string"},
                                                               "outcomesMet": {"type": "integer"},
                                                               "outcomesTotal": {"type": "integer"},
                                                               "units": {"type": "array",
                                                                         "items": {"type": "object"}}}}}},
    "LAAutoProgress": {"type": "object", "required": ["enabled"],
                       "properties": {"enabled": {"type": "boolean"},
                                      "frozenAt": {"type": "string", "nullable": True}}},
}

CONTROL_PATHS: dict[str, Any] = {
    "schemas": SCHEMAS,
    "paths": {
        P + "/candidates": {"get": op(
            "Candidates (newest first) with course and progress; ?course= CourseUUID or QAN, ?q= name/ULN/id",
            tag=TAG, schema=listing_of(ref("LACandidateSummary")), errors=(400, 404),
            params=[*PAGE, {"name": "course", "in": "query", "schema": {"type": "string"}},
                    {"name": "q", "in": "query", "schema": {"type": "string"}}])},
        P + "/candidates/{candidateUUID}": {"parameters": [SID, CANDIDATE], "get": op(
            "One candidate: enrolment record, history, full progress, login emails", tag=TAG,
            schema=ref("LACandidate"))},
        P + "/candidates/{candidateUUID}/outcomes/{outcomeUUID}/met": {"parameters": [SID, CANDIDATE, OUTCOME], "post": {
            **op("Mark an outcome met (as the assessor signs it off); idempotent. Optional {\"dateMet\": yyyy-mm-dd}",
                 tag=TAG, schema=ref("LACandidate"), errors=(400, 404, 413)),
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "properties": {"dateMet": {"type": "string", "format": "date"}},
                "additionalProperties": False}}}}}},
        P + "/auto-progress": {
            "get": op("Whether auto-progress is on", tag=TAG, schema=ref("LAAutoProgress")),
            "post": op("Turn auto-progress on or off: learners meet outcomes steadily from StartDate to "
                       "PlannedEndDate as the sandbox clock moves", tag=TAG, schema=ref("LAAutoProgress"),
                       errors=(400, 404), body={"type": "object", "required": ["enabled"],
                                                "properties": {"enabled": {"type": "boolean"}},
                                                "additionalProperties": False})},
        P + "/reference": {"get": op("Frameworks (units, outcomes), trainers and companies of the sandbox", tag=TAG,
                                     schema={"type": "object", "required": ["frameworks", "trainers", "companies"]})},
    },
}
