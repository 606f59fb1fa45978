"""Public procurement pages (announcements, results, verification), the operator's check and the
regulator's lists: every page for every persona, the authorisation matrix, sealed applicants
and quotes, verifiable draws, query counts and filters."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from marketplace.procurement import services
from marketplace.procurement.models import Application, Method, Objection, Project, Rating, Selection, Status
from marketplace.procurement.services import timeline
from tests.factories import PDF_BYTES, DepartmentFactory, ServiceTypeFactory

from .factories import (
    firm_user,
    operator_user,
    owner_user,
    pass_deadline,
    project_input,
    published_project,
)

PERSONAS = ["anonymous", "intermediary", "other_intermediary", "owner", "department", "regulator", "operator"]
LOGIN = "login"  # expected outcome: 302 to the login page


def _expect(persona: str, allowed: str):
    if persona == "anonymous":
        return LOGIN
    return 200 if persona == allowed else 403


def _assert_outcome(response, expected) -> None:
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login") + "?next=")
    else:
        assert response.status_code == expected


def load_script() -> dict:
    """The stand-alone recompute script published in docs/draws.md."""
    doc = Path(settings.BASE_DIR) / "docs" / "draws.md"
    source = re.search(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.DOTALL).group(1)
    namespace: dict = {"__name__": "draws_md"}
    exec(compile(source, str(doc), "exec"), namespace)  # noqa: S102 - our own published script
    return namespace


def pdf():
    return SimpleUploadedFile("c.pdf", PDF_BYTES, content_type="application/pdf")


# --- building projects through the services ----------------------------------------------------

QUOTES = {
    Method.LOWEST_PRICE: ["73456", "73456", "91234"],  # a tie, broken by the draw
    Method.REFERENCE_PRICE: ["70000", "80000", "90000", "85000"],
    Method.RANDOM_DRAW: ["80000", "80000", "80000"],
    Method.SCORED_COMPARISON: ["70000", "80000", "90000"],
    Method.CREDIT_PREFERENCE: ["70000", "80000", "90000"],
    Method.DIRECT: ["30000", "35000"],
}
OVERRIDES = {
    Method.RANDOM_DRAW: {"price_floor": Decimal("80000"), "price_ceiling": Decimal("80000")},
    Method.SCORED_COMPARISON: {"price_weight": 40},
    Method.DIRECT: {
        "price_floor": Decimal("10000"),
        "price_ceiling": Decimal("40000"),
        "method_reason": "抢险工程，须立即开展",
    },
}


def selected_project(method: str = Method.LOWEST_PRICE, **overrides):
    """A project of ``method`` with its result published (status 结果公示)."""
    project = published_project(method=method, **{**OVERRIDES.get(method, {}), **overrides})
    owner = project.created_by
    firms = [firm_user(project.service_type) for _ in QUOTES[method]]
    for (_firm, user), quote in zip(firms, QUOTES[method], strict=True):
        services.application_submit(actor=user, project=project, quote=Decimal(quote))
    pass_deadline(project, selection_too=method != Method.SCORED_COMPARISON)
    timeline.tick()
    project.refresh_from_db()
    if method == Method.SCORED_COMPARISON:
        scores = []
        for i, application in enumerate(project.applications.order_by("intermediary__uscc")):
            scores += [
                (application, "评审人甲", str(70 + 10 * i)),
                (application, "评审人乙", str(75 + 5 * i)),
            ]
        services.scores_record(actor=owner, project=project, scores=scores)
        pass_deadline(project)
        timeline.tick()
    if method in (Method.CREDIT_PREFERENCE, Method.DIRECT):
        if method == Method.CREDIT_PREFERENCE:
            key = project.selections.get().details["shortlist"][0]
        else:
            key = min(firm.uscc for firm, _ in firms)
        application = project.applications.get(intermediary__uscc=key)
        services.selection_pick(actor=owner, project=project, application=application, reason="方案最合理")
    project.refresh_from_db()
    assert project.status == Status.SELECTED
    return project, firms


def winner_of(project: Project) -> Application:
    return project.selections.filter(annulled=False).latest("round").winner


def rated_project():
    """A lowest-price project run to the end: contract (amended), delivery, both ratings."""
    project, firms = selected_project(Method.LOWEST_PRICE)
    owner = project.created_by
    winner = winner_of(project)
    winner_user = next(user for firm, user in firms if firm == winner.intermediary)
    Project.objects.filter(pk=project.pk).update(publicity_ends_on=timezone.localdate() - timedelta(days=1))
    timeline.tick()
    services.contract_upload(actor=owner, project=project, document=pdf())
    services.contract_confirm(actor=winner_user, project=project)
    services.contract_amend(actor=owner, project=project, new_amount="75000", reason="增加补充调查内容")
    services.delivery_submit(actor=winner_user, project=project, document=pdf(), note="报告书")
    services.delivery_decide(actor=owner, project=project, accept=True)
    services.rating_submit(
        actor=owner,
        project=project,
        scores={"quality": 2, "timeliness": 2, "attitude": 3, "fee_compliance": 4, "conduct": 4},
        comment="报告质量一般",
    )
    services.rating_submit(
        actor=winner_user, project=project, scores={"payment_timeliness": 5, "non_interference": 5}
    )
    project.refresh_from_db()
    return project, owner, winner_user


# --- public pages: every persona ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_public_pages_render_for_every_persona(client, login, personas, persona):
    project, _ = selected_project(Method.LOWEST_PRICE)
    open_project = published_project(title="报名中的项目")
    login(client, personas.all()[persona])
    urls = [
        reverse("procurement:announcements"),
        reverse("procurement:results"),
        reverse("procurement:project", args=[project.pk]),
        reverse("procurement:project", args=[open_project.pk]),
        reverse("procurement:result", args=[project.pk]),
        reverse("procurement:verify", args=[project.pk]),
        reverse("procurement:verify", args=[open_project.pk]),
        reverse("procurement:draw-json", args=[project.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url
    html = client.get(reverse("procurement:announcements")).content.decode().replace(",", "")
    assert project.public_number in html and open_project.public_number in html


@pytest.mark.django_db
def test_unknown_project_is_404(client):
    for name in ("project", "result", "verify", "draw-json"):
        assert client.get(reverse(f"procurement:{name}", args=[999999])).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_a_draft_is_visible_only_to_its_owner_and_staff(client, login, personas, persona):
    project = services.project_create(actor=personas.owner, data=project_input(title="草稿项目"))
    login(client, personas.all()[persona])
    response = client.get(reverse("procurement:project", args=[project.pk]))
    assert response.status_code == (200 if persona in ("owner", "regulator", "operator") else 404)
    assert "草稿项目" not in client.get(reverse("procurement:announcements")).content.decode().replace(
        ",", ""
    )


@pytest.mark.django_db
def test_result_and_draw_json_are_404_before_any_selection(client):
    project = published_project()
    assert client.get(reverse("procurement:result", args=[project.pk])).status_code == 404
    assert client.get(reverse("procurement:draw-json", args=[project.pk])).status_code == 404
    response = client.get(reverse("procurement:verify", args=[project.pk]))
    assert response.status_code == 200
    assert project.secret_commitment in response.content.decode().replace(",", "")


@pytest.mark.django_db
def test_announcement_shows_every_public_field(client):
    from marketplace.catalog.models import ApprovalItem
    from tests.factories import (
        IntermediaryFactory,
        QualificationLevelFactory,
        QualificationTypeFactory,
        allow_qualification,
    )

    service_type = ServiceTypeFactory(standard_practitioners=5)
    qtype = QualificationTypeFactory(name_zh="环境影响评价资质")
    level = QualificationLevelFactory(qualification_type=qtype, name_zh="乙级", rank=2)
    allow_qualification(service_type, qtype, standard_level=level)
    department = DepartmentFactory(name_zh="枣庄市生态环境局")
    item = ApprovalItem.objects.create(code="eia-approval", name_zh="建设项目环评审批", department=department)
    item.service_types.add(service_type)
    excluded = IntermediaryFactory(name="回避测试事务所")
    project = published_project(
        service_type=service_type,
        method=Method.SCORED_COMPARISON,
        price_weight=30,
        investment_project_code="2026-370400-48-01-000123",
        approval_case_number="ZZSP2026-0456",
        approval_item=item,
        required_practitioners=3,
        qualification_rule="all",
        requirements=[(qtype, level)],
        exclusions=[(excluded, "该机构为项目可研编制单位")],
        price_floor=Decimal("45000"),
        price_ceiling=Decimal("98000"),
    )
    html = client.get(reverse("procurement:project", args=[project.pk])).content.decode().replace(",", "")
    for text in (
        service_type.name_zh,
        "2026-370400-48-01-000123",
        "ZZSP2026-0456",
        "建设项目环评审批",
        "枣庄市生态环境局",
        "财政资金",
        "5000",
        "45000.00",
        "98000.00",
        "编制环境影响报告书",
        "30 个工作日",
        "环境影响评价资质",
        "乙级",
        "须全部具备",
        "不少于 3 人",
        "回避测试事务所",
        "该机构为项目可研编制单位",
        "比选（方案择优）",
        "30%",
        "随机种子承诺（SHA-256）",
        project.secret_commitment,
        timezone.localtime(project.registration_deadline).strftime("%Y-%m-%d %H:%M"),
        timezone.localtime(project.selection_time).strftime("%Y-%m-%d %H:%M"),
    ):
        assert text in html, text


@pytest.mark.django_db
def test_random_draw_shows_the_fixed_price(client):
    project = published_project(
        method=Method.RANDOM_DRAW, price_floor=Decimal("66000"), price_ceiling=Decimal("66000")
    )
    html = client.get(reverse("procurement:project", args=[project.pk])).content.decode().replace(",", "")
    assert "固定价格" in html and "66000.00" in html


# --- sealed quotes ------------------------------------------------------------------------------

SEALED_QUOTES = ["73456", "81234", "92345"]


@pytest.mark.django_db
def test_applicants_and_quotes_stay_sealed_until_registration_closes(client, login, personas):
    project = published_project(title="密封报价测试项目")
    firms = [
        firm_user(project.service_type, name=f"密封报名{letter}事务所有限公司")
        for letter in ("甲", "乙", "丙")
    ]
    for (_firm, user), quote in zip(firms, SEALED_QUOTES, strict=True):
        services.application_submit(actor=user, project=project, quote=Decimal(quote))
    hidden = [*SEALED_QUOTES, *("73,456", "81,234", "92,345")]
    hidden += [firm.name for firm, _ in firms] + [firm.uscc for firm, _ in firms]
    pages = {
        "project": (reverse("procurement:project", args=[project.pk]), lambda p: 200),
        "result": (reverse("procurement:result", args=[project.pk]), lambda p: 404),
        "draw-json": (reverse("procurement:draw-json", args=[project.pk]), lambda p: 404),
        "verify": (reverse("procurement:verify", args=[project.pk]), lambda p: 200),
        "announcements": (reverse("procurement:announcements"), lambda p: 200),
        "results": (reverse("procurement:results"), lambda p: 200),
        "regulator-projects": (
            reverse("procurement:regulator-projects"),
            lambda p: _expect(p, "regulator"),
        ),
        "check": (reverse("procurement:check", args=[project.pk]), lambda p: _expect(p, "operator")),
    }
    for persona, user in personas.all().items():
        login(client, user)
        for name, (url, expected) in pages.items():
            response = client.get(url)
            _assert_outcome(response, expected(persona))
            html = response.content.decode().replace(",", "")
            for secret in hidden:
                assert secret not in html, (persona, name, secret)
    login(client, None)
    html = client.get(pages["project"][0]).content.decode().replace(",", "")
    assert "3 家机构报名" not in html  # not even the number of applicants before close
    assert "报名机构的数量、名称和报价加密密封" in html

    pass_deadline(project)
    timeline.tick()
    html = client.get(pages["project"][0]).content.decode().replace(",", "")
    for quote in SEALED_QUOTES:
        assert f"{quote}.00" in html
    for firm, _ in firms:
        assert firm.name in html


@pytest.mark.django_db
def test_a_disqualified_applicant_shows_its_reason_after_close(client):
    from marketplace.providers.models import Intermediary

    project = published_project()
    firms = [firm_user(project.service_type) for _ in range(4)]
    for (_firm, user), quote in zip(firms, ["70000", "80000", "90000", "60000"], strict=True):
        services.application_submit(actor=user, project=project, quote=Decimal(quote))
    Intermediary.objects.filter(pk=firms[3][0].pk).update(blacklisted_until=timezone.localdate())
    pass_deadline(project)
    timeline.tick()
    html = client.get(reverse("procurement:project", args=[project.pk])).content.decode().replace(",", "")
    assert "无效" in html and "黑名单" in html and "60000.00" in html


# --- results and verification -------------------------------------------------------------------

METHODS = [
    Method.LOWEST_PRICE,
    Method.REFERENCE_PRICE,
    Method.RANDOM_DRAW,
    Method.SCORED_COMPARISON,
    Method.CREDIT_PREFERENCE,
    Method.DIRECT,
]
RESULT_MARKERS = {
    Method.LOWEST_PRICE: ["最低有效报价", "并列"],
    Method.REFERENCE_PRICE: ["保留的报价", "平均值", "下浮系数", "参考价", "与参考价差额"],
    Method.RANDOM_DRAW: ["候选机构"],
    Method.SCORED_COMPARISON: ["价格分", "方案得分", "综合得分", "评审人甲", "评审人乙"],
    Method.CREDIT_PREFERENCE: ["长名单", "短名单", "方案最合理"],
    Method.DIRECT: ["业主选定理由", "方案最合理"],
}


@pytest.mark.django_db
@pytest.mark.parametrize("method", METHODS)
def test_draw_json_recomputes_to_the_recorded_winner_and_verify_says_verified(client, method):
    project, _ = selected_project(method)
    response = client.get(reverse("procurement:draw-json", args=[project.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    record = response.json()
    assert record["rounds"][-1] == {k: v for k, v in record.items() if k != "rounds"}
    assert record["winner"] == winner_of(project).intermediary.uscc
    result = load_script()["recompute"](record)
    if method == Method.CREDIT_PREFERENCE:
        assert result == record["details"]["short_list"] and record["winner"] in result
    elif method == Method.DIRECT:
        assert result is None  # no random step: the owner picked
    else:
        assert result == record["winner"]
    html = client.get(reverse("procurement:verify", args=[project.pk])).content.decode().replace(",", "")
    # "DOES NOT MATCH" also occurs in the script shown on the page: look for the verdict.
    assert "验证通过 VERIFIED</strong>" in html and "验证不一致" not in html
    assert record["secret"] in html and project.secret_commitment in html


@pytest.mark.django_db
def test_verify_page_says_does_not_match_when_the_record_was_altered(client):
    project, firms = selected_project(Method.RANDOM_DRAW)
    selection = project.selections.get()
    other = project.applications.exclude(pk=selection.winner_id).first()
    Selection.objects.filter(pk=selection.pk).update(winner=other)
    html = client.get(reverse("procurement:verify", args=[project.pk])).content.decode().replace(",", "")
    assert "验证不一致 DOES NOT MATCH</strong>" in html


@pytest.mark.django_db
@pytest.mark.parametrize("method", METHODS)
def test_result_page_shows_the_winner_and_the_selection_details(client, method):
    project, _ = selected_project(method)
    winner = winner_of(project)
    response = client.get(reverse("procurement:result", args=[project.pk]))
    assert response.status_code == 200
    html = response.content.decode().replace(",", "")
    assert winner.intermediary.name in html
    assert f"{winner.quote_amount}" in html
    assert project.get_method_display() in html
    assert project.publicity_ends_on.isoformat() in html
    assert "异议" in html
    for marker in RESULT_MARKERS[method]:
        assert marker in html, marker
    listing = client.get(reverse("procurement:results")).content.decode().replace(",", "")
    assert project.public_number in listing and winner.intermediary.name in listing


@pytest.mark.django_db
def test_the_full_record_is_public_contract_amendment_objection_and_ratings(client, personas):
    project, owner, _winner_user = rated_project()
    html = client.get(reverse("procurement:project", args=[project.pk])).content.decode().replace(",", "")
    for text in ("75000.00", "增加补充调查内容", "业主评价中介", "中介评价业主", "报告质量一般", "服务质量"):
        assert text in html, text
    html = client.get(reverse("procurement:result", args=[project.pk])).content.decode().replace(",", "")
    assert "75000.00" in html and "增加补充调查内容" in html


@pytest.mark.django_db
def test_objections_and_answers_are_public(client):
    project, firms = selected_project(Method.LOWEST_PRICE)
    winner = winner_of(project)
    loser_user = next(user for firm, user in firms if firm != winner.intermediary)
    objection = services.objection_file(actor=loser_user, project=project, text="中选机构资质证书已过期")
    services.objection_answer(
        actor=project.created_by, objection=objection, upheld=False, answer="经核实证书在有效期内"
    )
    html = client.get(reverse("procurement:project", args=[project.pk])).content.decode().replace(",", "")
    assert "中选机构资质证书已过期" in html and "经核实证书在有效期内" in html and "不成立" in html


@pytest.mark.django_db
def test_an_annulled_round_is_shown_as_such(client):
    # Privately funded: one valid applicant is enough, so the selection reruns among the rest.
    project, firms = selected_project(Method.LOWEST_PRICE, funding_source="private")
    winner = winner_of(project)
    loser_user = next(user for firm, user in firms if firm != winner.intermediary)
    objection = services.objection_file(actor=loser_user, project=project, text="报价明显低于成本")
    services.objection_answer(actor=project.created_by, objection=objection, upheld=True, answer="异议成立")
    project.refresh_from_db()
    html = client.get(reverse("procurement:result", args=[project.pk])).content.decode().replace(",", "")
    assert "已撤销" in html
    html = client.get(reverse("procurement:verify", args=[project.pk])).content.decode().replace(",", "")
    assert "第 1 轮选取" in html and "第 2 轮选取" in html and "验证不一致" not in html
    record = client.get(reverse("procurement:draw-json", args=[project.pk])).json()
    assert [r["round"] for r in record["rounds"]] == [1, 2] and record["round"] == 2
    assert record["rounds"][0]["annulled"] is True


# --- operator: check ----------------------------------------------------------------------------


def _under_check(owner=None):
    owner = owner or owner_user()
    project = services.project_create(actor=owner, data=project_input(title="待审核测试项目"))
    services.project_submit(actor=owner, project=project)
    project.refresh_from_db()
    return project


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_operator_pages_matrix(client, login, personas, persona):
    project = _under_check()
    login(client, personas.all()[persona])
    expected = _expect(persona, "operator")
    _assert_outcome(client.get(reverse("procurement:check-queue")), expected)
    _assert_outcome(client.get(reverse("procurement:check", args=[project.pk])), expected)
    response = client.post(
        reverse("procurement:check", args=[project.pk]), {"decision": "approve", "note": ""}
    )
    if persona == "operator":
        assert response.status_code == 302
        project.refresh_from_db()
        assert project.status == Status.PUBLISHED
    else:
        _assert_outcome(response, expected)
        project.refresh_from_db()
        assert project.status == Status.UNDER_CHECK and not project.secret_commitment


@pytest.mark.django_db
def test_check_queue_lists_projects_under_check(client, login, personas):
    project = _under_check()
    published = published_project(title="已发布的项目")
    login(client, personas.operator)
    html = client.get(reverse("procurement:check-queue")).content.decode().replace(",", "")
    assert project.public_number in html and published.public_number not in html


@pytest.mark.django_db
def test_operator_returns_a_project_with_a_note(client, login, personas):
    project = _under_check()
    login(client, personas.operator)
    url = reverse("procurement:check", args=[project.pk])
    response = client.post(url, {"decision": "return", "note": ""})
    assert response.status_code == 400 and "退回须说明理由" in response.content.decode().replace(",", "")
    project.refresh_from_db()
    assert project.status == Status.UNDER_CHECK
    response = client.post(url, {"decision": "return", "note": "资质等级要求过高"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.status == Status.RETURNED and project.check_note == "资质等级要求过高"


@pytest.mark.django_db
def test_a_domain_error_is_shown_on_the_check_form(client, login, personas):
    project = _under_check()
    Project.objects.filter(pk=project.pk).update(
        registration_deadline=timezone.now() + timedelta(days=1),
        selection_time=timezone.now() + timedelta(days=2),
    )
    login(client, personas.operator)
    url = reverse("procurement:check", args=[project.pk])
    assert "报名期不足" in client.get(reverse("procurement:check-queue")).content.decode().replace(",", "")
    response = client.post(url, {"decision": "approve", "note": ""})
    assert response.status_code == 400
    assert "报名期将少于" in response.content.decode().replace(",", "")
    project.refresh_from_db()
    assert project.status == Status.UNDER_CHECK and not project.secret_commitment


@pytest.mark.django_db
def test_check_page_of_a_project_no_longer_under_check_has_no_form(client, login, personas):
    project = published_project()
    login(client, personas.operator)
    response = client.get(reverse("procurement:check", args=[project.pk]))
    assert response.status_code == 200
    assert "不在待审核状态" in response.content.decode().replace(",", "")


# --- regulator ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_regulator_pages_matrix(client, login, personas, persona):
    login(client, personas.all()[persona])
    expected = _expect(persona, "regulator")
    for name in ("regulator-projects", "disputes", "objections"):
        _assert_outcome(client.get(reverse(f"procurement:{name}")), expected)


@pytest.mark.django_db
def test_regulator_sees_every_project_including_drafts(client, login, personas):
    draft = services.project_create(actor=personas.owner, data=project_input(title="监管可见的草稿"))
    published = published_project(title="监管可见的公告")
    login(client, personas.regulator)
    html = client.get(reverse("procurement:regulator-projects")).content.decode().replace(",", "")
    assert draft.public_number in html and published.public_number in html
    html = (
        client.get(reverse("procurement:regulator-projects"), {"status": "draft"})
        .content.decode()
        .replace(",", "")
    )
    assert draft.public_number in html and published.public_number not in html


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_dispute_decision_matrix(client, login, personas, persona):
    project, _owner, winner_user = rated_project()
    rating = project.ratings.get(direction=Rating.Direction.OWNER_RATES_FIRM)
    services.rating_dispute(actor=winner_user, rating=rating, reason="评价与事实不符，已按期交付")
    login(client, personas.all()[persona])
    if persona == "regulator":
        html = client.get(reverse("procurement:disputes")).content.decode().replace(",", "")
        assert "评价与事实不符" in html and project.public_number in html
    response = client.post(reverse("procurement:dispute-decide", args=[rating.pk]), {"outcome": "uphold"})
    rating.refresh_from_db()
    if persona == "regulator":
        assert response.status_code == 302 and rating.dispute_outcome == "upheld"
        assert "评价与事实不符" not in client.get(reverse("procurement:disputes")).content.decode().replace(
            ",", ""
        )
    else:
        _assert_outcome(response, _expect(persona, "regulator"))
        assert rating.dispute_outcome == ""


@pytest.mark.django_db
def test_regulator_rejects_a_dispute(client, login, personas):
    project, _owner, winner_user = rated_project()
    rating = project.ratings.get(direction=Rating.Direction.OWNER_RATES_FIRM)
    services.rating_dispute(actor=winner_user, rating=rating, reason="不同意")
    login(client, personas.regulator)
    response = client.post(reverse("procurement:dispute-decide", args=[rating.pk]), {"outcome": "reject"})
    assert response.status_code == 302
    rating.refresh_from_db()
    assert rating.dispute_outcome == "rejected"
    response = client.post(reverse("procurement:dispute-decide", args=[rating.pk]), {"outcome": "bogus"})
    assert response.status_code == 302
    rating.refresh_from_db()
    assert rating.dispute_outcome == "rejected"


@pytest.mark.django_db
def test_regulator_sees_pending_objections(client, login, personas):
    project, firms = selected_project(Method.LOWEST_PRICE)
    winner = winner_of(project)
    loser_user = next(user for firm, user in firms if firm != winner.intermediary)
    services.objection_file(actor=loser_user, project=project, text="评审过程存在倾向性")
    login(client, personas.regulator)
    html = client.get(reverse("procurement:objections")).content.decode().replace(",", "")
    assert "评审过程存在倾向性" in html and project.public_number in html
    assert "<form" not in html.split('id="main-content"')[1]  # read-only: the owner answers


# --- filters ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_filters_by_service_type_method_status_and_department(client):
    eia = ServiceTypeFactory(name_zh="环评服务")
    survey = ServiceTypeFactory(name_zh="测绘服务")
    a = published_project(service_type=eia, title="甲项目")
    b = published_project(service_type=survey, title="乙项目", method=Method.REFERENCE_PRICE)
    c = published_project(service_type=survey, title="丙项目")
    services.project_cancel(actor=c.created_by, project=c, reason="项目暂缓")

    def numbers(params):
        html = client.get(reverse("procurement:announcements"), params).content.decode().replace(",", "")
        return {p.public_number for p in (a, b, c) if p.public_number in html}

    assert numbers({}) == {a.public_number, b.public_number, c.public_number}
    assert numbers({"service_type": eia.code}) == {a.public_number}
    assert numbers({"method": Method.REFERENCE_PRICE}) == {b.public_number}
    assert numbers({"status": Status.CANCELLED}) == {c.public_number}
    assert numbers({"q": "乙项目"}) == {b.public_number}
    today = timezone.localdate().isoformat()
    assert numbers({"published_from": today, "published_to": today}) == {
        a.public_number,
        b.public_number,
        c.public_number,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"published_from": "2026-13-45"},
        {"published_to": "not-a-date"},
        {"service_type": "no-such-service"},
        {"method": "coin_toss"},
        {"status": "whatever"},
        {"page": "abc"},
    ],
)
def test_invalid_filters_show_a_message_not_an_error(client, params):
    published_project()
    for name in ("announcements", "results"):
        response = client.get(reverse(f"procurement:{name}"), params)
        assert response.status_code == 200
        if "page" not in params:
            assert "部分筛选条件无效" in response.content.decode().replace(",", "")


@pytest.mark.django_db
def test_public_status_filter_offers_no_draft_states(client):
    html = client.get(reverse("procurement:announcements")).content.decode().replace(",", "")
    assert 'value="published"' in html and 'value="draft"' not in html


@pytest.mark.django_db
def test_results_filter_by_method(client):
    lowest, _ = selected_project(Method.LOWEST_PRICE)
    reference, _ = selected_project(Method.REFERENCE_PRICE)
    html = (
        client.get(reverse("procurement:results"), {"method": Method.REFERENCE_PRICE})
        .content.decode()
        .replace(",", "")
    )
    assert reference.public_number in html and lowest.public_number not in html


# --- query counts -------------------------------------------------------------------------------
#
# Each bound is the count measured on SQLite, identical for the small and the large number of
# rows, so a page that starts querying per row breaks its bound at once.
#   anonymous: announcements 4 (count, page, the service-type and department options of the
#   filter), results 4, project page 10, result page 6, verify page 3, draw.json 2;
#   signed-in staff add session, user, memberships and OTP device: regulator projects 10
#   (visible_projects reads the memberships again), disputes 7, objections 7, check queue 7,
#   the operator's check page 16.

ANNOUNCEMENTS_QUERIES = 4
RESULTS_QUERIES = 4
REGULATOR_PROJECTS_QUERIES = 10
CHECK_QUEUE_QUERIES = 7
DISPUTES_QUERIES = 7
OBJECTIONS_QUERIES = 7
PROJECT_QUERIES = 10
RESULT_QUERIES = 6
VERIFY_QUERIES = 3
DRAW_JSON_QUERIES = 2
CHECK_QUERIES = 16


def _many_projects(n: int, *, selected: bool = False, firms: int = 1) -> list[Project]:
    service_type = ServiceTypeFactory()
    owner, operator = owner_user(), operator_user()
    users = [firm_user(service_type)[1] for _ in range(firms)]
    projects = [
        published_project(owner=owner, operator=operator, service_type=service_type, funding_source="private")
        for _ in range(n)
    ]
    for i, project in enumerate(projects):
        for j, user in enumerate(users):
            services.application_submit(actor=user, project=project, quote=Decimal(60000 + 100 * i + j))
    if selected:
        past = timezone.now() - timedelta(minutes=5)
        Project.objects.filter(pk__in=[p.pk for p in projects]).update(
            registration_deadline=past, selection_time=past
        )
        timeline.tick()
        assert Project.objects.filter(status=Status.SELECTED).count() >= n
    return projects


@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 25])
def test_announcements_query_count_does_not_grow(client, django_assert_max_num_queries, n):
    _many_projects(n)
    with django_assert_max_num_queries(ANNOUNCEMENTS_QUERIES):
        response = client.get(reverse("procurement:announcements"))
    assert response.status_code == 200
    assert len(response.context["page_obj"]) == min(n, 20)


@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 25])
def test_results_query_count_does_not_grow(client, django_assert_max_num_queries, n):
    _many_projects(n, selected=True)
    with django_assert_max_num_queries(RESULTS_QUERIES):
        response = client.get(reverse("procurement:results"))
    assert response.status_code == 200
    assert len(response.context["page_obj"]) == min(n, 20)


@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 25])
def test_regulator_projects_query_count_does_not_grow(
    client, login, personas, django_assert_max_num_queries, n
):
    _many_projects(n)
    for _ in range(3):
        services.project_create(actor=personas.owner, data=project_input())
    login(client, personas.regulator)
    with django_assert_max_num_queries(REGULATOR_PROJECTS_QUERIES):
        response = client.get(reverse("procurement:regulator-projects"))
    assert response.status_code == 200
    assert len(response.context["page_obj"]) == min(n + 3, 20)


@pytest.mark.django_db
@pytest.mark.parametrize("n", [3, 12])
def test_check_queue_query_count_does_not_grow(client, login, personas, django_assert_max_num_queries, n):
    owner = owner_user()
    for _ in range(n):
        _under_check(owner)
    login(client, personas.operator)
    with django_assert_max_num_queries(CHECK_QUEUE_QUERIES):
        response = client.get(reverse("procurement:check-queue"))
    assert len(response.context["page_obj"]) == n


@pytest.mark.django_db
@pytest.mark.parametrize("n", [2, 6])
def test_objections_query_count_does_not_grow(client, login, personas, django_assert_max_num_queries, n):
    projects = _many_projects(n, selected=True, firms=2)
    for project in projects:
        winner = winner_of(project)
        loser = project.applications.exclude(pk=winner.pk).select_related("intermediary").get()
        user = loser.intermediary.organisation.memberships.get().user
        services.objection_file(actor=user, project=project, text="异议")
    login(client, personas.regulator)
    with django_assert_max_num_queries(OBJECTIONS_QUERIES):
        response = client.get(reverse("procurement:objections"))
    assert len(response.context["page_obj"]) == n
    assert Objection.objects.count() == n


@pytest.mark.django_db
@pytest.mark.parametrize("n", [1, 3])
def test_disputes_query_count_does_not_grow(client, login, personas, django_assert_max_num_queries, n):
    for _ in range(n):
        project, _owner, winner_user = rated_project()
        rating = project.ratings.get(direction=Rating.Direction.OWNER_RATES_FIRM)
        services.rating_dispute(actor=winner_user, rating=rating, reason="不同意")
    login(client, personas.regulator)
    with django_assert_max_num_queries(DISPUTES_QUERIES):
        response = client.get(reverse("procurement:disputes"))
    assert len(response.context["page_obj"]) == n


@pytest.mark.django_db
@pytest.mark.parametrize("applicants", [3, 8])
def test_detail_pages_query_count_does_not_grow_with_applicants(
    client, login, personas, django_assert_max_num_queries, applicants
):
    project = published_project(funding_source="private")
    for i in range(applicants):
        _firm, user = firm_user(project.service_type)
        services.application_submit(actor=user, project=project, quote=Decimal(60000 + 1000 * i))
    pass_deadline(project)
    timeline.tick()
    project.refresh_from_db()
    assert project.status == Status.SELECTED
    pages = [
        ("project", PROJECT_QUERIES),
        ("result", RESULT_QUERIES),
        ("verify", VERIFY_QUERIES),
        ("draw-json", DRAW_JSON_QUERIES),
    ]
    for name, bound in pages:
        with django_assert_max_num_queries(bound):
            response = client.get(reverse(f"procurement:{name}", args=[project.pk]))
        assert response.status_code == 200, name
    login(client, personas.operator)
    with django_assert_max_num_queries(CHECK_QUERIES):
        response = client.get(reverse("procurement:check", args=[project.pk]))
    assert response.status_code == 200
