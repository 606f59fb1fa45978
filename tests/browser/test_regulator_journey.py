"""A regulator works the risk queue: the monitoring engine has flagged a project whose winner is
owned by the approving department's own institute (RP01) and a round with one valid applicant
(CO01). The regulator opens the queue, reads why each project is there, confirms the first and
dismisses the second, always with a reason. An operator then changes a rule's weight and sees
the new version in the rule's history."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_otp.oath import totp

from marketplace.accounts.models import Role
from marketplace.catalog.models import AffiliatedEntity, ApprovalItem
from marketplace.oversight import services
from marketplace.oversight.models import Flag, RuleSetting
from marketplace.procurement import services as procurement
from marketplace.procurement.models import Application, Project, Selection
from marketplace.procurement.services import timeline
from marketplace.providers.models import FeeSchedule, Shareholder

from ..factories import (
    DepartmentFactory,
    IntermediaryFactory,
    MembershipFactory,
    OfferFactory,
    OrganisationFactory,
    ServiceTypeFactory,
    make_uscc,
    member_of,
)
from ..procurement.factories import pass_deadline, published_project
from . import Page, expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PASSWORD = "Pa55word!2026"  # UserFactory's

DEPARTMENT = "枣庄市生态环境局"
INSTITUTE = "枣庄市环境科学研究院"
WINNER = "枣庄市鲁南环评咨询有限公司"
RIVAL = "枣庄市华信环境技术有限公司"
LONE_FIRM = "枣庄市山亭区永正测绘有限公司"
RP_TITLE = "薛城区污水处理厂扩建工程环境影响评价"
CO_TITLE = "山亭区乡村道路改造工程测绘"
RP01_TITLE = "中选机构与审批部门存在股权关联"
CO01_TITLE = "仅一家有效报名"


@dataclass
class Market:
    related: Project  # won by a firm the department's institute holds 30% of (RP01)
    single: Project  # one valid applicant (CO01)


def _named_firm(name: str, **kwargs):
    return IntermediaryFactory(organisation=OrganisationFactory(kind=Role.INTERMEDIARY, name=name), **kwargs)


def _related_party_award() -> Project:
    """A project of the 生态环境局's approval item, won (against a rival) by a firm 30% held by
    the bureau's own institute: the tie RP01 looks for. Two valid applicants, so no CO01."""
    department = DepartmentFactory(name_zh=DEPARTMENT, name_en="Zaozhuang Ecology and Environment Bureau")
    item = ApprovalItem.objects.create(
        code="eia-approval", name_zh="建设项目环境影响评价审批", department=department
    )
    service_type = ServiceTypeFactory(name_zh="环境影响评价")
    item.service_types.add(service_type)
    institute = AffiliatedEntity.objects.create(
        department=department, kind=AffiliatedEntity.Kind.INSTITUTION, name=INSTITUTE, uscc=make_uscc("12")
    )
    firm, rival = _named_firm(WINNER), _named_firm(RIVAL)
    Shareholder.objects.create(
        intermediary=firm,
        kind=Shareholder.Kind.FIRM,
        name=institute.name,
        uscc=institute.uscc,
        share=Decimal("30"),
    )
    project = published_project(
        title=RP_TITLE,
        service_type=service_type,
        approval_item=item,
        owner=MembershipFactory(
            organisation=OrganisationFactory(kind=Role.OWNER, name="枣庄市薛城区水务局")
        ).user,
    )
    applications = [
        Application.objects.create(
            project=project,
            intermediary=applicant,
            submitted_by=member_of(applicant.organisation),
            submitted_at=timezone.now() - timedelta(days=10),
            sealed_quote="sealed",
            quote_amount=quote,
            state=Application.State.VALID,
        )
        for applicant, quote in ((firm, Decimal("62000.00")), (rival, Decimal("68000.00")))
    ]
    Selection.objects.create(
        project=project,
        round=1,
        method=project.method,
        performed_at=timezone.now() - timedelta(days=3),
        candidates=[a.pk for a in applications],
        winner=applications[0],
    )
    Project.objects.filter(pk=project.pk).update(status="selected")
    project.refresh_from_db()
    return project


