"""Reading the control plane from inside the dashboard: the documented GET endpoints, dispatched in-process.

The dashboard never reads a system's tables itself; it asks ``/_sim`` what a partner's own script would
ask, so what the page shows and what the API answers cannot drift apart. A missing route (a system not
built into this server) or an error answer becomes an empty state with a note, never a broken page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import current_app, has_request_context, request

log = logging.getLogger("trainsim.dashboard")


@dataclass
class Answer:
    status: int
    data: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def message(self) -> str:
        if isinstance(self.data, dict) and self.data.get("message"):
            return str(self.data["message"])
        return f"the control plane answered HTTP {self.status}"


@dataclass
class Listing:
    items: list[Any]
    total: int
    error: str | None = None

    def __bool__(self) -> bool:
        return bool(self.items)

    def __iter__(self):  # noqa: ANN204 - lets a template loop over a listing directly
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class ControlPlane:
    """GET requests to ``/_sim`` for one sandbox, answered by this same app without a network hop."""

    def __init__(self, sandbox: str) -> None:
        self.sandbox = sandbox
        self.base = f"/_sim/sandboxes/{quote(sandbox, safe='')}"
        self._cache: dict[tuple[str, tuple], Answer] = {}

    def get(self, path: str, **params: Any) -> Answer:
        url = path if path.startswith("/_sim/") else f"{self.base}/{path.lstrip('/')}" if path else self.base
        query = tuple(sorted((k, str(v)) for k, v in params.items() if v is not None))
        key = (url, query)
        if key in self._cache:
            return self._cache[key]
        if not _routed(url):
            answer = Answer(404, {"code": "notBuilt", "message": "not available in this server build"})
            self._cache[key] = answer
            return answer
        headers = {"Accept": "application/json"}
        token = current_app.config.get("SIM_ADMIN_TOKEN")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            # the page's own host, so URLs the control plane builds (provider URLs) are the ones a client sees
            base = request.host_url if has_request_context() else "http://localhost/"
            resp = current_app.test_client().get(url, query_string=dict(query), headers=headers, base_url=base)
            data = resp.get_json(silent=True)
            answer = Answer(resp.status_code, data)
        except Exception:  # noqa: BLE001 - one failing read must not take the whole page down
            log.exception("dashboard read of %s failed", url)
            answer = Answer(500, {"message": "the control plane failed; see the server log"})
        self._cache[key] = answer
        return answer

    def one(self, path: str, **params: Any) -> tuple[Any, str | None]:
        answer = self.get(path, **params)
        if answer.ok:
            return answer.data, None
        return None, self._why(answer)

    def listing(self, path: str, limit: int = 200, **params: Any) -> Listing:
        answer = self.get(path, limit=limit, **params)
        if not answer.ok:
            return Listing([], 0, self._why(answer))
        data = answer.data
        if isinstance(data, list):
            return Listing(data, len(data))
        if isinstance(data, dict) and isinstance(data.get("items"), list):
            total = data.get("total")
            return Listing(data["items"], total if isinstance(total, int) else len(data["items"]))
        return Listing([], 0, "the control plane answered an unexpected shape")

    @staticmethod
    def _why(answer: Answer) -> str:
        return answer.message


def _routed(url: str) -> bool:
    """Whether this app has a GET route for ``url`` (a system not built in has none)."""
    from werkzeug.exceptions import HTTPException

    try:
        current_app.url_map.bind("localhost").match(url, "GET")
    except HTTPException:
        return False
    return True
