"""Issue 3 in the browser: for each of the six selection methods an owner posts a project, the
operator approves it, three firms apply with their quotes, the project is selected, contracted,
delivered, accepted and rated, and anyone can verify the draw; a fiscal random draw with two
applicants fails (流标) and is relaunched by its owner.

Each person has a browser context of their own (the owner uses the ``page`` fixture), so
nobody logs out. The scheduler's work (closing registration, drawing at the selection time,
ending the publicity) is done in the test with ``timeline.tick()`` after moving the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from marketplace.procurement import services
from marketplace.procurement.forms_workspace import FIRM_CRITERIA, OWNER_CRITERIA
from marketplace.procurement.models import Application, Method, Project, Status
from marketplace.procurement.services import timeline

from ..factories import ServiceTypeFactory
from ..procurement.factories import firm_user, operator_user, pass_deadline, published_project
from . import Page, expect
from .conftest import BROWSER_ERRORS, REPORTS, VIEWPORT
from .conftest import _safe_name as safe_name
from .conftest import _screenshot_dir as screenshot_dir
from .procurement_helpers import (
    badge,
    local_input,
    login,
    named_owner,
    pass_2fa_setup,
    pdf_writer,
    registration_times,
    success,
    watch,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

OWNER_NAME = "枣庄市薛城区住房和城乡建设局"
FIRM_NAMES = ("枣庄鲁南环境咨询有限公司", "山东泰和工程咨询有限公司", "枣庄市恒信测绘有限公司")


@pytest.fixture
def people(browser, live_server, page: Page, request: pytest.FixtureRequest, screenshot):
    """``people("label")``: a page in a new browser context, set up like ``page`` (its errors
    go to ``browser_errors``; on failure it is saved as <test>--failure-<label>.png)."""
    errors = request.node.stash.setdefault(BROWSER_ERRORS, [])
    opened: dict[str, Page] = {}
    for stale in screenshot_dir(request.config).glob(f"{safe_name(request.node.name)}--failure-*.png"):
        stale.unlink()

    def open_page(label: str) -> Page:
        context = browser.new_context(
            base_url=live_server.url, locale="zh-CN", viewport=VIEWPORT, reduced_motion="reduce"
        )
        context.set_default_timeout(10_000)
        new = context.new_page()
        watch(new, errors)
        opened[label] = new
        return new

    yield open_page
    failed = any(r.failed for r in request.node.stash.get(REPORTS, {}).values())
    for label, other in opened.items():
        if failed:
            try:
                print(f"screenshot of {label}: {screenshot(other, f'failure-{label}')}")
            except Exception as exc:  # noqa: BLE001 - a crashed page must not hide the failure
                print(f"could not save a screenshot of {label}: {exc}")
        other.context.close()


# --- the six methods --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    method: str
    floor: int
    ceiling: int
    quotes: tuple[int, int, int]
    winners: tuple[int, ...]  # which firms may win (by index); several when a draw decides
    random_step: bool  # a draw whose result the verification page recomputes
    verify_shows: str  # what the verification page shows of the method's steps
    reason: str = ""
    price_weight: int | None = None
    credit: tuple[int, int, int] | None = None
    scores: tuple[int, int, int] | None = None
    pick: int | None = None  # the firm the owner picks (direct selection, credit preference)


DIRECT_CEILING = settings.DIRECT_SELECTION_THRESHOLDS["fiscal"] - 1000

CASES = {
    Method.DIRECT: Case(
        Method.DIRECT,
        floor=20000,
        ceiling=DIRECT_CEILING,
        quotes=(30000, 32000, 38000),
        winners=(1,),
        random_step=False,
        verify_shows="直接选取，没有随机步骤",
        reason="金额小、工期紧，业主直接选定具备经验的机构。",
        pick=1,
    ),
    Method.RANDOM_DRAW: Case(
        Method.RANDOM_DRAW,
        floor=60000,
        ceiling=60000,
        quotes=(60000, 60000, 60000),
        winners=(0, 1, 2),
        random_step=True,
        verify_shows="3 家有效报名机构",
    ),
    # Two equal lowest quotes: a tie broken by a draw.
    Method.LOWEST_PRICE: Case(
        Method.LOWEST_PRICE,
        floor=50000,
        ceiling=100000,
        quotes=(70000, 70000, 90000),
        winners=(0, 1),
        random_step=True,
        verify_shows="2 家并列",
    ),
    # The middle quote is kept; the reference (95%-98% of it, drawn) is nearest to it.
    Method.REFERENCE_PRICE: Case(
        Method.REFERENCE_PRICE,
        floor=50000,
        ceiling=100000,
        quotes=(60000, 75000, 90000),
        winners=(1,),
        random_step=True,
        verify_shows="下浮系数（随机抽取）",
    ),
    # Three on the long list, all three drawn onto the short list (in a random order).
    Method.CREDIT_PREFERENCE: Case(
        Method.CREDIT_PREFERENCE,
        floor=50000,
        ceiling=100000,
        quotes=(80000, 85000, 90000),
        winners=(2,),
        random_step=True,
        verify_shows="短名单（抽取顺序）",
        credit=(80, 85, 95),
        pick=2,
    ),
    # Price weight 30%: totals 72.00, 89.00 and 69.00, so the second firm wins.
    Method.SCORED_COMPARISON: Case(
        Method.SCORED_COMPARISON,
        floor=50000,
        ceiling=100000,
        quotes=(60000, 80000, 90000),
        winners=(1,),
        random_step=False,
        verify_shows="价格分权重",
        price_weight=30,
        scores=(60, 95, 70),
    ),
}


def _post_project(page: Page, case: Case, title: str, service_type) -> Project:
    """The owner fills the create form and saves it straight into the operator's queue."""
    deadline, selection_time = registration_times()
    expect(page).to_have_url(re.compile(r"/workspace/projects/new/$"))
    page.locator("#id_title").fill(title)
    page.locator("#id_service_type").select_option(str(service_type.pk))
    page.locator("#id_funding_source").select_option("fiscal")
    page.locator("#id_scale").fill("800")
    page.locator("#id_price_floor").fill(str(case.floor))
    page.locator("#id_price_ceiling").fill(str(case.ceiling))
    page.locator("#id_service_days").fill("20")
    page.locator("#id_service_content").fill("编制环境影响报告表，配合技术评估并按评估意见修改。")
    page.locator("#id_method").select_option(case.method)
    if case.price_weight is not None:
        page.locator("#id_price_weight").fill(str(case.price_weight))
    if case.reason:
        page.locator("#id_method_reason").fill(case.reason)
    page.locator("#id_registration_deadline").fill(local_input(deadline))
    page.locator("#id_selection_time").fill(local_input(selection_time))
    page.get_by_role("button", name="保存并提交审核").click()

    project = Project.objects.get(title=title)
    expect(page).to_have_url(re.compile(rf"/workspace/projects/{project.pk}/$"))
    success(page, "项目已保存并提交平台审核")
    expect(badge(page)).to_have_text("待审核")
    expect(page.locator(".zj-page-lead")).to_contain_text(str(Method(case.method).label))
    return project


