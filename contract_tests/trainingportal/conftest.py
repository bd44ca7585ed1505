"""A Trainingportal client written from Mintra's published examples (form-encoded POSTs, username and
password on every call), a provider server the tests control, and control-plane helpers."""

from __future__ import annotations

import json
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests


class Portal:
    """Mintra's course-provider API, as a provider's integration would call it."""

    def __init__(self, sb: Any) -> None:
        self.sb = sb
        self.base = sb["baseUrls"]["trainingportal"]
        provider = sb["credentials"]["trainingportal"]["providers"][0]
        self.username, self.password = provider["username"], provider["password"]
        self.courses = provider["courses"]
        self.http = requests.Session()

    def auth(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password}

    def post(self, path: str, data: dict[str, Any] | None = None, xml: bool = False, **kw: Any) -> requests.Response:
        headers = {"Accept": "application/xml"} if xml else {}
        return self.http.post(f"{self.base}/{path}", data={**self.auth(), **(data or {})}, headers=headers,
                              timeout=30, **kw)

    def get(self, path: str, params: dict[str, Any] | None = None, xml: bool = False) -> requests.Response:
        headers = {"Accept": "application/xml"} if xml else {}
        return self.http.get(f"{self.base}/{path}", params={**self.auth(), **(params or {})}, headers=headers,
                             timeout=30)

    # the methods
    def add_class(self, course: str, **params: Any) -> requests.Response:
        return self.post(f"courses/get/{course}/courseClasses/add", params)

    def update_class(self, course: str, **params: Any) -> requests.Response:
        return self.post(f"courses/get/{course}/courseClasses/update", params)

    def classes(self, course: str) -> requests.Response:
        return self.post(f"courses/get/{course}/courseClasses")

    def cancel_class(self, course: str, class_id: str) -> requests.Response:
        return self.post(f"courses/get/{course}/courseClasses/cancel/{class_id}")

    def restore_class(self, course: str, class_id: str) -> requests.Response:
        return self.post(f"courses/get/{course}/courseClasses/restore/{class_id}")

    def booking(self, ref: str) -> requests.Response:
        return self.post(f"booking/get/{ref}")

    def update_booking(self, ref: str, **params: Any) -> requests.Response:
        return self.post(f"booking/update/{ref}", params)

    def upload(self, ref: str, content: bytes, filename: str = "certificate.pdf", **fields: Any) -> requests.Response:
        return self.http.post(f"{self.base}/booking/uploadDocumentation/{ref}", data={**self.auth(), **fields},
                              files={"file": (filename, content, "application/octet-stream")}, timeout=30)

    # control plane
    def sim(self, method: str, path: str, **kw: Any) -> requests.Response:
        url = self.sb["baseUrls"]["trainingportal"].split("/mintra/")[0]
        return self.http.request(method, f"{url}/_sim/sandboxes/{self.sb['id']}{path}", timeout=60, **kw)

    @property
    def server(self) -> str:
        return self.sb["baseUrls"]["trainingportal"].split("/mintra/")[0]

    def today(self) -> date:
        now = self.sim("GET", "/clock").json()["now"]
        return date.fromisoformat(now[:10])

    def book(self, course: str, class_id: str, **body: Any) -> requests.Response:
        return self.sim("POST", "/trainingportal/bookings",
                        json={"externalCourseId": course, "externalCourseClassId": class_id, **body})

    def set_provider(self, **settings: Any) -> requests.Response:
        r = self.sim("PATCH", f"/trainingportal/providers/{self.username}", json=settings)
        assert r.status_code == 200, r.text
        return r

    def advance(self, duration: str) -> None:
        r = self.sim("POST", "/clock", json={"advance": duration})
        assert r.status_code == 200, r.text


def class_params(today: date, external_id: str = "C-1", **over: Any) -> dict[str, Any]:
    start = today + timedelta(days=30)
    params = {
        "externalId": external_id, "location": "Stavanger", "availableSeats": "12",
        "enrollmentDeadline": (start - timedelta(days=10)).isoformat(),
        "cancellationDeadline": (start - timedelta(days=5)).isoformat(),
        "startDate": start.isoformat(), "startTime": "08:30", "endDate": (start + timedelta(days=2)).isoformat(),
        "endTime": "16:00", "address.addressLine1": "Kokstadflaten 35", "address.addressLine2": "Inngang B",
        "address.city": "Stavanger", "address.zipCode": "4014", "address.country": "Norway",
        "price.currency": "NOK", "price.amount": "9500.00", "sendScheduleInfoToParticipants": "true",
    }
    params.update(over)
    return {k: v for k, v in params.items() if v is not None}


@pytest.fixture
def portal(sandbox: Any) -> Portal:
    return Portal(sandbox)


@pytest.fixture
def empty_portal(empty_sandbox: Any) -> Portal:
    return Portal(empty_sandbox)


@pytest.fixture
def course_class(empty_portal: Portal) -> tuple[Portal, str, str]:
    """An empty sandbox with one published class C-1 (12 seats) in course "6"."""
    r = empty_portal.add_class("6", **class_params(empty_portal.today()))
    assert r.status_code == 200, r.text
    return empty_portal, "6", "C-1"


class ProviderServer:
    """A provider's booking system started by the test: answers as ``mode`` says."""

    def __init__(self) -> None:
        self.mode = "json"
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.counter = 0
        self.reference: str | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                outer.calls.append((parts.path, params))
                status, ctype, body = outer.answer(parts.path, params)
                if status == 0:
                    time.sleep(4)
                    status, ctype, body = 200, "application/json", json.dumps({"successful": True,
                                                                               "bookingReference": "late"})
                data = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, str, str]:
        mode = self.mode
        self.counter += 1
        ref = self.reference or f"PRV-{self.counter:04d}"
        if path.endswith("/cancel"):
            if mode == "cancel-refuse":
                return 200, "application/json", json.dumps({"cancelled": False, "errorMessage": "too late for us"})
            if mode == "cancel-xml":
                return 200, "text/xml", "<result><cancelled>true</cancelled><errorMessage/></result>"
            return 200, "application/json", json.dumps({"cancelled": "true", "errorMessage": ""})
        if mode == "json":
            return 200, "application/json", json.dumps({"successful": True, "bookingReference": ref,
                                                        "errorMessage": ""})
        if mode == "json-string":
            return 200, "application/json", json.dumps({"successful": "true", "bookingReference": ref})
        if mode == "xml":
            return 200, "application/xml", (f"<?xml version='1.0'?><response><successful>true</successful>"
                                             f"<bookingReference>{ref}</bookingReference><errorMessage/></response>")
        if mode == "refuse":
            return 200, "application/json", json.dumps({"successful": False, "bookingReference": None,
                                                        "errorMesssage": "Class is full at our end"})
        if mode == "html":
            return 200, "text/html", "<!DOCTYPE html><html><body>Login</body></html>"
        if mode == "500":
            return 500, "application/json", json.dumps({"successful": True, "bookingReference": ref})
        if mode == "garbage":
            return 200, "application/json", "{not json"
        if mode == "slow":
            return 0, "", ""
        raise AssertionError(mode)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def provider_server() -> Any:
    server = ProviderServer()
    yield server
    server.stop()


@pytest.fixture
def own_provider(course_class: tuple[Portal, str, str], provider_server: ProviderServer) -> tuple:
    portal, course, cls = course_class
    portal.set_provider(reservationUrl=f"{provider_server.url}/reserve",
                        cancellationUrl=f"{provider_server.url}/cancel", timeoutSeconds=1,
                        confirmationDelaySeconds=2)
    return portal, course, cls, provider_server
