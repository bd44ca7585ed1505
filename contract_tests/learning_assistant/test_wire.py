"""Tolerant reading and hostile input on the SOAP wire (spec: learning-assistant.md "Protocol": multi-refs,
any prefixes, Faults for malformed input, no DTDs or external entities)."""

from __future__ import annotations

import pytest
import requests
from lxml import etree

from .conftest import TNS, envelope, fault_of, token_header
from .helpers import reference

NET_MULTIREF = """<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:tns="https://api.learningassistant.com"
  xmlns:types="http://enrolment.types.soap.webservices" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:xsd="http://www.w3.org/2001/XMLSchema">
 <soap:Header>{header}</soap:Header>
 <soap:Body soap:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
  <tns:GroupEnrolment>
   <User href="#id1"/>
   <blnAssignEvaluationOnEnroll xsi:type="xsd:boolean">false</blnAssignEvaluationOnEnroll>
   <blnSendLoginDetailsOnEnroll xsi:type="xsd:boolean">false</blnSendLoginDetailsOnEnroll>
  </tns:GroupEnrolment>
  <types:Type_enrolmentUser id="id1" xsi:type="types:Type_enrolmentUser">
   <Address href="#id2"/>
   <BirthDate xsi:type="xsd:string">2003-02-11</BirthDate>
   <CompanyUUID xsi:type="xsd:string">{company}</CompanyUUID>
   <Course href="#id3"/>
   <EmailAddress xsi:type="xsd:string">dotnet.learner@example.org</EmailAddress>
   <Forename xsi:type="xsd:string">Dot</Forename>
   <Surname xsi:type="xsd:string">Net</Surname>
   <SourceSystemLearnerUUID xsi:type="xsd:string">NET-0001</SourceSystemLearnerUUID>
   <ULN xsi:nil="true"/>
  </types:Type_enrolmentUser>
  <types:Type_address id="id2" xsi:type="types:Type_address">
   <Town xsi:type="xsd:string">York</Town>
  </types:Type_address>
  <types:Type_course id="id3" xsi:type="types:Type_course">
   <CourseUUID xsi:type="xsd:string">{course}</CourseUUID>
   <StartDate xsi:type="xsd:string">2026-09-01</StartDate>
   <PrimaryAssessorUUID xsi:type="xsd:string">{assessor}</PrimaryAssessorUUID>
   <PrimaryVerifierUUID xsi:type="xsd:string">{verifier}</PrimaryVerifierUUID>
   <Units href="#id4"/>
  </types:Type_course>
  <soapenc:Array id="id4" soapenc:arrayType="xsd:string[{count}]">
   {units}
  </soapenc:Array>
 </soap:Body>
</soap:Envelope>"""


@pytest.mark.mutating
@pytest.mark.control_plane
def test_dotnet_multiref_group_enrolment_is_accepted(la, sandbox):
    """Spec "Protocol": .NET-style multi-references (href="#id1" -> element with id="id1") are read."""
    la.authenticate()
    ref = reference(la)
    fw = ref["framework"]
    units = [u.UnitUUID for u in fw.Units]
    body = NET_MULTIREF.format(header=token_header(la.token), company=ref["company"].CompanyUUID,
                               course=fw.CourseUUID, assessor=ref["assessor"].TrainerUUID,
                               verifier=ref["verifier"].TrainerUUID, count=len(units),
                               units="".join(f'<item xsi:type="xsd:string">{u}</item>' for u in units))
    resp = la.raw("enrolment", body)
    assert resp.status_code == 200, resp.text
    root = etree.fromstring(resp.content)
    ret = root.find(f".//{{{TNS}}}GroupEnrolmentResponse/GroupEnrolmentReturn")
    assert ret.findtext("Success") == "true", resp.text
    assert ret.findtext("SourceSystemLearnerUUID") == "NET-0001"
    cand = ret.findtext("CandidateUUID")
    detail = sandbox.get(f"/learning-assistant/candidates/{cand}")
    assert detail["record"]["Address"]["Town"] == "York"
    assert detail["record"]["Course"]["Units"] == units
    assert root.find(f".//{{{TNS}}}authToken").get("loggedin") == "YES"


def test_inline_without_types_or_encoding_and_odd_prefixes(la):
    """Spec "Protocol": without xsi:type, encodingStyle or arrayType, any namespace prefixes."""
    la.authenticate()
    body = ('<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Header>'
            f'<q:authToken xmlns:q="{TNS}"><id>{la.token[0]}</id><uuid>{la.token[1]}</uuid></q:authToken>'
            f'</e:Header><e:Body><zz:GetCandidates xmlns:zz="{TNS}"><CourseQAN/><blnActive>1</blnActive>'
            '<blnCompleted>0</blnCompleted><blnTest>false</blnTest></zz:GetCandidates></e:Body></e:Envelope>')
    resp = la.raw("user", body)
    assert resp.status_code == 200, resp.text
    root = etree.fromstring(resp.content)
    statuses = {i.findtext("Status") for i in root.iter("item")}
    assert statuses == {"Active"}


def _hostile(la, body, content_type="text/xml; charset=utf-8"):
    resp = la.raw("user", body, content_type=content_type)
    assert resp.status_code == 500
    assert resp.headers["Content-Type"].startswith("text/xml")
    return fault_of(resp)