def _approve(operator_page: Page, operator, title: str) -> None:
    login(operator_page, operator)
    pass_2fa_setup(operator_page)
    operator_page.goto("/operator/projects/")
    operator_page.locator("tbody tr", has_text=title).get_by_role("link", name=title).click()
    expect(operator_page).to_have_url(re.compile(r"/operator/projects/\d+/check/$"))
    operator_page.get_by_label("审核通过，发布采购公告").check()
    operator_page.get_by_role("button", name="提交审核决定").click()
    expect(operator_page).to_have_url(re.compile(r"/operator/projects/$"))
    success(operator_page, "项目已发布")


def _apply(firm_page: Page, user, case: Case, project: Project, quote: int, *, browse: bool) -> None:
    """A firm applies with a sealed quote: found among its opportunities (``browse``), or
    opened from the link it was sent."""
    apply_url = f"/workspace/projects/{project.pk}/apply/"
    if browse:
        login(firm_page, user, next_url="/workspace/opportunities/")
        row = firm_page.locator("tbody tr", has_text=project.title)
        expect(row.locator(".badge")).to_have_text("符合")
        row.get_by_role("link", name="报名").click()
    else:
        login(firm_page, user, next_url=apply_url)
    expect(firm_page).to_have_url(re.compile(rf"{apply_url}$"))
    field = firm_page.get_by_label("报价（元）")
    if case.method == Method.RANDOM_DRAW:
        # A fixed price: the form offers it.
        expect(field).to_have_value(re.compile(rf"^{case.floor}(\.00)?$"))
    else:
        field.fill(str(quote))
    if case.method == Method.SCORED_COMPARISON:
        firm_page.get_by_label("服务方案").fill("组建五人项目组，现场踏勘后二十个工作日内提交报告。")
    firm_page.get_by_role("button", name="提交报名").click()
    expect(firm_page).to_have_url(re.compile(r"/workspace/applications/$"))
    success(firm_page, "报名成功")


def _rate(page: Page, criteria) -> None:
    for key in criteria:
        page.locator(f"#id_rate-{key}").select_option("5")
    page.locator("#id_rate-comment").fill("合作顺利。")
    page.get_by_role("button", name="提交评价").click()
    success(page, "评价已提交")


