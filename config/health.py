"""Readiness checks behind ``/healthz``: the database, the Celery broker and the search backend.

Each check is bounded by a short timeout so a load balancer's probe answers quickly even when a
dependency hangs. A failure is reported by the exception's class name only: connection strings
and server messages (which may carry hosts, users or passwords) never reach the response.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection

# Seconds a check may wait for a dependency before it counts as down.
CHECK_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    ms: float
    error: str = ""
    detail: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": self.ok, "ms": self.ms}
        if self.error:
            body["error"] = self.error
        if self.detail:
            body.update(self.detail)
        return body


def _error_name(exc: BaseException) -> str:
    """The class of the underlying failure (a wrapper's cause when there is one)."""
    cause = exc.__cause__ or exc
    return type(cause).__name__


def _timed(name: str, check: Callable[[], object], detail: dict[str, Any] | None = None) -> CheckResult:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - any failure makes the service unready
        ms = round((time.perf_counter() - started) * 1000, 1)
        return CheckResult(name, False, ms, error=_error_name(exc), detail=detail)
    ms = round((time.perf_counter() - started) * 1000, 1)
    return CheckResult(name, True, ms, detail=detail)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def broker_configured() -> bool:
    """A broker is configured when ``CELERY_BROKER_URL`` names one outside this process (the
    default ``memory://`` is the eager, in-process setup of development and tests)."""
    url = settings.CELERY_BROKER_URL or ""
    return bool(url) and not url.startswith("memory://")


def check_broker() -> None:
    """A real connection to the broker (Redis in production), one retry at most."""
    from kombu import Connection

    with Connection(settings.CELERY_BROKER_URL, connect_timeout=CHECK_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0, interval_max=0, timeout=CHECK_TIMEOUT_SECONDS
        )


def run_checks() -> list[CheckResult]:
    """Every configured check, in a fixed order. The search check pings the active backend: a
    trivial query on the database backend, the cluster's health on Elasticsearch (a red
    cluster counts as down)."""
    from search.services import get_backend

    results = [_timed("database", check_database)]
    if broker_configured():
        results.append(_timed("broker", check_broker))
    backend = get_backend()
    results.append(
        _timed(
            "search", lambda: backend.ping(timeout=CHECK_TIMEOUT_SECONDS), detail={"backend": backend.name}
        )
    )
    return results
