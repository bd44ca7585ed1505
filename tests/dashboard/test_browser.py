"""The dashboard in a real browser (headless Chromium through Playwright) against a real server.

Each test clicks through one demo story and leaves a screenshot under build/screenshots/. Every test
also fails when the page requests a path that /_sim/openapi.json does not document (the dashboard's own
pages and assets aside), any non-local host, or logs a console error. Source: control-plane.md,
"Dashboard"; the brief of issue 7.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
REQUIRE = os.environ.get("TRAINSIM_REQUIRE_BROWSER") == "1"
try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the test extra is installed in CI
    if REQUIRE:
        pytest.fail("TRAINSIM_REQUIRE_BROWSER=1 but the playwright package is not installed", pytrace=False)
    pytest.skip("browser tests skipped: the playwright package is not installed", allow_module_level=True)
if not Path(CHROMIUM).exists():
    if REQUIRE:
        pytest.fail(f"TRAINSIM_REQUIRE_BROWSER=1 but {CHROMIUM} is missing", pytrace=False)
    pytest.skip(f"browser tests skipped: {CHROMIUM} not found", allow_module_level=True)

from simulators.app import create_app  # noqa: E402
from simulators.dashboard import present  # noqa: E402
from simulators.server import InProcessServer  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
TOKEN = "dash-board-token"
# the dashboard's own pages and static files; everything else must be in /_sim/openapi.json
OWN = re.compile(r"^/_sim/(?:|ui/[^/]+/(?:[a-z-]+)?|assets/[\w.-]+)$")


@pytest.fixture(scope="module")
def app():
    return create_app({"DATABASE": ":memory:"})


@pytest.fixture(scope="module")
def server(app):
    srv = InProcessServer(app).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def documented(server):
    doc = requests.get(f"{server.url}/_sim/openapi.json", timeout=10).json()
    return [re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(p)) + "$") for p in doc["paths"]]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


class Visit:
    """A fresh browser context that records every request and console error of its page."""

    def __init__(self, browser, server, documented) -> None:
        self.server = server
        self.documented = documented
        self.context = browser.new_context(viewport={"width": 1280, "height": 800})
        self.page = self.context.new_page()
        self.page.set_default_timeout(8000)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, path: str) -> None:
        resp = self.page.goto(self.server.url + path)
        assert resp is not None and resp.status == 200, path

    def finish(self, name: str, allow: tuple[str, ...] = ()) -> None:
        """Screenshot, then fail on stray requests and on console errors (``allow``: expected ones)."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        here = urlsplit(self.server.url)
        strays = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme == "data":  # inline (the favicon): nothing leaves the page
                continue
            if (parts.scheme, parts.hostname, parts.port) != (here.scheme, here.hostname, here.port):
                strays.append(f"non-local request {url}")
            elif not OWN.match(parts.path) and not any(p.match(parts.path) for p in self.documented):
                strays.append(f"undocumented path {parts.path}")
        assert not strays, strays
        errors = [e for e in self.errors if not any(a in e for a in allow)]
        assert not errors, errors


@pytest.fixture
def visit(browser, server, documented):
    v = Visit(browser, server, documented)
    yield v
    v.context.close()


def new_sandbox(server) -> dict:
    resp = requests.post(f"{server.url}/_sim/sandboxes", json={"fixtures": "demo", "seed": 7}, timeout=10)
    assert resp.status_code == 201
    return resp.json()


def test_book_a_seat_runs_the_reservation_flow(visit, server):
    sid = new_sandbox(server)["id"]
    visit.open(f"/_sim/ui/{sid}/trainingportal")
    page = visit.page
    expect(page.locator("#bookings-table")).to_be_visible()
    before = page.locator("#bookings-table tbody tr").count()
    row = page.locator("#classes-table tr[data-class='BST-1002']")
    seats = int(row.locator(".seats-num").inner_text())
    row.get_by_role("button", name="Book a seat on class BST-1002").click()

    flash = page.locator("[data-flash]")
    expect(flash).to_contain_text("Seat booked on class BST-1002")
    expect(flash).to_contain_text("Booking reference")
    expect(flash).to_contain_text("Provider call delivered")
    reference = re.search(r"Booking reference (\S+)", flash.inner_text()).group(1)
    expect(page.locator("#bookings-table tbody tr")).to_have_count(before + 1)
    new_row = page.locator(f"#bookings-table tr[data-ref='{reference}']")
    expect(new_row).to_contain_text("BST-1002")
    expect(new_row).to_contain_text("New")
    expect(row.locator(".seats-num")).to_have_text(str(seats - 1))
    delivery = page.locator("#deliveries-table tbody tr").first
    expect(delivery).to_contain_text("Reservation")
    expect(delivery).to_contain_text("Delivered")
    expect(delivery).to_contain_text("/_sim/example-provider/reserve")
    visit.finish("trainingportal-book-a-seat")


