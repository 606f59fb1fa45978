"""A regulator runs a random inspection (双随机、一公开): a sample larger than the population is
refused, the plan is published with its commitment, the draw assigns two untied inspectors to
each target (the inspector who is a practitioner of a firm never inspects it), findings are
recorded and published, and the public page shows the seed matching its commitment."""

from __future__ import annotations

import re

import pytest

from marketplace.accounts.models import Role
from marketplace.core.validators import id_hash
from marketplace.oversight.models import InspectionPlan

from ..factories import IntermediaryFactory, MembershipFactory, OrganisationFactory, PractitionerFactory
from ..oversight.cases.helpers import inspector, valid_id
from . import Page, expect
from .test_case_journey import _log_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


@pytest.fixture
def market():
    regulator = MembershipFactory(
        organisation=OrganisationFactory(kind=Role.REGULATOR, uscc=None, name="枣庄市市场监督管理局监管科"),
        user__username="jianguan",
    ).user
    firms = [IntermediaryFactory() for _ in range(3)]
    organisation = regulator.memberships.get().organisation
    person = valid_id()
    tied = inspector(organisation, person_id=person)
    PractitionerFactory(intermediary=firms[0], id_hash=id_hash(person))
    pool = [tied, inspector(organisation), inspector(organisation)]
    return {"firms": firms, "pool": pool, "tied": tied}


def test_a_random_inspection_from_plan_to_published_results(page: Page, market, screenshot, browser_errors):
    _log_in(page, "jianguan", staff=True)
    page.goto("/regulator/inspections/")
    page.get_by_role("link", name="新建抽查计划").click()
    page.get_by_label("计划名称").fill("2026年第一批中介机构双随机抽查")
    page.get_by_label("检查内容").fill("收费公示执行情况、从业人员社保缴纳。")
    page.get_by_label("抽取数量").fill("4")
    for member in market["pool"]:
        page.get_by_label(str(member)).check()
    page.get_by_role("button", name="公布计划").click()
    expect(page.locator("#id_sample_size_error")).to_have_text("抽取数量（4）大于抽查对象总数（3）。")
    assert not InspectionPlan.objects.exists()
    page.get_by_label("抽取数量").fill("3")
    page.get_by_role("button", name="公布计划").click()
    expect(page).to_have_url(re.compile(r"/regulator/inspections/\d+/$"))
    plan = InspectionPlan.objects.get()
    expect(page.locator(".zj-commitment")).to_have_text(plan.secret_commitment)
    expect(page.locator(".zj-secret")).to_have_count(0)

    page.get_by_role("button", name="随机抽取").click()
    expect(page.locator(".zj-messages")).to_contain_text("已完成随机抽取")
    expect(page.locator(".zj-secret")).to_have_text(plan.secret)
    rows = page.locator("table.zj-targets tbody tr")
    expect(rows).to_have_count(3)
    tied_row = rows.filter(has_text=market["firms"][0].name)
    expect(tied_row.locator("td").nth(2)).not_to_contain_text(market["tied"].code)
    expect(tied_row.locator("td").nth(3)).to_have_text(market["tied"].code)
    screenshot(page, "drawn")

    for index in range(3):
        row = page.locator("table.zj-targets tbody tr").nth(index)
        row.get_by_label("检查结论").select_option(label="发现问题" if index == 0 else "未发现问题")
        row.get_by_label("检查情况").fill("两名从业人员无社保缴纳记录。" if index == 0 else "未发现问题。")
        row.get_by_role("button", name="登记检查结果").click()
        expect(page.locator(".zj-messages")).to_contain_text("已登记检查结果")
    page.get_by_role("button", name="公开检查结果").click()
    expect(page.locator(".zj-plan-status")).to_have_text("结果已公开")
    expect(page.get_by_role("link", name="立案")).to_have_count(1)

    page.goto("/disclosure/inspections/")
    page.get_by_role("link", name=plan.number).click()
    expect(page.locator(".zj-commitment-ok")).to_be_visible()
    expect(page.locator("table.zj-targets")).to_contain_text("两名从业人员无社保缴纳记录。")
    screenshot(page, "public-results")
    assert browser_errors == []
