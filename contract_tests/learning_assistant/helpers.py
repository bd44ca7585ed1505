"""Building blocks for the Learning Assistant contract tests: a valid learner from the sandbox's own lists."""

from __future__ import annotations

import uuid
from typing import Any


def reference(la) -> dict[str, Any]:
    frameworks = la.call("course", "GetFrameworks")
    trainers = la.call("user", "GetTrainers")
    companies = la.call("company", "GetCompanies")
    return {"frameworks": frameworks, "trainers": trainers, "companies": companies,
            "assessor": next(t for t in trainers if t.blnAssessor and not t.blnVerifier),
            "verifier": next(t for t in trainers if t.blnVerifier and not t.blnAssessor),
            "both": next(t for t in trainers if t.blnAssessor and t.blnVerifier),
            "framework": frameworks[0], "company": companies[0]}


def learner(ref: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    fw = ref["framework"]
    course = {"CourseUUID": fw.CourseUUID, "CourseQAN": None, "StartDate": "2026-09-01",
              "PlannedEndDate": "2027-09-01", "PrimaryAssessorUUID": ref["assessor"].TrainerUUID,
              "PrimaryVerifierUUID": ref["verifier"].TrainerUUID, "Units": None}
    course.update(overrides.pop("Course", {}))
    user = {"Forename": "Amelia", "Surname": "Thornton", "BirthDate": "2004-05-17", "Gender": "F",
            "EmailAddress": "amelia.thornton@example.org", "SourceSystemLearnerUUID": f"MIS-{uuid.uuid4()}",
            "CompanyUUID": ref["company"].CompanyUUID, "NationalInsuranceNumber": "JT482913C", "ULN": "9276308686",
            "EthnicityID": "31", "NationalityID": "GB", "Course": course,
            "Address": {"AddressLine1": "12 Mill Lane", "Town": "Leeds", "Postcode": "LS1 4AP"}}
    user.update(overrides)
    return user


def enrol(la, user: dict[str, Any], send_login: bool = False, assign: bool = False) -> Any:
    # keywords: zeep 4.3 drops soapenc array items from a dict passed positionally
    return la.call("enrolment", "GroupEnrolment", User=user, blnAssignEvaluationOnEnroll=assign,
                   blnSendLoginDetailsOnEnroll=send_login)


def messages(result: Any) -> list[tuple[str, str, str]]:
    return [(m.Code, m.Field, m.Message) for m in (result.MessageList or [])]
