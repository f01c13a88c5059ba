"""Run in a separate process: `setup URL N` makes a holder with N subscriptions to URL, each
with a ping waiting, and prints their secrets; `deliver` runs deliver_due once and prints how
many it attempted. Used by test_concurrent_delivery.py."""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "khutwa.config.settings")
django.setup()

from django.db import connection  # noqa: E402

from khutwa.accounts.models import User  # noqa: E402
from khutwa.accounts.roles import Role  # noqa: E402
from khutwa.accounts.services import user_set_roles  # noqa: E402
from khutwa.webhooks import services  # noqa: E402


def setup(url: str, count: int) -> None:
    holder = User.objects.create_user(username="erp-owner", password="x-pass-123")
    user_set_roles(user=holder, roles=[Role.HOLDER], actor=None)
    holder = User.objects.get(pk=holder.pk)
    for n in range(count):
        subscription, secret = services.subscription_create(
            actor=holder, organisation=f"ERP {n}", url=url, event_types=["document.issued"]
        )
        services.ping_send(actor=holder, subscription=subscription)
        print(secret, flush=True)


def deliver() -> None:
    print(services.deliver_due(), flush=True)
    connection.close()


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(sys.argv[2], int(sys.argv[3]))
    else:
        deliver()
