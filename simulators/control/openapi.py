"""The control plane's OpenAPI 3 document (``/_sim/openapi.json``) and its offline docs page.

Platform routes are declared here; each system adds its own control routes through
``System.openapi_paths``. The same document drives the docs page and the schemathesis fuzzing.
"""

from __future__ import annotations

from typing import Any

from .. import __version__

ERROR = {"$ref": "#/components/schemas/Error"}
SID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
PAGE = [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 2**53}}]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def listing_of(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["items", "total"],
            "properties": {"items": {"type": "array", "items": schema}, "total": {"type": "integer"}}}


def op(summary: str, *, tag: str, ok: int = 200, schema: dict[str, Any] | None = None,
       body: dict[str, Any] | None = None, errors: tuple[int, ...] = (404,), params: list[dict] | None = None,
       extra: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One operation: its success answer, its error answers, its JSON body."""
    responses: dict[str, Any] = {}
    if ok == 204:
        responses["204"] = {"description": "done"}
    else:
        responses[str(ok)] = {"description": "ok", "content": {"application/json": {"schema": schema or {}}}}
    for code in sorted(set(errors) | {401}):
        responses[str(code)] = {"description": "error", "content": {"application/json": {"schema": ERROR}}}
    for code, sch in (extra or {}).items():
        responses[str(code)] = {"description": "see summary", "content": {"application/json": {"schema": sch}}}
    out: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if params:
        out["parameters"] = params
    if body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        if "400" not in responses:
            responses["400"] = {"description": "invalid", "content": {"application/json": {"schema": ERROR}}}
        responses.setdefault("413", {"description": "too large", "content": {"application/json": {"schema": ERROR}}})
    return out


SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["code", "message"],
              "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}},
    "SandboxSummary": {"type": "object", "required": ["id", "name", "seed", "fixtures"],
                       "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                                      "seed": {"type": "integer"}, "fixtures": {"type": "string"},
                                      "createdAt": {"type": "string"}}},
    "Sandbox": {"type": "object", "required": ["id", "name", "seed", "fixtures", "baseUrls", "credentials"],
                "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "seed": {"type": "integer"},
                               "fixtures": {"type": "string", "enum": ["demo", "empty"]},
                               "createdAt": {"type": "string"},
                               "baseUrls": {"type": "object", "additionalProperties": {"type": "string"}},
                               "credentials": {"type": "object"}}},
    "Clock": {"type": "object", "required": ["now", "frozen", "offsetSeconds"],
              "properties": {"now": {"type": "string", "format": "date-time"}, "frozen": {"type": "boolean"},
                             "offsetSeconds": {"type": "number"},
                             "pending": {"type": "array", "description": "due work still scheduled, soonest first",
                                         "items": {"type": "object", "required": ["dueAt", "kind"],
                                                   "properties": {"dueAt": {"type": "string"},
                                                                  "kind": {"type": "string"},
                                                                  "ref": {"type": "string"}}}}}},
    "JournalEntry": {"type": "object", "required": ["id", "at", "system", "operation", "method", "path", "status"],
                     "properties": {"id": {"type": "integer"}, "at": {"type": "string"},
                                    "wallTime": {"type": "string"}, "system": {"type": "string"},
                                    "operation": {"type": "string"}, "method": {"type": "string"},
                                    "path": {"type": "string"}, "status": {"type": "integer"},
                                    "durationMs": {"type": "number"}, "request": {"type": "object"},
                                    "response": {"type": "object"}}},
    "Verification": {"type": "object", "required": ["matched", "ok"],
                     "properties": {"matched": {"type": "integer"}, "ok": {"type": "boolean"},
                                    "expected": {"type": "object"},
                                    "nearestMisses": {"type": "array", "items": {"type": "object"}}}},
    "Fault": {"type": "object", "required": ["id", "matcher", "effect", "hits"],
              "properties": {"id": {"type": "string"}, "matcher": {"type": "object"}, "effect": {"type": "object"},
                             "hits": {"type": "integer"}, "times": {"type": "integer"},
                             "remaining": {"type": "integer"}, "probability": {"type": "number"},
                             "seed": {"type": "integer"}, "createdAt": {"type": "string"}}},
    "Snapshot": {"type": "object", "required": ["name"],
                 "properties": {"name": {"type": "string"}, "createdAt": {"type": "string"},
                                "rows": {"type": "integer"}, "restored": {"type": "boolean"}}},
    "Delivery": {"type": "object", "required": ["id", "system", "purpose", "url", "outcome"],
                 "properties": {"id": {"type": "string"}, "system": {"type": "string"},
                                "purpose": {"type": "string"}, "subject": {"type": "string"},
                                "url": {"type": "string"}, "params": {"type": "object"},
                                "status": {"type": "integer", "nullable": True}, "body": {"type": "string"},
                                "outcome": {"type": "string", "enum": ["delivered", "failed"]},
                                "reason": {"type": "string"}, "attempt": {"type": "integer"},
                                "durationMs": {"type": "number"}, "at": {"type": "string"}}},
    "Email": {"type": "object", "required": ["id", "to", "subject", "link", "linkExpiresAt", "expired"],
              "properties": {"id": {"type": "string"}, "to": {"type": "string"}, "subject": {"type": "string"},
                             "body": {"type": "string"}, "link": {"type": "string"},
                             "linkExpiresAt": {"type": "string"}, "expired": {"type": "boolean"},
                             "sentAt": {"type": "string"}, "sends": {"type": "integer"}}},
}

CLOCK_BODY = {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
              "properties": {"advance": {"oneOf": [{"type": "string"}, {"type": "number"}]},
                             "set": {"type": "string", "format": "date-time"},
                             "freeze": {"type": "boolean"}, "reset": {"type": "boolean", "enum": [True]}}}
FAULT_BODY = {"type": "object", "required": ["matcher", "effect"],
              "properties": {"matcher": {"type": "object", "properties": {
                  "system": {"type": "string"}, "operation": {"type": "string"}}},
                  "effect": {"type": "object", "properties": {
                      "status": {"type": "integer"}, "body": {}, "latencyMs": {"type": "number"},
                      "drop": {"type": "boolean"}, "preset": {"type": "string"}}},
                  "times": {"type": "integer", "minimum": 1},
                  "probability": {"type": "number", "minimum": 0, "maximum": 1}, "seed": {"type": "integer"}}}
VERIFY_BODY = {"type": "object", "properties": {
    "matcher": {"type": "object"}, "expect": {"type": "object"}, "system": {"type": "string"},
    "operation": {"type": "string"}, "status": {"type": "integer"}, "bodyContains": {"type": "string"},
    "count": {"type": "integer"}, "atLeast": {"type": "integer"}, "atMost": {"type": "integer"}}}

S = "/_sim/sandboxes/{id}"

PLATFORM_PATHS: dict[str, Any] = {
    "/_sim/health": {"get": {"summary": "Health for container checks", "tags": ["meta"], "responses": {
        "200": {"description": "ok", "content": {"application/json": {"schema": {
            "type": "object", "required": ["status", "version", "systems"],
            "properties": {"status": {"type": "string"}, "version": {"type": "string"},
                           "systems": {"type": "array", "items": {"type": "string"}}}}}}}}}},
    "/_sim/sandboxes": {
        "get": op("List sandboxes", tag="sandboxes", schema=listing_of(ref("SandboxSummary")), errors=(400,),
                  params=PAGE),
        "post": op("Create a sandbox; answers its credentials and base URLs", tag="sandboxes", ok=201,
                   schema=ref("Sandbox"), errors=(400,),
                   body={"type": "object", "properties": {"name": {"type": "string"}, "seed": {"type": "integer"},
                                                          "fixtures": {"type": "string", "enum": ["demo", "empty"]}}}),
    },
    "/_sim/reset": {"post": op("Reset every sandbox to its seeded state", tag="sandboxes", errors=(),
                               schema={"type": "object", "properties": {"reset": {"type": "integer"}}})},
    S: {"parameters": [SID],
        "get": op("A sandbox with credentials and base URLs", tag="sandboxes", schema=ref("Sandbox")),
        "delete": op("Delete a sandbox and everything in it", tag="sandboxes", ok=204)},
    S + "/reset": {"parameters": [SID], "post": op("Back to the seeded state (credentials kept)", tag="sandboxes",
                                                   schema=ref("Sandbox"))},
    S + "/clock": {"parameters": [SID],
                   "get": op("The sandbox clock", tag="clock", schema=ref("Clock")),
                   "post": op("Advance, set, freeze/unfreeze or reset the clock; due work runs before the answer",
                              tag="clock", schema=ref("Clock"), body=CLOCK_BODY, errors=(400, 404))},
    S + "/journal": {"parameters": [SID], "get": op(
        "Journaled calls, newest first", tag="journal", schema=listing_of(ref("JournalEntry")), errors=(400, 404),
        params=PAGE + [{"name": n, "in": "query", "schema": {"type": t}} for n, t in
                       (("system", "string"), ("operation", "string"), ("status", "integer"),
                        ("since", "string"), ("afterId", "integer"))])},
    S + "/journal/verify": {"parameters": [SID], "post": op(
        "Verify how many calls matched: 200 when the expectation holds, 409 with nearest misses",
        tag="journal", schema=ref("Verification"), body=VERIFY_BODY, errors=(400, 404),
        extra={409: ref("Verification")})},
    S + "/faults": {"parameters": [SID],
                    "get": op("Fault rules", tag="faults", schema=listing_of(ref("Fault"))),
                    "post": op("Add a fault rule", tag="faults", ok=201, schema=ref("Fault"), body=FAULT_BODY,
                               errors=(400, 404))},
    S + "/faults/{faultId}": {"parameters": [SID, {"name": "faultId", "in": "path", "required": True,
                                                   "schema": {"type": "string"}}],
                              "delete": op("Remove a fault rule", tag="faults", ok=204)},
    S + "/snapshots": {"parameters": [SID],
                       "get": op("Snapshots", tag="snapshots", schema=listing_of(ref("Snapshot"))),
                       "post": op("Save the whole sandbox state and clock under a name", tag="snapshots", ok=201,
                                  schema=ref("Snapshot"), errors=(400, 404),
                                  body={"type": "object", "required": ["name"],
                                        "properties": {"name": {"type": "string"}}})},
    S + "/snapshots/{name}/restore": {"parameters": [SID, {"name": "name", "in": "path", "required": True,
                                                           "schema": {"type": "string"}}],
                                      "post": op("Restore a snapshot", tag="snapshots", schema=ref("Snapshot"))},
    S + "/snapshots/{name}": {"parameters": [SID, {"name": "name", "in": "path", "required": True,
                                                   "schema": {"type": "string"}}],
                              "delete": op("Delete a snapshot", tag="snapshots", ok=204)},
    S + "/outbox": {"parameters": [SID], "get": op("Delivery log of outbound calls, newest first", tag="outbox",
                                                   schema=listing_of(ref("Delivery")), errors=(400, 404),
                                                   params=PAGE)},
    S + "/outbox/{deliveryId}": {"parameters": [SID, {"name": "deliveryId", "in": "path", "required": True,
                                                      "schema": {"type": "string"}}],
                                 "get": op("One delivery", tag="outbox", schema=ref("Delivery"))},
    S + "/outbox/{deliveryId}/retry": {"parameters": [SID, {"name": "deliveryId", "in": "path", "required": True,
                                                            "schema": {"type": "string"}}],
                                       "post": op("Retry a delivery through its system's own flow", tag="outbox",
                                                  schema={"type": "object"}, errors=(404, 409),
                                                  extra={201: {"type": "object"}, 502: {"type": "object"}})},
    S + "/emails": {"parameters": [SID], "get": op("Emails sent, newest first, with link expiry", tag="outbox",
                                                   schema=listing_of(ref("Email")), errors=(400, 404),
                                                   params=PAGE)},
    S + "/emails/{emailId}/resend": {"parameters": [SID, {"name": "emailId", "in": "path", "required": True,
                                                          "schema": {"type": "string"}}],
                                     "post": op("Resend: a new link valid 24 hours", tag="outbox",
                                                schema=ref("Email"))},
}


def document(systems: list[Any]) -> dict[str, Any]:
    paths = dict(PLATFORM_PATHS)
    schemas = dict(SCHEMAS)
    for system in systems:
        for path, item in system.openapi_paths.get("paths", {}).items():
            full = path if path.startswith("/_sim") else S + path
            item = dict(item)
            if full.startswith(S) and "parameters" not in item:
                item["parameters"] = [SID]
            paths[full] = item
        schemas.update(system.openapi_paths.get("schemas", {}))
    return {"openapi": "3.0.3",
            "info": {"title": "trainsim control plane", "version": __version__,
                     "description": "Sandboxes, clock, journal, faults, snapshots, outbox and inspection for the "
                                    "simulated Bluedrop360, Learning Assistant and Trainingportal systems."},
            "servers": [{"url": "/"}],
            "paths": paths,
            "components": {"schemas": schemas,
                           "securitySchemes": {"admin": {"type": "http", "scheme": "bearer",
                                                         "description": "only when SIM_ADMIN_TOKEN is set"}}}}
