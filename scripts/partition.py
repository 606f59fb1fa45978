"""Run a partitioning script from deploy/partitioning/ against PostgreSQL, in one transaction.

These scripts are kept out of the Django migration chain: they are for a national deployment
(docs/scale.md) and change what the models assume. Usage:

    DATABASE_URL=postgres://... python scripts/partition.py --region 37 --regions 11,37 \\
        --first-year 2024 --last-year 2027 [--schema public] [--dry-run]

``--dry-run`` does everything, prints the rows per partition and rolls back. Take a backup
first (docs/deploy.md) and stop the web and worker processes: the script holds an exclusive
lock on procurement_project and every table that points at it until it commits.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent.parent / "deploy" / "partitioning"
DEFAULT_SCRIPT = SCRIPTS / "0001_partition_projects.sql"


def apply(
    cursor: Any,
    *,
    region: str,
    regions: list[str],
    first_year: int,
    last_year: int,
    schema: str | None = None,
    script: Path = DEFAULT_SCRIPT,
) -> None:
    """Run ``script`` on ``cursor`` (a DB-API cursor inside an open transaction): the settings
    it reads are set for this transaction only."""
    if schema:
        cursor.execute("SELECT set_config('search_path', quote_ident(%s), true)", [schema])
    values = {
        "zjcs.region": region,
        "zjcs.regions": ",".join(regions),
        "zjcs.first_year": str(first_year),
        "zjcs.last_year": str(last_year),
    }
    for name, value in values.items():
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
    cursor.execute(script.read_text(encoding="utf-8"))


def partition_rows(cursor: Any, table: str = "procurement_project") -> list[tuple[str, int]]:
    """Rows in each leaf partition of ``table`` (in the current schema), by partition name."""
    cursor.execute(
        "SELECT relid::regclass::text FROM pg_partition_tree(%s::regclass) WHERE isleaf ORDER BY 1",
        [table],
    )
    leaves = [row[0] for row in cursor.fetchall()]
    counts = []
    for leaf in leaves:
        cursor.execute(f"SELECT count(*) FROM {leaf}")  # noqa: S608 - names from the catalogue
        counts.append((leaf, cursor.fetchone()[0]))
    return counts


class _DryRun(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--schema", default=None, help="schema holding procurement_project (search_path)")
    parser.add_argument("--region", required=True, help="region code of the rows already there, e.g. 37")
    parser.add_argument("--regions", required=True, help="comma-separated region codes to create")
    parser.add_argument("--first-year", type=int, required=True)
    parser.add_argument("--last-year", type=int, required=True)
    parser.add_argument("--script", type=Path, default=DEFAULT_SCRIPT)
    parser.add_argument("--dry-run", action="store_true", help="run, report, roll back")
    args = parser.parse_args(argv)
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("needs PostgreSQL: --database-url or DATABASE_URL=postgres://...")

    import psycopg

    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    with psycopg.connect(args.database_url) as conn:
        conn.add_notice_handler(lambda notice: print(notice.message_primary))
        try:
            with conn.transaction(), conn.cursor() as cursor:
                apply(
                    cursor,
                    region=args.region,
                    regions=regions,
                    first_year=args.first_year,
                    last_year=args.last_year,
                    schema=args.schema,
                    script=args.script,
                )
                for leaf, rows in partition_rows(cursor):
                    print(f"{leaf}\t{rows}")
                if args.dry_run:
                    raise _DryRun
        except _DryRun:
            print("dry run: rolled back")
    return 0


if __name__ == "__main__":
    sys.exit(main())
