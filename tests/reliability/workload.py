"""A write workload over real HTTP, one kind of write per system, and the control-plane read-back of it.

Each ``write_*`` makes one write a real client would make and returns ``(kind, id, acknowledged, status,
body)``: acknowledged means the server answered the documented success. ``inventory`` reads every id of
each kind back through the control plane's inspection routes, so a test can check that each
acknowledged write is there exactly once.
"""

from __future__ import annotations

import string
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import requests
from lxml import etree

from .conftest import SYSTEMS

TNS = "https://api.learningassistant.com"
SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
KINDS = [k for k, system in (("learningRecord", "bluedrop"), ("classOffering", "bluedrop"),
                             ("courseClass", "trainingportal"), ("enrolment", "learning-assistant"))
         if system in SYSTEMS]


def letters(n: int) -> str:
    """A number as letters (names must look like names): 0 -> 'a', 27 -> 'bb'."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = string.ascii_lowercase[r] + out
    return out


def envelope(operation: str, params: str, header: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAPENV}">'
            f'<soapenv:Header>{header}</soapenv:Header><soapenv:Body><ns1:{operation} xmlns:ns1="{TNS}">'
            f'{params}</ns1:{operation}></soapenv:Body></soapenv:Envelope>').encode()


def _xml(fields: dict[str, Any]) -> str:
    out = []
    for k, v in fields.items():
        if isinstance(v, dict):
            out.append(f"<{k}>{_xml(v)}</{k}>")
        elif v is not None:
            out.append(f"<{k}>{escape(str(v))}</{k}>")
    return "".join(out)


class Workload:
    """Writes into one sandbox; one instance is shared by every thread (sessions are per thread)."""

    def __init__(self, base: str, sandbox: dict[str, Any], timeout: float = 30) -> None:
        self.base = base.rstrip("/")
        self.sb = sandbox
        self.timeout = timeout
        self.local = threading.local()
        creds = sandbox["credentials"]
        if "bluedrop" in SYSTEMS:
            self.network = creds["bluedrop"]["networks"][0]
        if "trainingportal" in SYSTEMS:
            provider = creds["trainingportal"]["providers"][0]
            self.tp_auth = {"username": provider["username"], "password": provider["password"]}
            self.tp_course = provider["courses"][0]["externalId"]
        if "learning-assistant" in SYSTEMS:
            self.la_login = creds["learningAssistant"]
            ref = requests.get(f"{self.base}/_sim/sandboxes/{sandbox['id']}/learning-assistant/reference",
                               timeout=timeout).json()
            self.la_ref = {"company": ref["companies"][0]["CompanyUUID"],
                           "course": ref["frameworks"][0]["CourseUUID"],
                           "assessor": next(t["TrainerUUID"] for t in ref["trainers"]
                                            if t["blnAssessor"] and not t["blnVerifier"]),
                           "verifier": next(t["TrainerUUID"] for t in ref["trainers"]
                                            if t["blnVerifier"] and not t["blnAssessor"])}

    @property
    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def write(self, kind: str, n: int) -> tuple[str, str, bool, int, str]:
        return getattr(self, f"write_{kind}")(n)

    # -- Bluedrop -------------------------------------------------------------------------------

    def _bluedrop(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self.session.post(f"{self.base}/api-v2/{path}", json=body, timeout=self.timeout,
                                 headers={"Authorization": self.network["authorization"]})

    def write_learningRecord(self, n: int) -> tuple[str, str, bool, int, str]:
        rid = f"rel-{uuid.uuid4()}"
        body = {"learningRecordId": rid, "networkKey": self.network["networkKey"], "trainingStandardKey": "WAH-E-I",
                "completionDate": (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "instructorNames": "Pat Instructor",
                "learner": {"uniqueId": f"U-{rid}", "firstname": "Rel" + letters(n), "lastname": "Load" + letters(n),
                            "birthYear": 1990, "personalEmail": f"{rid}@example.ca"}}
        r = self._bluedrop("learning-records", body)
        return "learningRecord", rid, r.status_code == 204, r.status_code, r.text

    def write_classOffering(self, n: int) -> tuple[str, str, bool, int, str]:
        oid = f"REL-{uuid.uuid4().hex[:20]}"
        start = (datetime.now(UTC) + timedelta(days=30)).replace(hour=13, minute=0, second=0, microsecond=0)
        body = {"offeringId": oid, "networkKey": self.network["networkKey"], "trainingStandardKey": "WAH-E-I",
                "deliveryMethod": "in-person", "courseName": "Working at Heights", "seatsRemaining": 10,
                "price": 125.0, "address": {"street-address": "100 Queen St W", "locality": "Toronto", "region": "ON",
                                            "postal-code": "M5H 2N2", "country-name": "Canada"},
                "events": [{"start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "end": (start + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%SZ")}],
                "externalRegistrationUrl": f"https://provider.example.ca/register/{oid}"}
        r = self._bluedrop("class-offerings", body)
        return "classOffering", oid, r.status_code == 204, r.status_code, r.text

    # -- Trainingportal -------------------------------------------------------------------------

    def write_courseClass(self, n: int) -> tuple[str, str, bool, int, str]:
        cid = f"REL-{uuid.uuid4().hex[:16]}"
        start = date.today() + timedelta(days=40)
        r = self.session.post(
            f"{self.base}/mintra/api/courseprovider/rest/v1/courses/get/{self.tp_course}/courseClasses/add",
            data={**self.tp_auth, "externalId": cid, "location": "Stavanger", "availableSeats": 12,
                  "enrollmentDeadline": str(start - timedelta(days=7)),
                  "cancellationDeadline": str(start - timedelta(days=3)), "startDate": str(start),
                  "endDate": str(start + timedelta(days=1)), "address.addressLine1": "Forus Allé 1",
                  "address.addressLine2": "Hall B", "address.city": "Stavanger", "address.zipCode": "4014",
                  "address.country": "Norway", "price.currency": "NOK", "price.amount": "9500.00"},
            timeout=self.timeout)
        return "courseClass", cid, r.status_code == 200, r.status_code, r.text

    # -- Learning Assistant (raw SOAP: what any client's envelope looks like) -----------------------

    def soap(self, service: str, body: bytes, content_type: str = "text/xml; charset=utf-8") -> requests.Response:
        return self.session.post(f"{self.base}/webservices/soap/{service}.cfc", data=body, timeout=self.timeout,
                                 headers={"Content-Type": content_type, "SOAPAction": '""'})

    def la_token(self) -> tuple[str, str]:
        if getattr(self.local, "token", None) is None:
            r = self.soap("authenticate", envelope(
                "Authenticate", _xml({"szUsername": self.la_login["username"],
                                      "szPassword": self.la_login["password"]})))
            root = etree.fromstring(r.content)
            self.local.token = (root.findtext(f".//{{{TNS}}}authToken/id") or root.findtext(".//{*}authToken/{*}id"),
                                root.findtext(f".//{{{TNS}}}authToken/uuid")
                                or root.findtext(".//{*}authToken/{*}uuid"))
        return self.local.token

    def token_header(self) -> str:
        tid, tuuid = self.la_token()
        return f'<t:authToken xmlns:t="{TNS}"><id>{tid}</id><uuid>{tuuid}</uuid></t:authToken>'

    def write_enrolment(self, n: int) -> tuple[str, str, bool, int, str]:
        source = f"REL-{uuid.uuid4()}"
        user = {"Forename": "Rel" + letters(n), "Surname": "Load" + letters(n), "BirthDate": "2000-03-14",
                "EmailAddress": f"{source.lower()}@example.org", "SourceSystemLearnerUUID": source,
                "CompanyUUID": self.la_ref["company"],
                "Course": {"CourseUUID": self.la_ref["course"], "StartDate": "2026-09-01",
                           "PlannedEndDate": "2027-09-01", "PrimaryAssessorUUID": self.la_ref["assessor"],
                           "PrimaryVerifierUUID": self.la_ref["verifier"]}}
        params = (f"<User>{_xml(user)}</User><blnAssignEvaluationOnEnroll>false</blnAssignEvaluationOnEnroll>"
                  "<blnSendLoginDetailsOnEnroll>false</blnSendLoginDetailsOnEnroll>")
        r = self.soap("enrolment", envelope("GroupEnrolment", params, self.token_header()))
        ok = False
        if r.status_code == 200:
            ret = etree.fromstring(r.content).find(f".//{{{TNS}}}GroupEnrolmentResponse/GroupEnrolmentReturn")
            ok = ret is not None and ret.findtext("Success") == "true" and ret.findtext("SourceSystemLearnerUUID") == source
        return "enrolment", source, ok, r.status_code, r.text

    # -- read-back ------------------------------------------------------------------------------

    def _all(self, path: str, key: str) -> list[str]:
        out: list[str] = []
        offset = 0
        while True:
            r = requests.get(f"{self.base}/_sim/sandboxes/{self.sb['id']}/{path}",
                             params={"limit": 1000, "offset": offset}, timeout=60)
            assert r.status_code == 200, r.text
            page = r.json()
            out += [item[key] for item in page["items"]]
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return out

    def inventory(self) -> dict[str, list[str]]:
        """Every id of every kind, as the control plane's inspection lists them (duplicates kept)."""
        readers = {"learningRecord": ("bluedrop/learning-records", "learningRecordId"),
                   "classOffering": ("bluedrop/class-offerings", "offeringId"),
                   "courseClass": ("trainingportal/classes", "externalId"),
                   "enrolment": ("learning-assistant/candidates", "sourceSystemLearnerUUID")}
        return {kind: self._all(*readers[kind]) for kind in KINDS}
