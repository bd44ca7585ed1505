"""Bluedrop360's wire errors: ``{"code", "message", "errors": [{"key", "message"}]}`` with their status.

The code names (``invalid``, ``general``, ``unauthorized``, ``forbidden``, ``notFound``, ``internal``) are
the vendor's; the body shape is the spec's decision. Each exception renders itself (moto's habit).
"""

from __future__ import annotations

import json
from typing import Any

VALIDATION_MESSAGE = "Request body failed validation"


def received(value: Any) -> str:
    """How a message quotes the value it got: JSON, cut to 80 characters."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # pragma: no cover - loaded JSON always dumps
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class BluedropError(Exception):
    status = 400
    code = "general"

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors is not None:
            out["errors"] = self.errors
        return out


class Invalid(BluedropError):
    """400 invalid: every failing field, each with a dotted key (``learner.address.postal-code``)."""

    code = "invalid"

    def __init__(self, errors: list[dict[str, str]], message: str = VALIDATION_MESSAGE) -> None:
        super().__init__(message, errors)


class General(BluedropError):
    """400 general: an expected business error."""

    code = "general"


class Unauthorized(BluedropError):
    status = 401
    code = "unauthorized"


class Forbidden(BluedropError):
    status = 403
    code = "forbidden"


class NotFound(BluedropError):
    status = 404
    code = "notFound"


class MethodNotAllowed(BluedropError):
    status = 405
    code = "methodNotAllowed"


class Conflict(BluedropError):
    status = 409
    code = "general"


class TooLarge(BluedropError):
    status = 413
    code = "tooLarge"


class UnsupportedMediaType(BluedropError):
    status = 415
    code = "unsupportedMediaType"


class Internal(BluedropError):
    status = 500
    code = "internal"


def field_errors(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"key": k, "message": m} for k, m in pairs]
