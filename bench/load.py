"""Anonymous page throughput under gunicorn: the portal home (``/``), the announcements
(``/projects/``) and the directory of intermediaries (``/providers/``), 32 concurrent clients.

Builds a market in the benchmark's test database (``LOAD_FIRMS`` firms with offers, default 400,
and ``LOAD_PROJECTS`` projects published through the services, default 300, on top of whatever
the other benchmarks left there; the demo portal), starts gunicorn on a free loopback port
against that same database with DEBUG off, persistent database connections and a Redis cache
(``LOAD_CACHE_URL``, ``redis://127.0.0.1:6379/10`` by default; flushed first), warms every page
for 5 s, then runs ``wrk -c 32 -t 2 -d 10s --timeout 10s --latency`` against each page and reads
requests/s, p50 and p99 (the long timeout keeps slow answers in the p99 instead of out of it),
and the CPU that gunicorn's processes used per request (from /proc: the figure that does not
depend on what else the machine runs).

Passes: the public page cache (``marketplace.core.pagecache``) with sync workers
(``2 x cores + 1``, as the Procfile and the systemd unit run them), the same with gthread
workers (``cores`` processes x 8 threads, which keep wrk's connections alive), and sync workers
without the page cache (``PUBLIC_PAGE_CACHE_SECONDS=0``: what rendering costs). Goals: 300
requests/s cached with p99 under 100 ms. Workers are preloaded (``--preload``) so that they all
start at once, warm.

Knobs: ``LOAD_PASSES`` (e.g. ``cached-sync,cached-gthread,uncached-sync``), ``LOAD_WORKERS``,
``LOAD_THREADS``, ``LOAD_DURATION`` (wrk's ``-d``). Settings are production-like but plain
HTTP: ``DJANGO_PRODUCTION`` stays off (it would redirect to HTTPS and need ``collectstatic``'s
manifest), which changes nothing on these pages but the form of the static URLs.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PAGES = [
    ("/ (home)", "/"),
    ("/projects/ (announcements)", "/projects/"),
    ("/providers/ (directory)", "/providers/"),
]
CLIENTS = 32
GOAL_RPS = 300
GOAL_P99_MS = 100
CACHE_URL = os.environ.get("LOAD_CACHE_URL", "redis://127.0.0.1:6379/10")
DURATION = os.environ.get("LOAD_DURATION", "10s")
WARM_UP = "5s"
PASSES = os.environ.get("LOAD_PASSES", "cached-sync,cached-gthread,uncached-sync").split(",")
FIRMS = int(os.environ.get("LOAD_FIRMS", 400))
PROJECTS = int(os.environ.get("LOAD_PROJECTS", 300))
ROOT = Path(__file__).resolve().parent.parent
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}/{fifteen:.2f}"


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/s, p50 and p99 (ms) and the error counts from ``wrk --latency`` output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+([\d.]+\w+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+([\d.]+\w+)", output, re.M)
    if not (rps and p50 and p99):
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    requests = re.search(r"(\d+) requests in", output)
    return {
        "rps": float(rps.group(1)),
        "p50": _ms(p50.group(1)),
        "p99": _ms(p99.group(1)),
        "requests": int(requests.group(1)) if requests else 0,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url(name: str) -> str:
    """DATABASE_URL with the test database's name in place of the configured one."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def _worker_options(worker_class: str) -> tuple[list[str], str]:
    cores = os.cpu_count() or 1
    if worker_class == "gthread":
        workers = int(os.environ.get("LOAD_WORKERS", cores))
        threads = int(os.environ.get("LOAD_THREADS", 8))
        options = ["--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads)]
        return options, f"{workers} gthread workers x {threads} threads"
    workers = int(os.environ.get("LOAD_WORKERS", 2 * cores + 1))
    return ["--workers", str(workers), "--worker-class", worker_class], f"{workers} {worker_class} workers"


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - our own loopback server
        return response.status, response.read().decode()


@contextmanager
def _gunicorn(database: str, *, page_cache: bool, worker_class: str, log: Path):
    """A gunicorn serving the project on a free loopback port; yields its base URL and its
    process group."""
    port = _free_port()
    options, _described = _worker_options(worker_class)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(database),
        # Persistent connections, as a production deployment would set.
        "DATABASE_CONN_MAX_AGE": "60",
        "CACHE_URL": CACHE_URL,
        "DJANGO_PRODUCTION": "0",
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "MONITOR_ON_CHANGE": "0",
    }
    if not page_cache:
        env["PUBLIC_PAGE_CACHE_SECONDS"] = "0"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        *options,
        "--preload",
        "--log-level",
        "warning",
    ]
    with open(log, "ab") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed command line
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}; see {log}")
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer /healthz within 180 s; see {log}")
            time.sleep(0.3)
        yield base, process.pid
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _cpu_seconds(group: int) -> float:
    """CPU time (user + system) used so far by the processes of one process group (gunicorn's
    master and workers), from /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process has gone
        if int(fields[2]) == group:  # fields after the command: state, ppid, pgrp, ...
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _wrk(url: str, duration: str = DURATION) -> dict[str, float]:
    result = subprocess.run(  # noqa: S603 - fixed command line
        # wrk leaves requests that time out out of its latency figures: a long timeout keeps
        # slow answers in the p99 instead of hiding them.
        ["wrk", "-c", str(CLIENTS), "-t", "2", "-d", duration, "--timeout", "10s", "--latency", url],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return parse_wrk(result.stdout)


def _flush_cache() -> None:
    import redis

    redis.Redis.from_url(CACHE_URL).flushdb()


def _build_market(firms: int = FIRMS, projects: int = PROJECTS) -> float:
    """Firms with one to three offers each, projects published through the real services
    (create, submit, the operator's check), and the demo portal; returns the seconds taken."""
    from django.db import connection
    from django.test import override_settings

    t0 = time.perf_counter()
    logging.disable(logging.INFO)  # Wagtail logs every publication
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            MEDIA_ROOT=tempfile.mkdtemp(prefix="zjcs-load-media-"),
        ):
            _seed(firms, projects)
    finally:
        logging.disable(logging.NOTSET)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - t0