def test_cancel_a_booking_returns_the_seat(visit, server):
    sid = new_sandbox(server)["id"]
    booked = requests.post(f"{server.url}/_sim/sandboxes/{sid}/trainingportal/bookings", timeout=15, json={
        "username": requests.get(f"{server.url}/_sim/sandboxes/{sid}", timeout=10).json()
        ["credentials"]["trainingportal"]["providers"][0]["username"],
        "externalCourseId": "6", "externalCourseClassId": "BST-1002"})
    assert booked.status_code == 201, booked.text
    reference = booked.json()["booking"]["bookingReference"]
    visit.open(f"/_sim/ui/{sid}/trainingportal")
    page = visit.page
    row = page.locator(f"#bookings-table tr[data-ref='{reference}']")
    row.get_by_role("button", name=re.compile("Cancel booking")).click()
    expect(page.locator("[data-flash]")).to_contain_text(f"Booking {reference} cancelled")
    expect(row).to_contain_text("Cancelled")
    expect(page.locator("#deliveries-table tbody tr").first).to_contain_text("Cancellation")
    visit.finish("trainingportal-cancel")


def test_match_a_queued_record_to_a_learner(visit, server):
    sid = new_sandbox(server)["id"]
    queue = requests.get(f"{server.url}/_sim/sandboxes/{sid}/bluedrop/match-queue", timeout=10).json()
    assert queue["total"] >= 1, "the demo fixtures hold a record waiting in the manual match queue"
    record = queue["items"][0]
    learner = record["candidates"][0]["learnerId"]

    visit.open(f"/_sim/ui/{sid}/ministry")
    page = visit.page
    item = page.locator(f"#queue-list li[data-record='{record['learningRecordId']}']")
    item.get_by_label("Match to learner").select_option(learner)
    item.get_by_role("button", name=re.compile("Match record")).click()

    expect(page.locator("[data-flash]")).to_contain_text(f"Record matched to learner {learner}")
    expect(item).to_have_count(0)
    records_row = page.locator(f"#records-table tr[data-record='{record['learningRecordId']}']")
    expect(records_row).to_contain_text("Matched")
    expect(records_row).to_contain_text(learner)
    expect(page.locator(f"#learners-table tr[data-learner='{learner}']")).to_contain_text(
        record["trainingStandardKey"])
    after = requests.get(f"{server.url}/_sim/sandboxes/{sid}/bluedrop/learning-records/"
                         f"{record['learningRecordId']}", timeout=10).json()
    assert (after["matchState"], after["learnerId"]) == ("matched", learner)
    visit.finish("ministry-manual-match")


def test_clock_advance_moves_auto_progress(visit, server):
    sid = new_sandbox(server)["id"]
    visit.open(f"/_sim/ui/{sid}/learning-assistant")
    page = visit.page
    switch = page.get_by_role("switch", name="Auto-progress")
    expect(switch).not_to_be_checked()
    switch.check()
    expect(page.locator("[data-flash]")).to_contain_text("Auto-progress on")
    expect(page.get_by_role("switch", name="Auto-progress")).to_be_checked()
    expect(page.locator("#auto-progress-help")).to_contain_text("Auto-progress is on")  # re-rendered

    def shown() -> dict[str, int]:
        return page.eval_on_selector_all(
            "details.candidate", "ds => Object.fromEntries(ds.map(d => [d.dataset.candidate, "
                                 "+d.querySelector('.pct').dataset.percent]))")

    before = shown()
    clock_before = page.locator("#clock-time").get_attribute("datetime")
    page.get_by_role("button", name="Advance the sandbox clock by 1 month (30 days)").click()
    expect(page.locator("[data-flash]")).to_contain_text("Clock advanced +1 month")
    expect(page.locator("#clock-time")).not_to_have_attribute("datetime", clock_before)
    clock = requests.get(f"{server.url}/_sim/sandboxes/{sid}/clock", timeout=10).json()
    expect(page.locator(".view-sub")).to_contain_text(f"as of {present.day(clock['now'])}")  # re-rendered
    page.wait_for_function(
        "before => [...document.querySelectorAll('details.candidate')].some("
        "d => +d.querySelector('.pct').dataset.percent > before[d.dataset.candidate])", arg=before)
    after = shown()
    assert all(after[c] >= before[c] for c in before) and after != before
    # what the page shows is what the control plane answers
    api = requests.get(f"{server.url}/_sim/sandboxes/{sid}/learning-assistant/candidates", timeout=10).json()
    assert after == {c["candidateUUID"]: c["percentComplete"] for c in api["items"]}
    assert clock["offsetSeconds"] >= 30 * 86400 - 5
    moved = next(c for c in before if after[c] > before[c])
    candidate = page.locator(f"details.candidate[data-candidate='{moved}']")
    candidate.locator("summary").click()
    expect(candidate.locator(".outcome.is-met").first).to_be_visible()
    visit.finish("learning-assistant-auto-progress")


