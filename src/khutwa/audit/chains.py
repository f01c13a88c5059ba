"""Which chain an audit event belongs to (its partition key), derived from the object it is about.

One explicit table, by model label: the events of a licence's documents and of the licence
itself form the chain `licence:<id>`; licensing work (the application, its attachments, its
reviews) `application:<id>`; Tamkeen support (applications, claims) `programme:<id>`; account
events (the user, their customer book, preferences, beneficiary record) `user:<id>`; everything
else `system`. Writers of one chain lock only its head, so the mapping decides what runs one
at a time: documents of one licence already do (gapless numbering), two licences never do.
`audit_record(..., chain=...)` overrides the mapping.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import models

SYSTEM_CHAIN = "system"
#: The most characters of a chain key (the column's length).
CHAIN_MAX_LENGTH = 64


def _licence(obj: models.Model) -> str:
    return f"licence:{obj.licence_id}"  # type: ignore[attr-defined]


def _application(obj: models.Model) -> str:
    return f"application:{obj.application_id}"  # type: ignore[attr-defined]


def _programme(obj: models.Model) -> str:
    return f"programme:{obj.programme_id}"  # type: ignore[attr-defined]


def _claim_programme(obj: models.Model) -> str:
    return f"programme:{obj.application.programme_id}"  # type: ignore[attr-defined]


def _user(obj: models.Model) -> str:
    return f"user:{obj.user_id}"  # type: ignore[attr-defined]


def _own(prefix: str) -> Callable[[models.Model], str]:
    return lambda obj: f"{prefix}:{obj.pk}"


#: Model label → the chain of the events about such an object.
CHAIN_OF: dict[str, Callable[[models.Model], str]] = {
    "licensing.licence": _own("licence"),
    "licensing.licenceevent": _licence,
    "documents.document": _licence,
    "licensing.application": _own("application"),
    "licensing.attachment": _application,
    "approvals.review": _application,
    "support.programme": _own("programme"),
    "support.supportapplication": _programme,
    "support.claim": _claim_programme,
    "accounts.user": _own("user"),
    "documents.customer": lambda obj: f"user:{obj.owner_id}",  # type: ignore[attr-defined]
    "notifications.preference": _user,
    "support.beneficiary": _user,
}


def chain_for(obj: models.Model | None) -> str:
    """The chain key of the events about `obj` (`system` when nothing maps it)."""
    if obj is None or obj.pk is None:
        return SYSTEM_CHAIN
    derive = CHAIN_OF.get(obj._meta.label_lower)
    return derive(obj) if derive is not None else SYSTEM_CHAIN
