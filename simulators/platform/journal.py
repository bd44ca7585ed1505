"""The journal: every request to a simulated API, per sandbox, with secrets masked; query and verify.

Masking works two ways so a secret never reaches the journal: by value (every credential secret of the
sandbox, and any value a system marks secret for the request, e.g. a token) and by name (fields and
headers called password, secret, token, authorization, in form, JSON or XML bodies).

A request or response record longer than :data:`PACK_OVER` characters (once masked) is stored
zlib-compressed, as a BLOB; shorter ones as text. Reading gives the same record either way.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from .errors import Invalid
from .store import Store, Table, dumps, loads, pack, unpack
from .timeutil import iso, parse_datetime

RETENTION = 10_000
BODY_LIMIT = 64 * 1024
MASK = "********"
TRIM_CHUNK = 25  # entries past the retention deleted per call
# records longer than this are stored compressed: a 27 KB getCourseClasses answer is 0.8 KB at zlib level 1
# (37 µs), so it needs no overflow pages: its insert cost 88 instead of 101 µs (median), deleting 25 such
# entries past the retention 0.17 instead of 2.0 ms (which the sandbox's later calls pay), and
# getCourseClasses served 636-724 instead of 538-583 req/s. Records of 3-4 KB (a GroupEnrolment request, a
# GetEthnicities answer) gained nothing measurable from it (GroupEnrolment 499-517 against 504-536 req/s
# with 2 KB here): they spill one overflow page at most
PACK_OVER = 8192

JOURNAL_TABLE = Table(
    name="_journal",
    columns={"id": int, "at": str, "wall": str, "system": str, "operation": str, "method": str, "path": str,
             "status": int, "duration_ms": float, "request": str, "response": str},
    pk=("id",),
    # (sandbox, id) serves every query; an index on (sandbox, operation), which no query plan used (the
    # operation filter also matches "system.operation"), cost a page written per entry: dropped in version 2
    indexes=(("id",),),
    state=False,
    version=2,
    migrations={2: ["DROP INDEX IF EXISTS idx__journal_sandbox_operation"]},
)

_SECRET_NAME = r"(?:[A-Za-z0-9_.\-]*(?:password|passwd|secret|token)[A-Za-z0-9_.\-]*|authorization|szPassword)"
_PATTERNS = [
    # JSON "password": "..."
    re.compile(r'("' + _SECRET_NAME + r'"\s*:\s*")((?:[^"\\]|\\.)*)(")', re.I),
    # form/query password=...
    re.compile(r"((?:^|[&?])" + _SECRET_NAME + r"=)([^&\s]*)()", re.I),
    # XML <szPassword>...</szPassword> (any prefix)
    re.compile(r"(<(?:[\w.-]+:)?" + _SECRET_NAME + r"\b[^>]*>)([^<]*)(</)", re.I),
    # Authorization header parameters: secret=..., token=...
    re.compile(r"(\b(?:secret|token)=)([^,\s\"]*)()", re.I),
]


def _ordered(secrets: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True))


def _unmasked(m: re.Match[str]) -> str:
    return m.group(1) + (MASK if m.group(2) else "") + m.group(3)


_NAME_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_.-")
_TAG_BYTES = _NAME_BYTES | {ord(":")}
# every pattern above needs one of the words password, passwd, secret, token, authorization
# (case-insensitive); "passw" stands for the first two (a match holding either holds it)
_SCAN_WORDS = (b"passw", b"secret", b"token", b"authorization")
# the only non-ASCII characters that re.IGNORECASE matches to an ASCII letter, digit, _ . or -
# (İ ı ſ K; computed over every code point): text holding one runs every pattern over all of it
_FOLDS_TO_ASCII = ("\u0130", "\u0131", "\u017f", "\u212a")


def _scan(text: str) -> tuple[bool, bool, list[int], bool] | None:
    """Where the four patterns can match ``text`` (a necessary condition per pattern, found with
    ``bytes.find`` on the lower-cased UTF-8 rather than by running each regex over the whole text): whether
    the JSON and the form/query patterns can match, the positions (in ``text``) of every ``<`` an XML match
    can start at, and whether the Authorization parameters can; None to run every pattern everywhere.

    Every match holds a secret word (``password``, ``passwd``, ``secret``, ``token``, ``authorization``):
    after it and a run of name characters, JSON needs ``"`` and form/query ``=``; XML needs ``<`` before
    it and a run of name characters and ``:``; the Authorization parameters are ``secret=`` / ``token=``.
    A non-ASCII character counts as a name character (an XML prefix may hold letters of any script), so
    the answer can only say "maybe" more often than the regexes match."""
    if text.isascii():
        raw = text.encode("ascii")
    elif any(c in text for c in _FOLDS_TO_ASCII):
        return None
    else:
        raw = text.encode("utf-8", "surrogatepass")
    low = raw.lower()
    json_like = form_like = params = False
    xml_at: set[int] = set()
    size = len(low)
    for word in _SCAN_WORDS:
        at = low.find(word)
        while at >= 0:
            end = at + len(word)
            # the Authorization parameters: secret= or token= (a word boundary before: a maybe either way)
            params = params or (end < size and low[end] == 0x3D and word in (b"secret", b"token"))
            while end < size and (low[end] in _NAME_BYTES or low[end] > 0x7F):
                end += 1
            if end < size:
                json_like = json_like or low[end] == 0x22  # "
                form_like = form_like or low[end] == 0x3D  # =
            start = at - 1
            while start >= 0 and (low[start] in _TAG_BYTES or low[start] > 0x7F):
                start -= 1
            if start >= 0 and low[start] == 0x3C:  # <
                xml_at.add(start)
            at = low.find(word, at + 1)
    starts = sorted(xml_at)
    if starts and size != len(text):  # byte offsets to character offsets (each is at a "<", a boundary)
        starts = [len(raw[:at].decode("utf-8", "surrogatepass")) for at in starts]
    return json_like, form_like, starts, params


def _sub_at(pattern: re.Pattern[str], text: str, starts: list[int]) -> str:
    """``pattern.sub(_unmasked, text)`` when every match starts at one of ``starts`` (ascending)."""
    out, last = [], 0
    for at in starts:
        if at < last:
            continue
        m = pattern.match(text, at)
        if m:
            out.append(text[last:at])
            out.append(_unmasked(m))
            last = m.end()
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def _mask_ordered(text: str, ordered: tuple[str, ...]) -> str:
    if not text:
        return text
    for value in ordered:
        if value in text:
            text = text.replace(value, MASK)
    found = _scan(text)
    if found is None:
        for pattern in _PATTERNS:
            text = pattern.sub(_unmasked, text)
        return text
    json_like, form_like, xml_at, params = found
    if json_like:
        text = _PATTERNS[0].sub(_unmasked, text)
    if form_like:
        text = _PATTERNS[1].sub(_unmasked, text)
    if xml_at:  # masking above shifted positions: look again
        text = _PATTERNS[2].sub(_unmasked, text) if json_like or form_like else _sub_at(_PATTERNS[2], text, xml_at)
    if params:
        text = _PATTERNS[3].sub(_unmasked, text)
    return text


def mask(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    return _mask_ordered(text, _ordered(secrets))


_SECRET_KEY = re.compile(r"^" + _SECRET_NAME + r"$", re.I)


def mask_value(value: Any, secrets: list[str] | tuple[str, ...] = ()) -> Any:
    """Mask every string in a request/response record; a dict key that names a secret hides its value."""
    return _mask_tree(value, _ordered(secrets))


@functools.lru_cache(maxsize=4096)
def _secret_key(key: str) -> bool:
    return _SECRET_KEY.match(key) is not None


# the same short texts come back call after call (headers, form bodies, the answers of reads): their
# masked form is remembered, per text and set of secrets (a pure function of the two). 4 KB takes in the
# SOAP reference-data answers (GetEthnicities: 3.8 KB, 17 µs to mask, 2 µs remembered); at most ~4 MB
_mask_short = functools.lru_cache(maxsize=1024)(_mask_ordered)
SHORT_TEXT = 4096


def _mask_tree(value: Any, ordered: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        if len(value) <= SHORT_TEXT:
            return _mask_short(value, ordered)
        return _mask_ordered(_clip(value), ordered)
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and v and _secret_key(k) else _mask_tree(v, ordered))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_tree(v, ordered) for v in value]
    return value


def _clip(text: str) -> str:
    if len(text) > BODY_LIMIT:
        return text[:BODY_LIMIT] + f"... [{len(text) - BODY_LIMIT} more characters]"
    return text


class Journal:
    def __init__(self, store: Store, retention: int = RETENTION) -> None:
        self.store = store
        self.retention = retention
        # look for entries past the retention after every N of a sandbox's own entries written by this
        # process (not every Nth row id: sandboxes whose calls interleave would then never hit the multiple
        # and grow without bound)
        self.trim_every = max(1, min(200, retention // 5))
        self._since_trim: dict[str, int] = {}
        # entries up to this id are past the retention and go, TRIM_CHUNK per call: deleting 200 at once,
        # half of them 45 KB answers, took 12-38 ms inside one write, which every other call waited for
        self._cutoff: dict[str, int] = {}

    def record(self, sandbox: str, *, at: str, wall: str, system: str, operation: str, method: str, path: str,
               status: int, duration_ms: float, request: dict[str, Any], response: dict[str, Any],
               secrets: list[str]) -> None:
        ordered = _ordered(secrets)
        req = pack(dumps(_mask_tree(request, ordered)), PACK_OVER)
        resp = pack(dumps(_mask_tree(response, ordered)), PACK_OVER)
        self.store.write_one(
            "INSERT INTO _journal (sandbox, at, wall, system, operation, method, path, status, duration_ms, "
            "request, response) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [sandbox, at, wall, system, operation, method, path, status, round(duration_ms, 3), req, resp])
        count = self._since_trim.get(sandbox, 0) + 1
        if count >= self.trim_every:
            cutoff = self._past_retention(sandbox)
            if cutoff is not None:
                self._cutoff[sandbox] = cutoff
            count = 0
        self._since_trim[sandbox] = count
        cutoff = self._cutoff.get(sandbox)
        if cutoff is not None and self._delete_chunk(sandbox, cutoff) < TRIM_CHUNK:
            self._cutoff.pop(sandbox, None)  # another thread may have got there first

    def _past_retention(self, sandbox: str) -> int | None:
        """The id of the newest entry past the retention, if any."""
        with self.store.read() as db:
            row = db.execute("SELECT id FROM _journal WHERE sandbox = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
                             [sandbox, self.retention]).fetchone()
        return row[0] if row else None

    def _delete_chunk(self, sandbox: str, cutoff: int) -> int:
        return self.store.write_one(
            "DELETE FROM _journal WHERE id IN (SELECT id FROM _journal WHERE sandbox = ? AND id <= ? "
            "ORDER BY id LIMIT ?)", [sandbox, cutoff, TRIM_CHUNK]).rowcount

    def forget(self, sandbox: str) -> None:
        """Delete every entry of ``sandbox`` (it is reset or deleted)."""
        self.store.write_one("DELETE FROM _journal WHERE sandbox = ?", [sandbox])
        self._cutoff.pop(sandbox, None)
        self._since_trim.pop(sandbox, None)

    def trim(self, sandbox: str) -> None:
        """Delete every entry of ``sandbox`` past the retention, at once."""
        cutoff = self._past_retention(sandbox)
        if cutoff is not None:
            self.store.write_one("DELETE FROM _journal WHERE sandbox = ? AND id <= ?", [sandbox, cutoff])
        self._cutoff.pop(sandbox, None)

    # -- query ------------------------------------------------------------------------------------

    @staticmethod
    def _filters(sandbox: str, system: str | None = None, operation: str | None = None,
                 status: int | None = None, since: str | None = None) -> tuple[str, list[Any]]:
        where, args = ["sandbox = ?"], [sandbox]
        if system:
            where.append("system = ?")
            args.append(system)
        if operation:
            where.append("(operation = ? OR operation = system || '.' || ?)")
            args += [operation, operation]
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if since:
            try:
                since_iso = iso(parse_datetime(since))
            except ValueError:
                raise Invalid(f"since must be an ISO-8601 date-time, got {since!r}", field="since") from None
            where.append("at >= ?")
            args.append(since_iso)
        return " AND ".join(where), args

    def query(self, sandbox: str, *, limit: int = 100, offset: int = 0, after_id: int | None = None,
              **filters: Any) -> tuple[list[dict[str, Any]], int]:
        where, args = self._filters(sandbox, **filters)
        with self.store.read() as db:
            total = db.execute(f"SELECT count(*) FROM _journal WHERE {where}", args).fetchone()[0]
            extra = ""
            if after_id is not None:
                extra = " AND id > ?"
                args = [*args, after_id]
            rows = list(db.query(f"SELECT * FROM _journal WHERE {where}{extra} ORDER BY id DESC LIMIT ? OFFSET ?",
                                 [*args, min(self.retention, limit) if after_id is None else self.retention,
                                  offset]))
        return [self._entry(r) for r in rows], total

    @staticmethod
    def _entry(row: dict[str, Any], response: bool = True) -> dict[str, Any]:
        """A stored row as the journal gives it; ``response=False`` leaves the answer out (verify)."""
        return {"id": row["id"], "at": row["at"], "wallTime": row["wall"], "system": row["system"],
                "operation": row["operation"], "method": row["method"], "path": row["path"],
                "status": row["status"], "durationMs": row["duration_ms"],
                "request": loads(unpack(row["request"]), {}),
                **({"response": loads(unpack(row["response"]), {})} if response else {})}

    # -- verify -----------------------------------------------------------------------------------

    def verify(self, sandbox: str, spec: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        """Check how many journal entries match; on failure give the nearest misses."""
        if not isinstance(spec, dict):
            raise Invalid("body must be a JSON object", field="body")
        matcher = spec.get("matcher", {k: v for k, v in spec.items() if k in
                                       ("system", "operation", "status", "bodyContains", "jsonPath")})
        if not isinstance(matcher, dict):
            raise Invalid("matcher must be an object", field="matcher")
        unknown = set(matcher) - {"system", "operation", "status", "bodyContains", "jsonPath", "method", "path"}
        if unknown:
            raise Invalid(f"unknown matcher field(s): {', '.join(sorted(unknown))}", field="matcher")
        expect = spec.get("expect", {k: v for k, v in spec.items() if k in ("count", "atLeast", "atMost")})
        if not isinstance(expect, dict) or not expect:
            raise Invalid("an expectation is required: count, atLeast or atMost", field="expect")
        for name, value in expect.items():
            if name not in ("count", "atLeast", "atMost"):
                raise Invalid(f"unknown expectation {name!r}: use count, atLeast or atMost", field=f"expect.{name}")
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise Invalid(f"{name} must be a non-negative integer, got {value!r}", field=f"expect.{name}")
        status = matcher.get("status")
        if status is not None and (not isinstance(status, int) or isinstance(status, bool)):
            raise Invalid(f"status must be an integer, got {status!r}", field="matcher.status")
        json_path = matcher.get("jsonPath") or {}
        if not isinstance(json_path, dict):
            raise Invalid("jsonPath must be an object of path -> expected value", field="matcher.jsonPath")
        contains = matcher.get("bodyContains")
        if contains is not None and not isinstance(contains, str):
            raise Invalid("bodyContains must be a string", field="matcher.bodyContains")

        with self.store.read() as db:
            rows = list(db.query("SELECT id, at, wall, system, operation, method, path, status, duration_ms, "
                                 "request FROM _journal WHERE sandbox = ? ORDER BY id DESC", [sandbox]))
        matched, misses = [], []
        for row in rows:
            entry = self._entry(row, response=False)  # matchers look at the request and the metadata only
            failed = self._mismatches(entry, matcher, json_path, contains)
            if not failed:
                matched.append(entry)
            else:
                misses.append((len(failed), failed, entry))
        count = len(matched)
        ok = (("count" not in expect or count == expect["count"])
              and ("atLeast" not in expect or count >= expect["atLeast"])
              and ("atMost" not in expect or count <= expect["atMost"]))
        result: dict[str, Any] = {"matched": count, "expected": expect, "ok": ok}
        if not ok:
            misses.sort(key=lambda m: m[0])
            result["nearestMisses"] = [
                {"id": e["id"], "operation": e["operation"], "status": e["status"], "at": e["at"],
                 "mismatches": f} for _, f, e in misses[:5]]
        return ok, result

    @staticmethod
    def _mismatches(entry: dict[str, Any], matcher: dict[str, Any], json_path: dict[str, Any],
                    contains: str | None) -> list[str]:
        failed = []
        for name in ("system", "method", "path"):
            if matcher.get(name) is not None and entry[name] != matcher[name]:
                failed.append(f"{name} is {entry[name]!r}, not {matcher[name]!r}")
        op = matcher.get("operation")
        if op is not None and entry["operation"] not in (op, f"{entry['system']}.{op}"):
            failed.append(f"operation is {entry['operation']!r}, not {op!r}")
        if matcher.get("status") is not None and entry["status"] != matcher["status"]:
            failed.append(f"status is {entry['status']}, not {matcher['status']}")
        body = entry["request"].get("body", "") if isinstance(entry["request"], dict) else ""
        if contains is not None and contains not in (body or "") and contains not in json.dumps(entry["request"]):
            failed.append(f"request body does not contain {contains!r}")
        if json_path:
            try:
                doc = json.loads(body) if body else {}
            except ValueError:
                doc = entry["request"].get("form") or {}
            for path, expected in json_path.items():
                actual = _dig(doc, path)
                if actual != expected:
                    failed.append(f"{path} is {actual!r}, not {expected!r}")
        return failed


def _dig(doc: Any, path: str) -> Any:
    path = path[2:] if path.startswith("$.") else path
    for part in path.split("."):
        if isinstance(doc, dict):
            doc = doc.get(part)
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return None
    return doc
