from tests.documents.conftest import customer, holder, issue, licence, world  # noqa: F401
