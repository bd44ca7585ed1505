"""Reference data, GroupEnrolment and UpdateEnrolment through zeep (spec: learning-assistant.md "Reference
data", "GroupEnrolment", "UpdateEnrolment"; vendor: method.cfm GroupEnrolment, UpdateEnrolment)."""

from __future__ import annotations

import re

import pytest
import requests

from .helpers import enrol, learner, messages, reference


@pytest.fixture
def ref(la):
    la.authenticate()
    return reference(la)


def test_frameworks_cover_levels_2_to_5_with_mandatory_and_optional_units(la, ref):
    """Spec "Reference data": >= 6 frameworks, levels 2-5, QAN NNN/NNNN/C, mandatory and optional units."""
    frameworks = ref["frameworks"]
    assert len(frameworks) >= 6
    assert {2, 3, 4, 5} <= {f.Level for f in frameworks}
    for fw in frameworks:
        assert re.fullmatch(r"\d{3}/\d{4}/[0-9X]", fw.CourseQAN)
        assert re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{16}", fw.CourseUUID)
        assert {u.blnMandatory for u in fw.Units} == {True, False}
        assert all(u.Outcomes and u.UnitReference and u.Title for u in fw.Units)
    assert "601/2977/3" in {f.CourseQAN for f in frameworks}


def test_trainers_companies_and_lookups(la, ref):
    """Spec "Reference data": assessors, verifiers, some both; ILR ethnicities; ISO nationalities; companies."""
    roles = {(t.blnAssessor, t.blnVerifier) for t in ref["trainers"]}
    assert {(True, False), (False, True), (True, True)} <= roles
    assert all(c.CompanyUUID and c.Name and c.Postcode for c in ref["companies"])
    ethnicities = {e.ID: e.Description for e in la.call("user", "GetEthnicities")}
    assert list(ethnicities) == [str(i) for i in range(31, 48)] + ["98", "99"]
    assert ethnicities["47"] == "Arab"
    assert ethnicities["98"] == "Any other ethnic group"
    assert ethnicities["99"] == "Not provided"
    nationalities = {n.ID: n.Description for n in la.call("user", "GetNationalities")}
    assert len(nationalities) >= 240
    assert all(re.fullmatch(r"[A-Z]{2}", code) for code in nationalities)
    assert nationalities["GB"] == "United Kingdom" and nationalities["IE"] == "Ireland"


def test_reference_data_is_reproducible_from_the_seed(sim):
    """Control plane "Sandboxes": the same seed gives the same generated ids and UUIDs."""
    a = sim.create_sandbox(seed=99, fixtures="empty")
    b = sim.create_sandbox(seed=99, fixtures="empty")
    try:
        assert a.get("/learning-assistant/reference") == b.get("/learning-assistant/reference")
    finally:
        a.delete()
        b.delete()


@pytest.mark.mutating
@pytest.mark.control_plane
def test_group_enrolment_success_stores_the_candidate(la, ref, sandbox):
    """Spec "GroupEnrolment": Success, CandidateUUID, SourceSystemLearnerUUID echoed, ULN; stored with history."""
    user = learner(ref)
    result = enrol(la, user)
    assert result.Success is True, messages(result)
    assert result.MessageList in (None, [])
    assert re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{16}", result.CandidateUUID)
    assert (result.SourceSystemLearnerUUID, result.ULN) == (user["SourceSystemLearnerUUID"], "9276308686")
    listed = la.call("user", "GetCandidates", ref["framework"].CourseQAN, True, True, False)
    mine = [c for c in listed if c.CandidateUUID == result.CandidateUUID]
    assert len(mine) == 1
    assert (mine[0].Forename, mine[0].Surname, mine[0].StartDate, mine[0].AnticipatedEndDate, mine[0].Status,
            mine[0].CourseUUID, mine[0].ULN) == ("Amelia", "Thornton", "2026-09-01", "2027-09-01", "Active",
                                                 ref["framework"].CourseUUID, "9276308686")
    detail = sandbox.get(f"/learning-assistant/candidates/{result.CandidateUUID}")
    assert [h["action"] for h in detail["history"]] == ["enrolled"]
    mandatory = [u.UnitUUID for u in ref["framework"].Units if u.blnMandatory]
    assert [u["unitUUID"] for u in detail["progress"]["units"]] == mandatory
    assert detail["record"]["Address"]["Town"] == "Leeds"


@pytest.mark.mutating
def test_absent_uln_gets_a_valid_new_one(la, ref):
    """Spec "GroupEnrolment": ULN absent -> the simulator issues a valid ULN (weights 10..1, mod 11 = 10)."""
    result = enrol(la, learner(ref, ULN=None))
    assert result.Success is True, messages(result)
    uln = result.ULN
    assert re.fullmatch(r"[1-9]\d{9}", uln)
    assert sum(int(d) * w for d, w in zip(uln, range(10, 0, -1), strict=True)) % 11 == 10


