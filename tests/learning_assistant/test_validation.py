"""Every GroupEnrolment/UpdateEnrolment rule, with the exact MessageList entry it produces."""

from __future__ import annotations

import copy

import pytest

from simulators.learning_assistant import validation as v
from simulators.learning_assistant.models import new_uln, normalise

COURSE = {"course_uuid": "C1", "qan": "601/2977/3", "title": "Bricklaying", "level": 2, "units": [
    {"UnitUUID": "U1", "UnitReference": "K/506/2113", "Title": "H&S", "blnMandatory": True, "Outcomes": []},
    {"UnitUUID": "U2", "UnitReference": "M/506/2114", "Title": "Practice", "blnMandatory": True, "Outcomes": []},
    {"UnitUUID": "U3", "UnitReference": "T/506/2115", "Title": "Optional", "blnMandatory": False, "Outcomes": []}]}
OTHER = {"course_uuid": "C2", "qan": "603/2474/0", "title": "Care", "level": 3, "units": []}
TRAINERS = {"A": {"forename": "Ann", "surname": "Assessor", "is_assessor": 1, "is_verifier": 0},
            "V": {"forename": "Vic", "surname": "Verifier", "is_assessor": 0, "is_verifier": 1},
            "B": {"forename": "Bo", "surname": "Both", "is_assessor": 1, "is_verifier": 1}}
ENROLLED = {("EXISTING", "C1"): "CAND-1"}

REFS = v.References(
    framework_by_uuid={"C1": COURSE, "C2": OTHER}.get, framework_by_qan={"601/2977/3": COURSE, "603/2474/0": OTHER}.get,
    trainer=TRAINERS.get, company={"CO": (1,)}.get, ethnicities={str(i) for i in range(31, 48)} | {"98", "99"},
    nationalities={"GB", "IE", "PL"}, enrolled=lambda s, c: ENROLLED.get((s, c)))

VALID = {"Forename": "Amy", "Surname": "Smith", "BirthDate": "2004-05-17", "SourceSystemLearnerUUID": "S1",
         "CompanyUUID": "CO", "Gender": "F", "ULN": "9276308686", "NationalInsuranceNumber": "JT482913C",
         "EthnicityID": "31", "NationalityID": "GB", "EmailAddress": "amy@example.org",
         "Address": {"Town": "Leeds"},
         "Course": {"CourseUUID": "C1", "StartDate": "2026-09-01", "PlannedEndDate": "2027-09-01",
                    "PrimaryAssessorUUID": "A", "PrimaryVerifierUUID": "V"}}


def issues(change=None, course=None, drop=(), candidate=None):
    record = copy.deepcopy(VALID)
    record.update(change or {})
    record["Course"].update(course or {})
    for name in drop:
        (record["Course"] if name in v.COURSE_FIELDS else record).pop(name, None)
    checked = v.check(normalise(record), REFS, candidate_uuid=candidate)
    return [(m.code, m.field, m.message) for m in checked.messages], checked


def test_valid_record_has_no_issue_and_gets_the_mandatory_units():
    found, checked = issues()
    assert found == []
    assert checked.units == ["U1", "U2"] and checked.framework is COURSE


@pytest.mark.parametrize("name", ["Forename", "Surname", "BirthDate", "SourceSystemLearnerUUID", "CompanyUUID"])
def test_required_person_fields(name):
    assert issues(drop=[name])[0] == [("REQUIRED", name, f"{name} is required")]
    assert issues({name: "   "})[0] == [("REQUIRED", name, f"{name} is required")]


@pytest.mark.parametrize("name", ["StartDate", "PrimaryAssessorUUID", "PrimaryVerifierUUID"])
def test_required_course_fields(name):
    assert issues(drop=[name])[0] == [("REQUIRED", f"Course.{name}", f"Course.{name} is required")]


def test_a_course_is_required():
    assert issues(drop=["CourseUUID"])[0] == [
        ("REQUIRED", "Course.CourseUUID", "a course is required: give Course.CourseUUID or Course.CourseQAN")]


