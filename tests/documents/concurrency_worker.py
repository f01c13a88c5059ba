"""Run in a separate process: `setup` makes a holder with an active licence and a customer;
`issue N` issues N invoices for them. Used by test_concurrency.py."""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "khutwa.config.settings")
django.setup()

from django.db import connection  # noqa: E402

from khutwa.accounts.models import User  # noqa: E402
from khutwa.documents import services  # noqa: E402
from khutwa.documents.models import Customer  # noqa: E402


def setup() -> None:
    from tests.licensing.factories import World

    world = World()
    world.licensed(activities=["home-meals"])
    world.applicant.username = "concurrent-holder"
    world.applicant.save()
    services.customer_create(actor=world.applicant, kind="individual", cpr="870303003", name_en="Customer")


def issue(count: int) -> None:
    holder = User.objects.get(username="concurrent-holder")
    customer = Customer.objects.get(owner=holder)
    line = services.LineInput(activity="home-meals", description="Meal", quantity="1", unit_price="1.000")
    for _ in range(count):
        issued = services.document_issue(
            actor=holder, data=services.DocumentInput(type="invoice", customer=customer.pk, lines=[line])
        )
        print(issued.document.number, flush=True)
    connection.close()


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup()
    else:
        issue(int(sys.argv[2]))
