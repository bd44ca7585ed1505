"""What a simulated system gives the platform: its blueprints, tables, seeding and hooks.

Every system package builds one :class:`System` in its ``__init__`` and the app mounts it. The
platform never imports a system; systems reach the platform only through the objects passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .store import Table

if TYPE_CHECKING:  # pragma: no cover
    import sqlite_utils
    from flask import Blueprint, Response

    from .sandboxes import SeedContext


@dataclass
class System:
    name: str  # as in journal and faults: "bluedrop", "trainingportal", "learning-assistant"
    key: str  # as in baseUrls and credentials: "bluedrop", "trainingportal", "learningAssistant"
    base_path: str  # the real service's path prefix, e.g. "/api-v2"
    api: Blueprint
    tables: list[Table]
    # fill a new (or reset) sandbox: credentials through ctx.credential, data from fixtures/Faker
    seed: Callable[[SeedContext], None]
    # the system's part of the POST /_sim/sandboxes answer's "credentials"
    credentials: Callable[[Any, sqlite_utils.Database, str], dict[str, Any]]  # (platform, db, sandbox)
    control: Blueprint | None = None  # mounted at /_sim/sandboxes/<sandbox_id>/<control_prefix>
    control_prefix: str = ""
    extra_blueprints: list[Blueprint] = field(default_factory=list)  # e.g. the example provider
    due: dict[str, Callable] = field(default_factory=dict)  # clock due-work kind -> handler
    # named fault presets, e.g. "trainingportal.booking-not-yet-visible" -> a Response in wire form
    presets: dict[str, Callable[[], Response]] = field(default_factory=dict)
    # outbox purpose -> handler(platform, sandbox, delivery) -> (status, body) for POST outbox/{id}/retry
    retry: dict[str, Callable] = field(default_factory=dict)
    # control-plane OpenAPI paths this system adds (relative to /_sim/sandboxes/{id})
    openapi_paths: dict[str, Any] = field(default_factory=dict)
    # renders an HTTP-level error (404, 405, 413, 415, 500) in the system's own wire format
    http_error: Callable[[int, str], Response] | None = None
    # the simulated REST API's own OpenAPI document, served at /_sim/openapi/<name>.json
    api_document: Callable[[], dict[str, Any]] | None = None
    # bulk data for benchmarks at scale: scale(platform, sandbox, factor) fills the sandbox fast
    scale: Callable[..., None] | None = None
    # secrets that journal masking must hide even when they are not credentials (e.g. tokens)
    secret_fields: tuple[str, ...] = ()
