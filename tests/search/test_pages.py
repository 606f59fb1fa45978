"""The search page (/search/) and the API (/api/search/), on the embedded database backend."""

from __future__ import annotations

import pytest
from django.urls import reverse

from search.backends.database import DatabaseBackend

from .conftest import reindex

URL = "/search/"


@pytest.fixture
def indexed(market):
    reindex(DatabaseBackend())
    return market


def test_the_page_is_at_search_with_its_url_name():
    assert reverse("search:search") == URL


def test_a_visitor_finds_eia_offers_by_their_everyday_name(client, indexed):
    response = client.get(URL, {"q": "环评"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "枣庄绿源环境科技有限公司" in body and "山东鲁南环保工程咨询有限公司" in body
    assert "枣庄安泰安全技术服务有限公司" not in body
    assert "<mark>环评</mark>" in body or "建设项目环境影响报告书（表）编制" in body


def test_htmx_requests_get_only_the_results_and_facets(client, indexed):
    response = client.get(URL, {"q": "环评", "kind": "offer"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body and 'id="search-form"' not in body
    assert 'name="service_type"' in body and 'form="search-form"' in body
    assert "找到 2 条结果" in body


def test_the_full_page_wires_htmx_to_the_results_and_suggestions(client, indexed):
    body = client.get(URL).content.decode()
    assert 'hx-target="#search-results"' in body
    assert f'hx-get="{reverse("search:suggest")}"' in body and 'list="search-suggestions"' in body


def test_a_facet_value_filters_the_results(client, indexed):
    body = client.get(URL, {"kind": "offer", "service_type": "safety-eval"}).content.decode()
    assert "枣庄安泰安全技术服务有限公司" in body and "枣庄绿源环境科技有限公司" not in body


def test_an_empty_query_lists_everything_newest_first(client, indexed):
    response = client.get(URL, {"q": ""})
    assert response.status_code == 200
    assert "找到 8 条结果" in response.content.decode()


@pytest.mark.parametrize(
    "params, message",
    [
        ({"q": "环评" * 400}, "关键词过长"),
        ({"q": '"环评" OR (安评) AND * ~ ^ [x TO y] \\'}, "符号已忽略"),
        ({"q": "%%%___"}, "没有可检索的文字"),
        ({"q": "环评", "price_min": "abc"}, "值无效"),
        ({"q": "环评", "service_type": "<script>"}, "值无效"),
        ({"q": "环评", "date_from": "2025-13-45"}, "值无效"),
        ({"q": "环评", "sort": "drop table"}, "值无效"),
        ({"q": "环评", "page": "999999"}, "页码超出范围"),
        ({"q": "环评", "page": "7"}, "页码超出范围"),
        ({"q": "环评", "page": "-1"}, "值无效"),
        ({"q": "环评", "price_min": "9000", "price_max": "10"}, "最低价高于最高价"),
    ],
)
def test_bad_input_gets_a_clear_message_not_an_error_page(client, indexed, params, message):
    response = client.get(URL, params)
    assert response.status_code == 200
    assert message in response.content.decode()


def test_an_unknown_filter_value_shows_an_empty_result_that_can_be_undone(client, indexed):
    body = client.get(URL, {"q": "环评", "service_type": "no-such-type"}).content.decode()
    assert "没有找到符合条件的结果" in body
    assert 'value="no-such-type"' in body and "checked" in body


def test_suggestions_come_as_datalist_options(client, indexed):
    body = client.get(reverse("search:suggest"), {"q": "环境"}).content.decode()
    assert '<option value="环境影响评价"></option>' in body


def test_the_search_page_runs_a_bounded_number_of_queries(client, indexed, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        client.get(URL, {"q": "环评", "service_type": "eia-report", "qualification": "eia-engineer"})


def test_the_api_returns_results_facets_and_pages(client, indexed):
    data = client.get("/api/search/", {"q": "环境影响评价", "kind": "offer"}).json()
    assert data["total"] == 2 and data["pages"] == 1
    assert {r["subtitle"] for r in data["results"]} == {
        "枣庄绿源环境科技有限公司",
        "山东鲁南环保工程咨询有限公司",
    }
    assert data["facets"]["service_type"] == [
        {"value": "eia-report", "label": "建设项目环境影响报告书（表）编制", "count": 2, "selected": False}
    ]
    assert data["messages"] == []


def test_the_api_answers_bad_input_with_messages(client, indexed):
    response = client.get("/api/search/", {"q": "环评" + "！" * 1000, "rating_min": "nine", "page": "500"})
    assert response.status_code == 200
    data = response.json()
    assert data["results"] == []
    joined = " ".join(data["messages"])
    assert "关键词过长" in joined and "“最低评价”的值无效" in joined and "页码超出范围" in joined


def test_the_api_runs_a_bounded_number_of_queries(client, indexed, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        client.get("/api/search/", {"q": "环评", "service_type": "eia-report"})


def test_the_api_suggests(client, indexed):
    data = client.get("/api/search/suggest/", {"q": "环"}).json()
    assert "环评" in data["suggestions"]


def test_the_schema_documents_the_search_api(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert "/api/search/" in schema["paths"] and "/api/search/suggest/" in schema["paths"]


def _blacklist(name: str, days: int):
    from datetime import timedelta

    from django.utils import timezone

    from marketplace.providers.models import Intermediary

    until = timezone.localdate() + timedelta(days=days)
    Intermediary.objects.filter(name=name).update(blacklisted_until=until)
    return until


def test_a_blacklisted_firm_is_marked_on_its_firm_and_offer_hits(client, indexed):
    until = _blacklist("枣庄绿源环境科技有限公司", 30)
    body = client.get(URL, {"q": "枣庄绿源"}).content.decode()
    assert body.count(f"黑名单至 {until.isoformat()}") == 2  # the firm and its offer
    data = client.get("/api/search/", {"q": "环境影响评价", "kind": "offer"}).json()
    marked = {r["subtitle"]: r["blacklisted_until"] for r in data["results"]}
    assert marked == {"枣庄绿源环境科技有限公司": until.isoformat(), "山东鲁南环保工程咨询有限公司": None}


def test_a_blacklist_that_has_ended_is_not_shown(client, indexed):
    _blacklist("枣庄绿源环境科技有限公司", -1)
    assert "黑名单至" not in client.get(URL, {"q": "枣庄绿源"}).content.decode()
