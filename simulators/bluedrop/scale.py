"""Bulk data for benchmarks: ``scale(platform, sandbox, factor)`` adds ``100_000 * factor`` learning records
with their learners and training, in one transaction of bulk inserts (a few seconds), so a benchmark can
measure a learning-record POST (with matching) against a registry of that size.

About seven in ten records create a learner; the rest are a second course of the same learner (a WAH
refresher after the full course, a JHSC Part 2 within three months of Part 1), so no flag is due. Names
come from Faker (en_CA) pools under the sandbox's seed; every learner has its own email.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timedelta
from typing import Any

from ..platform.timeutil import iso
from . import cms

BASE = 100_000
FIRST = ("WAH-E-I", "WAH-E-B", "WAH-F-I", "JHSC-2014-1-E-I", "JHSC-2014-1-E-V", "JHSC-2014-1-E-O")
SECOND = {"WAH-E-I": "WAH-Refr-E-I", "WAH-E-B": "WAH-Refr-E-B", "WAH-F-I": "WAH-Refr-F-I",
          "JHSC-2014-1-E-I": "JHSC-2014-2-E-I", "JHSC-2014-1-E-V": "JHSC-2014-2-E-V",
          "JHSC-2014-1-E-O": "JHSC-2014-2-E-I"}


def _iso(dt: datetime) -> str:
    """``timeutil.iso`` without strftime (this runs 100,000 times)."""
    return (f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}."
            f"{dt.microsecond // 1000:03d}Z")


def scale(platform: Any, sandbox: str, factor: float = 1.0, progress: Any = None) -> dict[str, int]:
    count = max(1, int(BASE * factor))
    with platform.store.write() as db:
        seed = db.execute("SELECT seed FROM _sandboxes WHERE id = ?", [sandbox]).fetchone()
        rng = random.Random(f"bluedrop.scale:{seed[0] if seed else 0}:{count}")
        from faker import Faker  # here: only seeding at scale needs it, not the server's start

        fake = Faker("en_CA")
        fake.seed_instance(rng.getrandbits(64))
        firsts = list({fake.first_name() for _ in range(600)})
        lasts = list({fake.last_name() for _ in range(900)})
        networks = [r[0] for r in db.execute(
            "SELECT json_extract(data, '$.networkKey') FROM _credentials WHERE sandbox = ? AND system = 'bluedrop' "
            "ORDER BY slot", [sandbox]).fetchall()] or ["pro-00000"]
        now = platform.clock.now(sandbox, db)
        learner_seq = cms.next_seq(db, "bluedrop_learners", sandbox)
        record_seq = cms.next_seq(db, "bluedrop_records", sandbox)
        learners: list[tuple] = []
        records: list[tuple] = []
        stamp = iso(now)
        norm = {name: cms.normalise(name) for name in firsts + lasts}
        made = 0
        while made < count:
            first, last = rng.choice(firsts), rng.choice(lasts)
            year = now.year - rng.randint(18, 64)
            email = f"{first}.{last}.{learner_seq}@scale.example.ca".lower().replace(" ", "").replace("'", "")
            phone = f"{rng.choice(('416', '647', '905', '705', '613'))}{rng.randint(2000000, 9999999)}"
            person = {"birthYear": year, "firstname": first, "lastname": last, "mobilePhone": phone,
                      "personalEmail": email, "uniqueId": f"S{learner_seq}"}
            learner_id = cms.learner_id_for(learner_seq)
            network = networks[learner_seq % len(networks)]
            done = now - timedelta(days=rng.randint(120, 1500), minutes=rng.randint(0, 1440))
            key = rng.choice(FIRST)
            courses = [(key, done)]
            if made + 1 < count and rng.random() < 0.43:
                courses.append((SECOND[key], done + timedelta(days=rng.randint(7, 90))))
            record_id = f"scale-{record_seq:07d}"
            contacts = json.dumps({"emails": [email], "phones": [phone], "postals": []})
            learners.append((sandbox, learner_id, learner_seq, first, last, year,
                             f"{norm[first]}|{norm[last]}|{year}", contacts, stamp, network, record_id))
            person_hashed = json.dumps(person, sort_keys=True, ensure_ascii=False)
            person_stored = json.dumps(person, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            for std, when in courses:
                completion = _iso(when)
                rid = f"scale-{record_seq:07d}"
                # the exact text json.dumps(body, sort_keys=True) gives (models.body_hash), built without it
                hashed = (f'{{"completionDate": "{completion}", "instructorNames": "Scale Instructor", "learner": '
                          f'{person_hashed}, "learningRecordId": "{rid}", "networkKey": "{network}", '
                          f'"trainingStandardKey": "{std}"}}')
                text = (f'{{"completionDate":"{completion}","instructorNames":"Scale Instructor","learner":'
                        f'{person_stored},"learningRecordId":"{rid}","networkKey":"{network}",'
                        f'"trainingStandardKey":"{std}"}}')
                state = "newLearner" if std == key else "matched"
                history = (f'[{{"at":"{stamp}","action":"received","by":"{network}","matchState":"{state}",'
                           f'"learnerId":"{learner_id}"}}]')
                records.append((sandbox, network, rid, record_seq, text, hashlib.sha256(hashed.encode()).hexdigest(),
                                std, completion, learner_id, state, "cms", None, "[]", "[]", 0, None, history,
                                stamp, stamp))
                record_seq += 1
                made += 1
            learner_seq += 1
            if progress is not None and len(learners) % 10_000 == 0:
                progress(made * 0.8, count)
        db.conn.executemany(
            "INSERT INTO bluedrop_learners (sandbox, learner_id, seq, firstname, lastname, birth_year, name_key, "
            "contacts, created_at, created_by_network, created_from_record) VALUES (?,?,?,?,?,?,?,?,?,?,?)", learners)
        db.conn.executemany(
            "INSERT INTO bluedrop_records (sandbox, network_key, record_id, seq, body, body_hash, standard_key, "
            "completion_date, learner_id, match_state, matched_by, queue_reason, candidates, flags, voided, "
            "void_reason, history, received_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", records)
    if progress is not None:
        progress(count, count)
    return {"learningRecords": len(records), "learners": len(learners)}
