"""Case and inspection pages: each role against each page and object, bad input through the
forms (clear errors, nothing written), and query counts on the list and detail pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from marketplace.oversight.cases import inspections, services
from marketplace.oversight.models import Case, ExplanationRequest, InspectionPlan
from tests.conftest import login_as

from .helpers import PNG, awarded_project, inspector, project_flag, violation

pytestmark = pytest.mark.django_db
PERSONAS = ["anonymous", "intermediary", "other_intermediary", "owner", "department", "regulator", "operator"]


@pytest.fixture
def world(personas):
    """A case about ``personas.firm`` on a project of ``personas.owner``'s organisation, with an
    explanation request to the firm, and a drawn inspection plan."""
    owner_org = personas.owner.memberships.get().organisation
    project = awarded_project(personas.firm, owner=personas.owner)
    assert project.owner == owner_org
    flag = project_flag(project)
    case = services.case_open(actor=personas.regulator, title="报价偏高", summary="FE08", flags=[flag])
    request = services.explanation_request(
        actor=personas.regulator, case=case, party="intermediary", question="请说明。"
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    services.explanation_answer(
        actor=personas.intermediary,
        request=request,
        answer="见附件。",
        files=[SimpleUploadedFile("a.png", PNG)],
    )
    organisation = personas.regulator.memberships.get().organisation
    pool = [inspector(organisation) for _ in range(3)]
    plan = inspections.plan_create(
        actor=personas.regulator,
        title="抽查",
        scope_text="收费",
        population_kind=InspectionPlan.Population.FIRMS,
        sample_size=1,
        inspectors=pool,
        inspectors_per_target=2,
    )
    return {"case": case, "request": request, "flag": flag, "plan": plan, "project": project}


def _get(client, personas, persona, url):
    login_as(client, personas.all()[persona])
    return client.get(url)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    "name", ["cases", "case", "inspections", "inspection", "inspection-new", "inspectors"]
)
def test_regulator_pages_are_for_regulators_only(client, personas, world, persona, name):
    args = {"case": [world["case"].pk], "inspection": [world["plan"].pk]}.get(name, [])
    response = _get(client, personas, persona, reverse(f"oversight:{name}", args=args))
    if persona == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    else:
        assert response.status_code == (200 if persona == "regulator" else 403)


def test_the_case_new_page_needs_a_source(client, personas, world):
    login_as(client, personas.regulator)
    assert client.get(reverse("oversight:case-new")).status_code == 404
    page = client.get(reverse("oversight:case-new") + f"?flag={world['flag'].pk}")
    assert page.status_code == 200 and personas.firm.uscc in page.content.decode()


@pytest.mark.parametrize("persona", PERSONAS)
def test_party_pages_show_a_case_to_its_parties_only(client, personas, world, persona):
    url = reverse("oversight:my-case", args=[world["case"].pk])
    response = _get(client, personas, persona, url)
    expected = {"anonymous": 302, "intermediary": 200, "owner": 200, "other_intermediary": 404}
    assert response.status_code == expected.get(persona, 403)


@pytest.mark.parametrize("persona", PERSONAS)
def test_an_answers_attachment_is_served_to_regulators_and_the_answering_firm_only(
    client, personas, world, persona
):
    attachment = world["request"].attachments.get()
    response = _get(client, personas, persona, reverse("oversight:case-attachment", args=[attachment.pk]))
    expected = {"anonymous": 302, "intermediary": 200, "regulator": 200}
    assert response.status_code == expected.get(persona, 404)


@pytest.mark.parametrize("persona", PERSONAS)
def test_an_open_case_is_not_public_and_a_closed_one_is_public_to_everyone(client, personas, world, persona):
    url = reverse("oversight:disclosure-case", args=[world["case"].pk])
    assert _get(client, personas, persona, url).status_code == 404
    Case.objects.filter(pk=world["case"].pk).update(status=Case.Status.CLOSED)
    assert _get(client, personas, persona, url).status_code == 200
    for name in ("disclosure-cases", "disclosure-blacklist", "disclosure-inspections"):
        assert client.get(reverse(f"oversight:{name}")).status_code == 200
    assert client.get(reverse("oversight:disclosure-inspection", args=[world["plan"].pk])).status_code == 200


def test_a_party_cannot_answer_another_partys_request_nor_conclude(personas, world):
    from django.core.exceptions import PermissionDenied

    request = services.explanation_request(
        actor=personas.regulator, case=world["case"], party="owner", question="业主请说明。"
    )
    for actor in (personas.intermediary, personas.other_intermediary, personas.regulator):
        with pytest.raises(PermissionDenied):
            services.explanation_answer(actor=actor, request=request, answer="x")
    for actor in (personas.intermediary, personas.owner, personas.operator):
        with pytest.raises(PermissionDenied):
            services.case_conclude(
                actor=actor,
                case=world["case"],
                violation=False,
                violation_type=None,
                legal_basis="b",
                conclusion="c",
            )
    request.refresh_from_db()
    assert request.status == ExplanationRequest.Status.PENDING


def test_a_conclusion_without_reason_or_basis_is_refused_on_the_page_and_nothing_is_written(
    client, personas, world
):
    ExplanationRequest.objects.update(status=ExplanationRequest.Status.ANSWERED)
    login_as(client, personas.regulator)
    url = reverse("oversight:case", args=[world["case"].pk])
    response = client.post(
        url,
        {
            "action": "conclude",
            "conclusion-violation": "1",
            "conclusion-violation_type": "",
            "conclusion-legal_basis": "",
            "conclusion-conclusion": "   ",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "请填写处理结论及理由。" in html
    assert "请填写法律依据。" in html
    assert "构成违规的，请选择违规行为类型。" in html
    case = Case.objects.get(pk=world["case"].pk)
    assert (case.status, case.concluded_at, case.violation) == (Case.Status.OPEN, None, None)
    assert not case.deductions.exists()
    response = client.post(
        url,
        {
            "action": "conclude",
            "conclusion-violation": "1",
            "conclusion-violation_type": violation("V02").pk,
            "conclusion-legal_basis": "《价格法》第三十九条",
            "conclusion-conclusion": "超标准收费。",
        },
    )
    assert response.status_code == 302
    assert Case.objects.get(pk=world["case"].pk).status == Case.Status.REMEDYING


def test_an_answer_with_a_disguised_file_is_refused_and_nothing_is_written(client, personas, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    request = services.explanation_request(
        actor=personas.regulator, case=world["case"], party="intermediary", question="再说明。"
    )
    login_as(client, personas.intermediary)
    response = client.post(
        reverse("oversight:my-case", args=[world["case"].pk]),
        {
            "action": "answer",
            "request": request.pk,
            f"r{request.pk}-answer": "见附件",
            f"r{request.pk}-files": SimpleUploadedFile("x.pdf", b"MZ\x90\x00 not a pdf"),
        },
    )
    assert response.status_code == 400
    assert "文件类型不支持" in response.content.decode()
    request.refresh_from_db()
    assert request.status == ExplanationRequest.Status.PENDING and not request.attachments.exists()


def test_a_plan_with_a_sample_larger_than_the_population_is_refused_on_the_page(client, personas, world):
    login_as(client, personas.regulator)
    pool = [str(i.pk) for i in world["plan"].inspectors.all()]
    response = client.post(
        reverse("oversight:inspection-new"),
        {
            "title": "抽查",
            "scope_text": "收费",
            "population_kind": "firms",
            "sample_size": "50",
            "inspectors_per_target": "2",
            "inspectors": pool,
        },
    )
    assert response.status_code == 400
    assert "大于抽查对象总数" in response.content.decode()
    response = client.post(
        reverse("oversight:inspection-new"),
        {
            "title": "抽查",
            "scope_text": "收费",
            "population_kind": "firms",
            "sample_size": "1",
            "inspectors_per_target": "5",
            "inspectors": pool,
        },
    )
    assert response.status_code == 400
    assert "少于每个对象所需的 5 人" in response.content.decode()
    assert InspectionPlan.objects.count() == 1


def test_the_regulator_draws_records_findings_and_publishes_through_the_page(client, personas, world):
    login_as(client, personas.regulator)
    url = reverse("oversight:inspection", args=[world["plan"].pk])
    assert client.post(url, {"action": "draw"}).status_code == 302
    plan = InspectionPlan.objects.get(pk=world["plan"].pk)
    target = plan.targets.get()
    response = client.post(
        url,
        {"action": "finding", "target": target.pk, f"t{target.pk}-result": "", f"t{target.pk}-finding": ""},
    )
    assert response.status_code == 400 and "请选择检查结论。" in response.content.decode()
    client.post(
        url,
        {
            "action": "finding",
            "target": target.pk,
            f"t{target.pk}-result": "problem",
            f"t{target.pk}-finding": "收费未公示。",
        },
    )
    client.post(url, {"action": "publish"})
    plan.refresh_from_db()
    assert plan.status == InspectionPlan.Status.CONCLUDED
    assert (
        "收费未公示。"
        in client.get(reverse("oversight:disclosure-inspection", args=[plan.pk])).content.decode()
    )


def test_list_and_detail_pages_take_a_bounded_number_of_queries(
    client, personas, world, django_assert_max_num_queries
):
    for _ in range(4):
        services.case_open(
            actor=personas.regulator, title="更多", summary="s", flags=[project_flag(world["project"])]
        )
    Case.objects.update(status=Case.Status.CLOSED)
    login_as(client, personas.regulator)
    for url, limit in (
        (reverse("oversight:cases"), 12),
        (reverse("oversight:case", args=[world["case"].pk]), 20),
        (reverse("oversight:inspections"), 12),
        (reverse("oversight:inspection", args=[world["plan"].pk]), 16),
    ):
        with django_assert_max_num_queries(limit):
            assert client.get(url).status_code == 200
    login_as(client, None)
    for url, limit in (
        (reverse("oversight:disclosure-cases"), 8),
        (reverse("oversight:disclosure-case", args=[world["case"].pk]), 8),
        (reverse("oversight:disclosure-blacklist"), 8),
        (reverse("oversight:disclosure-inspections"), 8),
        (reverse("providers:profile", args=[personas.firm.pk]), 16),
    ):
        with django_assert_max_num_queries(limit):
            assert client.get(url).status_code == 200
