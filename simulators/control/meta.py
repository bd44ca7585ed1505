"""Health, the OpenAPI documents and the offline docs page (no asset comes from the internet)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template_string

from .. import __version__
from ..platform.errors import NotFound, Unauthorized
from ..platform.http import platform
from . import admin_token_ok, body_guard, error_response
from .openapi import document

meta = Blueprint("sim_meta", __name__, url_prefix="/_sim")


@meta.get("/health")
def health() -> Response:
    """Open even with SIM_ADMIN_TOKEN set, so container health checks need no secret."""
    plat = platform()
    with plat.store.read() as db:
        db.execute("SELECT 1").fetchone()
    return jsonify({"status": "ok", "version": __version__, "systems": [s.name for s in plat.systems.values()]})


@meta.before_request
def _guard() -> Response | None:
    from flask import request

    if request.endpoint != "sim_meta.health" and not admin_token_ok():
        return error_response(Unauthorized("this server requires Authorization: Bearer <SIM_ADMIN_TOKEN>"))
    return None


@meta.before_app_request
def _sim_body_cap() -> Response | None:
    """The 1 MiB cap holds on every /_sim route, whichever blueprint serves it (dashboard included);
    the example provider plays a provider's own system and keeps the app's cap."""
    from flask import request

    path = request.path
    if (path == "/_sim" or path.startswith("/_sim/")) and not path.startswith("/_sim/example-provider"):
        return body_guard()
    return None


@meta.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document(list(platform().systems.values())))


@meta.get("/openapi/<system>.json")
def system_openapi(system: str) -> Response:
    """The simulated REST APIs' own documents (Bluedrop, Trainingportal), for clients and fuzzing."""
    docs = current_app.config.get("API_DOCUMENTS", {})
    if system not in docs:
        return error_response(NotFound(f"no OpenAPI document for {system!r}; known: {', '.join(sorted(docs))}",
                                       field="system"))
    return jsonify(docs[system]())


DOCS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trainsim control plane API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{background:#17324d;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}
main{max-width:1100px;margin:0 auto;padding:24px 32px}
section{background:#fff;border:1px solid #dde3ea;border-radius:8px;margin:0 0 14px;padding:4px 18px}
h2{font-size:18px;margin:18px 0 8px;text-transform:capitalize}
.op{display:flex;gap:12px;align-items:baseline;padding:6px 0;border-top:1px solid #eef1f4}
.m{font:600 13px ui-monospace,monospace;min-width:64px;text-align:center;border-radius:4px;padding:2px 6px;color:#fff}
.get{background:#2f6fb3}.post{background:#2e8b57}.delete{background:#b33a3a}.patch{background:#a36a00}
code{font:14px ui-monospace,monospace}.s{color:#4a5868}
details{margin:4px 0 10px 76px}pre{background:#f0f3f6;padding:10px;border-radius:6px;overflow:auto;font-size:13px}
</style></head><body>
<header><h1>trainsim control plane &middot; API v{{ doc.info.version }}</h1>
<div>{{ doc.info.description }} Machine-readable: <a style="color:#cfe3ff" href="openapi.json">openapi.json</a>,
{% for name in apis %}<a style="color:#cfe3ff" href="openapi/{{ name }}.json">{{ name }}.json</a> {% endfor %}</div></header>
<main>
{% for tag, ops in groups %}<section><h2>{{ tag }}</h2>
{% for path, method, o in ops %}<div class="op"><span class="m {{ method }}">{{ method|upper }}</span>
<code>{{ path }}</code><span class="s">{{ o.summary }}</span></div>
<details><summary>responses {{ o.responses|list|join(", ") }}</summary>
{% if o.requestBody %}<pre>{{ o.requestBody.content["application/json"].schema|tojson(indent=2) }}</pre>{% endif %}
</details>{% endfor %}</section>{% endfor %}
</main></body></html>"""


@meta.get("/docs")
def docs() -> str:
    doc = document(list(platform().systems.values()))
    groups: dict[str, list] = {}
    for path, item in doc["paths"].items():
        for method, o in item.items():
            if method == "parameters":
                continue
            groups.setdefault(o.get("tags", ["other"])[0], []).append((path, method, o))
    return render_template_string(DOCS, doc=doc, groups=list(groups.items()),
                                  apis=sorted(current_app.config.get("API_DOCUMENTS", {})))
