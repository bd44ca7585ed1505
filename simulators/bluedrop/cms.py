"""The ministry's Certificate Management System behind the Learning Record API.

Learner matching across every network of a sandbox, training entries with expiry, and the flags the
ministry sees (never a rejection). Pure rules over rows; the transaction is the caller's.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from functools import cache
from typing import Any

import sqlite_utils

from ..platform.sandboxes import fixture
from ..platform.store import dumps, loads
from ..platform.timeutil import iso, parse_datetime

FLAG_REFRESHER = "refresherWithoutFullCourse"
FLAG_JHSC_PART2 = "jhscPart2WithoutTimelyPart1"
FLAG_MESSAGES = {
    FLAG_REFRESHER: "WAH refresher for a learner with no full Working at Heights course on file",
    FLAG_JHSC_PART2: "JHSC 2014 Part 2 with no Part 1 on file in the 6 months before it",
}
WAH_STANDARD_START = datetime(2015, 4, 1, tzinfo=UTC)


# -- the catalogue --------------------------------------------------------------------------------

@cache
def catalogue() -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in fixture("bluedrop_standards")["standards"]}


API_NAMES: dict[str, str] = fixture("bluedrop_standards")["apis"]
MODES: dict[str, str] = fixture("bluedrop_standards")["modes"]


def standard(key: str) -> dict[str, Any] | None:
    return catalogue().get(key)


def accepted_by(key: str) -> list[str]:
    row = standard(key)
    return [name for column, name in API_NAMES.items() if row and row.get(column)]


# -- normalisation and matching -------------------------------------------------------------------

def normalise(text: str) -> str:
    """Case, accents and spaces do not tell two people apart: ' Zoé ' == 'zoe'."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def name_key(first: str, last: str, birth_year: int) -> str:
    return f"{normalise(first)}|{normalise(last)}|{birth_year}"


def contacts(learner: dict[str, Any]) -> dict[str, list[str]]:
    """The contacts the ministry matches on: email, either phone, postal code (normalised)."""
    address = learner.get("address") or {}
    email = (learner.get("personalEmail") or "").strip().casefold()
    phones = [p for p in (learner.get("mobilePhone"), learner.get("homePhone")) if p]
    postal = "".join((address.get("postal-code") or "").split()).upper()
    return {"emails": [email] if email else [], "phones": sorted(set(phones)), "postals": [postal] if postal else []}


def shares_contact(known: dict[str, list[str]], given: dict[str, list[str]]) -> bool:
    return any(set(known.get(kind) or []) & set(given.get(kind) or []) for kind in ("emails", "phones", "postals"))


def merge_contacts(known: dict[str, list[str]], given: dict[str, list[str]]) -> dict[str, list[str]]:
    return {kind: sorted(set(known.get(kind) or []) | set(given.get(kind) or []))
            for kind in ("emails", "phones", "postals")}


def find_match(db: sqlite_utils.Database, sandbox: str, learner: dict[str, Any]) -> dict[str, Any]:
    """``{"state": "matched", "learnerId"}``, ``{"state": "queued", "reason", "candidates"}`` or
    ``{"state": "newLearner"}`` (one indexed lookup by normalised name and birth year)."""
    key = name_key(learner["firstname"], learner["lastname"], learner["birthYear"])
    rows = db.execute("SELECT learner_id, contacts, seq FROM bluedrop_learners INDEXED BY "
                      "idx_bluedrop_learners_sandbox_name_key_seq WHERE sandbox = ? AND name_key = ? ORDER BY seq",
                      [sandbox, key]).fetchall()
    if not rows:
        return {"state": "newLearner"}
    given = contacts(learner)
    sharing = [r[0] for r in rows if shares_contact(loads(r[1], {}), given)]
    if len(sharing) == 1:
        return {"state": "matched", "learnerId": sharing[0]}
    if sharing:
        return {"state": "queued", "reason": "moreThanOneCandidate", "candidates": sharing}
    return {"state": "queued", "reason": "noSharedContact", "candidates": [r[0] for r in rows]}


def next_seq(db: sqlite_utils.Database, table: str, sandbox: str) -> int:
    row = db.execute(f'SELECT seq FROM "{table}" WHERE sandbox = ? ORDER BY seq DESC LIMIT 1', [sandbox]).fetchone()
    return (row[0] if row else 0) + 1