def _seed(firms: int, projects: int) -> None:
    from cms.demo import seed_portal
    from marketplace.catalog.models import ServiceType
    from tests.factories import IntermediaryFactory, OfferFactory
    from tests.procurement.factories import operator_user, owner_user, published_project

    from .market import DISTRICTS, ROADS

    types = list(ServiceType.objects.filter(is_active=True).order_by("pk")[:12])
    for i in range(firms):
        firm = IntermediaryFactory()
        start = i % len(types)
        for service_type in (types * 2)[start : start + 1 + i % 3]:
            OfferFactory(intermediary=firm, service_type=service_type)
    owners = [owner_user() for _ in range(20)]
    operator = operator_user()
    for i in range(projects):
        service_type = types[i % len(types)]
        district = DISTRICTS[i % len(DISTRICTS)][0]
        road = ROADS[i % len(ROADS)]
        published_project(
            owner=owners[i % len(owners)],
            operator=operator,
            service_type=service_type,
            title=f"{district}{road}改扩建工程{service_type.name_zh}（{i + 1}）",
        )
    seed_portal()


def _public_counts() -> str:
    from marketplace.procurement import selectors as procurement_selectors
    from marketplace.providers import selectors as provider_selectors

    return (
        f"{provider_selectors.directory({})[1].count():,} listed firms, "
        f"{procurement_selectors.announcements({})[1].count():,} public announcements"
    )


def _check_page(base: str, path: str) -> None:
    status, html = _get(base + path)
    if status != 200 or "zj-" not in html:
        raise RuntimeError(f"{path} answered {status}")


def run() -> list[tuple[str, str, str]]:
    from django.conf import settings
    from django.db import connection

    if shutil.which("wrk") is None:
        return [("load: anonymous pages", "skipped", "wrk is not installed (apt install wrk)")]
    if find_spec("gunicorn") is None:
        return [("load: anonymous pages", "skipped", "gunicorn is not installed (pip install gunicorn)")]
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql") or not os.environ.get(
        "DATABASE_URL"
    ):
        return [
            (
                "load: anonymous pages",
                "skipped",
                "needs PostgreSQL (DATABASE_URL): gunicorn's workers share the test database",
            )
        ]
    try:
        _flush_cache()
    except Exception as exc:  # noqa: BLE001 - any connection failure means: no Redis
        return [("load: anonymous pages", "skipped", f"no Redis at {CACHE_URL}: {exc}")]

    seconds = _build_market()
    rows = [
        (
            "load: build market",
            f"{seconds:.0f} s",
            f"{FIRMS} firms with offers, {PROJECTS} projects published through the services; "
            f"{_public_counts()}; the demo portal",
        )
    ]
    database = connection.settings_dict["NAME"]
    log = Path(tempfile.gettempdir()) / f"zjcs-load-gunicorn-{os.getpid()}.log"
    connection.close()  # gunicorn's workers get the database to themselves
    for label in PASSES:
        cached, worker_class = label.split("-")
        _flush_cache()
        with _gunicorn(database, page_cache=cached == "cached", worker_class=worker_class, log=log) as (
            base,
            group,
        ):
            for _name, path in PAGES:
                _check_page(base, path)  # fills the cache, and fails loudly on an error page
                _wrk(base + path, WARM_UP)
            for name, path in PAGES:
                rows.append(
                    _measure(f"load {name} {cached}, {worker_class}", base + path, group, worker_class)
                )
    _flush_cache()
    return rows


def _measure(name: str, url: str, group: int, worker_class: str) -> tuple[str, str, str]:
    load = _load()
    cpu = _cpu_seconds(group)
    result = _wrk(url)
    cpu_ms = (_cpu_seconds(group) - cpu) * 1000 / max(1, result["requests"])
    errors = ""
    if result["non_2xx"] or result["socket_errors"]:
        errors = f", {result['non_2xx']} non-2xx, {result['socket_errors']} socket errors"
    verdict = ""
    if "uncached" not in name:
        met = result["rps"] >= GOAL_RPS and result["p99"] < GOAL_P99_MS
        verdict = f"; goal {GOAL_RPS}/s with p99 < {GOAL_P99_MS} ms: {'meets' if met else 'MISSES'}"
    _options, workers = _worker_options(worker_class)
    return (
        name,
        f"{result['rps']:,.0f} req/s",
        f"p99 {result['p99']:.1f} ms, p50 {result['p50']:.1f} ms, {CLIENTS} clients, {workers}, "
        f"gunicorn CPU {cpu_ms:.2f} ms/request, {load} before{errors}{verdict}",
    )
