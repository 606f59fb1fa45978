"""The OCDS export at scale (releases per second, peak memory) and the dashboard tables' time.

Builds one synthetic market (``bench.market``) of ``OCDS_PROJECTS`` projects (default 4,000;
about five applications each, contracts, amendments and payments), then writes the whole
package (first a quarter of it, then all) to a temporary file twice: once timed, once under ``tracemalloc`` for the
peak of Python allocations. A constant-memory export shows about the same peak at both sizes.
The machine is shared with other jobs: every figure comes with the load average at its start.
"""

from __future__ import annotations

import os
import tempfile
import time
import tracemalloc


def _load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


def _export(limit: int | None) -> int:
    from marketplace.oversight.ocds.export import iter_releases, write_package

    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".json") as out:
        count = write_package(out, iter_releases(limit=limit), uri="urn:bench")
        out.flush()
        return count


def _measure(limit: int | None) -> list[tuple[str, str, str]]:
    load = _load()
    t0 = time.perf_counter()
    count = _export(limit)
    seconds = time.perf_counter() - t0
    label = f"({count} releases)"
    tracemalloc.start()
    _export(limit)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return [
        (
            f"ocds export {label}",
            f"{count / seconds:,.0f} rel/s",
            f"{count} releases in {seconds:.1f} s, {load}",
        ),
        (f"ocds export {label} peak", f"{peak / 2**20:.1f} MiB", "tracemalloc peak of Python allocations"),
    ]


def run() -> list[tuple[str, str, str]]:
    from bench.market import build_large_market

    total = int(os.environ.get("OCDS_PROJECTS", "4000"))
    build_large_market(firms=max(total // 10, 50), projects=total, applications=total * 5)
    # The first quarter, then everything: a constant-memory export peaks about the same.
    return _measure(max(total // 4, 1)) + _measure(None) + _dashboards()


def _dashboards() -> list[tuple[str, str, str]]:
    """Each dashboard table over the same market, unfiltered (the worst case), with its queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from marketplace.oversight.dashboards.selectors import Filters
    from marketplace.oversight.dashboards.tables import TABLES

    rows = []
    for name, table in TABLES.items():
        list(table.rows(Filters()))  # warm
        load = _load()
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            count = len(list(table.rows(Filters())))
            ms = (time.perf_counter() - t0) * 1000
        rows.append(
            (f"dashboard table {name}", f"{ms:.0f} ms", f"{count} rows, {len(queries)} queries, {load}")
        )
    return rows