def learner_id_for(seq: int) -> str:
    return f"LRN-{seq:07d}"


def create_learner(db: sqlite_utils.Database, sandbox: str, learner: dict[str, Any], *, network_key: str,
                   record_id: str, at: datetime) -> str:
    seq = next_seq(db, "bluedrop_learners", sandbox)
    learner_id = learner_id_for(seq)
    db["bluedrop_learners"].insert(learner_row(sandbox, seq, learner, network_key=network_key,
                                               record_id=record_id, at=at))
    return learner_id


def learner_row(sandbox: str, seq: int, learner: dict[str, Any], *, network_key: str, record_id: str,
                at: datetime) -> dict[str, Any]:
    return {"sandbox": sandbox, "learner_id": learner_id_for(seq), "seq": seq,
            "firstname": learner["firstname"], "lastname": learner["lastname"],
            "birth_year": learner["birthYear"],
            "name_key": name_key(learner["firstname"], learner["lastname"], learner["birthYear"]),
            "contacts": dumps(contacts(learner)), "created_at": iso(at), "created_by_network": network_key,
            "created_from_record": record_id}


def add_contacts(db: sqlite_utils.Database, sandbox: str, learner_id: str, learner: dict[str, Any]) -> None:
    row = db.execute("SELECT contacts FROM bluedrop_learners WHERE sandbox = ? AND learner_id = ?",
                     [sandbox, learner_id]).fetchone()
    if row is not None:
        merged = merge_contacts(loads(row[0], {}), contacts(learner))
        db.execute("UPDATE bluedrop_learners SET contacts = ? WHERE sandbox = ? AND learner_id = ?",
                   [dumps(merged), sandbox, learner_id])


# -- training status and flags --------------------------------------------------------------------

def add_years(dt: datetime, years: int) -> datetime:
    try:
        return dt.replace(year=dt.year + years)
    except ValueError:  # 29 February
        return dt.replace(year=dt.year + years, day=28)


def add_months(dt: datetime, months: int) -> datetime:
    total = dt.month - 1 + months
    year, month = dt.year + total // 12, total % 12 + 1
    for day in (dt.day, 30, 29, 28):
        try:
            return dt.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise ValueError(dt)  # pragma: no cover


def expiry_of(key: str, completion: str) -> str | None:
    row = standard(key) or {}
    years = row.get("validityYears")
    return iso(add_years(parse_datetime(completion), years)) if years else None


def flags_for(entry: dict[str, Any], others: list[dict[str, Any]]) -> list[str]:
    """Flags of one training entry given the learner's other (non-voided) entries."""
    kind = (standard(entry["key"]) or {}).get("kind")
    flags = []
    if kind == "wahRefresher":
        if not any((standard(o["key"]) or {}).get("kind") == "wahFull" for o in others):
            flags.append(FLAG_REFRESHER)
    if kind == "jhsc2014Part2":
        done = parse_datetime(entry["completion"])
        timely = False
        for o in others:
            if (standard(o["key"]) or {}).get("kind") != "jhsc2014Part1":
                continue
            part1 = parse_datetime(o["completion"])
            if part1 <= done <= add_months(part1, 6):
                timely = True
        if not timely:
            flags.append(FLAG_JHSC_PART2)
    return flags


def refresh_flags(db: sqlite_utils.Database, sandbox: str, learner_id: str | None) -> None:
    """Recompute the flags of every record of a learner (a later Part 1 can clear a Part 2's flag)."""
    if not learner_id:
        return
    rows = db.execute("SELECT network_key, record_id, standard_key, completion_date, flags FROM bluedrop_records "
                      "WHERE sandbox = ? AND learner_id = ? AND voided = 0", [sandbox, learner_id]).fetchall()
    entries = [{"network": r[0], "id": r[1], "key": r[2], "completion": r[3], "flags": r[4]} for r in rows]
    for entry in entries:
        others = [o for o in entries if o is not entry]
        flags = dumps(flags_for(entry, others))
        if flags != entry["flags"]:
            db.execute("UPDATE bluedrop_records SET flags = ? WHERE sandbox = ? AND network_key = ? AND record_id = ?",
                       [flags, sandbox, entry["network"], entry["id"]])
