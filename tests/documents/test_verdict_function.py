"""On PostgreSQL the public verdict's statement runs as a PL/pgSQL function, which keeps its
plan in the server connection through any pooler (documents/verdict_function.py): every migrate
installs it, the public verification calls it, a database without it is read with the statement
itself, and a changed statement is a function of its own."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from khutwa.documents import verdict_function
from khutwa.documents.verification import public_verify, verdict_statements
from tests.documents.test_verify_response import _credited_and_paid, _fresh, _tampered, _valid  # noqa: F401

pytestmark = pytest.mark.django_db


def _statement() -> str:
    [(statement, key_type)] = verdict_statements(connection.vendor)
    assert key_type == "uuid"
    return statement


def _verdict_reads(client, document) -> list[str]:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/verify/{document.public_id}")
    assert response.status_code == 200
    return [
        query["sql"]
        for query in queries.captured_queries
        if "documents_document" in query["sql"] or verdict_function.PREFIX in query["sql"]
    ]


@pytest.mark.postgresql
def test_migrate_installed_the_function_of_this_codes_statement():
    name = verdict_function.function_name(_statement())
    assert name in verdict_function.installed(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE proname = %s",
            [name],
        )
        assert cursor.fetchone() == ("plpgsql",)  # a SQL function would be inlined and planned each time


@pytest.mark.postgresql
@pytest.mark.parametrize("make", [_valid, _credited_and_paid, _tampered])
def test_the_public_verification_calls_it_and_it_gives_the_statements_row(client, issue, licence, make):
    document = make(issue, licence)
    verdict_function.forget()
    name = verdict_function.function_name(_statement())
    call = f"SELECT * FROM {name}('{document.public_id.hex}'::uuid)"  # noqa: S608
    first, second = _verdict_reads(client, document), _verdict_reads(client, document)
    assert len(first) == 2 and first[0].startswith("SELECT EXISTS") and first[1] == call
    assert second == [call]  # looked up once per process
    with connection.cursor() as cursor:
        cursor.execute(_statement(), [document.public_id])
        row = cursor.fetchone()
        cursor.execute(f"SELECT * FROM {name}(%s)", [document.public_id])  # noqa: S608
        assert cursor.fetchone() == row
        assert [column.name for column in cursor.description][:2] == ["c_0", "c_1"]


@pytest.mark.postgresql
def test_a_database_without_it_is_read_with_the_statement(client, issue):
    document = issue("invoice")
    valid = public_verify(document.public_id)
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute(f"DROP FUNCTION {verdict_function.function_name(_statement())}")
    verdict_function.forget()
    try:
        lookup, read = _verdict_reads(client, document)
        assert lookup.startswith("SELECT EXISTS") and _verdict_reads(client, document) == [read]
        assert verdict_function.PREFIX not in read and read.lstrip().startswith("SELECT d.id, d.payload")
        again = public_verify(document.public_id)
        assert (again.valid, again.reasons, again.record) == (valid.valid, valid.reasons, valid.record)
        assert again.valid
    finally:
        verdict_function.forget()


@pytest.mark.postgresql
def test_a_changed_statement_is_a_function_of_its_own_and_prune_drops_the_old(capsys):
    statement = _statement()
    older = statement.replace("WHERE d.public_id = %s", "WHERE d.public_id = %s AND TRUE")
    assert older != statement
    old_name = verdict_function.install(connection, older, "uuid")
    new_name = verdict_function.function_name(statement)
    assert old_name != new_name and {old_name, new_name} <= set(verdict_function.installed(connection))
    call_command("verdict_functions")
    listed = capsys.readouterr().out
    assert f"{new_name}  (this code)" in listed and f"{old_name}\n" in listed
    call_command("verdict_functions", "--prune")
    assert capsys.readouterr().out == f"dropped {old_name}\n"
    assert verdict_function.installed(connection) == [new_name]
    call_command("verdict_functions", "--install")
    assert capsys.readouterr().out == f"installed {new_name}\n"


def test_a_statement_is_installed_only_with_exactly_one_parameter():
    with pytest.raises(ValueError, match="exactly one parameter"):
        verdict_function.function_definition(connection, "SELECT 1", "uuid")
    with pytest.raises(ValueError, match="exactly one parameter"):
        verdict_function.function_definition(connection, "SELECT %s, %s", "uuid")


def test_the_command_lists_this_codes_function_or_says_sqlite_has_none(capsys):
    if connection.vendor == "sqlite":
        with pytest.raises(CommandError, match="PostgreSQL only"):
            call_command("verdict_functions")
    else:
        call_command("verdict_functions")
        assert capsys.readouterr().out == f"{verdict_function.function_name(_statement())}  (this code)\n"
