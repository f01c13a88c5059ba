"""Demo accounts (created only by `khutwa demo`, never by migrations)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from khutwa.accounts.models import User
from khutwa.accounts.roles import OFFICIAL_ROLES, Role
from khutwa.accounts.services import user_set_roles
from khutwa.catalogue.models import ApprovingBody
from khutwa.catalogue.seed import CIVIL_DEFENCE, FOOD_CONTROL, MUNICIPALITY


@dataclass(frozen=True)
class DemoAccount:
    username: str
    roles: tuple[str, ...]
    first_name: str
    last_name: str
    name_ar: str
    cpr: str | None = None
    body: str | None = None


DEMO_ACCOUNTS = [
    DemoAccount("registrar", (Role.REGISTRAR,), "Maryam", "Al-Khalifa", "مريم الخليفة"),
    DemoAccount(
        "reviewer-municipality",
        (Role.REVIEWER,),
        "Ahmed",
        "Al-Sayed",
        "أحمد السيد",
        body=MUNICIPALITY,
    ),
    DemoAccount(
        "reviewer-civildefence",
        (Role.REVIEWER, Role.INSPECTOR),
        "Khalid",
        "Al-Dosari",
        "خالد الدوسري",
        body=CIVIL_DEFENCE,
    ),
    DemoAccount(
        "reviewer-health",
        (Role.REVIEWER, Role.INSPECTOR),
        "Fatima",
        "Al-Mahmood",
        "فاطمة المحمود",
        body=FOOD_CONTROL,
    ),
    DemoAccount("tamkeen-officer", (Role.TAMKEEN_OFFICER,), "Hussain", "Ali", "حسين علي"),
    DemoAccount("tamkeen-finance", (Role.TAMKEEN_FINANCE,), "Noor", "Hasan", "نور حسن"),
    DemoAccount("applicant", (Role.APPLICANT,), "Zainab", "Abdulla", "زينب عبدالله", cpr="900101001"),
    DemoAccount("holder", (Role.APPLICANT, Role.HOLDER), "Aisha", "Jassim", "عائشة جاسم", cpr="880202002"),
    DemoAccount("customer", (Role.TAMKEEN_CUSTOMER,), "Yousif", "Ebrahim", "يوسف إبراهيم", cpr="870303003"),
    # Just signed up, nothing applied for: the application form from its first step (the README's
    # screenshot of it is this account's).
    DemoAccount("newcomer", (Role.APPLICANT,), "Huda", "Salman", "هدى سلمان", cpr="950505005"),
]


def demo_accounts(*, password: str) -> list[User]:
    """Create or refresh the demo accounts; idempotent."""
    users = []
    # One hash for the one demo password (each costs a second of PBKDF2 on purpose); the accounts
    # share its salt, which tells nothing: the demo password is published.
    hashed = make_password(password)
    with transaction.atomic():
        for spec in DEMO_ACCOUNTS:
            body = ApprovingBody.objects.get(code=spec.body) if spec.body else None
            user, created = User.objects.get_or_create(
                username=spec.username,
                defaults={
                    "first_name": spec.first_name,
                    "last_name": spec.last_name,
                    "name_ar": spec.name_ar,
                    "cpr": spec.cpr,
                    "body": body,
                    "email": f"{spec.username}@demo.khutwa.bh",
                    # The demo's people have confirmed their e-mail (applying needs it).
                    "email_confirmed_at": timezone.now(),
                },
            )
            if user.email_confirmed_at is None:  # a demo made before confirmations existed
                user.email_confirmed_at = timezone.now()
                user.save(update_fields=["email_confirmed_at"])
            if created or not user.check_password(password):
                user.password = hashed
                user.save(update_fields=["password"])
            if set(user.groups.values_list("name", flat=True)) != set(spec.roles):
                user_set_roles(user=user, roles=spec.roles, actor=None)
            # Demo staff log in with the demo password alone, in development only (settings
            # refuse KHUTWA_OTP_EXEMPTIONS in production, and the flag is ignored without it).
            exempt = settings.KHUTWA_OTP_EXEMPTIONS and bool(set(spec.roles) & OFFICIAL_ROLES)
            if user.otp_exempt != exempt:
                user.otp_exempt = exempt
                user.save(update_fields=["otp_exempt"])
            users.append(user)
    return users
