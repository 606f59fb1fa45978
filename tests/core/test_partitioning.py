"""deploy/partitioning/0001_partition_projects.sql on PostgreSQL, in a scratch schema.

The scratch schema holds copies of the real procurement_project and procurement_application
tables (``LIKE ... INCLUDING ALL``, the same columns, checks and indexes), filled with projects
made through the real services. The script turns the project table into one partitioned by
region (LIST) and year of created_at (RANGE); the tests check that every row moved to the
right partition, that the keys and indexes are there, that the foreign key pointing at the
table was recorded and dropped, and that EXPLAIN scans only the partition a query names. All
of it happens inside the test's transaction and is rolled back.
"""

from __future__ import annotations

import importlib.util
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from marketplace.procurement import services as procurement
from marketplace.procurement.models import Project
from tests.conftest import requires_postgres
from tests.procurement.factories import firm_user, published_project

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db]

SCHEMA = "zjcs_partition_test"
SHANGHAI = ZoneInfo("Asia/Shanghai")
OWN, OTHER = "37", "11"


def _runner():
    path = Path(__file__).resolve().parents[2] / "scripts" / "partition.py"
    spec = importlib.util.spec_from_file_location("zjcs_partition_runner", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _at(year: int, month: int = 6) -> datetime:
    return datetime(year, month, 1, 9, 0, tzinfo=SHANGHAI)


def _relations(cursor, sql: str, params: list | None = None) -> set[str]:
    """The tables a query's plan reads (partition pruning leaves only the ones it needs)."""
    cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params or [])
    plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found: set[str] = set()

    def walk(node: dict) -> None:
        if "Relation Name" in node:
            found.add(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


@pytest.fixture
def scratch():
    """Copies of the project and application tables, with three real projects created in
    2025, 2026 and 2019 (the last outside the yearly partitions) and one application."""
    projects = [published_project() for _ in range(3)]
    for project, year in zip(projects, (2025, 2026, 2019), strict=True):
        Project.objects.filter(pk=project.pk).update(created_at=_at(year))
    firm, user = firm_user(projects[0].service_type)
    procurement.application_submit(actor=user, project=projects[0], quote="60000")
    ids = [p.pk for p in projects]
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {SCHEMA}")
        for table in ("procurement_project", "procurement_application"):
            cursor.execute(f"CREATE TABLE {SCHEMA}.{table} (LIKE public.{table} INCLUDING ALL)")
        # Foreign keys as migrate makes them: one out of the table, one into it.
        cursor.execute(
            f"ALTER TABLE {SCHEMA}.procurement_project ADD CONSTRAINT project_owner_fk FOREIGN KEY (owner_id)"
            " REFERENCES public.accounts_organisation (id) DEFERRABLE INITIALLY DEFERRED"
        )
        cursor.execute(
            f"ALTER TABLE {SCHEMA}.procurement_application ADD CONSTRAINT application_project_fk"
            f" FOREIGN KEY (project_id) REFERENCES {SCHEMA}.procurement_project (id) DEFERRABLE INITIALLY DEFERRED"
        )
        cursor.execute(
            f"INSERT INTO {SCHEMA}.procurement_project SELECT * FROM public.procurement_project WHERE id = ANY(%s)",  # noqa: S608
            [ids],
        )
        cursor.execute(
            f"INSERT INTO {SCHEMA}.procurement_application"  # noqa: S608
            " SELECT * FROM public.procurement_application WHERE project_id = ANY(%s)",
            [ids],
        )
        # Check the deferred foreign keys now, as a commit would: the script alters these tables,
        # which PostgreSQL refuses while checks are pending in the same transaction.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # Later ids must not collide: the identity sequence of the copy starts where public's is.
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{SCHEMA}.procurement_project', 'id'), %s)", [max(ids)]
        )
    return projects


def _plain_indexes(cursor) -> set[str]:
    """The project table's indexes other than its unique ones (primary key, public_number)."""
    cursor.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = %s::regclass AND NOT i.indisunique",
        [f"{SCHEMA}.procurement_project"],
    )
    return {row[0] for row in cursor.fetchall()}


def _partition(cursor) -> None:
    _runner().apply(cursor, region=OWN, regions=[OTHER, OWN], first_year=2024, last_year=2026, schema=SCHEMA)


def test_the_project_table_becomes_partitioned_and_every_row_moves(scratch):
    new, newer, old = scratch
    with connection.cursor() as cursor:
        _partition(cursor)
        rows = dict(_runner().partition_rows(cursor))
        cursor.execute("SELECT id, region, public_number FROM procurement_project ORDER BY id")
        moved = cursor.fetchall()
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = 'procurement_project'::regclass")
        kind = cursor.fetchone()[0]

    assert kind == "p"
    assert moved == [(p.pk, OWN, p.public_number) for p in sorted(scratch, key=lambda p: p.pk)]
    assert rows == {
        f"procurement_project_r{OTHER}_other": 0,
        f"procurement_project_r{OTHER}_y2024": 0,
        f"procurement_project_r{OTHER}_y2025": 0,
        f"procurement_project_r{OTHER}_y2026": 0,
        f"procurement_project_r{OWN}_other": 1,  # 2019
        f"procurement_project_r{OWN}_y2024": 0,
        f"procurement_project_r{OWN}_y2025": 1,
        f"procurement_project_r{OWN}_y2026": 1,
    }


