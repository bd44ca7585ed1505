"""The platform's HTTP glue for simulated APIs: per-request context, faults, journal, dropped connections.

A system's route, once it knows the caller's sandbox, calls :func:`begin`. That runs due work, applies
fault rules, and marks the request for the journal, which :func:`record_journal` (an ``after_request``
hook on the app) writes. The HTTP layer of a system decides nothing else here.
"""

from __future__ import annotations

import socket
import time
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask, Request, Response, abort, current_app, g, request

from .gate import GATE
from .runtime import Platform
from .timeutil import iso, utcnow


class Dropped(Exception):
    """The fault said: close the connection without an answer."""


def platform() -> Platform:
    return current_app._get_current_object().extensions["trainsim"]


def current_request() -> Request:
    """The request itself, for code that reads several of its attributes: every attribute read through
    Flask's proxy (``request.x``) looks the context up again, ~1.5 µs each here, and a call made ~30."""
    return request._get_current_object()


def _current() -> tuple[Request, Any]:
    """The request and its ``g``, each looked up once (see :func:`current_request`)."""
    return current_request(), g._get_current_object()


def begin(system: str, sandbox: str, operation: str, secrets: list[str] | tuple[str, ...] = ()) -> Response | None:
    """Enter a simulated-API call for ``sandbox``; returns a fault's response to send instead, if any."""
    plat = platform()
    any_rule, sandbox_secrets = plat.clock.enter(sandbox)  # one read: clock, due work, fault rules, secrets
    call = g.sim_call = {"system": system, "sandbox": sandbox, "operation": f"{system}.{operation}",
                         "secrets": [*secrets, *sandbox_secrets]}
    effect = plat.faults.pick(sandbox, system, operation, any_rule=any_rule)
    if effect is None:
        return None
    call["fault"] = effect
    if effect.get("latencyMs"):
        with GATE.waiting():  # the worker's other calls run meanwhile
            time.sleep(effect["latencyMs"] / 1000.0)
    if effect.get("drop"):
        raise Dropped()
    if "preset" in effect:
        return plat.faults.presets()[effect["preset"]]()
    if "status" in effect:
        body = effect.get("body")
        if isinstance(body, dict | list):
            resp = current_app.json.response(body)
        else:
            resp = Response("" if body is None else str(body), mimetype="text/plain")
        resp.status_code = effect["status"]
        for k, v in (effect.get("headers") or {}).items():
            resp.headers[k] = v
        return resp
    return None


def self_url() -> str:
    """The address this server can call itself on: ``SELF_URL`` (set by ``trainsim serve`` from its bind
    address, right inside a container whose port is published under another number) or the request's host."""
    return (current_app.config.get("SELF_URL") or request.host_url).rstrip("/")


def add_secret(value: str | None) -> None:
    """Mark a value of this request (e.g. a session token) to be masked in the journal."""
    if value and "sim_call" in g:
        g.sim_call["secrets"].append(value)


def form() -> dict[str, str]:
    """The request's form body (``application/x-www-form-urlencoded``) as a dict, the first value of a
    repeated name winning, as werkzeug's ``request.form.to_dict()`` gives it; parsed once per request from
    the body (read within the body limit) with the standard library, which costs a tenth of werkzeug's
    form parser. Other content types: werkzeug's ``request.form`` (multipart), else empty."""
    req, ctx = _current()
    cached = ctx.get("sim_form")
    if cached is not None:
        return cached
    mimetype = req.mimetype  # parsed from the header on every access
    if mimetype == "application/x-www-form-urlencoded":
        values: dict[str, str] = {}
        try:  # exactly werkzeug's parse (formparser._parse_urlencoded): a body not in UTF-8 is no form
            pairs = parse_qsl(req.get_data(cache=True).decode(), keep_blank_values=True,
                              errors="werkzeug.url_quote")
        except ValueError:
            pairs = []
        for key, value in pairs:
            values.setdefault(key, value)
    elif mimetype == "multipart/form-data":
        values = req.form.to_dict()
    else:
        values = {}
    ctx.sim_form = values
    return values


# the request headers a journal entry keeps, by their WSGI environ key, named as werkzeug names them
_JOURNAL_HEADERS = (("CONTENT_TYPE", "Content-Type"), ("HTTP_ACCEPT", "Accept"),
                    ("HTTP_AUTHORIZATION", "Authorization"), ("HTTP_SOAPACTION", "Soapaction"),
                    ("CONTENT_LENGTH", "Content-Length"), ("HTTP_USER_AGENT", "User-Agent"))


