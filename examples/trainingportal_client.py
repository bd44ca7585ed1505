"""Trainingportal: publish a class, sell a seat through your reservation URL, report the outcome.

Run against `make run`:  python examples/trainingportal_client.py [--base-url http://127.0.0.1:8300]
Uses a fresh sandbox, whose provider points at the suite's example provider.
"""

import argparse
import sys
from datetime import date, timedelta

import requests

parser = argparse.ArgumentParser()
parser.add_argument("--base-url", default="http://127.0.0.1:8300")
base = parser.parse_args().base_url.rstrip("/")

sb = requests.post(f"{base}/_sim/sandboxes", json={"name": "example-trainingportal", "fixtures": "empty"}).json()
api = sb["baseUrls"]["trainingportal"]
provider = sb["credentials"]["trainingportal"]["providers"][0]
auth = {"username": provider["username"], "password": provider["password"]}
course = provider["courses"][0]["externalId"]
start = date.today() + timedelta(days=30)

# 1. publish a class (form-encoded POST, dotted names for nested objects, as Mintra documents)
r = requests.post(f"{api}/courses/get/{course}/courseClasses/add", data={
    **auth, "externalId": "EX-1", "location": "Stavanger", "availableSeats": 12,
    "enrollmentDeadline": str(start - timedelta(days=7)), "cancellationDeadline": str(start - timedelta(days=3)),
    "startDate": str(start), "endDate": str(start + timedelta(days=2)), "startTime": "08:30", "endTime": "16:00",
    "address.addressLine1": "Forus Allé 1", "address.addressLine2": "Hall B", "address.city": "Stavanger",
    "address.zipCode": "4014", "address.country": "Norway", "price.currency": "NOK", "price.amount": "9500.00"})
print("addClass", r.status_code, r.json())

# 2. a student books a seat on Trainingportal: it calls your reservation URL (here: the example provider)
booking = requests.post(f"{base}/_sim/sandboxes/{sb['id']}/trainingportal/bookings",
                        json={"username": provider["username"], "externalCourseId": course,
                              "externalCourseClassId": "EX-1"}).json()
ref = booking["booking"]["bookingReference"]
print("booked", ref, "delivery", booking["delivery"]["outcome"])

# 3. the booking becomes visible after the confirmation delay (2 s of sandbox clock)
print("before the delay:", requests.post(f"{api}/booking/get/{ref}", data=auth).status_code)
requests.post(f"{base}/_sim/sandboxes/{sb['id']}/clock", json={"advance": "PT3S"})
info = requests.post(f"{api}/booking/get/{ref}", data=auth)
print("getBookingInformation", info.status_code, info.json()["firstname"], info.json()["lastname"])

# 4. after the course: report completion (the clock moves to the class's end)
requests.post(f"{base}/_sim/sandboxes/{sb['id']}/clock", json={"set": f"{start + timedelta(days=3)}T12:00:00Z"})
done = requests.post(f"{api}/booking/update/{ref}", data={**auth, "newStatus": "COMPLETED",
                                                         "completionDate": str(start + timedelta(days=2))})
print("updateBookingStatus", done.status_code, done.json())

requests.delete(f"{base}/_sim/sandboxes/{sb['id']}")
sys.exit(0 if (r.status_code, info.status_code, done.json().get("sucessful")) == (200, 200, "true") else 1)
