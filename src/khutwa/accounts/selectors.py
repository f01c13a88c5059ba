"""Reads about people."""

from __future__ import annotations

from typing import Any

from khutwa.accounts.roles import Role

#: The roles a national-identity login may hold: anyone else acts for an authority and logs in
#: with a password and a second factor (accounts/oidc.py).
CITIZEN_ROLES = frozenset({Role.APPLICANT, Role.HOLDER})


def contact_confirmed(user: Any) -> bool:
    """Has the user proved an e-mail address or a mobile number of theirs? Needed to apply for
    a licence: the decision, the requests for information and the licence reach them there."""
    return user.email_confirmed_at is not None or user.phone_confirmed_at is not None


def is_citizen_only(user: Any) -> bool:
    """Holds no role beyond applicant and licence holder, and reaches no admin."""
    if user.is_staff or user.is_superuser:
        return False
    return user.role_names() <= CITIZEN_ROLES
