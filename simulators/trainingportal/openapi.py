"""OpenAPI 3.0 for Trainingportal: its control routes (``CONTROL_PATHS``, merged into /_sim/openapi.json)
and the course-provider API itself (``api_document``, served at /_sim/openapi/trainingportal.json).

The API document lists every method on GET (query parameters) and POST (form body), every status it
can answer with a schema, so a fuzzer can check each answer against it.
"""

from __future__ import annotations

from typing import Any

from ..control.openapi import PAGE, SID, listing_of, op, ref
from .schemas import BOOKING_STATUSES, CLASS_STATES, CURRENCIES, DOCUMENT_TYPES

# -- control routes ---------------------------------------------------------------------------------

STR = {"type": "string"}
NSTR = {"type": "string", "nullable": True}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": STR}


PERSON = {"type": "object", "additionalProperties": False,
          "properties": {k: STR for k in ("firstName", "lastName", "email", "phone")}}
STUDENT = {"type": "object", "additionalProperties": False,
           "properties": {**PERSON["properties"], "birthDate": {"type": "string", "format": "date"}}}

CONTROL_SCHEMAS: dict[str, Any] = {
    "TpProvider": {"type": "object", "required": ["username", "reservationUrl", "cancellationUrl",
                                                  "confirmationDelaySeconds", "timeoutSeconds", "courses"],
                   "properties": {"username": STR, "displayName": STR, "reservationUrl": STR,
                                  "cancellationUrl": STR, "usesExampleProvider": {"type": "boolean"},
                                  "confirmationDelaySeconds": {"type": "number"}, "timeoutSeconds": {"type": "number"},
                                  "courses": {"type": "array", "items": ref("TpCourse")}}},
    "TpCourse": {"type": "object", "required": ["courseId", "externalId", "name"],
                 "properties": {"courseId": {"type": "integer"}, "externalId": STR, "name": STR,
                                "username": STR, "classes": {"type": "integer"}}},
    "TpClass": {"type": "object", "required": ["externalId", "courseExternalId", "state", "cancelled"],
                "properties": {"id": {"type": "integer"}, "state": {"type": "string", "enum": list(CLASS_STATES)},
                               "cancelled": {"type": "boolean"}, "courseExternalId": STR, "externalId": STR,
                               "location": STR, "availableSeats": {"type": "integer"},
                               "enrollmentDeadline": STR, "cancellationDeadline": STR, "startDate": STR,
                               "startTime": STR, "endDate": STR, "endTime": STR, "address": {"type": "object"},
                               "price": {"type": "object"}, "sendScheduleInfoToParticipants": {"type": "boolean"},
                               "username": STR, "bookings": {"type": "integer"}, "createdAt": STR,
                               "cancelledAt": NSTR, "deletedAt": NSTR}},
    "TpBooking": {"type": "object", "required": ["bookingReference", "externalCourseClassId", "enrollmentStatus"],
                  "properties": {"bookingReference": STR, "externalCourseClassId": STR, "externalCourseId": STR,
                                 "firstname": STR, "lastname": STR, "email": STR, "phone": STR, "birthDate": STR,
                                 "enroller": {"type": "object"}, "company": STR,
                                 "enrollmentStatus": {"type": "string", "enum": [*BOOKING_STATUSES, "CANCELLED"]},
                                 "commentOnEnrollment": STR, "purchaseOrderNumber": STR, "completionDate": STR,
                                 "username": STR, "reservedAt": STR, "visibleAt": STR, "visible": {"type": "boolean"},
                                 "cancelledAt": NSTR, "deliveryId": NSTR,
                                 "documents": {"type": "array", "items": ref("TpDocument")}}},
    "TpDocument": {"type": "object", "required": ["documentId", "bookingReference", "documentType", "contentType"],
                   "properties": {"documentId": STR, "bookingReference": STR,
                                  "documentType": {"type": "string", "enum": list(DOCUMENT_TYPES)},
                                  "description": NSTR, "filename": STR, "contentType": STR,
                                  "size": {"type": "integer"}, "uploadedAt": STR}},
    "TpBookingResult": {"type": "object", "required": ["booking", "delivery"],
                        "properties": {"booking": ref("TpBooking"), "delivery": ref("Delivery")}},
    "TpCallFailed": {"type": "object", "required": ["code", "message", "delivery"],
                     "properties": {"code": STR, "message": STR, "booking": ref("TpBooking"),
                                    "delivery": ref("Delivery")}},
}

