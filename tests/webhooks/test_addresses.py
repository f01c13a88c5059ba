"""In production a webhook never goes to the platform's own network: a private, loopback,
link-local (cloud metadata) or reserved address is refused when subscribing (given literally)
and when delivering (whatever the name resolves to then), and nothing is sent."""

import socket

import pytest

from khutwa.accounts.roles import Role
from khutwa.webhooks.models import Delivery
from khutwa.webhooks.services import address_problem, deliver_due, ping_send, url_problem
from tests.webhooks.test_events import subscribe

pytestmark = pytest.mark.django_db

NOT_PUBLIC = "The URL must point to a public address, not a private or local one."
LOCAL = [
    "https://127.0.0.1/hook",
    "https://localhost/hook",
    "https://hooks.localhost/hook",
    "https://10.1.2.3/hook",
    "https://172.16.0.9/hook",
    "https://192.168.1.20/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/hook",
    "https://[fd00::5]/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://0.0.0.0/hook",
]


@pytest.mark.parametrize("url", LOCAL)
def test_production_refuses_a_local_or_private_address(settings, url):
    settings.IS_PRODUCTION = True
    assert url_problem(url) == NOT_PUBLIC


def test_production_accepts_a_public_address_and_development_any(settings):
    settings.IS_PRODUCTION = True
    assert url_problem("https://hooks.example.org/hook") == ""  # a name: checked on delivery
    assert url_problem("https://8.8.8.8/hook") == ""
    assert address_problem("8.8.8.8") == ""
    settings.IS_PRODUCTION = False
    assert url_problem("https://10.1.2.3/hook") == "" and address_problem("localhost") == ""


def test_a_name_that_resolves_to_a_private_address_is_not_called_in_production(
    settings, make_user, receiver, monkeypatch
):
    """A public-looking name whose DNS answer at delivery time is the loopback, where the receiver
    listens. There is no DNS server here, so the resolver's answer is given for that one name."""
    holder = make_user(Role.HOLDER)
    subscription = subscribe(holder, receiver, ["licence.suspended"])  # allowed in development
    subscription.url = "https://hooks.example.org" + receiver.url.split("127.0.0.1", 1)[1]
    subscription.save()
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        return real("127.0.0.1" if host == "hooks.example.org" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    settings.IS_PRODUCTION = True
    assert url_problem(subscription.url) == ""  # a name: nothing to say until it is resolved
    assert address_problem("hooks.example.org") == NOT_PUBLIC
    delivery = ping_send(actor=holder, subscription=subscription)
    deliver_due()
    delivery = Delivery.objects.get(pk=delivery.pk)
    assert delivery.attempts == 1 and delivery.status == "pending"
    assert delivery.last_error == NOT_PUBLIC
    assert receiver.received == []