def test_course_by_qan_and_both_must_agree():
    assert issues(course={"CourseUUID": None, "CourseQAN": "601/2977/3"})[0] == []
    assert issues(course={"CourseQAN": "601/2977/3"})[0] == []
    assert issues(course={"CourseQAN": "603/2474/0"})[0] == [
        ("MISMATCH", "Course.CourseQAN", "Course.CourseQAN '603/2474/0' is course C2, but Course.CourseUUID is C1 "
                                         "(601/2977/3)")]
    assert issues(course={"CourseUUID": None, "CourseQAN": "601-2977-3"})[0] == [
        ("INVALID", "Course.CourseQAN", "Course.CourseQAN must look like 601/2977/3, got '601-2977-3'")]
    assert issues(course={"CourseUUID": None, "CourseQAN": "999/9999/9"})[0] == [
        ("NOT_FOUND", "Course.CourseQAN", "Course.CourseQAN '999/9999/9' is not a course of this account "
                                          "(see GetFrameworks)")]
    assert issues(course={"CourseUUID": "NOPE"})[0] == [
        ("NOT_FOUND", "Course.CourseUUID", "Course.CourseUUID 'NOPE' is not a course of this account "
                                           "(see GetFrameworks)")]


def test_company_must_exist():
    assert issues({"CompanyUUID": "X"})[0] == [
        ("NOT_FOUND", "CompanyUUID", "CompanyUUID 'X' is not a company of this account (see GetCompanies)")]


def test_trainer_roles_and_independence():
    assert issues(course={"PrimaryAssessorUUID": "V", "PrimaryVerifierUUID": "B"})[0] == [
        ("ROLE", "Course.PrimaryAssessorUUID", "Course.PrimaryAssessorUUID 'V' (Vic Verifier) is not an assessor "
                                               "(blnAssessor is false)")]
    assert issues(course={"PrimaryAssessorUUID": "B", "PrimaryVerifierUUID": "A"})[0] == [
        ("ROLE", "Course.PrimaryVerifierUUID", "Course.PrimaryVerifierUUID 'A' (Ann Assessor) is not a verifier "
                                               "(blnVerifier is false)")]
    assert issues(course={"PrimaryAssessorUUID": "B", "PrimaryVerifierUUID": "B"})[0] == [
        ("SAME_TRAINER", "Course.PrimaryVerifierUUID",
         "Course.PrimaryVerifierUUID must not be the primary assessor: quality assurance must be independent")]
    assert issues(course={"PrimaryAssessorUUID": "Z"})[0] == [
        ("NOT_FOUND", "Course.PrimaryAssessorUUID", "Course.PrimaryAssessorUUID 'Z' is not a trainer of this account "
                                                    "(see GetTrainers)")]
    assert issues(course={"PrimaryAssessorUUID": "B", "PrimaryVerifierUUID": "V"})[0] == []


def test_units_of_the_course_and_every_mandatory_one():
    found, checked = issues(course={"Units": ["U1", "U2", "U3", "U1"]})
    assert found == [] and checked.units == ["U1", "U2", "U3"]
    assert issues(course={"Units": ["U1", "U3"]})[0] == [
        ("MANDATORY_UNIT", "Course.Units", "mandatory unit M/506/2114 (U2) of course 601/2977/3 must be included")]
    assert issues(course={"Units": ["U1", "U2", "X9"]})[0] == [
        ("NOT_FOUND", "Course.Units[2]", "unit 'X9' is not a unit of course 601/2977/3")]
    assert issues(course={"Units": ["U1", "U2", ""]})[0] == [
        ("REQUIRED", "Course.Units[2]", "Course.Units[2] is empty; give a UnitUUID")]


@pytest.mark.parametrize("uln,message", [
    ("927630868", "ULN must be 10 digits, got '927630868'"),
    ("92763086X6", "ULN must be 10 digits, got '92763086X6'"),
    ("0276308686", "ULN must not start with 0, got '0276308686'"),
    ("9276308687", "ULN '9276308687' fails the check digit (weighted sum 318 mod 11 is 10, must be 10)"),
])
def test_uln_rules(uln, message):
    found = issues({"ULN": uln})[0]
    if uln == "9276308687":  # the check sum: 9276308686 is valid, so ...87 must fail
        total = sum(int(d) * w for d, w in zip(uln, range(10, 0, -1), strict=True))
        message = f"ULN '9276308687' fails the check digit (weighted sum {total} mod 11 is {total % 11}, must be 10)"
    assert found == [("INVALID", "ULN", message)]


def test_known_valid_uln_and_generated_ones():
    import random

    assert v.uln_problem("9276308686") is None
    rng = random.Random(5)
    for _ in range(200):
        assert v.uln_problem(new_uln(rng)) is None


