"""An anonymous visitor, in Chinese and without logging in, searches the market from the header
with an everyday word, reads a firm's profile (offers and current fees, qualifications, credit),
the fee disclosure of its service type with the government band, the selection results, one
project's result, its verification and its payments, then the public case conclusions, the
blacklist and the random inspections, and reads the blacklist again in English.

Everything the pages show is built through the services (a project posted, checked, applied
for, selected, contracted and paid; a complaint turned into a case that blacklists a firm; an
inspection plan drawn and published; credit recomputed as the periodic tick does), so the
public pages show what they would really show."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from billing import services as billing
from marketplace.accounts.models import Role
from marketplace.catalog.models import PricingRegime, ServiceType
from marketplace.oversight.cases import credit, inspections
from marketplace.oversight.cases import services as cases
from marketplace.oversight.cases.models import InspectionTarget
from marketplace.oversight.intake import complaint_file
from marketplace.procurement import services as procurement
from marketplace.procurement.models import Contract, Project, Status
from marketplace.procurement.services import timeline
from marketplace.providers.models import Intermediary
from search.backends.database import DatabaseBackend

from ..factories import (
    PDF_BYTES,
    IntermediaryFactory,
    OfferFactory,
    OrganisationFactory,
    PriceBandFactory,
    member_of,
)
from ..oversight.cases.helpers import regulator_user, valid_id, violation
from ..procurement.factories import operator_user, pass_deadline, published_project
from ..search.conftest import market, reindex  # noqa: F401 (fixture)
from . import Page, expect
from .procurement_helpers import named_owner

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

OWNER = "枣庄市薛城区住房和城乡建设局"
TITLE = "薛城区新城污水处理厂扩建工程环境影响评价"
THIRD = "枣庄华清环境评价有限公司"  # a third EIA firm, so the reference price drops two quotes
WINNING_QUOTE = Decimal("58000")


def _pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


@dataclass
class Market:
    green: Intermediary  # wins the project: credit A
    lunan: Intermediary  # blacklisted by a case: credit E
    third: Intermediary
    eia: ServiceType
    project: Project
    contract: Contract
    case_number: str
    plan_number: str


@pytest.fixture
def disclosed(market) -> Market:  # noqa: F811 (fixture)
    """The search market, its EIA service under a government band, a reference-price project
    won by 枣庄绿源 and 30% paid, 山东鲁南 blacklisted by a closed case, a concluded inspection."""
    eia, green, lunan = market["eia"], market["green"], market["lunan"]
    ServiceType.objects.filter(pk=eia.pk).update(
        pricing_regime=PricingRegime.GOVERNMENT_GUIDED, pricing_basis="枣庄市发展改革委收费标准（测试数据）"
    )
    eia.refresh_from_db()
    PriceBandFactory(
        service_type=eia,
        scale_from=Decimal("0"),
        scale_to=Decimal("1000"),
        fee_min=Decimal("30000"),
        fee_max=Decimal("80000"),
        basis="示例收费文件第一档",
    )
    PriceBandFactory(
        service_type=eia,
        scale_from=Decimal("1000"),
        scale_to=None,
        fee_min=Decimal("60000"),
        fee_max=Decimal("150000"),
        basis="示例收费文件第二档",
    )
    third = IntermediaryFactory(organisation=OrganisationFactory(kind=Role.INTERMEDIARY, name=THIRD))
    OfferFactory(
        intermediary=third, service_type=eia, fee={"fee_min": Decimal("40000"), "fee_max": Decimal("90000")}
    )
    users = {firm.pk: member_of(firm.organisation) for firm in (green, lunan, third)}

    # The project: posted, checked, three sealed quotes, the reference price picks the middle one.
    owner = named_owner(OWNER)
    project = published_project(
        owner=owner,
        operator=operator_user(),
        service_type=eia,
        title=TITLE,
        method="reference_price",
        scale=Decimal("800"),
        price_floor=Decimal("50000"),
        price_ceiling=Decimal("100000"),
    )
    for firm, quote in ((third, "52000"), (green, str(WINNING_QUOTE)), (lunan, "85000")):
        procurement.application_submit(actor=users[firm.pk], project=project, quote=Decimal(quote))
    pass_deadline(project)
    timeline.tick()  # registration closes, the draw runs at the selection time
    project.refresh_from_db()
    assert project.status == Status.SELECTED, project.status
    # The publicity ends without objections: the clock moves as in tests/procurement (only its
    # last day moves, so the result page reads "published today - ended yesterday").
    Project.objects.filter(pk=project.pk).update(publicity_ends_on=timezone.localdate() - timedelta(days=1))
    timeline.tick()
    project.refresh_from_db()
    procurement.contract_upload(
        actor=owner, project=project, document=_pdf("合同.pdf"), pay_after_acceptance=False
    )
    contract = procurement.contract_confirm(actor=users[green.pk], project=project)
    billing.schedule_set(
        actor=owner,
        contract=contract,
        rows=[
            billing.MilestoneInput("签订合同后预付", Decimal("30"), False),
            billing.MilestoneInput("验收合格后", Decimal("70"), True),
        ],
    )
    payment = billing.transfer_record(
        actor=owner,
        contract=contract,
        position=1,
        amount=Decimal("17400.00"),
        reference="ZZBANK0001",
        transfer_date=timezone.localdate(),
        receipt=_pdf("回单.pdf"),
    )
    billing.transfer_confirm(actor=users[green.pk], payment=payment)

    # A complaint about 山东鲁南 becomes a case: a V04 violation blacklists it; remedied, closed.
    regulator = regulator_user()
    complaint = complaint_file(
        actor=None,
        intermediary=lunan,
        text="该机构股东系审批部门所属事业单位，未申报关联关系。",
        contact="0632-1234567",
    )
    case = cases.case_open(
        actor=regulator,
        title="隐瞒与审批部门的关联关系",
        summary="经查工商登记，该机构股东为审批部门所属单位。",
        complaint=complaint,
    )
    cases.case_conclude(
        actor=regulator,
        case=case,
        violation=True,
        violation_type=violation("V04"),
        legal_basis="国办发〔2015〕31号第三条",
        conclusion="该机构未如实申报与审批部门的关联关系，构成违规。",
    )
    cases.case_remedy_report(actor=users[lunan.pk], case=case, report="已完成股权清理，补充申报关联关系。")
    case = cases.case_close(actor=regulator, case=case)

    # A random inspection of the EIA firms: drawn, nothing found, results published.
    roster = [
        inspections.inspector_add(actor=regulator, code=f"ZF{n:04d}", name=name, id_number=valid_id())
        for n, name in enumerate(("王建国", "李秀英", "张伟"), start=1)
    ]
    plan = inspections.plan_create(
        actor=regulator,
        title="环评机构收费公示情况抽查",
        scope_text="核对收费公示与合同金额是否一致。",
        population_kind="firms",
        sample_size=1,
        inspectors=roster,
        inspectors_per_target=2,
        service_type=eia,
    )
    plan = inspections.plan_draw(actor=regulator, plan=plan)
    for target in plan.targets.all():
        inspections.finding_record(
            actor=regulator,
            target=target,
            result=InspectionTarget.Result.NO_PROBLEM,
            finding="收费公示与合同金额一致。",
        )
    plan = inspections.plan_results_publish(actor=regulator, plan=plan)

    credit.credit_recompute()  # what the periodic tick does for every firm
    reindex(DatabaseBackend())
    return Market(green, lunan, third, eia, project, contract, case.number, plan.number)


def test_a_visitor_searches_the_market_and_reads_the_public_disclosures(
    page: Page, disclosed: Market, screenshot, browser_errors
):
    m = disclosed
    green, lunan = m.green, m.lunan

    # 1. From the home page, the header's search box with an everyday word.
    page.goto("/")
    page.locator("#header-search-q").fill("环评")
    page.locator("#header-search-q").press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=%E7%8E%AF%E8%AF%84$"))
    expect(page.locator("#search-q")).to_have_value("环评")
    # Three EIA firms, their three offers and the project (its title says 环境影响评价).
    expect(page.locator("#search-total")).to_have_text("找到 7 条结果")
    kinds = page.locator("fieldset.search-facet", has_text="类别")
    for label in ("中介机构 (3)", "服务项目 (3)", "采购公告 (1)"):
        expect(kinds.get_by_label(label, exact=True)).not_to_be_checked()
    services = page.locator("fieldset.search-facet", has_text="服务类型")
    expect(services.get_by_label("建设项目环境影响报告书（表）编制 (7)", exact=True)).to_be_visible()
    firm_hit = page.locator("article.search-hit", has=page.get_by_role("link", name=green.name, exact=True))
    expect(firm_hit).to_contain_text(green.uscc)
    screenshot(page, "search-results")

    # 2. The firm's profile: its offer and current fee, its qualification, its credit.
    firm_hit.get_by_role("link", name=green.name, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/providers/{green.pk}/$"))
    expect(page.locator("h1")).to_have_text(green.name)
    offer = page.locator(f"#offer-{m.eia.offers.get(intermediary=green).pk}")
    expect(offer).to_contain_text("建设项目环境影响报告书（表）编制")
    expect(offer).to_contain_text(
        re.compile(r"现行收费：\s*固定收费\s¥20,000.00，收费区间\s¥20,000.00 – ¥60,000.00")
    )
    expect(page.locator("table", has_text="资质类型").locator("tbody tr")).to_contain_text(
        ["环境影响评价工程师登记"]
    )
    credit_panel = page.locator("section.zj-credit")
    expect(credit_panel.locator(".zj-credit-score")).to_have_text("98")  # rating 4.60: 2 points off
    expect(credit_panel.locator(".zj-credit-grade")).to_have_text("A")
    expect(credit_panel).to_contain_text("无扣分记录。")
    expect(credit_panel.locator(".zj-blacklisted")).to_have_count(0)
    screenshot(page, "firm-profile")

    # 3. The fee disclosure of its service: the government bands and every firm's fees.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="收费公示").click()
    page.locator(f"a[href='/fees/{m.eia.code}/']").click()  # the catalogue seeds a namesake
    expect(page).to_have_url(re.compile(r"/fees/eia-report/$"))
    expect(page.locator("h1 + p")).to_contain_text("政府指导价")
    bands = page.locator("table", has_text="项目规模（万元）").locator("tbody tr")
    expect(bands).to_have_text(
        [
            re.compile(r"0 – 1,000\s+30,000.00 – 80,000.00\s+示例收费文件第一档"),
            re.compile(r"1,000 – 以上\s+60,000.00 – 150,000.00\s+示例收费文件第二档"),
        ]
    )
    fees = page.locator("table", has_text="最低（元）").locator("tbody tr")
    expect(fees).to_have_count(3)
    expect(fees.nth(0)).to_contain_text(green.name)  # lowest minimum first
    expect(fees.nth(0)).to_contain_text("20,000.00")
    expect(fees.nth(2)).to_contain_text(lunan.name)
    expect(fees.nth(2)).to_contain_text("120,000.00")

    # 4. The results list, the project's result, its verification and its payments.
    page.goto("/results/")
    row = page.locator("tbody tr", has_text=TITLE)
    expect(row).to_contain_text(green.name)
    expect(row).to_contain_text("¥58,000.00")
    expect(row).to_contain_text("最优价")
    row.get_by_role("link", name=TITLE).click()
    expect(page).to_have_url(re.compile(rf"/projects/{m.project.pk}/result/$"))
    summary = page.locator("section.zj-panel", has_text="中选结果").first
    expect(summary.locator("dd", has_text=green.uscc)).to_contain_text(green.name)
    expect(summary).to_contain_text("¥58,000.00")
    expect(summary).to_contain_text(OWNER)
    round_panel = page.locator("section.zj-panel", has_text="第 1 轮选取")
    kept = round_panel.locator("dt", has_text="保留的报价").locator("xpath=following-sibling::dd[1]")
    expect(kept).to_contain_text("¥58,000.00")  # the highest and the lowest quotes dropped
    expect(round_panel).to_contain_text("下浮系数（随机抽取）")
    expect(round_panel.locator("tr.table-success")).to_contain_text(green.name)
    screenshot(page, "project-result")

    page.get_by_role("link", name="验证选取过程").click()
    expect(page).to_have_url(re.compile(rf"/projects/{m.project.pk}/verify/$"))
    expect(page.locator(".alert-success")).to_contain_text("验证通过 VERIFIED")
    expect(page.locator("code").first).to_have_text(m.project.secret_commitment)

    page.goto(f"/projects/{m.project.pk}/fees/")
    expect(page.locator("#disclosed-amount")).to_have_text("¥58,000.00")
    expect(page.locator("#disclosed-paid")).to_have_text("¥17,400.00")
    expect(page.locator("#disclosed-band")).to_contain_text("30,000.00 – 80,000.00 元")
    expect(page.locator("#disclosed-band")).to_contain_text("合同金额在区间内")
    expect(page.locator("#ledger tbody tr")).to_have_count(1)

    # 5. The public disclosures: the case, the blacklist, the inspections.
    page.goto("/disclosure/cases/")
    case_row = page.locator("tbody tr", has_text=m.case_number)
    expect(case_row).to_contain_text("隐瞒与审批部门的关联关系")
    expect(case_row).to_contain_text(lunan.name)
    expect(case_row.locator(".text-danger")).to_have_text("隐瞒与审批部门的关联关系（红顶中介）")

    case_row.get_by_role("link", name=m.case_number).click()
    conclusion = page.locator(".zj-conclusion")
    expect(conclusion).to_contain_text("国办发〔2015〕31号第三条")
    expect(conclusion).to_contain_text("扣 20 分")
    expect(conclusion).to_contain_text("已完成股权清理")

    page.goto("/disclosure/inspections/")
    plan_row = page.locator("tbody tr", has_text=m.plan_number)
    expect(plan_row).to_contain_text("环评机构收费公示情况抽查")
    expect(plan_row.locator("td")).to_have_text(
        [
            m.plan_number,
            "环评机构收费公示情况抽查",
            "中介机构",
            "3",
            "1",
            "0",
            re.compile(r"\d{4}-\d\d-\d\d"),
            "结果已公开",
        ]
    )

    page.goto("/disclosure/blacklist/")
    entries = page.locator("tbody tr")
    expect(entries).to_have_count(1)
    expect(entries).to_contain_text(lunan.name)
    expect(entries).to_contain_text(lunan.uscc)
    expect(entries).to_contain_text("隐瞒与审批部门的关联关系（红顶中介）")
    expect(entries).to_contain_text(m.case_number)

    # 6. The same page in English, from the language switcher in the top bar.
    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(re.compile(r"/disclosure/blacklist/$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Blacklist")
    expect(page.get_by_role("link", name="Current list")).to_be_visible()
    expect(entries).to_contain_text("Concealing ties with the approving department")
    expect(entries).to_contain_text(lunan.name)  # names stay as registered
    screenshot(page, "blacklist-english")

    assert browser_errors == []
