"""The SMS gateway on loopback for these tests."""

from tests.sms.gateway import sms_gateway  # noqa: F401 - fixture
