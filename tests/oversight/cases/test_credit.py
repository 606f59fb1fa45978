"""Credit: the published components, grades and disqualifying items, recomputed set-based; the
blacklist lifts itself when its term ends (the firm can apply again)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.core.models import AuditEvent
from marketplace.oversight.cases import credit, services
from marketplace.oversight.cases.tasks import tick
from marketplace.oversight.models import Blacklisting, CreditProfile, Flag
from marketplace.procurement import services as procurement
from marketplace.procurement.models import Escalation, WalkAway
from marketplace.providers.models import Intermediary
from tests.factories import IntermediaryFactory, OfferFactory, member_of
from tests.procurement.factories import published_project

from .helpers import awarded_project, project_flag, regulator_user, violation

pytestmark = pytest.mark.django_db


def _walkaway(firm, days_ago=10):
    project = awarded_project(firm)
    WalkAway.objects.create(
        project=project,
        intermediary=firm,
        reason="放弃",
        recorded_at=timezone.now() - timedelta(days=days_ago),
    )
    return project


def test_a_firm_without_records_scores_100_and_grade_a():
    firm = IntermediaryFactory()
    credit.credit_recompute(intermediary_ids=[firm.pk])
    firm.refresh_from_db()
    assert (firm.credit_score, firm.credit_grade) == (Decimal("100.00"), "A")
    profile = CreditProfile.objects.get(intermediary=firm)
    assert profile.components == {
        "ratings": "0.00",
        "violations": "0.00",
        "walkaways": "0.00",
        "late_delivery": "0.00",
        "findings": "0.00",
    }


def test_each_component_deducts_its_published_points():
    firm = IntermediaryFactory(rating_score=Decimal("4.20"))
    _walkaway(firm)
    old = _walkaway(firm, days_ago=400)  # older than a year: not counted
    late = awarded_project(firm)
    from marketplace.procurement.models import Contract

    Contract.objects.create(
        project=late,
        intermediary=firm,
        amount=1,
        document="c.pdf",
        uploaded_by_org=late.owner,
        uploaded_at=timezone.now(),
    )
    Escalation.objects.create(
        project=late, kind=Escalation.Kind.DELIVERY_SERIOUSLY_LATE, created_at=timezone.now()
    )
    flag = project_flag(old, intermediary=firm, status=Flag.Status.CONFIRMED)
    Flag.objects.filter(pk=flag.pk).update(decided_at=timezone.now())
    credit.credit_recompute(intermediary_ids=[firm.pk])
    profile = CreditProfile.objects.get(intermediary=firm)
    assert profile.components == {
        "ratings": "4.00",  # (5 - 4.2) x 5
        "violations": "0.00",
        "walkaways": "5.00",
        "late_delivery": "3.00",
        "findings": "2.00",
    }
    assert (profile.score, profile.grade, profile.disqualifiers) == (Decimal("86.00"), "B", [])


def test_three_walkaways_in_a_year_are_a_disqualifying_item():
    firm = IntermediaryFactory()
    for _ in range(3):
        _walkaway(firm)
    credit.credit_recompute(intermediary_ids=[firm.pk])
    firm.refresh_from_db()
    assert (firm.credit_score, firm.credit_grade) == (Decimal("85.00"), "E")
    assert CreditProfile.objects.get(intermediary=firm).disqualifiers == ["serious_walkaways"]


@pytest.mark.parametrize(
    ("score", "grade"), [(90, "A"), (89.99, "B"), (80, "B"), (70, "C"), (60, "D"), (59.99, "E")]
)
def test_grade_bands(score, grade):
    assert credit.grade_for(Decimal(str(score)), False) == grade
    assert credit.grade_for(Decimal(str(score)), True) == "E"


def test_recomputing_many_firms_takes_a_fixed_number_of_queries(django_assert_max_num_queries):
    firms = [IntermediaryFactory() for _ in range(3)]
    with django_assert_max_num_queries(16):
        credit.credit_recompute()
    more = [IntermediaryFactory() for _ in range(12)]
    for firm in more[:4]:
        _walkaway(firm)
    with django_assert_max_num_queries(16):
        assert credit.credit_recompute() == 12  # the new firms' first scores (4 of them 95)
    assert CreditProfile.objects.count() == len(firms) + len(more)
    assert CreditProfile.objects.filter(score=95).count() == 4
    assert AuditEvent.objects.filter(action="credit.recompute").count() == 2


def test_the_blacklist_lifts_itself_when_the_term_ends_and_the_firm_may_apply_again(client):
    regulator = regulator_user()
    firm = IntermediaryFactory(name="枣庄市某某测绘有限公司")
    member = member_of(firm.organisation)
    project = awarded_project(firm)
    case = services.case_open(
        actor=regulator,
        title="隐瞒关联关系",
        summary="RP05",
        flags=[project_flag(project, intermediary=firm)],
    )
    services.case_conclude(
        actor=regulator,
        case=case,
        violation=True,
        violation_type=violation("V04"),
        legal_basis="国办发〔2015〕31号",
        conclusion="未申报与审批部门的关联关系。",
    )
    entry = Blacklisting.objects.get(intermediary=firm)
    assert entry.ends_on - entry.starts_on == timedelta(days=179)
    listing = client.get(reverse("oversight:disclosure-blacklist")).content.decode()
    assert (
        firm.name in listing
        and "国办发〔2015〕31号"
        in client.get(reverse("oversight:disclosure-blacklist-entry", args=[entry.pk])).content.decode()
    )
    profile = client.get(reverse("providers:profile", args=[firm.pk])).content.decode()
    assert "已列入黑名单" in profile

    # The term ends (moved into the past); the tick lifts it, once.
    Blacklisting.objects.filter(pk=entry.pk).update(
        starts_on=timezone.localdate() - timedelta(days=180), ends_on=timezone.localdate() - timedelta(days=1)
    )
    Intermediary.objects.filter(pk=firm.pk).update(blacklisted_until=timezone.localdate() - timedelta(days=1))
    assert tick()["lifted"] == 1
    assert tick()["lifted"] == 0
    firm.refresh_from_db()
    entry.refresh_from_db()
    assert firm.blacklisted_until is None and entry.lifted_at is not None
    assert firm.name not in client.get(reverse("oversight:disclosure-blacklist")).content.decode()
    assert firm.name in client.get(reverse("oversight:disclosure-blacklist") + "?history=1").content.decode()
    assert "blacklisted" not in CreditProfile.objects.get(intermediary=firm).disqualifiers
    # ... and procurement accepts its application again.
    offer = OfferFactory(intermediary=firm)
    open_project = published_project(service_type=offer.service_type)
    procurement.application_submit(actor=member, project=open_project, quote=Decimal("60000"))
    assert open_project.applications.filter(intermediary=firm).exists()


def test_a_longer_blacklisting_is_not_shortened_by_a_shorter_one():
    regulator = regulator_user()
    firm = IntermediaryFactory()
    project = awarded_project(firm)
    for code in ("V03", "V04"):  # 365 days, then 180 days
        case = services.case_open(
            actor=regulator, title=code, summary="s", flags=[project_flag(project, intermediary=firm)]
        )
        services.case_conclude(
            actor=regulator,
            case=case,
            violation=True,
            violation_type=violation(code),
            legal_basis="依据",
            conclusion="结论",
        )
    firm.refresh_from_db()
    assert firm.blacklisted_until == timezone.localdate() + timedelta(days=364)
    assert firm.credit_score == Decimal("50.00")
