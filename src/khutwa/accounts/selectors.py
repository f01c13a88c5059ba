"""Reads about people."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Aggregate, FilteredRelation, OuterRef, Q, Subquery, TextField

from khutwa.accounts.models import User
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


class _NamesAsJson(Aggregate):
    """The names aggregated as a JSON array in text (exact whatever a group's name holds):
    SQLite's json_group_array, PostgreSQL's json_agg."""

    function = "JSON_GROUP_ARRAY"
    output_field = TextField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "%(function)s(%(expressions)s)::text"
        return self.as_sql(compiler, connection, function="JSON_AGG", template=template)


def user_for_session(pk: Any, *, device_id: int | None = None) -> User | None:
    """The user a session names, with what every request asks of them, in one query: their
    roles (group names, `User.role_names`), their enterprise (`User.verified_cr`) and, when the
    session names a TOTP device (`device_id`), that device if it is still theirs
    (`session_device`, None when removed). None when the account is gone. Nothing is kept
    between requests: a revoked role, a removed device or a deactivated account shows at once."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    roles = (
        User.groups.through.objects.filter(user_id=OuterRef("pk"))
        .values("user_id")
        .annotate(names=_NamesAsJson("group__name"))
        .values("names")  # type: ignore[misc]  # the stubs miss the annotation
    )
    qs = User.objects.select_related("enterprise").annotate(session_roles=Subquery(roles))
    if device_id is not None:
        relation = TOTPDevice._meta.get_field("user").related_query_name()
        qs = qs.annotate(
            session_device=FilteredRelation(relation, condition=Q(**{f"{relation}__pk": device_id}))
        ).select_related("session_device")  # type: ignore[misc]  # the stubs miss FilteredRelation
    try:
        user = qs.get(pk=pk)
    except (User.DoesNotExist, ValueError, TypeError):
        return None
    user._role_names = set(json.loads(user.session_roles or "[]"))
    return user