@pytest.mark.mutating
def test_enrol_by_qan_with_chosen_units(la, ref):
    """Spec "GroupEnrolment": course by QAN; Units each of the course, every mandatory included."""
    fw = ref["framework"]
    units = [u.UnitUUID for u in fw.Units]
    result = enrol(la, learner(ref, Course={"CourseUUID": None, "CourseQAN": fw.CourseQAN, "Units": units}))
    assert result.Success is True, messages(result)
    progress = la.call("user", "GetProgress", result.CandidateUUID)
    assert [u.UnitUUID for u in progress.Units] == units
    assert progress.CourseUUID == fw.CourseUUID


@pytest.mark.mutating
def test_message_list_holds_every_issue_at_once(la, ref):
    """Spec "GroupEnrolment": on failure Success false, ids nil, MessageList holds every issue, not the first."""
    fw = ref["framework"]
    optional = next(u for u in fw.Units if not u.blnMandatory)
    user = learner(ref, Forename=None, ULN="1234567890", NationalInsuranceNumber="QQ123456C", EthnicityID="12",
                   NationalityID="XX", EmailAddress="not-an-email", Gender="Q", BirthDate="2015-02-30",
                   Course={"PrimaryVerifierUUID": ref["assessor"].TrainerUUID, "PlannedEndDate": "2026-08-01",
                           "Units": [optional.UnitUUID, "NO-SUCH-UNIT"]})
    result = enrol(la, user)
    assert result.Success is False
    assert (result.CandidateUUID, result.SourceSystemLearnerUUID, result.ULN) == (None, None, None)
    codes = [(m[0], m[1]) for m in messages(result)]
    assessor = ref["assessor"]
    expected = [
        ("REQUIRED", "Forename"),
        ("ROLE", "Course.PrimaryVerifierUUID"),
        ("SAME_TRAINER", "Course.PrimaryVerifierUUID"),
        ("NOT_FOUND", "Course.Units[1]"),
    ] + [("MANDATORY_UNIT", "Course.Units") for u in fw.Units if u.blnMandatory] + [
        ("INVALID", "ULN"), ("INVALID", "NationalInsuranceNumber"), ("NOT_FOUND", "EthnicityID"),
        ("NOT_FOUND", "NationalityID"), ("INVALID", "EmailAddress"), ("INVALID", "Gender"), ("INVALID", "BirthDate"),
        ("INVALID", "Course.PlannedEndDate")]
    assert codes == expected
    text = dict(((m[0], m[1]), m[2]) for m in messages(result))
    assert text[("ROLE", "Course.PrimaryVerifierUUID")] == (
        f"Course.PrimaryVerifierUUID {assessor.TrainerUUID!r} ({assessor.Forename} {assessor.Surname}) is not a "
        "verifier (blnVerifier is false)")
    assert text[("INVALID", "BirthDate")] == "BirthDate must be a date as yyyy-mm-dd, got '2015-02-30'"
    assert text[("INVALID", "Course.PlannedEndDate")] == (
        "Course.PlannedEndDate 2026-08-01 must be after Course.StartDate 2026-09-01")


@pytest.mark.mutating
def test_same_learner_on_same_course_is_a_duplicate(la, ref):
    """Spec "GroupEnrolment": the same SourceSystemLearnerUUID on the same course -> Code DUPLICATE."""
    user = learner(ref)
    first = enrol(la, user)
    assert first.Success is True
    again = enrol(la, user)
    assert again.Success is False
    assert messages(again) == [("DUPLICATE", "SourceSystemLearnerUUID",
                                f"SourceSystemLearnerUUID {user['SourceSystemLearnerUUID']!r} is already enrolled on "
                                f"course {ref['framework'].CourseQAN} as candidate {first.CandidateUUID}")]
    other = ref["frameworks"][1]
    elsewhere = enrol(la, learner(ref, SourceSystemLearnerUUID=user["SourceSystemLearnerUUID"],
                                  Course={"CourseUUID": other.CourseUUID}))
    assert elsewhere.Success is True, messages(elsewhere)


@pytest.mark.mutating
@pytest.mark.control_plane
def test_login_email_with_a_24_hour_link_and_resend(la, ref, sandbox, sim):
    """Spec "GroupEnrolment": blnSendLoginDetailsOnEnroll -> login email, link valid 24 h; re-sendable."""
    result = enrol(la, learner(ref), send_login=True)
    assert result.Success is True
    emails = sandbox.get(f"/emails?candidate={result.CandidateUUID}")["items"]
    assert len(emails) == 1
    email = emails[0]
    assert (email["to"], email["expired"], email["sends"]) == ("amelia.thornton@example.org", False, 1)
    assert email["subject"] == "Your Learning Assistant login details"
    sandbox.clock.advance("PT24H")
    assert sandbox.get(f"/emails?candidate={result.CandidateUUID}")["items"][0]["expired"] is True
    resent = sandbox.post(f"/emails/{email['id']}/resend")
    assert (resent["expired"], resent["sends"]) == (False, 2)
    assert resent["link"] != email["link"]
    la.authenticate()  # a day idle: the token has expired
    no_email = enrol(la, learner(ref, EmailAddress=None), send_login=True)
    assert messages(no_email) == [("REQUIRED", "EmailAddress",
                                   "EmailAddress is required when blnSendLoginDetailsOnEnroll is true")]


