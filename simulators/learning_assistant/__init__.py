"""Learning Assistant: the e-portfolio's SOAP 1.1 rpc/encoded enrolment API (ColdFusion components).

``SYSTEM`` is what the app mounts: the SOAP endpoints at ``/webservices/soap/<service>.cfc`` (WSDL at
``?wsdl``, ``soapenc.xsd`` beside them), the control routes at ``/_sim/sandboxes/<id>/learning-assistant``,
the ``learning-assistant.token-expired`` fault preset and the bulk seeder for benchmarks.
"""

from __future__ import annotations

from typing import Any

from flask import Response

from ..platform.registry import System
from . import models
from .control import PREFIX, control
from .errors import AuthFailed
from .openapi import CONTROL_PATHS
from .routes import api, fault_response, http_error
from .scale import scale


def _credentials(platform: Any, db: Any, sandbox: str) -> dict[str, Any]:
    creds = platform.sandboxes.credentials_of(db, sandbox, models.SYSTEM_NAME)
    if not creds:
        return {}
    return {"username": creds[0].key, "password": creds[0].secret}


def _token_expired() -> Response:
    return fault_response(AuthFailed())


SYSTEM = System(
    name=models.SYSTEM_NAME, key="learningAssistant", base_path="/webservices/soap", api=api, tables=models.TABLES,
    seed=models.seed, credentials=_credentials, control=control, control_prefix=PREFIX,
    presets={"learning-assistant.token-expired": _token_expired}, openapi_paths=CONTROL_PATHS,
    http_error=http_error, scale=scale,
)
