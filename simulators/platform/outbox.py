"""What the simulated systems send: HTTP calls to provider URLs (the delivery log) and emails.

``call`` makes one outbound HTTP request with a whole-call deadline and a bounded read, and never
raises: every failure (refused, timeout, too large, not HTTP) comes back as a :class:`CallResult` with a
reason. The system decides what the answer means and records the delivery with its outcome in its
own transaction, so the delivery and the state change it caused land together.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlite_utils

from .errors import NotFound
from .gate import GATE
from .store import Store, Table, dumps, loads
from .timeutil import iso, parse_datetime

if TYPE_CHECKING:  # pragma: no cover
    import requests

RESPONSE_LIMIT = 256 * 1024

OUTBOX_TABLE = Table(
    name="_outbox",
    columns={"id": str, "seq": int, "system": str, "purpose": str, "subject": str, "method": str, "url": str,
             "params": str, "status": int, "response": str, "content_type": str, "duration_ms": float,
             "outcome": str, "reason": str, "attempt": int, "retry_of": str, "at": str},
    pk=("id",),
    indexes=(("seq",), ("subject",)),
)
EMAIL_TABLE = Table(
    name="_emails",
    columns={"id": str, "seq": int, "system": str, "subject_ref": str, "to_address": str, "subject": str,
             "body": str, "link": str, "link_expires_at": str, "sent_at": str, "sends": int},
    pk=("id",),
    indexes=(("seq",), ("subject_ref",)),
)


@dataclass
class CallResult:
    url: str
    params: dict[str, Any]
    status: int | None = None
    body: str = ""
    content_type: str = ""
    duration_ms: float = 0.0
    error: str | None = None  # set when no usable HTTP answer came back
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok_status(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _chunks(resp: requests.Response) -> Any:
    """The body as it arrives: each read returns what one socket read gave (``read1``), so the caller's
    deadline is checked even when a provider trickles a byte at a time (``iter_content`` would wait to
    fill each 8 KiB chunk, and a slow trickle would hold the call far past its timeout)."""
    raw = resp.raw
    if not hasattr(raw, "read1"):  # pragma: no cover - urllib3 < 2
        yield from resp.iter_content(8192)
        return
    while True:
        chunk = raw.read1(8192, decode_content=True)
        if not chunk:
            return
        yield chunk


class Outbox:
    def __init__(self, store: Store, session: requests.Session | None = None) -> None:
        self.store = store
        self._session = session

    @property
    def session(self) -> requests.Session:
        """Made on the first outbound call, in the process that makes it: requests (~0.15 s and ~5 MB to
        import) stays out of the server's start, and no connection pool is shared across a fork."""
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session

    @session.setter
    def session(self, value: requests.Session) -> None:
        self._session = value

    # -- HTTP -------------------------------------------------------------------------------------

    def call(self, url: str, params: dict[str, Any], timeout: float = 10.0, method: str = "GET") -> CallResult:
        """One outbound call; the whole call (connect, headers, body) must finish within ``timeout``."""
        import requests
        import urllib3

        result = CallResult(url=url, params=params)
        started = time.monotonic()
        deadline = started + timeout
        try:
            with GATE.waiting(), self.session.request(method, url, params=params if method == "GET" else None,
                                      data=params if method != "GET" else None,
                                      timeout=(min(timeout, 5.0), timeout), stream=True,
                                      headers={"User-Agent": "Trainingportal-Simulator/1.0",
                                               "Accept": "application/json, application/xml;q=0.9"}) as resp:
                result.status = resp.status_code
                result.content_type = resp.headers.get("Content-Type", "")
                chunks, size = [], 0
                for chunk in _chunks(resp):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > RESPONSE_LIMIT:
                        result.error = f"answer larger than {RESPONSE_LIMIT} bytes"
                        break
                    if time.monotonic() > deadline:
                        result.error = f"timed out after {timeout:g} s"
                        break
                raw = b"".join(chunks)
                result.body = raw.decode(resp.encoding or "utf-8", errors="replace")
        except (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError):
            result.error = f"timed out after {timeout:g} s"
        except urllib3.exceptions.HTTPError as exc:
            result.error = f"connection failed: {type(exc).__name__}"
        except requests.exceptions.InvalidURL as exc:
            result.error = f"invalid URL: {exc}"
        except requests.exceptions.MissingSchema:
            result.error = f"invalid URL {url!r}: it needs http:// or https://"
        except requests.exceptions.ConnectionError as exc:
            result.error = f"connection failed: {type(exc).__name__}"
            if "timed out" in str(exc).lower() or "timeout" in str(exc).lower():
                result.error = f"timed out after {timeout:g} s"
        except requests.exceptions.RequestException as exc:
            result.error = f"request failed: {type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001 - an outbound call must never take the server down
            result.error = f"request failed: {type(exc).__name__}"
        result.duration_ms = round((time.monotonic() - started) * 1000, 1)
        if result.error is None and time.monotonic() > deadline:
            result.error = f"timed out after {timeout:g} s"
        return result

    def record(self, db: sqlite_utils.Database, sandbox: str, *, system: str, purpose: str, subject: str,
               result: CallResult, outcome: str, reason: str, at: datetime, method: str = "GET",
               retry_of: str | None = None) -> str:
        """Log one delivery (inside the caller's transaction). ``outcome`` is ``delivered`` or ``failed``."""
        did = f"dlv-{secrets.token_hex(5)}"
        seq = (db.execute("SELECT max(seq) FROM _outbox WHERE sandbox = ?", [sandbox]).fetchone()[0] or 0) + 1
        attempt = 1
        if retry_of:
            prev = db.execute("SELECT attempt FROM _outbox WHERE sandbox = ? AND id = ?", [sandbox, retry_of]).fetchone()
            attempt = (prev[0] if prev else 0) + 1
        db["_outbox"].insert({
            "sandbox": sandbox, "id": did, "seq": seq, "system": system, "purpose": purpose, "subject": subject,
            "method": method, "url": result.url, "params": dumps(result.params), "status": result.status,
            "response": result.body[:RESPONSE_LIMIT], "content_type": result.content_type,
            "duration_ms": result.duration_ms, "outcome": outcome, "reason": reason, "attempt": attempt,
            "retry_of": retry_of, "at": iso(at)})
        return did

    @staticmethod
    def _delivery(row: dict[str, Any]) -> dict[str, Any]:
        return {"id": row["id"], "system": row["system"], "purpose": row["purpose"], "subject": row["subject"],
                "method": row["method"], "url": row["url"], "params": loads(row["params"], {}),
                "status": row["status"], "body": row["response"], "contentType": row["content_type"],
                "durationMs": row["duration_ms"], "outcome": row["outcome"], "reason": row["reason"],
                "attempt": row["attempt"], "retryOf": row["retry_of"], "at": row["at"]}

    def delivery(self, sandbox: str, did: str, db: sqlite_utils.Database | None = None) -> dict[str, Any]:
        def fetch(d: sqlite_utils.Database) -> list[dict[str, Any]]:
            return list(d.query("SELECT * FROM _outbox WHERE sandbox = ? AND id = ?", [sandbox, did]))

        if db is not None:
            rows = fetch(db)
        else:
            with self.store.read() as rdb:
                rows = fetch(rdb)
        if not rows:
            raise NotFound(f"delivery {did!r} not found", field="deliveryId")
        return self._delivery(rows[0])

    def deliveries(self, sandbox: str, *, subject: str | None = None, limit: int = 100,
                   offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        where, args = "sandbox = ?", [sandbox]
        if subject:
            where += " AND subject = ?"
            args.append(subject)
        with self.store.read() as db:
            total = db.execute(f"SELECT count(*) FROM _outbox WHERE {where}", args).fetchone()[0]
            rows = list(db.query(f"SELECT * FROM _outbox WHERE {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                                 [*args, limit, offset]))
        return [self._delivery(r) for r in rows], total

    # -- emails -----------------------------------------------------------------------------------

    def email(self, db: sqlite_utils.Database, sandbox: str, *, system: str, subject_ref: str, to: str,
              subject: str, body: str, link_base: str, at: datetime, valid_for: timedelta) -> str:
        eid = f"eml-{secrets.token_hex(5)}"
        seq = (db.execute("SELECT max(seq) FROM _emails WHERE sandbox = ?", [sandbox]).fetchone()[0] or 0) + 1
        db["_emails"].insert({
            "sandbox": sandbox, "id": eid, "seq": seq, "system": system, "subject_ref": subject_ref,
            "to_address": to, "subject": subject, "body": body,
            "link": f"{link_base}?token={secrets.token_urlsafe(16)}",
            "link_expires_at": iso(at + valid_for), "sent_at": iso(at), "sends": 1})
        return eid

    @staticmethod
    def _email(row: dict[str, Any], now: datetime) -> dict[str, Any]:
        expires = parse_datetime(row["link_expires_at"])
        return {"id": row["id"], "system": row["system"], "candidate": row["subject_ref"], "to": row["to_address"],
                "subject": row["subject"], "body": row["body"], "link": row["link"],
                "linkExpiresAt": row["link_expires_at"], "expired": now >= expires, "sentAt": row["sent_at"],
                "sends": row["sends"]}

    def emails(self, sandbox: str, now: datetime, *, subject_ref: str | None = None, limit: int = 100,
               offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        where, args = "sandbox = ?", [sandbox]
        if subject_ref:
            where += " AND subject_ref = ?"
            args.append(subject_ref)
        with self.store.read() as db:
            total = db.execute(f"SELECT count(*) FROM _emails WHERE {where}", args).fetchone()[0]
            rows = list(db.query(f"SELECT * FROM _emails WHERE {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                                 [*args, limit, offset]))
        return [self._email(r, now) for r in rows], total

    def resend(self, sandbox: str, eid: str, now: datetime, valid_for: timedelta = timedelta(hours=24)) -> dict:
        """Send the email again: a new link, valid for a new ``valid_for`` from now."""
        with self.store.write() as db:
            rows = list(db.query("SELECT * FROM _emails WHERE sandbox = ? AND id = ?", [sandbox, eid]))
            if not rows:
                raise NotFound(f"email {eid!r} not found", field="emailId")
            base = rows[0]["link"].split("?", 1)[0]
            db.execute("UPDATE _emails SET link = ?, link_expires_at = ?, sent_at = ?, sends = sends + 1 "
                       "WHERE sandbox = ? AND id = ?",
                       [f"{base}?token={secrets.token_urlsafe(16)}", iso(now + valid_for), iso(now), sandbox, eid])
            row = list(db.query("SELECT * FROM _emails WHERE sandbox = ? AND id = ?", [sandbox, eid]))[0]
        return self._email(row, now)
