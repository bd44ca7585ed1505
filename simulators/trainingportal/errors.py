"""Trainingportal's wire errors: ``{"errorMessage": "..."}`` with the status Mintra's API uses.

Status answers (updateBookingStatus) carry the documented misspelled flag as well:
``{"sucessful": "false", "errorMessage": "..."}``.
"""

from __future__ import annotations

from typing import Any


class TrainingportalError(Exception):
    status = 400

    def __init__(self, message: str, *, status_flag: bool = False) -> None:
        super().__init__(message)
        self.message = message
        # updateBookingStatus answers its failures in the status shape (quirk: "sucessful" as a string)
        self.status_flag = status_flag

    def body(self) -> dict[str, Any]:
        if self.status_flag:
            return {"sucessful": "false", "errorMessage": self.message}
        return {"errorMessage": self.message}


class BadParameter(TrainingportalError):
    status = 400


class Unauthorized(TrainingportalError):
    status = 401

    def __init__(self) -> None:
        super().__init__("Invalid username or password")


class NotFound(TrainingportalError):
    status = 404


class Conflict(TrainingportalError):
    status = 409


class TooLarge(TrainingportalError):
    status = 413


BOOKING_NOT_FOUND = "Booking not found"
