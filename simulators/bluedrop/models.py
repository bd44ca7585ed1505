"""Bluedrop360's rules and state: learning records into the CMS, class and online offerings in the
MLTSD Marketplace, and what the ministry's staff and Bluedrop support do (inspection and actions).

No Flask here. Wire validation is in ``schemas.py``; the rules across fields are the ``*_rules``
functions below; matching and training status are in ``cms.py``. Every write is one transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from ..platform import errors as sim
from ..platform.sandboxes import Credential
from ..platform.store import Table, dumps, loads
from ..platform.timeutil import iso, parse_datetime
from . import cms
from .errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized, field_errors, received
from .schemas import FIELD_NAMES, IMMUTABLE, INSTANCES, PATCHABLE, load

SYSTEM_NAME = "bluedrop"
API_COLUMN = {"learningRecord": "learningRecord", "class": "classOffering", "online": "onlineOffering"}
WHAT = {"class": "class offering", "online": "online offering"}
POSTAL = re.compile(r"^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d$", re.IGNORECASE)
PROVINCES = ("AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT")
CANADA = ("canada", "ca", "can")
MATCH_STATES = ("matched", "queued", "newLearner")

LEARNERS = Table(
    name="bluedrop_learners",
    columns={"learner_id": str, "seq": int, "firstname": str, "lastname": str, "birth_year": int,
             "name_key": str, "contacts": str, "created_at": str, "created_by_network": str,
             "created_from_record": str},
    pk=("learner_id",),
    indexes=(("name_key", "seq"), ("seq",)),
    version=2,
    migrations={2: ["CREATE INDEX IF NOT EXISTS idx_bluedrop_learners_sandbox_name_key_seq "
                    "ON bluedrop_learners (sandbox, name_key, seq)"]},
)
RECORDS = Table(
    name="bluedrop_records",
    columns={"network_key": str, "record_id": str, "seq": int, "body": str, "body_hash": str,
             "standard_key": str, "completion_date": str, "learner_id": str, "match_state": str,
             "matched_by": str, "queue_reason": str, "candidates": str, "flags": str, "voided": int,
             "void_reason": str, "history": str, "received_at": str, "updated_at": str},
    pk=("network_key", "record_id"),
    indexes=(("seq",), ("learner_id",), ("match_state", "voided", "seq"), ("record_id",)),
)
OFFERINGS = Table(
    name="bluedrop_offerings",
    columns={"kind": str, "network_key": str, "offering_id": str, "generation": int, "data": str,
             "deleted": int, "first_start": str, "created_at": str, "updated_at": str, "deleted_at": str},
    pk=("kind", "network_key", "offering_id", "generation"),
    indexes=(("kind", "network_key", "offering_id", "deleted"), ("deleted", "kind", "first_start")),
)
TABLES = [LEARNERS, RECORDS, OFFERINGS]


# -- authentication -------------------------------------------------------------------------------

def parse_authorization(header: str | None) -> dict[str, str]:
    """``bln type=api,version=1,entity=network,key=K,secret=S[,token=T]`` → its parameters (any order,
    spaces tolerated). Raises Unauthorized naming what is missing."""
    text = (header or "").strip()
    if not text:
        raise Unauthorized("Authorization header is required: bln type=api,version=1,entity=network,"
                           "key=<apiKey>,secret=<apiSecret>")
    scheme, _, rest = text.partition(" ")
    if scheme.lower() != "bln":
        raise Unauthorized(f"Authorization scheme must be bln; received {received(scheme)}")
    params: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.partition("=")
        if sep:
            params[name.strip().lower()] = value.strip()
    missing = [p for p in ("key", "secret") if not params.get(p)]
    if missing:
        raise Unauthorized(f"Authorization must carry {' and '.join(missing)}= (bln type=api,version=1,"
                           "entity=network,key=<apiKey>,secret=<apiSecret>)")
    for name, expected in (("type", "api"), ("entity", "network")):
        if name in params and params[name].lower() != expected:
            raise Unauthorized(f"Authorization {name} must be {expected}; received {received(params[name])}")
    return params


def clean_wire(value: Any) -> Any:
    """Loaded data back to its stored wire form: datetimes as ``2026-05-04T13:00:00.000Z``."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: clean_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_wire(v) for v in value]
    return value