@pytest.mark.parametrize("ni,message", [
    ("JT48291C", "NationalInsuranceNumber must be two letters, six digits and a letter A-D, got 'JT48291C'"),
    ("DA123456A", "NationalInsuranceNumber must not start with D, F, I, Q, U or V, got 'DA123456A'"),
    ("QQ123456C", "NationalInsuranceNumber must not start with D, F, I, Q, U or V, got 'QQ123456C'"),
    ("AO123456A", "NationalInsuranceNumber's second letter must not be D, F, I, O, Q, U or V, got 'AO123456A'"),
    ("GB123456A", "NationalInsuranceNumber prefix GB is not allocated (BG, GB, KN, NK, NT, TN, ZZ)"),
    ("TN123456A", "NationalInsuranceNumber prefix TN is not allocated (BG, GB, KN, NK, NT, TN, ZZ)"),
    ("ZZ123456A", "NationalInsuranceNumber prefix ZZ is not allocated (BG, GB, KN, NK, NT, TN, ZZ)"),
    ("JT482913E", "NationalInsuranceNumber must end with A, B, C or D, got 'JT482913E'"),
])
def test_ni_number_rules(ni, message):
    assert issues({"NationalInsuranceNumber": ni})[0] == [("INVALID", "NationalInsuranceNumber", message)]


def test_ni_number_spaces_and_case_are_normalised():
    assert issues({"NationalInsuranceNumber": "jt 48 29 13 c"})[0] == []


def test_lookups():
    assert issues({"EthnicityID": "30"})[0] == [
        ("NOT_FOUND", "EthnicityID", "EthnicityID '30' is not in GetEthnicities (ILR codes 31-47, 98, 99)")]
    assert issues({"NationalityID": "XX"})[0] == [
        ("NOT_FOUND", "NationalityID", "NationalityID 'XX' is not in GetNationalities (ISO 3166-1 alpha-2)")]
    assert issues({"NationalityID": "ie", "EthnicityID": "99"})[0] == []


def test_emails_and_gender():
    assert issues({"EmailAddress": "a@b"})[0] == [
        ("INVALID", "EmailAddress", "EmailAddress must be a valid email address, got 'a@b'")]
    assert issues({"LineManagerEmailAddress": "boss at example.org"})[0] == [
        ("INVALID", "LineManagerEmailAddress",
         "LineManagerEmailAddress must be a valid email address, got 'boss at example.org'")]
    assert issues({"Gender": "Z"})[0] == [("INVALID", "Gender", "Gender must be M, F, X or nil, got 'Z'")]
    for gender in ("M", "F", "X", "x", None, ""):
        assert issues({"Gender": gender})[0] == []


def test_dates_order_and_age():
    assert issues({"BirthDate": "17/05/2004"})[0] == [
        ("INVALID", "BirthDate", "BirthDate must be a date as yyyy-mm-dd, got '17/05/2004'")]
    assert issues(course={"StartDate": "2026-13-01"})[0] == [
        ("INVALID", "Course.StartDate", "Course.StartDate must be a date as yyyy-mm-dd, got '2026-13-01'")]
    assert issues(course={"PlannedEndDate": "2026-09-01"})[0] == [
        ("INVALID", "Course.PlannedEndDate", "Course.PlannedEndDate 2026-09-01 must be after Course.StartDate "
                                             "2026-09-01")]
    assert issues({"BirthDate": "2011-09-02"})[0] == [
        ("INVALID", "BirthDate", "the learner must be at least 15 on Course.StartDate 2026-09-01; BirthDate "
                                 "2011-09-02 makes them 14")]
    assert issues({"BirthDate": "2011-09-01"})[0] == []
    assert issues(course={"StartDate": "9999-12-31", "PlannedEndDate": None})[0] == [
        ("INVALID", "Course.StartDate", "Course.StartDate must be between 1900-01-01 and 2199-12-31, got "
                                        "'9999-12-31'")]


def test_lengths():
    assert issues({"Forename": "x" * 101})[0] == [
        ("INVALID", "Forename", "Forename must be at most 100 characters, got 101")]
    assert issues({"Address": {"Town": "y" * 256}})[0] == [
        ("INVALID", "Address.Town", "Address.Town must be at most 255 characters, got 256")]


def test_duplicate_but_not_against_itself():
    assert issues({"SourceSystemLearnerUUID": "EXISTING"})[0] == [
        ("DUPLICATE", "SourceSystemLearnerUUID",
         "SourceSystemLearnerUUID 'EXISTING' is already enrolled on course 601/2977/3 as candidate CAND-1")]
    assert issues({"SourceSystemLearnerUUID": "EXISTING"}, candidate="CAND-1")[0] == []
    assert issues({"SourceSystemLearnerUUID": "EXISTING"}, course={"CourseUUID": "C2"})[0] == []
