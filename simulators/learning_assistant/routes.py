"""Learning Assistant's SOAP endpoints at ``/webservices/soap/<service>.cfc``: WSDL on GET ?wsdl, calls on POST.

HTTP only: read the envelope (soap.py), find the sandbox from the username or the token, call
``begin()``, hand the parameters to the model, write the answer. No rule is decided here.
"""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app, request

from ..platform.http import add_secret, begin, current_request, platform
from . import soap
from .errors import AuthFailed, SoapFault
from .models import SYSTEM_NAME, LearningAssistant
from .schemas import SERVICES

WSDL_DIR = Path(__file__).resolve().parent / "wsdl"
XML = "text/xml; charset=utf-8"

api = Blueprint("learning_assistant_api", __name__, url_prefix="/webservices/soap")


@cache
def _template(name: str) -> string.Template:
    return string.Template((WSDL_DIR / name).read_text(encoding="utf-8"))


def base_url() -> str:
    return request.host_url.rstrip("/")


def fault_response(fault: SoapFault) -> Response:
    return Response(soap.fault(fault.code, fault.message), status=fault.status, content_type=XML)


def http_error(status: int, description: str) -> Response:
    """404, 405, 413, 415, 500 on a /webservices/soap path, as a SOAP Fault with that HTTP status."""
    code = "soapenv:Server" if status >= 500 else "soapenv:Client"
    messages = {404: f"no such service or file: {request.path}", 405: f"method {request.method} is not allowed on "
                f"{request.path}; GET ?wsdl for the WSDL, POST a SOAP envelope to call",
                413: f"request body is over the limit of {soap.MAX_BODY} bytes",
                500: "internal error; see the server log"}
    return Response(soap.fault(code, messages.get(status, description)), status=status, content_type=XML)


@api.get("/soapenc.xsd")
def soapenc() -> Response:
    return Response((WSDL_DIR / "soapenc.xsd").read_bytes(), content_type=XML)


@api.route("/<service>.cfc", methods=["GET", "POST"])
def endpoint(service: str) -> Response:
    if service not in SERVICES:
        return Response(soap.fault("soapenv:Client", f"no such service {service}.cfc; services: "
                                   f"{', '.join(s + '.cfc' for s in SERVICES)}"), status=404, content_type=XML)
    if request.method == "GET":
        if any(k.lower() == "wsdl" for k in request.args):
            return Response(_template(f"{service}.wsdl").substitute(base_url=base_url()), content_type=XML)
        ops = "".join(f"<li>{name}</li>" for name in SERVICES[service])
        return Response(f"<!DOCTYPE html><html><head><title>{service}.cfc</title></head><body><h1>{service}.cfc</h1>"
                        f"<p>SOAP 1.1 rpc/encoded component. WSDL: <a href=\"?wsdl\">{service}.cfc?wsdl</a></p>"
                        f"<ul>{ops}</ul></body></html>", content_type="text/html; charset=utf-8")
    try:
        return _call(service)
    except SoapFault as fault:
        if fault.status == 413:
            _drain()
        return fault_response(fault)


def _drain() -> None:
    """Read (and drop) an oversized body the app would still accept, so that the client, still sending,
    gets the Fault instead of a reset connection. Bodies over the app's own cap are not waited for."""
    length = request.content_length
    if length is None or length > (current_app.config.get("MAX_CONTENT_LENGTH") or 0):
        return
    stream = request.stream
    while stream.read(65536):
        pass


def _call(service: str) -> Response:
    http_request = current_request()
    soap.check_transport(http_request.content_type, http_request.content_length)
    req = soap.parse(http_request.get_data(cache=True))
    ops = SERVICES[service]
    op = ops.get(req.operation)
    if op is None:
        raise SoapFault.client(f"no operation {req.operation!r} in {service}.cfc; its operations: {', '.join(ops)}")
    params = soap.read_params(req, op)
    model = LearningAssistant(platform())
    if not op.authenticated:
        sandbox, ok = model.authenticate(params.get("szUsername") or "", params.get("szPassword") or "")
        if sandbox is not None:
            fault = begin(SYSTEM_NAME, sandbox, op.name)
            if fault is not None:
                return fault
        if sandbox is None or not ok:
            return Response(soap.response(op, "NO"), content_type=XML)
        token = model.issue_token(sandbox)
        add_secret(token[1])
        return Response(soap.response(op, "YES", token), content_type=XML)
    sandbox = model.token_sandbox(req.token)
    if sandbox is None:
        raise AuthFailed()
    fault = begin(SYSTEM_NAME, sandbox, op.name, secrets=[req.token[1]] if req.token else [])
    if fault is not None:
        return fault
    value = model.call(sandbox, op.name, params, req.token)
    return Response(soap.response(op, value, req.token), content_type=XML)
