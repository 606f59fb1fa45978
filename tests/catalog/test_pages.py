"""Catalogue pages: the list of service types (中介服务事项), its category filter and detail."""

from __future__ import annotations

import pytest
from django.urls import reverse

from marketplace.catalog.models import ServiceCategory, ServiceType
from tests.factories import (
    IntermediaryFactory,
    OfferFactory,
    PriceBandFactory,
    QualificationTypeFactory,
    ServiceTypeFactory,
    allow_qualification,
)

LIST_QUERIES = 2
DETAIL_QUERIES = 4


@pytest.mark.django_db
def test_service_list_shows_the_seeded_service_types(client):
    seeded = ServiceType.objects.filter(is_active=True).first()
    assert seeded is not None, "the data migration seeds the catalogue"

    response = client.get(reverse("catalog:service-list"))

    assert response.status_code == 200
    assert seeded.name_zh in response.content.decode()
    assert len(response.context["service_types"]) == ServiceType.objects.filter(is_active=True).count()


@pytest.mark.django_db
def test_service_list_hides_inactive_service_types(client):
    retired = ServiceTypeFactory(name_zh="已停用的测试服务", is_active=False)

    response = client.get(reverse("catalog:service-list"))

    assert retired not in response.context["service_types"]
    assert "已停用的测试服务" not in response.content.decode()


@pytest.mark.django_db
def test_service_list_counts_offers_of_listed_firms_only(client):
    service_type = ServiceTypeFactory()
    OfferFactory(service_type=service_type)
    OfferFactory(service_type=service_type, intermediary=IntermediaryFactory(status="draft"))
    OfferFactory(service_type=service_type, is_active=False)

    response = client.get(reverse("catalog:service-list"))

    counted = {st.pk: st.offer_count for st in response.context["service_types"]}
    assert counted[service_type.pk] == 1


@pytest.mark.django_db
def test_category_filter_shows_only_that_categorys_service_types(client):
    mine = ServiceTypeFactory(name_zh="本类测试服务")
    other = ServiceTypeFactory(name_zh="他类测试服务")

    response = client.get(reverse("catalog:service-list"), {"category": mine.category.code})

    assert response.status_code == 200
    assert list(response.context["service_types"]) == [mine]
    page = response.content.decode()
    assert "本类测试服务" in page and "他类测试服务" not in page
    assert other.category.code != mine.category.code


@pytest.mark.django_db
def test_category_filter_on_a_seeded_category(client):
    category = ServiceCategory.objects.filter(service_types__is_active=True).first()

    response = client.get(reverse("catalog:service-list"), {"category": category.code})

    shown = list(response.context["service_types"])
    assert shown and all(st.category_id == category.pk for st in shown)
    assert len(shown) == category.service_types.filter(is_active=True).count()


@pytest.mark.django_db
def test_unknown_category_shows_no_service_types(client):
    response = client.get(reverse("catalog:service-list"), {"category": "no-such-category"})

    assert response.status_code == 200
    assert list(response.context["service_types"]) == []


@pytest.mark.django_db
def test_service_detail_shows_a_seeded_service_type(client):
    seeded = ServiceType.objects.filter(is_active=True).first()

    response = client.get(reverse("catalog:service-detail", args=[seeded.code]))

    assert response.status_code == 200
    page = response.content.decode()
    assert seeded.name_zh in page
    assert response.context["service_type"] == seeded


@pytest.mark.django_db
def test_service_detail_shows_legal_basis_allowed_qualifications_and_bands(client):
    band = PriceBandFactory()
    service_type = band.service_type
    allow_qualification(service_type, QualificationTypeFactory(name_zh="测试测绘资质"))

    response = client.get(reverse("catalog:service-detail", args=[service_type.code]))

    page = response.content.decode()
    assert service_type.legal_basis in page
    assert "测试测绘资质" in page
    assert list(response.context["service_type"].price_bands.all()) == [band]


@pytest.mark.django_db
@pytest.mark.parametrize("retired", [False, True], ids=["missing", "inactive"])
def test_service_detail_of_a_missing_or_inactive_code_is_404(client, retired):
    code = ServiceTypeFactory(is_active=False).code if retired else "no-such-service"

    response = client.get(reverse("catalog:service-detail", args=[code]))

    assert response.status_code == 404


@pytest.mark.django_db
def test_service_list_query_count_is_bounded(client, django_assert_max_num_queries):
    for _ in range(10):
        OfferFactory()

    with django_assert_max_num_queries(LIST_QUERIES):
        client.get(reverse("catalog:service-list"))


@pytest.mark.django_db
def test_service_detail_query_count_is_bounded(client, django_assert_max_num_queries):
    band = PriceBandFactory()
    for _ in range(5):
        allow_qualification(band.service_type, QualificationTypeFactory())
        PriceBandFactory(service_type=band.service_type)

    with django_assert_max_num_queries(DETAIL_QUERIES):
        client.get(reverse("catalog:service-detail", args=[band.service_type.code]))
