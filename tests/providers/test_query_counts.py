"""Query counts of the list and detail pages (STYLE 14): the same bound holds for a few rows
and for many, so no page runs a query per row.

Each bound is the count measured on SQLite, identical for 5 and for 30 rows: directory 8
(anonymous, with a service-type filter and sorting), fee disclosure 4, fee index 1, review
queue 8 (signed-in operator: session, user, memberships, OTP device), profile 11 (anonymous).
A page that starts querying per row breaks its bound at once.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.catalog.models import Department
from marketplace.providers.models import DeclaredTie, FeeSchedule, Intermediary
from tests.factories import (
    IntermediaryFactory,
    OfferFactory,
    PractitionerFactory,
    PriceBandFactory,
    QualificationFactory,
    QualificationLevelFactory,
    ServiceTypeFactory,
)

S = Intermediary.Status
SIZES = [5, 30]

DIRECTORY_QUERIES = 8
FEE_DISCLOSURE_QUERIES = 4
FEE_INDEX_QUERIES = 1
REVIEW_QUEUE_QUERIES = 8
PROFILE_QUERIES = 13  # 11, plus oversight's credit panel (credit profile, deductions)


def _second_version(offer) -> None:
    v2 = FeeSchedule.objects.create(
        offer=offer,
        version=2,
        basis="fixed",
        rate=offer.current_fee.rate,
        fee_min=offer.current_fee.fee_min,
        fee_max=offer.current_fee.fee_max + 1000,
        effective_from=timezone.now(),
    )
    offer.current_fee = v2
    offer.save(update_fields=["current_fee"])


def _serial_hash(n: int) -> str:
    return f"{n:064x}"


@pytest.mark.django_db
@pytest.mark.parametrize("n", SIZES)
def test_directory_query_count_does_not_grow_with_firms(client, django_assert_max_num_queries, n):
    services = [ServiceTypeFactory() for _ in range(3)]
    for i in range(n):
        firm = IntermediaryFactory(status=S.LISTED if i % 2 else S.LISTED_UNDER_REVIEW)
        for service_type in services:
            OfferFactory(intermediary=firm, service_type=service_type)

    with django_assert_max_num_queries(DIRECTORY_QUERIES):
        response = client.get(
            reverse("providers:directory"), {"service_type": services[0].code, "sort": "newest"}
        )

    assert len(response.context["page_obj"]) == min(n, 20)


@pytest.mark.django_db
@pytest.mark.parametrize("n", SIZES)
def test_fee_disclosure_query_count_does_not_grow_with_offers(client, django_assert_max_num_queries, n):
    band = PriceBandFactory()
    for _ in range(n):
        offer = OfferFactory(service_type=band.service_type)
        _second_version(offer)

    with django_assert_max_num_queries(FEE_DISCLOSURE_QUERIES):
        response = client.get(reverse("providers:fee-disclosure", args=[band.service_type.code]))

    assert len(response.context["page_obj"]) == min(n, 20)


@pytest.mark.django_db
@pytest.mark.parametrize("n", SIZES)
def test_fee_index_query_count_does_not_grow_with_service_types(client, django_assert_max_num_queries, n):
    for _ in range(n):
        band = PriceBandFactory()
        OfferFactory(service_type=band.service_type)

    with django_assert_max_num_queries(FEE_INDEX_QUERIES):
        response = client.get(reverse("providers:fee-index"))

    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("n", SIZES)
def test_review_queue_query_count_does_not_grow_with_firms(
    client, login, personas, django_assert_max_num_queries, n
):
    today = timezone.localdate()
    for i in range(n):
        firm = IntermediaryFactory(status=S.LISTED_UNDER_REVIEW, review_due=today + timedelta(days=i - 2))
        QualificationFactory(intermediary=firm)
        PractitionerFactory(intermediary=firm, id_hash=_serial_hash(i))
    login(client, personas.operator)

    with django_assert_max_num_queries(REVIEW_QUEUE_QUERIES):
        response = client.get(reverse("providers:review-queue"))

    assert len(response.context["page_obj"]) == min(n, 20)


@pytest.mark.django_db
@pytest.mark.parametrize("n", SIZES)
def test_profile_query_count_does_not_grow_with_offers_and_staff(client, django_assert_max_num_queries, n):
    firm = IntermediaryFactory()
    level = QualificationLevelFactory()
    departments = list(Department.objects.all()[:3])
    practitioners = [PractitionerFactory(intermediary=firm, id_hash=_serial_hash(i)) for i in range(n)]
    for _ in range(n):
        offer = OfferFactory(intermediary=firm)
        offer.practitioners.set(practitioners[:2])
        _second_version(offer)
        QualificationFactory(intermediary=firm, qualification_type=level.qualification_type, level=level)
    for department in departments:
        DeclaredTie.objects.create(
            intermediary=firm, department=department, kind="affiliated", description="部门所属单位出资"
        )

    with django_assert_max_num_queries(PROFILE_QUERIES):
        response = client.get(reverse("providers:profile", args=[firm.pk]))

    assert len(response.context["firm"].active_offers) == n
