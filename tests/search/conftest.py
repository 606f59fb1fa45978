"""Search fixtures: a small Chinese market, and both backends.

The Elasticsearch backend runs against the cluster in ``ELASTICSEARCH_URL`` when it is set, else
against osmem-server (an in-memory OpenSearch-compatible server, a dev dependency) started on a
free loopback port; without either, those tests skip and say why."""

from __future__ import annotations

import os
import re
import uuid
from decimal import Decimal

import pytest

from search import services
from search.backends.database import DatabaseBackend
from tests.factories import (
    IntermediaryFactory,
    OfferFactory,
    QualificationFactory,
    QualificationTypeFactory,
    ServiceTypeFactory,
)

EIA = "建设项目环境影响报告书（表）编制"
SAFETY = "安全评价（安全预评价、安全验收评价）"
LIVE_URL = os.environ.get("ELASTICSEARCH_URL", "")


@pytest.fixture(scope="session")
def es_url():
    """A search engine to test against: a real cluster if given, else osmem-server."""
    if LIVE_URL:
        yield LIVE_URL
        return
    try:
        from osmem_server import OsmemServer
    except ImportError:
        pytest.skip("osmem-server is not installed (pip install -e .[dev]) and ELASTICSEARCH_URL is unset")
    import elasticsearch._sync.client._base as client_base

    # osmem-server refuses the elasticsearch 8 client's compatibility media type
    # (application/vnd.elasticsearch+json; compatible-with=8): send plain JSON, in tests only.
    original = client_base._COMPAT_MIMETYPE_RE
    client_base._COMPAT_MIMETYPE_RE = re.compile(r"(?!)(never)")
    server = OsmemServer.start(addr="127.0.0.1:0")
    try:
        yield server.url
    finally:
        server.process.terminate()
        server.process.wait(timeout=10)
        client_base._COMPAT_MIMETYPE_RE = original


@pytest.fixture
def es_backend(es_url, settings):
    from elasticsearch import Elasticsearch

    from search.backends.elastic import ElasticsearchBackend, alias_for
    from search.models import Kind

    settings.ELASTICSEARCH_INDEX_PREFIX = f"test-{uuid.uuid4().hex[:10]}"
    client = Elasticsearch(es_url, request_timeout=10)
    backend = ElasticsearchBackend(client)
    yield backend
    for kind in Kind.values:
        client.indices.delete(index=f"{alias_for(kind)}-*", ignore_unavailable=True, allow_no_indices=True)


@pytest.fixture(params=["database", "elasticsearch"])
def backend(request):
    """Each behaviour that must agree between the backends runs on both."""
    if request.param == "database":
        return DatabaseBackend()
    return request.getfixturevalue("es_backend")


def reindex(backend) -> None:
    services.index_rebuild(backend=backend)
    if hasattr(backend, "refresh"):
        backend.refresh()


@pytest.fixture
def market(db):
    """Two EIA firms, a safety-assessment firm, a survey firm; qualifications on the offers."""
    eia = ServiceTypeFactory(code="eia-report", name_zh=EIA)
    safety = ServiceTypeFactory(code="safety-eval", name_zh=SAFETY)
    survey = ServiceTypeFactory(code="survey", name_zh="工程测量")
    qual = QualificationTypeFactory(code="eia-engineer", name_zh="环境影响评价工程师登记")
    green = IntermediaryFactory(name="枣庄绿源环境科技有限公司", rating_score=Decimal("4.60"))
    lunan = IntermediaryFactory(name="山东鲁南环保工程咨询有限公司", rating_score=Decimal("3.90"))
    antai = IntermediaryFactory(name="枣庄安泰安全技术服务有限公司", rating_score=Decimal("4.20"))
    hengxin = IntermediaryFactory(name="滕州市恒信测绘有限公司")
    green_eia = OfferFactory(
        intermediary=green, service_type=eia, fee={"fee_min": Decimal("20000"), "fee_max": Decimal("60000")}
    )
    green_eia.qualifications.add(QualificationFactory(intermediary=green, qualification_type=qual))
    lunan_eia = OfferFactory(
        intermediary=lunan, service_type=eia, fee={"fee_min": Decimal("80000"), "fee_max": Decimal("120000")}
    )
    antai_safety = OfferFactory(intermediary=antai, service_type=safety)
    hengxin_survey = OfferFactory(intermediary=hengxin, service_type=survey)
    return {
        "eia": eia,
        "safety": safety,
        "survey": survey,
        "qual": qual,
        "green": green,
        "lunan": lunan,
        "antai": antai,
        "hengxin": hengxin,
        "green_eia": green_eia,
        "lunan_eia": lunan_eia,
        "antai_safety": antai_safety,
        "hengxin_survey": hengxin_survey,
    }
