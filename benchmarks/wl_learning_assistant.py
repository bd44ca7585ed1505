"""Learning Assistant workloads: SOAP 1.1 rpc/encoded envelopes rendered by zeep from the served WSDLs.

Setup authenticates once (the token then slides: every call restarts its 30 minutes, a write per call)
and renders each envelope with zeep, as a real client would send it; the load replays them with a
unique SourceSystemLearnerUUID and email per enrolment.
"""

from __future__ import annotations

import time
from typing import Any

from .workloads import Ctx, Workload, register

TNS = "https://api.learningassistant.com"
XML = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}


class _Client:
    def __init__(self, ctx: Ctx) -> None:
        import requests
        import zeep
        from lxml import etree
        from zeep.plugins import HistoryPlugin
        from zeep.transports import Transport

        self.etree, self.zeep = etree, zeep
        self.base = ctx.url + "/webservices/soap"
        self.history = HistoryPlugin()
        self.transport = Transport(session=requests.Session(), timeout=30)
        self.clients: dict[str, Any] = {}
        creds = ctx.creds("learningAssistant")
        self.service("authenticate").service.Authenticate(creds["username"], creds["password"])
        node = self.history.last_received["envelope"].find(f".//{{{TNS}}}authToken")
        if node is None:
            raise RuntimeError("Authenticate answered no authToken header")
        self.token = (node.findtext("id"), node.findtext("uuid"))

    def service(self, name: str) -> Any:
        if name not in self.clients:
            self.clients[name] = self.zeep.Client(f"{self.base}/{name}.cfc?wsdl", transport=self.transport,
                                                  plugins=[self.history])
        return self.clients[name]

    def header(self) -> Any:
        el = self.etree.Element(f"{{{TNS}}}authToken")
        self.etree.SubElement(el, "id").text = self.token[0]
        self.etree.SubElement(el, "uuid").text = self.token[1]
        return el

    def call(self, service: str, operation: str, **kw: Any) -> Any:
        return getattr(self.service(service).service, operation)(_soapheaders=[self.header()], **kw)

    def envelope(self, service: str, operation: str, **kw: Any) -> str:
        client = self.service(service)
        msg = client.create_message(client.service, operation, _soapheaders=[self.header()], **kw)
        return self.etree.tostring(msg, xml_declaration=True, encoding="UTF-8").decode()


def get_ethnicities(ctx: Ctx) -> list[dict[str, Any]]:
    la = _Client(ctx)
    body = la.envelope("user", "GetEthnicities")
    probe = ctx.call("POST", "/webservices/soap/user.cfc", headers=XML, data=body.encode(), expect=(200,)).text
    if "loggedin" not in probe or "Fault" in probe:
        raise RuntimeError(f"the GetEthnicities envelope is refused: {probe[:600]}")
    return [{"method": "POST", "path": "/webservices/soap/user.cfc", "headers": XML, "body": body,
             "expect": [200]}]


def group_enrolment(ctx: Ctx) -> list[dict[str, Any]]:
    la = _Client(ctx)
    frameworks = la.call("course", "GetFrameworks")
    trainers = la.call("user", "GetTrainers")
    companies = la.call("company", "GetCompanies")
    assessor = next(t for t in trainers if t.blnAssessor)
    verifier = next(t for t in trainers if t.blnVerifier)
    course = {"CourseUUID": frameworks[0].CourseUUID, "CourseQAN": None, "StartDate": "2026-09-01",
              "PlannedEndDate": "2027-09-01", "PrimaryAssessorUUID": assessor.TrainerUUID,
              "PrimaryVerifierUUID": verifier.TrainerUUID, "Units": None}
    user = {"Forename": "Amelia", "Surname": "Thornton", "BirthDate": "2004-05-17", "Gender": "F",
            "EmailAddress": "bench.MARKER@example.org", "SourceSystemLearnerUUID": "MIS-MARKER",
            "CompanyUUID": companies[0].CompanyUUID, "NationalInsuranceNumber": "JT482913C", "ULN": "9276308686",
            "EthnicityID": "31", "NationalityID": "GB", "Course": course,
            "Address": {"AddressLine1": "12 Mill Lane", "Town": "Leeds", "Postcode": "LS1 4AP"}}
    body = la.envelope("enrolment", "GroupEnrolment", User=user, blnAssignEvaluationOnEnroll=False,
                       blnSendLoginDetailsOnEnroll=False)
    if body.count("MARKER") != 2:
        raise RuntimeError("zeep's GroupEnrolment envelope does not carry the learner's email and UUID")
    # one enrolment before the load: it must succeed (a MessageList of issues also answers 200)
    probe = ctx.call("POST", "/webservices/soap/enrolment.cfc", headers=XML, expect=(200,),
                     data=body.replace("MARKER", f"probe-{time.time_ns()}").encode()).text
    if "CandidateUUID" not in probe or "<Code" in probe:
        raise RuntimeError(f"the GroupEnrolment envelope is refused: {probe[:600]}")
    return [{"method": "POST", "path": "/webservices/soap/enrolment.cfc", "headers": XML,
             "body": body.replace("MARKER", "{uid}"), "expect": [200]}]


register(Workload("Learning Assistant GetEthnicities", "soap-read", get_ethnicities, system="learning-assistant",
                  note="SOAP read; each call restarts the token's 30 minutes (a write)"))
register(Workload("Learning Assistant GroupEnrolment", "soap-write", group_enrolment, system="learning-assistant",
                  note="a new learner (SourceSystemLearnerUUID, email) per request"))
