"""Run every benchmark and print one table.

Uses the database in DATABASE_URL (PostgreSQL for real figures); creates and drops its own
test database through Django's test runner machinery, so it never touches real data.
"""

from __future__ import annotations

import os
import sys
import time
import traceback

import django


def _monitor_wanted(settings) -> bool:
    """The monitoring benchmark builds a market of a million applications: it runs on
    PostgreSQL, or anywhere when MONITOR_BENCH=1 (set MONITOR_SCALE for a smaller market)."""
    if os.environ.get("MONITOR_BENCH") == "1":
        return True
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def _run_alone(runner, benchmark) -> list[tuple[str, str, str]]:
    """One benchmark in a database of its own: each builds its own market (the market builders
    number firms the same way, so two markets in one database collide), and a failure is a row
    of the table rather than the end of the run. Rows are printed as soon as they exist."""
    from django.db import connections

    name = benchmark.__name__.rsplit(".", 1)[-1]
    for connection in connections.all():
        # Query counts come from this log: one that the last benchmark filled counts nothing.
        connection.queries_log.clear()
    old = runner.setup_databases()
    try:
        found = benchmark.run()
    except Exception as error:  # noqa: BLE001 (reported in the table; the other benchmarks go on)
        traceback.print_exc()
        found = [(f"{name}: FAILED", "-", f"{type(error).__name__}: {error}"[:200])]
    finally:
        runner.teardown_databases(old)
    for row in found:
        print("  ".join(row), flush=True)
    return found


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.conf import settings
    from django.test.utils import get_runner, setup_test_environment, teardown_test_environment

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # Benchmarks time scans explicitly; a rescan after every seeded change would dominate them.
    settings.MONITOR_ON_CHANGE = False
    setup_test_environment()
    runner = get_runner(settings)(verbosity=0, interactive=False)
    started = time.perf_counter()
    rows: list[tuple[str, str, str]] = []
    from . import load, ocds, pages, search, selection

    benchmarks = [selection, pages, search, ocds, load]
    if _monitor_wanted(settings):
        from . import monitor

        benchmarks.append(monitor)
    # BENCH=monitor (or a comma-separated list of module names) runs only those.
    only = {name.strip() for name in os.environ.get("BENCH", "").split(",") if name.strip()}
    if only:
        benchmarks = [b for b in benchmarks if b.__name__.rsplit(".", 1)[-1] in only]
    try:
        for benchmark in benchmarks:
            rows += _run_alone(runner, benchmark)
    finally:
        teardown_test_environment()
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    width = max((len(r[0]) for r in rows), default=10)
    print(f"\nbenchmarks on {engine} ({time.perf_counter() - started:.1f} s in all)\n")
    print(f"{'benchmark'.ljust(width)}  {'result':>14}  notes")
    print(f"{'-' * width}  {'-' * 14}  -----")
    for name, result, notes in rows:
        print(f"{name.ljust(width)}  {result:>14}  {notes}")
    return 1 if any(name.endswith(": FAILED") for name, _, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
