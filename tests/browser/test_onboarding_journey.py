"""An intermediary signs up, completes onboarding, publishes a priced service, and the public
finds it in the directory; bad input is refused with a Chinese message."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace.accounts.models import Organisation, User
from marketplace.providers.models import Intermediary, Offer

from ..factories import (
    PDF_BYTES,
    QualificationLevelFactory,
    QualificationTypeFactory,
    ServiceTypeFactory,
    allow_qualification,
    make_uscc,
)
from . import Page, expect, id_number

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # WhiteNoise notes that collectstatic has not run; the live server serves static files itself.
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

FIRM_NAME = "枣庄鲁南规划咨询有限公司"
PASSWORD = "Lunan-Guihua-2026!"
AMOUNT_15000 = re.compile(r"15,?000")


@pytest.fixture
def catalogue():
    """What the seeded catalogue would offer: a service type that accepts a qualification."""
    qualification_type = QualificationTypeFactory(name_zh="工程咨询单位资信")
    level = QualificationLevelFactory(qualification_type=qualification_type, name_zh="甲级")
    service_type = ServiceTypeFactory(name_zh="建设项目规划咨询")
    allow_qualification(service_type, qualification_type)
    return service_type, qualification_type, level


@pytest.fixture
def pdf(tmp_path):
    def write(name: str):
        path = tmp_path / name
        path.write_bytes(PDF_BYTES)
        return path

    return write


def _success(page: Page, text: str) -> None:
    expect(page.locator(".zj-messages .alert-success")).to_contain_text(text)


def _register(page: Page, *, uscc: str) -> None:
    page.goto("/accounts/signup/")
    page.get_by_role("link", name="中介机构注册").click()
    expect(page).to_have_url(re.compile(r"/providers/register/$"))
    page.get_by_label("机构名称").fill(FIRM_NAME)
    page.get_by_label("统一社会信用代码").fill(uscc)
    page.get_by_label("联系人姓名").fill("赵晓明")
    page.get_by_label("手机号").fill("13806321234")
    page.get_by_label("电子邮箱").fill("zhao@lunan-guihua.example.cn")
    page.get_by_label("用户名").fill("lunan")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="注册", exact=True).click()


def test_intermediary_onboards_publishes_and_is_found(page: Page, catalogue, pdf, screenshot, browser_errors):
    service_type, qualification_type, level = catalogue
    today = timezone.localdate()

    # Sign-up lands on the onboarding page, still a draft.
    _register(page, uscc=make_uscc())
    expect(page).to_have_url(re.compile(r"/workspace/onboarding/$"))
    _success(page, "注册成功")
    expect(page.locator("#firm-status")).to_have_text("填报中")

    # 基本信息
    page.locator("#id_profile-legal_representative").fill("王建国")
    page.locator("#id_profile-legal_representative_id_number").fill(id_number())
    page.locator("#id_profile-address").fill("枣庄市薛城区泰山中路88号")
    page.locator("#id_profile-description").fill("从事建设项目规划咨询、可行性研究十余年。")
    page.get_by_role("button", name="保存基本信息").click()
    _success(page, "基本信息已保存")
    expect(page.locator("#id_profile-legal_representative")).to_have_value("王建国")

    # 资质, with its certificate scan
    page.locator("#id_qualification-qualification_type").select_option(label=qualification_type.name_zh)
    page.locator("#id_qualification-level").select_option(
        label=f"{qualification_type.name_zh} · {level.name_zh}"
    )
    page.locator("#id_qualification-number").fill("ZX-2024-0371")
    page.locator("#id_qualification-authority").fill("山东省工程咨询协会")
    page.locator("#id_qualification-valid_from").fill(f"{today - timedelta(days=365):%Y-%m-%d}")
    page.locator("#id_qualification-valid_until").fill(f"{today + timedelta(days=730):%Y-%m-%d}")
    page.locator("#id_qualification-certificate").set_input_files(pdf("资信证书.pdf"))
    page.get_by_role("button", name="登记资质").click()
    _success(page, "资质已登记")
    expect(page.locator("#qualification table")).to_contain_text("ZX-2024-0371")

    # 从业人员: insured here for more than three months, certificate and proof uploaded
    page.locator("#id_practitioner-name").fill("孙立新")
    page.locator("#id_practitioner-id_number").fill(id_number())
    page.locator("#id_practitioner-title").fill("注册咨询工程师")
    page.locator("#id_practitioner-certificate_number").fill("ZXGCS-0632-118")
    page.locator("#id_practitioner-certificate").set_input_files(pdf("执业证书.pdf"))
    page.locator("#id_practitioner-insured_since").fill(f"{today - timedelta(days=200):%Y-%m-%d}")
    page.locator("#id_practitioner-social_insurance_proof").set_input_files(pdf("社保证明.pdf"))
    page.get_by_role("button", name="登记从业人员").click()
    _success(page, "从业人员已登记")
    expect(page.locator("#practitioner")).to_contain_text("孙立新")

    # 股东: one natural person holding 100 %
    page.locator("#id_shareholder-kind").select_option(label="自然人")
    page.locator("#id_shareholder-name").fill("王建国")
    page.locator("#id_shareholder-id_number").fill(id_number())
    page.locator("#id_shareholder-share").fill("100")
    page.get_by_role("button", name="登记股东").click()
    _success(page, "股东已登记")
    expect(page.locator("#shareholder")).to_contain_text("100%")

    # 诚信承诺书, signed by the legal representative: listed at once, under review
    page.locator("#id_commitment-accept").check()
    page.locator("#id_commitment-signer_name").fill("王建国")
    page.get_by_role("button", name="签署承诺并提交入驻").click()
    _success(page, "承诺书已签署")
    expect(page.locator("#firm-status")).to_have_text("已入驻（审核中）")
    screenshot(page, "onboarding")

    # 服务与收费 -> 发布服务
    page.goto("/accounts/dashboard/")
    page.get_by_role("link", name="服务与收费").click()
    expect(page).to_have_url(re.compile(r"/workspace/offers/$"))
    expect(page.locator("table")).to_contain_text("尚未发布服务")
    page.get_by_role("link", name="发布服务").click()
    expect(page).to_have_url(re.compile(r"/workspace/offers/new/$"))
    page.get_by_label("服务事项").select_option(label=service_type.name_zh)
    page.get_by_label("服务说明").fill("为建设项目提供规划方案咨询与论证。")
    page.get_by_label("服务包含内容").fill("现场踏勘、方案比选、咨询报告编制、专家评审配合")
    page.get_by_label("服务时限（工作日）").fill("15")
    page.get_by_label("计费方式").select_option(label="固定收费")
    page.get_by_label("费率/单价").fill("15000")
    page.get_by_label("最低收费（元）").fill("15000")
    page.get_by_label("最高收费（元）").fill("18000")
    page.get_by_label("所用资质").select_option(label=f"{qualification_type.name_zh} ZX-2024-0371")
    page.get_by_role("button", name="发布", exact=True).click()
    expect(page).to_have_url(re.compile(r"/workspace/offers/$"))
    _success(page, "服务已发布")
    row = page.locator("tbody tr", has_text=service_type.name_zh)
    expect(row).to_contain_text("固定收费")
    # Amounts: "15,000" is meant (intcomma) but zh-hans renders "15000" (see test_public_pages).
    expect(row).to_contain_text(AMOUNT_15000)
    expect(row).to_contain_text(re.compile(r"18,?000"))

    # Log out through the header's user menu (a POST form).
    page.locator(".zj-user-menu .dropdown-toggle").click()
    page.get_by_role("button", name="退出登录").click()
    expect(page.locator(".zj-topbar").get_by_role("link", name="登录")).to_be_visible()

    # An anonymous visitor searches the directory by part of the name and opens the profile.
    page.goto("/providers/")
    page.get_by_label("名称或统一社会信用代码").fill("鲁南规划")
    page.locator(".filter-panel").get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"[?&]q="))
    cards = page.locator("article.firm-card")
    expect(cards).to_have_count(1)
    expect(cards).to_contain_text("已入驻（审核中）")
    expect(cards).to_contain_text(service_type.name_zh)
    screenshot(page, "directory")
    cards.get_by_role("link", name=FIRM_NAME).click()

    firm = Intermediary.objects.get(name=FIRM_NAME)
    expect(page).to_have_url(re.compile(rf"/providers/{firm.pk}/$"))
    expect(page.locator("h1")).to_have_text(FIRM_NAME)
    offer = page.locator(f"#offer-{Offer.objects.get(intermediary=firm).pk}")
    expect(offer).to_contain_text(service_type.name_zh)
    expect(offer).to_contain_text("15 个工作日")
    expect(offer).to_contain_text("固定收费")
    expect(offer).to_contain_text(re.compile(r"¥" + AMOUNT_15000.pattern))
    expect(page.locator("main")).to_contain_text("ZX-2024-0371")
    expect(page.locator("main")).to_contain_text("孙立新")
    screenshot(page, "profile")

    assert firm.status == Intermediary.Status.LISTED_UNDER_REVIEW
    assert firm.commitment_signed_by == "王建国"
    assert browser_errors == []


def test_invalid_uscc_is_refused_in_chinese_and_nothing_is_created(page: Page, browser_errors):
    _register(page, uscc="91370400MA3C4D5E6X")

    expect(page).to_have_url(re.compile(r"/providers/register/$"))
    error = page.locator("#id_uscc_error")
    expect(error).to_contain_text("统一社会信用代码")
    expect(error).to_contain_text("无效")
    expect(page.get_by_label("统一社会信用代码")).to_have_attribute("aria-invalid", "true")
    # What was typed is kept, except the password.
    expect(page.get_by_label("机构名称")).to_have_value(FIRM_NAME)
    expect(page.get_by_label("密码")).to_have_value("")

    assert not User.objects.exists()
    assert not Organisation.objects.exists()
    assert not Intermediary.objects.exists()
    assert browser_errors == []
