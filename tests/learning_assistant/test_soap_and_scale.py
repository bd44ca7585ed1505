"""The envelope reader/writer on its own, the WSDL templates against their generator, and the bulk seeder."""

from __future__ import annotations

import os
import time

import pytest
from lxml import etree

from simulators.app import create_app
from simulators.learning_assistant import schemas, soap
from simulators.learning_assistant.errors import SoapFault

HERE = os.path.join(os.path.dirname(schemas.__file__), "wsdl")


@pytest.mark.parametrize("service", list(schemas.SERVICES))
def test_wsdl_templates_are_generated_from_schemas(service):
    """wsdl/<service>.wsdl is what schemas.wsdl_template renders (regenerate with python -m ...schemas)."""
    with open(os.path.join(HERE, f"{service}.wsdl"), encoding="utf-8") as fh:
        assert fh.read() == schemas.wsdl_template(service)


def test_response_is_axis_shaped():
    op = schemas.SERVICES["user"]["GetTrainers"]
    xml = soap.response(op, [{"TrainerUUID": "T<1>", "Forename": "A", "Surname": None, "EmailAddress": "a@b.c",
                              "blnAssessor": True, "blnVerifier": False}], ("1", "U"))
    root = etree.fromstring(xml.encode())
    xsi = "{http://www.w3.org/2001/XMLSchema-instance}"
    ret = root.find(".//{https://api.learningassistant.com}GetTrainersResponse/GetTrainersReturn")
    assert ret.get(f"{xsi}type") == "soapenc:Array"
    assert ret.get("{http://schemas.xmlsoap.org/soap/encoding/}arrayType") == "tns2:Type_trainer[1]"
    item = ret[0]
    assert item.get(f"{xsi}type") == "tns2:Type_trainer"
    assert item.findtext("TrainerUUID") == "T<1>"
    assert item.find("Surname").get(f"{xsi}nil") == "true"
    assert (item.findtext("blnAssessor"), item.find("blnAssessor").get(f"{xsi}type")) == ("true", "xsd:boolean")
    assert root.find(".//{https://api.learningassistant.com}authToken").get("loggedin") == "YES"


def test_decode_follows_chained_hrefs_and_ignores_unknown_children():
    body = ('<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><e:Body>'
            '<x:GetProgress xmlns:x="urn:any"><CandidateUUID href="#a"/><Extra>1</Extra></x:GetProgress>'
            '<r id="a" href="#b"/><r id="b">CAND</r></e:Body></e:Envelope>')
    req = soap.parse(body.encode())
    assert req.operation == "GetProgress"
    assert soap.read_params(req, schemas.SERVICES["user"]["GetProgress"]) == {"CandidateUUID": "CAND"}


def test_nil_and_missing_values_decode_to_none():
    body = ('<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><e:Body><GetCandidates>'
            '<CourseQAN xsi:nil="true"/><blnActive>true</blnActive></GetCandidates></e:Body></e:Envelope>')
    req = soap.parse(body.encode())
    params = soap.read_params(req, schemas.SERVICES["user"]["GetCandidates"])
    assert params == {"CourseQAN": None, "blnActive": "true", "blnCompleted": None, "blnTest": None}


def test_external_entity_is_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = (f'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file://{secret}">]>'
            '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><Op>&x;</Op></e:Body></e:Envelope>')
    with pytest.raises(SoapFault) as info:
        soap.parse(body.encode())
    assert info.value.code == "soapenv:Client"
    assert "TOP-SECRET" not in info.value.message


ENV = ('<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><Op>{}</Op></e:Body>'
       '</e:Envelope>')


