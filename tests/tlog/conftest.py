from tests.documents.conftest import _keys, customer, holder, issue, licence, world  # noqa: F401
