"""Bluedrop360: submit a learning record to the MOL CMS and list a class in the MLTSD Marketplace.

Run against `make run`:  python examples/bluedrop_client.py [--base-url http://127.0.0.1:8300]
"""

import argparse
import sys
import uuid
from datetime import UTC, datetime, timedelta

import requests

parser = argparse.ArgumentParser()
parser.add_argument("--base-url", default="http://127.0.0.1:8300")
base = parser.parse_args().base_url.rstrip("/")

sb = requests.post(f"{base}/_sim/sandboxes", json={"name": "example-bluedrop", "fixtures": "empty"}).json()
api = sb["baseUrls"]["bluedrop"]
network = sb["credentials"]["bluedrop"]["networks"][0]
headers = {"Authorization": network["authorization"], "Content-Type": "application/json"}

record = {
    "learningRecordId": str(uuid.uuid4()), "networkKey": network["networkKey"], "trainingStandardKey": "WAH-E-I",
    "completionDate": (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    "instructorNames": "Pat Instructor; Sam Second",
    "learner": {"uniqueId": "L-1001", "firstname": "Jordan", "lastname": "Tremblay", "birthYear": 1990,
                "personalEmail": "jordan.tremblay@example.ca", "mobilePhone": "4165550123",
                "address": {"street-address": "100 Queen St W", "locality": "Toronto", "region": "ON",
                            "postal-code": "M5H 2N2", "country-name": "Canada"}},
}
r1 = requests.post(f"{api}/learning-records", json=record, headers=headers)
print("learning record", r1.status_code)

start = (datetime.now(UTC) + timedelta(days=14)).replace(hour=13, minute=0, second=0, microsecond=0)
offering = {
    "offeringId": "WAH-2027-01", "networkKey": network["networkKey"], "trainingStandardKey": "WAH-E-I",
    "deliveryMethod": "in-person", "courseName": "Working at Heights", "seatsRemaining": 10, "price": 125.00,
    "address": {"street-address": "100 Queen St W", "locality": "Toronto", "region": "ON",
                "postal-code": "M5H 2N2", "country-name": "Canada"},
    "events": [{"start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end": (start + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%SZ")}],
    "externalRegistrationUrl": "https://provider.example.ca/register/WAH-2027-01",
}
r2 = requests.post(f"{api}/class-offerings", json=offering, headers=headers)
print("class offering", r2.status_code)

bad = requests.post(f"{api}/learning-records", json={**record, "learner": {**record["learner"], "birthYear": 90}},
                    headers=headers)
print("a bad record:", bad.status_code, bad.json())

learners = requests.get(f"{base}/_sim/sandboxes/{sb['id']}/bluedrop/learners").json()
market = requests.get(f"{base}/_sim/sandboxes/{sb['id']}/bluedrop/marketplace").json()
print("learners on file:", learners["total"], "| marketplace listings:", market["total"])

requests.delete(f"{base}/_sim/sandboxes/{sb['id']}")
sys.exit(0 if (r1.status_code, r2.status_code, bad.status_code) == (204, 204, 400) else 1)
