"""WSDL loading offline, Authenticate and the sliding 30-minute AuthToken (spec: learning-assistant.md,
"Protocol" and "Authentication"; vendor: api.learningassistant.com views/workflow, Authenticate)."""

from __future__ import annotations

import re

import pytest
import requests
import zeep
from lxml import etree

from .conftest import LA, SERVICES, TNS, Refused, envelope, fault_of, login, token_header

AUTH_FAILED = "Authentication failed: token missing, unknown or expired"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
OPERATIONS = {"authenticate": {"Authenticate"}, "course": {"GetFrameworks"}, "company": {"GetCompanies"},
              "user": {"GetTrainers", "GetNationalities", "GetEthnicities", "GetCandidates", "GetProgress",
                       "GetProgressFull"},
              "enrolment": {"GroupEnrolment"}, "enrolment_update": {"UpdateEnrolment"}}


def test_the_test_transport_refuses_the_internet(la):
    """Guard for every zeep test here: the session cannot reach anything but the simulator."""
    with pytest.raises(Refused):
        la.session.get("http://schemas.xmlsoap.org/soap/encoding/")
    with pytest.raises(Refused):
        la.session.get("https://api.learningassistant.com/webservices/soap/user.cfc?wsdl")


@pytest.mark.parametrize("service", SERVICES)
def test_each_wsdl_loads_in_zeep_offline_with_its_operations(la, service):
    """Spec "Protocol": one WSDL per service, rpc/encoded, loads in zeep with no internet access."""
    client = la.client(service)
    ops = set(client.service._binding._operations)
    assert ops == OPERATIONS[service]
    assert la.refuse.refused == []
    binding = client.service._binding
    assert binding.__class__.__name__ == "Soap11Binding"
    for op in binding._operations.values():
        assert op.style == "rpc"
        assert str(op.input.body.qname).startswith("{" + TNS + "}")


