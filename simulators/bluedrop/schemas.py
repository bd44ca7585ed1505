"""Bluedrop360 API v2 wire formats (marshmallow): field types, required fields, formats and bounds.

Every field here is strict about its JSON type (a number is not a string, ``true`` is not ``1``) and
bounded (lengths, ranges) so no input reaches the model unchecked. Unknown fields are ignored, as the
real API does. Messages name the rule and quote the value received. Rules that involve more than one
field (the key's API column, delivery method vs key, price unless contactForPricing, event overlap,
ages, dates against the sandbox clock) live in ``models.py``.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from .errors import received

DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|z|[+-]\d{2}:?\d{2})$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
PHONE = re.compile(r"^\d{10}$")
PRICE_MAX = 999_999.99
DELIVERY_METHODS = ("in-person", "virtual", "blended")


class Base(fields.Field):
    default_error_messages = {"required": "is required; received nothing",
                              "null": "must not be null; received null"}

    def fail(self, rule: str, value: Any) -> ValidationError:
        return ValidationError(f"{rule}; received {received(value)}")


class Text(Base):
    """A string; ``min``/``max`` count characters after trimming surrounding spaces (returned trimmed)."""

    def __init__(self, *, min: int = 1, max: int = 255, pattern: re.Pattern | None = None,
                 rule: str = "", choices: tuple[str, ...] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.min, self.max, self.pattern, self.rule, self.choices = min, max, pattern, rule, choices
        self.blank_is_absent = False  # set by opt(): an optional "" means "not given", as null does

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        if not isinstance(value, str):
            raise self.fail("must be a string", value)
        text = value.strip()
        if not text and self.blank_is_absent:
            return None  # type: ignore[return-value]
        if self.min and len(text) < self.min:
            raise self.fail("must not be blank" if self.min == 1 else f"must be at least {self.min} characters",
                            value)
        if len(text) > self.max:
            raise ValidationError(f"must be at most {self.max} characters; received {len(text)} characters")
        if self.choices is not None and text not in self.choices:
            raise self.fail(f"must be one of {', '.join(self.choices)}", value)
        if self.pattern is not None and not self.pattern.match(text):
            raise self.fail(self.rule, value)
        return text


class Names(Text):
    """Names separated by ``; `` (instructorNames, evaluatorNames): no blank name between separators."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        text = super()._deserialize(value, attr, data, **kw)
        if text is None:
            return text
        if any(not part.strip() for part in text.split(";")):
            raise self.fail("must be names separated by '; ' with no blank name", value)
        return text


class Int(Base):
    def __init__(self, *, min: int = 0, max: int = 2**63 - 1, rule: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.min, self.max, self.rule = min, max, rule

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(self.rule or "must be an integer", value)
        if not self.min <= value <= self.max:
            raise self.fail(self.rule or f"must be an integer from {self.min} to {self.max}", value)
        return value


class Num(Base):
    """A JSON number (integer or decimal), finite, within bounds, with at most ``decimals`` places."""

    def __init__(self, *, min: float = 0, max: float = PRICE_MAX, min_exclusive: bool = False,
                 decimals: int | None = None, unit: str = "", **kw: Any) -> None:
        super().__init__(**kw)
        self.min, self.max, self.min_exclusive, self.decimals, self.unit = min, max, min_exclusive, decimals, unit

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                isinstance(value, float) and not math.isfinite(value)):
            raise self.fail(f"must be a number{self.unit}", value)
        low = f"greater than {self.min:g}" if self.min_exclusive else f"at least {self.min:g}"
        if (value <= self.min if self.min_exclusive else value < self.min) or value > self.max:
            raise self.fail(f"must be a number{self.unit} {low} and at most {self.max:,.2f}".replace(".00", ""),
                            value)
        if self.decimals is not None:
            try:
                exponent = Decimal(repr(value)).normalize().as_tuple().exponent
            except InvalidOperation:  # pragma: no cover - finite numbers always convert
                exponent = 0
            if isinstance(exponent, int) and -exponent > self.decimals:
                raise self.fail(f"must have at most {self.decimals} decimal places", value)
        return value


