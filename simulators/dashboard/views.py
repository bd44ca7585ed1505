"""The dashboard's pages: the sandbox chooser, the clock, one view per system, the journal timeline.

Every page is complete server-rendered HTML (readable without JavaScript); ``static/dashboard.js`` adds the
actions, the live clock and the live timeline. All data comes from the documented control-plane GET
endpoints (see :mod:`.control`); all actions go to documented endpoints from the browser.
"""

from __future__ import annotations

import hmac
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, current_app, redirect, request, url_for
from jinja2 import ChainableUndefined, Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ..control import ADMIN_COOKIE, admin_token_ok
from ..platform.http import platform
from . import present
from .control import ControlPlane

log = logging.getLogger("trainsim.dashboard")

HERE = Path(__file__).resolve().parent
dashboard = Blueprint("dashboard", __name__, url_prefix="/_sim", static_folder=str(HERE / "static"),
                      static_url_path="/assets")

# (view slug, tab label, the system it shows or None, what its staff call it)
VIEWS = [
    ("overview", "Overview", None, "Sandbox, credentials and activity"),
    ("ministry", "Ministry registry", "bluedrop", "Bluedrop360 · MOL Certificate Management System"),
    ("trainingportal", "Trainingportal", "trainingportal", "Mintra Trainingportal · course provider"),
    ("learning-assistant", "Learning Assistant", "learning-assistant", "Learning Assistant · e-portfolio"),
]
VIEW_SLUGS = {v[0] for v in VIEWS}
ROWS_SHOWN = 200  # per table; the card says "showing N of M" beyond that (sandboxes may hold 100k records)
CANDIDATES_SHOWN = 40  # each is one more read (its units and outcomes); the rest are counted
SYSTEM_LABELS = {"bluedrop": "Bluedrop", "trainingportal": "Trainingportal",
                 "learning-assistant": "Learning Assistant"}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")

_env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]),
                   undefined=ChainableUndefined, trim_blocks=True, lstrip_blocks=True)
present.install(_env)
_env.globals["url_for"] = url_for


# -- access and headers -------------------------------------------------------------------------


@dashboard.before_request
def _guard() -> Response | None:
    token = current_app.config.get("SIM_ADMIN_TOKEN")
    if not token or request.endpoint == "dashboard.static":
        return None
    given = request.args.get("token")
    if given is not None:
        if given and hmac.compare_digest(given.encode(), token.encode()):
            # take the token once, keep it in a cookie, and drop it from the address bar and history
            args = {k: v for k, v in request.args.items(multi=False) if k != "token"}
            resp = redirect(request.path + (f"?{urlencode(args)}" if args else ""), code=303)
            resp.set_cookie(ADMIN_COOKIE, token, httponly=True, samesite="Strict", path="/_sim",
                            secure=request.is_secure)
            return resp
        return _login(wrong=True)
    if not admin_token_ok():
        return _login(wrong=False)
    return None


@dashboard.after_request
def _headers(resp: Response) -> Response:
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Frame-Options"] = "DENY"
    if request.endpoint != "dashboard.static":
        resp.headers["Cache-Control"] = "no-store"
    return resp


def _login(wrong: bool) -> Response:
    html = render("login.html", wrong=wrong, action=request.path)
    resp = Response(html, status=401, mimetype="text/html")
    resp.headers["WWW-Authenticate"] = 'Bearer realm="trainsim"'
    return resp


# -- rendering ----------------------------------------------------------------------------------


def render(name: str, **ctx: Any) -> str:
    return _env.get_template(name).render(**ctx)


def section(name: str, ctx: dict[str, Any], **derive: Any) -> Markup:
    """One card of a view; a card that cannot render shows why instead of breaking the page.

    ``derive`` maps names to functions of nothing, computed here (inside the guard) for this card.
    """
    try:
        extra = {key: fn() for key, fn in derive.items()}
        return Markup(_env.get_template(name).render(**ctx, **extra))
    except Exception as exc:  # noqa: BLE001 - a demo page must survive an unexpected answer shape
        log.exception("dashboard section %s failed", name)
        return Markup(_env.get_template("partials/broken.html").render(name=name, error=type(exc).__name__))


# -- pages --------------------------------------------------------------------------------------


@dashboard.get("/")
def home() -> Response | str:
    sid = request.args.get("sandbox") or ""
    if sid:
        return redirect(url_for("dashboard.page", sandbox_id=sid, view="overview"), code=302)
    return page(None, "overview")


@dashboard.get("/ui/")
def ui_home() -> Response:
    return redirect(url_for("dashboard.home"), code=302)


@dashboard.get("/ui/<sandbox_id>/", defaults={"view": "overview"})
@dashboard.get("/ui/<sandbox_id>/<view>")
def page(sandbox_id: str | None, view: str) -> Response | str:
    plat = platform()
    sandboxes = ControlPlane("").listing("/_sim/sandboxes", limit=1000)
    if view not in VIEW_SLUGS:
        return _not_found(sandboxes, f"There is no dashboard view called {view!r}.")
    if sandbox_id is None:  # the home page: the demo sandbox, else the oldest one, else an offer to create one
        ids = [s.get("id") for s in sandboxes.items if isinstance(s, dict)]
        sandbox_id = "demo" if "demo" in ids else (ids[0] if ids else None)
        if sandbox_id is None:
            return Response(render("nosandbox.html", **_chrome(None, sandboxes, view)), mimetype="text/html")
    cp = ControlPlane(sandbox_id)
    if cp.get("").status == 404:
        return _not_found(sandboxes, f"There is no sandbox {sandbox_id!r} on this server.")
    ctx = _chrome(sandbox_id, sandboxes, view)
    clock, _ = cp.one("clock")
    ctx["clock"] = clock or {}
    ctx["now"] = present.parse_when((clock or {}).get("now"))
    ctx["journal"] = cp.listing("journal", limit=60)
    ctx["cp"] = cp
    system = next(v[2] for v in VIEWS if v[0] == view)
    if system is not None and system not in plat.systems:
        ctx["sections"] = [section("partials/notbuilt.html", {**ctx, "system": system})]
    else:
        builder = {"overview": _overview, "ministry": _ministry, "trainingportal": _trainingportal,
                   "learning-assistant": _learning_assistant}[view]
        ctx["sections"] = builder(cp, ctx)
    return Response(render("page.html", **ctx), mimetype="text/html")


