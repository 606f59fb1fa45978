"""A regulator runs a case from a flag to a published conclusion: opens the case from the flag's
page, asks the winning firm for an explanation, the firm answers in its workspace with an
attachment, the regulator concludes (an empty conclusion is refused first), the firm is
blacklisted and loses credit, reports its remedy, the regulator closes the case, and the public
sees the conclusion, the blacklist entry and the deduction on the firm's profile."""

from __future__ import annotations

import base64
import re

import pytest
from django_otp.oath import totp

from marketplace.accounts.models import Role
from marketplace.oversight.models import Case, Flag

from ..factories import IntermediaryFactory, MembershipFactory, OrganisationFactory
from ..oversight.cases.helpers import PNG, awarded_project, project_flag
from . import Page, expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PASSWORD = "Pa55word!2026"  # UserFactory's
FIRM = "枣庄市鲁南环评咨询有限公司"


def _token(secret: str) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key):06d}"


def _log_in(page: Page, username: str, *, staff: bool) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    if staff:
        expect(page).to_have_url(re.compile(r"/accounts/2fa/setup/$"))
        secret = page.locator("#totp-secret").inner_text().strip()
        page.get_by_label("动态验证码").fill(_token(secret))
        page.get_by_role("button", name="验证并启用").click()
    expect(page).to_have_url(re.compile(r"/accounts/dashboard/$"))


@pytest.fixture
def flagged():
    firm = IntermediaryFactory(organisation=OrganisationFactory(kind=Role.INTERMEDIARY, name=FIRM))
    MembershipFactory(organisation=firm.organisation, user__username="luanhuanping", user__full_name="陈经理")
    project = awarded_project(firm)
    flag = project_flag(project, rule="FE08")
    regulator = MembershipFactory(
        organisation=OrganisationFactory(kind=Role.REGULATOR, uscc=None, name="枣庄市市场监督管理局监管科"),
        user__username="jianguan",
        user__full_name="王监管",
    ).user
    return {"firm": firm, "project": project, "flag": flag, "regulator": regulator}


