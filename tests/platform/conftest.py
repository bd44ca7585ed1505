import pytest
import requests

from simulators.app import create_app
from simulators.server import InProcessServer

from .echo_system import SYSTEM


@pytest.fixture
def app():
    return create_app({"DATABASE": ":memory:"}, systems=[SYSTEM])


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live(app):
    server = InProcessServer(app).start()
    yield server
    server.stop()


class Echo:
    def __init__(self, base, sandbox):
        self.base = base
        self.sandbox = sandbox
        creds = sandbox["credentials"]["echo"]
        self.headers = {"X-Echo-Key": creds["key"], "X-Echo-Secret": creds["secret"]}

    def add(self, **body):
        return requests.post(f"{self.base}/echo/notes", json=body, headers=self.headers, timeout=10)

    def notes(self):
        return requests.get(f"{self.base}/echo/notes", headers=self.headers, timeout=10)

    def sim(self, method, path, **kw):
        return requests.request(method, f"{self.base}/_sim/sandboxes/{self.sandbox['id']}{path}", timeout=10, **kw)


@pytest.fixture
def echo(live):
    sb = requests.post(f"{live.url}/_sim/sandboxes", json={"seed": 7}, timeout=10).json()
    return Echo(live.url, sb)
