"""Officers approving at the same moment never commit more than the budget."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from khutwa.accounts.roles import Role
from khutwa.accounts.services import user_set_roles
from khutwa.documents import services as docs
from khutwa.errors import Refused
from khutwa.support import services
from khutwa.support.models import Programme, SupportApplication
from tests.documents.conftest import line
from tests.licensing.factories import applicant

APPLICANTS = 6


@pytest.mark.skipif(
    "sqlite" in str(connections["default"].settings_dict["ENGINE"]),
    reason="SQLite's shared in-memory test database cannot hold concurrent writers; "
    "this race is checked on the PostgreSQL run of the suite",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_never_exceed_the_budget(programme, supplier, officer):
    Programme.objects.filter(pk=programme.pk).update(
        budget=Decimal("500.000")
    )  # room for 2.5 approvals of 200
    applications = []
    for i in range(APPLICANTS):
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
                lines=[line(quantity="10", unit_price="40")],
            ),
        ).document
        applications.append(
            services.application_create(
                actor=user, programme_code=programme.code, quotation_ref=str(quotation.public_id)
            )
        )
    barrier = threading.Barrier(APPLICANTS)
    outcomes: list[str] = []

    def approve(application: SupportApplication) -> None:
        try:
            barrier.wait()
            services.application_decide(actor=officer, application=application, decision="approve")
            outcomes.append("approved")
        except Refused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(a,)) for a in applications]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    programme.refresh_from_db()
    reserved = sum(SupportApplication.objects.filter(status="approved").values_list("entitlement", flat=True))
    assert programme.reserved == reserved
    assert programme.reserved <= programme.budget
    assert programme.reserved == Decimal("500.000")  # 200 + 200 + the last 100
    assert outcomes.count("approved") == 3 and outcomes.count("refused") == APPLICANTS - 3
