"""Learning Assistant's wire errors: SOAP 1.1 Faults that know their faultcode, faultstring and HTTP status."""

from __future__ import annotations

AUTH_FAILED = "Authentication failed: token missing, unknown or expired"


class SoapFault(Exception):
    """A SOAP Fault. ``soapenv:Client`` for a request the server cannot read, ``soapenv:Server.userException``
    for what ColdFusion raises inside a component (authentication)."""

    def __init__(self, code: str, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    @classmethod
    def client(cls, message: str, status: int = 500) -> SoapFault:
        return cls("soapenv:Client", message, status)

    @classmethod
    def server(cls, message: str, status: int = 500) -> SoapFault:
        return cls("soapenv:Server.userException", message, status)


class AuthFailed(SoapFault):
    """Missing, unknown or expired authToken (also the ``learning-assistant.token-expired`` preset)."""

    def __init__(self) -> None:
        super().__init__("soapenv:Server.userException", AUTH_FAILED)
