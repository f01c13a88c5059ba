"""PostgreSQL: a second trigram index for the registrar's name search, over the normalised names
with their spaces replaced by a tatweel (``replace(name_search, ' ', 'ـ')``), for queries of
more than one word (one word keeps the index over the names as they are: the same trigrams,
and no replace() per row where the planner walks a list in order and tests each row).

pg_trgm splits text into words and takes the trigrams of each word alone, so the index could
not tell "زينب ال" (a name, then a word beginning "ال") from every row that has both words
anywhere: about 2,000 candidates at 100,000 applications, each read and rechecked (5 ms). With
the words joined by a letter, the trigrams cross the space ("نبـ", "بـا", "ـال") and the
index returns the rows that hold the phrase. The tatweel never occurs in a normalised name or
query (``khutwa.arabic.normalize`` removes it), so ``replace(name_search, ' ', 'ـ') LIKE
'%زينبـال%'`` holds exactly where ``name_search LIKE '%زينب ال%'`` does
(``licensing.selectors.search_filter``). SQLite keeps its FTS5 table (nothing changes there).
"""

from django.db import migrations

POSTGRES_INSTALL = [
    "CREATE INDEX IF NOT EXISTS application_name_joined_trgm ON licensing_application "
    "USING gin ((replace(name_search, ' ', '\u0640')) gin_trgm_ops)",
]
POSTGRES_REMOVE = ["DROP INDEX IF EXISTS application_name_joined_trgm"]


def _run(schema_editor, statements):
    if schema_editor.connection.vendor == "postgresql":
        for sql in statements:
            schema_editor.execute(sql)


def joined_index_install(apps, schema_editor):
    _run(schema_editor, POSTGRES_INSTALL)


def joined_index_remove(apps, schema_editor):
    _run(schema_editor, POSTGRES_REMOVE)


class Migration(migrations.Migration):
    dependencies = [("licensing", "0006_application_name_trigram_search")]

    operations = [migrations.RunPython(joined_index_install, joined_index_remove)]
