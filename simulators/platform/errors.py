"""Errors the platform and the control plane raise; each knows its HTTP status and JSON wire form.

System packages define their own wire errors (Bluedrop's ``{"code": ...}``, Trainingportal's
``{"errorMessage": ...}``, SOAP faults) the same way: an exception that renders itself.
"""

from __future__ import annotations

from typing import Any


class SimError(Exception):
    """A control-plane error: ``{"code": ..., "message": ..., "field": ...}``."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        out.update(self.extra)
        return out


class Invalid(SimError):
    status = 400
    code = "invalid"


class NotFound(SimError):
    status = 404
    code = "notFound"


class Conflict(SimError):
    status = 409
    code = "conflict"


class Unauthorized(SimError):
    status = 401
    code = "unauthorized"


class BadGateway(SimError):
    status = 502
    code = "badGateway"
