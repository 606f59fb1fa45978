"""A regulator reads the dashboards: from the risk queue's navigation to the page, sees the
charts drawn (ECharts, no inline script, no console error), narrows to one department and
downloads a table as CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest

from marketplace.accounts.models import Role
from marketplace.procurement.models import Project
from tests.oversight.opendata.helpers import FullMarket

from ..factories import DepartmentFactory, MembershipFactory, OrganisationFactory
from . import Page, expect
from .test_regulator_journey import _log_in_with_new_2fa

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def test_a_regulator_reads_the_dashboards_and_downloads_a_table(page: Page, browser_errors, screenshot):
    market = FullMarket()
    land = DepartmentFactory(code="zz-land", name_zh="峄城区试点审批局")
    other = DepartmentFactory(code="zz-other", name_zh="台儿庄区试点审批局")
    a, b = market.firms(2)
    rounds = [market.round([(a, "80000"), (b, "90000")], winner=w) for w in (a, a, b)]
    Project.objects.filter(pk__in=[p.pk for p in rounds]).update(department=land)
    lone = market.round([(b, "50000")], winner=b)
    Project.objects.filter(pk=lone.pk).update(department=other)
    regulator = MembershipFactory(
        organisation=OrganisationFactory(kind=Role.REGULATOR, uscc=None, name="枣庄市市场监督管理局"),
        user__username="jianguan2",
    ).user

    _log_in_with_new_2fa(page, regulator)
    page.goto("/regulator/risk/")
    page.get_by_role("link", name="监管看板").click()
    expect(page).to_have_url(re.compile(r"/regulator/dashboards/$"))
    expect(page.locator('[data-chart="concentration"] canvas')).to_have_count(1)
    expect(page.locator("#section-concentration")).to_have_text("中选集中度（按部门和服务事项）")
    screenshot(page, "dashboards")

    page.get_by_label("审批部门").select_option(label="峄城区试点审批局")
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"department=zz-land"))
    table = page.locator("section", has=page.locator("#section-concentration")).locator("tbody")
    expect(table).to_contain_text("峄城区试点审批局")
    expect(table).not_to_contain_text("台儿庄区试点审批局")
    expect(table).to_contain_text("5556")  # shares 2/3 and 1/3

    section = page.locator("section", has=page.locator("#section-concentration"))
    with page.expect_download() as download:
        section.get_by_role("link", name="导出 CSV").click()
    content = download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert [(r["审批部门"], r["HHI 指数"]) for r in rows] == [("峄城区试点审批局", "5556")]
    # A download ends the navigation that started it: chromium reports it as aborted.
    assert [e for e in browser_errors if not ("concentration.csv" in e and "ERR_ABORTED" in e)] == []