def test_mark_an_outcome_met(visit, server):
    sid = new_sandbox(server)["id"]
    visit.open(f"/_sim/ui/{sid}/learning-assistant")
    page = visit.page
    candidate = page.locator("details.candidate").filter(has_text="Grace Adeyemi")
    candidate.locator("summary").click()
    met_before = candidate.locator(".outcome.is-met").count()
    candidate.get_by_role("button", name=re.compile("^Mark outcome")).first.click()
    expect(page.locator("[data-flash]")).to_contain_text("marked met")
    expect(candidate.locator(".outcome.is-met")).to_have_count(met_before + 1)
    assert candidate.evaluate("d => d.open")  # the re-render keeps the learner expanded
    visit.finish("learning-assistant-outcome-met")


def test_provider_refusal_shows_the_failed_delivery(visit, server):
    sid = new_sandbox(server)["id"]
    visit.open(f"/_sim/ui/{sid}/trainingportal")
    page = visit.page
    page.get_by_label("It answers").select_option("refuse")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("[data-flash]")).to_contain_text("Example provider now answers: refuse")
    page.get_by_role("button", name="Book a seat on class BST-1002").click()
    flash = page.locator("[data-flash]")
    expect(flash).to_contain_text("The provider did not take the booking")
    expect(flash).to_contain_text("fully booked")
    failed = page.locator("#deliveries-table tbody tr").first
    expect(failed).to_contain_text("Failed")
    expect(failed.get_by_role("button", name=re.compile("^Retry delivery"))).to_be_visible()
    expect(page.locator("#classes-table tr[data-class='BST-1002'] .seats-num")).to_have_text("16")
    # the provider takes bookings again: the retry goes through and the seat is taken
    page.get_by_label("It answers").select_option("accept")
    page.get_by_role("button", name="Apply").click()
    expect(flash).to_contain_text("Example provider now answers: accept")
    failed.get_by_role("button", name=re.compile("^Retry delivery")).click()
    expect(flash).to_contain_text("Delivery retried")
    expect(page.locator("#deliveries-table tbody tr").first).to_contain_text("Delivered")
    expect(page.locator("#classes-table tr[data-class='BST-1002'] .seats-num")).to_have_text("15")
    # the refused booking's 502 is the one console error the browser logs, by design
    visit.finish("trainingportal-provider-refused", allow=("status of 502",))


def test_support_desk_corrects_and_voids_a_record(visit, server):
    sid = new_sandbox(server)["id"]
    records = requests.get(f"{server.url}/_sim/sandboxes/{sid}/bluedrop/learning-records", timeout=10).json()
    record = next(r for r in records["items"] if r["matchState"] != "queued" and not r["voided"])
    rid = record["learningRecordId"]
    visit.open(f"/_sim/ui/{sid}/ministry")
    page = visit.page
    row = page.locator(f"#records-table tr[data-record='{rid}']")

    row.get_by_role("button", name=f"Correct record {rid}").click()
    dialog = page.get_by_role("dialog", name="Correct a learning record")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Field to correct").select_option("instructorNames")
    dialog.get_by_label("New value").fill("Dana Whitfield; Omar Haddad")
    dialog.get_by_label("Reason").fill("Provider ticket 4821: wrong instructor")
    dialog.get_by_role("button", name="Save correction").click()
    expect(page.locator("[data-flash]")).to_contain_text(f"Learning record {rid} corrected")
    expect(dialog).to_be_hidden()
    after = requests.get(f"{server.url}/_sim/sandboxes/{sid}/bluedrop/learning-records/{rid}", timeout=10).json()
    assert after["instructorNames"] == "Dana Whitfield; Omar Haddad"
    assert after["history"][-1]["reason"] == "Provider ticket 4821: wrong instructor"
    row.get_by_role("button", name=f"History of record {rid}").click()
    history = page.get_by_role("dialog", name="Record history")
    expect(history).to_contain_text("Reason: Provider ticket 4821: wrong instructor")
    expect(history).to_contain_text("Dana Whitfield; Omar Haddad")
    history.get_by_role("button", name="Close").click()
    expect(history).to_be_hidden()

    row.get_by_role("button", name=f"Void record {rid}").click()
    dialog = page.get_by_role("dialog", name="Void a learning record")
    dialog.get_by_label("Reason").fill("Duplicate of a paper record")
    dialog.get_by_role("button", name="Void record").click()
    expect(page.locator("[data-flash]")).to_contain_text(f"Learning record {rid} voided")
    expect(row).to_contain_text("Voided")
    expect(row).to_contain_text("Duplicate of a paper record")
    expect(row.get_by_role("button", name=re.compile("^(Correct|Void) record"))).to_have_count(0)
    visit.finish("ministry-support-desk")