BOOK_BODY = {"type": "object", "required": ["externalCourseId", "externalCourseClassId"],
             "properties": {"username": STR, "externalCourseId": STR, "externalCourseClassId": STR,
                            "student": STUDENT, "enroller": PERSON, "company": STR, "commentOnEnrollment": STR,
                            "purchaseOrderNumber": STR}}
PROVIDER_BODY = {"type": "object", "additionalProperties": False,
                 "properties": {"reservationUrl": NSTR, "cancellationUrl": NSTR, "displayName": STR,
                                "confirmationDelaySeconds": {"type": "number", "minimum": 0, "maximum": 86400},
                                "timeoutSeconds": {"type": "number", "minimum": 0.1, "maximum": 120}}}
TAG = "trainingportal"
EX_ANSWER = {"type": "object", "properties": {"successful": {"type": "boolean"}, "cancelled": {"type": "boolean"},
                                              "bookingReference": NSTR, "errorMessage": STR}}
EX_PARAMS = [{"name": "sandbox", "in": "query", "required": True, "schema": STR},
             {"name": "externalCourseClassId", "in": "query", "schema": STR},
             {"name": "bookingReference", "in": "query", "schema": STR}]


def _example(summary: str) -> dict[str, Any]:
    return {"summary": summary, "tags": ["example-provider"], "parameters": EX_PARAMS, "responses": {
        "200": {"description": "the provider's answer (JSON, or XML in xml mode)",
                "content": {"application/json": {"schema": EX_ANSWER}, "application/xml": {"schema": EX_ANSWER}}},
        "400": {"description": "unknown sandbox", "content": {"application/json": {"schema": EX_ANSWER}}}}}


BEHAVIOUR = {"type": "object", "required": ["sandbox", "mode"],
             "properties": {"sandbox": STR, "mode": {"type": "string", "enum": ["accept", "refuse", "slow", "xml"]}}}

