"""Search latency at 10,000 and 100,000 offers, per backend.

Builds a market of firms and offers (bulk inserts; every offer has a current fee and a
qualification), indexes it through the real path (``search.services.index_rebuild``) and times
a keyword query with two filters and facets (``q`` + ``price_max`` + ``rating_min``, facets on),
over a rotation of everyday keywords, and the same with a facet filter (service type) instead of
the rating. Prints p50 and p95 per backend and size, and the growth from 10k to 100k.

Backends: the database (always) and, when ``ELASTICSEARCH_URL`` is set, Elasticsearch. Set
``SEARCH_BENCH_SIZES`` (e.g. ``2000,20000``) for a quicker run and ``SEARCH_BENCH_RUNS`` for
the number of timed queries per figure.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from decimal import Decimal

from django.db import connection, transaction

from .market import BRANDS, DISTRICTS, TRADES, _usccs

SIZES = tuple(int(s) for s in os.environ.get("SEARCH_BENCH_SIZES", "10000,100000").split(","))
RUNS = int(os.environ.get("SEARCH_BENCH_RUNS", "200"))
OFFERS_PER_FIRM = 4
KEYWORDS = [
    "环评",
    "安全评价",
    "测绘",
    "造价咨询",
    "可研",
    "水土保持",
    "节能",
    "地质灾害",
    "环境影响评价",
    "检测",
]
DESCRIPTIONS = [
    "承接{st}业务，持证技术人员现场踏勘，按规范编制成果文件并配合专家评审与审批部门技术审查。",
    "{st}：资料收集、现场调查、分析论证、报告编制、修改完善，服务期内免费答疑。",
    "本机构长期从事{st}，熟悉枣庄市审批流程，收费按公示标准执行，不收取任何额外费用。",
]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return p50 * 1000, p95 * 1000


def _grow_market(offers_wanted: int, rng: random.Random, state: dict) -> None:
    """Add firms with offers (and fee schedules, qualifications) until ``offers_wanted`` exist."""
    from django.utils import timezone

    from marketplace.accounts.models import Organisation, Role
    from marketplace.catalog.models import ServiceType, ServiceTypeQualification
    from marketplace.providers.models import FeeSchedule, Intermediary, Offer, Qualification

    types = list(ServiceType.objects.filter(is_active=True).order_by("pk"))
    allowed: dict[int, list[int]] = {}
    for row in ServiceTypeQualification.objects.values("service_type_id", "qualification_type_id"):
        allowed.setdefault(row["service_type_id"], []).append(row["qualification_type_id"])
    make_uscc = _usccs("52", 800_000)
    now = timezone.now()
    today = timezone.localdate()
    have = Offer.objects.count()
    while have < offers_wanted:
        n_firms = min(2_500, -(-(offers_wanted - have) // OFFERS_PER_FIRM))
        start = state.setdefault("firms", 0)
        state["firms"] = start + n_firms
        with transaction.atomic():
            orgs = Organisation.objects.bulk_create(
                Organisation(
                    name=f"{DISTRICTS[i % 6][0]}{BRANDS[i % len(BRANDS)]}{BRANDS[(i * 7) % len(BRANDS)]}"
                    f"{TRADES[i % len(TRADES)]}有限公司{i}",
                    kind=Role.INTERMEDIARY,
                    uscc=make_uscc(i),
                )
                for i in range(start, start + n_firms)
            )
            firms = Intermediary.objects.bulk_create(
                Intermediary(
                    organisation=o,
                    name=o.name,
                    uscc=o.uscc,
                    status=Intermediary.Status.LISTED,
                    listed_at=now - timezone.timedelta(days=rng.randint(0, 900)),
                    rating_score=Decimal(rng.randint(250, 500)) / 100,
                    description=f"{o.name}是一家{TRADES[i % len(TRADES)]}机构，服务枣庄及周边地区。",
                )
                for i, o in zip(range(start, start + n_firms), orgs, strict=True)
            )
            offers = []
            for firm in firms:
                for st in rng.sample(types, OFFERS_PER_FIRM):
                    offers.append(
                        Offer(
                            intermediary=firm,
                            service_type=st,
                            description=rng.choice(DESCRIPTIONS).format(st=st.name_zh),
                            included="现场调查、报告编制、专家评审配合",
                            service_days=rng.randint(10, 60),
                        )
                    )
            offers = offers[: offers_wanted - have]
            Offer.objects.bulk_create(offers, batch_size=2000)
            fees = []
            for offer in offers:
                low = Decimal(rng.randint(20, 800) * 100)
                fees.append(
                    FeeSchedule(
                        offer=offer,
                        version=1,
                        basis=FeeSchedule.Basis.FIXED,
                        rate=low,
                        fee_min=low,
                        fee_max=low * 2,
                        effective_from=now,
                    )
                )
            FeeSchedule.objects.bulk_create(fees, batch_size=2000)
            quals = []
            links = []
            for offer in offers:
                choices = allowed.get(offer.service_type_id)
                if choices:
                    quals.append(
                        Qualification(
                            intermediary_id=offer.intermediary_id,
                            qualification_type_id=rng.choice(choices),
                            number=f"BQ{offer.pk:08d}",
                            authority="山东省测试厅",
                            valid_from=today - timezone.timedelta(days=100),
                            valid_until=today + timezone.timedelta(days=700),
                            certificate="bench/cert.pdf",
                        )
                    )
                    links.append(offer)
            Qualification.objects.bulk_create(quals, batch_size=2000)
            Offer.qualifications.through.objects.bulk_create(
                (
                    Offer.qualifications.through(offer_id=o.pk, qualification_id=q.pk)
                    for o, q in zip(links, quals, strict=True)
                ),
                batch_size=2000,
            )
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE providers_offer SET current_fee_id = ("
                    "SELECT f.id FROM providers_feeschedule f WHERE f.offer_id = providers_offer.id) "
                    "WHERE current_fee_id IS NULL"
                )
        have += len(offers)


def _analyze(*tables: str) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in tables:
                cursor.execute(f"VACUUM ANALYZE {table}")
        else:
            cursor.execute("ANALYZE")


def _time_queries(backend, rng: random.Random) -> dict[str, tuple[float, float, float]]:
    from marketplace.catalog.models import ServiceType
    from search.aliases import aliases_for
    from search.query import SearchQuery

    # For each keyword, the service types it names (so the facet filter keeps some hits).
    matching: dict[str, list[str]] = {}
    for code, name in ServiceType.objects.values_list("code", "name_zh"):
        for kw in KEYWORDS:
            if kw in name or kw in aliases_for(name):
                matching.setdefault(kw, []).append(code)
    figures = {}
    variants = {
        "q + price + rating": lambda kw: SearchQuery(
            q=kw, price_max=Decimal("30000"), rating_min=Decimal("3.5"), page=rng.randint(1, 3)
        ),
        "q + service type + price": lambda kw: SearchQuery(
            q=kw, filters={"service_type": rng.choice(matching.get(kw, ["none"]))}, price_max=Decimal("30000")
        ),
    }
    for label, make in variants.items():
        backend.search(make(KEYWORDS[0]))  # warm up
        samples = []
        totals = []
        for i in range(RUNS):
            query = make(KEYWORDS[i % len(KEYWORDS)])
            t0 = time.perf_counter()
            result = backend.search(query)
            samples.append(time.perf_counter() - t0)
            totals.append(result.total)
        p50, p95 = _percentiles(samples)
        figures[label] = (p50, p95, statistics.median(totals))
    return figures


def _backends():
    from django.conf import settings

    from search.backends.database import DatabaseBackend

    found = [("database", DatabaseBackend())]
    if settings.ELASTICSEARCH_URL:
        from search.backends.elastic import ElasticsearchBackend

        found.append(("elasticsearch", ElasticsearchBackend()))
    return found


def run() -> list[tuple[str, str, str]]:
    from search import services

    rng = random.Random(20_261_130)
    state: dict = {}
    rows: list[tuple[str, str, str]] = []
    p95s: dict[tuple[str, str], list[float]] = {}
    for size in SIZES:
        t0 = time.perf_counter()
        _grow_market(size, rng, state)
        _analyze(
            "providers_intermediary", "providers_offer", "providers_feeschedule", "providers_qualification"
        )
        built = time.perf_counter() - t0
        for name, backend in _backends():
            t0 = time.perf_counter()
            report = services.index_rebuild(backend=backend)
            if hasattr(backend, "refresh"):
                backend.refresh()
            indexed = time.perf_counter() - t0
            _analyze("search_searchdocument", "search_searchterm")
            rows.append(
                (
                    f"search {name} index {size:,} offers",
                    f"{indexed:.1f} s",
                    f"{report['documents']:,} documents; market built in {built:.1f} s",
                )
            )
            for label, (p50, p95, hits) in _time_queries(backend, rng).items():
                p95s.setdefault((name, label), []).append(p95)
                rows.append(
                    (
                        f"search {name} {size:,}: {label}",
                        f"p95 {p95:.1f} ms",
                        f"p50 {p50:.1f} ms, {RUNS} queries, median {hits:,.0f} hits, facets on",
                    )
                )
    if len(SIZES) > 1:
        for (name, label), values in p95s.items():
            rows.append(
                (
                    f"search {name} growth {SIZES[0]:,}->{SIZES[-1]:,}: {label}",
                    f"x{values[-1] / values[0]:.1f}",
                    "p95 ratio",
                )
            )
    return rows
