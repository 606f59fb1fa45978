"""The text index, per database engine.

PostgreSQL: ``search_bigrams(text)`` splits text into overlapping character pairs ("环境影响"
-> "环境 境影 影响", as the ``cjk`` analyser of Elasticsearch does); ``grams_tsv`` is the stored
``tsvector`` of those pairs with a GIN index, so a Chinese word of two characters is indexed
too (a trigram index cannot serve 环评) and a longer word is a phrase of consecutive pairs.
Stored, because phrase matches are rechecked row by row. pg_trgm's ``similarity`` ranks titles.
SQLite: an FTS5 table with the trigram tokenizer over ``text``, kept in step by triggers.
"""

from django.db import migrations

PG_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE OR REPLACE FUNCTION search_bigrams(t text) RETURNS text "
    "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ "
    "SELECT coalesce(string_agg(substr(t, i, 2), ' ' ORDER BY i), '') "
    "FROM generate_series(1, greatest(length(t) - 1, 1)) AS i $$",
    "ALTER TABLE search_searchdocument ADD COLUMN IF NOT EXISTS grams_tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search_bigrams(text))) STORED",
    # btree_gin lets the same index hold the filters, so the heap is read for matches only.
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    "CREATE INDEX IF NOT EXISTS search_document_grams ON search_searchdocument "
    "USING gin (grams_tsv, kind, price_min, price_max, rating)",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS search_document_grams",
    "ALTER TABLE search_searchdocument DROP COLUMN IF EXISTS grams_tsv",
    "DROP FUNCTION IF EXISTS search_bigrams(text)",
]

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
    "text, content='search_searchdocument', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS search_fts_insert AFTER INSERT ON search_searchdocument BEGIN "
    "INSERT INTO search_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS search_fts_delete AFTER DELETE ON search_searchdocument BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS search_fts_update AFTER UPDATE ON search_searchdocument BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO search_fts(rowid, text) VALUES (new.id, new.text); END",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS search_fts_update",
    "DROP TRIGGER IF EXISTS search_fts_delete",
    "DROP TRIGGER IF EXISTS search_fts_insert",
    "DROP TABLE IF EXISTS search_fts",
]


def _run(statements_by_vendor):
    # Idempotent statements: the test suite reruns every RunPython after flushing a database.
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        )
    ]