CONTROL_PATHS: dict[str, Any] = {"schemas": CONTROL_SCHEMAS, "paths": {
    "/trainingportal/providers": {"get": op("Provider accounts with their URLs, delay and timeout", tag=TAG,
                                            schema=listing_of(ref("TpProvider")), errors=(400, 404), params=PAGE)},
    "/trainingportal/providers/{username}": {
        "parameters": [SID, _path("username")],
        "patch": op("Change a provider's reservationUrl, cancellationUrl (null: the example provider), "
                    "confirmationDelaySeconds, timeoutSeconds", tag=TAG, schema=ref("TpProvider"),
                    body=PROVIDER_BODY, errors=(400, 404))},
    "/trainingportal/courses": {"get": op("Courses of the sandbox's providers", tag=TAG,
                                          schema=listing_of(ref("TpCourse")), errors=(400, 404), params=PAGE)},
    "/trainingportal/classes": {"get": op(
        "Course classes with their state (published, cancelled, deleted)", tag=TAG,
        schema=listing_of(ref("TpClass")), errors=(400, 404),
        params=PAGE + [{"name": "state", "in": "query", "schema": {"type": "string", "enum": list(CLASS_STATES)}},
                       {"name": "externalCourseId", "in": "query", "schema": STR}])},
    "/trainingportal/bookings": {
        "get": op("Bookings with their status, newest first", tag=TAG, schema=listing_of(ref("TpBooking")),
                  errors=(400, 404), params=PAGE + [
                      {"name": "status", "in": "query",
                       "schema": {"type": "string", "enum": [*BOOKING_STATUSES, "CANCELLED"]}},
                      {"name": "externalCourseClassId", "in": "query", "schema": STR}]),
        "post": op("Book a seat: Trainingportal's checks (409), then the provider's reservation URL; 201 with the "
                   "booking and the delivery, 502 when the provider refused or failed", tag=TAG, ok=201,
                   schema=ref("TpBookingResult"), body=BOOK_BODY, errors=(400, 404, 409),
                   extra={502: ref("TpCallFailed")})},
    "/trainingportal/bookings/{bookingReference}": {
        "parameters": [SID, _path("bookingReference")],
        "get": op("One booking with its documents", tag=TAG, schema=ref("TpBooking"))},
    "/trainingportal/bookings/{bookingReference}/cancel": {
        "parameters": [SID, _path("bookingReference")],
        "post": op("Cancel through the provider's cancellation URL (until the class's cancellationDeadline)",
                   tag=TAG, schema=ref("TpBookingResult"), errors=(404, 409), extra={502: ref("TpCallFailed")})},
    "/trainingportal/documents": {"get": op(
        "Uploaded documents (metadata), newest first", tag=TAG, schema=listing_of(ref("TpDocument")),
        errors=(400, 404), params=PAGE + [{"name": "bookingReference", "in": "query", "schema": STR}])},
    "/trainingportal/documents/{documentId}": {
        "parameters": [SID, _path("documentId")],
        "get": {"summary": "Download an uploaded document with its content type", "tags": [TAG], "responses": {
            "200": {"description": "the file", "content": {
                ct: {"schema": {"type": "string", "format": "binary"}}
                for ct in ("application/pdf", "image/png", "image/jpeg")}},
            "401": {"description": "error", "content": {"application/json": {"schema": ref("Error")}}},
            "404": {"description": "error", "content": {"application/json": {"schema": ref("Error")}}}}}},
    "/_sim/example-provider/reserve": {"get": _example("Example provider: reserve a seat"),
                                       "post": _example("Example provider: reserve a seat")},
    "/_sim/example-provider/cancel": {"get": _example("Example provider: cancel a booking"),
                                      "post": _example("Example provider: cancel a booking")},
    "/_sim/example-provider/behaviour": {
        "get": {"summary": "Example provider: its mode for a sandbox", "tags": ["example-provider"],
                "parameters": [{"name": "sandbox", "in": "query", "required": True, "schema": STR}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": BEHAVIOUR}}},
                              "400": {"description": "error", "content": {"application/json": {"schema": ref("Error")}}},
                              "404": {"description": "error",
                                      "content": {"application/json": {"schema": ref("Error")}}}}},
        "post": {"summary": "Example provider: accept, refuse, slow (longer than the timeout) or xml",
                 "tags": ["example-provider"],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": BEHAVIOUR}}},
                 "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": BEHAVIOUR}}},
                               **{str(c): {"description": "error",
                                           "content": {"application/json": {"schema": ref("Error")}}}
                                  for c in (400, 404)}}}},
}}

# -- the course-provider API ------------------------------------------------------------------------

DATE = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
TIME = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
AUTH = {"username": {"type": "string", "description": "the provider's Trainingportal username"},
        "password": {"type": "string", "description": "the provider's Trainingportal password"}}
CLASS_FIELDS: dict[str, Any] = {
    "externalId": STR, "location": STR, "availableSeats": {"type": "integer", "minimum": 0},
    "enrollmentDeadline": DATE, "cancellationDeadline": DATE, "startDate": DATE, "endDate": DATE,
    "startTime": TIME, "endTime": TIME, "address.addressLine1": STR, "address.addressLine2": STR,
    "address.city": STR, "address.zipCode": STR, "address.country": STR,
    "price.currency": {"type": "string", "enum": list(CURRENCIES)},
    "price.amount": {"type": "number", "minimum": 0, "multipleOf": 0.01},
    "sendScheduleInfoToParticipants": {"type": "boolean", "default": True},
}
ADD_REQUIRED = ["externalId", "location", "availableSeats", "enrollmentDeadline", "cancellationDeadline",
                "startDate", "endDate", "address.addressLine1", "address.addressLine2", "address.city",
                "address.zipCode", "address.country", "price.currency", "price.amount"]


