"""Latency of the main public pages through the test client (no network), with query counts."""

from __future__ import annotations

import statistics
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

REPEAT = 30


def _measure(client: Client, url: str) -> tuple[float, float, int]:
    client.get(url)  # warm
    samples = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - t0)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], len(queries)


def run() -> list[tuple[str, str, str]]:
    from django.core.cache import cache

    from tests.factories import IntermediaryFactory, OfferFactory, ServiceTypeFactory

    types = [ServiceTypeFactory() for _ in range(5)]
    for i in range(300):
        firm = IntermediaryFactory()
        for st in types[: 1 + i % 3]:
            OfferFactory(intermediary=firm, service_type=st)
    cache.clear()
    client = Client()
    rows = []
    for name, url in [
        ("page /providers/ (300 firms)", "/providers/"),
        ("page /providers/?service_type=...", f"/providers/?service_type={types[0].code}&price_min=1000"),
        (f"page /fees/{types[0].code}/", f"/fees/{types[0].code}/"),
        ("page /projects/", "/projects/"),
        ("api /api/intermediaries/", "/api/intermediaries/"),
    ]:
        p50, p95, queries = _measure(client, url)
        rows.append((name, f"{p50 * 1000:.1f} ms", f"p95 {p95 * 1000:.1f} ms, {queries} queries"))
    return rows
