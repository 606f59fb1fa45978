"""Oversight pages: the regulator's risk queue, flags and complaints; the public rule pages with
the operator's settings form; the public complaint form. Authorisation matrix, decisions
through the pages, ordering and bands of the queue, and query counts."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from marketplace.core.errors import DomainError
from marketplace.oversight import selectors, services
from marketplace.oversight.models import Complaint, Flag, RuleSetting, RuleSettingVersion
from marketplace.procurement import services as procurement
from marketplace.procurement.models import Contract, Project
from marketplace.procurement.services import timeline
from tests.factories import DepartmentFactory, IntermediaryFactory, ServiceTypeFactory
from tests.procurement.factories import (
    firm_user,
    operator_user,
    owner_user,
    pass_deadline,
    published_project,
)

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "intermediary", "other_intermediary", "owner", "department", "regulator", "operator"]
LOGIN = "login"  # expected outcome: 302 to the login page
_fingerprints = itertools.count()


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


def flag(project=None, *, rule="CO01", weight=5, status=Flag.Status.OPEN, evidence=None, **fields) -> Flag:
    """A flag written straight to the table (the rules that would raise it land elsewhere)."""
    now = timezone.now()
    subject_type, subject_id = (
        ("project", project.pk) if project else ("intermediary", fields["intermediary"].pk)
    )
    return Flag.objects.create(
        rule=rule,
        category=fields.pop("category", "competition"),
        subject_type=fields.pop("subject_type", subject_type),
        subject_id=fields.pop("subject_id", subject_id),
        fingerprint=f"fp-{next(_fingerprints)}",
        evidence=evidence if evidence is not None else _evidence(project),
        weight=weight,
        status=status,
        project=project,
        owner_id=project.owner_id if project else None,
        first_seen=now,
        last_seen=now,
        **fields,
    )


def _evidence(project) -> dict:
    if project is None:
        return {}
    return {"project": project.public_number, "method": project.method, "valid": 1}


def single_applicant_round(**overrides) -> Project:
    """A round that ended with one valid applicant: what CO01 flags."""
    project = published_project(funding_source="private", **overrides)
    _firm, user = firm_user(project.service_type)
    procurement.application_submit(actor=user, project=project, quote=Decimal("70000"))
    pass_deadline(project)
    timeline.tick()
    project.refresh_from_db()
    return project


def projects(n: int, **overrides) -> list[Project]:
    owner, operator = owner_user(), operator_user()
    service_type = overrides.pop("service_type", None) or ServiceTypeFactory()
    return [
        published_project(owner=owner, operator=operator, service_type=service_type, **overrides)
        for _ in range(n)
    ]


# --- authorisation ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_workbench_pages_are_for_regulators_only(client, login, personas, persona):
    project = projects(1)[0]
    target = flag(project)
    Complaint.objects.create(text="指定中介", department=None, project=project, filed_at=timezone.now())
    login(client, personas.all()[persona])
    expected = _expect(persona, "regulator")
    urls = [
        reverse("oversight:risk-queue"),
        reverse("oversight:risk-queue") + "?tab=firms",
        reverse("oversight:risk-queue") + "?tab=departments",
        reverse("oversight:flags"),
        reverse("oversight:flag", args=[target.pk]),
        reverse("oversight:complaints"),
    ]
    for url in urls:
        _assert_outcome(client.get(url), expected)


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_regulators_decide_flags_and_refusals_change_nothing(client, login, personas, persona):
    target = flag(projects(1)[0])
    login(client, personas.all()[persona])
    response = client.post(
        reverse("oversight:flag", args=[target.pk]), {"decision": "dismiss", "reason": "业主说明合理"}
    )
    target.refresh_from_db()
    if persona == "regulator":
        assert response.status_code == 302
        assert target.status == Flag.Status.DISMISSED
    else:
        _assert_outcome(response, _expect(persona, "regulator"))
        assert target.status == Flag.Status.OPEN and not target.decision_reason and target.decided_by is None


@pytest.mark.parametrize("persona", PERSONAS)
def test_rule_pages_are_public(client, login, personas, persona):
    login(client, personas.all()[persona])
    response = client.get(reverse("oversight:rules"))
    assert response.status_code == 200
    assert "CO01" in response.content.decode()
    response = client.get(reverse("oversight:rule", args=["CO01"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "仅一家有效报名" in html and "有效报名不超过（家）" in html
    # Only operators get the settings form.
    assert ('name="weight"' in html) == (persona == "operator")
    assert client.get(reverse("oversight:complaint-new")).status_code == 200
    assert client.get(reverse("oversight:complaint-received")).status_code == 200


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_operators_edit_rule_settings(client, login, personas, persona):
    login(client, personas.all()[persona])
    response = client.post(
        reverse("oversight:rule", args=["CO01"]),
        {"weight": "8", "enabled": "on", "t_max_valid": "2", "note": "根据核查结果放宽"},
    )
    if persona == "operator":
        assert response.status_code == 302
        setting = RuleSetting.objects.get(code="CO01")
        assert (setting.version, setting.weight, setting.thresholds) == (2, 8, {"max_valid": 2})
    else:
        _assert_outcome(response, LOGIN if persona == "anonymous" else 403)
        assert not RuleSetting.objects.filter(code="CO01", version__gt=1).exists()
        assert not RuleSettingVersion.objects.filter(note="根据核查结果放宽").exists()


def test_unknown_rule_and_flag_are_404(client, login, personas):
    assert client.get(reverse("oversight:rule", args=["ZZ99"])).status_code == 404
    login(client, personas.regulator)
    assert client.get(reverse("oversight:flag", args=[999999])).status_code == 404


def test_selectors_show_nothing_to_anyone_but_a_regulator(personas):
    project = projects(1)[0]
    flag(project, weight=30)
    Complaint.objects.create(text="x", project=project, filed_at=timezone.now())
    for user in (personas.operator, personas.owner, personas.department, personas.intermediary):
        assert not selectors.project_risk_queue(user, {})[1].exists()
        assert not selectors.visible_flags(user).exists()
        assert not selectors.complaint_list(user).exists()
    assert selectors.project_risk_queue(personas.regulator, {})[1].get() == project


# --- flags --------------------------------------------------------------------------------------


def test_a_regulator_confirms_a_flag_only_with_a_reason(client, login, personas):
    target = flag(projects(1)[0])
    login(client, personas.regulator)
    url = reverse("oversight:flag", args=[target.pk])
    response = client.post(url, {"decision": "confirm", "reason": "  "})
    assert response.status_code == 400
    assert "请填写核查意见" in response.content.decode()
    target.refresh_from_db()
    assert target.status == Flag.Status.OPEN
    response = client.post(url, {"decision": "confirm", "reason": "业主承认事先约定了中介"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.status == Flag.Status.CONFIRMED
    assert target.decided_by == personas.regulator and target.decision_reason == "业主承认事先约定了中介"
    html = client.get(url).content.decode()
    assert "业主承认事先约定了中介" in html and 'name="decision"' not in html
    # A second decision is refused and shown, not applied.
    response = client.post(url, {"decision": "dismiss", "reason": "改判"})
    assert response.status_code == 400 and "该风险提示已处理" in response.content.decode()
    target.refresh_from_db()
    assert target.status == Flag.Status.CONFIRMED


def test_a_real_co01_flag_is_explained_in_the_active_language(client, login, personas):
    project = single_applicant_round()
    services.monitor_run(codes=["CO01"])
    target = Flag.objects.get(rule="CO01")
    login(client, personas.regulator)
    url = reverse("oversight:flag", args=[target.pk])
    html = client.get(url).content.decode()
    assert f"项目 {project.public_number}" in html and "仅有 1 家有效报名" in html
    assert "竞价选取（最低价）" in html  # the evidence's method shown by its label
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"Project {project.public_number} (lowest_price) had only 1 valid applicant(s)." in html


def test_evidence_is_a_readable_table_and_a_path_is_drawn(client, login, personas):
    project = projects(1)[0]
    target = flag(
        project,
        rule="RP01",
        category="related_party",
        weight=20,
        evidence={
            "project": project.public_number,
            "contract_amount": "1234567.5",
            "share": "0.4",
            "applicants": ["甲公司", "乙公司"],
            "payments": [
                {"amount": "1000", "date": "2025-01-02"},
                {"amount": "2500.5", "date": "2025-02-03"},
            ],
            "path": [
                {"label": "枣庄市测试局", "kind": "department", "edge": "下属"},
                {"name": "测试事业单位", "type": "affiliate", "relation": "shareholder", "share": "0.3"},
                "某某咨询有限公司",
            ],
        },
    )
    login(client, personas.regulator)
    response = client.get(reverse("oversight:flag", args=[target.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "合同金额（元）" in html and "¥1,234,567.50" in html  # keys translated, amounts formatted
    assert "40%" in html
    assert re.search(r"<li>\s*甲公司\s*</li>\s*<li>\s*乙公司\s*</li>", html)  # lists as lists
    assert "¥2,500.50" in html  # a list of records as a table
    chain = response.context["paths"][0]
    assert [link.node.label for link in chain] == ["枣庄市测试局", "测试事业单位", "某某咨询有限公司"]
    assert [link.edge for link in chain] == ["下属", "持股 30%", ""]
    assert 'class="zj-path"' in html and "is-department" in html


@pytest.mark.parametrize(
    "path",
    [
        "甲 -> 乙 -> 丙",
        [["甲", "持股", "乙"], ["乙", "任职", "丙"]],
        [{"from": "甲", "to": "乙", "relation": "持股"}, {"from": "乙", "to": "丙", "relation": "任职"}],
        [{"name": "甲"}, {"name": "乙", "relation": "持股"}, {"name": "丙", "relation": "任职"}],
        {"steps": ["甲", "乙", "丙"]},
        {"nodes": [{"id": "1", "label": "甲"}, {"id": "2", "label": "乙"}, {"label": "丙"}], "edges": []},
    ],
)
def test_a_path_of_any_shape_becomes_a_chain(path):
    chain = selectors.path_chain(path)
    assert [link.node.label for link in chain] == ["甲", "乙", "丙"]


def _graph_path():
    """A path in the related-party graph's own shape: firm <- holding firm <- affiliate of the
    department, as RP01 stores it."""
    from marketplace.oversight import graph

    nodes = (
        graph.Node("o:91370400000000001A", "organisation", "某某咨询有限公司"),
        graph.Node("o:91370400000000002B", "organisation", "某某投资有限公司"),
        graph.Node("a:7", "organisation", "测试局所属事业单位"),
        graph.Node("d:3", "department", "枣庄市测试局"),
    )
    edges = (
        graph.Edge("sh:1", graph.SHAREHOLDING, nodes[1].id, nodes[0].id, "", "", share=Decimal("60")),
        graph.Edge("sh:2", graph.SHAREHOLDING, nodes[2].id, nodes[1].id, "", "", share=Decimal("35.5")),
        graph.Edge("af:7", graph.AFFILIATION, nodes[3].id, nodes[2].id, "", "", detail="institution"),
    )
    return graph.Path(firm_id=1, department_id=3, hops=2, nodes=nodes, edges=edges).as_evidence()


def test_the_graphs_paths_are_drawn_wherever_they_are_nested(client, login, personas):
    path = _graph_path()
    project = projects(1)[0]
    target = flag(
        project,
        rule="RP04",
        category="related_party",
        weight=15,
        evidence={
            "project": project.public_number,
            "paths": [path],
            "contacts": [{"field": "phone", "party": "department", "value": "0632-1", "path": path}],
        },
    )
    login(client, personas.regulator)
    response = client.get(reverse("oversight:flag", args=[target.pk]))
    assert response.status_code == 200
    (chain,) = response.context["paths"]  # the same path twice is drawn once
    assert [link.node.label for link in chain] == [
        "某某咨询有限公司",
        "某某投资有限公司",
        "测试局所属事业单位",
        "枣庄市测试局",
    ]
    assert [link.edge for link in chain] == ["持股 60%", "持股 35.5%", "所属事业单位", ""]
    assert [link.reverse for link in chain] == [True, True, True, False]  # holders point at the firm
    html = response.content.decode()
    assert "关联路径 1（见上图）" in html and "is-reverse" in html and "相同联系方式" in html
    english = client.get(reverse("oversight:flag", args=[target.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert english.context["paths"][0][0].edge == "holds 60%"


def test_a_flag_the_rule_cannot_explain_still_renders(client, login, personas):
    target = flag(projects(1)[0], evidence={"unexpected": {"nested": [1, 2]}})
    login(client, personas.regulator)
    response = client.get(reverse("oversight:flag", args=[target.pk]))
    assert response.status_code == 200
    assert "未能为这条证据生成文字说明" in response.content.decode()


def test_flag_list_filters_by_status_rule_category_and_project(client, login, personas):
    first, second = projects(2)
    a = flag(first, rule="CO01")
    b = flag(second, rule="FA07", category="forced_agency", status=Flag.Status.CONFIRMED)
    login(client, personas.regulator)
    url = reverse("oversight:flags")

    def listed(**params):
        return set(client.get(url, params).context["page_obj"].object_list)

    assert listed() == {a, b}
    assert listed(status="confirmed") == {b}
    assert listed(rule="CO01") == {a}
    assert listed(category="forced_agency") == {b}
    assert listed(project=first.pk) == {a}
    response = client.get(url, {"status": "bogus"})
    assert response.status_code == 200 and "部分筛选条件无效" in response.content.decode()


# --- the risk queue -----------------------------------------------------------------------------


@override_settings(RISK_MEDIUM_FROM=10, RISK_HIGH_FROM=25)
def test_the_queue_orders_by_score_then_value_and_bands(client, login, personas):
    high, with_contract, by_ceiling, low, dismissed = projects(5)
    flag(high, weight=20)
    flag(high, rule="FA07", weight=5, status=Flag.Status.CONFIRMED)  # confirmed flags count
    flag(high, rule="FE01", weight=50, status=Flag.Status.RESOLVED)  # resolved flags do not
    flag(with_contract, weight=12)
    flag(by_ceiling, weight=12)
    flag(low, weight=3)
    flag(dismissed, weight=40, status=Flag.Status.DISMISSED)
    Project.objects.filter(pk=by_ceiling.pk).update(price_ceiling=Decimal("120000"))
    Contract.objects.create(
        project=with_contract,
        intermediary=IntermediaryFactory(),
        amount=Decimal("150000"),
        document="contracts/c.pdf",
        uploaded_by_org=with_contract.owner,
        uploaded_at=timezone.now(),
    )
    login(client, personas.regulator)
    response = client.get(reverse("oversight:risk-queue"))
    rows = list(response.context["page_obj"])
    assert rows == [high, with_contract, by_ceiling, low]
    assert [(r.score, r.band, r.flag_count) for r in rows] == [
        (25, "high", 2),
        (12, "medium", 1),
        (12, "medium", 1),
        (3, "low", 1),
    ]
    assert [r.value for r in rows[1:3]] == [Decimal("150000"), Decimal("120000")]
    assert [ref.code for ref in rows[0].top_rules] == ["CO01", "FA07"]
    html = response.content.decode()
    assert "高风险" in html and "中风险" in html and "低风险" in html and "¥150,000" in html
    assert dismissed.public_number not in html

    def listed(**params):
        return list(client.get(reverse("oversight:risk-queue"), params).context["page_obj"])

    assert listed(band="medium") == [with_contract, by_ceiling]
    assert listed(band="high") == [high]
    assert listed(rule="FA07") == [high]
    assert listed(category="competition") == [high, with_contract, by_ceiling, low]
    department = DepartmentFactory()
    Project.objects.filter(pk=low.pk).update(department=department)
    assert listed(department=department.code) == [low]
    assert listed(service_type=high.service_type.code) == [high, with_contract, by_ceiling, low]
    assert listed(service_type=ServiceTypeFactory().code) == []


@override_settings(RISK_MEDIUM_FROM=10, RISK_HIGH_FROM=25)
def test_the_queue_takes_real_rule_flags(client, login, personas):
    project = single_applicant_round()
    services.monitor_run(codes=["CO01"])
    login(client, personas.regulator)
    rows = list(client.get(reverse("oversight:risk-queue")).context["page_obj"])
    assert rows == [project] and rows[0].score == 5 and rows[0].band == "low"
    assert rows[0].value == Decimal("70000")  # the winning quote, before any contract
    Contract.objects.create(
        project=project,
        intermediary=project.applications.get().intermediary,
        amount=Decimal("65000"),
        document="contracts/c.pdf",
        uploaded_by_org=project.owner,
        uploaded_at=timezone.now(),
    )
    assert client.get(reverse("oversight:risk-queue")).context["page_obj"][0].value == Decimal("65000")


@override_settings(RISK_MEDIUM_FROM=10, RISK_HIGH_FROM=25)
def test_firm_and_department_tabs_sum_the_flags_of_each(client, login, personas):
    calm, busy = IntermediaryFactory(), IntermediaryFactory()
    quiet, loud = DepartmentFactory(), DepartmentFactory()
    project = projects(1)[0]
    flag(project, rule="RP01", weight=20, intermediary=busy, department=loud)
    flag(project, rule="RP02", weight=10, intermediary=busy, department=loud)
    flag(None, rule="FE02", weight=4, intermediary=calm, department=quiet)
    flag(None, rule="FE03", weight=9, intermediary=calm, status=Flag.Status.DISMISSED)
    login(client, personas.regulator)
    url = reverse("oversight:risk-queue")
    firms = list(client.get(url, {"tab": "firms"}).context["page_obj"])
    assert firms == [busy, calm]
    assert [(f.score, f.band, f.flag_count, f.project_count) for f in firms] == [
        (30, "high", 2, 1),
        (4, "low", 1, 0),
    ]
    departments = list(client.get(url, {"tab": "departments"}).context["page_obj"])
    assert departments == [loud, quiet] and departments[0].score == 30
    assert list(client.get(url, {"tab": "firms", "rule": "FE02"}).context["page_obj"]) == [calm]
    html = client.get(url, {"tab": "firms"}).content.decode()
    assert busy.name in html and f"intermediary={busy.pk}" in html


# --- rule pages and settings --------------------------------------------------------------------


def test_rule_list_shows_counts_and_the_confirmed_share(client, login, personas):
    project = projects(1)[0]
    for status in ("open", "confirmed", "confirmed", "confirmed", "dismissed", "resolved"):
        flag(project, status=status)
    row = next(r for r in selectors.rule_rows() if r.code == "CO01")
    assert (row.open, row.confirmed, row.dismissed, row.resolved) == (1, 3, 1, 1)
    assert row.confirmed_share == Decimal("0.75")
    html = client.get(reverse("oversight:rules")).content.decode()
    assert "75%" in html and "R018" in html
    login(client, personas.regulator)
    response = client.get(reverse("oversight:rules"))
    assert response.context["show_counts"] is True


def test_operator_edits_settings_and_the_version_history_shows_it(client, login, personas):
    login(client, personas.operator)
    url = reverse("oversight:rule", args=["CO01"])
    response = client.get(url)
    assert response.context["form"].initial == {"weight": 5, "enabled": True, "t_max_valid": 1}
    response = client.post(url, {"weight": "7", "t_max_valid": "2", "note": "放宽到两家"})
    assert response.status_code == 302
    setting = RuleSetting.objects.get(code="CO01")
    assert (setting.version, setting.weight, setting.enabled, setting.thresholds) == (
        2,
        7,
        False,
        {"max_valid": 2},
    )
    html = client.get(url).content.decode()
    assert "放宽到两家" in html and "第 2 版" in html and "已停用" in html
    client.logout()
    assert "放宽到两家" in client.get(url).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"weight": "5", "t_max_valid": "99"}, "确保该值小于或等于5"),
        ({"weight": "5", "t_max_valid": "two"}, "输入整数"),
        ({"weight": "500", "t_max_valid": "1"}, "确保该值小于或等于100"),
    ],
)
def test_a_bad_threshold_shows_the_chinese_error_and_changes_nothing(client, login, personas, data, message):
    login(client, personas.operator)
    response = client.post(reverse("oversight:rule", args=["CO01"]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not RuleSetting.objects.filter(code="CO01", version__gt=1).exists()
    assert not RuleSettingVersion.objects.filter(version__gt=1).exists()


def test_a_service_error_on_a_threshold_is_shown_on_its_input(client, login, personas, monkeypatch):
    def refuse(**kwargs):
        raise DomainError("阈值“有效报名不超过（家）”无效。", field="max_valid")

    monkeypatch.setattr(services, "rule_settings_update", refuse)
    login(client, personas.operator)
    response = client.post(reverse("oversight:rule", args=["CO01"]), {"weight": "5", "t_max_valid": "1"})
    assert response.status_code == 400
    assert response.context["form"].errors["t_max_valid"] == ["阈值“有效报名不超过（家）”无效。"]


# --- complaints ---------------------------------------------------------------------------------


def test_a_signed_in_user_files_a_complaint_about_a_project(client, login, personas):
    project = projects(1)[0]
    login(client, personas.intermediary)
    response = client.post(
        reverse("oversight:complaint-new"),
        {
            "project_number": project.public_number,
            "alleges_designation": "on",
            "text": "审批科室要求业主使用指定的测绘公司",
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("oversight:complaint-received")
    complaint = Complaint.objects.get()
    assert complaint.project == project and complaint.alleges_designation
    assert complaint.filed_by == personas.intermediary
    assert "投诉已收到" in client.get(response["Location"]).content.decode()
    login(client, personas.regulator)
    html = client.get(reverse("oversight:complaints")).content.decode()
    assert "审批科室要求业主使用指定的测绘公司" in html and project.public_number in html


def test_an_anonymous_complaint_needs_a_contact(client):
    department = DepartmentFactory()
    url = reverse("oversight:complaint-new")
    response = client.post(url, {"department": department.code, "text": "收费明显高于公示标准"})
    assert response.status_code == 400
    assert "匿名投诉请留下联系方式" in response.content.decode()
    assert not Complaint.objects.exists()
    response = client.post(
        url, {"department": department.code, "text": "收费明显高于公示标准", "contact": "13800000000"}
    )
    assert response.status_code == 302
    complaint = Complaint.objects.get()
    assert complaint.filed_by is None and complaint.contact == "13800000000"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "  ", "contact": "x"}, "请填写投诉内容"),
        ({"text": "有问题", "contact": "x"}, "请指明投诉涉及的项目、中介机构或部门"),
        ({"text": "有问题", "contact": "x", "project_number": "NOPE-1"}, "未找到该项目编号的采购公告"),
        (
            {"text": "有问题", "contact": "x", "intermediary_uscc": "91370400MA3XXXXX0X"},
            "未找到该统一社会信用代码",
        ),
    ],
)
def test_a_bad_complaint_is_refused_with_its_reason(client, data, message):
    response = client.post(reverse("oversight:complaint-new"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Complaint.objects.exists()


def test_a_draft_project_number_is_not_accepted(client, personas):
    from marketplace.procurement.services import project_create
    from tests.procurement.factories import project_input

    draft = project_create(actor=personas.owner, data=project_input())
    response = client.post(
        reverse("oversight:complaint-new"),
        {"project_number": draft.public_number, "text": "有问题", "contact": "x"},
    )
    assert response.status_code == 400 and not Complaint.objects.exists()


# --- query counts -------------------------------------------------------------------------------

# Session, user, TOTP device, memberships (twice: middleware and menu), the regulator check,
# then the page's own: count + rows (+ the filter's select options).
QUEUE_QUERIES = 10
FLAGS_QUERIES = 9
FLAG_QUERIES = 9
COMPLAINTS_QUERIES = 8
RULES_QUERIES = 7
RULE_QUERIES = 8


@pytest.mark.parametrize("n", [5, 25])
def test_queue_and_flag_list_query_counts_do_not_grow(
    client, login, personas, django_assert_max_num_queries, n
):
    department = DepartmentFactory()
    for i, project in enumerate(projects(n)):
        firm = IntermediaryFactory()
        flag(project, weight=1 + i % 7, intermediary=firm, department=department)
        flag(
            project, rule="FA07", category="forced_agency", weight=3, intermediary=firm, department=department
        )
    login(client, personas.regulator)
    for tab in ("projects", "firms", "departments"):
        with django_assert_max_num_queries(QUEUE_QUERIES):
            response = client.get(reverse("oversight:risk-queue"), {"tab": tab})
        assert response.status_code == 200
    assert len(response.context["page_obj"]) == 1
    with django_assert_max_num_queries(QUEUE_QUERIES):
        response = client.get(reverse("oversight:risk-queue"), {"rule": "FA07", "category": "forced_agency"})
    assert len(response.context["page_obj"]) == min(n, 20)
    with django_assert_max_num_queries(FLAGS_QUERIES):
        response = client.get(reverse("oversight:flags"))
    assert len(response.context["page_obj"]) == min(2 * n, 20)
    target = Flag.objects.filter(rule="CO01").first()
    with django_assert_max_num_queries(FLAG_QUERIES):
        assert client.get(reverse("oversight:flag", args=[target.pk])).status_code == 200
    with django_assert_max_num_queries(RULES_QUERIES):
        assert client.get(reverse("oversight:rules")).status_code == 200
    with django_assert_max_num_queries(RULE_QUERIES):
        assert client.get(reverse("oversight:rule", args=["CO01"])).status_code == 200


@pytest.mark.parametrize("n", [2, 10])
def test_complaints_query_count_does_not_grow(client, login, personas, django_assert_max_num_queries, n):
    project = projects(1)[0]
    firm = IntermediaryFactory()
    for i in range(n):
        Complaint.objects.create(
            text=f"投诉{i}",
            project=project,
            intermediary=firm,
            department=DepartmentFactory(),
            filed_by=personas.owner,
            filed_at=timezone.now(),
        )
    login(client, personas.regulator)
    with django_assert_max_num_queries(COMPLAINTS_QUERIES):
        response = client.get(reverse("oversight:complaints"))
    assert len(response.context["page_obj"]) == n
