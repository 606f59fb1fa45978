"""Query counts of the API's lists and details: the same bound for a small and a larger market,
so a count that grows with the rows (an N+1) fails."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from marketplace.catalog.models import AffiliatedEntity, ApprovalItem, ServiceType
from marketplace.providers.models import DeclaredTie, FeeSchedule, Intermediary, Offer, Shareholder
from tests.factories import (
    DepartmentFactory,
    IntermediaryFactory,
    OfferFactory,
    PriceBandFactory,
    QualificationFactory,
    QualificationLevelFactory,
    ServiceCategoryFactory,
    allow_qualification,
)

from . import practitioner

SIZES = [5, 25]
OFFERS_PER_FIRM = 3

# Measured with the suite's settings; anonymous requests unless noted.
DIRECTORY = 3  # count, page of firms, their active offers (with service type and current fee)
SERVICE_TYPES = 4  # count, page, allowed qualifications (with type and level), bands
FEE_DISCLOSURE = 3  # the service type, the schedules, the bands
FEE_HISTORY = 3  # the offer, its firm's visibility, the versions
PROFILE = 9  # visibility check, then the firm and its prefetched offers, fees, people, ties
SERVICE_TYPE_DETAIL = 5  # the type, allowed qualifications, bands, approval items, their departments
CATALOGUE_LIST = 3  # departments, approval items, qualification types: count, page, one prefetch
MY_OFFERS = 9  # session, user, 2FA check, membership, firm, count, page, practitioners, qualifications
# session, user, 2FA check, membership, firm; the firm again, its qualifications (their types and
# levels), practitioners, shareholders, ties (their departments and affiliates)
MY_FIRM = 14
REVIEW_QUEUE = 6  # session, user, 2FA device, membership, count, page


@dataclass
class Market:
    firms: list[Intermediary]
    service_types: list[ServiceType]
    offer: Offer


def build_market(n: int) -> Market:
    """``n`` listed firms, each with three offers (two fee versions each), a qualification and a
    practitioner; three service types with an allowed qualification, its standard level and a band."""
    category = ServiceCategoryFactory(code="bench")
    service_types = []
    for _ in range(OFFERS_PER_FIRM):
        service_type = PriceBandFactory(service_type__category=category).service_type
        level = QualificationLevelFactory()
        allow_qualification(service_type, level.qualification_type, standard_level=level)
        service_types.append(service_type)
    firms = []
    for _ in range(n):
        firm = IntermediaryFactory()
        QualificationFactory(intermediary=firm)
        practitioner(firm)
        for service_type in service_types:
            offer = OfferFactory(intermediary=firm, service_type=service_type)
            offer.current_fee = FeeSchedule.objects.create(
                offer=offer,
                version=2,
                basis="fixed",
                rate=Decimal("18000"),
                fee_min=Decimal("12000"),
                fee_max=Decimal("25000"),
                effective_from=timezone.now(),
            )
            offer.save()
        firms.append(firm)
    return Market(firms=firms, service_types=service_types, offer=offer)


@pytest.fixture(params=SIZES, ids=lambda n: f"{n}-firms")
def market(request, db) -> Market:
    return build_market(request.param)


def _get(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()


def test_directory(client, market, django_assert_max_num_queries):
    with django_assert_max_num_queries(DIRECTORY):
        body = _get(client, "/api/intermediaries/")

    assert len(body["results"]) == min(len(market.firms), 20)
    assert all(len(entry["offers"]) == OFFERS_PER_FIRM for entry in body["results"])


def test_directory_filtered(client, market, django_assert_max_num_queries):
    code = market.service_types[0].code
    # ModelChoiceFilter resolves the code with one more query.
    with django_assert_max_num_queries(DIRECTORY + 1):
        _get(client, f"/api/intermediaries/?service_type={code}&price_max=20000&sort=newest")


def test_service_types(client, market, django_assert_max_num_queries):
    for _ in range(len(market.firms)):
        service_type = PriceBandFactory(service_type__category=market.service_types[0].category).service_type
        level = QualificationLevelFactory()
        allow_qualification(service_type, level.qualification_type, standard_level=level)

    with django_assert_max_num_queries(SERVICE_TYPES):
        body = _get(client, "/api/service-types/?category=bench")
    with django_assert_max_num_queries(SERVICE_TYPES):
        _get(client, "/api/service-types/")

    assert all(item["allowed_qualifications"] and item["price_bands"] for item in body["results"])


def test_fee_disclosure(client, market, django_assert_max_num_queries):
    with django_assert_max_num_queries(FEE_DISCLOSURE):
        body = _get(client, f"/api/fees/{market.service_types[0].code}/")

    assert len(body["schedules"]) == len(market.firms)
    assert all(s["version_count"] == 2 for s in body["schedules"])


def test_fee_history(client, market, django_assert_max_num_queries):
    with django_assert_max_num_queries(FEE_HISTORY):
        _get(client, f"/api/offers/{market.offer.pk}/fees/")


def test_profile(client, market, django_assert_max_num_queries):
    with django_assert_max_num_queries(PROFILE):
        body = _get(client, f"/api/intermediaries/{market.firms[-1].pk}/")

    assert len(body["offers"]) == OFFERS_PER_FIRM


def test_service_type_detail(client, market, django_assert_max_num_queries):
    service_type = market.service_types[0]
    for _ in range(len(market.firms)):
        ApprovalItem.objects.create(
            code=f"item-{ApprovalItem.objects.count()}", name_zh="审批事项", department=DepartmentFactory()
        ).service_types.add(service_type)

    with django_assert_max_num_queries(SERVICE_TYPE_DETAIL):
        body = _get(client, f"/api/service-types/{service_type.code}/")

    assert len(body["approval_items"]) == len(market.firms)


@pytest.mark.parametrize("url", ["/api/departments/", "/api/approval-items/", "/api/qualification-types/"])
def test_catalogue_lists(client, market, django_assert_max_num_queries, url):
    with django_assert_max_num_queries(CATALOGUE_LIST):
        _get(client, url)


def test_my_offers(client, login, personas, market, django_assert_max_num_queries):
    for service_type in market.service_types:
        offer = OfferFactory(intermediary=personas.firm, service_type=service_type)
        offer.practitioners.add(practitioner(personas.firm))
    login(client, personas.intermediary)

    with django_assert_max_num_queries(MY_OFFERS):
        body = _get(client, "/api/me/offers/")

    assert len(body["results"]) == OFFERS_PER_FIRM


def test_review_queue(client, login, personas, market, django_assert_max_num_queries):
    Intermediary.objects.filter(pk__in=[f.pk for f in market.firms]).update(
        status=Intermediary.Status.LISTED_UNDER_REVIEW
    )
    login(client, personas.operator)

    with django_assert_max_num_queries(REVIEW_QUEUE):
        body = _get(client, "/api/review-queue/")

    assert len(body["results"]) == min(len(market.firms), 20)


def test_my_firm(client, login, personas, market, django_assert_max_num_queries):
    department = DepartmentFactory()
    affiliate = AffiliatedEntity.objects.create(department=department, kind="association", name="协会")
    for i in range(len(market.firms)):
        practitioner(personas.firm)
        level = QualificationLevelFactory()
        QualificationFactory(
            intermediary=personas.firm, qualification_type=level.qualification_type, level=level
        )
        Shareholder.objects.create(intermediary=personas.firm, kind="firm", name=f"股东{i}", share=1)
        DeclaredTie.objects.create(
            intermediary=personas.firm,
            department=department,
            affiliate=affiliate,
            kind="affiliated",
            description="协会出资",
        )
    login(client, personas.intermediary)

    with django_assert_max_num_queries(MY_FIRM):
        body = _get(client, "/api/me/intermediary/")

    n = len(market.firms)
    assert [
        len(body[key]) for key in ("practitioners", "qualifications", "shareholders", "declared_ties")
    ] == [n] * 4
