"""A real SOAP client (zeep) for Learning Assistant that cannot reach anything but the server under test.

The transport's requests session refuses every URL except the simulator's own, so a WSDL that needed
a schema from the internet would fail to load here (spec: "The WSDLs must load in python-zeep with no
internet access").
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import zeep
from lxml import etree
from requests.adapters import BaseAdapter, HTTPAdapter
from zeep.plugins import HistoryPlugin
from zeep.transports import Transport

TNS = "https://api.learningassistant.com"
SERVICES = ("authenticate", "user", "course", "company", "enrolment", "enrolment_update")


class Refused(requests.ConnectionError):
    """The test transport does not let the client leave the machine."""


class RefuseAdapter(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.refused: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.refused.append(request.url or "")
        raise Refused(f"network access refused in tests: {request.url}")

    def close(self) -> None:
        pass


def offline_session(base_url: str) -> tuple[requests.Session, RefuseAdapter]:
    session = requests.Session()
    refuse = RefuseAdapter()
    session.mount("http://", refuse)
    session.mount("https://", refuse)
    session.mount(base_url.rstrip("/") + "/", HTTPAdapter())  # the longest prefix wins: only the simulator
    return session, refuse


class LA:
    """zeep clients for one sandbox's Learning Assistant login, plus the token handling a client does."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base.rstrip("/")
        self.soap_base = self.base + "/webservices/soap"
        self.username, self.password = username, password
        self.session, self.refuse = offline_session(self.base)
        self.history = HistoryPlugin()
        self._clients: dict[str, zeep.Client] = {}
        self.token: tuple[str, str] | None = None

    def client(self, service: str) -> zeep.Client:
        if service not in self._clients:
            transport = Transport(session=self.session, timeout=30, operation_timeout=60)
            self._clients[service] = zeep.Client(f"{self.soap_base}/{service}.cfc?wsdl", transport=transport,
                                                 plugins=[self.history])
        return self._clients[service]

    def header(self, token: tuple[str, str] | None = None, namespace: str = TNS) -> etree._Element:
        token = token or self.token
        assert token is not None
        el = etree.Element(f"{{{namespace}}}authToken")
        etree.SubElement(el, "id").text = token[0]
        etree.SubElement(el, "uuid").text = token[1]
        return el

    def received_token(self) -> tuple[str, str] | None:
        env = self.history.last_received["envelope"]
        node = env.find(f".//{{{TNS}}}authToken")
        if node is None:
            return None
        return node.findtext("id"), node.findtext("uuid")

    def received_header(self) -> etree._Element | None:
        return self.history.last_received["envelope"].find(f".//{{{TNS}}}authToken")

    def authenticate(self) -> str:
        answer = self.client("authenticate").service.Authenticate(self.username, self.password)
        self.token = self.received_token()
        return answer

    def call(self, service: str, operation: str, *args: Any, **kwargs: Any) -> Any:
        headers = [self.header()] if self.token else []
        return getattr(self.client(service).service, operation)(*args, _soapheaders=headers, **kwargs)

    def raw(self, service: str, envelope: str | bytes, content_type: str = "text/xml; charset=utf-8",
            **kw: Any) -> requests.Response:
        return self.session.post(f"{self.soap_base}/{service}.cfc", data=envelope,
                                 headers={"Content-Type": content_type, "SOAPAction": '""', **kw.pop("headers", {})},
                                 timeout=30, **kw)


def login(sb: dict) -> tuple[str, str]:
    creds = sb["credentials"]["learningAssistant"]
    return creds["username"], creds["password"]


@pytest.fixture
def la(sim, sandbox) -> LA:
    return LA(sim.url, *login(sandbox))


@pytest.fixture
def la_empty(sim, empty_sandbox) -> LA:
    return LA(sim.url, *login(empty_sandbox))


def envelope(operation: str, params: str = "", header: str = "", prefix: str = "ns1") -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
            f'<soapenv:Header>{header}</soapenv:Header><soapenv:Body>'
            f'<{prefix}:{operation} xmlns:{prefix}="{TNS}">{params}</{prefix}:{operation}>'
            '</soapenv:Body></soapenv:Envelope>')


def token_header(token: tuple[str, str], namespace: str = TNS) -> str:
    return f'<t:authToken xmlns:t="{namespace}"><id>{token[0]}</id><uuid>{token[1]}</uuid></t:authToken>'


def fault_of(resp: requests.Response) -> tuple[str, str]:
    root = etree.fromstring(resp.content)
    fault = root.find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
    assert fault is not None, resp.text
    return fault.findtext("faultcode"), fault.findtext("faultstring")