@pytest.mark.mutating
@pytest.mark.control_plane
def test_update_changes_one_field_and_keeps_the_others(la, ref, sandbox):
    """Spec "UpdateEnrolment": absent or nil fields keep the stored value; history kept."""
    created = enrol(la, learner(ref))
    update = {"CandidateUUID": created.CandidateUUID, "CourseUUID": ref["framework"].CourseUUID,
              "JobTitle": "Apprentice bricklayer"}
    result = la.call("enrolment_update", "UpdateEnrolment", User=update)
    assert result.Success is True, messages(result)
    assert (result.CandidateUUID, result.ULN) == (created.CandidateUUID, "9276308686")
    detail = sandbox.get(f"/learning-assistant/candidates/{created.CandidateUUID}")
    record = detail["record"]
    assert record["JobTitle"] == "Apprentice bricklayer"
    assert (record["Surname"], record["EmailAddress"], record["NationalInsuranceNumber"], record["Address"]["Town"],
            record["Course"]["StartDate"]) == ("Thornton", "amelia.thornton@example.org", "JT482913C", "Leeds",
                                               "2026-09-01")
    assert [h["action"] for h in detail["history"]] == ["enrolled", "updated"]
    assert detail["history"][1]["changes"] == {"JobTitle": {"from": None, "to": "Apprentice bricklayer"}}


@pytest.mark.mutating
def test_update_validates_the_merged_record(la, ref):
    """Spec "UpdateEnrolment": present fields are validated by the GroupEnrolment rules; NOT_FOUND for a wrong
    candidate or a course the candidate is not on."""
    created = enrol(la, learner(ref))
    course = ref["framework"].CourseUUID
    bad = la.call("enrolment_update", "UpdateEnrolment", User={
        "CandidateUUID": created.CandidateUUID, "CourseUUID": course, "EmailAddress": "nope",
        "Course": {"PlannedEndDate": "2026-01-01"}})
    assert messages(bad) == [
        ("INVALID", "EmailAddress", "EmailAddress must be a valid email address, got 'nope'"),
        ("INVALID", "Course.PlannedEndDate", "Course.PlannedEndDate 2026-01-01 must be after Course.StartDate "
                                             "2026-09-01")]
    unknown = la.call("enrolment_update", "UpdateEnrolment", User={"CandidateUUID": "NOPE", "CourseUUID": course})
    assert messages(unknown) == [("NOT_FOUND", "CandidateUUID", "CandidateUUID 'NOPE' is not a candidate of this "
                                                                "account")]
    other = ref["frameworks"][1].CourseUUID
    wrong = la.call("enrolment_update", "UpdateEnrolment", User={"CandidateUUID": created.CandidateUUID,
                                                            "CourseUUID": other})
    assert messages(wrong) == [("NOT_FOUND", "CourseUUID", f"candidate {created.CandidateUUID} is not enrolled on "
                                                           f"course {other!r}")]
    missing = la.call("enrolment_update", "UpdateEnrolment", User={})
    assert [m[:2] for m in messages(missing)] == [("REQUIRED", "CandidateUUID"), ("REQUIRED", "CourseUUID")]


@pytest.mark.mutating
def test_get_candidates_filters(la, ref, sandbox):
    """Spec "GetCandidates": CourseQAN, blnActive, blnCompleted, blnTest."""
    everyone = la.call("user", "GetCandidates", "", True, True, True)
    assert {c.Status for c in everyone} == {"Active", "Completed"}
    completed = la.call("user", "GetCandidates", "", False, True, True)
    assert completed and all(c.Status == "Completed" for c in completed)
    active = la.call("user", "GetCandidates", "", True, False, True)
    assert len(active) + len(completed) == len(everyone)
    no_test = la.call("user", "GetCandidates", "", True, True, False)
    assert len(no_test) == len(everyone) - 1
    assert "NB-TEST-000001" not in {c.SourceSystemLearnerUUID for c in no_test}
    qan = everyone[0].CourseQAN
    assert {c.CourseQAN for c in la.call("user", "GetCandidates", qan, True, True, True)} == {qan}


def test_unknown_service_and_plain_get(sim):
    """Spec "Protocol": <service>.cfc; an unknown service is a 404 with a fault body."""
    resp = requests.get(f"{sim.url}/webservices/soap/nothing.cfc?wsdl", timeout=10)
    assert resp.status_code == 404
    assert b"no such service nothing.cfc" in resp.content
    page = requests.get(f"{sim.url}/webservices/soap/user.cfc", timeout=10)
    assert page.status_code == 200 and b"GetProgressFull" in page.content
