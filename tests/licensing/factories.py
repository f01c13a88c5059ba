"""Drive applications into any state through the real services (traits by state)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.utils import timezone

from khutwa.accounts.models import User
from khutwa.accounts.roles import Role
from khutwa.accounts.services import user_set_roles
from khutwa.approvals import services as review_services
from khutwa.approvals.models import Inspection, Review
from khutwa.catalogue.models import ApprovingBody
from khutwa.licensing import services
from khutwa.licensing.models import Application, Licence

_seq = itertools.count(1)


def make_input(**overrides: Any) -> services.ApplicationInput:
    n = next(_seq)
    data = services.ApplicationInput(
        cpr=f"9{n:08d}",
        name_ar="فاطمة أحمد",
        name_en="Fatima Ahmed",
        phone="33123456",
        email=f"a{n}@example.bh",
        flat="",
        building=str(100 + n),
        road=str(200 + n),
        block=str(300 + n),
        area="Isa Town",
        governorate="southern",
        trade_name=f"Fatima Kitchen {n}",
        tier="standard",
        activities=["sewing-abayas"],
    )
    for key, value in overrides.items():
        setattr(data, key, value)
    return data


def applicant(cpr: str | None = None, username: str | None = None) -> User:
    n = next(_seq)
    user = User.objects.create_user(
        username=username or f"applicant{n}",
        password="x-pass-123",
        cpr=cpr or f"8{n:08d}",
        email=f"app{n}@example.bh",
        email_confirmed_at=timezone.now(),  # applying needs a confirmed e-mail or mobile
    )
    user_set_roles(user=user, roles=[Role.APPLICANT], actor=None)
    return user


def staff(role: str, body: str | None = None, *, otp: bool = False) -> User:
    """A staff user like the demo's (second factor waived), or with a TOTP device (`otp=True`)."""
    from tests.conftest import staff_second_factor

    n = next(_seq)
    user = User.objects.create_user(
        username=f"{role}{n}",
        password="x-pass-123",
        body=ApprovingBody.objects.get(code=body) if body else None,
    )
    roles = [role] + ([Role.INSPECTOR] if role == Role.REVIEWER else [])
    user_set_roles(user=user, roles=roles, actor=None)
    staff_second_factor(user, otp=otp)
    return user


class World:
    """An applicant, a registrar and a reviewer for each body."""

    def __init__(self) -> None:
        self.registrar = staff(Role.REGISTRAR)
        self.reviewers = {
            code: staff(Role.REVIEWER, code) for code in ("municipality", "civil-defence", "food-control")
        }
        self.applicant = applicant()

    def draft(self, user: User | None = None, **overrides: Any) -> Application:
        user = user or self.applicant
        overrides.setdefault("cpr", user.cpr)
        return services.application_create(actor=user, data=make_input(**overrides))

    def submitted(self, **kw: Any) -> Application:
        app = self.draft(**kw)
        return services.application_submit(actor=app.applicant or self.registrar, application=app)

    def screening(self, **kw: Any) -> Application:
        app = self.submitted(**kw)
        return services.application_start_screening(actor=self.registrar, application=app)

    def in_review(self, **kw: Any) -> Application:
        app = self.screening(**kw)
        return services.application_accept(actor=self.registrar, application=app)

    def decide_all(self, app: Application, decision: str = "approve", **kw: Any) -> Application:
        for review in Review.objects.filter(application=app, status="pending"):
            self.decide(review, decision, **kw)
        app.refresh_from_db()
        return app

    def decide(self, review: Review, decision: str = "approve", **kw: Any) -> Review:
        reviewer = self.reviewers[review.body.code]
        if review.requires_inspection and not review.inspections.exclude(outcome="scheduled").exists():
            from django.utils import timezone

            inspection = review_services.inspection_schedule(
                actor=reviewer, review=review, scheduled_for=timezone.localdate(), inspector=reviewer
            )
            review_services.inspection_record(
                actor=reviewer, inspection=inspection, outcome="passed", notes="ok"
            )
        return review_services.review_decide(actor=reviewer, review=review, decision=decision, **kw)

    def approved(self, **kw: Any) -> Application:
        return self.decide_all(self.in_review(**kw))

    def licensed(self, *, today: dt.date | None = None, **kw: Any) -> Licence:
        """An approved application's licence, issued `today` (the Bahraini day by default)."""
        app = self.approved(**kw)
        return services.licence_issue(actor=self.registrar, application=app, today=today)


__all__ = ["Inspection", "World", "applicant", "make_input", "staff"]