def _single_applicant_round() -> Project:
    """A privately funded round one firm applied to (within its published fees), closed by the
    timeline: CO01 and nothing else. The calendar is moved back as a whole (published three
    weeks ago, the application two days ago), so no process rule takes the test's shortcut for
    a late application or a short registration period."""
    service_type = ServiceTypeFactory(name_zh="工程测量")
    project = published_project(
        title=CO_TITLE,
        service_type=service_type,
        funding_source="private",
        owner=MembershipFactory(
            organisation=OrganisationFactory(kind=Role.OWNER, name="枣庄市山亭区交通运输局")
        ).user,
    )
    firm = _named_firm(LONE_FIRM)
    fee = {"rate": Decimal("70000"), "fee_min": Decimal("50000.00"), "fee_max": Decimal("90000.00")}
    OfferFactory(intermediary=firm, service_type=service_type, fee=fee)
    procurement.application_submit(
        actor=member_of(firm.organisation), project=project, quote=Decimal("70000")
    )
    now = timezone.now()
    FeeSchedule.objects.filter(offer__intermediary=firm).update(effective_from=now - timedelta(days=30))
    Application.objects.filter(project=project).update(submitted_at=now - timedelta(days=2))
    Project.objects.filter(pk=project.pk).update(published_at=now - timedelta(days=21))
    pass_deadline(project)
    timeline.tick()
    project.refresh_from_db()
    return project


@pytest.fixture
def market() -> Market:
    market = Market(related=_related_party_award(), single=_single_applicant_round())
    services.monitor_run()
    return market


@pytest.fixture
def regulator():
    organisation = OrganisationFactory(kind=Role.REGULATOR, uscc=None, name="枣庄市发展和改革委员会")
    return MembershipFactory(
        organisation=organisation, user__username="jianguan", user__full_name="王监管"
    ).user


@pytest.fixture
def operator():
    organisation = OrganisationFactory(kind=Role.OPERATOR, uscc=None, name="平台运营中心")
    return MembershipFactory(
        organisation=organisation, user__username="yunying", user__full_name="周运营"
    ).user


def _current_token(secret: str) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key):06d}"


def _log_in_with_new_2fa(page: Page, user) -> None:
    """Password login, then the TOTP set-up every regulator and operator must pass first."""
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/setup/$"))
    secret = page.locator("#totp-secret").inner_text().strip()
    page.get_by_label("动态验证码").fill(_current_token(secret))
    page.get_by_role("button", name="验证并启用").click()
    expect(page).to_have_url(re.compile(r"/accounts/dashboard/$"))
    expect(page.locator(".zj-messages")).to_contain_text("双因素认证已启用")


def _open_flag_from_queue(page: Page, row, code: str, title: str) -> None:
    """From a row of the queue: its chip of the rule, then the flag in the filtered list."""
    row.locator(".zj-rule-chip", has_text=code).click()
    expect(page).to_have_url(re.compile(rf"/regulator/flags/\?.*rule={code}"))
    page.locator("tbody tr").get_by_role("link", name=f"{code} {title}").click()
    expect(page).to_have_url(re.compile(r"/regulator/flags/\d+/$"))
    expect(page.locator("h1")).to_have_text(f"{code} {title}")


