"""The application factory: every simulated system and the control plane on one WSGI app."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from .platform import http as sim_http
from .platform.registry import System
from .platform.runtime import Platform
from .platform.store import Store

log = logging.getLogger("trainsim")

DEFAULT_DB = os.path.join(".trainsim", "state.db")
# the largest body any route accepts (Trainingportal's 10 MiB upload plus multipart overhead);
# each system caps its own routes lower where its real service does
MAX_BODY = 11 * 1024 * 1024


class _App(Flask):
    """Flask, except that whether a view or hook is a coroutine function is worked out once per function,
    not on every call (Flask asks ``inspect`` for every hook and view of every request: ~5 times per call)."""

    _sync: dict[Any, Any]

    def ensure_sync(self, func: Any) -> Any:
        sync = self.__dict__.setdefault("_sync", {})
        try:
            return sync[func]
        except KeyError:
            sync[func] = wrapped = super().ensure_sync(func)
            return wrapped
        except TypeError:  # not hashable
            return super().ensure_sync(func)


def load_systems() -> list[System]:
    """Every system package's System; a package that is not built yet is simply absent."""
    import importlib

    systems = []
    for module in ("bluedrop", "trainingportal", "learning_assistant"):
        try:
            mod = importlib.import_module(f"simulators.{module}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith(f"simulators.{module}"):
                continue
            raise
        system = getattr(mod, "SYSTEM", None)
        if system is not None:
            systems.append(system)
    return systems


def create_app(config: dict[str, Any] | None = None, systems: list[System] | None = None) -> Flask:
    """Build the app. ``config``: DATABASE (path or ``:memory:``), SIM_ADMIN_TOKEN, PUBLIC_URL, DEMO (bool)."""
    config = dict(config or {})
    app = _App(__name__)
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY, JSON_SORT_KEYS=False, SIM_ADMIN_TOKEN=None, DEMO=True)
    app.config.update(config)
    app.json.sort_keys = False
    app.json.ensure_ascii = False

    systems = load_systems() if systems is None else systems
    store = Store(app.config.get("DATABASE", DEFAULT_DB))
    plat = Platform(store, systems, app.config)
    app.extensions["trainsim"] = plat
    sim_http.install(app)

    from .control.meta import meta
    from .control.routes import root, sandbox_bp

    app.register_blueprint(meta)
    app.register_blueprint(root)
    app.register_blueprint(sandbox_bp)
    documents = {}
    for system in systems:
        app.register_blueprint(system.api)
        if system.control is not None:
            app.register_blueprint(system.control)
        for bp in system.extra_blueprints:
            app.register_blueprint(bp)
        if system.api_document is not None:
            documents[system.name] = system.api_document
    app.config["API_DOCUMENTS"] = documents
    try:
        from .dashboard import dashboard
    except ImportError:  # the dashboard package is optional while it is being built
        dashboard = None
    if dashboard is not None:
        app.register_blueprint(dashboard)

    def system_for_path() -> System | None:
        for system in systems:
            if request.path == system.base_path or request.path.startswith(system.base_path + "/"):
                return system
        return None

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        system = system_for_path()
        if system is not None and system.http_error is not None:
            resp = system.http_error(exc.code or 400, exc.description or exc.name)
        else:
            from .control import http_error_response

            resp = http_error_response(exc)
        allowed = getattr(exc, "valid_methods", None)
        if exc.code == 405 and allowed and "Allow" not in resp.headers:
            resp.headers["Allow"] = ", ".join(sorted(allowed))  # RFC 9110: a 405 lists what is allowed
        return resp

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        system = system_for_path()
        if system is not None and system.http_error is not None:
            return system.http_error(500, "internal error")
        resp = jsonify({"code": "internal", "message": "internal error; see the server log"})
        resp.status_code = 500
        return resp

    if app.config.get("DEMO", True):
        plat.sandboxes.ensure_demo()
    return app