def body_hash(clean: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(clean, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# -- rules across fields --------------------------------------------------------------------------

class Errors:
    """Failing fields in order; a key already failing is not reported twice."""

    def __init__(self, pairs: list[tuple[str, str]] | None = None) -> None:
        self.pairs: list[tuple[str, str]] = list(pairs or [])

    def keys(self) -> set[str]:
        return {k for k, _ in self.pairs}

    def failing(self, key: str) -> bool:
        return any(k == key or k.startswith(key + ".") for k, _ in self.pairs)

    def add(self, key: str, message: str) -> None:
        if key not in self.keys():
            self.pairs.append((key, message))

    def in_body_order(self, kind: str) -> Errors:
        """Order the failing fields as the body's fields are declared (stable within a field)."""
        if self.pairs:
            names = FIELD_NAMES[kind]
            self.pairs.sort(key=lambda pair: names.index(pair[0].split(".")[0]) if pair[0].split(".")[0] in names
                            else -1)
        return self

    def raise_if_any(self) -> None:
        if self.pairs:
            raise Invalid(field_errors(self.pairs))


def key_rules(api: str, data: dict[str, Any], errs: Errors) -> dict[str, Any] | None:
    """The trainingStandardKey against the API's column of the catalogue."""
    key = data.get("trainingStandardKey")
    if key is None:
        return None
    row = cms.standard(key)
    if row is None:
        errs.add("trainingStandardKey", f"unknown trainingStandardKey: not in the catalogue of "
                                        f"{len(cms.catalogue())} keys (e.g. WAH-E-I, JHSC-2014-1-E-O); "
                                        f"received {received(key)}")
        return None
    if not row[API_COLUMN[api]]:
        others = cms.accepted_by(key)
        name = cms.API_NAMES[API_COLUMN[api]]
        errs.add("trainingStandardKey", f"{key} is not accepted by the {name}; it is accepted by the "
                                        f"{' and the '.join(others)}; received {received(key)}")
        return None
    return row


def address_rules(prefix: str, address: dict[str, Any] | None, errs: Errors, required: tuple[str, ...] = ()) -> None:
    if address is None:
        return
    for name in required:
        if name not in address:
            errs.add(f"{prefix}.{name}", "is required; received nothing")
    country = address.get("country-name")
    if not country or cms.normalise(country) not in CANADA:
        return
    postal, region = address.get("postal-code"), address.get("region")
    if postal is None:
        errs.add(f"{prefix}.postal-code", "is required when country-name is Canada; received nothing")
    elif not POSTAL.match(postal):
        errs.add(f"{prefix}.postal-code", f"must be a Canadian postal code such as K1A 0B1 (space optional) when "
                                          f"country-name is Canada; received {received(postal)}")
    if region is None:
        errs.add(f"{prefix}.region", "is required when country-name is Canada; received nothing")
    elif region.upper() not in PROVINCES:
        errs.add(f"{prefix}.region", f"must be a province or territory code ({', '.join(PROVINCES)}) when "
                                     f"country-name is Canada; received {received(region)}")


def learning_record_rules(data: dict[str, Any], raw: dict[str, Any], now: datetime, errs: Errors) -> None:
    row = key_rules("learningRecord", data, errs)
    done = data.get("completionDate")
    if done is not None:
        if done > now:
            errs.add("completionDate", f"must not be after the current time {iso(now)}; received "
                                       f"{received(raw.get('completionDate'))}")
        elif row and row["kind"].startswith("wah") and done < cms.WAH_STANDARD_START:
            errs.add("completionDate", f"must not be before 2015-04-01 (the Working at Heights standard's "
                                       f"start) for {row['key']}; received {received(raw.get('completionDate'))}")
    learner = data.get("learner")
    if learner is None:
        return
    year = learner.get("birthYear")
    if year is not None and done is not None:
        age = done.year - year
        if not 14 <= age <= 100:
            errs.add("learner.birthYear", f"learner must be 14 to 100 years old in the completion year "
                                          f"{done.year}; received {year} (age {age})")
    contact_keys = ("personalEmail", "mobilePhone", "homePhone")
    if not any(k in learner for k in contact_keys) and not any(errs.failing(f"learner.{k}") for k in contact_keys):
        errs.add("learner", "at least one contact is required (personalEmail, mobilePhone or homePhone): the "
                            "ministry matches learners on it; received none")
    address_rules("learner.address", learner.get("address"), errs)


def class_offering_rules(data: dict[str, Any], errs: Errors) -> None:
    row = key_rules("class", data, errs)
    method = data.get("deliveryMethod")
    if row and method:
        letter = row["modeLetter"]
        expected = cms.MODES[letter]
        if method != expected:
            errs.add("deliveryMethod", f"must be {expected} for trainingStandardKey {row['key']} (mode letter "
                                       f"{letter}); received {received(method)}")
    if method in ("in-person", "blended") and "address" not in data and not errs.failing("address"):
        errs.add("address", f"is required when deliveryMethod is {method}; received nothing")
    address_rules("address", data.get("address"), errs, required=("street-address", "locality"))
    if method == "virtual" and "virtualClassUrl" not in data and not errs.failing("virtualClassUrl"):
        errs.add("virtualClassUrl", "is required when deliveryMethod is virtual; received nothing")
    if not data.get("contactForPricing") and "price" not in data and not errs.failing("price"):
        errs.add("price", "is required unless contactForPricing is true; received nothing")
    events = data.get("events")
    if not isinstance(events, list):
        return
    sound = []
    for i, event in enumerate(events):
        if not event or "start" not in event or "end" not in event:
            continue
        start, end = event["start"], event["end"]
        if end <= start:
            errs.add(f"events.{i}.end", f"must be after the session's start {iso(start)}; received {iso(end)}")
        elif end - start > timedelta(hours=24):
            hours = (end - start).total_seconds() / 3600
            errs.add(f"events.{i}.end", f"a session lasts at most 24 hours; received {iso(end)} "
                                        f"({hours:g} hours after its start {iso(start)})")
        else:
            sound.append((start, end, i))
    sound.sort()
    for (a_start, a_end, a), (b_start, _b_end, b) in zip(sound, sound[1:], strict=False):
        if b_start < a_end:
            errs.add(f"events.{b}.start", f"sessions must not overlap: overlaps events.{a} ({iso(a_start)} to "
                                          f"{iso(a_end)}); received {iso(b_start)}")


def online_offering_rules(data: dict[str, Any], errs: Errors) -> None:
    key_rules("online", data, errs)


def validate(kind: str, raw: dict[str, Any], now: datetime, *, partial: tuple[str, ...] | bool = False
             ) -> tuple[dict[str, Any], Errors]:
    data, pairs = load(kind, raw, partial=partial)
    errs = Errors(pairs)
    if kind == "learningRecord":
        learning_record_rules(data, raw, now, errs)
    elif kind == "class":
        class_offering_rules(data, errs)
    else:
        online_offering_rules(data, errs)
    return data, errs.in_body_order(kind)


def first_start(kind: str, clean: dict[str, Any]) -> str | None:
    if kind != "class" or not clean.get("events"):
        return None
    return min(e["start"] for e in clean["events"])


# -- the backend ----------------------------------------------------------------------------------

class Bluedrop:
    """One object per app, state in the platform's store; every method names the sandbox."""

    def __init__(self, platform: Any) -> None:
        self.platform = platform
        self.store = platform.store

    # -- credentials --------------------------------------------------------------------------------

    def authenticate(self, header: str | None) -> Credential:
        params = parse_authorization(header)
        cred = self.platform.sandboxes.lookup(SYSTEM_NAME, params["key"])
        if cred is None or not hmac.compare_digest(cred.secret.encode(), params["secret"].encode()):
            raise Unauthorized("unknown API key or wrong secret")
        return cred

    @staticmethod
    def own_network(cred: Credential, given: Any, where: str = "networkKey") -> None:
        own = cred.data.get("networkKey")
        if isinstance(given, str) and given.strip() != own:
            message = (f"networkKey {given.strip()!r} is not this API key's network ({own}); a provider may only "
                       f"write to its own network")
            raise Forbidden(message, field_errors([(where, message)]))

    def now(self, sandbox: str, db: sqlite_utils.Database | None = None) -> datetime:
        return self.platform.clock.now(sandbox, db)

    # -- Learning Record API ------------------------------------------------------------------------

    def create_learning_record(self, cred: Credential, raw: dict[str, Any]) -> None:
        self.own_network(cred, raw.get("networkKey"))
        sandbox, network = cred.sandbox, cred.data["networkKey"]
        data, errs = validate("learningRecord", raw, self.now(sandbox))
        errs.raise_if_any()
        clean = clean_wire(data)
        digest = body_hash(clean)
        with self.store.write() as db:
            now = self.now(sandbox, db)
            existing = db.execute("SELECT body_hash FROM bluedrop_records WHERE sandbox = ? AND network_key = ? "
                                  "AND record_id = ?", [sandbox, network, clean["learningRecordId"]]).fetchone()
            if existing is not None:
                if existing[0] == digest:
                    return  # an identical retry
                message = ("learning record already exists; records can only be voided or updated by Bluedrop "
                           "support")
                raise Conflict(message, field_errors([("learningRecordId", f"{clean['learningRecordId']!r} was "
                                                       f"already submitted by {network} with a different body")]))
            self.insert_record(db, sandbox, network, clean, digest, now)

    def insert_record(self, db: sqlite_utils.Database, sandbox: str, network: str, clean: dict[str, Any],
                      digest: str, now: datetime) -> str:
        learner = clean["learner"]
        found = cms.find_match(db, sandbox, learner)
        state, learner_id = found["state"], found.get("learnerId")
        if state == "newLearner":
            learner_id = cms.create_learner(db, sandbox, learner, network_key=network,
                                            record_id=clean["learningRecordId"], at=now)
        elif state == "matched":
            cms.add_contacts(db, sandbox, learner_id, learner)
        event = {"at": iso(now), "action": "received", "by": network, "matchState": state}
        if learner_id:
            event["learnerId"] = learner_id
        if state == "queued":
            event["queueReason"] = found["reason"]
        db["bluedrop_records"].insert({
            "sandbox": sandbox, "network_key": network, "record_id": clean["learningRecordId"],
            "seq": cms.next_seq(db, "bluedrop_records", sandbox), "body": dumps(clean), "body_hash": digest,
            "standard_key": clean["trainingStandardKey"], "completion_date": clean["completionDate"],
            "learner_id": learner_id, "match_state": state, "matched_by": "cms" if learner_id else None,
            "queue_reason": found.get("reason"), "candidates": dumps(found.get("candidates") or []),
            "flags": "[]", "voided": 0, "void_reason": None, "history": dumps([event]),
            "received_at": iso(now), "updated_at": iso(now)})
        cms.refresh_flags(db, sandbox, learner_id)
        return state

    # -- Class and Online Offering APIs ---------------------------------------------------------------

    def _active(self, db: sqlite_utils.Database, sandbox: str, kind: str, network: str,
                offering_id: str) -> dict[str, Any] | None:
        rows = list(db.query("SELECT * FROM bluedrop_offerings WHERE sandbox = ? AND kind = ? AND network_key = ? "
                             "AND offering_id = ? AND deleted = 0", [sandbox, kind, network, offering_id]))
        return rows[0] if rows else None

    def create_offering(self, kind: str, cred: Credential, raw: dict[str, Any]) -> None:
        self.own_network(cred, raw.get("networkKey"))
        sandbox, network = cred.sandbox, cred.data["networkKey"]
        data, errs = validate(kind, raw, self.now(sandbox))
        errs.raise_if_any()
        clean = clean_wire(data)
        clean.pop("networkKey", None)
        with self.store.write() as db:
            now = iso(self.now(sandbox, db))
            oid = clean["offeringId"]
            if self._active(db, sandbox, kind, network, oid) is not None:
                path = "class-offerings" if kind == "class" else "online-offerings"
                message = f"{WHAT[kind]} {oid!r} already exists in network {network}; change it with PATCH"
                raise Conflict(message, field_errors([("offeringId", f"{oid!r} is already listed; PATCH "
                                                                     f"/api-v2/{path}/{oid} to change it")]))
            generation = db.execute("SELECT count(*) FROM bluedrop_offerings WHERE sandbox = ? AND kind = ? AND "
                                    "network_key = ? AND offering_id = ?", [sandbox, kind, network, oid]).fetchone()[0]
            db["bluedrop_offerings"].insert({
                "sandbox": sandbox, "kind": kind, "network_key": network, "offering_id": oid,
                "generation": generation, "data": dumps(clean), "deleted": 0,
                "first_start": first_start(kind, clean), "created_at": now, "updated_at": now, "deleted_at": None})

    def update_offering(self, kind: str, cred: Credential, offering_id: str, raw: dict[str, Any]) -> None:
        self.own_network(cred, raw.get("networkKey"))
        sandbox, network = cred.sandbox, cred.data["networkKey"]
        with self.store.write() as db:
            row = self._active(db, sandbox, kind, network, offering_id)
            if row is None:
                raise self._not_found(kind, network, offering_id)
            stored = loads(row["data"], {})
            schema_fields = tuple(n for n in FIELD_NAMES[kind] if n != "networkKey")
            patch, pairs = load(kind, raw, partial=schema_fields)
            errs = Errors(pairs)
            for name in IMMUTABLE[kind]:
                if name in raw and not errs.failing(name) and patch.get(name) != stored.get(name):
                    errs.add(name, f"cannot be changed by PATCH: the offering has {received(stored.get(name))}; "
                                   f"received {received(raw[name])}")
            merged = dict(stored)
            merged["networkKey"] = network
            optional = {n for n, f in INSTANCES[kind].fields.items() if not f.required}
            for name in PATCHABLE[kind]:
                if name not in raw or errs.failing(name):
                    continue
                if name in optional and (raw[name] is None or (isinstance(raw[name], str) and not raw[name].strip())):
                    merged.pop(name, None)
                elif name in patch:
                    merged[name] = clean_wire(patch[name])
            data, merged_errs = validate(kind, merged, self.now(sandbox, db))
            for key, message in merged_errs.pairs:
                errs.add(key, message)
            errs.in_body_order(kind).raise_if_any()
            clean = clean_wire(data)
            clean.pop("networkKey", None)
            db.execute("UPDATE bluedrop_offerings SET data = ?, first_start = ?, updated_at = ? WHERE sandbox = ? "
                       "AND kind = ? AND network_key = ? AND offering_id = ? AND generation = ?",
                       [dumps(clean), first_start(kind, clean), iso(self.now(sandbox, db)), sandbox, kind,
                        network, offering_id, row["generation"]])

    def delete_offering(self, kind: str, cred: Credential, offering_id: str, network_query: str | None) -> None:
        if network_query is not None:
            self.own_network(cred, network_query)
        sandbox, network = cred.sandbox, cred.data["networkKey"]
        with self.store.write() as db:
            row = self._active(db, sandbox, kind, network, offering_id)
            if row is None:
                raise self._not_found(kind, network, offering_id)
            now = iso(self.now(sandbox, db))
            db.execute("UPDATE bluedrop_offerings SET deleted = 1, deleted_at = ?, updated_at = ? WHERE sandbox = ? "
                       "AND kind = ? AND network_key = ? AND offering_id = ? AND generation = ?",
                       [now, now, sandbox, kind, network, offering_id, row["generation"]])

    @staticmethod
    def _not_found(kind: str, network: str, offering_id: str) -> NotFound:
        message = f"no {WHAT[kind]} {offering_id!r} in network {network} (never added, or deleted)"
        return NotFound(message, field_errors([("offeringId", message)]))

    # -- inspection: learning records -----------------------------------------------------------------

    def _record_rows(self, db: sqlite_utils.Database, sandbox: str, record_id: str,
                     network_key: str | None) -> dict[str, Any]:
        sql, args = "SELECT * FROM bluedrop_records WHERE sandbox = ? AND record_id = ?", [sandbox, record_id]
        if network_key:
            sql, args = sql + " AND network_key = ?", args + [network_key]
        rows = list(db.query(sql, args))
        if not rows:
            where = f" in network {network_key}" if network_key else ""
            raise sim.NotFound(f"no learning record {record_id!r}{where}", field="learningRecordId")
        if len(rows) > 1:
            networks = ", ".join(sorted(r["network_key"] for r in rows))
            raise sim.Invalid(f"learning record {record_id!r} exists in several networks ({networks}); add "
                              f"?networkKey= to say which", field="networkKey")
        return rows[0]

    def _candidates(self, db: sqlite_utils.Database, sandbox: str, ids: list[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = {r["learner_id"]: r for r in db.query(
            f"SELECT * FROM bluedrop_learners WHERE sandbox = ? AND learner_id IN ({marks})", [sandbox, *ids])}
        return [self._learner_summary(rows[i]) for i in ids if i in rows]

    def record_view(self, db: sqlite_utils.Database, row: dict[str, Any], *, detail: bool = True) -> dict[str, Any]:
        body = loads(row["body"], {})
        std = cms.standard(row["standard_key"]) or {}
        out = {
            "learningRecordId": row["record_id"], "networkKey": row["network_key"],
            "trainingStandardKey": row["standard_key"], "courseName": std.get("courseName"),
            "completionDate": row["completion_date"],
            "expiryDate": cms.expiry_of(row["standard_key"], row["completion_date"]),
            "externalClassId": body.get("externalClassId"), "instructorNames": body.get("instructorNames"),
            "evaluatorNames": body.get("evaluatorNames"), "learner": body.get("learner"),
            "matchState": row["match_state"], "matchedBy": row["matched_by"], "learnerId": row["learner_id"],
            "queueReason": row["queue_reason"], "flags": loads(row["flags"], []),
            "flagDetails": [{"flag": f, "message": cms.FLAG_MESSAGES.get(f, f)} for f in loads(row["flags"], [])],
            "voided": bool(row["voided"]), "voidReason": row["void_reason"],
            "receivedAt": row["received_at"], "updatedAt": row["updated_at"],
        }
        if row["match_state"] == "queued" and detail:
            out["candidates"] = self._candidates(db, row["sandbox"], loads(row["candidates"], []))
        if detail:
            out["history"] = loads(row["history"], [])
        return out

    def list_records(self, sandbox: str, limit: int = 100, offset: int = 0, *, network_key: str | None = None,
                     match_state: str | None = None, learner_id: str | None = None, voided: bool | None = None,
                     queue_only: bool = False) -> tuple[list[dict[str, Any]], int]:
        where, args = ["sandbox = ?"], [sandbox]
        if queue_only:
            match_state, voided = "queued", False
        for column, value in (("network_key", network_key), ("match_state", match_state),
                              ("learner_id", learner_id)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if voided is not None:
            where.append("voided = ?")
            args.append(1 if voided else 0)
        clause = " AND ".join(where)
        with self.store.read() as db:
            total = db.execute(f"SELECT count(*) FROM bluedrop_records WHERE {clause}", args).fetchone()[0]
            rows = list(db.query(f"SELECT * FROM bluedrop_records WHERE {clause} ORDER BY seq DESC LIMIT ? OFFSET ?",
                                 [*args, limit, offset]))
            return [self.record_view(db, r) for r in rows], total

    def get_record(self, sandbox: str, record_id: str, network_key: str | None = None) -> dict[str, Any]:
        with self.store.read() as db:
            return self.record_view(db, self._record_rows(db, sandbox, record_id, network_key))

    def _history(self, db: sqlite_utils.Database, row: dict[str, Any], event: dict[str, Any], **columns: Any) -> None:
        history = loads(row["history"], []) + [event]
        sets = {"history": dumps(history), "updated_at": event["at"], **columns}
        assignments = ", ".join(f"{k} = ?" for k in sets)
        db.execute(f"UPDATE bluedrop_records SET {assignments} WHERE sandbox = ? AND network_key = ? AND record_id = ?",
                   [*sets.values(), row["sandbox"], row["network_key"], row["record_id"]])

    @staticmethod
    def _reason(reason: Any) -> str:
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 1000:
            raise sim.Invalid(f"reason must be a non-blank string of at most 1000 characters, got {reason!r}",
                              field="reason")
        return reason.strip()

    def void(self, sandbox: str, record_id: str, reason: Any, network_key: str | None = None) -> dict[str, Any]:
        """Support desk: void a record (it leaves the learner's training and the match queue)."""
        reason = self._reason(reason)
        with self.store.write() as db:
            row = self._record_rows(db, sandbox, record_id, network_key)
            if row["voided"]:
                raise sim.Conflict(f"learning record {record_id!r} is already voided", field="learningRecordId")
            now = iso(self.now(sandbox, db))
            self._history(db, row, {"at": now, "action": "void", "by": "bluedropSupport", "reason": reason},
                          voided=1, void_reason=reason)
            cms.refresh_flags(db, sandbox, row["learner_id"])
            return self.record_view(db, self._record_rows(db, sandbox, record_id, row["network_key"]))

    def correct(self, sandbox: str, record_id: str, changes: Any, reason: Any,
                network_key: str | None = None) -> dict[str, Any]:
        """Support desk: correct fields of a record (re-validated whole), keeping what changed and why."""
        reason = self._reason(reason)
        if not isinstance(changes, dict) or not changes:
            raise sim.Invalid(f"fields must be a non-empty object of the fields to correct, got {changes!r}",
                              field="fields")
        for name in ("learningRecordId", "networkKey"):
            if name in changes:
                raise sim.Invalid(f"{name} cannot be corrected (it identifies the record)", field=f"fields.{name}")
        with self.store.write() as db:
            row = self._record_rows(db, sandbox, record_id, network_key)
            if row["voided"]:
                raise sim.Conflict(f"learning record {record_id!r} is voided and cannot be corrected",
                                   field="learningRecordId")
            before = loads(row["body"], {})
            merged = deep_merge(before, expand_dotted(changes))
            data, errs = validate("learningRecord", merged, self.now(sandbox, db))
            if errs.pairs:
                raise sim.Invalid("corrected record fails validation: " + "; ".join(f"{k}: {m}" for k, m in errs.pairs),
                                  field=f"fields.{errs.pairs[0][0]}", errors=field_errors(errs.pairs))
            after = clean_wire(data)
            diff = diff_fields(before, after)
            if not diff:
                raise sim.Invalid("fields change nothing in the record", field="fields")
            now = iso(self.now(sandbox, db))
            self._history(db, row, {"at": now, "action": "correct", "by": "bluedropSupport", "reason": reason,
                                    "changes": diff},
                          body=dumps(after), standard_key=after["trainingStandardKey"],
                          completion_date=after["completionDate"])
            cms.refresh_flags(db, sandbox, row["learner_id"])
            return self.record_view(db, self._record_rows(db, sandbox, record_id, row["network_key"]))

    # -- ministry admin: the manual match queue -------------------------------------------------------

    def _queued(self, db: sqlite_utils.Database, sandbox: str, record_id: str,
                network_key: str | None) -> dict[str, Any]:
        row = self._record_rows(db, sandbox, record_id, network_key)
        if row["voided"]:
            raise sim.Conflict(f"learning record {record_id!r} is voided", field="learningRecordId")
        if row["match_state"] != "queued":
            raise sim.Conflict(f"learning record {record_id!r} is not in the match queue (matchState "
                               f"{row['match_state']}, learner {row['learner_id']})", field="learningRecordId")
        return row

    def match(self, sandbox: str, record_id: str, learner_id: Any, network_key: str | None = None) -> dict[str, Any]:
        if not isinstance(learner_id, str) or not learner_id.strip():
            raise sim.Invalid(f"learnerId must be a learner's id such as LRN-0000001, got {learner_id!r}",
                              field="learnerId")
        with self.store.write() as db:
            row = self._queued(db, sandbox, record_id, network_key)
            if not db.execute("SELECT 1 FROM bluedrop_learners WHERE sandbox = ? AND learner_id = ?",
                              [sandbox, learner_id]).fetchone():
                raise sim.NotFound(f"no learner {learner_id!r}", field="learnerId")
            cms.add_contacts(db, sandbox, learner_id, loads(row["body"], {})["learner"])
            now = iso(self.now(sandbox, db))
            self._history(db, row, {"at": now, "action": "match", "by": "ministryAdmin", "learnerId": learner_id},
                          learner_id=learner_id, match_state="matched", matched_by="ministryAdmin")
            cms.refresh_flags(db, sandbox, learner_id)
            return self.record_view(db, self._record_rows(db, sandbox, record_id, row["network_key"]))

    def create_learner_for(self, sandbox: str, record_id: str, network_key: str | None = None) -> dict[str, Any]:
        with self.store.write() as db:
            row = self._queued(db, sandbox, record_id, network_key)
            now = self.now(sandbox, db)
            learner_id = cms.create_learner(db, sandbox, loads(row["body"], {})["learner"],
                                            network_key=row["network_key"], record_id=record_id, at=now)
            self._history(db, row, {"at": iso(now), "action": "createLearner", "by": "ministryAdmin",
                                    "learnerId": learner_id},
                          learner_id=learner_id, match_state="newLearner", matched_by="ministryAdmin")
            cms.refresh_flags(db, sandbox, learner_id)
            return self.record_view(db, self._record_rows(db, sandbox, record_id, row["network_key"]))

    # -- inspection: learners ---------------------------------------------------------------------------

    @staticmethod
    def _learner_summary(row: dict[str, Any]) -> dict[str, Any]:
        return {"learnerId": row["learner_id"], "firstname": row["firstname"], "lastname": row["lastname"],
                "birthYear": row["birth_year"], "contacts": loads(row["contacts"], {}),
                "createdAt": row["created_at"], "createdByNetwork": row["created_by_network"]}

    def _training(self, db: sqlite_utils.Database, sandbox: str, learner_ids: list[str],
                  now: datetime) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {i: [] for i in learner_ids}
        if not learner_ids:
            return out
        marks = ",".join("?" * len(learner_ids))
        for r in db.query(f"SELECT learner_id, network_key, record_id, standard_key, completion_date, flags "
                          f"FROM bluedrop_records WHERE sandbox = ? AND learner_id IN ({marks}) AND voided = 0 "
                          f"ORDER BY completion_date, seq", [sandbox, *learner_ids]):
            expiry = cms.expiry_of(r["standard_key"], r["completion_date"])
            out[r["learner_id"]].append({
                "trainingStandardKey": r["standard_key"],
                "courseName": (cms.standard(r["standard_key"]) or {}).get("courseName"),
                "completionDate": r["completion_date"], "expiryDate": expiry,
                "status": "valid" if expiry is None or parse_datetime(expiry) > now else "expired",
                "learningRecordId": r["record_id"], "networkKey": r["network_key"], "flags": loads(r["flags"], [])})
        return out

    def list_learners(self, sandbox: str, limit: int = 100, offset: int = 0,
                      name: str | None = None) -> tuple[list[dict[str, Any]], int]:
        where, args = "sandbox = ?", [sandbox]
        if name:
            where += " AND name_key LIKE ?"
            args.append(f"%{cms.normalise(name)}%")
        with self.store.read() as db:
            now = self.now(sandbox, db)
            total = db.execute(f"SELECT count(*) FROM bluedrop_learners WHERE {where}", args).fetchone()[0]
            rows = list(db.query(f"SELECT * FROM bluedrop_learners WHERE {where} ORDER BY seq LIMIT ? OFFSET ?",
                                 [*args, limit, offset]))
            training = self._training(db, sandbox, [r["learner_id"] for r in rows], now)
            return [{**self._learner_summary(r), "training": training[r["learner_id"]]} for r in rows], total

    def get_learner(self, sandbox: str, learner_id: str) -> dict[str, Any]:
        with self.store.read() as db:
            rows = list(db.query("SELECT * FROM bluedrop_learners WHERE sandbox = ? AND learner_id = ?",
                                 [sandbox, learner_id]))
            if not rows:
                raise sim.NotFound(f"no learner {learner_id!r}", field="learnerId")
            training = self._training(db, sandbox, [learner_id], self.now(sandbox, db))
            return {**self._learner_summary(rows[0]), "training": training[learner_id]}

    # -- inspection: offerings and the Marketplace ------------------------------------------------------

    @staticmethod
    def offering_view(row: dict[str, Any]) -> dict[str, Any]:
        data = loads(row["data"], {})
        return {"offeringId": row["offering_id"], "networkKey": row["network_key"], **data,
                "deleted": bool(row["deleted"]), "createdAt": row["created_at"], "updatedAt": row["updated_at"],
                "deletedAt": row["deleted_at"]}

    def list_offerings(self, sandbox: str, kind: str, limit: int = 100, offset: int = 0, *,
                       network_key: str | None = None, deleted: bool | None = None) -> tuple[list[dict], int]:
        where, args = ["sandbox = ?", "kind = ?"], [sandbox, kind]
        if network_key is not None:
            where.append("network_key = ?")
            args.append(network_key)
        if deleted is not None:
            where.append("deleted = ?")
            args.append(1 if deleted else 0)
        clause = " AND ".join(where)
        with self.store.read() as db:
            total = db.execute(f"SELECT count(*) FROM bluedrop_offerings WHERE {clause}", args).fetchone()[0]
            rows = list(db.query(f"SELECT * FROM bluedrop_offerings WHERE {clause} ORDER BY created_at, network_key, "
                                 f"offering_id, generation LIMIT ? OFFSET ?", [*args, limit, offset]))
        return [self.offering_view(r) for r in rows], total

    def marketplace(self, sandbox: str, limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
        """What the public sees: offerings not deleted; classes only when their first session starts after
        the end of today (sandbox clock, UTC), soonest first; online offerings (evergreen) after them."""
        with self.store.read() as db:
            now = self.now(sandbox, db)
            tomorrow = iso(now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1))
            clause = ("sandbox = ? AND deleted = 0 AND ((kind = 'class' AND first_start >= ?) OR kind = 'online')")
            args = [sandbox, tomorrow]
            total = db.execute(f"SELECT count(*) FROM bluedrop_offerings WHERE {clause}", args).fetchone()[0]
            rows = list(db.query(f"SELECT * FROM bluedrop_offerings WHERE {clause} ORDER BY kind = 'online', "
                                 f"first_start, network_key, offering_id LIMIT ? OFFSET ?", [*args, limit, offset]))
        return [marketplace_item(r) for r in rows], total


def marketplace_item(row: dict[str, Any]) -> dict[str, Any]:
    data = loads(row["data"], {})
    std = cms.standard(data.get("trainingStandardKey", "")) or {}
    item: dict[str, Any] = {
        "type": row["kind"], "offeringId": row["offering_id"], "networkKey": row["network_key"],
        "trainingStandardKey": data.get("trainingStandardKey"), "courseName": data.get("courseName"),
        "standardCourseName": std.get("courseName"), "language": std.get("language"),
        "deliveryMethod": data.get("deliveryMethod", "online"),
        "price": data.get("price"), "contactForPricing": bool(data.get("contactForPricing")),
        "priceLabel": ("Contact for pricing" if data.get("contactForPricing") and data.get("price") is None
                       else f"${data.get('price', 0):,.2f}"),
        "externalRegistrationUrl": data.get("externalRegistrationUrl"),
    }
    if row["kind"] == "class":
        seats = data.get("seatsRemaining", 0)
        item.update({"seatsRemaining": seats, "full": seats == 0,
                     "availability": "Full" if seats == 0 else f"{seats} seat{'s' if seats != 1 else ''} remaining",
                     "firstSessionStart": row["first_start"], "events": data.get("events", []),
                     "address": data.get("address")})
    else:
        item.update({"courseDuration": data.get("courseDuration"), "availability": "Available online"})
    return item


def expand_dotted(changes: dict[str, Any]) -> dict[str, Any]:
    """``{"learner.address.postal-code": v}`` → ``{"learner": {"address": {"postal-code": v}}}`` (both forms work)."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        parts = str(key).split(".")
        target = out
        for part in parts[:-1]:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[parts[-1]] = expand_dotted(value) if isinstance(value, dict) else value
    return out


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        elif value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def diff_fields(before: Any, after: Any, prefix: str = "") -> dict[str, dict[str, Any]]:
    if isinstance(before, dict) and isinstance(after, dict):
        out: dict[str, dict[str, Any]] = {}
        for key in list(before) + [k for k in after if k not in before]:
            out.update(diff_fields(before.get(key), after.get(key), f"{prefix}.{key}" if prefix else key))
        return out
    return {} if before == after else {prefix: {"from": before, "to": after}}
