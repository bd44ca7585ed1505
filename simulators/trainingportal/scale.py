"""Bulk data for benchmarks: ``scale(platform, sandbox, factor)`` adds 10,000 course classes and 50,000
bookings (times ``factor``) to an existing sandbox in one transaction.

The classes go into their own courses, 50 per course (``SCALE-0001``...), so getCourseClasses stays
one course's worth of classes however large the sandbox grows; the indexes declared in ``models.py``
keep getBookingInformation and getCourseClasses flat at that size.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..platform.store import dumps
from ..platform.timeutil import iso
from .models import SYSTEM_NAME

CLASSES, BOOKINGS, PER_COURSE = 10_000, 50_000, 50
CITIES = (("Stavanger", "Kokstadflaten 35", "4014"), ("Bergen", "Hanøytangen 10", "5353"),
          ("Kristiansund", "Nordmørsvegen 40", "6517"), ("Hammerfest", "Rypefjord", "9610"))
FIRST = ("Kari", "Ola", "Ingrid", "Lars", "Nora", "Jonas", "Sofie", "Henrik", "Emma", "Magnus")
LAST = ("Nordmann", "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Berg", "Haugen")


def scale(platform: Any, sandbox: str, factor: float = 1.0) -> dict[str, int]:
    n_classes = max(1, int(CLASSES * factor))
    n_bookings = max(0, int(BOOKINGS * factor))
    with platform.store.write() as db:
        cred = platform.sandboxes.credentials_of(db, sandbox, SYSTEM_NAME)[0]
        username = cred.key
        now = platform.clock.now(sandbox, db)
        stamp = iso(now)
        # a second run in the same sandbox gets its own course and class ids
        run = db.execute("SELECT count(*) FROM tp_courses WHERE sandbox = ? AND external_id LIKE 'SCALE%'",
                         [sandbox]).fetchone()[0]
        prefix = f"SCALE{run}-" if run else "SCALE-"
        top_course = db.execute("SELECT max(course_id) FROM tp_courses WHERE sandbox = ?", [sandbox]).fetchone()[0]
        n_courses = (n_classes + PER_COURSE - 1) // PER_COURSE
        courses = [(sandbox, username, f"{prefix}{i:04d}", (top_course or 900000) + 1 + i,
                    f"Offshore safety module {i + 1}") for i in range(n_courses)]
        db.conn.executemany("INSERT INTO tp_courses (sandbox, username, external_id, course_id, name) "
                            "VALUES (?, ?, ?, ?, ?)", courses)
        first_id = (db.execute("SELECT max(id) FROM tp_classes").fetchone()[0] or 0) + 1
        classes = []
        for i in range(n_classes):
            city, street, zipcode = CITIES[i % len(CITIES)]
            start = (now + timedelta(days=14 + i % 300)).date()
            classes.append((
                first_id + i, sandbox, username, courses[i // PER_COURSE][2], f"K{i:06d}", "published", city,
                20, (start - timedelta(days=5)).isoformat(), (start - timedelta(days=2)).isoformat(),
                start.isoformat(), "08:00", (start + timedelta(days=i % 3)).isoformat(), "16:00", street, "",
                city, zipcode, "Norway", "NOK", f"{5000 + (i % 40) * 250}.00", 1, stamp, stamp))
        db.conn.executemany(
            "INSERT INTO tp_classes (id, sandbox, username, course_external_id, external_id, state, location, "
            "available_seats, enrollment_deadline, cancellation_deadline, start_date, start_time, end_date, end_time, "
            "address_line1, address_line2, city, zip_code, country, currency, amount, send_schedule_info, created_at, "
            "updated_at) VALUES (" + ", ".join("?" * 24) + ")", classes)
        seq = db.execute("SELECT max(seq) FROM tp_bookings WHERE sandbox = ?", [sandbox]).fetchone()[0] or 0
        enroller = dumps({"firstName": "Ola", "lastName": "Hansen", "email": "ola.hansen@example.no",
                          "phone": "4798765432"})
        bookings = []
        for j in range(n_bookings):
            k = classes[j % n_classes]
            first, last = FIRST[j % 10], LAST[(j // 10) % 10]
            bookings.append((
                sandbox, f"{prefix.lower()}{first_id}_{j:07d}", seq + 1 + j, username, k[0], k[3], k[4], first,
                last, f"{first.lower()}.{last.lower()}{j}@example.no", f"47{40000000 + j}", "1985-05-17", enroller,
                "Nordsjø Drilling AS", "NEW", stamp, stamp, stamp))
        db.conn.executemany(
            "INSERT INTO tp_bookings (sandbox, reference, seq, username, class_id, course_external_id, "
            "external_course_class_id, firstname, lastname, email, phone, birth_date, enroller, company, status, "
            "reserved_at, visible_at, updated_at) VALUES (" + ", ".join("?" * 18) + ")", bookings)
    return {"courses": n_courses, "classes": n_classes, "bookings": n_bookings}
