"""Applications (报名) with sealed quotes: who may apply, when, and with what."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from marketplace.core.errors import DomainError, NotAllowed
from marketplace.core.models import AuditEvent
from marketplace.procurement import services
from marketplace.procurement.models import Application, Project
from marketplace.providers.models import Intermediary
from tests.factories import (
    IntermediaryFactory,
    PractitionerFactory,
    QualificationFactory,
    QualificationLevelFactory,
    QualificationTypeFactory,
    ServiceTypeFactory,
    allow_qualification,
)

from .factories import firm_user, pass_deadline, published_project

pytestmark = pytest.mark.django_db


def apply(project, user, quote="80000", **kwargs):
    return services.application_submit(actor=user, project=project, quote=quote, **kwargs)


def refused(project, user, message: str, quote="80000", code: str | None = None) -> DomainError:
    count = Application.objects.count()
    with pytest.raises(DomainError) as excinfo:
        apply(project, user, quote)
    assert message in str(excinfo.value)
    if code:
        assert excinfo.value.code == code
    assert Application.objects.count() == count
    return excinfo.value


def qualified_project(rule="any", n_types=2, levels=False):
    service = ServiceTypeFactory()
    qtypes = [QualificationTypeFactory() for _ in range(n_types)]
    requirements = []
    for qtype in qtypes:
        level = None
        if levels:
            QualificationLevelFactory(qualification_type=qtype, rank=1, name_zh="甲级")
            level = QualificationLevelFactory(qualification_type=qtype, rank=2, name_zh="乙级")
        allow_qualification(service, qtype, standard_level=level)
        requirements.append((qtype, level))
    project = published_project(service_type=service, qualification_rule=rule, requirements=requirements)
    return project, qtypes


# ---------------------------------------------------------------------------------- eligibility


def test_eligible_firm_applies():
    project = published_project()
    firm, user = firm_user(project.service_type)
    application = apply(project, user)
    assert application.intermediary == firm and application.state == Application.State.SUBMITTED
    assert services.check_eligibility(project, firm) == []


@pytest.mark.parametrize(
    "status", [Intermediary.Status.DRAFT, Intermediary.Status.CHANGES_REQUESTED, Intermediary.Status.DELISTED]
)
def test_a_firm_that_is_not_listed_is_refused(status):
    project = published_project()
    _firm, user = firm_user(project.service_type, status=status)
    refused(project, user, "机构未入驻或已被清退。", code="ineligible")


def test_a_firm_listed_under_review_may_apply():
    project = published_project()
    _firm, user = firm_user(project.service_type, status=Intermediary.Status.LISTED_UNDER_REVIEW)
    assert apply(project, user).pk


def test_a_blacklisted_firm_is_refused_with_the_blacklist_message():
    project = published_project()
    today = timezone.localdate()
    _firm, user = firm_user(project.service_type, blacklisted_until=today)
    refused(project, user, f"机构被列入黑名单，至 {today.isoformat()} 前不得报名。", code="ineligible")


def test_a_firm_whose_blacklisting_has_ended_may_apply():
    project = published_project()
    _firm, user = firm_user(project.service_type, blacklisted_until=timezone.localdate() - timedelta(days=1))
    assert apply(project, user).pk


def test_an_excluded_firm_is_refused():
    service = ServiceTypeFactory()
    firm, user = firm_user(service)
    project = published_project(service_type=service, exclusions=[(firm, "与业主存在股权关系")])
    refused(project, user, "机构因利益冲突被要求回避。")


def test_any_rule_needs_one_of_the_qualifications():
    project, (qa, qb) = qualified_project("any")
    with_one, user_one = firm_user(project.service_type)
    QualificationFactory(intermediary=with_one, qualification_type=qb)
    assert apply(project, user_one).pk
    _none, user_none = firm_user(project.service_type)
    refused(project, user_none, "不具备在报名截止日有效的所需资质（具备其一即可）。")


def test_all_rule_needs_every_qualification():
    project, (qa, qb) = qualified_project("all")
    with_one, user_one = firm_user(project.service_type)
    QualificationFactory(intermediary=with_one, qualification_type=qa)
    refused(project, user_one, f"缺少在报名截止日有效的资质：{qb.name}。")
    with_both, user_both = firm_user(project.service_type)
    QualificationFactory(intermediary=with_both, qualification_type=qa)
    QualificationFactory(intermediary=with_both, qualification_type=qb)
    assert apply(project, user_both).pk


def test_a_qualification_below_the_required_level_does_not_count():
    project, (qa,) = qualified_project("any", n_types=1, levels=True)
    required = project.requirements.get().min_level  # 乙级, rank 2
    grade_c = QualificationLevelFactory(qualification_type=qa, rank=3, name_zh="丙级")
    low, low_user = firm_user(project.service_type)
    QualificationFactory(intermediary=low, qualification_type=qa, level=grade_c)
    refused(project, low_user, "不具备在报名截止日有效的所需资质")
    high, high_user = firm_user(project.service_type)
    QualificationFactory(intermediary=high, qualification_type=qa, level=qa.levels.get(rank=1))
    assert apply(project, high_user).pk
    equal, equal_user = firm_user(project.service_type)
    QualificationFactory(intermediary=equal, qualification_type=qa, level=required)
    assert apply(project, equal_user).pk


def test_a_qualification_expiring_before_the_deadline_is_refused():
    project, (qa,) = qualified_project("all", n_types=1)
    firm, user = firm_user(project.service_type)
    deadline_day = timezone.localdate(project.registration_deadline)
    QualificationFactory(
        intermediary=firm, qualification_type=qa, valid_until=deadline_day - timedelta(days=1)
    )
    refused(project, user, "缺少在报名截止日有效的资质")


def test_a_qualification_valid_through_the_deadline_day_counts():
    project, (qa,) = qualified_project("all", n_types=1)
    firm, user = firm_user(project.service_type)
    QualificationFactory(
        intermediary=firm,
        qualification_type=qa,
        valid_until=timezone.localdate(project.registration_deadline),
    )
    assert apply(project, user).pk


def test_too_few_practitioners_is_refused():
    project = published_project(required_practitioners=2)
    firm, user = firm_user(project.service_type)
    PractitionerFactory(intermediary=firm)
    refused(project, user, "从业人员不足 2 人。")
    PractitionerFactory(intermediary=firm)
    assert apply(project, user).pk


def test_every_reason_is_reported_at_once():
    firm = IntermediaryFactory(status=Intermediary.Status.DELISTED, blacklisted_until=timezone.localdate())
    project = published_project(exclusions=[(firm, "回避")], required_practitioners=1)
    reasons = services.check_eligibility(project, firm)
    assert len(reasons) == 4


# ---------------------------------------------------------------------------- one per firm, quotes


def test_one_application_per_firm():
    project = published_project()
    _firm, user = firm_user(project.service_type)
    apply(project, user)
    refused(project, user, "本机构已报名该项目，不能重复报名。", quote="70000", code="duplicate")


def test_reapply_after_withdrawal_is_allowed():
    project = published_project()
    _firm, user = firm_user(project.service_type)
    first = apply(project, user, "90000")
    services.application_withdraw(actor=user, application=first)
    second = apply(project, user, "70000", client_ip="10.0.0.9")
    assert second.pk == first.pk and Application.objects.filter(project=project).count() == 1
    second.refresh_from_db()
    assert second.state == Application.State.SUBMITTED and second.withdrawn_at is None
    assert second.client_ip == "10.0.0.9"
    project = pass_deadline(project)
    services.registration_close(project=project)
    second.refresh_from_db()
    assert second.quote_amount == Decimal("70000.00")  # the new quote, not the withdrawn one


@pytest.mark.parametrize("quote", ["49999.99", "100000.01", "-1", "0"])
def test_a_quote_outside_the_floor_and_ceiling_is_refused(quote):
    project = published_project(price_floor=Decimal("50000"), price_ceiling=Decimal("100000"))
    _firm, user = firm_user(project.service_type)
    refused(project, user, "报价须在 50000.00 元至 100000.00 元之间。", quote=quote, code="out_of_band")


@pytest.mark.parametrize("quote", ["50000", "100000"])
def test_a_quote_at_the_floor_or_ceiling_is_accepted(quote):
    project = published_project(price_floor=Decimal("50000"), price_ceiling=Decimal("100000"))
    _firm, user = firm_user(project.service_type)
    assert apply(project, user, quote).pk


@pytest.mark.parametrize("quote", ["abc", "", "Infinity", "NaN"])
def test_a_quote_that_is_not_an_amount_is_refused(quote):
    project = published_project()
    _firm, user = firm_user(project.service_type)
    with pytest.raises(DomainError, match="报价须为金额。"):
        apply(project, user, quote)
    assert not Application.objects.exists()


# ---------------------------------------------------------------------------------- deadlines


def test_applying_after_the_deadline_is_refused():
    project = pass_deadline(published_project())
    _firm, user = firm_user(project.service_type)
    refused(project, user, "报名已于", code="deadline")


def test_applying_to_an_unpublished_project_is_refused():
    project = published_project()
    Project.objects.filter(pk=project.pk).update(status="draft")
    _firm, user = firm_user(project.service_type)
    refused(project, user, "该项目不在报名期内。", code="not_open")


def test_withdraw_after_the_deadline_is_refused():
    project = published_project()
    _firm, user = firm_user(project.service_type)
    application = apply(project, user)
    pass_deadline(project)
    with pytest.raises(DomainError, match="报名截止后不能撤回。"):
        services.application_withdraw(actor=user, application=application)
    application.refresh_from_db()
    assert application.state == Application.State.SUBMITTED


def test_the_client_ip_and_time_are_recorded():
    project = published_project()
    firm, user = firm_user(project.service_type)
    before = timezone.now()
    application = apply(project, user, client_ip="203.0.113.7")
    application.refresh_from_db()
    assert application.client_ip == "203.0.113.7"
    assert before <= application.submitted_at <= timezone.now()
    assert application.submitted_by == user
    event = AuditEvent.objects.get(action="application.submit", object_id=str(application.pk))
    assert event.after["ip"] == "203.0.113.7" and event.after["firm"] == firm.uscc


def test_another_firms_user_cannot_withdraw_my_application():
    project = published_project()
    _firm, user = firm_user(project.service_type)
    _other, other_user = firm_user(project.service_type)
    application = apply(project, user)
    events = AuditEvent.objects.count()
    with pytest.raises(NotAllowed):
        services.application_withdraw(actor=other_user, application=application)
    with pytest.raises(NotAllowed):
        services.application_withdraw(actor=project.created_by, application=application)
    application.refresh_from_db()
    assert application.state == Application.State.SUBMITTED and AuditEvent.objects.count() == events


def test_a_user_without_a_firm_cannot_apply():
    project = published_project()
    with pytest.raises(NotAllowed):
        apply(project, project.created_by)
    assert not Application.objects.exists()