def _request_record(req: Request) -> dict[str, Any]:
    environ = req.environ
    headers = {name: environ[key] for key, name in _JOURNAL_HEADERS if environ.get(key)}
    query = environ.get("QUERY_STRING", "").encode("latin-1", "replace").decode("latin-1")
    mimetype = req.mimetype
    if mimetype == "multipart/form-data":
        files = {name: {"filename": f.filename, "contentType": f.mimetype} for name, f in req.files.items()}
        return {"query": query, "headers": headers, "form": form(), "files": files}
    try:
        body = req.get_data(cache=True, as_text=True)
    except Exception:  # noqa: BLE001 - a body we cannot read is journaled as absent
        body = ""
    record: dict[str, Any] = {"query": query, "headers": headers, "body": body}
    if mimetype == "application/x-www-form-urlencoded":
        record["form"] = form()
    return record


def record_journal(response: Response) -> Response:
    req, ctx = _current()
    call = ctx.get("sim_call")
    if not call:
        return response
    plat = platform()
    try:
        body = "" if response.direct_passthrough else response.get_data(as_text=True)
    except Exception:  # noqa: BLE001
        body = ""
    started = ctx.get("sim_started", time.perf_counter())
    sandbox = call["sandbox"]
    plat.journal.record(
        sandbox, at=iso(plat.clock.now(sandbox)), wall=iso(utcnow()), system=call["system"],
        operation=call["operation"], method=req.method, path=req.path, status=response.status_code,
        duration_ms=(time.perf_counter() - started) * 1000, request=_request_record(req),
        response={"headers": {"Content-Type": response.headers.get("Content-Type", "")}, "body": body},
        secrets=call["secrets"])
    return response


def drop_connection() -> Response:
    """Close the client's socket without an answer: the server puts the socket (``trainsim.socket``) or a
    callable that closes it (``trainsim.drop``) in the WSGI environ."""
    req, ctx = _current()
    call = ctx.get("sim_call")
    if call:
        plat = platform()
        plat.journal.record(
            call["sandbox"], at=iso(plat.clock.now(call["sandbox"])), wall=iso(utcnow()), system=call["system"],
            operation=call["operation"], method=req.method, path=req.path, status=0,
            duration_ms=(time.perf_counter() - ctx.get("sim_started", time.perf_counter())) * 1000,
            request=_request_record(req), response={"dropped": True}, secrets=call["secrets"])
        ctx.sim_call = None
    drop = req.environ.get("trainsim.drop")  # a server that owns its sockets gives a callable
    if callable(drop):
        drop()
    sock = req.environ.get("gunicorn.socket") or req.environ.get("trainsim.socket")
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    resp = Response("", status=499)
    resp.headers["Connection"] = "close"
    return resp


def enforce_body_limit(limit: int) -> None:
    """Refuse (413) a request body over ``limit`` bytes, before anything reads it.

    A declared body over the limit is refused at once, even on a route that never reads it (servers
    would otherwise wait for, or drain, the whole body). A chunked body has no Content-Length, and
    werkzeug would silently cut it at the limit and hand the route a truncated body: it is read here, at
    most one byte past the limit, and refused whole if it is longer. Systems with a lower cap than the
    app's (e.g. 1 MiB) call this from their own ``before_request``.
    """
    req = current_request()
    length = req.content_length
    if length is not None:
        if length > limit:
            abort(413, f"request body is {length} bytes, over the {limit} byte limit")
        req.max_content_length = limit
        return
    cached = getattr(req, "_cached_data", None)
    if cached is None and req.environ.get("wsgi.input_terminated"):
        cached = req.environ["wsgi.input"].read(limit + 1)
        req._cached_data = cached  # get_data(), form and files parse from this copy
    if cached is not None and len(cached) > limit:
        abort(413, f"request body is over the {limit} byte limit")
    req.max_content_length = limit


def refuse_oversized_body() -> None:
    req, ctx = _current()
    ctx.sim_started = time.perf_counter()
    limit = req.max_content_length
    if limit is not None:
        enforce_body_limit(limit)


def _end_call(exc: BaseException | None = None) -> None:
    platform().clock.unpin()


def install(app: Flask) -> None:
    app.before_request(refuse_oversized_body)
    app.teardown_request(_end_call)
    app.after_request(record_journal)
    app.register_error_handler(Dropped, lambda e: drop_connection())