def _chrome(sandbox_id: str | None, sandboxes: Any, view: str) -> dict[str, Any]:
    items = list(sandboxes.items)
    items.sort(key=lambda s: (s.get("id") != "demo", s.get("createdAt") or ""))
    if sandbox_id and not any(s.get("id") == sandbox_id for s in items):
        items.insert(0, {"id": sandbox_id, "name": sandbox_id})
    systems = set(platform().systems)
    return {"sandbox_id": sandbox_id, "sandboxes": items, "sandbox_total": sandboxes.total, "view": view,
            "views": VIEWS, "systems": systems, "system_labels": SYSTEM_LABELS}


def _not_found(sandboxes: Any, message: str) -> Response:
    ctx = _chrome(None, sandboxes, "overview")
    html = render("nosandbox.html", **ctx, message=message)
    return Response(html, status=404, mimetype="text/html")


# -- the views: which control-plane answers each card shows ---------------------------------------


def _overview(cp: ControlPlane, ctx: dict[str, Any]) -> list[Markup]:
    sandbox, error = cp.one("")
    ctx.update(sandbox=sandbox or {}, sandbox_error=error)
    systems = ctx["systems"]
    counts = []  # (view slug, [(what, listing)]) in tab order
    if "bluedrop" in systems:
        counts.append(("ministry", [("learners in the registry", cp.listing("bluedrop/learners", limit=1)),
                                    ("learning records", cp.listing("bluedrop/learning-records", limit=1)),
                                    ("waiting for a manual match", cp.listing("bluedrop/match-queue", limit=1))]))
    if "trainingportal" in systems:
        counts.append(("trainingportal", [("course classes", cp.listing("trainingportal/classes", limit=1)),
                                          ("bookings", cp.listing("trainingportal/bookings", limit=1)),
                                          ("provider calls", cp.listing("outbox", limit=1))]))
    if "learning-assistant" in systems:
        counts.append(("learning-assistant", [
            ("candidates", cp.listing("learning-assistant/candidates", limit=1)),
            ("login emails sent", cp.listing("emails", limit=1))]))
    ctx["counts"] = counts
    ctx["faults"] = cp.listing("faults")
    ctx["snapshots"] = cp.listing("snapshots")
    return [section("overview/activity.html", ctx), section("overview/sandbox.html", ctx),
            section("overview/faults.html", ctx)]


def _ministry(cp: ControlPlane, ctx: dict[str, Any]) -> list[Markup]:
    ctx["learners"] = cp.listing("bluedrop/learners", limit=ROWS_SHOWN)
    ctx["records"] = cp.listing("bluedrop/learning-records", limit=ROWS_SHOWN)
    ctx["queue"] = cp.listing("bluedrop/match-queue", limit=200)
    ctx["marketplace"] = present.marketplace(cp.get("bluedrop/marketplace", limit=500))
    names = lambda: {ln.get("learnerId"): present.person(ln) for ln in ctx["learners"]}  # noqa: E731
    return [section("ministry/summary.html", ctx), section("ministry/queue.html", ctx),
            section("ministry/learners.html", ctx), section("ministry/records.html", ctx, learner_names=names),
            section("ministry/marketplace.html", ctx)]


def _trainingportal(cp: ControlPlane, ctx: dict[str, Any]) -> list[Markup]:
    ctx["providers"] = cp.listing("trainingportal/providers")
    ctx["classes"] = cp.listing("trainingportal/classes", limit=ROWS_SHOWN)
    ctx["bookings"] = cp.listing("trainingportal/bookings", limit=ROWS_SHOWN)
    ctx["deliveries"] = cp.listing("outbox", limit=50)
    behaviour, _ = cp.one("/_sim/example-provider/behaviour", sandbox=cp.sandbox)
    ctx["example_mode"] = behaviour.get("mode") if isinstance(behaviour, dict) else None
    courses = lambda: present.tp_courses(ctx["providers"], ctx["classes"])  # noqa: E731
    return [section("trainingportal/classes.html", ctx, courses=courses), section("trainingportal/bookings.html", ctx),
            section("trainingportal/deliveries.html", ctx), section("trainingportal/providers.html", ctx)]


def _learning_assistant(cp: ControlPlane, ctx: dict[str, Any]) -> list[Markup]:
    listing = cp.listing("learning-assistant/candidates", limit=CANDIDATES_SHOWN)

    def detailed() -> list[dict[str, Any]]:
        out = []
        for cand in listing.items:
            uuid = present.pick(cand, "candidateUUID", "CandidateUUID")
            full, _ = cp.one(f"learning-assistant/candidates/{quote(str(uuid), safe='')}") if uuid else (None, None)
            out.append(present.candidate(full if isinstance(full, dict) else cand))
        return out

    ctx["candidates"] = listing
    ctx["auto_progress"] = present.auto_progress(cp)
    ctx["emails"] = cp.listing("emails", limit=100)
    return [section("learning_assistant/candidates.html", ctx, candidate_views=detailed),
            section("learning_assistant/emails.html", ctx)]
