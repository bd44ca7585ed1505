"""The enrolment rules of GroupEnrolment and UpdateEnrolment: every issue found, as MessageList entries.

Codes (stable, documented in docs/fidelity/learning_assistant.md):
``REQUIRED`` a required field is missing; ``INVALID`` a value breaks a format or value rule (ULN, NI number,
email, gender, dates, age, length, boolean); ``NOT_FOUND`` a reference is not in this account (company,
course, trainer, unit, lookup id, candidate); ``MISMATCH`` CourseUUID and CourseQAN name different courses;
``ROLE`` the assessor is not an assessor or the verifier not a verifier; ``SAME_TRAINER`` the verifier is
the assessor; ``MANDATORY_UNIT`` Units leaves out a mandatory unit; ``DUPLICATE`` the learner is already on
the course.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Set
from dataclasses import dataclass, field
from datetime import date
from typing import Any

UNALLOCATED_NI_PREFIXES = ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ")
_NI = re.compile(r"^([A-Z])([A-Z])(\d{6})([A-Z])$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_QAN = re.compile(r"^\d{3}/\d{4}/[0-9X]$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NAME_MAX = 100
TEXT_MAX = 255


@dataclass
class Message:
    code: str
    field: str
    message: str

    def wire(self) -> dict[str, str]:
        return {"Code": self.code, "Field": self.field, "Message": self.message}


@dataclass
class References:
    """What the rules look up, supplied by the model for one sandbox."""

    framework_by_uuid: Callable[[str], dict | None]
    framework_by_qan: Callable[[str], dict | None]
    trainer: Callable[[str], dict | None]
    company: Callable[[str], dict | None]
    ethnicities: Set[str]
    nationalities: Set[str]
    # (SourceSystemLearnerUUID, CourseUUID) -> CandidateUUID already enrolled, if any
    enrolled: Callable[[str, str], str | None]


@dataclass
class Checked:
    messages: list[Message] = field(default_factory=list)
    framework: dict | None = None
    units: list[str] = field(default_factory=list)

    def add(self, code: str, fld: str, message: str) -> None:
        self.messages.append(Message(code, fld, message))


# -- single-value rules ------------------------------------------------------------------------------


def uln_problem(value: str) -> str | None:
    """ULN: 10 digits, first not 0, weights 10..1, sum mod 11 = 10 (HESA ULN field, ILR rule ULN_04)."""
    if not re.fullmatch(r"\d{10}", value):
        return f"ULN must be 10 digits, got {value!r}"
    if value[0] == "0":
        return f"ULN must not start with 0, got {value!r}"
    total = sum(int(d) * w for d, w in zip(value, range(10, 0, -1), strict=True))
    if total % 11 != 10:
        return f"ULN {value!r} fails the check digit (weighted sum {total} mod 11 is {total % 11}, must be 10)"
    return None


def uln_check_digit(first9: str) -> int | None:
    """The tenth digit making ``first9`` a valid ULN, or None when no digit can."""
    total = sum(int(d) * w for d, w in zip(first9, range(10, 1, -1), strict=True))
    digit = (10 - total) % 11
    return digit if digit < 10 else None


def ni_problem(value: str) -> str | None:
    """NI number: two letters, six digits, suffix A-D (ILR NINumber_01; HMRC NIM39110)."""
    m = _NI.match(value)
    if not m:
        return f"NationalInsuranceNumber must be two letters, six digits and a letter A-D, got {value!r}"
    first, second, _, suffix = m.groups()
    if first in "DFIQUV":
        return f"NationalInsuranceNumber must not start with D, F, I, Q, U or V, got {value!r}"
    if second in "DFIOQUV":
        return f"NationalInsuranceNumber's second letter must not be D, F, I, O, Q, U or V, got {value!r}"
    if first + second in UNALLOCATED_NI_PREFIXES:
        return f"NationalInsuranceNumber prefix {first + second} is not allocated (BG, GB, KN, NK, NT, TN, ZZ)"
    if suffix not in "ABCD":
        return f"NationalInsuranceNumber must end with A, B, C or D, got {value!r}"
    return None


def email_problem(name: str, value: str) -> str | None:
    if len(value) > 254 or not _EMAIL.match(value):
        return f"{name} must be a valid email address, got {value!r}"
    return None


def parse_date(value: str) -> date | None:
    if not _DATE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def parse_boolean(value: Any) -> bool | None:
    """xsd:boolean plus ColdFusion's YES/NO; None when it is none of them."""
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    return None


