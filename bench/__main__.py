"""Run every benchmark and print one table.

Uses the database in DATABASE_URL (PostgreSQL for real figures); creates and drops its own
test database through Django's test runner machinery, so it never touches real data.
"""

from __future__ import annotations

import os
import sys
import time

import django


def _monitor_wanted(settings) -> bool:
    """The monitoring benchmark builds a market of a million applications: it runs on
    PostgreSQL, or anywhere when MONITOR_BENCH=1 (set MONITOR_SCALE for a smaller market)."""
    if os.environ.get("MONITOR_BENCH") == "1":
        return True
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


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
    old = runner.setup_databases()
    started = time.perf_counter()
    rows: list[tuple[str, str, str]] = []
    try:
        from . import load, ocds, pages, search, selection

        benchmarks = [selection, pages, search, ocds, load]
        if _monitor_wanted(settings):
            from . import monitor

            benchmarks.append(monitor)
        # BENCH=monitor (or a comma-separated list of module names) runs only those.
        only = {name.strip() for name in os.environ.get("BENCH", "").split(",") if name.strip()}
        if only:
            benchmarks = [b for b in benchmarks if b.__name__.rsplit(".", 1)[-1] in only]
        for benchmark in benchmarks:
            rows += benchmark.run()
    finally:
        runner.teardown_databases(old)
        teardown_test_environment()
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    width = max(len(r[0]) for r in rows)
    print(f"\nbenchmarks on {engine} ({time.perf_counter() - started:.1f} s in all)\n")
    print(f"{'benchmark'.ljust(width)}  {'result':>14}  notes")
    print(f"{'-' * width}  {'-' * 14}  -----")
    for name, result, notes in rows:
        print(f"{name.ljust(width)}  {result:>14}  {notes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