def test_a_case_from_a_flag_to_a_published_conclusion_and_the_firms_credit(
    page: Page, browser, live_server, flagged, screenshot, browser_errors
):
    firm, flag = flagged["firm"], flagged["flag"]
    _log_in(page, "jianguan", staff=True)

    # From the flag's page to a new case; the winner is filled in from the award.
    page.goto(f"/regulator/flags/{flag.pk}/")
    page.get_by_role("link", name="立案核查").click()
    expect(page).to_have_url(re.compile(r"/regulator/cases/new/\?flag=\d+$"))
    expect(page.get_by_label("涉及的中介机构（统一社会信用代码）")).to_have_value(firm.uscc)
    page.get_by_label("案由").fill("中选报价明显高于同类项目")
    page.get_by_label("立案说明").fill("FE08 提示中选报价高于同类项目上四分位加1.5倍四分位距。")
    page.get_by_role("button", name="立案").click()
    expect(page).to_have_url(re.compile(r"/regulator/cases/\d+/$"))
    case = Case.objects.get()
    expect(page.locator("h1")).to_have_text(f"{case.number} 中选报价明显高于同类项目")
    expect(page.locator(".zj-messages")).to_contain_text(f"已立案：{case.number}。")

    # Ask the firm for an explanation (3 working days).
    page.get_by_label("要求说明的单位").select_option("intermediary")
    page.get_by_label("需说明的问题").fill("请说明报价构成并提供测算依据。")
    page.get_by_role("button", name="发出说明要求（3个工作日内答复）").click()
    expect(page.locator(".zj-messages")).to_contain_text("已发出说明要求，答复期限")
    expect(page.locator(".zj-request")).to_contain_text("待答复")
    screenshot(page, "case-awaiting-answer")

    # The firm answers in its workspace, with an attachment.
    firm_context = browser.new_context(base_url=live_server.url, locale="zh-CN", reduced_motion="reduce")
    firm_context.set_default_timeout(10_000)
    firm_page = firm_context.new_page()
    _log_in(firm_page, "luanhuanping", staff=False)
    firm_page.get_by_role("link", name="监管事项").click()
    firm_page.get_by_role("link", name=case.number).click()
    firm_page.get_by_label("说明内容").fill("报价含外业测量和专家评审费用，测算依据见附件。")
    firm_page.get_by_label("附件（PDF、PNG 或 JPG，最多5个）").set_input_files(
        files=[{"name": "测算依据.png", "mimeType": "image/png", "buffer": PNG}]
    )
    firm_page.get_by_role("button", name="提交说明").click()
    expect(firm_page.locator(".zj-messages")).to_contain_text("说明已提交。")
    expect(firm_page.locator(".zj-answer")).to_contain_text("外业测量")
    screenshot(firm_page, "firm-answered")

    # The regulator reads the answer; an empty conclusion is refused, in Chinese.
    page.reload()
    expect(page.locator(".zj-answer")).to_contain_text("外业测量")
    expect(page.get_by_role("link", name="测算依据.png")).to_be_visible()
    page.get_by_label("构成违规", exact=True).check()
    page.get_by_role("button", name="作出结论").click()
    expect(page.locator("#id_conclusion-conclusion_error")).to_have_text("请填写处理结论及理由。")
    expect(page.locator("#id_conclusion-legal_basis_error")).to_have_text("请填写法律依据。")
    expect(page.locator("#id_conclusion-violation_type_error")).to_have_text(
        "构成违规的，请选择违规行为类型。"
    )
    screenshot(page, "conclusion-refused")
    page.get_by_label("违规行为类型").select_option(
        label="V04 隐瞒与审批部门的关联关系（红顶中介）（扣20分，列入黑名单180天）"
    )
    page.get_by_label("法律依据").fill("国办发〔2015〕31号第三条")
    page.get_by_label("处理结论及理由").fill("该机构股东系审批部门所属单位，未如实申报关联关系。")
    page.get_by_role("button", name="作出结论").click()
    expect(page.locator(".zj-messages")).to_contain_text("已作出处理结论。")
    expect(page.locator(".zj-case-status")).to_have_text("整改中")
    expect(page.locator(".zj-conclusion")).to_contain_text("扣 20 分")
    firm.refresh_from_db()
    assert (str(firm.credit_score), firm.credit_grade) == ("80.00", "E")
    flag.refresh_from_db()
    assert flag.status == Flag.Status.CONFIRMED

    # The firm reports its remedy; the regulator closes and publishes.
    firm_page.reload()
    firm_page.get_by_label("整改情况").fill("已完成股权清理，补充申报关联关系。")
    firm_page.get_by_role("button", name="报告整改情况").click()
    expect(firm_page.locator(".zj-messages")).to_contain_text("整改情况已报告。")
    firm_context.close()
    page.reload()
    page.get_by_role("button", name="办结并公开").click()
    expect(page.locator(".zj-messages")).to_contain_text("案件已办结，处理结论已公开。")
    expect(page.locator(".zj-case-status")).to_have_text("已办结")

    # The public: the conclusion, the blacklist, the deduction on the firm's profile.
    page.goto("/disclosure/cases/")
    page.get_by_role("link", name=case.number).click()
    expect(page.locator(".zj-conclusion")).to_contain_text("国办发〔2015〕31号第三条")
    expect(page.locator(".zj-conclusion")).to_contain_text("已完成股权清理")
    screenshot(page, "published-conclusion")
    page.goto("/disclosure/blacklist/")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr")).to_contain_text(FIRM)
    page.goto(f"/providers/{firm.pk}/")
    credit = page.locator("section.zj-credit")
    expect(credit.locator(".zj-credit-score")).to_have_text("80")
    expect(credit.locator(".zj-credit-grade")).to_have_text("E")
    expect(credit.locator(".zj-blacklisted")).to_contain_text("已列入黑名单")
    expect(credit.locator(".zj-deductions li")).to_contain_text(["扣 20 分"])
    expect(credit.locator(".zj-deductions")).to_contain_text(case.number)
    screenshot(page, "firm-profile-credit")
    assert browser_errors == []