@pytest.mark.parametrize("raw, plain", [
    (ENV.format("x").encode(), True),
    (b'<?xml version="1.0"?>' + ENV.format("x").encode(), True),
    (b'<?xml version="1.0" encoding="UTF-8"?>' + ENV.format("\u00e9".encode().decode("latin-1")).encode(), True),
    (b"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?>" + ENV.format("x").encode(), True),
    (b'<?xml version="1.0" encoding="ISO-8859-1"?>' + ENV.format("x").encode(), False),  # not UTF-8
    (b'<?xml version="1.0" encoding="cp500"?>' + ENV.format("x").encode(), False),  # EBCDIC hides "<!"
    (ENV.format("x").encode("utf-16"), False),
    (ENV.format("x").encode("utf-16-be"), False),
    (b'<!DOCTYPE e []>' + ENV.format("x").encode(), False),
    (ENV.format("<!-- a comment -->").encode(), False),
    (ENV.format("<![CDATA[x]]>").encode(), False),
    (b'  <?xml version="1.0"?>' + ENV.format("x").encode(), False),
])
def test_only_documents_that_cannot_hold_a_dtd_skip_defusedxml(raw, plain):
    """The fast C parser reads a document only when no DTD can be in it; the rest go through defusedxml."""
    assert soap._plain_utf8(raw) is plain


@pytest.mark.parametrize("raw", [
    ENV.format("&x;").encode(),  # an entity no DTD declares
    ENV.format("<a>").encode(),
    b'<?xml version="1.0" encoding="utf-8"?><e:Envelope',
])
def test_the_fast_parser_refuses_what_defusedxml_refused(raw):
    assert soap._plain_utf8(raw)
    with pytest.raises(SoapFault) as info:
        soap.parse(raw)
    assert info.value.code == "soapenv:Client" and "not well-formed XML" in info.value.message


@pytest.fixture(scope="module")
def scaled():
    app = create_app({"DATABASE": ":memory:", "DEMO": False})
    plat = app.extensions["trainsim"]
    sandbox = plat.sandboxes.create(fixtures="demo")["id"]
    started = time.perf_counter()
    count = plat.systems["learning-assistant"].scale(plat, sandbox, 1.0)
    return app, plat, sandbox, count, time.perf_counter() - started


def test_scale_inserts_20000_candidates_in_seconds(scaled):
    app, plat, sandbox, count, took = scaled
    assert count == 20_000
    assert took < 10, took
    with plat.store.read() as db:
        assert db.execute("SELECT count(*) FROM la_candidates WHERE sandbox = ?", [sandbox]).fetchone()[0] == 20_006


def _enrol_envelope(token, ref, n):
    fw, company = ref["frameworks"][0], ref["companies"][0]
    assessor = next(t for t in ref["trainers"] if t["TrainerUUID"] and t["blnAssessor"] and not t["blnVerifier"])
    verifier = next(t for t in ref["trainers"] if t["blnVerifier"] and not t["blnAssessor"])
    return (f'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Header>'
            f'<t:authToken xmlns:t="https://api.learningassistant.com"><id>{token[0]}</id><uuid>{token[1]}</uuid>'
            f'</t:authToken></e:Header><e:Body><t:GroupEnrolment xmlns:t="https://api.learningassistant.com"><User>'
            f'<Forename>Flat</Forename><Surname>Line</Surname><BirthDate>2000-01-01</BirthDate>'
            f'<SourceSystemLearnerUUID>FLAT-{n}</SourceSystemLearnerUUID><CompanyUUID>{company["CompanyUUID"]}'
            f'</CompanyUUID><Course><CourseUUID>{fw["CourseUUID"]}</CourseUUID><StartDate>2026-09-01</StartDate>'
            f'<PrimaryAssessorUUID>{assessor["TrainerUUID"]}</PrimaryAssessorUUID><PrimaryVerifierUUID>'
            f'{verifier["TrainerUUID"]}</PrimaryVerifierUUID></Course></User></t:GroupEnrolment></e:Body>'
            '</e:Envelope>')