def test_keys_indexes_and_foreign_keys_after_the_change(scratch):
    with connection.cursor() as cursor:
        before = _plain_indexes(cursor)
        _partition(cursor)
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'procurement_project'::regclass AND contype = 'p'"
        )
        primary_key = cursor.fetchone()[0]
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
            [SCHEMA, "procurement_project"],
        )
        indexes = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'procurement_project'::regclass AND contype = 'f'"
        )
        outgoing = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT table_name, constraint_name FROM partitioning_dropped_fk")
        dropped = cursor.fetchall()
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
            " AND conrelid = 'procurement_application'::regclass"
        )
        left_on_applications = cursor.fetchone()[0]

    assert primary_key == "PRIMARY KEY (id, region, created_at)"
    # The table's indexes are rebuilt under their names (they cascade to every partition).
    assert len(before) >= 10
    assert indexes == before | {"procurement_project_pkey", "procurement_project_region_created"}
    assert outgoing == {"project_owner_fk"}
    assert dropped == [(f"{SCHEMA}.procurement_application", "application_project_fk")]
    assert left_on_applications == 0


def test_new_rows_keep_their_ids_and_go_to_their_partition(scratch):
    last = max(p.pk for p in scratch)
    with connection.cursor() as cursor:
        _partition(cursor)
        cursor.execute(
            "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute"
            " WHERE attrelid = 'procurement_project'::regclass AND attnum > 0 AND NOT attisdropped"
            " AND attname NOT IN ('id', 'region', 'public_number', 'created_at')"
        )
        rest = cursor.fetchone()[0]
        # As the unchanged model inserts: no id, no region (so this deployment's own).
        cursor.execute(
            f"INSERT INTO procurement_project (public_number, created_at, {rest})"  # noqa: S608
            f" SELECT 'ZZZJ2026NEW1', %s, {rest} FROM procurement_project WHERE id = %s"
            " RETURNING id, region, tableoid::regclass::text",
            [_at(2026, 3), scratch[0].pk],
        )
        own = cursor.fetchone()
        # A project of another region, as a national deployment would insert it.
        cursor.execute(
            f"INSERT INTO procurement_project (region, public_number, created_at, {rest})"  # noqa: S608
            f" SELECT %s, 'ZZZJ2025NEW2', %s, {rest} FROM procurement_project WHERE id = %s"
            " RETURNING id, region, tableoid::regclass::text",
            [OTHER, _at(2025, 3), scratch[0].pk],
        )
        other = cursor.fetchone()

    assert own[0] > last and own[1:] == (OWN, f"procurement_project_r{OWN}_y2026")
    assert other[0] == own[0] + 1 and other[1:] == (OTHER, f"procurement_project_r{OTHER}_y2025")


def test_a_query_naming_region_and_year_scans_only_that_partition(scratch):
    with connection.cursor() as cursor:
        _partition(cursor)
        year_2025 = _relations(
            cursor,
            "SELECT * FROM procurement_project WHERE region = %s AND created_at >= %s AND created_at < %s",
            [OWN, datetime(2025, 1, 1, tzinfo=SHANGHAI), datetime(2026, 1, 1, tzinfo=SHANGHAI)],
        )
        one_region = _relations(cursor, "SELECT count(*) FROM procurement_project WHERE region = %s", [OTHER])
        by_id_only = _relations(cursor, "SELECT * FROM procurement_project WHERE id = %s", [scratch[0].pk])

    assert year_2025 == {f"procurement_project_r{OWN}_y2025"}
    assert one_region == {
        f"procurement_project_r{OTHER}_y2024",
        f"procurement_project_r{OTHER}_y2025",
        f"procurement_project_r{OTHER}_y2026",
        f"procurement_project_r{OTHER}_other",
    }
    # Without the partition key every partition is searched (one index probe each): why the
    # models would have to carry region and year wherever they look a project up.
    assert len(by_id_only) == 8


def test_the_script_refuses_a_table_already_partitioned(scratch):
    from django.db import DatabaseError, transaction

    with connection.cursor() as cursor:
        _partition(cursor)
        with pytest.raises(DatabaseError, match="already partitioned"), transaction.atomic():
            _partition(cursor)


def test_the_runner_converts_the_real_schema_in_a_dry_run_and_leaves_it_as_it_was(capsys):
    """The command line, on the test database's own tables: every real foreign key into
    procurement_project (applications, contracts, flags, ...), then a rollback."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    url = f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"

    code = _runner().main(
        ["--database-url", url, "--region", OWN, "--regions", f"{OTHER},{OWN}"]
        + ["--first-year", "2025", "--last-year", "2026", "--dry-run"]
    )

    out = capsys.readouterr().out
    assert code == 0
    assert f"\nprocurement_project_r{OWN}_y2025\t" in out
    assert f"\nprocurement_project_r{OTHER}_other\t0" in out
    assert out.rstrip().endswith("dry run: rolled back")
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = 'public.procurement_project'::regclass")
        assert cursor.fetchone()[0] == "r"
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND confrelid = 'public.procurement_project'::regclass"
        )
        assert cursor.fetchone()[0] >= 15  # the foreign keys are all still there
