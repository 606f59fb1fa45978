"""What an anonymous visitor reads: amounts on the public pages."""

from __future__ import annotations

import pytest

from ..factories import OfferFactory
from . import Page, expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def test_fee_amounts_are_grouped_by_thousands(page: Page):
    offer = OfferFactory(intermediary__name="枣庄市恒信测绘有限公司")  # fee 15,000 - 30,000

    page.goto(f"/providers/{offer.intermediary.pk}/")
    fee = page.locator(f"#offer-{offer.pk}")
    expect(fee).to_contain_text("现行收费")
    assert "¥15,000" in fee.inner_text()

    page.goto("/providers/")
    expect(page.locator("article.firm-card")).to_have_count(1)
    assert "¥15,000" in page.locator("article.firm-card").inner_text()