@pytest.mark.parametrize("service", SERVICES)
def test_wsdl_addresses_point_back_at_this_server(sim, service):
    """The soap:address and every schemaLocation follow the host the WSDL was fetched from."""
    resp = requests.get(f"{sim.url}/webservices/soap/{service}.cfc?wsdl", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/xml")
    root = etree.fromstring(resp.content)
    address = root.find(f".//{{{WSDL}}}port/{{http://schemas.xmlsoap.org/wsdl/soap/}}address")
    assert address.get("location") == f"{sim.url}/webservices/soap/{service}.cfc"
    locations = [i.get("schemaLocation") for i in root.iter("{http://www.w3.org/2001/XMLSchema}import")
                 if i.get("namespace") == "http://schemas.xmlsoap.org/soap/encoding/"]
    schemas = root.findall(f".//{{{WSDL}}}types/{{http://www.w3.org/2001/XMLSchema}}schema")
    assert len(locations) == len(schemas)
    assert set(locations) <= {f"{sim.url}/webservices/soap/soapenc.xsd"}
    body = root.find(f".//{{{WSDL}}}binding/{{http://schemas.xmlsoap.org/wsdl/soap/}}binding")
    assert body.get("style") == "rpc"


def test_soapenc_schema_never_refers_to_its_own_namespace(sim):
    """Spec "Protocol": the served soapenc.xsd declares Array, arrayType and offset without self-references."""
    resp = requests.get(f"{sim.url}/webservices/soap/soapenc.xsd", timeout=10)
    assert resp.status_code == 200
    root = etree.fromstring(resp.content)
    assert root.get("targetNamespace") == "http://schemas.xmlsoap.org/soap/encoding/"
    names = {el.get("name") for el in root}
    assert {"Array", "arrayType", "offset"} <= names
    for el in root.iter():
        for attr in ("ref", "type", "base"):
            value = el.get(attr) or ""
            if ":" in value:
                assert el.nsmap[value.split(":")[0]] != "http://schemas.xmlsoap.org/soap/encoding/"


def test_authenticate_returns_yes_and_a_coldfusion_token(la):
    """Spec "Authentication": AuthenticateReturn YES, header authToken {id numeric, uuid 8-4-4-16}."""
    assert la.authenticate() == "YES"
    token_id, token_uuid = la.token
    assert re.fullmatch(r"\d+", token_id)
    assert re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{16}", token_uuid)
    assert len(token_uuid) == 35
    assert la.received_header().get("loggedin") == "YES"


def test_authenticate_wrong_password_answers_no_without_header(la):
    """Spec "Authentication" (decision): wrong credentials -> NO, no header."""
    la.password = "not-the-password"
    assert la.authenticate() == "NO"
    assert la.token is None
    la.username = "nobody-at-all"
    assert la.authenticate() == "NO"
    assert la.token is None


def test_every_authenticated_answer_echoes_the_header_loggedin_yes(la):
    """Spec "Protocol": every answer to an authenticated call echoes the header with loggedin="YES"."""
    la.authenticate()
    la.call("user", "GetEthnicities")
    header = la.received_header()
    assert header.get("loggedin") == "YES"
    assert (header.findtext("id"), header.findtext("uuid")) == la.token


@pytest.mark.parametrize("operation", ["GetTrainers", "GetProgress"])
def test_missing_or_unknown_token_is_a_server_user_exception(la, operation):
    """Spec "Authentication": no header or an unknown token -> soapenv:Server.userException fault."""
    params = "<CandidateUUID>x</CandidateUUID>" if operation == "GetProgress" else ""
    resp = la.raw("user", envelope(operation, params))
    assert resp.status_code == 500
    assert fault_of(resp) == ("soapenv:Server.userException", AUTH_FAILED)
    resp = la.raw("user", envelope(operation, params, token_header(("123", "ABCDEF01-2345-6789-0123456789ABCDEF"))))
    assert fault_of(resp) == ("soapenv:Server.userException", AUTH_FAILED)
    with pytest.raises(zeep.exceptions.Fault) as info:
        la.call("user", operation, *(["x"] if operation == "GetProgress" else []))
    assert info.value.message == AUTH_FAILED
    assert info.value.code == "soapenv:Server.userException"


def test_token_header_in_http_namespace_is_accepted(la):
    """Spec "Protocol": the http:// spelling of the token namespace seen in one example is accepted."""
    la.authenticate()
    resp = la.raw("user", envelope("GetEthnicities", header=token_header(la.token, "http://api.learningassistant.com")))
    assert resp.status_code == 200, resp.text
    assert b"GetEthnicitiesReturn" in resp.content


@pytest.mark.control_plane
def test_token_expires_after_31_idle_minutes(la, sandbox):
    """Spec "Authentication": idle for more than 30 minutes of sandbox clock -> fault; a fault refreshes nothing."""
    la.authenticate()
    sandbox.clock.advance("PT31M")
    with pytest.raises(zeep.exceptions.Fault) as info:
        la.call("user", "GetEthnicities")
    assert (info.value.code, info.value.message) == ("soapenv:Server.userException", AUTH_FAILED)
    with pytest.raises(zeep.exceptions.Fault):
        la.call("user", "GetEthnicities")
    assert la.authenticate() == "YES"
    assert len(la.call("user", "GetEthnicities")) == 19


@pytest.mark.control_plane
def test_calls_every_29_minutes_keep_the_token_alive_for_hours(la, sandbox):
    """Spec "Authentication": each successful call restarts the 30 minutes (sliding expiry)."""
    la.authenticate()
    for _ in range(10):  # 4 h 50 min in all
        sandbox.clock.advance("PT29M")
        assert len(la.call("user", "GetEthnicities")) == 19
    sandbox.clock.advance("PT31M")
    with pytest.raises(zeep.exceptions.Fault):
        la.call("user", "GetEthnicities")


@pytest.mark.control_plane
def test_a_message_list_answer_also_refreshes_the_token(la, sandbox):
    """Spec "Authentication": a valid call restarts the 30 minutes even when it answers a MessageList."""
    la.authenticate()
    sandbox.clock.advance("PT20M")
    result = la.call("enrolment", "GroupEnrolment", {"Forename": "Only"}, False, False)
    assert result.Success is False
    sandbox.clock.advance("PT20M")
    assert len(la.call("user", "GetEthnicities")) == 19


@pytest.mark.control_plane
def test_token_expired_fault_preset(la, sandbox):
    """Control plane "Faults": the learning-assistant.token-expired preset answers the expired-token fault."""
    la.authenticate()
    sandbox.faults.add(system="learning-assistant", operation="GetTrainers", preset="learning-assistant.token-expired",
                       times=1)
    with pytest.raises(zeep.exceptions.Fault) as info:
        la.call("user", "GetTrainers")
    assert (info.value.code, info.value.message) == ("soapenv:Server.userException", AUTH_FAILED)
    assert len(la.call("user", "GetTrainers")) >= 4


@pytest.mark.control_plane
def test_journal_names_operations_and_masks_token_and_password(la, sandbox):
    """Control plane "Journal": operation learning-assistant.<Operation>; secrets (password, token) masked."""
    la.authenticate()
    la.call("user", "GetEthnicities")
    entries = sandbox.journal.entries(system="learning-assistant")
    ops = [e["operation"] for e in entries]
    assert "learning-assistant.Authenticate" in ops and "learning-assistant.GetEthnicities" in ops
    dumped = str(entries)
    assert la.token[1] not in dumped
    assert la.password not in dumped
    sandbox.journal.verify(count=1, system="learning-assistant", operation="GetEthnicities", status=200)


def test_sandboxes_have_their_own_logins(sim, sandbox, empty_sandbox):
    """Spec README "Sandboxes": credentials pick the sandbox; empty fixtures still have a login."""
    a, b = login(sandbox), login(empty_sandbox)
    assert a != b
    other = LA(sim.url, *b)
    assert other.authenticate() == "YES"
    assert other.call("user", "GetCandidates", "", True, True, True) == []


def test_operation_namespace(la):
    """Spec "Protocol": operation namespace https://api.learningassistant.com, Axis <Op>Response/<Op>Return."""
    la.authenticate()
    resp = la.raw("user", envelope("GetEthnicities", header=token_header(la.token)))
    root = etree.fromstring(resp.content)
    answer = root.find(f".//{{{TNS}}}GetEthnicitiesResponse")
    assert answer is not None
    ret = answer.find("GetEthnicitiesReturn")
    xsi = "{http://www.w3.org/2001/XMLSchema-instance}"
    assert ret.get(f"{xsi}type") == "impl:ArrayOfType_lookup" or ret.get(f"{xsi}type").endswith("Array")
    assert ret.get("{http://schemas.xmlsoap.org/soap/encoding/}arrayType").endswith(":Type_lookup[19]")
    first = ret[0]
    assert first.find("ID").get(f"{xsi}type") == "xsd:string"
    assert (first.findtext("ID"), first.findtext("Description")) == (
        "31", "English / Welsh / Scottish / Northern Irish / British")


@pytest.mark.control_plane
@pytest.mark.mutating
def test_snapshot_restore_keeps_the_session_and_reset_ends_it(la, sandbox):
    """Control plane "Snapshots" (decision): tokens are sessions, not state; a reset logs clients out."""
    from .helpers import enrol, learner, reference

    la.authenticate()
    ref = reference(la)
    sandbox.snapshot("before")
    created = enrol(la, learner(ref))
    assert created.Success is True
    sandbox.restore("before")
    uuids = {c.CandidateUUID for c in la.call("user", "GetCandidates", "", True, True, True)}
    assert created.CandidateUUID not in uuids and len(uuids) == 6
    sandbox.reset()
    with pytest.raises(zeep.exceptions.Fault) as info:
        la.call("user", "GetEthnicities")
    assert info.value.message == AUTH_FAILED


@pytest.mark.control_plane
def test_journal_keeps_failed_logins_of_known_users_but_not_tokenless_calls(la, sandbox):
    """Control plane "Journal": a call is journaled once its sandbox is known (from the username or the
    token); a call with no valid token names no sandbox and is not journaled."""
    la.password = "wrong"
    assert la.authenticate() == "NO"
    la.raw("user", envelope("GetEthnicities"))
    entries = sandbox.journal.entries(system="learning-assistant")
    assert [(e["operation"], e["status"]) for e in entries] == [("learning-assistant.Authenticate", 200)]
    assert "<szPassword>wrong</szPassword>" not in entries[0]["request"]["body"]  # even a wrong one is masked
