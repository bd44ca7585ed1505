"""The dashboard's server-rendered pages, through Flask's test client: every view renders, secrets stay
masked, the admin token is taken once into a cookie, and a missing system or an odd answer shows an
empty state instead of breaking the page. Source: control-plane.md, "Dashboard" and "Running it"."""

from __future__ import annotations

import re

import pytest

from simulators.app import create_app
from simulators.dashboard import present

VIEWS = ["", "ministry", "trainingportal", "learning-assistant"]
DEMO_SECRETS = ["demo-tp-password", "demo-bd-secret-northern", "demo-bd-secret-lakeshore", "demo-la-password"]


@pytest.fixture(scope="module")
def app():
    return create_app({"DATABASE": ":memory:"})


@pytest.fixture
def client(app):
    return app.test_client()


def page(client, view: str, sandbox: str = "demo"):
    return client.get(f"/_sim/ui/{sandbox}/{view}")


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_renders_with_csp(client, view):
    resp = page(client, view)
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    html = resp.get_data(as_text=True)
    assert "could not be shown" not in html
    # no inline script or style: everything lives in the static files the CSP allows
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html and ' style="' not in html
    assert 'id="clock-panel"' in html and 'id="timeline"' in html


def test_home_is_the_demo_overview(client):
    resp = client.get("/_sim/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'data-sandbox="demo"' in html
    assert "Base URLs" in html and "/mintra/api/courseprovider/rest/v1" in html


def test_home_with_a_sandbox_parameter_redirects_to_its_page(client):
    resp = client.get("/_sim/?sandbox=demo")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/_sim/ui/demo/")


@pytest.mark.parametrize("view", VIEWS)
def test_secrets_never_appear_in_clear(client, view):
    html = page(client, view).get_data(as_text=True)
    for secret in DEMO_SECRETS:
        assert secret not in html
    if view == "":
        assert present.MASK in html  # the credentials card shows that a secret exists


def test_views_show_each_systems_state(client):
    ministry = page(client, "ministry").get_data(as_text=True)
    assert "Manual match queue" in ministry and "lsi-7f3e-0005" in ministry
    assert "Refresher with no full WAH course on file" in ministry  # a flag, in words
    assert "Full" in ministry  # the Marketplace shows a class with no seats left as Full
    tp = page(client, "trainingportal").get_data(as_text=True)
    assert 'data-action="tp-book"' in tp and "BST-1001" in tp and "Delivery log" in tp
    la = page(client, "learning-assistant").get_data(as_text=True)
    assert 'data-action="la-auto"' in la and "<progress" in la and "Mark outcome met" in la


def test_every_control_has_an_accessible_name(client):
    for view in VIEWS:
        html = page(client, view).get_data(as_text=True)
        ids_with_labels = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', html))
        for tag in re.finditer(r"<(select|input|textarea)\b([^>]*)>", html):
            attrs = tag.group(2)
            if 'type="hidden"' in attrs:
                continue
            ident = re.search(r'\bid="([^"]+)"', attrs)
            assert "aria-label=" in attrs or (ident and ident.group(1) in ids_with_labels), tag.group(0)
        for button in re.finditer(r"<button\b([^>]*)>(.*?)</button>", html, re.S):
            assert "aria-label=" in button.group(1) or re.sub(r"<[^>]+>", "", button.group(2)).strip(), button.group(0)


def test_unknown_sandbox_and_view_are_404_pages(client):
    resp = client.get("/_sim/ui/no-such-sandbox/")
    assert resp.status_code == 404
    assert "There is no sandbox" in resp.get_data(as_text=True)
    resp = client.get("/_sim/ui/demo/nope")
    assert resp.status_code == 404
    assert "no dashboard view called" in resp.get_data(as_text=True)


def test_an_empty_sandbox_renders_empty_states(client):
    sid = client.post("/_sim/sandboxes", json={"fixtures": "empty"}).get_json()["id"]
    for view in VIEWS:
        resp = page(client, view, sid)
        assert resp.status_code == 200, view
        assert "could not be shown" not in resp.get_data(as_text=True)
    tp = page(client, "trainingportal", sid).get_data(as_text=True)
    assert "No bookings yet" in tp and "No outbound calls yet" in tp


def test_a_server_without_systems_still_renders():
    bare = create_app({"DATABASE": ":memory:"}, systems=[]).test_client()
    assert bare.get("/_sim/").status_code == 200
    for view in VIEWS[1:]:
        resp = bare.get(f"/_sim/ui/demo/{view}")
        assert resp.status_code == 200
        assert "is not part of this server" in resp.get_data(as_text=True)


def test_a_server_without_sandboxes_offers_to_create_one():
    bare = create_app({"DATABASE": ":memory:", "DEMO": False}).test_client()
    resp = bare.get("/_sim/")
    assert resp.status_code == 200
    assert 'data-action="sandbox-new"' in resp.get_data(as_text=True)


def test_an_unexpected_answer_breaks_one_card_not_the_page(client, monkeypatch):
    def boom(*args, **kwargs):
        raise TypeError("odd shape")

    monkeypatch.setattr(present, "tp_courses", boom)
    resp = page(client, "trainingportal")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "could not be shown" in html
    assert "Bookings" in html  # the other cards are there


def test_journal_entries_render_expandable_and_escaped(client):
    # a client's call with markup in it: the page must show it as text
    client.get("/mintra/api/courseprovider/rest/v1/courses",
               query_string={"username": "demo-nordsjo-safety", "password": "demo-tp-password",
                             "x": "<script>alert(1)</script>"})
    html = page(client, "").get_data(as_text=True)
    assert "getCourses" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html or "%3Cscript%3E" in html
    assert "demo-tp-password" not in html


# -- SIM_ADMIN_TOKEN ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded():
    return create_app({"DATABASE": ":memory:", "SIM_ADMIN_TOKEN": "s3cret-token"})


def test_token_required_shows_a_sign_in_page(guarded):
    c = guarded.test_client()
    resp = c.get("/_sim/ui/demo/trainingportal")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="trainsim"'
    html = resp.get_data(as_text=True)
    assert 'name="token"' in html and "demo-tp-password" not in html


def test_a_wrong_token_is_refused(guarded):
    resp = guarded.test_client().get("/_sim/?token=nope")
    assert resp.status_code == 401
    assert "not the one this server was started with" in resp.get_data(as_text=True)


def test_the_token_is_taken_once_into_a_cookie(guarded):
    c = guarded.test_client()
    resp = c.get("/_sim/ui/demo/ministry?token=s3cret-token")
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/_sim/ui/demo/ministry"  # the token leaves the address bar
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("trainsim_admin=s3cret-token;")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/_sim" in cookie
    page_resp = c.get("/_sim/ui/demo/ministry")
    assert page_resp.status_code == 200
    assert "Manual match queue" in page_resp.get_data(as_text=True)
    # the page's fetch() calls carry the same cookie, which the control plane accepts
    assert c.get("/_sim/sandboxes/demo/clock").status_code == 200


def test_static_assets_need_no_token(guarded):
    resp = guarded.test_client().get("/_sim/assets/dashboard.css")
    assert resp.status_code == 200
    assert resp.headers["Content-Security-Policy"]
