# The documents fixtures (a key store, a licensed holder, a customer, `issue`) for the tests of
# the audit chains that documents write to.
from tests.documents.conftest import _keys, customer, holder, issue, licence, world  # noqa: F401