def test_resend_a_login_email(visit, server, app):
    sid = new_sandbox(server)["id"]
    # a login email as GroupEnrolment sends it (put in the outbox directly: this test is about the page)
    plat = app.extensions["trainsim"]
    from datetime import timedelta

    with plat.store.write() as db:
        sent = plat.clock.now(sid, db) - timedelta(hours=30)
        plat.outbox.email(db, sid, system="learning-assistant", subject_ref="CAND-1", to="grace@example.org",
                          subject="Your Learning Assistant login details", body="Dear Grace",
                          link_base="https://app.example.org/login", at=sent, valid_for=timedelta(hours=24))
    visit.open(f"/_sim/ui/{sid}/learning-assistant")
    page = visit.page
    row = page.locator("#emails-table tbody tr").first
    expect(row).to_contain_text("grace@example.org")
    expect(row).to_contain_text("Expired")
    expect(row).to_contain_text("token=" + "\u2022" * 8)  # the login token is masked
    row.get_by_role("button", name="Resend the login email to grace@example.org").click()
    expect(page.locator("[data-flash]")).to_contain_text("Login email re-sent")
    expect(row).to_contain_text("Valid")
    expect(row).to_contain_text("sent 2 times")
    visit.finish("learning-assistant-emails")


def test_timeline_shows_a_clients_call_live(visit, server):
    visit.open("/_sim/")
    page = visit.page
    creds = requests.get(f"{server.url}/_sim/sandboxes/demo", timeout=10).json()["credentials"]
    provider = creds["trainingportal"]["providers"][0]
    resp = requests.get(f"{server.url}/mintra/api/courseprovider/rest/v1/courses",
                        params={"username": provider["username"], "password": provider["password"]}, timeout=10)
    assert resp.status_code == 200

    entry = page.locator("#timeline .entry[data-system='trainingportal']").filter(has_text="getCourses").first
    expect(entry).to_be_visible()
    expect(entry).to_contain_text("200")
    entry.locator("summary").click()
    body = entry.locator(".entry-body")
    expect(body).to_be_visible()
    expect(body).to_contain_text("GET /mintra/api/courseprovider/rest/v1/courses")
    expect(body).to_contain_text("Basic Safety Training")  # the response body
    assert provider["password"] not in page.content()

    page.get_by_label("Show calls of one system").select_option("bluedrop")
    expect(entry).to_be_hidden()
    page.get_by_label("Show calls of one system").select_option("")
    expect(entry).to_be_visible()
    visit.finish("timeline-live")


def test_freeze_and_unfreeze_the_clock(visit, server):
    sid = new_sandbox(server)["id"]
    visit.open(f"/_sim/ui/{sid}/")
    page = visit.page
    page.get_by_role("button", name="Freeze the sandbox clock").click()
    expect(page.locator("#clock-state")).to_have_text("Frozen")
    frozen_at = page.locator("#clock-time").inner_text()
    page.wait_for_timeout(1300)
    expect(page.locator("#clock-time")).to_have_text(frozen_at)
    assert requests.get(f"{server.url}/_sim/sandboxes/{sid}/clock", timeout=10).json()["frozen"] is True
    page.get_by_role("button", name="Unfreeze the sandbox clock").click()
    expect(page.locator("#clock-state")).to_have_text("Running")
    visit.finish("clock-freeze")


def test_admin_token_is_taken_once_and_sent_with_every_call(browser):
    srv = InProcessServer(create_app({"DATABASE": ":memory:", "SIM_ADMIN_TOKEN": TOKEN})).start()
    try:
        doc = requests.get(f"{srv.url}/_sim/openapi.json", timeout=10,
                           headers={"Authorization": f"Bearer {TOKEN}"}).json()
        documented = [re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(p)) + "$") for p in doc["paths"]]
        v = Visit(browser, srv, documented)
        try:
            resp = v.page.goto(f"{srv.url}/_sim/ui/demo/trainingportal?token={TOKEN}")
            assert resp.status == 200
            assert v.page.url == f"{srv.url}/_sim/ui/demo/trainingportal"
            # the polls and an action go through with the cookie: the timeline stays live, the clock moves
            v.page.get_by_role("button", name="Advance the sandbox clock by 30 minutes").click()
            expect(v.page.locator("[data-flash]")).to_contain_text("Clock advanced +30 min")
            expect(v.page.locator("#live-indicator")).not_to_have_class(re.compile("is-off"))
            assert TOKEN not in v.page.content()
            v.finish("admin-token")
        finally:
            v.context.close()
    finally:
        srv.stop()
