"""Posting, checking, updating, cancelling and relaunching projects."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from marketplace.core import workdays
from marketplace.core.errors import DomainError, NotAllowed
from marketplace.core.models import AuditEvent
from marketplace.procurement import draw, sealing, services
from marketplace.procurement.models import Project, Status
from tests.factories import (
    IntermediaryFactory,
    QualificationLevelFactory,
    QualificationTypeFactory,
    ServiceTypeFactory,
    allow_qualification,
)

from .factories import operator_user, owner_user, pass_deadline, project_input, published_project

pytestmark = pytest.mark.django_db


def deadline_in(working_days: int):
    day = workdays.add_working_days(timezone.localdate(), working_days)
    return timezone.make_aware(timezone.datetime(day.year, day.month, day.day, 17, 0))


@contextmanager
def nothing_written():
    projects, events = Project.objects.count(), AuditEvent.objects.count()
    yield
    assert Project.objects.count() == projects
    assert AuditEvent.objects.count() == events


def refused(owner, message: str, **overrides) -> DomainError:
    with nothing_written(), pytest.raises(DomainError) as excinfo:
        services.project_create(actor=owner, data=project_input(**overrides))
    assert message in str(excinfo.value)
    return excinfo.value


# ------------------------------------------------------------------------------- project_create


def test_valid_project_is_created_as_a_draft_with_a_public_number():
    owner = owner_user()
    project = services.project_create(actor=owner, data=project_input())
    assert project.status == Status.DRAFT
    assert (
        project.public_number
        == f"{settings.PROJECT_NUMBER_PREFIX}{timezone.localdate().year}{project.pk:06d}"
    )
    assert project.secret == "" and project.secret_commitment == ""
    assert AuditEvent.objects.filter(action="project.create", object_id=str(project.pk)).count() == 1


@pytest.mark.parametrize("source", ["fiscal", "private"])
def test_direct_selection_at_the_threshold_is_refused(source):
    threshold = Decimal(settings.DIRECT_SELECTION_THRESHOLDS[source])
    error = refused(
        owner_user(),
        "直接选取仅适用于最高限价低于",
        method="direct",
        method_reason="紧急抢险",
        funding_source=source,
        price_floor=Decimal("1000"),
        price_ceiling=threshold,
    )
    assert error.code == "direct_threshold" and str(threshold) in str(error)


@pytest.mark.parametrize("source", ["fiscal", "private"])
def test_direct_selection_above_the_threshold_is_refused(source):
    threshold = Decimal(settings.DIRECT_SELECTION_THRESHOLDS[source])
    refused(
        owner_user(),
        "直接选取仅适用于最高限价低于",
        method="direct",
        method_reason="紧急抢险",
        funding_source=source,
        price_floor=Decimal("1000"),
        price_ceiling=threshold + 1,
    )


@pytest.mark.parametrize("source", ["fiscal", "private"])
def test_direct_selection_just_below_the_threshold_is_allowed(source):
    threshold = Decimal(settings.DIRECT_SELECTION_THRESHOLDS[source])
    data = project_input(
        method="direct",
        method_reason="金额较小，工期紧",
        funding_source=source,
        price_floor=Decimal("1000"),
        price_ceiling=threshold - Decimal("0.01"),
    )
    assert services.project_create(actor=owner_user(), data=data).method == "direct"


def test_direct_selection_without_a_reason_is_refused():
    refused(
        owner_user(),
        "直接选取必须书面说明理由。",
        method="direct",
        method_reason="   ",
        price_floor=Decimal("1000"),
        price_ceiling=Decimal("20000"),
    )


def test_random_draw_with_floor_different_from_ceiling_is_refused():
    refused(owner_user(), "最低限价须等于最高限价", method="random_draw")


def test_ceiling_below_floor_is_refused():
    refused(
        owner_user(),
        "最高限价不能低于最低限价。",
        price_floor=Decimal("90000"),
        price_ceiling=Decimal("80000"),
    )


@pytest.mark.parametrize(("floor", "ceiling"), [("-1", "100000"), ("-500", "-100"), ("0", "0")])
def test_negative_or_zero_prices_are_refused(floor, ceiling):
    refused(owner_user(), "限价须为正数。", price_floor=Decimal(floor), price_ceiling=Decimal(ceiling))


@pytest.mark.parametrize("value", ["abc", "NaN", "Infinity"])
def test_prices_that_are_not_amounts_are_refused(value):
    refused(owner_user(), "金额须为数字。", price_floor=value)


@pytest.mark.parametrize(
    "field",
    [
        {"title": "某道路环评（仅限本市注册企业报名）"},
        {"service_content": "编制报告书，须在枣庄市内注册"},
        {"service_content": "外地企业不得参与"},
    ],
)
def test_regional_wording_is_refused(field):
    error = refused(owner_user(), "不得设置地域限制", **field)
    assert error.code == "regional"


def test_a_qualification_type_the_service_does_not_allow_is_refused():
    service = ServiceTypeFactory()
    allowed, other = QualificationTypeFactory(), QualificationTypeFactory()
    allow_qualification(service, allowed)
    error = refused(
        owner_user(), "不是该服务事项可要求的资质", service_type=service, requirements=[(other, None)]
    )
    assert error.code == "qualification_not_allowed"


def test_an_allowed_qualification_type_is_accepted():
    service = ServiceTypeFactory()
    allowed = QualificationTypeFactory()
    allow_qualification(service, allowed)
    project = services.project_create(
        actor=owner_user(), data=project_input(service_type=service, requirements=[(allowed, None)])
    )
    assert list(project.requirements.values_list("qualification_type", flat=True)) == [allowed.pk]


def test_a_level_above_the_standard_is_refused():
    service = ServiceTypeFactory()
    qtype = QualificationTypeFactory()
    grade_a = QualificationLevelFactory(qualification_type=qtype, rank=1, name_zh="甲级")
    grade_b = QualificationLevelFactory(qualification_type=qtype, rank=2, name_zh="乙级")
    allow_qualification(service, qtype, standard_level=grade_b)
    error = refused(
        owner_user(),
        "资质等级要求不得高于标准等级（乙级）",
        service_type=service,
        requirements=[(qtype, grade_a)],
    )
    assert error.code == "level_above_standard"
    # at the standard level it is fine
    project = services.project_create(
        actor=owner_user(), data=project_input(service_type=service, requirements=[(qtype, grade_b)])
    )
    assert project.requirements.get().min_level == grade_b


def test_more_practitioners_than_the_standard_is_refused():
    service = ServiceTypeFactory(standard_practitioners=3)
    error = refused(
        owner_user(), "不得超过该服务事项的标准（3 人）", service_type=service, required_practitioners=4
    )
    assert error.code == "excess_practitioners"


def test_registration_period_shorter_than_the_minimum_is_refused():
    minimum = settings.REGISTRATION_MIN_WORKING_DAYS
    deadline = deadline_in(minimum - 1)
    error = refused(
        owner_user(),
        f"报名期不得少于 {minimum} 个工作日",
        registration_deadline=deadline,
        selection_time=deadline + timedelta(hours=1),
    )
    assert error.code == "short_registration"


def test_registration_period_of_exactly_the_minimum_is_accepted():
    deadline = deadline_in(settings.REGISTRATION_MIN_WORKING_DAYS)
    data = project_input(registration_deadline=deadline, selection_time=deadline)
    assert services.project_create(actor=owner_user(), data=data).registration_deadline == deadline


def test_deadline_in_the_past_is_refused():
    past = timezone.now() - timedelta(hours=1)
    refused(owner_user(), "报名截止时间须晚于当前时间。", registration_deadline=past, selection_time=past)


def test_selection_time_before_the_deadline_is_refused():
    deadline = deadline_in(7)
    refused(
        owner_user(),
        "选取时间不能早于报名截止时间。",
        registration_deadline=deadline,
        selection_time=deadline - timedelta(minutes=1),
    )


def test_exclusion_without_a_reason_is_refused():
    firm = IntermediaryFactory()
    refused(owner_user(), f"回避须说明理由：{firm.name}", exclusions=[(firm, "  ")])


def test_exclusion_with_a_reason_is_stored():
    firm = IntermediaryFactory()
    project = services.project_create(actor=owner_user(), data=project_input(exclusions=[(firm, "业主持股")]))
    exclusion = project.exclusions.get()
    assert exclusion.intermediary == firm and exclusion.reason == "业主持股"


@pytest.mark.parametrize("weight", [0, 5, 95])
def test_scored_comparison_needs_a_price_weight_from_10_to_90(weight):
    error = refused(owner_user(), "比选须公布价格分权重", method="scored_comparison", price_weight=weight)
    assert error.field == "price_weight"


def test_scored_comparison_weight_message_shows_single_percent_signs():
    error = refused(owner_user(), "比选须公布价格分权重", method="scored_comparison", price_weight=5)
    assert str(error) == "比选须公布价格分权重（10%至90%）。"


@pytest.mark.parametrize("who", ["operator", "intermediary", "nobody"])
def test_non_owner_actor_cannot_create(who):
    from tests.factories import MembershipFactory, UserFactory

    if who == "operator":
        actor = operator_user()
    elif who == "intermediary":
        actor = MembershipFactory(organisation=IntermediaryFactory().organisation).user
    else:
        actor = UserFactory()
    with nothing_written(), pytest.raises(NotAllowed):
        services.project_create(actor=actor, data=project_input())


# -------------------------------------------------------------------------------- project_check


def _submitted():
    owner = owner_user()
    project = services.project_create(actor=owner, data=project_input())
    services.project_submit(actor=owner, project=project)
    project.refresh_from_db()
    return owner, project


def test_project_check_by_a_non_operator_is_refused():
    owner, project = _submitted()
    events = AuditEvent.objects.count()
    for actor in (owner, owner_user()):
        with pytest.raises(NotAllowed):
            services.project_check(actor=actor, project=project, approve=True)
    project.refresh_from_db()
    assert project.status == Status.UNDER_CHECK and project.secret == "" and project.published_at is None
    assert AuditEvent.objects.count() == events


def test_return_without_a_note_is_refused():
    _owner, project = _submitted()
    events = AuditEvent.objects.count()
    with pytest.raises(DomainError, match="退回须说明理由。"):
        services.project_check(actor=operator_user(), project=project, approve=False, note="  ")
    project.refresh_from_db()
    assert project.status == Status.UNDER_CHECK and AuditEvent.objects.count() == events


def test_return_with_a_note_returns_it_to_the_owner():
    _owner, project = _submitted()
    services.project_check(actor=operator_user(), project=project, approve=False, note="请补充服务内容")
    project.refresh_from_db()
    assert project.status == Status.RETURNED and project.check_note == "请补充服务内容"
    assert project.secret_commitment == ""


def test_publishing_commits_to_the_secret():
    _owner, project = _submitted()
    before = timezone.now()
    services.project_check(actor=operator_user(), project=project, approve=True)
    project.refresh_from_db()
    assert project.status == Status.PUBLISHED
    assert len(project.secret) == 64
    assert project.secret_commitment == hashlib.sha256(project.secret.encode()).hexdigest()
    assert project.secret_commitment == draw.commitment(project.secret)
    assert project.quote_key_wrapped
    assert sealing.seal(project, 1, Decimal("1.00"))  # the wrapped key opens under the master key
    assert before <= project.published_at <= timezone.now()
    assert project.secret_revealed_at is None
    commit = AuditEvent.objects.get(action="project.commit_secret", object_id=str(project.pk))
    assert commit.after == {"sha256": project.secret_commitment}
    # the secret itself is not revealed in the audit log at publication
    stored = str(list(AuditEvent.objects.values_list("before", "after")))
    assert project.secret not in stored


def test_publishing_is_refused_when_the_registration_period_became_too_short():
    _owner, project = _submitted()
    short = deadline_in(settings.REGISTRATION_MIN_WORKING_DAYS - 1)
    Project.objects.filter(pk=project.pk).update(registration_deadline=short, selection_time=short)
    with pytest.raises(DomainError) as excinfo:
        services.project_check(actor=operator_user(), project=project, approve=True)
    assert excinfo.value.code == "short_registration"
    project.refresh_from_db()
    assert project.status == Status.UNDER_CHECK and project.secret == ""


def test_publishing_a_draft_not_yet_submitted_is_refused():
    project = services.project_create(actor=owner_user(), data=project_input())
    with pytest.raises(DomainError, match="不能变更为"):
        services.project_check(actor=operator_user(), project=project, approve=True)
    project.refresh_from_db()
    assert project.status == Status.DRAFT and project.secret == ""


# ---------------------------------------------------------------- update, cancel, relaunch


def test_project_update_in_draft_and_returned():
    owner = owner_user()
    project = services.project_create(actor=owner, data=project_input())
    services.project_update(actor=owner, project=project, data=project_input(title="改名后的项目"))
    project.refresh_from_db()
    assert project.title == "改名后的项目"
    services.project_submit(actor=owner, project=project)
    services.project_check(actor=operator_user(), project=project, approve=False, note="限价过高")
    services.project_update(
        actor=owner, project=project, data=project_input(title="再次修改", price_ceiling=Decimal("90000"))
    )
    project.refresh_from_db()
    assert project.title == "再次修改" and project.price_ceiling == Decimal("90000.00")
    assert AuditEvent.objects.filter(action="project.update", object_id=str(project.pk)).count() == 2


@pytest.mark.parametrize("state", ["under_check", "published"])
def test_project_update_refused_after_submission(state):
    owner = owner_user()
    if state == "under_check":
        _owner, project = _submitted()
        owner = project.created_by
    else:
        project = published_project(owner=owner)
    with pytest.raises(DomainError, match="项目提交审核后不能修改。"):
        services.project_update(actor=owner, project=project, data=project_input(title="偷偷修改"))
    project.refresh_from_db()
    assert project.title != "偷偷修改"


def test_project_update_by_another_owner_is_refused():
    project = services.project_create(actor=owner_user(), data=project_input())
    with pytest.raises(NotAllowed):
        services.project_update(actor=owner_user(), project=project, data=project_input(title="别人的"))


def test_cancel_needs_a_reason():
    owner = owner_user()
    project = published_project(owner=owner)
    with pytest.raises(DomainError, match="取消项目须说明理由。"):
        services.project_cancel(actor=owner, project=project, reason=" ")
    project.refresh_from_db()
    assert project.status == Status.PUBLISHED
    services.project_cancel(actor=owner, project=project, reason="项目取消立项")
    project.refresh_from_db()
    assert project.status == Status.CANCELLED and project.failure_reason == "项目取消立项"


def test_cancel_after_the_registration_deadline_is_refused():
    owner = owner_user()
    project = pass_deadline(published_project(owner=owner))
    with pytest.raises(DomainError, match="报名已截止"):
        services.project_cancel(actor=owner, project=project, reason="不想做了")


def _failed(owner):
    project = pass_deadline(published_project(owner=owner))
    services.registration_close(project=project)  # no applications: the round fails
    project.refresh_from_db()
    assert project.status == Status.FAILED
    return project


def test_relaunch_from_failed_creates_a_new_draft():
    owner = owner_user()
    firm = IntermediaryFactory()
    project = pass_deadline(published_project(owner=owner, exclusions=[(firm, "关联关系")]))
    services.registration_close(project=project)
    project.refresh_from_db()
    deadline = deadline_in(8)
    new = services.project_relaunch(
        actor=owner, project=project, registration_deadline=deadline, selection_time=deadline
    )
    project.refresh_from_db()
    assert project.status == Status.RELAUNCHED
    assert new.status == Status.DRAFT and new.relaunch_of == project and new.pk != project.pk
    assert new.title == project.title and new.price_ceiling == project.price_ceiling
    assert new.registration_deadline == deadline
    assert list(new.exclusions.values_list("intermediary", "reason")) == [(firm.pk, "关联关系")]
    assert new.secret == "" and new.public_number != project.public_number


def test_relaunch_with_another_method():
    owner = owner_user()
    project = _failed(owner)
    deadline = deadline_in(8)
    new = services.project_relaunch(
        actor=owner,
        project=project,
        registration_deadline=deadline,
        selection_time=deadline,
        method="scored_comparison",
        price_weight=50,
    )
    assert new.method == "scored_comparison" and new.price_weight == 50


def test_relaunch_as_scored_comparison_needs_a_published_price_weight():
    owner = owner_user()
    project = _failed(owner)
    deadline = deadline_in(8)
    with pytest.raises(DomainError, match="价格分权重"):
        services.project_relaunch(
            actor=owner,
            project=project,
            registration_deadline=deadline,
            selection_time=deadline,
            method="scored_comparison",
        )
    project.refresh_from_db()
    assert project.status == "failed" and not project.relaunches.exists()


@pytest.mark.parametrize("state", ["draft", "published"])
def test_relaunch_only_from_failed(state):
    owner = owner_user()
    if state == "draft":
        project = services.project_create(actor=owner, data=project_input())
    else:
        project = published_project(owner=owner)
    count = Project.objects.count()
    deadline = deadline_in(8)
    with pytest.raises(DomainError, match="不能变更为“已重新发布”"):
        services.project_relaunch(
            actor=owner, project=project, registration_deadline=deadline, selection_time=deadline
        )
    assert Project.objects.count() == count


def test_relaunch_by_another_owner_is_refused():
    project = _failed(owner_user())
    deadline = deadline_in(8)
    with pytest.raises(NotAllowed):
        services.project_relaunch(
            actor=owner_user(), project=project, registration_deadline=deadline, selection_time=deadline
        )
