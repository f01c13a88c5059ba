"""Writes about people: accounts, roles and API tokens."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import secrets
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import Group
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from khutwa import ratelimit
from khutwa.accounts.models import ApiToken, PhoneCode, User
from khutwa.accounts.roles import ROLE_PERMISSIONS, STAFF_ROLES, Role
from khutwa.accounts.security import confirmed_device
from khutwa.audit.services import audit_record
from khutwa.errors import Refused
from khutwa.jobs.mail import email_on_commit
from khutwa.sms.tasks import sms_on_commit

if TYPE_CHECKING:
    from khutwa.accounts.oidc import NationalIdentity


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


# --- Sign-up and confirming the e-mail address and the mobile number (docs/accounts.md) ---

EMAIL_CONFIRM_SALT = "khutwa.accounts.email-confirm"
PHONE_CODE_SALT = "khutwa.accounts.phone-code"


def _both_languages(message: Callable[[], str]) -> str:
    """A message in Arabic, then in English (whatever the page's language: mail and text messages
    are read later, maybe by someone who prefers the other)."""
    parts = []
    for language in ("ar", "en"):
        with translation.override(language):
            parts.append(message())
    return "\n\n".join(parts)


def user_sign_up(
    *,
    cpr: str,
    name_ar: str,
    first_name: str,
    last_name: str,
    phone: str,
    email: str,
    password: str,
) -> User:
    """A citizen's or resident's own account (already validated by the sign-up form): the CPR
    number is also the username; the applicant role; a link to confirm the e-mail address and a
    code to confirm the mobile number are sent once the account is stored."""
    with transaction.atomic():
        if User.objects.filter(Q(cpr=cpr) | Q(username=cpr)).exists():
            raise Refused(cpr_taken_message(), field="cpr", status=409)
        user = User(
            username=cpr,
            cpr=cpr,
            name_ar=name_ar,
            first_name=first_name,
            last_name=last_name,
            phone=phone,
            email=email,
        )
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:  # the same CPR signed up at the same moment
            raise Refused(cpr_taken_message(), field="cpr", status=409) from None
        user_set_roles(user=user, roles=[Role.APPLICANT], actor=user)
        audit_record(
            actor=user,
            action="accounts.user.sign_up",
            obj=user,
            after={"username": user.username, "channel": "sign-up"},
        )
        email_confirmation_send(user=user)
        phone_code_send(user=user)
    return user


def cpr_taken_message() -> str:
    return _(
        "An account with this CPR number already exists. Log in, or reset your password if you "
        "have forgotten it."
    )


def email_confirmation_token(user: User) -> str:
    return signing.dumps({"u": user.pk, "e": user.email.lower()}, salt=EMAIL_CONFIRM_SALT, compress=True)


def email_confirmation_send(*, user: User) -> None:
    """E-mail a signed link that confirms the user's address (valid KHUTWA_EMAIL_CONFIRM_HOURS)."""
    if not user.email:
        return
    link = settings.KHUTWA_SITE_URL + reverse(
        "portal:email_confirm", kwargs={"token": email_confirmation_token(user)}
    )
    hours = settings.KHUTWA_EMAIL_CONFIRM_HOURS
    subject = _both_languages(lambda: _("Confirm your e-mail address for Khutwa")).replace("\n\n", " | ")
    body = _both_languages(
        lambda: (
            _(
                "Hello %(name)s,\n\nTo confirm that this is your e-mail address for Khutwa, open this "
                "link within %(hours)s hours:\n%(link)s\n\nIf you did not create an account, ignore "
                "this message."
            )
            % {"name": user.display_name, "hours": hours, "link": link}
        )
    )
    email_on_commit(subject=subject, body=body, recipients=[user.email])


def _link_not_valid() -> str:
    return _("This confirmation link is not valid. Check that you copied all of it.")


def email_confirm(*, token: str) -> User:
    """Confirm the address a link was sent to. Refused when the link is altered, has expired,
    or was sent to an address the account no longer has."""
    max_age = dt.timedelta(hours=settings.KHUTWA_EMAIL_CONFIRM_HOURS)
    try:
        data = signing.loads(token, salt=EMAIL_CONFIRM_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise Refused(
            _("This confirmation link has expired. Log in and ask for a new one."), status=410
        ) from None
    except signing.BadSignature:
        raise Refused(
            _("This confirmation link is not valid. Check that you copied all of it."), status=400
        ) from None
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=data.get("u"), is_active=True).first()
        if user is None or user.email.lower() != data.get("e"):
            raise Refused(
                _("This confirmation link is not valid. Check that you copied all of it."), status=400
            )
        if user.email_confirmed_at is None:
            user.email_confirmed_at = timezone.now()
            user.save(update_fields=["email_confirmed_at"])
            audit_record(
                actor=user, action="accounts.user.email_confirm", obj=user, after={"email": user.email}
            )
    return user


