"""The public, read-only API: catalogue, directory, profiles and fee disclosure."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.utils import timezone

from marketplace.catalog.models import AffiliatedEntity, ApprovalItem
from marketplace.providers.models import FeeSchedule, Intermediary
from tests.factories import (
    DepartmentFactory,
    IntermediaryFactory,
    OfferFactory,
    PriceBandFactory,
    QualificationFactory,
    QualificationLevelFactory,
    QualificationTypeFactory,
    ServiceCategoryFactory,
    ServiceTypeFactory,
    allow_qualification,
)

from . import all_results, by_code, practitioner

pytestmark = pytest.mark.django_db


# --- catalogue --------------------------------------------------------------------------------


def test_service_types_list_with_qualifications_and_bands(client):
    category = ServiceCategoryFactory(code="env", name_zh="环境评价")
    band = PriceBandFactory(service_type__category=category, service_type__code="eia-report")
    service_type = band.service_type
    level = QualificationLevelFactory(qualification_type__code="eia-licence", name_zh="甲级")
    allow_qualification(service_type, level.qualification_type, standard_level=level)
    ServiceTypeFactory(is_active=False, category=category)

    response = client.get("/api/service-types/?category=env")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["code"] == "eia-report"
    assert item["category"] == {"code": "env", "name": "环境评价"}
    assert item["pricing_regime"] == "government_guided"
    assert item["pricing_regime_display"] == "政府指导价"
    assert item["allowed_qualifications"] == [
        {
            "qualification_type": {"code": "eia-licence", "name": level.qualification_type.name_zh},
            "standard_level": {"id": level.pk, "code": level.code, "name": "甲级", "rank": 1},
        }
    ]
    assert item["price_bands"] == [
        {"scale_from": "0.00", "scale_to": None, "fee_min": "1000.00", "fee_max": "50000.00", "basis": ""}
    ]
    assert item["offer_count"] == 0


def test_service_types_filtered_by_category(client):
    ServiceTypeFactory(code="one", category=ServiceCategoryFactory(code="test-a"))
    ServiceTypeFactory(code="two", category=ServiceCategoryFactory(code="test-b"))

    results = client.get("/api/service-types/?category=test-b").json()["results"]

    assert [st["code"] for st in results] == ["two"]


def test_service_type_detail(client):
    service_type = ServiceTypeFactory(code="topo-survey", description="地形测量")
    department = DepartmentFactory(code="nrb")
    item = ApprovalItem.objects.create(code="land-use", name_zh="用地预审", department=department)
    item.service_types.add(service_type)

    response = client.get("/api/service-types/topo-survey/")

    assert response.status_code == 200
    body = response.json()
    assert body["description"] == "地形测量"
    assert body["approval_items"] == [
        {"code": "land-use", "name": "用地预审", "department": {"code": "nrb", "name": department.name_zh}}
    ]


@pytest.mark.parametrize("active", [False, None])
def test_unknown_or_inactive_service_type_is_404(client, active):
    if active is False:
        ServiceTypeFactory(code="retired", is_active=False)

    assert client.get("/api/service-types/retired/").status_code == 404


def test_departments_with_affiliates(client):
    department = DepartmentFactory(code="test-ee")
    AffiliatedEntity.objects.create(
        department=department, kind=AffiliatedEntity.Kind.INSTITUTION, name="枣庄市测试监测站"
    )

    item = by_code(all_results(client, "/api/departments/"), "test-ee")

    assert [(a["kind"], a["name"]) for a in item["affiliates"]] == [("institution", "枣庄市测试监测站")]


def test_approval_items_list_only_active_service_types(client):
    item = ApprovalItem.objects.create(code="test-eia", name_zh="环评审批", department=DepartmentFactory())
    item.service_types.add(ServiceTypeFactory(code="active-one"), ServiceTypeFactory(is_active=False))

    rendered = by_code(all_results(client, "/api/approval-items/"), "test-eia")

    assert [st["code"] for st in rendered["service_types"]] == ["active-one"]


def test_qualification_types_with_levels(client):
    qualification_type = QualificationTypeFactory(code="test-survey")
    QualificationLevelFactory(qualification_type=qualification_type, code="b", rank=2, name_zh="乙级")
    QualificationLevelFactory(qualification_type=qualification_type, code="a", rank=1, name_zh="甲级")

    item = by_code(all_results(client, "/api/qualification-types/"), "test-survey")

    assert [(lv["code"], lv["rank"]) for lv in item["levels"]] == [("a", 1), ("b", 2)]


def test_english_names_follow_accept_language(client):
    ServiceTypeFactory(code="topo", name_zh="地形测量", name_en="Topographic survey")

    zh = client.get("/api/service-types/topo/").json()
    en = client.get("/api/service-types/topo/", HTTP_ACCEPT_LANGUAGE="en").json()

    assert (zh["name"], en["name"]) == ("地形测量", "Topographic survey")
    assert (en["name_zh"], en["name_en"]) == ("地形测量", "Topographic survey")


# --- directory --------------------------------------------------------------------------------


def test_directory_lists_listed_firms_with_active_offers(client):
    firm = IntermediaryFactory(name="甲测绘有限公司")
    offer = OfferFactory(intermediary=firm, service_type__code="survey")
    OfferFactory(intermediary=firm, is_active=False)
    IntermediaryFactory(status=Intermediary.Status.DRAFT)
    IntermediaryFactory(status=Intermediary.Status.DELISTED)

    body = client.get("/api/intermediaries/").json()

    assert body["count"] == 1
    entry = body["results"][0]
    assert entry["name"] == "甲测绘有限公司"
    assert entry["offer_count"] == 1
    assert entry["offers"] == [
        {
            "id": offer.pk,
            "service_type": {"code": "survey", "name": offer.service_type.name_zh},
            "current_fee": {
                "version": 1,
                "basis": "fixed",
                "basis_display": "固定收费",
                "rate": "20000.0000",
                "unit": "",
                "fee_min": "15000.00",
                "fee_max": "30000.00",
                "effective_from": entry["offers"][0]["current_fee"]["effective_from"],
            },
        }
    ]


def test_directory_filters_through_the_shared_filterset(client):
    cheap = OfferFactory(
        service_type__code="survey", fee={"fee_min": Decimal("1000"), "fee_max": Decimal("2000")}
    )
    OfferFactory(service_type=cheap.service_type)
    OfferFactory(service_type__code="eia")

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/intermediaries/?{query}")
        assert response.status_code == 200
        return {entry["id"] for entry in response.json()["results"]}

    assert len(ids("service_type=survey")) == 2
    assert ids("service_type=survey&price_max=5000") == {cheap.intermediary_id}
    assert ids(f"q={cheap.intermediary.uscc}") == {cheap.intermediary_id}


def test_directory_filters_by_qualification_level(client):
    level_a = QualificationLevelFactory(rank=1)
    level_b = QualificationLevelFactory(qualification_type=level_a.qualification_type, rank=2, code="b")
    strong = QualificationFactory(qualification_type=level_a.qualification_type, level=level_a)
    QualificationFactory(qualification_type=level_a.qualification_type, level=level_b)

    response = client.get(f"/api/intermediaries/?level={level_a.pk}")

    assert [e["id"] for e in response.json()["results"]] == [strong.intermediary_id]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("price_min=-5", "price_min"),
        ("price_max=lots", "price_max"),
        ("min_rating=9", "min_rating"),
        ("level=abc", "level"),
        ("category=no-such-category", "category"),
        ("service_type=no-such-service", "service_type"),
        ("sort=cheapest", "sort"),
        ("q=" + "x" * 101, "q"),
    ],
)
def test_directory_invalid_filter_is_400_with_the_filtersets_errors(client, query, field):
    IntermediaryFactory()

    response = client.get(f"/api/intermediaries/?{query}")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert response.json()[field][0]


def test_directory_is_paginated(client):
    for _ in range(21):
        IntermediaryFactory()

    first = client.get("/api/intermediaries/").json()
    second = client.get(first["next"]).json()

    assert (first["count"], len(first["results"]), len(second["results"])) == (21, 20, 1)


# --- profile ----------------------------------------------------------------------------------


def test_profile_shows_public_facts_and_nothing_private(client, personas):
    firm = personas.firm
    level = QualificationLevelFactory()
    QualificationFactory(
        intermediary=firm, qualification_type=level.qualification_type, level=level, number="CH-1"
    )
    practitioner(firm, name="周九", title="注册测绘师")
    OfferFactory(intermediary=firm)
    Intermediary.objects.filter(pk=firm.pk).update(legal_representative_id_hash="f" * 64)

    response = client.get(f"/api/intermediaries/{firm.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["practitioners"] == [{"name": "周九", "title": "注册测绘师"}]
    qualification = body["qualifications"][0]
    assert qualification["number"] == "CH-1"
    assert qualification["level"]["name"] == level.name_zh
    assert {"valid_from", "valid_until", "is_expired"} <= set(qualification)
    assert len(body["offers"]) == 1 and body["offers"][0]["current_fee"]["fee_min"] == "15000.00"
    text = json.dumps(body)
    for secret in ('certificate"', "id_hash", "id_last4", "social_insurance", "f" * 64, ".pdf"):
        assert secret not in text


def test_unknown_firm_is_404(client, db):
    assert client.get("/api/intermediaries/999999/").status_code == 404


# --- fees -------------------------------------------------------------------------------------


def test_fee_history_has_every_version(client, personas):
    offer = OfferFactory(intermediary=personas.firm)
    latest = FeeSchedule.objects.create(
        offer=offer,
        version=2,
        basis="fixed",
        rate=Decimal("18000"),
        fee_min=Decimal("12000"),
        fee_max=Decimal("25000"),
        note="降价",
        effective_from=timezone.now(),
    )
    offer.current_fee = latest
    offer.save()

    body = client.get(f"/api/offers/{offer.pk}/fees/").json()

    assert body["offer"]["current_version"] == 2
    assert [(v["version"], v["fee_min"], v["note"]) for v in body["versions"]] == [
        (2, "12000.00", "降价"),
        (1, "15000.00", ""),
    ]


def test_fee_disclosure_lists_every_active_schedule_and_the_bands(client):
    band = PriceBandFactory()
    service_type = band.service_type
    shown = [OfferFactory(service_type=service_type) for _ in range(3)]
    OfferFactory(service_type=service_type, is_active=False)
    OfferFactory(service_type=service_type, intermediary__status=Intermediary.Status.DRAFT)

    response = client.get(f"/api/fees/{service_type.code}/")

    assert response.status_code == 200
    body = response.json()
    assert body["pricing_regime"] == "government_guided"
    assert [b["fee_max"] for b in body["bands"]] == ["50000.00"]
    assert {s["offer_id"] for s in body["schedules"]} == {o.pk for o in shown}
    assert all(s["version_count"] == 1 and s["current_fee"]["basis"] == "fixed" for s in body["schedules"])


def test_fee_disclosure_of_unknown_service_is_404(client, db):
    assert client.get("/api/fees/no-such-service/").status_code == 404
