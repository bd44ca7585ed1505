"""Learning Assistant's state and rules: tokens, reference data, candidates, enrolment history and progress.

No Flask here. The SOAP layer hands decoded parameters to :meth:`LearningAssistant.call`, which runs the
operation and the token's sliding refresh in one write transaction (so a fault refreshes nothing), and
returns plain Python values shaped like the wire types in ``schemas.py``. The control plane and the
dashboard call the listing and action methods directly.
"""

from __future__ import annotations

import functools
import hmac
import random
import secrets
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlite_utils

from ..platform.errors import Invalid, NotFound
from ..platform.sandboxes import fixture
from ..platform.store import Table, dumps, loads
from ..platform.timeutil import iso, parse_datetime
from . import validation as rules
from .errors import AuthFailed, SoapFault

if TYPE_CHECKING:  # pragma: no cover
    from ..platform.runtime import Platform

SYSTEM_NAME = "learning-assistant"
TOKEN_IDLE = timedelta(minutes=30)
# the operations that change state besides the token (the others only read)
STATE_CHANGING = frozenset({"GroupEnrolment", "UpdateEnrolment"})


class _OneStatement:
    """``execute`` as one autocommit statement of the store (``Store.write_one``)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def execute(self, sql: str, params: Any = ()) -> Any:
        return self.store.write_one(sql, params)
LINK_VALID = timedelta(hours=24)
DEFAULT_DURATION_MONTHS = 12  # PlannedEndDate when the caller gives none (decision)
LOGIN_LINK = "https://app.learningassistant.com/login/activate"
SETTING = "learningAssistant.autoProgress"

FRAMEWORKS = Table("la_frameworks", {"course_uuid": str, "seq": int, "qan": str, "title": str, "level": int,
                                     "units": str}, pk=("course_uuid",), indexes=(("qan",), ("seq",)))
TRAINERS = Table("la_trainers", {"trainer_uuid": str, "seq": int, "forename": str, "surname": str, "email": str,
                                 "is_assessor": int, "is_verifier": int}, pk=("trainer_uuid",), indexes=(("seq",),))
COMPANIES = Table("la_companies", {"company_uuid": str, "seq": int, "name": str, "postcode": str},
                  pk=("company_uuid",), indexes=(("seq",),))
# sessions, not sandbox state: restoring a snapshot does not log clients out (a reset still does)
TOKENS = Table("la_tokens", {"token_id": str, "token_uuid": str, "created_at": str, "last_used": str},
               pk=("token_id",), unique=(("token_uuid",),), indexes=(("last_used",),), state=False)
CANDIDATES = Table("la_candidates", {
    "candidate_uuid": str, "seq": int, "course_uuid": str, "source_uuid": str, "uln": str, "forename": str,
    "surname": str, "start_date": str, "planned_end_date": str, "is_test": int, "units": str, "record": str,
    "assign_evaluation": int, "created_at": str, "updated_at": str},
    pk=("candidate_uuid",), indexes=(("source_uuid", "course_uuid", "seq"), ("course_uuid", "seq"), ("seq",)),
    # v2: the duplicate-enrolment check (source, course, first by seq) is one index seek; with the old
    # (source_uuid, course_uuid) index SQLite preferred (course_uuid, seq) to skip a sort and walked every
    # candidate of the course on each GroupEnrolment
    version=2,
    migrations={2: ["CREATE INDEX IF NOT EXISTS idx_la_candidates_sandbox_source_uuid_course_uuid_seq "
                    "ON la_candidates (sandbox, source_uuid, course_uuid, seq)",
                    "DROP INDEX IF EXISTS idx_la_candidates_sandbox_source_uuid_course_uuid"]})
HISTORY = Table("la_history", {"id": int, "candidate_uuid": str, "at": str, "action": str, "changes": str},
                pk=("id",), indexes=(("candidate_uuid",),))
MET = Table("la_outcomes_met", {"candidate_uuid": str, "outcome_uuid": str, "date_met": str, "met_by": str},
            pk=("candidate_uuid", "outcome_uuid"))
TABLES = [FRAMEWORKS, TRAINERS, COMPANIES, TOKENS, CANDIDATES, HISTORY, MET]


def _reference() -> dict[str, Any]:
    return fixture("learning_assistant")


def ethnicities() -> list[dict[str, str]]:
    return _reference()["ethnicities"]


def nationalities() -> list[dict[str, str]]:
    return _reference()["nationalities"]


@functools.cache
def reference_ids(kind: str) -> frozenset[str]:
    """The IDs of a reference list (``ethnicities``, ``nationalities``): fixed data, so a set made once."""
    return frozenset(item["ID"] for item in _reference()[kind])


def cf_uuid(rng: random.Random | None = None) -> str:
    """A ColdFusion UUID: 35 characters, ``8-4-4-16`` upper-case hex."""
    bits = rng.getrandbits(128) if rng is not None else secrets.randbits(128)
    h = f"{bits:032X}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:]}"


def new_uln(rng: random.Random) -> str:
    """A valid ULN, as the Learning Records Service would issue one."""
    while True:
        first9 = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(8))
        digit = rules.uln_check_digit(first9)
        if digit is not None:
            return first9 + str(digit)


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


# -- seeding --------------------------------------------------------------------------------------


def seed(ctx: Any) -> None:
    """Reference data for every sandbox; with ``demo`` fixtures also a handful of enrolled learners."""
    ctx.credential(SYSTEM_NAME, "login:0", key_prefix="la-")
    ref = _reference()
    db, sid = ctx.db, ctx.sandbox
    ids: dict[str, str] = {}
    frameworks = []
    for i, fw in enumerate(ref["frameworks"]):
        rng = ctx.random(f"la.framework.{fw['key']}")
        ids[fw["key"]] = cf_uuid(rng)
        units = [{"UnitUUID": cf_uuid(rng), "UnitReference": u["UnitReference"], "Title": u["Title"],
                  "blnMandatory": u["blnMandatory"],
                  "Outcomes": [{"OutcomeUUID": cf_uuid(rng), "Reference": o["Reference"], "Title": o["Title"]}
                               for o in u["Outcomes"]]} for u in fw["Units"]]
        frameworks.append({"sandbox": sid, "course_uuid": ids[fw["key"]], "seq": i, "qan": fw["CourseQAN"],
                           "title": fw["Title"], "level": fw["Level"], "units": dumps(units)})
    db["la_frameworks"].insert_all(frameworks)
    trainers = []
    for i, t in enumerate(ref["trainers"]):
        ids[t["key"]] = cf_uuid(ctx.random(f"la.trainer.{t['key']}"))
        trainers.append({"sandbox": sid, "trainer_uuid": ids[t["key"]], "seq": i, "forename": t["Forename"],
                         "surname": t["Surname"], "email": t["EmailAddress"], "is_assessor": int(t["blnAssessor"]),
                         "is_verifier": int(t["blnVerifier"])})
    db["la_trainers"].insert_all(trainers)
    companies = []
    for i, c in enumerate(ref["companies"]):
        ids[c["key"]] = cf_uuid(ctx.random(f"la.company.{c['key']}"))
        companies.append({"sandbox": sid, "company_uuid": ids[c["key"]], "seq": i, "name": c["Name"],
                          "postcode": c["Postcode"]})
    db["la_companies"].insert_all(companies)
    if ctx.fixtures != "demo":
        return
    model = LearningAssistant(ctx.platform)
    today = ctx.now.date()
    for i, person in enumerate(ref["demoCandidates"]):
        rng = ctx.random(f"la.candidate.{person['key']}")
        start = add_months(today, -person["startMonthsAgo"])
        end = add_months(start, person["months"])
        record = {k: person.get(k) for k in rules.STRING_FIELDS}
        record["CompanyUUID"] = ids[person["company"]]
        record["Address"] = {}
        record["Course"] = {"CourseUUID": ids[person["framework"]], "StartDate": start.isoformat(),
                            "PlannedEndDate": end.isoformat(), "PrimaryAssessorUUID": ids[person["assessor"]],
                            "PrimaryVerifierUUID": ids[person["verifier"]]}
        record["ULN"] = record["ULN"] or new_uln(rng)
        framework = model.framework(db, sid, ids[person["framework"]])
        assert framework is not None
        units = [u["UnitUUID"] for u in framework["units"] if u["blnMandatory"]]
        record["Course"].update(CourseQAN=framework["qan"], Units=units)
        cand = cf_uuid(rng)
        at = datetime.combine(start, datetime.min.time()).replace(tzinfo=ctx.now.tzinfo)
        model._insert_candidate(db, sid, cand, record, units, at, test=bool(person.get("test")), seq=i + 1)
        outcomes = [o for u in framework["units"] if u["UnitUUID"] in units for o in u["Outcomes"]]
        count = round(len(outcomes) * person["metShare"])
        span = max((min(end, today) - start).days, 1)
        db["la_outcomes_met"].insert_all([
            {"sandbox": sid, "candidate_uuid": cand, "outcome_uuid": o["OutcomeUUID"],
             "date_met": (start + timedelta(days=span * (k + 1) // max(count, 1))).isoformat(), "met_by": "assessor"}
            for k, o in enumerate(outcomes[:count])])


# -- progress -------------------------------------------------------------------------------------


def compute_progress(framework: dict[str, Any], units: list[str], met: dict[str, dict[str, str]],
                     start: date, end: date, today: date, auto_until: date | None) -> dict[str, Any]:
    """Progress of one enrolment. ``met`` maps OutcomeUUID -> {"date", "by"} (recorded marks);
    ``auto_until``: with auto-progress, the day up to which the straight line start -> planned end is
    credited (each outcome falls due on its share of the span)."""
    chosen = [u for u in framework["units"] if u["UnitUUID"] in units]
    outcomes = [o for u in chosen for o in u["Outcomes"]]
    n = len(outcomes)
    span = max((end - start).days, 1)
    effective: dict[str, dict[str, str]] = dict(met)
    if auto_until is not None and n:
        elapsed = (auto_until - start).days
        for k, o in enumerate(outcomes):
            due = k * span // n + 1  # outcome k falls due once elapsed days pass k/n of the span
            if elapsed >= due and o["OutcomeUUID"] not in effective:
                effective[o["OutcomeUUID"]] = {"date": (start + timedelta(days=due)).isoformat(), "by": "auto"}
    done = sum(1 for o in outcomes if o["OutcomeUUID"] in effective)
    percent = 100 * done // n if n else 100
    elapsed_today = (today - start).days
    target = 0 if elapsed_today <= 0 else min(100, 100 * elapsed_today // span)
    status = "COMPLETE" if done == n else ("BEHIND" if percent < target else "ON_TRACK")
    unit_rows = []
    for u in chosen:
        marks = [effective.get(o["OutcomeUUID"]) for o in u["Outcomes"]]
        count = sum(1 for m in marks if m)
        unit_pct = 100 * count // len(marks) if marks else 100
        completed = max(m["date"] for m in marks) if marks and all(marks) else None
        unit_rows.append({
            "UnitUUID": u["UnitUUID"], "UnitReference": u["UnitReference"], "Title": u["Title"],
            "blnMandatory": u["blnMandatory"], "PercentComplete": unit_pct, "DateCompleted": completed,
            "Outcomes": [{"OutcomeUUID": o["OutcomeUUID"], "Reference": o["Reference"], "Title": o["Title"],
                          "blnMet": m is not None, "DateMet": m["date"] if m else None,
                          "MetBy": m["by"] if m else None} for o, m in zip(u["Outcomes"], marks, strict=True)]})
    return {"PercentComplete": percent, "TargetPercent": target, "Status": status, "Units": unit_rows,
            "OutcomesMet": done, "OutcomesTotal": n}


class LearningAssistant:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.store = platform.store

    # -- tokens -----------------------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> tuple[str | None, bool]:
        """(sandbox or None, password right). A known username names the sandbox even when the password
        is wrong, so the failed attempt is journaled there."""
        cred = self.platform.sandboxes.lookup(SYSTEM_NAME, username or "")
        if cred is None:
            return None, False
        return cred.sandbox, hmac.compare_digest((password or "").encode(), cred.secret.encode())

    def issue_token(self, sandbox: str) -> tuple[str, str]:
        with self.store.write() as db:
            now = self.platform.clock.now(sandbox, db)
            # forget this sandbox's tokens idle for more than a day (indexed by last_used)
            db.execute("DELETE FROM la_tokens WHERE sandbox = ? AND last_used < ?",
                       [sandbox, iso(now - timedelta(days=1))])
            token = (str(secrets.randbelow(9 * 10**9) + 10**9), cf_uuid())
            db["la_tokens"].insert({"sandbox": sandbox, "token_id": token[0], "token_uuid": token[1],
                                    "created_at": iso(now), "last_used": iso(now)})
        return token

    def token_sandbox(self, token: tuple[str, str] | None) -> str | None:
        """The sandbox that issued this token (expired or not), or None when it is unknown."""
        if not token or not token[0] or not token[1]:
            return None
        with self.store.read() as db:
            row = db.execute("SELECT sandbox, token_id FROM la_tokens WHERE token_uuid = ?", [token[1]]).fetchone()
        if row is None or not hmac.compare_digest(row[1].encode(), token[0].encode()):
            return None
        return row[0]

    def _use_token(self, db: Any, sandbox: str, token: tuple[str, str] | None, now: datetime) -> None:
        """Raise AuthFailed unless the token is valid now; restart its 30 minutes. One statement: the check
        and the refresh cannot come apart (``db`` is the call's transaction, or the store for one alone)."""
        if not token:
            raise AuthFailed()
        cursor = db.execute(
            "UPDATE la_tokens SET last_used = ? WHERE sandbox = ? AND token_id = ? AND token_uuid = ? "
            "AND last_used >= ?", [iso(now), sandbox, token[0], token[1], iso(now - TOKEN_IDLE)])
        if cursor.rowcount != 1:
            raise AuthFailed()

    # -- the SOAP operations ----------------------------------------------------------------------

    def call(self, sandbox: str, operation: str, params: dict[str, Any], token: tuple[str, str] | None) -> Any:
        """Run one authenticated operation. One that changes state does the token check, the refresh and the
        work in one transaction; a read refreshes the token in one statement, then reads."""
        handler = getattr(self, f"_op_{operation}")
        if operation in STATE_CHANGING:
            with self.store.write() as db:
                now = self.platform.clock.now(sandbox, db)
                self._use_token(db, sandbox, token, now)
                return handler(db, sandbox, params, now)
        now = self.platform.clock.now(sandbox)
        self._use_token(_OneStatement(self.store), sandbox, token, now)
        with self.store.read() as db:
            return handler(db, sandbox, params, now)

    def _op_GetTrainers(self, db: sqlite_utils.Database, sandbox: str, params: dict, now: datetime) -> list[dict]:
        return [{"TrainerUUID": r["trainer_uuid"], "Forename": r["forename"], "Surname": r["surname"],
                 "EmailAddress": r["email"], "blnAssessor": bool(r["is_assessor"]),
                 "blnVerifier": bool(r["is_verifier"])} for r in self.trainers(db, sandbox)]

    def _op_GetNationalities(self, db: sqlite_utils.Database, sandbox: str, params: dict, now: datetime) -> list:
        return nationalities()

    def _op_GetEthnicities(self, db: sqlite_utils.Database, sandbox: str, params: dict, now: datetime) -> list:
        return ethnicities()

    def _op_GetCompanies(self, db: sqlite_utils.Database, sandbox: str, params: dict, now: datetime) -> list:
        return [{"CompanyUUID": r["company_uuid"], "Name": r["name"], "Postcode": r["postcode"]}
                for r in db.query("SELECT * FROM la_companies WHERE sandbox = ? ORDER BY seq", [sandbox])]

    def _op_GetFrameworks(self, db: sqlite_utils.Database, sandbox: str, params: dict, now: datetime) -> list:
        out = []
        for fw in self.frameworks(db, sandbox):
            units = [{k: v for k, v in u.items()} for u in fw["units"]]
            out.append({"CourseUUID": fw["course_uuid"], "CourseQAN": fw["qan"], "Title": fw["title"],
                        "Level": fw["level"], "Units": units})
        return out

    def _op_GetCandidates(self, db: sqlite_utils.Database, sandbox: str, params: dict, now: datetime) -> list:
        flags = {}
        for name, default in (("blnActive", True), ("blnCompleted", True), ("blnTest", False)):
            raw = params.get(name)
            if raw is None or str(raw).strip() == "":
                flags[name] = default
                continue
            value = rules.parse_boolean(raw)
            if value is None:
                raise SoapFault.client(f"{name} must be true or false, got {raw!r}")
            flags[name] = value
        qan = (params.get("CourseQAN") or "").strip()
        where, args = "c.sandbox = ?", [sandbox]
        if qan:
            where += " AND f.qan = ?"
            args.append(qan)
        if not flags["blnTest"]:
            where += " AND c.is_test = 0"
        rows = list(db.query(f"SELECT c.*, f.qan FROM la_candidates c JOIN la_frameworks f ON f.sandbox = c.sandbox "
                             f"AND f.course_uuid = c.course_uuid WHERE {where} ORDER BY c.seq", args))
        progress = self._progress_many(db, sandbox, rows, now)
        out = []
        for r in rows:
            completed = progress[r["candidate_uuid"]]["Status"] == "COMPLETE"
            if (completed and not flags["blnCompleted"]) or (not completed and not flags["blnActive"]):
                continue
            out.append({"AnticipatedEndDate": r["planned_end_date"], "CandidateUUID": r["candidate_uuid"],
                        "CourseQAN": r["qan"], "CourseUUID": r["course_uuid"], "Forename": r["forename"],
                        "Surname": r["surname"], "SourceSystemLearnerUUID": r["source_uuid"],
                        "StartDate": r["start_date"], "Status": "Completed" if completed else "Active",
                        "ULN": r["uln"]})
        return out

    def _op_GetProgress(self, db: sqlite_utils.Database, sandbox: str, params: dict, now: datetime) -> dict:
        full = self._op_GetProgressFull(db, sandbox, params, now)
        full["Units"] = [{k: u[k] for k in ("UnitUUID", "UnitReference", "Title", "PercentComplete", "DateCompleted")}
                         for u in full["Units"]]
        return full

    def _op_GetProgressFull(self, db: sqlite_utils.Database, sandbox: str, params: dict, now: datetime) -> dict:
        uuid = (params.get("CandidateUUID") or "").strip()
        if not uuid:
            raise SoapFault.server("CandidateUUID is required")
        row = self._candidate_row(db, sandbox, uuid)
        if row is None:
            raise SoapFault.server(f"CandidateUUID {uuid!r} is not a candidate of this account")
        p = self._progress_many(db, sandbox, [row], now)[uuid]
        return {"CandidateUUID": uuid, "CourseUUID": row["course_uuid"], "PercentComplete": p["PercentComplete"],
                "TargetPercent": p["TargetPercent"], "Status": p["Status"], "Units": p["Units"]}

    def _op_GroupEnrolment(self, db: sqlite_utils.Database, sandbox: str, params: dict, now: datetime) -> dict:
        record = normalise(params.get("User") or {})
        messages: list[rules.Message] = []
        flags = {}
        for name in ("blnAssignEvaluationOnEnroll", "blnSendLoginDetailsOnEnroll"):
            raw = params.get(name)
            flags[name] = False if raw is None or str(raw).strip() == "" else rules.parse_boolean(raw)
            if flags[name] is None:
                messages.append(rules.Message("INVALID", name, f"{name} must be true or false, got {raw!r}"))
        checked = rules.check(record, self.references(db, sandbox))
        messages = checked.messages + messages
        if flags["blnSendLoginDetailsOnEnroll"] and not record.get("EmailAddress"):
            messages.append(rules.Message("REQUIRED", "EmailAddress",
                                          "EmailAddress is required when blnSendLoginDetailsOnEnroll is true"))
        if messages:
            return failure(messages)
        framework = checked.framework
        assert framework is not None
        course = record["Course"]
        course["CourseUUID"], course["CourseQAN"], course["Units"] = framework["course_uuid"], framework["qan"], \
            checked.units
        if not course.get("PlannedEndDate"):
            course["PlannedEndDate"] = add_months(date.fromisoformat(course["StartDate"]),
                                                  DEFAULT_DURATION_MONTHS).isoformat()
        if not record.get("ULN"):
            record["ULN"] = new_uln(random.Random(secrets.randbits(64)))
        cand = cf_uuid()
        self._insert_candidate(db, sandbox, cand, record, checked.units, now,
                               assign_evaluation=bool(flags["blnAssignEvaluationOnEnroll"]))
        if flags["blnSendLoginDetailsOnEnroll"]:
            self._login_email(db, sandbox, cand, record, framework, now)
        return {"Success": True, "CandidateUUID": cand, "SourceSystemLearnerUUID": record["SourceSystemLearnerUUID"],
                "ULN": record["ULN"], "MessageList": []}

    def _op_UpdateEnrolment(self, db: sqlite_utils.Database, sandbox: str, params: dict, now: datetime) -> dict:
        given = normalise(params.get("User") or {})
        messages = []
        for name in ("CandidateUUID", "CourseUUID"):
            if not given.get(name):
                messages.append(rules.Message("REQUIRED", name, f"{name} is required to name the enrolment"))
        if messages:
            return failure(messages)
        row = self._candidate_row(db, sandbox, given["CandidateUUID"])
        if row is None:
            return failure([rules.Message("NOT_FOUND", "CandidateUUID", f"CandidateUUID {given['CandidateUUID']!r} "
                                                                        "is not a candidate of this account")])
        if row["course_uuid"] != given["CourseUUID"]:
            return failure([rules.Message("NOT_FOUND", "CourseUUID", f"candidate {row['candidate_uuid']} is not "
                                                                     f"enrolled on course {given['CourseUUID']!r}")])
        stored = loads(row["record"], {})
        merged = merge(stored, given)
        checked = rules.check(merged, self.references(db, sandbox), candidate_uuid=row["candidate_uuid"])
        messages = list(checked.messages)
        course_in = given.get("Course") or {}
        for name, current in (("CourseUUID", row["course_uuid"]), ("CourseQAN", stored["Course"].get("CourseQAN"))):
            if course_in.get(name) and course_in[name] != current:
                messages.append(rules.Message("INVALID", f"Course.{name}",
                                              f"the course of an enrolment cannot be changed (it is {current}, got "
                                              f"{course_in[name]!r}); enrol the learner on the other course"))
        if messages:
            return failure(messages)
        merged["Course"]["Units"] = checked.units if course_in.get("Units") else stored["Course"].get("Units", [])
        changes = diff(stored, merged)
        if changes:
            db.execute(
                "UPDATE la_candidates SET source_uuid = ?, uln = ?, surname = ?, start_date = ?, planned_end_date = ?, "
                "units = ?, record = ?, updated_at = ? WHERE sandbox = ? AND candidate_uuid = ?",
                [merged["SourceSystemLearnerUUID"], merged["ULN"], merged["Surname"], merged["Course"]["StartDate"],
                 merged["Course"]["PlannedEndDate"], dumps(merged["Course"]["Units"]), dumps(merged), iso(now),
                 sandbox, row["candidate_uuid"]])
            db["la_history"].insert({"sandbox": sandbox, "candidate_uuid": row["candidate_uuid"], "at": iso(now),
                                     "action": "updated", "changes": dumps(changes)})
        return {"Success": True, "CandidateUUID": row["candidate_uuid"],
                "SourceSystemLearnerUUID": merged["SourceSystemLearnerUUID"], "ULN": merged["ULN"], "MessageList": []}

    # -- storage helpers --------------------------------------------------------------------------

    def _insert_candidate(self, db: sqlite_utils.Database, sandbox: str, cand: str, record: dict, units: list[str],
                          at: datetime, *, test: bool = False, assign_evaluation: bool = False,
                          seq: int | None = None) -> None:
        if seq is None:
            seq = (db.execute("SELECT max(seq) FROM la_candidates WHERE sandbox = ?", [sandbox]).fetchone()[0] or 0) + 1
        course = record["Course"]
        db["la_candidates"].insert({
            "sandbox": sandbox, "candidate_uuid": cand, "seq": seq, "course_uuid": course["CourseUUID"],
            "source_uuid": record["SourceSystemLearnerUUID"], "uln": record["ULN"], "forename": record["Forename"],
            "surname": record["Surname"], "start_date": course["StartDate"], "planned_end_date": course["PlannedEndDate"],
            "is_test": int(test), "units": dumps(units), "record": dumps(record),
            "assign_evaluation": int(assign_evaluation), "created_at": iso(at), "updated_at": iso(at)})
        db["la_history"].insert({"sandbox": sandbox, "candidate_uuid": cand, "at": iso(at), "action": "enrolled",
                                 "changes": dumps(record)})

    def _login_email(self, db: sqlite_utils.Database, sandbox: str, cand: str, record: dict, framework: dict,
                     now: datetime) -> str:
        body = (f"Dear {record['Forename']},\n\nYou have been enrolled on {framework['title']} ({framework['qan']}) "
                f"in Learning Assistant.\nYour username is {record['EmailAddress']}.\nSet your password with the link "
                "below; it expires in 24 hours. Ask your training provider to re-send it if it has expired.\n")
        return self.platform.outbox.email(db, sandbox, system=SYSTEM_NAME, subject_ref=cand, to=record["EmailAddress"],
                                          subject="Your Learning Assistant login details", body=body,
                                          link_base=LOGIN_LINK, at=now, valid_for=LINK_VALID)

    def _candidate_row(self, db: sqlite_utils.Database, sandbox: str, uuid: str) -> dict | None:
        rows = list(db.query("SELECT c.*, f.qan FROM la_candidates c LEFT JOIN la_frameworks f ON f.sandbox = c.sandbox "
                             "AND f.course_uuid = c.course_uuid WHERE c.sandbox = ? AND c.candidate_uuid = ?",
                             [sandbox, uuid]))
        return rows[0] if rows else None

    def framework(self, db: sqlite_utils.Database, sandbox: str, course_uuid: str) -> dict | None:
        rows = list(db.query("SELECT * FROM la_frameworks WHERE sandbox = ? AND course_uuid = ?", [sandbox, course_uuid]))
        return _framework(rows[0]) if rows else None

    def frameworks(self, db: sqlite_utils.Database, sandbox: str) -> list[dict]:
        return [_framework(r) for r in db.query("SELECT * FROM la_frameworks WHERE sandbox = ? ORDER BY seq", [sandbox])]

    def trainers(self, db: sqlite_utils.Database, sandbox: str) -> list[dict]:
        return list(db.query("SELECT * FROM la_trainers WHERE sandbox = ? ORDER BY seq", [sandbox]))

    def references(self, db: sqlite_utils.Database, sandbox: str) -> rules.References:
        def by_qan(qan: str) -> dict | None:
            rows = list(db.query("SELECT * FROM la_frameworks WHERE sandbox = ? AND qan = ?", [sandbox, qan]))
            return _framework(rows[0]) if rows else None

        def trainer(uuid: str) -> dict | None:
            rows = list(db.query("SELECT * FROM la_trainers WHERE sandbox = ? AND trainer_uuid = ?", [sandbox, uuid]))
            return rows[0] if rows else None

        def company(uuid: str) -> dict | None:
            return db.execute("SELECT 1 FROM la_companies WHERE sandbox = ? AND company_uuid = ?",
                              [sandbox, uuid]).fetchone()

        def enrolled(source: str, course: str) -> str | None:
            row = db.execute("SELECT candidate_uuid FROM la_candidates WHERE sandbox = ? AND source_uuid = ? "
                             "AND course_uuid = ? ORDER BY seq LIMIT 1", [sandbox, source, course]).fetchone()
            return row[0] if row else None

        return rules.References(
            framework_by_uuid=lambda uuid: self.framework(db, sandbox, uuid), framework_by_qan=by_qan,
            trainer=trainer, company=company, ethnicities=reference_ids("ethnicities"),
            nationalities=reference_ids("nationalities"), enrolled=enrolled)

    # -- progress ---------------------------------------------------------------------------------

    def auto_progress(self, db: sqlite_utils.Database, sandbox: str) -> dict[str, Any]:
        state = self.platform.sandboxes.settings(db, sandbox).get(SETTING) or {}
        return {"enabled": bool(state.get("enabled")), "frozenAt": state.get("frozenAt")}

    def auto_progress_state(self, sandbox: str) -> dict[str, Any]:
        """``{"enabled", "frozenAt"}`` for the control plane and the dashboard."""
        with self.store.read() as db:
            return self.auto_progress(db, sandbox)

    def _auto_until(self, db: sqlite_utils.Database, sandbox: str, today: date) -> date | None:
        state = self.auto_progress(db, sandbox)
        if state["enabled"]:
            return today
        return parse_datetime(state["frozenAt"]).date() if state["frozenAt"] else None

    def _progress_many(self, db: sqlite_utils.Database, sandbox: str, rows: list[dict], now: datetime) -> dict:
        """Progress of several candidates with one query for their marks and one per distinct course."""
        today = now.date()
        auto_until = self._auto_until(db, sandbox, today)
        marks: dict[str, dict[str, dict[str, str]]] = {r["candidate_uuid"]: {} for r in rows}
        ids = list(marks)
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            for m in db.execute(f"SELECT candidate_uuid, outcome_uuid, date_met, met_by FROM la_outcomes_met "
                                f"WHERE sandbox = ? AND candidate_uuid IN ({','.join('?' * len(chunk))})",
                                [sandbox, *chunk]).fetchall():
                marks[m[0]][m[1]] = {"date": m[2], "by": m[3]}
        frameworks: dict[str, dict | None] = {}
        out = {}
        for r in rows:
            if r["course_uuid"] not in frameworks:
                frameworks[r["course_uuid"]] = self.framework(db, sandbox, r["course_uuid"])
            fw = frameworks[r["course_uuid"]] or {"units": []}
            start, end = date.fromisoformat(r["start_date"]), date.fromisoformat(r["planned_end_date"])
            out[r["candidate_uuid"]] = compute_progress(fw, loads(r["units"], []), marks[r["candidate_uuid"]],
                                                        start, end, today, min(auto_until, end) if auto_until else None)
        return out

    # -- control plane and dashboard --------------------------------------------------------------

    def _summary(self, r: dict, p: dict) -> dict[str, Any]:
        return {"candidateUUID": r["candidate_uuid"], "sourceSystemLearnerUUID": r["source_uuid"],
                "forename": r["forename"], "surname": r["surname"], "uln": r["uln"], "courseUUID": r["course_uuid"],
                "courseQAN": r.get("qan"), "startDate": r["start_date"], "plannedEndDate": r["planned_end_date"],
                "status": "Completed" if p["Status"] == "COMPLETE" else "Active", "test": bool(r["is_test"]),
                "percentComplete": p["PercentComplete"], "targetPercent": p["TargetPercent"],
                "progressStatus": p["Status"], "enrolledAt": r["created_at"], "updatedAt": r["updated_at"]}

    def list_candidates(self, sandbox: str, *, limit: int = 100, offset: int = 0, course: str | None = None,
                        search: str | None = None) -> tuple[list[dict[str, Any]], int]:
        """Candidates newest first; ``course`` is a CourseUUID or QAN, ``search`` matches names, ULN or ids."""
        where, args = "c.sandbox = ?", [sandbox]
        if course:
            where += " AND (c.course_uuid = ? OR f.qan = ?)"
            args += [course, course]
        if search:
            where += " AND (c.forename LIKE ? OR c.surname LIKE ? OR c.uln = ? OR c.source_uuid = ? OR c.candidate_uuid = ?)"
            args += [f"%{search}%", f"%{search}%", search, search, search]
        with self.store.read() as db:
            total = db.execute(f"SELECT count(*) FROM la_candidates c LEFT JOIN la_frameworks f ON f.sandbox = c.sandbox "
                               f"AND f.course_uuid = c.course_uuid WHERE {where}", args).fetchone()[0]
            rows = list(db.query(f"SELECT c.*, f.qan FROM la_candidates c LEFT JOIN la_frameworks f ON "
                                 f"f.sandbox = c.sandbox AND f.course_uuid = c.course_uuid WHERE {where} "
                                 f"ORDER BY c.seq DESC LIMIT ? OFFSET ?", [*args, limit, offset]))
            progress = self._progress_many(db, sandbox, rows, self.platform.clock.now(sandbox, db))
        return [self._summary(r, progress[r["candidate_uuid"]]) for r in rows], total

    def candidate(self, sandbox: str, uuid: str) -> dict[str, Any]:
        """One candidate with the enrolment record, its history, full progress and login emails."""
        with self.store.read() as db:
            row = self._candidate_row(db, sandbox, uuid)
            if row is None:
                raise NotFound(f"candidate {uuid!r} not found", field="candidateUUID")
            now = self.platform.clock.now(sandbox, db)
            p = self._progress_many(db, sandbox, [row], now)[uuid]
            history = [{"at": h["at"], "action": h["action"], "changes": loads(h["changes"], {})} for h in db.query(
                "SELECT * FROM la_history WHERE sandbox = ? AND candidate_uuid = ? ORDER BY id", [sandbox, uuid])]
            fw = self.framework(db, sandbox, row["course_uuid"])
        emails, _ = self.platform.outbox.emails(sandbox, now, subject_ref=uuid, limit=100)
        out = self._summary(row, p)
        out.update(
            courseTitle=fw["title"] if fw else None, record=loads(row["record"], {}),
            assignEvaluation=bool(row["assign_evaluation"]), history=history, emails=emails,
            progress={"percentComplete": p["PercentComplete"], "targetPercent": p["TargetPercent"],
                      "status": p["Status"], "outcomesMet": p["OutcomesMet"], "outcomesTotal": p["OutcomesTotal"],
                      "units": [{"unitUUID": u["UnitUUID"], "unitReference": u["UnitReference"], "title": u["Title"],
                                 "mandatory": u["blnMandatory"], "percentComplete": u["PercentComplete"],
                                 "dateCompleted": u["DateCompleted"],
                                 "outcomes": [{"outcomeUUID": o["OutcomeUUID"], "reference": o["Reference"],
                                               "title": o["Title"], "met": o["blnMet"], "dateMet": o["DateMet"],
                                               "metBy": o["MetBy"]} for o in u["Outcomes"]]}
                                for u in p["Units"]]})
        return out

    def mark_outcome_met(self, sandbox: str, candidate_uuid: str, outcome_uuid: str,
                         date_met: str | None = None) -> dict[str, Any]:
        """Record that the learner met an outcome (as an assessor signs it off); idempotent."""
        with self.store.write() as db:
            row = self._candidate_row(db, sandbox, candidate_uuid)
            if row is None:
                raise NotFound(f"candidate {candidate_uuid!r} not found", field="candidateUUID")
            fw = self.framework(db, sandbox, row["course_uuid"]) or {"units": []}
            units = loads(row["units"], [])
            outcomes = {o["OutcomeUUID"] for u in fw["units"] if u["UnitUUID"] in units for o in u["Outcomes"]}
            if outcome_uuid not in outcomes:
                raise NotFound(f"outcome {outcome_uuid!r} is not an outcome of the units candidate {candidate_uuid} "
                               "is enrolled on", field="outcomeUUID")
            today = self.platform.clock.now(sandbox, db).date()
            if date_met is not None:
                day = rules.parse_date(date_met) if isinstance(date_met, str) else None
                if day is None:
                    raise Invalid(f"dateMet must be a date as yyyy-mm-dd, got {date_met!r}", field="dateMet")
                if day > today:
                    raise Invalid(f"dateMet must not be after today's sandbox date {today}, got {date_met}",
                                  field="dateMet")
            else:
                day = today
            db.execute("INSERT OR IGNORE INTO la_outcomes_met (sandbox, candidate_uuid, outcome_uuid, date_met, met_by) "
                       "VALUES (?, ?, ?, ?, 'assessor')", [sandbox, candidate_uuid, outcome_uuid, day.isoformat()])
        return self.candidate(sandbox, candidate_uuid)

    def reference(self, sandbox: str) -> dict[str, Any]:
        """The sandbox's frameworks (with units and outcomes), trainers and companies, for inspection."""
        with self.store.read() as db:
            return {"frameworks": self._op_GetFrameworks(db, sandbox, {}, None),  # type: ignore[arg-type]
                    "trainers": self._op_GetTrainers(db, sandbox, {}, None),  # type: ignore[arg-type]
                    "companies": self._op_GetCompanies(db, sandbox, {}, None)}  # type: ignore[arg-type]

    def set_auto_progress(self, sandbox: str, enabled: bool) -> dict[str, Any]:
        """On: learners follow the straight line start -> planned end as the clock moves. Off: their
        auto-credited outcomes stay where they are now (turning it on again catches them up)."""
        with self.store.write() as db:
            now = self.platform.clock.now(sandbox, db)
            state = self.auto_progress(db, sandbox)
            if enabled:
                new = {"enabled": True, "frozenAt": None}
            else:
                new = {"enabled": False, "frozenAt": iso(now) if state["enabled"] else state["frozenAt"]}
            self.platform.sandboxes.update_settings(db, sandbox, **{SETTING: new})
            return new


def _framework(row: dict) -> dict[str, Any]:
    return {"course_uuid": row["course_uuid"], "qan": row["qan"], "title": row["title"], "level": row["level"],
            "units": loads(row["units"], [])}


def failure(messages: list[rules.Message]) -> dict[str, Any]:
    return {"Success": False, "CandidateUUID": None, "SourceSystemLearnerUUID": None, "ULN": None,
            "MessageList": [m.wire() for m in messages]}


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


UPPER = ("Gender", "NationalityID", "NationalInsuranceNumber")


def normalise(user: Any) -> dict[str, Any]:
    """Strings stripped, empty -> None; NI without spaces; codes upper-case; Units a list of strings."""
    if not isinstance(user, dict):
        user = {}
    out: dict[str, Any] = {}
    for key, value in user.items():
        if key in ("Address", "Course"):
            continue
        text = _clean(value) if not isinstance(value, dict | list) else None
        if text and key in UPPER:
            text = text.replace(" ", "").upper()
        out[key] = text
    address = user.get("Address") if isinstance(user.get("Address"), dict) else {}
    out["Address"] = {k: _clean(v) for k, v in address.items() if not isinstance(v, dict | list)}
    course = user.get("Course") if isinstance(user.get("Course"), dict) else {}
    out["Course"] = {k: _clean(v) for k, v in course.items() if k != "Units" and not isinstance(v, dict | list)}
    units = course.get("Units")
    out["Course"]["Units"] = [(_clean(u) or "") for u in units if not isinstance(u, dict | list)] \
        if isinstance(units, list) and units else None
    return out


def merge(stored: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """UpdateEnrolment: a field left out or nil keeps the stored value."""
    merged = {k: v for k, v in stored.items() if k not in ("Address", "Course")}
    for key, value in given.items():
        if key in ("Address", "Course", "CandidateUUID", "CourseUUID", "BirthDate", "Forename", "Gender"):
            continue
        if value is not None:
            merged[key] = value
    merged["Address"] = {**(stored.get("Address") or {}),
                         **{k: v for k, v in (given.get("Address") or {}).items() if v is not None}}
    course = dict(stored.get("Course") or {})
    for key, value in (given.get("Course") or {}).items():
        if key in ("CourseUUID", "CourseQAN"):
            continue
        if value is not None:
            course[key] = value
    merged["Course"] = course
    return merged


def diff(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if isinstance(a, dict) or isinstance(b, dict):
            out.update(diff(a or {}, b or {}, f"{prefix}{key}."))
        elif a != b:
            out[f"{prefix}{key}"] = {"from": a, "to": b}
    return out
