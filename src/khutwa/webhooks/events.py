"""The event types a subscription may ask for, and who may ask for which (docs/integration.md).

Two audiences hold subscriptions:

- ``tamkeen`` (roles Tamkeen officer and Tamkeen finance: Tamkeen's systems): support events,
  payout batches, and the document and licence events that are Tamkeen's business — documents
  issued to Tamkeen, carrying a Tamkeen application number, or cited by a support application
  or a claim; licence events of licences whose holder has a support application or whose
  quotations a support application cites;
- ``holder`` (role licence holder: the holder's own ERP): the events of its own licences and
  documents, and support events where it is the beneficiary or the paid supplier.

Nobody else holds subscriptions; system administrators see all of them in the admin.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from khutwa.accounts.roles import Role

TAMKEEN = "tamkeen"
HOLDER = "holder"

PING = "ping"

#: event type → what it means (shown in the admin and by GET /webhooks/event-types).
EVENT_TYPES = {
    "document.issued": _("An official document was issued"),
    "document.credited": _("An invoice was corrected by a credit note"),
    "document.paid": _("A receipt paid (part of) an invoice"),
    "quotation.accepted": _("The customer accepted a quotation"),
    "quotation.declined": _("The customer declined a quotation"),
    "licence.issued": _("A licence was issued"),
    "licence.renewed": _("A licence was renewed"),
    "licence.amended": _("A licence was amended"),
    "licence.suspended": _("A licence was suspended"),
    "licence.reinstated": _("A licence was reinstated"),
    "licence.cancelled": _("A licence was cancelled"),
    "licence.expired": _("A licence expired"),
    "support.application.decided": _("Tamkeen decided a support application"),
    "claim.verified": _("Tamkeen verified a claim"),
    "claim.rejected": _("Tamkeen rejected a claim"),
    "claim.paid": _("A claim was paid"),
    "payout_batch.paid": _("A payout batch was paid"),
}

#: audience → the event types it may subscribe to (a ping is always allowed).
ALLOWED = {
    TAMKEEN: frozenset(EVENT_TYPES),
    HOLDER: frozenset(t for t in EVENT_TYPES if t != "payout_batch.paid"),
}

#: role → the audience of the subscriptions its holders create (first match wins).
AUDIENCE_OF_ROLE = (
    (Role.TAMKEEN_OFFICER, TAMKEEN),
    (Role.TAMKEEN_FINANCE, TAMKEEN),
    (Role.HOLDER, HOLDER),
)


def audience_of(user: object) -> str | None:
    """The audience a user's subscriptions belong to, or None: this user may not subscribe."""
    has_role = getattr(user, "has_role", None)
    if has_role is None:
        return None
    for role, audience in AUDIENCE_OF_ROLE:
        if has_role(role):
            return audience
    return None
