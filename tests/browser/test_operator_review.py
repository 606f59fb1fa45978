"""An operator logs in for the first time, sets up two-factor authentication, and approves a firm
that is listed under review."""

from __future__ import annotations

import base64
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from django_otp.oath import totp

from marketplace.accounts.models import Role
from marketplace.core.validators import id_hash
from marketplace.core.workdays import add_working_days
from marketplace.providers.models import Intermediary, Shareholder

from ..factories import (
    IntermediaryFactory,
    MembershipFactory,
    OrganisationFactory,
    PractitionerFactory,
    QualificationFactory,
)
from . import Page, expect, id_number

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

OPERATOR_PASSWORD = "Pa55word!2026"  # UserFactory's


@pytest.fixture
def operator():
    organisation = OrganisationFactory(kind=Role.OPERATOR, uscc=None, name="平台运营中心")
    return MembershipFactory(
        organisation=organisation, user__username="yunying", user__full_name="周运营"
    ).user


@pytest.fixture
def firm_under_review():
    """A firm that has signed its commitment with everything the checklist asks for."""
    now = timezone.now()
    firm = IntermediaryFactory(
        name="枣庄市峄城区恒信测绘有限公司",
        status=Intermediary.Status.LISTED_UNDER_REVIEW,
        listed_at=now,
        commitment_signed_at=now,
        commitment_signed_by="张三",
        review_due=add_working_days(timezone.localdate(), 2),
    )
    QualificationFactory(intermediary=firm, qualification_type__name_zh="测绘资质")
    PractitionerFactory(intermediary=firm, name="刘测绘", id_hash=id_hash(id_number()))
    Shareholder.objects.create(
        intermediary=firm,
        kind=Shareholder.Kind.PERSON,
        name="张三",
        id_hash=id_hash(id_number()),
        share=Decimal("100"),
    )
    return firm


def _current_token(secret: str) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key):06d}"


def test_operator_sets_up_2fa_and_approves_a_firm(
    page: Page, operator, firm_under_review, screenshot, browser_errors
):
    firm = firm_under_review

    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(operator.username)
    page.get_by_label("密码").fill(OPERATOR_PASSWORD)
    page.get_by_role("button", name="登录").click()

    # Operators must set up TOTP first: the secret is shown next to the QR code.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/setup/$"))
    expect(page.locator("main")).to_contain_text("必须启用双因素认证")
    secret = page.locator("#totp-secret").inner_text().strip()
    page.get_by_label("动态验证码").fill(_current_token(secret))
    page.get_by_role("button", name="验证并启用").click()
    expect(page).to_have_url(re.compile(r"/accounts/dashboard/$"))
    expect(page.locator(".zj-messages")).to_contain_text("双因素认证已启用")

    # The review queue lists the firm; the detail page shows what it filed.
    page.get_by_role("link", name="入驻审核").click()
    expect(page).to_have_url(re.compile(r"/operator/reviews/$"))
    row = page.locator("tbody tr", has_text=firm.name)
    expect(row).to_contain_text("已入驻（审核中）")
    expect(row).to_contain_text(firm.uscc)
    screenshot(page, "review-queue")
    row.get_by_role("link", name=firm.name).click()

    expect(page).to_have_url(re.compile(rf"/operator/reviews/{firm.pk}/$"))
    expect(page.locator("h1")).to_have_text(firm.name)
    expect(page.locator("main")).to_contain_text("刘测绘")
    expect(page.locator("main")).not_to_contain_text("材料不全")
    page.get_by_label("审核决定").select_option(label="通过")
    page.get_by_label("审核意见").fill("材料齐全，形式审查通过。")
    page.get_by_role("button", name="提交").click()

    expect(page).to_have_url(re.compile(r"/operator/reviews/$"))
    expect(page.locator(".zj-messages")).to_contain_text("审核决定已记录")
    expect(page.locator("tbody")).to_contain_text("没有待审核的机构")

    firm.refresh_from_db()
    assert firm.status == Intermediary.Status.LISTED
    assert firm.reviewed_at is not None

    # The public profile now says 已入驻.
    page.goto(f"/providers/{firm.pk}/")
    expect(page.locator("dl")).to_contain_text("已入驻")
    expect(page.locator("dl")).not_to_contain_text("审核中")
    assert browser_errors == []
