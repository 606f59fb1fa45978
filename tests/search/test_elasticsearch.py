"""The Elasticsearch backend: the request bodies it builds (compared with the expected JSON)
and index management against a live engine (osmem-server, or ELASTICSEARCH_URL)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from search import services
from search.backends.base import SearchUnavailable
from search.backends.elastic import ElasticsearchBackend, alias_for, mapping, search_body, suggest_body
from search.query import SearchQuery


def test_the_offer_mapping_analyses_chinese_and_keeps_keywords_for_facets():
    body = mapping("offer")
    props = body["properties"]
    assert props["title"] == {"type": "text", "analyzer": "cjk", "fields": {"raw": {"type": "keyword"}}}
    assert props["keywords"] == {"type": "text", "analyzer": "cjk"}
    assert props["service_type"] == {"type": "keyword"}
    assert props["service_type_facet"] == {"type": "keyword"}
    assert props["suggest"] == {"type": "completion"}
    assert props["price_min"] == {"type": "double"} and props["date"] == {"type": "date"}


def test_the_smartcn_analyser_is_used_when_the_cluster_has_the_plugin():
    assert {
        p["analyzer"] for p in mapping("project", "smartcn")["properties"].values() if "analyzer" in p
    } == {"smartcn"}

    class Nodes:
        def info(self, metric):
            return {"nodes": {"n1": {"plugins": [{"name": "analysis-smartcn"}]}}}

    class Client:
        nodes = Nodes()

    assert ElasticsearchBackend(Client()).analyzer() == "smartcn"


def test_a_keyword_query_with_two_filters_and_facets():
    query = SearchQuery(
        q="环评  报告",
        kind="offer",
        filters={"service_type": "eia-report", "qualification": "eia-engineer"},
        price_max=Decimal("90000"),
        date_from=date(2026, 1, 1),
        page=2,
    )
    assert search_body(query) == {
        "query": {
            "bool": {
                "must": [
                    {
                        "bool": {
                            "should": [
                                {
                                    "multi_match": {
                                        "query": "环评 报告",
                                        "fields": ["title^4", "subtitle^2", "keywords^2", "body"],
                                        "operator": "and",
                                    }
                                },
                                {"terms": {"codes": ["环评", "报告"], "boost": 10}},
                            ],
                            "minimum_should_match": 1,
                        }
                    }
                ],
                "filter": [
                    {"term": {"kind": "offer"}},
                    {"term": {"qualification": "eia-engineer"}},
                    {"term": {"service_type": "eia-report"}},
                    {"range": {"price_min": {"lte": 90000.0}}},
                    {"range": {"date": {"gte": "2026-01-01"}}},
                ],
            }
        },
        "aggs": {
            "kind": {"terms": {"field": "kind", "size": 3}},
            "service_type": {"terms": {"field": "service_type_facet", "size": 12}},
            "qualification": {"terms": {"field": "qualification_facet", "size": 12}},
            "level": {"terms": {"field": "level_facet", "size": 12}},
            "status": {"terms": {"field": "status_facet", "size": 12}},
            "department": {"terms": {"field": "department_facet", "size": 12}},
        },
        "highlight": {
            "fields": {
                "title": {"fragment_size": 120, "number_of_fragments": 1},
                "body": {"fragment_size": 120, "number_of_fragments": 1},
            },
            "pre_tags": ["<mark>"],
            "post_tags": ["</mark>"],
        },
        "sort": ["_score", {"date": {"order": "desc", "missing": "_last"}}],
        "track_total_hits": True,
        "from": 20,
        "size": 20,
    }


def test_an_empty_query_sorts_newest_first_and_matches_all():
    body = search_body(SearchQuery(sort="relevance"))
    assert "query" not in body
    assert body["sort"] == [{"date": {"order": "desc", "missing": "_last"}}]


def test_the_suggest_body_uses_the_completion_field():
    assert suggest_body("环境", 5) == {
        "size": 0,
        "suggest": {
            "name": {"prefix": "环境", "completion": {"field": "suggest", "size": 5, "skip_duplicates": True}}
        },
    }


def test_rebuild_fills_a_new_index_and_switches_the_alias(es_backend, market):
    client = es_backend.client
    services.index_rebuild(backend=es_backend)
    first = set(client.indices.get_alias(name=alias_for("offer")).body)
    services.index_rebuild(backend=es_backend)
    second = set(client.indices.get_alias(name=alias_for("offer")).body)
    assert len(first) == len(second) == 1 and first != second
    assert not client.indices.exists(index=next(iter(first)))  # the old index is gone
    es_backend.refresh()
    assert es_backend.search(SearchQuery(q="环评", kind="offer")).total == 2
    status = services.index_status(backend=es_backend)
    assert status["reachable"] and status["indices"][alias_for("offer")]["documents"] == 4


def test_create_makes_missing_indices_only(es_backend):
    created = es_backend.create()["created"]
    assert len(created) == 3
    assert es_backend.create()["created"] == []


def test_the_outbox_drains_into_elasticsearch(es_backend, market):
    from .test_outbox import _rename

    services.index_rebuild(backend=es_backend)
    _rename(market["green"], "枣庄青山环境科技有限公司")
    services.outbox_drain(backend=es_backend)
    es_backend.refresh()
    assert [h.title for h in es_backend.search(SearchQuery(q="青山", kind="intermediary")).hits] == [
        "枣庄青山环境科技有限公司"
    ]


def test_an_unreachable_engine_raises_search_unavailable_and_the_page_says_so(client, db, settings):
    from elasticsearch import Elasticsearch

    settings.ELASTICSEARCH_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    backend = ElasticsearchBackend(
        Elasticsearch(settings.ELASTICSEARCH_URL, request_timeout=1, max_retries=0)
    )
    with pytest.raises(SearchUnavailable):
        backend.search(SearchQuery(q="环评"))
    response = client.get("/search/", {"q": "环评"})
    assert response.status_code == 200 and "搜索服务暂时不可用" in response.content.decode()
    assert client.get("/api/search/", {"q": "环评"}).status_code == 503


@pytest.mark.django_db
def test_healthz_pings_a_reachable_cluster(client, es_url, settings):
    settings.ELASTICSEARCH_URL = es_url
    settings.CELERY_BROKER_URL = "memory://"

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["checks"]["search"]["backend"] == "elasticsearch"
    assert response.json()["checks"]["search"]["ok"] is True


def test_a_red_cluster_fails_the_ping():
    class Cluster:
        def health(self, timeout):
            return {"status": "red"}

    class Client:
        cluster = Cluster()

        def options(self, **kwargs):
            return self

    with pytest.raises(SearchUnavailable, match="red"):
        ElasticsearchBackend(Client()).ping(timeout=1)
