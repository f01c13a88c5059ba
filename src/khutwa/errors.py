"""Refusals raised by domain services: a reason for a person, an HTTP-ish status and a field.

Services raise `Refused` for a rule that says no (an illegal transition, a duplicate, a
licence that is not active); `django.core.exceptions.ValidationError` stays the error for
malformed input. Pages show the message; the API turns it into problem+json.
"""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    status = 409

    def __init__(self, message: Any, *, field: str = "", status: int | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return str(self.message)


class NotFound(Refused):
    """The object does not exist for this caller (another party's object looks absent)."""

    status = 404
