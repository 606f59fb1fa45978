"""The OCDS export at scale (releases per second, peak memory) and the dashboard tables' time.

Builds one synthetic market (``bench.market``) of ``OCDS_PROJECTS`` projects (default 20,000;
about five applications each, contracts, amendments and payments), then writes the whole
package (first a quarter of it, then all) to a temporary file twice: once timed, once under
``tracemalloc`` for the peak of Python allocations. A constant-memory export shows about the same
peak at both sizes. The timed run also reports the process's peak resident set size (reset just
before the export where Linux allows it, so the market build does not count) and the CPU seconds
spent by this process and by its PostgreSQL backend: the machine is shared, so the rate follows
the load, while releases per CPU-second do not. Every figure comes with the load average at its
start.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

MEMORY_GOAL_MIB = 300
RATE_GOAL = 5000


def _load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


def _export(limit: int | None) -> int:
    from marketplace.oversight.ocds.export import iter_releases, write_package

    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".json") as out:
        count = write_package(out, iter_releases(limit=limit), uri="urn:bench")
        out.flush()
        return count


def _reset_peak_rss() -> bool:
    """Start the peak RSS afresh (Linux: 5 > /proc/self/clear_refs); False where impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _rss_mib() -> float | None:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return None


def _backend_cpu() -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend, when it runs here."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:  # a server on another host (or another PID namespace)
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(limit: int | None) -> list[tuple[str, str, str]]:
    load = _load()
    before = _rss_mib()
    reset = _reset_peak_rss()
    backend0 = _backend_cpu()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    count = _export(limit)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    backend1 = _backend_cpu()
    rss = _peak_rss_mib()
    label = f"({count} releases)"
    if backend0 is not None and backend1 is not None:
        backend = backend1 - backend0
        spent = (
            f"python {cpu:.1f} s + postgres {backend:.1f} s CPU = {count / (cpu + backend):,.0f} rel/CPU-s"
        )
    else:
        spent = f"python {cpu:.1f} s CPU"
    tracemalloc.start()
    _export(limit)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return [
        (
            f"ocds export {label}",
            f"{count / seconds:,.0f} rel/s",
            f"{count} releases in {seconds:.1f} s ({spent}), {load}; goal >= {RATE_GOAL:,}/s: "
            + ("meets" if count / seconds >= RATE_GOAL else "MISSES"),
        ),
        (
            f"ocds export {label} peak",
            f"{peak / 2**20:.1f} MiB",
            f"tracemalloc peak of Python allocations; peak RSS of this process {rss:.0f} MiB "
            + (
                f"(it began the export at {before:.0f} MiB, holding the earlier benchmarks)"
                if reset and before is not None
                else "(since it started)"
            ),
        ),
    ]


_EXPORT_AND_REPORT = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from django.core.management import call_command
call_command("export_ocds", "--out", sys.argv[1])
print(next(line for line in open("/proc/self/status") if line.startswith("VmHWM")), file=sys.stderr)
"""


def _command_export() -> tuple[str, str, str]:
    """``manage.py export_ocds`` over the whole market in a process of its own: its peak RSS is
    what a deployment needs for the export (this process holds the earlier benchmarks' markets,
    so its own peak says nothing about the export)."""
    from django.db import connection

    url = os.environ.get("DATABASE_URL")
    if connection.vendor != "postgresql" or not url:
        return ("ocds export_ocds command", "skipped", "needs PostgreSQL (DATABASE_URL) shared with a child")
    name = connection.settings_dict["NAME"]
    env = {**os.environ, "DATABASE_URL": urlunsplit(urlsplit(url)._replace(path=f"/{name}"))}
    load = _load()
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "package.json"
        t0 = time.perf_counter()
        # The child reports its own VmHWM: the rusage of a child counts the parent's pages it
        # held between fork and exec, so it would report this (large) process's size instead.
        child = subprocess.run(  # noqa: S603 (our own interpreter and the export command)
            [sys.executable, "-c", _EXPORT_AND_REPORT, str(out)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        seconds = time.perf_counter() - t0
        message = child.stderr.decode(errors="replace").strip()
        if child.returncode != 0:
            raise RuntimeError(f"export_ocds failed: {message[-300:]}")
        size = out.stat().st_size
    lines = message.splitlines()
    peak = int(lines[-1].split()[1]) / 1024  # "VmHWM:  123456 kB"
    message = lines[-2] if len(lines) > 1 else ""
    verdict = "meets" if peak < MEMORY_GOAL_MIB else "MISSES"
    return (
        "ocds export_ocds command peak RSS",
        f"{peak:.0f} MiB",
        f"{message}; {size / 2**20:.0f} MiB written, {seconds:.1f} s "
        f"with Django's start-up, {load}; goal < {MEMORY_GOAL_MIB} MiB: {verdict}",
    )


def run() -> list[tuple[str, str, str]]:
    from bench.market import build_large_market

    total = int(os.environ.get("OCDS_PROJECTS", "20000"))
    load = _load()
    t0 = time.perf_counter()
    build_large_market(firms=max(total // 10, 50), projects=total, applications=total * 5)
    built = time.perf_counter() - t0
    market = (f"ocds market ({total} projects)", f"{built:.0f} s", f"bench.market build time, {load}")
    # The first quarter, then everything: a constant-memory export peaks about the same.
    return [market] + _measure(max(total // 4, 1)) + _measure(None) + [_command_export()] + _dashboards()


def _dashboards() -> list[tuple[str, str, str]]:
    """Each dashboard table over the same market, unfiltered (the worst case), with its queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from marketplace.oversight.dashboards.selectors import Filters
    from marketplace.oversight.dashboards.tables import TABLES

    rows = []
    for name, table in TABLES.items():
        list(table.rows(Filters()))  # warm
        connection.queries_log.clear()  # a full log (the market build) would count nothing
        load = _load()
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            count = len(list(table.rows(Filters())))
            ms = (time.perf_counter() - t0) * 1000
        rows.append(
            (f"dashboard table {name}", f"{ms:.0f} ms", f"{count} rows, {len(queries)} queries, {load}")
        )
    return rows
