"""GET /api/ocds/releases/: pages linked by links.next, public data only, bad input refused
with a clear message, a bounded number of queries per page, and the schema documents it."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from marketplace.procurement.models import Project

from .helpers import FullMarket, needs_kit, validate

pytestmark = pytest.mark.django_db
URL = "/api/ocds/releases/"


def body(response) -> dict:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return json.loads(b"".join(response.streaming_content))


@pytest.fixture
def market():
    return FullMarket()


def test_the_feed_is_paged_by_links_next_until_every_project_is_read(client, market):
    a, b = market.firms(2)
    numbers = {market.round([(a, "80000"), (b, "90000")], winner=a).public_number for _ in range(5)}
    seen, pages, url = [], 0, f"{URL}?page_size=2"
    while url:
        package = body(client.get(url))
        pages += 1
        seen += [r["tender"]["id"] for r in package["releases"]]
        url = package.get("links", {}).get("next")
    assert pages == 3
    assert sorted(seen) == sorted(numbers)


def test_an_anonymous_visitor_gets_public_data_only(client, market):
    a = market.firm()
    market.round([(a, "80000")], winner=a)
    draft = market.round([(a, "80000")])
    Project.objects.filter(pk=draft.pk).update(status="draft", published_at=None)
    package = body(client.get(URL))
    assert [r["tender"]["id"] for r in package["releases"]] != []
    assert draft.public_number not in {r["tender"]["id"] for r in package["releases"]}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=2025-05-01&until=2025-04-01", "non_field_errors"),
        ("since=not-a-date", "since"),
        ("page_size=0", "page_size"),
        ("page_size=5000", "page_size"),
        ("after=-1", "after"),
    ],
)
def test_bad_parameters_are_refused_with_a_clear_message(client, query, field):
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert field in response.json()
    assert response.json()[field][0]


def test_an_empty_window_is_an_empty_package(client, market):
    a = market.firm()
    market.round([(a, "80000")], winner=a)
    package = body(client.get(f"{URL}?until=2001-01-01"))
    assert package["releases"] == []
    assert "links" not in package


def test_a_page_costs_the_same_queries_whatever_the_market(client, market, django_assert_max_num_queries):
    def fill(n):
        a, b = market.firms(2)
        for _ in range(n):
            project = market.round([(a, "80000"), (b, "90000")], winner=a)
            contract = market.contract(project, a, "80000")
            market.amend(contract, "81000")
            market.pay(contract, "1000")

    fill(3)
    with django_assert_max_num_queries(8):
        body(client.get(URL))
    fill(30)
    with django_assert_max_num_queries(8):
        assert len(body(client.get(f"{URL}?page_size=20"))["releases"]) == 20


def test_the_schema_documents_the_feed(client):
    response = client.get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    operation = schema["paths"][URL]["get"]
    assert operation["operationId"] == "ocds_releases"
    assert {p["name"] for p in operation["parameters"]} >= {"since", "until", "after", "page_size"}


@needs_kit
def test_a_page_validates(client, market, tmp_path):
    a, b, c = market.firms(3)
    project = market.round([(a, "80000"), (b, "90000")], winner=a)
    contract = market.contract(project, a, "80000")
    market.pay(contract, "1000")
    market.round([(a, "80000"), (c, "80000")], winner=c, method="random_draw")
    market.round([(a, "80000"), (b, "90000")], winner=a)
    package = body(client.get(f"{URL}?page_size=2"))
    assert "next" in package["links"]
    validate(package, tmp_path)