class Bool(Base):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail("must be true or false", value)
        return value


class DateTime(Base):
    """An ISO-8601 date-time with a zone (``2018-11-21T22:38:15.000Z``); ``utc`` demands Z (or +00:00)."""

    def __init__(self, *, utc: bool = False, **kw: Any) -> None:
        super().__init__(**kw)
        self.utc = utc

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> datetime:
        rule = ("must be an ISO-8601 date-time in UTC such as 2026-05-04T13:00:00.000Z" if self.utc else
                "must be an ISO-8601 date-time with a time zone such as 2018-11-21T22:38:15.000Z")
        if not isinstance(value, str) or not DATETIME.match(value.strip()):
            raise self.fail(rule, value)
        text = value.strip()
        if text[-1] in "Zz":
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise self.fail(rule + " (a real calendar date and time)", value) from None
        if self.utc and dt.utcoffset() != UTC.utcoffset(None):
            raise self.fail(rule, value)
        if not 1900 <= dt.year <= 2199:
            raise self.fail("must be a date-time between the years 1900 and 2199", value)
        return dt.astimezone(UTC)


class Url(Base):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        rule = "must be an absolute http(s) URL"
        if not isinstance(value, str):
            raise self.fail(rule, value)
        text = value.strip()
        if len(text) > 2048:
            raise ValidationError(f"must be at most 2048 characters; received {len(text)} characters")
        try:
            parts = urlsplit(text)
            host = parts.hostname
        except ValueError:
            raise self.fail(rule, value) from None
        if parts.scheme.lower() not in ("http", "https") or not host or any(c.isspace() for c in text):
            raise self.fail(rule, value)
        return text


