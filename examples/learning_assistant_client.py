"""Learning Assistant: authenticate, read reference data and enrol a learner over SOAP with zeep.

Run against `make run`:  python examples/learning_assistant_client.py [--base-url http://127.0.0.1:8300]
The AuthToken header (id, uuid) comes back from Authenticate and goes on every later call.
"""

import argparse
import sys
import uuid

import requests
from zeep import Client, xsd

parser = argparse.ArgumentParser()
parser.add_argument("--base-url", default="http://127.0.0.1:8300")
base = parser.parse_args().base_url.rstrip("/")

sb = requests.post(f"{base}/_sim/sandboxes", json={"name": "example-la", "fixtures": "empty"}).json()
soap = sb["baseUrls"]["learningAssistant"]
login = sb["credentials"]["learningAssistant"]


def client(service):
    return Client(f"{soap}/{service}.cfc?wsdl")


auth = client("authenticate")
answer = auth.service.Authenticate(szUsername=login["username"], szPassword=login["password"])
token = answer["header"]["authToken"] if isinstance(answer, dict) else None
if token is None:  # zeep hides undeclared headers: read them from the raw answer
    with auth.settings(raw_response=True):
        raw = auth.service.Authenticate(szUsername=login["username"], szPassword=login["password"])
    from lxml import etree

    doc = etree.fromstring(raw.content)
    token = {"id": doc.findtext(".//{*}authToken/{*}id"), "uuid": doc.findtext(".//{*}authToken/{*}uuid")}
print("token id", token["id"])

header = xsd.Element("{https://api.learningassistant.com}authToken", xsd.ComplexType([
    xsd.Element("id", xsd.String()), xsd.Element("uuid", xsd.String())]))(**token)

frameworks = client("course").service.GetFrameworks(_soapheaders=[header])
trainers = client("user").service.GetTrainers(_soapheaders=[header])
companies = client("company").service.GetCompanies(_soapheaders=[header])
framework = frameworks[0]
assessor = next(t for t in trainers if t.blnAssessor and not t.blnVerifier)
verifier = next(t for t in trainers if t.blnVerifier and not t.blnAssessor)
print("course", framework.Title, "| assessor", assessor.Surname, "| verifier", verifier.Surname)

user = {"Forename": "Amelia", "Surname": "Thornton", "BirthDate": "2004-05-17", "Gender": "F",
        "EmailAddress": "amelia.thornton@example.org", "SourceSystemLearnerUUID": str(uuid.uuid4()),
        "CompanyUUID": companies[0].CompanyUUID, "NationalInsuranceNumber": "JT482913C",
        "Course": {"CourseUUID": framework.CourseUUID, "StartDate": "2026-09-01", "PlannedEndDate": "2027-09-01",
                   "PrimaryAssessorUUID": assessor.TrainerUUID, "PrimaryVerifierUUID": verifier.TrainerUUID}}
result = client("enrolment").service.GroupEnrolment(User=user, blnAssignEvaluationOnEnroll=False,
                                                    blnSendLoginDetailsOnEnroll=True, _soapheaders=[header])
print("enrolled:", result.Success, result.CandidateUUID, "ULN", result.ULN)

bad = client("enrolment").service.GroupEnrolment(User={**user, "ULN": "1234567890", "Forename": None},
                                                 blnAssignEvaluationOnEnroll=False,
                                                 blnSendLoginDetailsOnEnroll=False, _soapheaders=[header])
for m in bad.MessageList or []:
    print("  issue:", m.Code, m.Field, m.Message)

requests.delete(f"{base}/_sim/sandboxes/{sb['id']}")
sys.exit(0 if result.Success and not bad.Success and len(bad.MessageList) >= 2 else 1)