def _schemas() -> dict[str, Any]:
    return {
        "ErrorMessage": {"type": "object", "required": ["errorMessage"],
                         "properties": {"errorMessage": STR, "sucessful": {"type": "string", "enum": ["false"]}}},
        "Course": {"type": "object", "required": ["courseId", "externalId", "name"],
                   "properties": {"courseId": {"type": "integer"}, "externalId": STR, "name": STR}},
        "CourseClass": {
            "type": "object",
            "required": ["cancelled", "courseExternalId", "externalId", "location", "availableSeats",
                         "enrollmentDeadline", "cancellationDeadline", "startDate", "endDate", "address", "price",
                         "sendScheduleInfoToParticipants"],
            "properties": {
                "cancelled": {"type": "boolean"}, "courseExternalId": STR, "externalId": STR, "location": STR,
                "availableSeats": {"type": "integer", "minimum": 0}, "enrollmentDeadline": DATE,
                "cancellationDeadline": DATE, "startDate": DATE, "startTime": TIME, "endDate": DATE, "endTime": TIME,
                "address": {"type": "object", "required": ["addressLine1", "addressLine2", "city", "zipCode",
                                                           "country"],
                            "properties": {k: STR for k in ("addressLine1", "addressLine2", "city", "zipCode",
                                                            "country")}},
                "price": {"type": "object", "required": ["currency", "amount"],
                          "properties": {"currency": {"type": "string", "enum": list(CURRENCIES)},
                                         "amount": {"type": "number", "minimum": 0}}},
                "sendScheduleInfoToParticipants": {"type": "boolean"}}},
        "Booking": {
            "type": "object", "required": ["bookingReference", "externalCourseClassId", "enrollmentStatus"],
            "properties": {
                "bookingReference": STR, "externalCourseClassId": STR, "firstname": STR, "lastname": STR,
                "email": STR, "phone": STR, "birthDate": STR,
                "enroller": {"type": "object", "properties": {k: STR for k in ("firstName", "lastName", "email",
                                                                                 "phone")}},
                "company": STR, "enrollmentStatus": {"type": "string", "enum": [*BOOKING_STATUSES, "CANCELLED"]},
                "commentOnEnrollment": STR, "purchaseOrderNumber": STR, "completionDate": DATE}},
        "ClassStatus": {"type": "object", "required": ["sucessful", "errorMessage"],
                        "description": "quirk: 'sucessful' as a JSON boolean on cancel and restore",
                        "properties": {"sucessful": {"type": "boolean"}, "errorMessage": STR}},
        "BookingStatus": {"type": "object", "required": ["sucessful", "errorMessage"],
                          "description": "quirk: 'sucessful' as the string \"true\"/\"false\"",
                          "properties": {"sucessful": {"type": "string", "enum": ["true", "false"]},
                                         "errorMessage": STR}},
        "UploadStatus": {"type": "object", "required": ["sucessful", "errorMessage", "documentId"],
                         "properties": {"sucessful": {"type": "string", "enum": ["true"]}, "errorMessage": STR,
                                        "documentId": STR}},
    }


def _content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}, "application/xml": {"schema": schema}}


ERROR_TEXT = {400: "invalid parameter (named in errorMessage)", 401: "Invalid username or password",
              404: "unknown course, class or booking (or path)", 409: "state conflict",
              413: "request or file too large"}