def _phone_code_hash(user: User, phone: str, code: str) -> str:
    return salted_hmac(PHONE_CODE_SALT, f"{user.pk}:{phone}:{code}", algorithm="sha256").hexdigest()


def phone_code_send(*, user: User) -> PhoneCode | None:
    """Text a new six-digit code to the user's mobile (earlier codes stop working). At most
    KHUTWA_PHONE_CODE_RATE codes per account; None when the account has no mobile number."""
    if not user.phone:
        return None
    if not ratelimit.allow("phone-code", f"user:{user.pk}"):
        raise Refused(
            _("We have sent several codes already. Wait a few minutes before asking for another."),
            field="code",
            status=429,
        )
    code = f"{secrets.randbelow(10**6):06d}"
    now = timezone.now()
    minutes = settings.KHUTWA_PHONE_CODE_MINUTES
    with transaction.atomic():
        PhoneCode.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
        phone_code = PhoneCode.objects.create(
            user=user,
            phone=user.phone,
            code_hash=_phone_code_hash(user, user.phone, code),
            created_at=now,
            expires_at=now + dt.timedelta(minutes=minutes),
        )
        audit_record(actor=user, action="accounts.user.phone_code", obj=user, after={"phone": user.phone})
        text = _both_languages(
            lambda: (
                _("Khutwa: your confirmation code is %(code)s. It expires in %(minutes)s minutes.")
                % {"code": code, "minutes": minutes}
            )
        ).replace("\n\n", "\n")
        sms_on_commit(to=user.phone, text=text)
    return phone_code


def phone_confirm(*, user: User, code: str) -> User:
    """Confirm the user's mobile with the code texted to it. A wrong code counts against the
    code's tries (KHUTWA_PHONE_CODE_ATTEMPTS), and the count stays even though this refuses."""
    code = code.strip()
    wrong: Refused | None = None
    with transaction.atomic():
        current = (
            PhoneCode.objects.select_for_update()
            .filter(user=user, used_at__isnull=True, phone=user.phone)
            .order_by("-created_at", "-pk")
            .first()
        )
        if current is None or current.expires_at <= timezone.now():
            raise Refused(_("This code has expired. Ask for a new one."), field="code", status=410)
        if current.attempts >= settings.KHUTWA_PHONE_CODE_ATTEMPTS:
            raise Refused(_("Too many wrong codes. Ask for a new one."), field="code", status=429)
        if not constant_time_compare(current.code_hash, _phone_code_hash(user, current.phone, code)):
            current.attempts += 1
            current.save(update_fields=["attempts"])
            left = settings.KHUTWA_PHONE_CODE_ATTEMPTS - current.attempts
            if left <= 0:
                wrong = Refused(_("Too many wrong codes. Ask for a new one."), field="code", status=429)
            else:
                wrong = Refused(
                    ngettext(
                        "The code is wrong. You can try %(count)s more time.",
                        "The code is wrong. You can try %(count)s more times.",
                        left,
                    )
                    % {"count": left},
                    field="code",
                    status=422,
                )
        else:
            now = timezone.now()
            current.used_at = now
            current.save(update_fields=["used_at"])
            user.phone_confirmed_at = now
            user.save(update_fields=["phone_confirmed_at"])
            audit_record(
                actor=user, action="accounts.user.phone_confirm", obj=user, after={"phone": user.phone}
            )
    if wrong is not None:  # raised after the commit, so that the wrong try is counted
        raise wrong
    return user