def test_xxe_file_entity_is_refused(la):
    """Spec "Protocol": XML parsing refuses DTDs and external entities (no XXE)."""
    body = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            + envelope("Authenticate", "<szUsername>&xxe;</szUsername><szPassword>x</szPassword>"))
    code, message = _hostile(la, body)
    assert code == "soapenv:Client"
    assert message.startswith("XML with a DTD or entity declarations is refused")
    assert "root:" not in message


def test_billion_laughs_is_refused_fast(la):
    """Spec "Protocol": no entity expansion."""
    lol = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    body = f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY l0 "lol">{lol}]>' + envelope("GetEthnicities", "&l9;")
    code, message = _hostile(la, body)
    assert code == "soapenv:Client" and "DTD" in message


@pytest.mark.parametrize("body,expected", [
    ("<soapenv:Envelope", "request body is not well-formed XML"),
    ("<order><id>1</id></order>", "request is not a SOAP 1.1 envelope: root element is 'order'"),
    ('<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"/>', "SOAP envelope has no Body"),
    ('<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>',
     "SOAP Body is empty; expected an operation element"),
    ("", "request body is empty; expected a SOAP 1.1 envelope"),
])
def test_malformed_and_non_soap_bodies_are_client_faults(la, body, expected):
    """Spec "Protocol": malformed XML or a body that is not a SOAP envelope -> soapenv:Client, HTTP 500."""
    code, message = _hostile(la, body)
    assert code == "soapenv:Client"
    assert message.startswith(expected), message


def test_unknown_operation_is_a_client_fault(la):
    """Spec "Protocol": an unknown operation -> soapenv:Client naming it."""
    assert _hostile(la, envelope("DeleteEverything")) == (
        "soapenv:Client", "no operation 'DeleteEverything' in user.cfc; its operations: GetTrainers, GetNationalities, "
                          "GetEthnicities, GetCandidates, GetProgress, GetProgressFull")


def test_wrong_content_type_is_a_client_fault(la):
    """SOAP 1.1 travels as text/xml."""
    assert _hostile(la, envelope("GetEthnicities"), content_type="application/json") == (
        "soapenv:Client", "Content-Type must be text/xml for SOAP 1.1, got 'application/json'")


def test_body_over_the_limit_is_a_client_fault(la):
    """Decision: bodies over 1 MiB are refused before parsing: HTTP 413 with a soapenv:Client Fault, whether the
    size is declared (Content-Length) or only found while reading (chunked)."""
    big = envelope("GetEthnicities", "<pad>" + "x" * (1024 * 1024) + "</pad>")
    resp = la.raw("user", big)
    assert resp.status_code == 413
    assert fault_of(resp) == ("soapenv:Client", f"request body is {len(big)} bytes; the limit is 1048576 bytes")
    chunked = la.raw("user", iter([big.encode()[i:i + 65536] for i in range(0, len(big), 65536)]))
    assert chunked.status_code == 413
    assert fault_of(chunked) == ("soapenv:Client", f"request body is {len(big)} bytes; the limit is 1048576 bytes")


def test_deep_nesting_is_a_client_fault(la):
    """Decision: more than 40 levels of nesting is refused (no recursion blow-up)."""
    body = envelope("GetEthnicities", "<a>" * 5000 + "</a>" * 5000)
    assert _hostile(la, body) == ("soapenv:Client", "XML nests deeper than 40 levels")


def test_dangling_href_is_a_client_fault(la):
    """Multi-refs must point at an element in the Body."""
    la.authenticate()
    body = envelope("GetProgress", '<CandidateUUID href="#nowhere"/>', token_header(la.token))
    assert _hostile(la, body) == ("soapenv:Client",
                                  "element <CandidateUUID> refers to '#nowhere', which is not in the Body")


def test_http_errors_on_soap_paths_are_soap_faults(sim):
    """SYSTEM.http_error: 405 on a .cfc and 404 under /webservices/soap answer SOAP Faults."""
    resp = requests.put(f"{sim.url}/webservices/soap/user.cfc", data="x", timeout=10)
    assert resp.status_code == 405
    assert fault_of(resp)[0] == "soapenv:Client"
    resp = requests.get(f"{sim.url}/webservices/soap/nothing/here", timeout=10)
    assert resp.status_code == 404
    assert fault_of(resp) == ("soapenv:Client", "no such service or file: /webservices/soap/nothing/here")


@pytest.mark.mutating
@pytest.mark.control_plane
def test_update_ignores_fields_that_are_not_updatable(la, sandbox):
    """Spec "UpdateEnrolment": Type_enrolmentUserUpdate has no BirthDate, Forename or Gender; sent anyway they are
    ignored (as Axis ignores unknown elements), while the fields it does have are applied."""
    from .helpers import enrol, learner

    la.authenticate()
    ref = reference(la)
    created = enrol(la, learner(ref))
    body = envelope("UpdateEnrolment", f"<User><CandidateUUID>{created.CandidateUUID}</CandidateUUID>"
                                       f"<CourseUUID>{ref['framework'].CourseUUID}</CourseUUID>"
                                       "<Forename>Changed</Forename><Gender>M</Gender><BirthDate>1990-01-01</BirthDate>"
                                       "<Surname>Newname</Surname></User>", token_header(la.token))
    resp = la.raw("enrolment_update", body)
    assert resp.status_code == 200 and b"<Success xsi:type=\"xsd:boolean\">true</Success>" in resp.content, resp.text
    record = sandbox.get(f"/learning-assistant/candidates/{created.CandidateUUID}")["record"]
    assert (record["Forename"], record["Gender"], record["BirthDate"], record["Surname"]) == (
        "Amelia", "F", "2004-05-17", "Newname")
