"""Bulk data for benchmarks: ``scale(platform, sandbox, factor)`` enrols 20,000 x factor candidates fast.

Rows go in with ``executemany`` in one transaction; they are what GroupEnrolment would have stored
(valid ULNs, mandatory units, an "enrolled" history entry), so every operation works on them.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from ..platform.store import dumps, loads
from ..platform.timeutil import iso
from .models import add_months, new_uln

BASE = 20_000


def scale(platform: Any, sandbox: str, factor: float = 1.0) -> int:
    count = max(1, int(BASE * factor))
    rng = random.Random(f"la-scale:{sandbox}")
    store = platform.store
    with store.write() as db:
        now = platform.clock.now(sandbox, db)
        frameworks = list(db.query("SELECT course_uuid, qan, units FROM la_frameworks WHERE sandbox = ? ORDER BY seq",
                                   [sandbox]))
        companies = [r[0] for r in db.execute("SELECT company_uuid FROM la_companies WHERE sandbox = ?", [sandbox])]
        trainers = list(db.query("SELECT trainer_uuid, is_assessor, is_verifier FROM la_trainers WHERE sandbox = ?",
                                 [sandbox]))
        assessors = [t["trainer_uuid"] for t in trainers if t["is_assessor"]]
        verifiers = [t["trainer_uuid"] for t in trainers if t["is_verifier"]]
        mandatory = {f["course_uuid"]: [u["UnitUUID"] for u in loads(f["units"]) if u["blnMandatory"]]
                     for f in frameworks}
        seq0 = db.execute("SELECT coalesce(max(seq), 0) FROM la_candidates WHERE sandbox = ?", [sandbox]).fetchone()[0]
        candidates, history = [], []
        at = iso(now)
        for i in range(count):
            fw = frameworks[i % len(frameworks)]
            start = (now - timedelta(days=rng.randint(0, 700))).date()
            end = add_months(start, rng.choice((12, 18, 24)))
            assessor = rng.choice(assessors)
            verifier = rng.choice([v for v in verifiers if v != assessor] or verifiers)
            h = f"{rng.getrandbits(128):032X}"
            cand = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:]}"
            source = f"SCALE-{sandbox}-{seq0 + i + 1:07d}"
            forename, surname = f"Learner{i}", f"Scale{i % 997}"
            uln = new_uln(rng)
            units = mandatory[fw["course_uuid"]]
            record = {"Forename": forename, "Surname": surname, "BirthDate": "2000-01-01", "Gender": None,
                      "SourceSystemLearnerUUID": source, "CompanyUUID": rng.choice(companies), "ULN": uln,
                      "EmailAddress": f"learner{i}@example.org", "Address": {},
                      "Course": {"CourseUUID": fw["course_uuid"], "CourseQAN": fw["qan"],
                                 "StartDate": start.isoformat(), "PlannedEndDate": end.isoformat(),
                                 "PrimaryAssessorUUID": assessor, "PrimaryVerifierUUID": verifier, "Units": units}}
            payload = dumps(record)
            candidates.append((sandbox, cand, seq0 + i + 1, fw["course_uuid"], source, uln, forename, surname,
                               start.isoformat(), end.isoformat(), 0, dumps(units), payload, 0, at, at))
            history.append((sandbox, cand, at, "enrolled", payload))
        db.conn.executemany(
            "INSERT INTO la_candidates (sandbox, candidate_uuid, seq, course_uuid, source_uuid, uln, forename, surname, "
            "start_date, planned_end_date, is_test, units, record, assign_evaluation, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", candidates)
        db.conn.executemany("INSERT INTO la_history (sandbox, candidate_uuid, at, action, changes) "
                            "VALUES (?, ?, ?, ?, ?)", history)
    return count
