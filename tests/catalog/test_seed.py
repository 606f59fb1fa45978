"""The catalogue and the demo city's departments are seeded by migration 0002."""

import pytest
from django.db.models import Count
from stdnum.cn import uscc

from marketplace.catalog.models import (
    AffiliatedEntity,
    ApprovalItem,
    Department,
    PriceBand,
    PricingRegime,
    QualificationLevel,
    QualificationType,
    ServiceCategory,
    ServiceType,
    ServiceTypeQualification,
)
from marketplace.catalog.seed import seed_catalog

pytestmark = pytest.mark.django_db

# The departments named by the reform opinion (枣政办字〔2019〕21号), with their full names.
NAMED_DEPARTMENTS = {
    "市审批服务局": "枣庄市行政审批服务局",
    "市发展改革委": "枣庄市发展和改革委员会",
    "市市场监管局": "枣庄市市场监督管理局",
    "市自然资源和规划局": "枣庄市自然资源和规划局",
    "市住房城乡建设局": "枣庄市住房和城乡建设局",
    "市生态环境局": "枣庄市生态环境局",
    "市应急局": "枣庄市应急管理局",
    "市交通运输局": "枣庄市交通运输局",
    "市公安局": "枣庄市公安局",
    "市人力资源社会保障局": "枣庄市人力资源和社会保障局",
    "市卫生健康委": "枣庄市卫生健康委员会",
    "市住房公积金管理中心": "枣庄市住房公积金管理中心",
    "市大数据局": "枣庄市大数据局",
    "市司法局": "枣庄市司法局",
    "市统计局": "枣庄市统计局",
}

MODELS = (
    ServiceCategory,
    QualificationType,
    QualificationLevel,
    ServiceType,
    ServiceTypeQualification,
    PriceBand,
    Department,
    AffiliatedEntity,
    ApprovalItem,
    ApprovalItem.service_types.through,
)


@pytest.fixture
def seeded():
    """The migration seeds; seeding again is harmless and survives a flushed database."""
    return seed_catalog()


def test_migration_seeded_the_catalogue():
    assert ServiceType.objects.filter(is_active=True).count() >= 40
    assert Department.objects.filter(code="ecology_environment").exists()


def test_service_types_have_legal_basis_and_category(seeded):
    active = ServiceType.objects.filter(is_active=True).select_related("category")
    assert active.count() >= 40
    for st in active:
        assert st.legal_basis.strip(), st.code
        assert st.category_id and st.category.name_zh, st.code
        assert st.name_zh and st.name_en and st.description, st.code
        assert 2 <= st.standard_practitioners <= 5, st.code


def test_government_priced_types_have_non_overlapping_bands(seeded):
    priced = ServiceType.objects.exclude(pricing_regime=PricingRegime.MARKET)
    assert priced.exists()
    for st in priced:
        bands = list(st.price_bands.order_by("scale_from"))
        assert bands, st.code
        for band in bands:
            assert 0 <= band.fee_min <= band.fee_max, band
            assert band.scale_to is None or band.scale_from < band.scale_to, band
            assert band.basis, band
        for lower, upper in zip(bands, bands[1:], strict=False):
            assert lower.scale_to is not None and lower.scale_to <= upper.scale_from, (lower, upper)
    assert not PriceBand.objects.filter(service_type__pricing_regime=PricingRegime.MARKET).exists()


def test_standard_levels_belong_to_their_qualification_type(seeded):
    for stq in ServiceTypeQualification.objects.select_related("standard_level"):
        if stq.standard_level is not None:
            assert stq.standard_level.qualification_type_id == stq.qualification_type_id, stq
    required = ServiceType.objects.filter(qualification_required=True)
    assert required.exists()
    for st in required:
        assert st.allowed_qualifications.exists(), st.code


def test_named_departments_exist(seeded):
    names = set(Department.objects.values_list("name_zh", flat=True))
    missing = [short for short, full in NAMED_DEPARTMENTS.items() if full not in names]
    assert not missing
    assert not Department.objects.exclude(region="枣庄市").exists()


def test_affiliate_usccs_are_valid(seeded):
    affiliates = list(AffiliatedEntity.objects.all())
    assert affiliates
    for aff in affiliates:
        assert uscc.is_valid(aff.uscc), (aff.name, aff.uscc)
        prefix = {"institution": "12", "association": "51", "enterprise": "91"}[aff.kind]
        assert aff.uscc.startswith(prefix + "3704"), (aff.name, aff.uscc)
    assert len({aff.uscc for aff in affiliates}) == len(affiliates)


def test_every_approval_item_needs_a_service(seeded):
    assert ApprovalItem.objects.exists()
    empty = ApprovalItem.objects.annotate(n=Count("service_types")).filter(n=0)
    assert not empty.exists(), list(empty.values_list("code", flat=True))


def _snapshot():
    return {
        "counts": {m._meta.label: m.objects.count() for m in MODELS},
        "service_types": list(
            ServiceType.objects.order_by("code").values_list(
                "code", "pricing_regime", "qualification_required", "is_active", "category__code"
            )
        ),
        "bands": list(
            PriceBand.objects.order_by("service_type__code", "scale_from").values_list(
                "service_type__code", "scale_from", "scale_to", "fee_min", "fee_max"
            )
        ),
    }


def test_seeding_again_changes_nothing(seeded):
    before = _snapshot()
    counts = seed_catalog()
    assert counts == seeded
    assert _snapshot() == before
    assert counts["service_types"] == ServiceType.objects.count()
    assert counts["departments"] == Department.objects.count()
