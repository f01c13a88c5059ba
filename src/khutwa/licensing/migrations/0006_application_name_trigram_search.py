"""Registrar search by name through a trigram index over Application.name_search (the
Arabic-normalised names, kept by the services): on SQLite an FTS5 table with the trigram
tokenizer, an external-content table over licensing_application kept in sync by triggers; on
PostgreSQL a pg_trgm GIN index on the column, which serves ``LIKE '%…%'``.

SQLite drops a table's triggers when Django rebuilds the table (an ALTER it cannot do in
place): a later migration that rebuilds licensing_application must run ``name_fts_install``
again (tests/licensing/test_search.py fails if the triggers are gone)."""

from django.db import migrations

FTS = "licensing_application_name_fts"

SQLITE_INSTALL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS licensing_application_name_fts USING fts5("
    "name_search, content='licensing_application', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS licensing_application_name_fts_insert AFTER INSERT ON licensing_application BEGIN "
    "INSERT INTO licensing_application_name_fts(rowid, name_search) VALUES (new.id, new.name_search); END",
    "CREATE TRIGGER IF NOT EXISTS licensing_application_name_fts_delete AFTER DELETE ON licensing_application BEGIN "
    "INSERT INTO licensing_application_name_fts(licensing_application_name_fts, rowid, name_search) VALUES ('delete', old.id, old.name_search); END",
    "CREATE TRIGGER IF NOT EXISTS licensing_application_name_fts_update AFTER UPDATE OF name_search ON licensing_application BEGIN "
    "INSERT INTO licensing_application_name_fts(licensing_application_name_fts, rowid, name_search) VALUES ('delete', old.id, old.name_search); "
    "INSERT INTO licensing_application_name_fts(rowid, name_search) VALUES (new.id, new.name_search); END",
    "INSERT INTO licensing_application_name_fts(licensing_application_name_fts) VALUES ('rebuild')",
]
SQLITE_REMOVE = [
    f"DROP TRIGGER IF EXISTS {FTS}_insert",
    f"DROP TRIGGER IF EXISTS {FTS}_delete",
    f"DROP TRIGGER IF EXISTS {FTS}_update",
    f"DROP TABLE IF EXISTS {FTS}",
]
POSTGRES_INSTALL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS application_name_trgm ON licensing_application "
    "USING gin (name_search gin_trgm_ops)",
]
POSTGRES_REMOVE = ["DROP INDEX IF EXISTS application_name_trgm"]


def _run(schema_editor, statements):
    for sql in statements:
        schema_editor.execute(sql)


def name_fts_install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_INSTALL)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_INSTALL)


def name_fts_remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_REMOVE)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_REMOVE)


class Migration(migrations.Migration):
    dependencies = [("licensing", "0005_certificate_files")]

    operations = [migrations.RunPython(name_fts_install, name_fts_remove)]