def test_enrolment_and_lookups_stay_flat_at_scale(scaled):
    app, plat, sandbox, _, _ = scaled
    from simulators.learning_assistant.models import LearningAssistant

    model = LearningAssistant(plat)
    cred = plat.sandboxes.credentials_of(plat.store.db, sandbox, "learning-assistant")[0]
    assert model.authenticate(cred.key, cred.secret) == (sandbox, True)
    token = model.issue_token(sandbox)
    ref = model.reference(sandbox)
    client = app.test_client()
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    times = []
    for n in range(20):
        started = time.perf_counter()
        resp = client.post("/webservices/soap/enrolment.cfc", data=_enrol_envelope(token, ref, n), headers=headers)
        times.append(time.perf_counter() - started)
        assert b"<Success xsi:type=\"xsd:boolean\">true</Success>" in resp.data, resp.data
    assert sorted(times)[10] < 0.05, times
    lookup = ('<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Header><t:authToken '
              f'xmlns:t="https://api.learningassistant.com"><id>{token[0]}</id><uuid>{token[1]}</uuid></t:authToken>'
              '</e:Header><e:Body><t:GetEthnicities xmlns:t="https://api.learningassistant.com"/></e:Body></e:Envelope>')
    started = time.perf_counter()
    for _ in range(20):
        assert client.post("/webservices/soap/user.cfc", data=lookup, headers=headers).status_code == 200
    assert (time.perf_counter() - started) / 20 < 0.05
    dup = client.post("/webservices/soap/enrolment.cfc", data=_enrol_envelope(token, ref, 3), headers=headers)
    assert b"DUPLICATE" in dup.data
    with plat.store.read() as db:
        plan = " ".join(r[3] for r in db.execute(
            "EXPLAIN QUERY PLAN SELECT candidate_uuid FROM la_candidates WHERE sandbox = ? AND source_uuid = ? "
            "AND course_uuid = ? ORDER BY seq LIMIT 1", [sandbox, "x", "y"]).fetchall())
    assert "USING INDEX" in plan


def test_a_huge_offset_is_a_400_not_a_500():
    """simulators.control.page_args bounds offset (SQLite integers are 64-bit)."""
    app = create_app({"DATABASE": ":memory:"})
    resp = app.test_client().get("/_sim/sandboxes/demo/learning-assistant/candidates?offset=" + "9" * 30)
    assert resp.status_code == 400
    assert resp.json == {"code": "invalid", "message": f"offset must be at most {2**53}, got {'9' * 30}",
                         "field": "offset"}


def _nested(depth: int) -> bytes:
    """An envelope whose elements nest exactly ``depth`` levels (Envelope 1, Body 2, the call 3, ...)."""
    inner = depth - 3
    return (f'<soapenv:Envelope xmlns:soapenv="{schemas.SOAPENV}"><soapenv:Body><GetEthnicities>'
            + "<a>" * inner + "</a>" * inner + "</GetEthnicities></soapenv:Body></soapenv:Envelope>").encode()


def _wide(elements: int) -> bytes:
    """An envelope of exactly ``elements`` elements, the call holding the rest as siblings."""
    return (f'<soapenv:Envelope xmlns:soapenv="{schemas.SOAPENV}"><soapenv:Body><GetEthnicities>'
            + "<x/>" * (elements - 3) + "</GetEthnicities></soapenv:Body></soapenv:Envelope>").encode()


def test_the_depth_and_element_bounds_are_exact():
    """40 levels and 20,000 elements are read; one more level or one more element is a Client fault."""
    assert soap.parse(_nested(soap.MAX_DEPTH)).operation == "GetEthnicities"
    with pytest.raises(SoapFault) as deep:
        soap.parse(_nested(soap.MAX_DEPTH + 1))
    assert (deep.value.code, deep.value.message) == ("soapenv:Client",
                                                     f"XML nests deeper than {soap.MAX_DEPTH} levels")
    assert soap.parse(_wide(soap.MAX_ELEMENTS)).operation == "GetEthnicities"
    with pytest.raises(SoapFault) as wide:
        soap.parse(_wide(soap.MAX_ELEMENTS + 1))
    assert (wide.value.code, wide.value.message) == ("soapenv:Client",
                                                     f"XML has more than {soap.MAX_ELEMENTS} elements")
