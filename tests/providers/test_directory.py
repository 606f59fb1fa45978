"""The public directory's filters, as a visitor uses them through the page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from marketplace.providers.models import Intermediary
from tests.factories import (
    IntermediaryFactory,
    OfferFactory,
    QualificationFactory,
    QualificationLevelFactory,
    QualificationTypeFactory,
    ServiceTypeFactory,
)

S = Intermediary.Status
INVALID_FILTER = "部分筛选条件无效"


def _names(client, **params) -> list[str]:
    response = client.get(reverse("providers:directory"), params)
    assert response.status_code == 200
    return [firm.name for firm in response.context["page_obj"]]


def _firm(name: str, **kwargs) -> Intermediary:
    return IntermediaryFactory(name=name, organisation__name=name, **kwargs)


@pytest.mark.django_db
def test_directory_lists_listed_and_under_review_firms_but_not_drafts_or_delisted(client):
    _firm("甲公司")
    _firm("乙公司", status=S.LISTED_UNDER_REVIEW)
    _firm("丙公司", status=S.DRAFT)
    _firm("丁公司", status=S.DELISTED)
    _firm("戊公司", status=S.CHANGES_REQUESTED)

    assert sorted(_names(client)) == sorted(["甲公司", "乙公司"])


@pytest.mark.django_db
def test_search_by_part_of_the_name(client):
    _firm("鲁南工程测绘有限公司")
    _firm("枣庄环评咨询中心")

    assert _names(client, q="测绘") == ["鲁南工程测绘有限公司"]


@pytest.mark.django_db
def test_search_by_exact_uscc(client):
    wanted = _firm("鲁南工程测绘有限公司")
    _firm("枣庄环评咨询中心")

    assert _names(client, q=wanted.uscc) == ["鲁南工程测绘有限公司"]
    assert _names(client, q=wanted.uscc[:10]) == []


@pytest.mark.django_db
def test_filter_by_service_type_shows_firms_with_an_active_offer_for_it(client):
    surveying = ServiceTypeFactory()
    OfferFactory(intermediary=_firm("测绘公司"), service_type=surveying)
    OfferFactory(intermediary=_firm("下架公司"), service_type=surveying, is_active=False)
    OfferFactory(intermediary=_firm("环评公司"))

    assert _names(client, service_type=surveying.code) == ["测绘公司"]


@pytest.mark.django_db
def test_filter_by_category(client):
    surveying = ServiceTypeFactory()
    OfferFactory(intermediary=_firm("测绘公司"), service_type=surveying)
    OfferFactory(intermediary=_firm("环评公司"))

    assert _names(client, category=surveying.category.code) == ["测绘公司"]


@pytest.fixture
def grades(db):
    """A qualification type with grades 甲 (rank 1, highest), 乙 (2) and 丙 (3)."""
    qtype = QualificationTypeFactory()
    return qtype, {
        name: QualificationLevelFactory(qualification_type=qtype, name_zh=name, rank=rank)
        for rank, name in enumerate(["甲级", "乙级", "丙级"], start=1)
    }


@pytest.mark.django_db
def test_filter_by_qualification_shows_firms_holding_a_valid_one(client, grades):
    qtype, levels = grades
    QualificationFactory(intermediary=_firm("持证公司"), qualification_type=qtype, level=levels["乙级"])
    QualificationFactory(intermediary=_firm("其他资质公司"))

    assert _names(client, qualification=qtype.code) == ["持证公司"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("asked", "shown"),
    [("甲级", False), ("乙级", True), ("丙级", True)],
    ids=["higher-grade-asked", "same-grade", "lower-grade-asked"],
)
def test_filter_by_level_shows_firms_with_that_grade_or_higher(client, grades, asked, shown):
    qtype, levels = grades
    QualificationFactory(intermediary=_firm("乙级公司"), qualification_type=qtype, level=levels["乙级"])

    names = _names(client, qualification=qtype.code, level=levels[asked].pk)

    assert names == (["乙级公司"] if shown else [])


@pytest.mark.django_db
def test_filter_by_qualification_excludes_an_expired_certificate(client, grades):
    qtype, levels = grades
    today = timezone.localdate()
    QualificationFactory(
        intermediary=_firm("过期公司"),
        qualification_type=qtype,
        level=levels["甲级"],
        valid_from=today - timedelta(days=800),
        valid_until=today - timedelta(days=1),
    )
    QualificationFactory(intermediary=_firm("有效公司"), qualification_type=qtype, level=levels["丙级"])

    assert _names(client, qualification=qtype.code) == ["有效公司"]
    assert _names(client, qualification=qtype.code, level=levels["丙级"].pk) == ["有效公司"]


@pytest.fixture
def priced(db):
    """Firms whose only offer costs 1,000-2,000, 15,000-30,000 and 80,000-90,000 yuan."""
    for name, low, high in [("便宜公司", 1000, 2000), ("中等公司", 15000, 30000), ("昂贵公司", 80000, 90000)]:
        OfferFactory(intermediary=_firm(name), fee={"fee_min": Decimal(low), "fee_max": Decimal(high)})


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"price_min": "20000", "price_max": "25000"}, ["中等公司"]),
        ({"price_min": "2000", "price_max": "15000"}, ["中等公司", "便宜公司"]),
        ({"price_min": "30001"}, ["昂贵公司"]),
        ({"price_max": "999"}, []),
        ({"price_min": "0", "price_max": "100000"}, ["中等公司", "便宜公司", "昂贵公司"]),
    ],
    ids=["inside", "touching-both-ends", "min-only", "below-all", "all"],
)
def test_filter_by_price_range_shows_offers_that_overlap_it(client, priced, params, expected):
    assert sorted(_names(client, **params)) == sorted(expected)


@pytest.mark.django_db
def test_filter_by_price_range_needs_one_offer_that_overlaps_it(client):
    firm = _firm("两极公司")
    OfferFactory(intermediary=firm, fee={"fee_min": Decimal(100), "fee_max": Decimal(200)})
    OfferFactory(intermediary=firm, fee={"fee_min": Decimal(5000), "fee_max": Decimal(6000)})

    assert _names(client, price_min="300", price_max="400") == []


@pytest.mark.django_db
def test_filter_by_price_range_within_a_service_type_ignores_other_offers(client):
    surveying = ServiceTypeFactory()
    firm = _firm("测绘公司")
    OfferFactory(
        intermediary=firm, service_type=surveying, fee={"fee_min": Decimal(100), "fee_max": Decimal(200)}
    )
    OfferFactory(intermediary=firm, fee={"fee_min": Decimal(5000), "fee_max": Decimal(6000)})

    assert _names(client, service_type=surveying.code, price_min="5000") == []
    assert _names(client, service_type=surveying.code, price_max="150") == ["测绘公司"]


@pytest.mark.django_db
def test_filter_by_minimum_rating(client):
    _firm("好评公司", rating_score=Decimal("4.50"))
    _firm("一般公司", rating_score=Decimal("3.00"))
    _firm("未评价公司", rating_score=None)

    assert _names(client, min_rating="4") == ["好评公司"]
    assert sorted(_names(client, min_rating="3")) == sorted(["好评公司", "一般公司"])


@pytest.mark.django_db
def test_sort_newest_first(client):
    now = timezone.now()
    _firm("老公司", listed_at=now - timedelta(days=300))
    _firm("新公司", listed_at=now - timedelta(days=1))
    _firm("中间公司", listed_at=now - timedelta(days=30))

    assert _names(client, sort="newest") == ["新公司", "中间公司", "老公司"]


def _is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.mark.django_db
def test_sort_by_rating_puts_the_best_rated_first_and_unrated_last(client):
    _firm("一般公司", rating_score=Decimal("3.00"))
    _firm("未评价公司", rating_score=None)
    _firm("好评公司", rating_score=Decimal("4.80"))

    assert _names(client, sort="rating") == ["好评公司", "一般公司", "未评价公司"]


@pytest.mark.django_db
def test_default_order_is_by_name(client):
    for name in ["C测绘", "A测绘", "B测绘"]:
        _firm(name)

    assert _names(client) == ["A测绘", "B测绘", "C测绘"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"price_min": "abc"},
        {"price_max": "-5"},
        {"level": "999999"},
        {"level": "x"},
        {"min_rating": "9"},
        {"service_type": "no-such-service"},
        {"qualification": "no-such-licence"},
        {"category": "no-such-category"},
        {"sort": "cheapest"},
        {"q": "测" * 101},
    ],
    ids=lambda p: next(iter(p)),
)
def test_invalid_filter_values_show_a_message_and_no_results(client, params):
    _firm("甲公司")

    response = client.get(reverse("providers:directory"), params)

    assert response.status_code == 200
    assert INVALID_FILTER in response.content.decode()
    assert list(response.context["page_obj"]) == []


@pytest.mark.django_db
def test_a_page_number_out_of_range_shows_the_last_page(client):
    _firm("甲公司")

    response = client.get(reverse("providers:directory"), {"page": "999"})

    assert response.status_code == 200
    assert [f.name for f in response.context["page_obj"]] == ["甲公司"]