@pytest.mark.parametrize("method", list(CASES))
def test_project_runs_from_posting_to_rating(
    method, page: Page, people, tmp_path, screenshot, browser_errors
):
    case = CASES[method]
    pdf = pdf_writer(tmp_path)
    service_type = ServiceTypeFactory(name_zh="建设项目环境影响评价")
    owner, operator = named_owner(OWNER_NAME), operator_user()
    credit = case.credit or (None, None, None)
    firms = [
        firm_user(service_type, organisation__name=name, credit_score=score)
        for name, score in zip(FIRM_NAMES, credit, strict=True)
    ]
    title = f"薛城区临山路改造工程环境影响评价（{Method(method).label}）"

    # The owner posts the project and submits it for checking; the operator publishes it.
    login(page, owner, next_url="/workspace/projects/new/")
    project = _post_project(page, case, title, service_type)
    manage_url = f"/workspace/projects/{project.pk}/"
    _approve(people("operator"), operator, title)
    page.goto(manage_url)
    expect(badge(page)).to_have_text("报名中")

    # Three firms apply, each in its own browser.
    firm_pages = []
    for (_firm, user), quote, label in zip(firms, case.quotes, "ABC", strict=True):
        firm_page = people(f"firm-{label}")
        _apply(firm_page, user, case, project, quote, browse=label == "A")
        firm_pages.append(firm_page)
    assert project.applications.filter(state=Application.State.SUBMITTED).count() == 3

    # The clock: registration closes at the deadline, automatic methods select at once.
    pass_deadline(project)
    timeline.tick()
    page.goto(manage_url)
    actions = page.locator("#actions")
    if case.pick is not None:
        expect(badge(page)).to_have_text("选取中" if method == Method.CREDIT_PREFERENCE else "报名截止")
        chosen = FIRM_NAMES[case.pick]
        actions.get_by_label(chosen).check()
        page.locator("#id_pick-reason").fill(f"{chosen}业绩和信用最好，方案切实可行。")
        page.get_by_role("button", name="确认选定").click()
        success(page, "已选定中介机构")
    elif case.scores is not None:
        expect(badge(page)).to_have_text("报名截止")
        for name, score in zip(FIRM_NAMES, case.scores, strict=True):
            page.get_by_label(f"{name} 评审人").fill("王评审")
            page.get_by_label(f"{name} 方案得分").fill(str(score))
        page.get_by_role("button", name="保存评分").click()
        success(page, "方案评分已录入")
        # No button starts the comparison: it runs at the selection time (the scheduler).
        timeline.tick()
        page.goto(manage_url)
    expect(badge(page)).to_have_text("结果公示")

    project.refresh_from_db()
    winner_app = project.selections.get(annulled=False).winner
    winner_index = [firm.pk for firm, _user in firms].index(winner_app.intermediary_id)
    assert winner_index in case.winners, (case.quotes, winner_app.quote_amount)
    winner_name = FIRM_NAMES[winner_index]
    winner_page = firm_pages[winner_index]

    # Anyone sees the result.
    public = people("visitor")
    public.goto(f"/projects/{project.pk}/result/")
    summary = public.locator("section[aria-labelledby=summary-title]")
    expect(summary).to_contain_text(winner_name)
    expect(summary).to_contain_text(re.compile(str(case.quotes[winner_index])[:2] + r",?\d{3}"))
    if method in (Method.CREDIT_PREFERENCE, Method.SCORED_COMPARISON):
        screenshot(public, "result")

    # The publicity ends without objection: the parties sign the contract.
    Project.objects.filter(pk=project.pk).update(publicity_ends_on=timezone.localdate() - timedelta(days=1))
    timeline.tick()
    page.goto(manage_url)
    expect(badge(page)).to_have_text("签订合同")
    page.locator("#id_contract-document").set_input_files(pdf("合同.pdf"))
    page.get_by_role("button", name="上传合同").click()
    success(page, "合同已上传")

    winner_page.goto(manage_url)
    expect(winner_page.locator(".zj-page-lead")).to_contain_text("本机构为中选机构")
    winner_page.get_by_role("button", name="确认合同").click()
    success(winner_page, "合同已确认")
    expect(badge(winner_page)).to_have_text("服务中")

    # Delivery and acceptance.
    winner_page.locator("#id_deliver-document").set_input_files(pdf("环境影响报告表.pdf"))
    winner_page.locator("#id_deliver-note").fill("报告表终稿。")
    winner_page.get_by_role("button", name="提交服务成果").click()
    success(winner_page, "服务成果已提交")
    expect(badge(winner_page)).to_have_text("已交付")

    page.goto(manage_url)
    page.locator("#actions").get_by_label("验收通过").check()
    page.get_by_role("button", name="提交验收结论").click()
    success(page, "验收结论已记录")
    expect(badge(page)).to_have_text("已验收")

    # Both rate; the scheduler then closes the project.
    _rate(page, OWNER_CRITERIA)
    winner_page.goto(manage_url)
    _rate(winner_page, FIRM_CRITERIA)
    expect(badge(winner_page)).to_have_text("已评价")
    timeline.tick()
    page.goto(manage_url)
    expect(badge(page)).to_have_text("已完结")
    project.refresh_from_db()
    assert project.status == Status.CLOSED
    assert project.contract.amount == winner_app.quote_amount

    # A regulator (anyone, logged in or not) verifies the draw.
    public.goto(f"/projects/{project.pk}/verify/")
    expect(public.locator("h1")).to_have_text("选取过程验证")
    # The verdict for the project and for its one round (every method records a round: the
    # direct selection's check is that the pick came from the valid applicants).
    expect(public.locator("main .alert-success")).to_contain_text("验证通过 VERIFIED")
    expect(public.locator("main .alert-danger")).to_have_count(0)
    rounds = public.locator("section[aria-labelledby^=round-]")
    expect(rounds).to_have_count(1)
    expect(rounds.locator(".zj-panel-more")).to_have_text("验证通过 VERIFIED")
    expect(rounds).to_contain_text("与发布时的承诺一致")
    expect(rounds).to_contain_text(case.verify_shows)
    if case.random_step:
        expect(rounds).not_to_contain_text("没有随机步骤")
    record = public.request.get(f"/projects/{project.pk}/draw.json")
    assert record.ok
    assert record.json()["winner"] == winner_app.intermediary.uscc
    if method in (Method.RANDOM_DRAW, Method.REFERENCE_PRICE):
        screenshot(public, "verify")
    assert browser_errors == []


