"""Billing in the browser: the owner splits a signed contract into two milestones, records a
bank transfer for the first with its receipt, the firm confirms it, and the public fee
disclosure shows the payment."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from tests.billing.conftest import signed_contract
from tests.factories import PDF_BYTES

from .procurement_helpers import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_owner_pays_by_transfer_firm_confirms_public_sees_it(
    page, browser, live_server, personas, screenshot, settings
):
    settings.STRIPE_SECRET_KEY = ""
    settings.MONITOR_ON_CHANGE = False
    contract = signed_contract(personas, amount=Decimal("100000"))
    url = f"/workspace/projects/{contract.project_id}/payments/"
    login(page, personas.owner, url)
    page.goto(url)
    page.locator("#id_schedule-label_1").fill("签订合同后预付")
    page.locator("#id_schedule-percent_1").fill("30")
    page.locator("#id_schedule-label_2").fill("验收合格后")
    page.locator("#id_schedule-percent_2").fill("70")
    page.locator("#id_schedule-after_acceptance_2").check()
    page.get_by_role("button", name="保存付款节点").click()
    assert "付款节点已保存" in page.content()
    page.get_by_role("link", name="登记银行转账").first.click()
    page.locator("#ref-1").fill("ZZBANK0001")
    page.locator("#date-1").fill(timezone.localdate().isoformat())
    page.locator("#receipt-1").set_input_files(
        files=[{"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}]
    )
    page.locator("#transfer-1").get_by_role("button", name="提交").click()
    assert "转账已登记" in page.content()
    screenshot(page, "owner")

    firm = browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 1366, "height": 900}
    )
    firm_page = firm.new_page()
    login(firm_page, personas.intermediary, url)
    firm_page.goto(url)
    firm_page.get_by_role("button", name="确认收款").click()
    assert "已确认收款" in firm_page.content()
    assert firm_page.locator("#paid").inner_text().strip() == "30,000.00"
    screenshot(firm_page, "firm")
    firm.close()

    page.goto(f"/projects/{contract.project_id}/fees/")
    assert page.locator("#disclosed-paid").inner_text().strip() == "¥30,000.00"
    screenshot(page, "disclosure")