def years_between(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


# -- the whole record ---------------------------------------------------------------------------------

STRING_FIELDS = ("AwardingBodyRegistrationNo", "BirthDate", "CompanyUUID", "Department", "EmailAddress",
                 "EmployeeReferenceNumber", "EmploymentStatus", "EthnicityID", "Forename", "Gender", "JobTitle",
                 "LineManager", "LineManagerEmailAddress", "LineManagerPhoneNumber", "MobileNumber",
                 "NationalInsuranceNumber", "NationalityID", "SourceSystemLearnerUUID", "Surname", "ULN")
ADDRESS_FIELDS = ("AddressLine1", "AddressLine2", "AddressLine3", "AddressLine4", "Town", "County", "Postcode")
COURSE_FIELDS = ("CourseUUID", "CourseQAN", "StartDate", "PlannedEndDate", "PrimaryAssessorUUID",
                 "PrimaryVerifierUUID")


def check(record: dict[str, Any], refs: References, *, candidate_uuid: str | None = None) -> Checked:
    """Every issue of an enrolment record (normalised: strings stripped, empty = None). ``candidate_uuid``
    is the enrolment being updated (it does not count as its own duplicate)."""
    out = Checked()
    course = record.get("Course") or {}
    address = record.get("Address") or {}

    for name in ("Forename", "Surname", "BirthDate", "SourceSystemLearnerUUID", "CompanyUUID"):
        if not record.get(name):
            out.add("REQUIRED", name, f"{name} is required")
    if not course.get("CourseUUID") and not course.get("CourseQAN"):
        out.add("REQUIRED", "Course.CourseUUID", "a course is required: give Course.CourseUUID or Course.CourseQAN")
    for name in ("StartDate", "PrimaryAssessorUUID", "PrimaryVerifierUUID"):
        if not course.get(name):
            out.add("REQUIRED", f"Course.{name}", f"Course.{name} is required")

    for name in STRING_FIELDS:
        value = record.get(name)
        limit = NAME_MAX if name in ("Forename", "Surname") else TEXT_MAX
        if value and len(value) > limit:
            out.add("INVALID", name, f"{name} must be at most {limit} characters, got {len(value)}")
    for name in ADDRESS_FIELDS:
        value = address.get(name)
        if value and len(value) > TEXT_MAX:
            out.add("INVALID", f"Address.{name}", f"Address.{name} must be at most {TEXT_MAX} characters, "
                                                  f"got {len(value)}")

    if record.get("CompanyUUID") and refs.company(record["CompanyUUID"]) is None:
        out.add("NOT_FOUND", "CompanyUUID", f"CompanyUUID {record['CompanyUUID']!r} is not a company of this "
                                            "account (see GetCompanies)")

    _check_course(course, refs, out)
    _check_trainers(course, refs, out)
    if out.framework is not None:
        _check_units(course, out)

    if record.get("ULN"):
        problem = uln_problem(record["ULN"])
        if problem:
            out.add("INVALID", "ULN", problem)
    if record.get("NationalInsuranceNumber"):
        problem = ni_problem(record["NationalInsuranceNumber"])
        if problem:
            out.add("INVALID", "NationalInsuranceNumber", problem)
    if record.get("EthnicityID") and record["EthnicityID"] not in refs.ethnicities:
        out.add("NOT_FOUND", "EthnicityID", f"EthnicityID {record['EthnicityID']!r} is not in GetEthnicities "
                                            "(ILR codes 31-47, 98, 99)")
    if record.get("NationalityID") and record["NationalityID"] not in refs.nationalities:
        out.add("NOT_FOUND", "NationalityID", f"NationalityID {record['NationalityID']!r} is not in "
                                              "GetNationalities (ISO 3166-1 alpha-2)")
    for name in ("EmailAddress", "LineManagerEmailAddress"):
        if record.get(name):
            problem = email_problem(name, record[name])
            if problem:
                out.add("INVALID", name, problem)
    if record.get("Gender") and record["Gender"] not in ("M", "F", "X"):
        out.add("INVALID", "Gender", f"Gender must be M, F, X or nil, got {record['Gender']!r}")

    _check_dates(record, course, out)

    source = record.get("SourceSystemLearnerUUID")
    if source and out.framework is not None:
        existing = refs.enrolled(source, out.framework["course_uuid"])
        if existing and existing != candidate_uuid:
            out.add("DUPLICATE", "SourceSystemLearnerUUID",
                    f"SourceSystemLearnerUUID {source!r} is already enrolled on course "
                    f"{out.framework['qan']} as candidate {existing}")
    return out


def _check_course(course: dict[str, Any], refs: References, out: Checked) -> None:
    by_uuid = by_qan = None
    if course.get("CourseUUID"):
        by_uuid = refs.framework_by_uuid(course["CourseUUID"])
        if by_uuid is None:
            out.add("NOT_FOUND", "Course.CourseUUID", f"Course.CourseUUID {course['CourseUUID']!r} is not a course "
                                                      "of this account (see GetFrameworks)")
    if course.get("CourseQAN"):
        qan = course["CourseQAN"]
        if not _QAN.match(qan):
            out.add("INVALID", "Course.CourseQAN", f"Course.CourseQAN must look like 601/2977/3, got {qan!r}")
        else:
            by_qan = refs.framework_by_qan(qan)
            if by_qan is None:
                out.add("NOT_FOUND", "Course.CourseQAN", f"Course.CourseQAN {qan!r} is not a course of this "
                                                         "account (see GetFrameworks)")
    if by_uuid and by_qan and by_uuid["course_uuid"] != by_qan["course_uuid"]:
        out.add("MISMATCH", "Course.CourseQAN",
                f"Course.CourseQAN {course['CourseQAN']!r} is course {by_qan['course_uuid']}, but Course.CourseUUID "
                f"is {by_uuid['course_uuid']} ({by_uuid['qan']})")
        return
    failed = (course.get("CourseUUID") and by_uuid is None) or (course.get("CourseQAN") and by_qan is None)
    out.framework = None if failed else (by_uuid or by_qan)


def _check_trainers(course: dict[str, Any], refs: References, out: Checked) -> None:
    for name, flag, role in (("PrimaryAssessorUUID", "is_assessor", "an assessor"),
                             ("PrimaryVerifierUUID", "is_verifier", "a verifier")):
        uuid = course.get(name)
        if not uuid:
            continue
        trainer = refs.trainer(uuid)
        if trainer is None:
            out.add("NOT_FOUND", f"Course.{name}", f"Course.{name} {uuid!r} is not a trainer of this account "
                                                   "(see GetTrainers)")
        elif not trainer[flag]:
            out.add("ROLE", f"Course.{name}", f"Course.{name} {uuid!r} ({trainer['forename']} {trainer['surname']}) "
                                              f"is not {role} (bln{'Assessor' if flag == 'is_assessor' else 'Verifier'}"
                                              " is false)")
    if course.get("PrimaryAssessorUUID") and course.get("PrimaryAssessorUUID") == course.get("PrimaryVerifierUUID"):
        out.add("SAME_TRAINER", "Course.PrimaryVerifierUUID",
                "Course.PrimaryVerifierUUID must not be the primary assessor: quality assurance must be independent")


def _check_units(course: dict[str, Any], out: Checked) -> None:
    framework = out.framework
    assert framework is not None
    units = framework["units"]
    known = {u["UnitUUID"] for u in units}
    given = course.get("Units")
    if not given:
        out.units = [u["UnitUUID"] for u in units if u["blnMandatory"]]
        return
    chosen: list[str] = []
    for i, unit in enumerate(given):
        if not unit:
            out.add("REQUIRED", f"Course.Units[{i}]", f"Course.Units[{i}] is empty; give a UnitUUID")
        elif unit not in known:
            out.add("NOT_FOUND", f"Course.Units[{i}]", f"unit {unit!r} is not a unit of course {framework['qan']}")
        elif unit not in chosen:
            chosen.append(unit)
    for unit in units:
        if unit["blnMandatory"] and unit["UnitUUID"] not in chosen:
            out.add("MANDATORY_UNIT", "Course.Units", f"mandatory unit {unit['UnitReference']} ({unit['UnitUUID']}) "
                                                      f"of course {framework['qan']} must be included")
    out.units = [u["UnitUUID"] for u in units if u["UnitUUID"] in chosen]


def _check_dates(record: dict[str, Any], course: dict[str, Any], out: Checked) -> None:
    parsed: dict[str, date | None] = {}
    for fld, value in (("BirthDate", record.get("BirthDate")), ("Course.StartDate", course.get("StartDate")),
                       ("Course.PlannedEndDate", course.get("PlannedEndDate"))):
        if not value:
            parsed[fld] = None
            continue
        parsed[fld] = parse_date(value)
        if parsed[fld] is None:
            out.add("INVALID", fld, f"{fld} must be a date as yyyy-mm-dd, got {value!r}")
        elif not 1900 <= parsed[fld].year <= 2199:
            parsed[fld] = None
            out.add("INVALID", fld, f"{fld} must be between 1900-01-01 and 2199-12-31, got {value!r}")
    born, start, end = parsed["BirthDate"], parsed["Course.StartDate"], parsed["Course.PlannedEndDate"]
    if start and end and end <= start:
        out.add("INVALID", "Course.PlannedEndDate", f"Course.PlannedEndDate {end.isoformat()} must be after "
                                                    f"Course.StartDate {start.isoformat()}")
    if born and start and years_between(born, start) < 15:
        age = years_between(born, start)
        out.add("INVALID", "BirthDate", f"the learner must be at least 15 on Course.StartDate {start.isoformat()}; "
                                        f"BirthDate {born.isoformat()} makes them {max(age, 0)}")
