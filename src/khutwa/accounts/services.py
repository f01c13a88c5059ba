"""Writes about people: accounts, roles and API tokens."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from khutwa.accounts.models import ApiToken, User
from khutwa.accounts.roles import ROLE_PERMISSIONS, STAFF_ROLES
from khutwa.accounts.security import confirmed_device
from khutwa.audit.services import audit_record
from khutwa.errors import Refused


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


def api_token_issue(*, user: User) -> tuple[str, ApiToken]:
    """Issue a bearer token to a user whose credentials the caller has checked (api/api.py:
    password through django-axes, and the second factor of staff). Only its hash is stored."""
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


def api_token_live(raw: str) -> ApiToken | None:
    """The live (unexpired, unrevoked) token of an active user that `raw` is, or None."""
    if not raw or len(raw) > 200:
        return None
    try:
        digest = ApiToken.hash(raw)
    except UnicodeEncodeError:
        return None
    token = ApiToken.objects.live().select_related("user").filter(key_hash=digest).first()
    if token is None or not token.user.is_active:
        return None
    return token


def api_token_user(raw: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    token = api_token_live(raw)
    return token.user if token is not None else None


def api_token_revoke(*, token: ApiToken, actor: User | None) -> ApiToken:
    """Revoke one token (the API's logout); it is refused from then on."""
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            audit_record(
                actor=actor,
                action="accounts.api_token.revoke",
                obj=locked.user,
                after={**locked.as_dict(), "revoked_at": locked.revoked_at.isoformat()},
            )
    return locked


def api_tokens_revoke_all(*, user: User, actor: User | None, reason: str) -> int:
    """Revoke every live token of a user (password changed or reset, or an administrator's
    action); returns how many were live."""
    with transaction.atomic():
        live = list(ApiToken.objects.live().select_for_update().filter(user=user))
        now = timezone.now()
        ApiToken.objects.filter(pk__in=[t.pk for t in live]).update(revoked_at=now)
        audit_record(
            actor=actor,
            action="accounts.api_token.revoke_all",
            obj=user,
            after={"reason": reason, "revoked": sorted(t.prefix for t in live)},
        )
    return len(live)


def password_set(*, user: User, password: str | None, actor: User | None, reason: str) -> User:
    """Give a user a new password (already validated by the form that asked for it), or none
    (`password=None`: they can no longer log in with one), and revoke every API token of theirs.
    Every other session of theirs ends by itself: Django checks each session's hash of the
    password on every request. The caller keeps its own session alive with
    update_session_auth_hash when it is the user's."""
    with transaction.atomic():
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save(update_fields=["password"])
        api_tokens_revoke_all(user=user, actor=actor, reason=f"password {reason}")
        audit_record(actor=actor, action="accounts.user.password", obj=user, after={"reason": reason})
    return user


def otp_device_prepare(*, user: User) -> TOTPDevice:
    """The unconfirmed TOTP device that the user is setting up (made once, then reused until
    confirmed, so that reloading the page keeps the same secret)."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Khutwa", confirmed=False)
            audit_record(actor=user, action="accounts.otp.prepare", obj=user, after={"device": device.pk})
    return device


def otp_device_confirm(*, user: User, device: TOTPDevice, code: str) -> bool:
    """Confirm a device being set up with a code it shows; it replaces any other device of the
    user. False (nothing confirmed) when the code is wrong."""
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user)
        if locked.confirmed or not locked.verify_token(code):
            return False
        locked.confirmed = True
        locked.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=locked.pk).delete()
        audit_record(actor=user, action="accounts.otp.confirm", obj=user, after={"device": locked.pk})
    device.refresh_from_db()
    return True


def otp_devices_reset(*, user: User, actor: User | None) -> int:
    """Remove a user's TOTP devices (a lost phone): their next login sets up a new one."""
    with transaction.atomic():
        count, _ = TOTPDevice.objects.filter(user=user).delete()
        audit_record(actor=actor, action="accounts.otp.reset", obj=user, after={"removed": count})
    return count


def otp_check(*, user: User, code: str) -> TOTPDevice | None:
    """Check a code from the user's confirmed device: the device when right, None when wrong
    (or no device). Wrong codes slow the device down exponentially (django-otp's throttling,
    kept on the device row, so every worker sees it); while it waits this refuses with the
    seconds left, field `otp`."""
    device = confirmed_device(user)
    if device is None:
        return None
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        allowed, _extra = locked.verify_is_allowed()
        if not allowed and locked.throttling_failure_timestamp is not None:
            delay = locked.get_throttle_factor() * 2 ** (locked.throttling_failure_count - 1)
            until = locked.throttling_failure_timestamp + dt.timedelta(seconds=delay)
            seconds = max(1, math.ceil((until - timezone.now()).total_seconds()))
            raise Refused(
                ngettext(
                    "Too many wrong codes. Wait %(seconds)s second and try again.",
                    "Too many wrong codes. Wait %(seconds)s seconds and try again.",
                    seconds,
                )
                % {"seconds": seconds},
                field="otp",
                status=429,
            )
        return locked if locked.verify_token(code) else None