def test_regulator_reads_confirms_and_dismisses_flags(
    page: Page, market: Market, regulator, screenshot, browser_errors
):
    related, single = market.related, market.single
    # What the engine found: on the related-party award RP01 (the ownership path, weight 10)
    # and RP05 (the firm never declared that tie, 15); on the lone round CO01 (5). Nothing else.
    active = Flag.objects.filter(status=Flag.Status.OPEN)
    assert sorted(active.values_list("rule", "project_id", "weight")) == [
        ("CO01", single.pk, 5),
        ("RP01", related.pk, 10),
        ("RP05", related.pk, 15),
    ]

    _log_in_with_new_2fa(page, regulator)
    page.get_by_role("link", name="风险队列").first.click()
    expect(page).to_have_url(re.compile(r"/regulator/risk/$"))

    # The queue ranks the related-party project (10 + 15) above the lone round (5).
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(RP_TITLE)
    expect(rows.nth(0)).to_contain_text(related.public_number)
    expect(rows.nth(0)).to_contain_text(DEPARTMENT)
    expect(rows.nth(0).locator(".zj-score")).to_have_text("25")
    expect(rows.nth(0).locator(".zj-band")).to_have_text("高风险")
    expect(rows.nth(0).locator(".zj-rule-chip")).to_have_text([re.compile(r"^RP05 "), re.compile(r"^RP01 ")])
    expect(rows.nth(1)).to_contain_text(CO_TITLE)
    expect(rows.nth(1).locator(".zj-score")).to_have_text("5")
    expect(rows.nth(1).locator(".zj-band")).to_have_text("低风险")
    screenshot(page, "risk-queue")

    # The RP01 flag: the explanation in plain words, and the ownership path drawn.
    _open_flag_from_queue(page, rows.nth(0), "RP01", RP01_TITLE)
    expect(page.locator(".zj-page-lead .badge")).to_have_text("待核查")
    expect(page.locator(".zj-explanation")).to_contain_text(
        f"项目 {related.public_number} 的中选机构 {WINNER} 与审批部门 {DEPARTMENT} 之间存在 "
        "1 条股权关联路径（最短 1 跳）"
    )
    path = page.locator("ol.zj-path")
    expect(path).to_have_count(1)
    expect(path.locator(".zj-path-label")).to_have_text([WINNER, INSTITUTE, DEPARTMENT])
    expect(path.locator(".zj-path-edge-label")).to_have_text(["持股 30%", "所属事业单位"])
    expect(path.locator(".zj-path-node.is-department")).to_contain_text([DEPARTMENT])
    screenshot(page, "rp01-flag")

    page.get_by_label("确认存在问题").check()
    page.get_by_label("核查意见").fill("经核实，市环境科学研究院持有该公司30%股权，未按要求脱钩。")
    page.get_by_role("button", name="提交核查结论").click()
    expect(page.locator(".zj-messages .alert-success")).to_contain_text("已确认该风险提示。")
    expect(page.locator(".zj-page-lead .badge")).to_have_text("已确认")
    decision = page.locator("section[aria-labelledby=flag-decision]")
    expect(decision).to_contain_text("未按要求脱钩")
    expect(decision).to_contain_text("王监管")
    expect(decision.get_by_role("button", name="提交核查结论")).to_have_count(0)
    screenshot(page, "rp01-confirmed")

    # The CO01 flag: an empty reason is refused in Chinese, then the flag is dismissed.
    page.locator(".zj-breadcrumbs").get_by_role("link", name="风险队列").click()
    expect(page).to_have_url(re.compile(r"/regulator/risk/$"))
    _open_flag_from_queue(page, rows.nth(1), "CO01", CO01_TITLE)
    expect(page.locator(".zj-explanation")).to_have_text(
        f"项目 {single.public_number}（竞价选取（最低价））仅有 1 家有效报名。"
    )
    page.get_by_label("排除（不构成问题）").check()
    page.get_by_role("button", name="提交核查结论").click()
    expect(page.locator("#id_reason_error")).to_have_text("请填写核查意见（确认或排除都须说明理由）。")
    expect(page.locator(".zj-page-lead .badge")).to_have_text("待核查")
    expect(page.get_by_label("排除（不构成问题）")).to_be_checked()
    screenshot(page, "co01-empty-reason")
    page.get_by_label("核查意见").fill("该项目为社会投资，业主已公开征集，仅一家报名属正常情况。")
    page.get_by_role("button", name="提交核查结论").click()
    expect(page.locator(".zj-messages .alert-success")).to_contain_text("已排除该风险提示，理由已记录。")
    expect(page.locator(".zj-page-lead .badge")).to_have_text("已排除")

    # Dismissed flags leave the queue; confirmed ones stay.
    page.goto("/regulator/risk/")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text(RP_TITLE)
    expect(rows.nth(0).locator(".zj-score")).to_have_text("25")

    decided = dict(Flag.objects.values_list("rule", "status"))
    assert decided == {
        "RP01": Flag.Status.CONFIRMED,
        "RP05": Flag.Status.OPEN,
        "CO01": Flag.Status.DISMISSED,
    }
    assert set(Flag.objects.exclude(rule="RP05").values_list("decided_by", flat=True)) == {regulator.pk}
    assert browser_errors == []


def test_operator_changes_a_rule_weight_and_the_version_is_kept(
    page: Page, market: Market, operator, screenshot, browser_errors
):
    assert RuleSetting.objects.get(code="RP01").version == 1  # the run stored the defaults
    _log_in_with_new_2fa(page, operator)

    page.goto("/rules/RP01/")
    expect(page.locator("h1")).to_have_text(f"RP01 {RP01_TITLE}")
    history = page.locator("section[aria-labelledby=rule-versions]")
    expect(history).to_contain_text("第 1 版")
    expect(history).not_to_contain_text("第 2 版")
    expect(page.get_by_label("权重")).to_have_value("10")
    page.get_by_label("权重").fill("15")
    page.get_by_label("修改说明").fill("核查确认率高，提高权重")
    page.get_by_role("button", name="保存为新版本").click()

    expect(page).to_have_url(re.compile(r"/rules/RP01/$"))
    expect(page.locator(".zj-messages .alert-success")).to_contain_text("规则参数已保存为第 2 版。")
    newest = history.locator(".border-bottom").first
    expect(newest).to_contain_text("第 2 版")
    expect(newest).to_contain_text("权重 15")
    expect(newest).to_contain_text("核查确认率高，提高权重")
    expect(newest).to_contain_text("周运营")
    expect(history).to_contain_text("第 1 版")
    expect(page.locator("section[aria-labelledby=rule-basis]")).to_contain_text("15")
    screenshot(page, "rule-history")

    setting = RuleSetting.objects.get(code="RP01")
    assert (setting.version, setting.weight, setting.enabled) == (2, 15, True)
    # The next run weighs the open flag with the new version.
    services.monitor_run()
    flag = Flag.objects.get(rule="RP01")
    assert (flag.weight, flag.rule_version) == (15, 2)
    assert browser_errors == []