# --- a failed round -------------------------------------------------------------------------


def test_fiscal_random_draw_with_two_applicants_fails_and_is_relaunched(
    page: Page, people, screenshot, browser_errors
):
    service_type = ServiceTypeFactory(name_zh="建设项目环境影响评价")
    owner = named_owner("枣庄市峄城区水务局")
    title = "峄城区坛山路排水工程环境影响评价"
    project = published_project(
        owner=owner,
        service_type=service_type,
        title=title,
        method=Method.RANDOM_DRAW,
        price_floor=Decimal("60000"),
        price_ceiling=Decimal("60000"),
    )
    for name in FIRM_NAMES[:2]:
        _firm, user = firm_user(service_type, organisation__name=name)
        services.application_submit(actor=user, project=project, quote=Decimal("60000"), client_ip="10.0.0.1")

    pass_deadline(project)
    timeline.tick()
    project.refresh_from_db()
    assert project.status == Status.FAILED

    # The owner sees the failure in the list and on the project page.
    login(page, owner, next_url="/workspace/projects/")
    row = page.locator("tbody tr", has_text=title)
    expect(row).to_contain_text("流标")
    expect(row).to_contain_text("重新发布或变更选取方式")
    row.get_by_role("link", name=title).click()
    expect(page).to_have_url(re.compile(rf"/workspace/projects/{project.pk}/$"))
    expect(badge(page)).to_have_text("流标")
    expect(page.locator("#actions .alert-danger")).to_contain_text("有效报名 2 家，少于 3 家")

    # Anyone sees the failed round: nothing was drawn.
    public = people("visitor")
    public.goto(f"/projects/{project.pk}/")
    expect(public.locator(".zj-page-lead")).to_contain_text("流标")
    public.goto(f"/projects/{project.pk}/verify/")
    expect(public.locator("main")).to_contain_text("尚未进行选取")

    # Relaunch with new times and the same method; the new draft goes to the operator.
    deadline, selection_time = registration_times()
    page.locator("#id_relaunch-registration_deadline").fill(local_input(deadline))
    page.locator("#id_relaunch-selection_time").fill(local_input(selection_time))
    page.get_by_role("button", name="重新发布").click()
    success(page, "已按原公告生成新的项目草稿")
    new = Project.objects.get(relaunch_of=project)
    expect(page).to_have_url(re.compile(rf"/workspace/projects/{new.pk}/$"))
    expect(badge(page)).to_have_text("草稿")
    expect(page.locator(".zj-page-lead")).to_contain_text("随机抽取")
    screenshot(page, "relaunched-draft")
    page.get_by_role("button", name="提交平台审核").click()
    success(page, "已提交平台审核")
    expect(badge(page)).to_have_text("待审核")

    project.refresh_from_db()
    new.refresh_from_db()
    assert project.status == Status.RELAUNCHED
    assert (new.title, new.method, new.price_floor, new.price_ceiling) == (
        title,
        Method.RANDOM_DRAW,
        Decimal("60000.00"),
        Decimal("60000.00"),
    )
    assert new.registration_deadline == deadline
    assert new.status == Status.UNDER_CHECK
    assert browser_errors == []