def user_from_national_identity(*, identity: NationalIdentity) -> User:
    """The account of the person the national identity vouches for, found by CPR only (never by
    e-mail): linked when it exists, made (applicant role, no password) when not. The names are
    the authority's; an e-mail or mobile the provider says it verified counts as confirmed.
    Refused for an account that acts for an authority: it logs in with a password and a second
    factor, and must not be reachable through another door."""
    from khutwa.accounts.selectors import is_citizen_only

    now = timezone.now()
    refused: User | None = None
    with transaction.atomic():
        user = User.objects.select_for_update().filter(cpr=identity.cpr).first()
        created = user is None
        if user is None:
            username = (
                identity.cpr
                if not User.objects.filter(username=identity.cpr).exists()
                else f"nid-{identity.cpr}"
            )
            user = User(username=username, cpr=identity.cpr)
            user.set_unusable_password()
        elif not user.is_active or not is_citizen_only(user):
            refused = user
        if refused is None:
            _identity_apply(user=user, identity=identity, now=now)
            audit_record(
                actor=user,
                action="accounts.user.national_identity",
                obj=user,
                after={"subject": identity.subject, "created": created},
            )
    if refused is not None:  # recorded on its own: the refusal itself changes nothing
        with transaction.atomic():
            audit_record(
                actor=None,
                action="accounts.user.national_identity_refused",
                obj=refused,
                after={"subject": identity.subject},
            )
        raise Refused(
            _(
                "This account is a staff account: log in with your password and the code from "
                "your authenticator app."
            ),
            status=403,
        )
    return user


def _identity_apply(*, user: User, identity: NationalIdentity, now: dt.datetime) -> None:
    for field in ("name_ar", "first_name", "last_name"):
        if getattr(identity, field):
            setattr(user, field, getattr(identity, field))
    if identity.email and not user.email and not User.objects.filter(email__iexact=identity.email).exists():
        user.email = identity.email
    if (
        identity.email_verified
        and identity.email
        and user.email.lower() == identity.email.lower()
        and not user.email_confirmed_at
    ):
        user.email_confirmed_at = now
    if identity.phone and not user.phone:
        user.phone = identity.phone
    if identity.phone_verified and user.phone == identity.phone:
        user.phone_confirmed_at = user.phone_confirmed_at or now
    user.save()
    if not user.role_names():
        user_set_roles(user=user, roles=[Role.APPLICANT], actor=None)


def contact_change(
    *, user: User, password: str, email: str | None = None, phone: str | None = None
) -> list[str]:
    """Change the e-mail address and/or the mobile number (already normalised by the caller's
    form or schema), after checking the current password; returns what changed. A changed
    address or number is no longer confirmed: a link or a code goes to the new one, and the
    former e-mail address hears of the change (so a stolen session cannot quietly take the
    account over)."""
    if not user.has_usable_password() or not user.check_password(password):
        raise Refused(_("The password is not right."), field="password", status=403)
    email = email.strip() if email is not None else None
    changed: dict[str, str] = {}
    if email is not None and email.lower() != user.email.lower():
        if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
            raise Refused(email_taken_message(), field="email", status=409)
        changed["email"] = email
    if phone is not None and phone != user.phone:
        changed["phone"] = phone
    if not changed:
        return []
    former_email = user.email
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        fields = []
        if "email" in changed:
            user.email, user.email_confirmed_at = changed["email"], None
            fields += ["email", "email_confirmed_at"]
        if "phone" in changed:
            user.phone, user.phone_confirmed_at = changed["phone"], None
            fields += ["phone", "phone_confirmed_at"]
        user.save(update_fields=fields)
        audit_record(
            actor=user, action="accounts.user.contact_change", obj=user, after={"changed": sorted(changed)}
        )
        if "email" in changed:
            email_confirmation_send(user=user)
        if former_email:
            _contact_change_notice(user=user, to=former_email, changed=sorted(changed))
    if "phone" in changed:
        with contextlib.suppress(Refused):  # codes asked too often: the confirm page offers another
            phone_code_send(user=user)
    return sorted(changed)


def _contact_change_notice(*, user: User, to: str, changed: list[str]) -> None:
    def body() -> str:
        what = {
            ("email",): _("your e-mail address"),
            ("phone",): _("your mobile number"),
            ("email", "phone"): _("your e-mail address and your mobile number"),
        }[tuple(changed)]
        return _(
            "Hello %(name)s,\n\nThe contact details of your Khutwa account were changed: %(what)s. "
            "If you made this change, there is nothing to do. If you did not, reset your password "
            "at once and tell the information centre."
        ) % {"name": user.display_name, "what": what}

    subject = _both_languages(lambda: _("Your Khutwa contact details were changed")).replace("\n\n", " | ")
    email_on_commit(subject=subject, body=_both_languages(body), recipients=[to])


def email_taken_message() -> str:
    return _(
        "An account already uses this e-mail address. Log in, or reset your password if you have "
        "forgotten it."
    )
