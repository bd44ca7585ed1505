"""GroupEnrolment rules of learning-assistant.md that no other contract test pinned down one by one (found
by removing each rule from the simulator in turn; see MUTATIONS.md). zeep only, each case one broken field
of an otherwise valid learner, and the MessageList must be exactly that one issue."""

from __future__ import annotations

import pytest

from .helpers import enrol, learner, messages, reference

pytestmark = [pytest.mark.mutating]


@pytest.fixture
def ref(la):
    la.authenticate()
    return reference(la)


CASES = {
    # spec "GroupEnrolment" validation, "required: Forename, Surname, ..."
    "surname-required": ({"Surname": None}, ("REQUIRED", "Surname", "Surname is required")),
    # "ULN: 10 digits, first not 0, ..."
    "uln-9-digits": ({"ULN": "927630868"}, ("INVALID", "ULN", "ULN must be 10 digits, got '927630868'")),
    "uln-first-digit-0": ({"ULN": "0276308686"}, ("INVALID", "ULN", "ULN must not start with 0, got '0276308686'")),
    # "NationalInsuranceNumber: ... first letter not D F I Q U V, second not D F I O Q U V; prefixes ... suffix A-D"
    "ni-first-letter": ({"NationalInsuranceNumber": "DA123456A"}, (
        "INVALID", "NationalInsuranceNumber",
        "NationalInsuranceNumber must not start with D, F, I, Q, U or V, got 'DA123456A'")),
    "ni-second-letter": ({"NationalInsuranceNumber": "AO123456A"}, (
        "INVALID", "NationalInsuranceNumber",
        "NationalInsuranceNumber's second letter must not be D, F, I, O, Q, U or V, got 'AO123456A'")),
    "ni-prefix-not-allocated": ({"NationalInsuranceNumber": "GB123456A"}, (
        "INVALID", "NationalInsuranceNumber",
        "NationalInsuranceNumber prefix GB is not allocated (BG, GB, KN, NK, NT, TN, ZZ)")),
    "ni-suffix": ({"NationalInsuranceNumber": "AB123456E"}, (
        "INVALID", "NationalInsuranceNumber", "NationalInsuranceNumber must end with A, B, C or D, got 'AB123456E'")),
    # "dates yyyy-mm-dd (decision)"
    "date-format": ({"BirthDate": "20040517"}, (
        "INVALID", "BirthDate", "BirthDate must be a date as yyyy-mm-dd, got '20040517'")),
    # "PlannedEndDate after StartDate" (the same day is not after)
    "planned-end-same-day": ({"Course": {"PlannedEndDate": "2026-09-01"}}, (
        "INVALID", "Course.PlannedEndDate", "Course.PlannedEndDate 2026-09-01 must be after Course.StartDate 2026-09-01")),
    # "learner at least 15 at StartDate" (14 the day before the 15th birthday)
    "age-14": ({"BirthDate": "2011-09-02"}, (
        "INVALID", "BirthDate",
        "the learner must be at least 15 on Course.StartDate 2026-09-01; BirthDate 2011-09-02 makes them 14")),
    # "Gender M, F, X or nil"
    "gender": ({"Gender": "U"}, ("INVALID", "Gender", "Gender must be M, F, X or nil, got 'U'")),
    # "LineManagerEmailAddress valid addresses"
    "line-manager-email": ({"LineManagerEmailAddress": "boss-at-example.org"}, (
        "INVALID", "LineManagerEmailAddress",
        "LineManagerEmailAddress must be a valid email address, got 'boss-at-example.org'")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_enrolment_rule_alone(la, ref, case):
    """learning-assistant.md "GroupEnrolment" validation: one broken field -> Success false, that one issue."""
    overrides, issue = CASES[case]
    result = enrol(la, learner(ref, **overrides))
    assert result.Success is False
    assert messages(result) == [issue]


def test_company_must_exist(la, ref):
    """learning-assistant.md "GroupEnrolment": "references must exist in this sandbox: company, ..."."""
    result = enrol(la, learner(ref, CompanyUUID="00000000-0000-0000-0000000000000000"))
    assert result.Success is False
    assert messages(result) == [("NOT_FOUND", "CompanyUUID", "CompanyUUID '00000000-0000-0000-0000000000000000' "
                                                             "is not a company of this account (see GetCompanies)")]


def test_course_uuid_and_qan_must_agree(la, ref):
    """learning-assistant.md "GroupEnrolment": course "by UUID or QAN; both given must agree"."""
    first, other = ref["frameworks"][0], ref["frameworks"][1]
    result = enrol(la, learner(ref, Course={"CourseUUID": first.CourseUUID, "CourseQAN": other.CourseQAN}))
    assert result.Success is False
    assert messages(result) == [("MISMATCH", "Course.CourseQAN",
                                 f"Course.CourseQAN {other.CourseQAN!r} is course {other.CourseUUID}, but "
                                 f"Course.CourseUUID is {first.CourseUUID} ({first.CourseQAN})")]


def test_update_cannot_move_the_enrolment_to_another_course(la, ref):
    """learning-assistant.md "UpdateEnrolment": CourseUUID names the enrolment; present fields are validated
    against the merged record, so a CourseQAN of another course is refused (not silently kept)."""
    created = enrol(la, learner(ref))
    assert created.Success is True, messages(created)
    first, other = ref["frameworks"][0], ref["frameworks"][1]
    result = la.call("enrolment_update", "UpdateEnrolment", User={
        "CandidateUUID": created.CandidateUUID, "CourseUUID": first.CourseUUID,
        "Course": {"CourseQAN": other.CourseQAN}})
    assert result.Success is False
    assert messages(result) == [("INVALID", "Course.CourseQAN",
                                 f"the course of an enrolment cannot be changed (it is {first.CourseQAN}, got "
                                 f"{other.CourseQAN!r}); enrol the learner on the other course")]


def test_update_enrolment_keeps_forename_birthdate_and_gender_even_when_sent(la, sandbox):
    """Spec "UpdateEnrolment": BirthDate, Forename and Gender are not updatable. Type_enrolmentUserUpdate has
    no such fields, so only a hand-written envelope can send them: they are ignored, the rest is applied."""
    from lxml import etree

    from .conftest import TNS, envelope, token_header

    la.authenticate()
    ref = reference(la)
    result = enrol(la, learner(ref))
    assert result.Success, messages(result)
    params = (f'<User><CandidateUUID>{result.CandidateUUID}</CandidateUUID>'
              f'<CourseUUID>{ref["framework"].CourseUUID}</CourseUUID><Forename>Changed</Forename>'
              '<BirthDate>1990-01-01</BirthDate><Gender>M</Gender><JobTitle>Site supervisor</JobTitle></User>')
    resp = la.raw("enrolment_update", envelope("UpdateEnrolment", params, token_header(la.token)))
    assert resp.status_code == 200, resp.text
    ret = etree.fromstring(resp.content).find(f".//{{{TNS}}}UpdateEnrolmentResponse/UpdateEnrolmentReturn")
    assert ret.findtext("Success") == "true", resp.text
    record = sandbox.get(f"/learning-assistant/candidates/{result.CandidateUUID}")["record"]
    assert (record["Forename"], record["BirthDate"], record["Gender"]) == ("Amelia", "2004-05-17", "F")
    assert record["JobTitle"] == "Site supervisor"
