"""Secrets never shown: not in the journal, the dashboard or the server's logs (access log on).

Every secret a client sends, in every place it can travel (Bluedrop's Authorization header, Trainingportal
username/password as query parameters and as form fields, Learning Assistant's szPassword in the SOAP
body and its token in the SOAP header), is looked for afterwards in the journal (API and dashboard), the
dashboard's pages and the server's output.

Source: control-plane.md "Journal" ("Secrets (passwords, API secrets, tokens) are masked"), issue 9
("secrets masked everywhere they could be shown (journal, dashboard, logs)").
"""

from __future__ import annotations

import time

import pytest
import requests

from .conftest import SYSTEMS, new_sandbox
from .workload import Workload, _xml, envelope

TP = "/mintra/api/courseprovider/rest/v1"


@pytest.mark.slow
def test_secrets_are_in_no_journal_dashboard_page_or_log_line(serve):
    srv = serve(workers=2, env={"TRAINSIM_ACCESS_LOG": "-", "TRAINSIM_LOG_LEVEL": "info"})
    sb = new_sandbox(srv.url, fixtures="demo")
    work = Workload(srv.url, sb)
    secrets: dict[str, str] = {}
    if "bluedrop" in SYSTEMS:
        secrets["bluedrop apiSecret"] = work.network["apiSecret"]
        assert work.write("learningRecord", 1)[2]
        secret = work.network["apiSecret"]
        # a last character that differs from the real one: a fixed "Q" matched it in one secret of 62
        wrong = secret[:-1] + ("Q" if secret[-1] != "Q" else "R")
        bad = work.network["authorization"].replace(secret, wrong)
        secrets["bluedrop wrong secret"] = wrong
        assert requests.post(f"{srv.url}/api-v2/learning-records", json={}, headers={"Authorization": bad},
                             timeout=10).status_code == 401
    if "trainingportal" in SYSTEMS:
        secrets["trainingportal password"] = work.tp_auth["password"]
        assert requests.get(f"{srv.url}{TP}/courses", params=work.tp_auth, timeout=10).status_code == 200
        assert requests.post(f"{srv.url}{TP}/courses", data=work.tp_auth, timeout=10).status_code == 200
        assert requests.get(f"{srv.url}{TP}/courses?username={work.tp_auth['username']}&password=Wr0ngPassw0rd",
                            timeout=10).status_code == 401
        secrets["trainingportal wrong password"] = "Wr0ngPassw0rd"
        assert work.write("courseClass", 2)[2]
    if "learning-assistant" in SYSTEMS:
        secrets["learning assistant password"] = work.la_login["password"]
        token = work.la_token()
        secrets["learning assistant token uuid"] = token[1]
        assert work.write("enrolment", 3)[2]
        wrong = work.soap("authenticate", envelope("Authenticate", _xml(
            {"szUsername": work.la_login["username"], "szPassword": "N0tThePassw0rd"})))
        assert wrong.status_code == 200
        secrets["learning assistant wrong password"] = "N0tThePassw0rd"
    assert secrets

    journal = requests.get(f"{srv.url}/_sim/sandboxes/{sb['id']}/journal?limit=1000", timeout=10)
    assert journal.status_code == 200 and journal.json()["total"] >= len(secrets)
    shown = {"journal": journal.text}
    verify = requests.post(f"{srv.url}/_sim/sandboxes/{sb['id']}/journal/verify",
                           json={"matcher": {"status": 999}, "expect": {"count": 1}}, timeout=10)
    shown["journal/verify nearest misses"] = verify.text
    for rule in ("/_sim/", f"/_sim/ui/{sb['id']}/"):
        r = requests.get(srv.url + rule, timeout=10)
        if r.status_code == 404:
            continue  # no dashboard in this build
        shown[f"dashboard {rule}"] = r.text
    for view in ("ministry", "trainingportal", "learning-assistant", "journal", "timeline"):
        r = requests.get(f"{srv.url}/_sim/ui/{sb['id']}/{view}", timeout=10)
        if r.status_code == 200:
            shown[f"dashboard {view}"] = r.text
    time.sleep(0.5)  # let the access log flush
    shown["server log"] = srv.read_log()
    assert "GET /_sim/health" in shown["server log"] or "/courses" in shown["server log"], \
        "the access log is not on: this test would prove nothing"
    leaks = [(where, what) for where, text in shown.items() for what, value in secrets.items() if value in text]
    # the overview page lists the sandbox's credentials on purpose (as POST /_sim/sandboxes answers them)
    leaks = [(w, s) for w, s in leaks if not (w == f"dashboard /_sim/ui/{sb['id']}/" and "wrong" not in s
                                               and "token" not in s)]
    assert not leaks, leaks