def _operation(op_id: str, summary: str, verb: str, ok: dict[str, Any], errors: tuple[int, ...],
               fields: dict[str, Any], required: list[str], path_params: list[str],
               multipart: bool = False) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {"description": "ok", "content": _content(ok)}}
    for code in sorted({401, 404, *errors}):
        responses[str(code)] = {"description": ERROR_TEXT[code], "content": _content(ref("ErrorMessage"))}
    if verb == "post":
        responses.setdefault("413", {"description": ERROR_TEXT[413], "content": _content(ref("ErrorMessage"))})
    out: dict[str, Any] = {"operationId": f"{op_id}{verb.capitalize()}", "summary": summary, "tags": ["trainingportal"],
                           "parameters": [{"name": p, "in": "path", "required": True, "schema": STR}
                                          for p in path_params], "responses": responses}
    props = {**AUTH, **fields}
    req = ["username", "password", *required]
    if verb == "get":
        out["parameters"] += [{"name": name, "in": "query", "required": name in req, "schema": schema}
                              for name, schema in props.items() if name != "file"]
    else:
        media = "multipart/form-data" if multipart else "application/x-www-form-urlencoded"
        out["requestBody"] = {"required": True, "content": {media: {"schema": {
            "type": "object", "required": req, "properties": props}}}}
    return out


def api_document() -> dict[str, Any]:
    class_path = "/courses/get/{externalCourseId}/courseClasses"
    update_fields = {**CLASS_FIELDS, "erollmentDeadline": {**DATE, "description": "quirk: same as enrollmentDeadline"}}
    methods = [
        ("getCourses", "/courses", "The provider's courses", {"type": "array", "items": ref("Course")}, (), {}, [],
         []),
        ("getCourse", "/courses/get/{externalCourseId}", "One course", ref("Course"), (), {}, [],
         ["externalCourseId"]),
        ("getCourseClasses", class_path, "The course's classes (cancelled-but-not-deleted included)",
         {"type": "array", "items": ref("CourseClass")}, (), {}, [], ["externalCourseId"]),
        ("addClass", class_path + "/add", "Add a course class", ref("CourseClass"), (400, 409), CLASS_FIELDS,
         ADD_REQUIRED, ["externalCourseId"]),
        ("updateClass", class_path + "/update", "Partial update of the class named by externalId",
         ref("CourseClass"), (400, 409), update_fields, ["externalId"], ["externalCourseId"]),
        ("cancelClass", class_path + "/cancel/{externalCourseClassId}", "Cancel a class", ref("ClassStatus"),
         (409,), {}, [], ["externalCourseId", "externalCourseClassId"]),
        ("restoreClass", class_path + "/restore/{externalCourseClassId}", "Restore a cancelled class",
         ref("ClassStatus"), (409,), {}, [], ["externalCourseId", "externalCourseClassId"]),
        ("getBookingInformation", "/booking/get/{bookingReference}", "A booking (404 until confirmed)",
         ref("Booking"), (), {}, [], ["bookingReference"]),
        ("updateBookingStatus", "/booking/update/{bookingReference}", "Report a booking's outcome",
         ref("BookingStatus"), (400, 409),
         {"newStatus": {"type": "string", "enum": list(BOOKING_STATUSES)}, "completionDate": DATE}, ["newStatus"],
         ["bookingReference"]),
        ("uploadDocumentation", "/booking/uploadDocumentation/{bookingReference}",
         "Upload a certificate (PDF, PNG or JPEG, at most 10 MiB)", ref("UploadStatus"), (400, 409, 413),
         {"file": {"type": "string", "format": "binary"},
          "documentType": {"type": "string", "enum": list(DOCUMENT_TYPES), "default": "CERTIFICATE"},
          "description": STR}, ["file"], ["bookingReference"]),
    ]
    paths: dict[str, Any] = {}
    for op_id, path, summary, ok, errs, fields, required, path_params in methods:
        multipart = op_id == "uploadDocumentation"
        paths[path] = {verb: _operation(op_id, summary, verb, ok, errs, fields,
                                        [] if (verb == "get" and multipart) else required, path_params,
                                        multipart=multipart)
                       for verb in ("get", "post")}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Mintra Trainingportal course-provider API (simulated)", "version": "v1",
                 "description": "Every method accepts GET (query parameters) and POST (form body; the body wins). "
                                "username and password ride on every call. JSON by default; Accept: "
                                "application/xml gives XML with the same field names."},
        "servers": [{"url": "/mintra/api/courseprovider/rest/v1"}],
        "paths": paths,
        "components": {"schemas": _schemas()},
    }
