"""Run in a separate process against the database named by DATABASE_URL. Used by test_budget_race.py.

`setup BUDGET N` makes a programme with that budget, a supplier, an officer and N submitted
applications, each for a quotation of 10 x 40 (entitled to 200 at the programme's 50% rate),
and prints the applications' ids; `decide ID` loads the officer and that application, prints
`ready`, waits for a line on stdin, then approves it and prints `approved` or `refused FIELD MESSAGE`;
`report` prints the programme's budget and reservation and the approved applications as JSON.
Each of those answers is a line of its own starting with "@ " (mail may be printed as well).
"""

import datetime as dt
import json
import os
import sys
from decimal import Decimal

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "khutwa.config.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone, translation  # noqa: E402

from khutwa.accounts.models import User  # noqa: E402
from khutwa.accounts.roles import Role  # noqa: E402
from khutwa.errors import Refused  # noqa: E402
from khutwa.support import services  # noqa: E402
from khutwa.support.models import Programme, SupportApplication  # noqa: E402

PROGRAMME = "bdsupport"


def setup(budget: Decimal, count: int) -> None:
    """The data of tests/support/conftest.py's `programme`, `supplier` and `officer` fixtures."""
    from khutwa.accounts.services import user_set_roles
    from khutwa.catalogue.models import ActivityCategory, LicenceTier
    from khutwa.documents import services as docs
    from khutwa.support.models import ProgrammeCap
    from tests.licensing.factories import World, applicant, staff

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # as tests/conftest.py
    programme = Programme.objects.create(
        code=PROGRAMME,
        name_ar="دعم تطوير الأعمال",
        name_en="Business development support",
        kind="equipment",
        open_from=timezone.localdate() - dt.timedelta(days=30),
        budget=budget,
        rate=Decimal("0.500"),
        frequency_months=12,
        beneficiaries="both",
    )
    for tier, cap in (("standard", "2500.000"), ("basic", "1000.000")):
        ProgrammeCap.objects.create(
            programme=programme, tier=LicenceTier.objects.get(code=tier), cap=Decimal(cap)
        )
    programme.eligible_categories.set(ActivityCategory.objects.filter(code__in=["food", "textiles"]))
    world = World()
    world.licensed(activities=["home-meals", "sewing-abayas"], tier="standard")
    supplier = world.applicant
    officer = staff(Role.TAMKEEN_OFFICER)
    officer.username = "race-officer"
    officer.save(update_fields=["username"])
    line = docs.LineInput(
        activity="home-meals",
        description="Catering for 20 guests",
        quantity="10",
        unit="piece",
        unit_price="40",
    )
    for i in range(count):
        cpr = f"87030300{i}"
        user = applicant(cpr=cpr, username=f"racer{i}")
        user_set_roles(user=user, roles=[Role.TAMKEEN_CUSTOMER], actor=None)
        entry = docs.customer_create(actor=supplier, kind="individual", cpr=cpr, name_en=f"Racer {i}")
        quotation = docs.document_issue(
            actor=supplier,
            data=docs.DocumentInput(
                type="quotation",
                customer=entry.pk,
                valid_until=timezone.localdate() + dt.timedelta(days=9),
                lines=[line],
            ),
        ).document
        application = services.application_create(
            actor=user, programme_code=PROGRAMME, quotation_ref=str(quotation.public_id)
        )
        print("@", application.pk, flush=True)
    connection.close()


def decide(pk: int) -> None:
    officer = User.objects.get(username="race-officer")
    application = SupportApplication.objects.get(pk=pk)
    connection.close()  # hold nothing open while waiting at the barrier
    print("@ ready", flush=True)
    sys.stdin.readline()  # the barrier: the test releases every worker at once
    try:
        services.application_decide(actor=officer, application=application, decision="approve")
    except Refused as refused:
        print("@ refused", refused.field, str(refused).replace("\n", " "), flush=True)
    else:
        print("@ approved", flush=True)
    connection.close()


def report() -> None:
    programme = Programme.objects.get(code=PROGRAMME)
    approved = SupportApplication.objects.filter(programme=programme, status="approved")
    print(
        "@",
        json.dumps(
            {
                "budget": str(programme.budget),
                "reserved": str(programme.reserved),
                "approved": [str(e) for e in approved.values_list("entitlement", flat=True)],
            }
        ),
    )
    connection.close()


if __name__ == "__main__":
    translation.activate("en")  # refusals in English, whatever LANGUAGE_CODE is
    if sys.argv[1] == "setup":
        setup(Decimal(sys.argv[2]), int(sys.argv[3]))
    elif sys.argv[1] == "decide":
        decide(int(sys.argv[2]))
    else:
        report()