class Obj(fields.Nested):
    """A nested object: not an object → one message on the field itself, naming what was received."""

    default_error_messages = {"required": "is required; received nothing", "null": "must not be null; received null"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, partial: Any = None, **kw: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError(f"must be an object; received {received(value)}")
        return super()._deserialize(value, attr, data, partial=partial, **kw)


class ObjList(Base):
    """A list of objects, 1..``max`` long; errors keyed by index; a failed item leaves ``None`` in place."""

    def __init__(self, schema: type[Schema], *, max: int = 50, what: str = "items", **kw: Any) -> None:
        super().__init__(**kw)
        self.schema, self.max, self.what = schema, max, what
        self._loader = schema()  # shared by every call, like INSTANCES (built once, not per item)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(f"must be a list of 1 to {self.max} {self.what}", value)
        if not 1 <= len(value) <= self.max:
            raise ValidationError(f"must hold 1 to {self.max} {self.what}; received {len(value)}")
        out: list[Any] = []
        errors: dict[int, Any] = {}
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                errors[i] = [f"must be an object; received {received(item)}"]
                out.append(None)
                continue
            try:
                out.append(self._loader.load(item))
            except ValidationError as exc:
                errors[i] = exc.messages
                out.append(exc.valid_data if isinstance(exc.valid_data, dict) else None)
        if errors:
            raise ValidationError(errors, valid_data=out)
        return out


class Wire(Schema):
    class Meta:
        unknown = EXCLUDE


def opt(field: fields.Field) -> fields.Field:
    """An optional field: absent, null or (for strings) blank all mean 'not given'."""
    field.allow_none = True
    field.required = False
    if isinstance(field, Text):
        field.blank_is_absent = True
    return field


ADDRESS_FIELDS = ("street-address", "extended-address", "locality", "region", "postal-code", "country-name")
Address = Wire.from_dict({name: opt(Text(max=255 if name != "postal-code" else 20)) for name in ADDRESS_FIELDS},
                         name="Address")


class Learner(Wire):
    uniqueId = Text(max=100, required=True)
    firstname = Text(max=100, required=True)
    lastname = Text(max=100, required=True)
    birthYear = Int(min=1000, max=9999, rule="must be a 4-digit year (an integer)", required=True)
    personalEmail = opt(Text(max=254, pattern=EMAIL, rule="must be a valid email address"))
    mobilePhone = opt(Text(max=50, pattern=PHONE, rule="must be exactly 10 digits"))
    homePhone = opt(Text(max=50, pattern=PHONE, rule="must be exactly 10 digits"))
    address = opt(Obj(Address))


class LearningRecord(Wire):
    learningRecordId = Text(max=100, required=True)
    networkKey = Text(max=100, required=True)
    trainingStandardKey = Text(max=100, required=True)
    completionDate = DateTime(required=True)
    externalClassId = opt(Text(max=100))
    instructorNames = Names(max=2000, required=True)
    evaluatorNames = opt(Names(max=2000))
    learner = Obj(Learner, required=True)


class Event(Wire):
    start = DateTime(utc=True, required=True)
    end = DateTime(utc=True, required=True)


class ClassOffering(Wire):
    offeringId = Text(max=100, required=True)
    networkKey = Text(max=100, required=True)
    trainingStandardKey = Text(max=100, required=True)
    deliveryMethod = Text(max=20, choices=DELIVERY_METHODS, required=True)
    courseName = Text(max=255, required=True)
    seatsRemaining = Int(min=0, max=100_000, required=True)
    contactForPricing = opt(Bool())
    price = opt(Num(decimals=2, unit=" of dollars"))
    address = opt(Obj(Address))
    events = ObjList(Event, max=50, what="sessions {start, end}", required=True)
    externalRegistrationUrl = Url(required=True)
    virtualClassUrl = opt(Url())


class OnlineOffering(Wire):
    offeringId = Text(max=100, required=True)
    networkKey = Text(max=100, required=True)
    trainingStandardKey = Text(max=100, required=True)
    courseName = Text(max=255, required=True)
    price = Num(decimals=2, unit=" of dollars", required=True)
    courseDuration = Num(min=0, max=100, min_exclusive=True, unit=" of hours", required=True)
    externalRegistrationUrl = Url(required=True)


# PATCH: every field optional except networkKey; these may be sent but never changed
IMMUTABLE = {"class": ("offeringId", "trainingStandardKey", "deliveryMethod"),
             "online": ("offeringId", "trainingStandardKey")}
PATCHABLE = {"class": ("courseName", "seatsRemaining", "contactForPricing", "price", "address", "events",
                       "externalRegistrationUrl", "virtualClassUrl"),
             "online": ("courseName", "price", "courseDuration", "externalRegistrationUrl")}
SCHEMAS: dict[str, type[Schema]] = {"learningRecord": LearningRecord, "class": ClassOffering,
                                    "online": OnlineOffering}
# one instance of each, per process: building a Schema deep-copies its declared fields (~30 % of a
# learning-record POST when done per call). load() keeps no per-call state on the instance or its fields
# (partial is an argument; the fields here only set attributes in __init__), so threads can share them.
INSTANCES: dict[str, Schema] = {kind: cls() for kind, cls in SCHEMAS.items()}
FIELD_NAMES: dict[str, tuple[str, ...]] = {kind: tuple(schema.fields) for kind, schema in INSTANCES.items()}


def flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    """marshmallow's nested error dict → ``[("learner.address.postal-code", "..."), ("events.2.end", ...)]``."""
    out: list[tuple[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            out += flatten(value, name)
    elif isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
        out.append((prefix or "body", "; ".join(messages)))
    elif isinstance(messages, list):
        for item in messages:
            out += flatten(item, prefix)
    else:
        out.append((prefix or "body", str(messages)))
    return out


def load(kind: str, body: dict[str, Any], *, partial: tuple[str, ...] | bool = False
         ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Load a body: the fields that passed (typed, trimmed, nulls dropped) and every failing field."""
    try:
        data, errors = INSTANCES[kind].load(body, partial=partial), []
    except ValidationError as exc:
        data = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        errors = flatten(exc.messages)
    return _drop_none(data), errors


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value
