"""Writes about people: accounts, roles and API tokens."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from khutwa.accounts.models import ApiToken, User
from khutwa.accounts.roles import ROLE_PERMISSIONS, STAFF_ROLES
from khutwa.audit.services import audit_record


def user_set_roles(*, user: User, roles: Iterable[str], actor: User | None) -> User:
    roles = sorted(set(roles))
    unknown = [role for role in roles if role not in ROLE_PERMISSIONS]
    if unknown:
        raise ValueError(f"unknown roles: {unknown}")
    with transaction.atomic():
        before = sorted(user.groups.values_list("name", flat=True))
        user.groups.set(Group.objects.filter(name__in=roles))
        is_staff = bool(set(roles) & STAFF_ROLES) or user.is_superuser
        if user.is_staff != is_staff:
            user.is_staff = is_staff
            user.save(update_fields=["is_staff"])
        user._role_names = set(roles)
        audit_record(
            actor=actor,
            action="accounts.user.roles",
            obj=user,
            before={"roles": before},
            after={"roles": roles},
        )
    return user


def api_token_issue(*, username: str, password: str) -> tuple[str, ApiToken] | None:
    """Check the credentials and issue a bearer token; None when they are wrong."""
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        return None
    raw = ApiToken.new_raw()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            key_hash=ApiToken.hash(raw),
            prefix=raw[:8],
            expires_at=timezone.now() + dt.timedelta(hours=settings.KHUTWA_API_TOKEN_HOURS),
        )
        audit_record(actor=user, action="accounts.api_token.issue", obj=user, after=token.as_dict())
    return raw, token


def api_token_user(raw: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    if not raw or len(raw) > 200:
        return None
    try:
        digest = ApiToken.hash(raw)
    except UnicodeEncodeError:
        return None
    token = ApiToken.objects.live().select_related("user").filter(key_hash=digest).first()
    if token is None or not token.user.is_active:
        return None
    return token.user
