"""The owners' and firms' procurement workspace (marketplace/procurement/urls_workspace.py).

Authorisation matrix for every page and action (refused requests change nothing), posting a
project through the form, applying, a lowest-price journey from posting to closing driven
through the pages, a credit-preference pick, sealed quotes, and query counts of the lists.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from marketplace.accounts.models import Role
from marketplace.core.models import AuditEvent
from marketplace.procurement import selectors_workspace as sw
from marketplace.procurement import services
from marketplace.procurement.models import (
    Amendment,
    Application,
    Contract,
    Delivery,
    EvaluatorScore,
    Exclusion,
    Notification,
    Objection,
    Project,
    Rating,
    Requirement,
    Selection,
    Status,
    WalkAway,
)
from tests.factories import (
    MembershipFactory,
    OfferFactory,
    OrganisationFactory,
    PractitionerFactory,
    QualificationFactory,
    QualificationLevelFactory,
    QualificationTypeFactory,
    ServiceTypeFactory,
    allow_qualification,
    pdf_upload,
)

from .factories import (
    firm_user,
    future_deadline,
    operator_user,
    owner_user,
    pass_deadline,
    project_input,
    published_project,
)

PERSONAS = [
    "anonymous",
    "owner",
    "other_owner",
    "intermediary",
    "other_intermediary",
    "department",
    "regulator",
    "operator",
]
LOGIN = "login"
LOCAL = "%Y-%m-%dT%H:%M"


@pytest.fixture
def world(personas):
    """A published project of ``personas.owner`` with one application (``personas.firm``), a draft
    of the same owner, and a second owner. ``other_firm`` offers the service but has not applied."""
    service_type = ServiceTypeFactory()
    OfferFactory(intermediary=personas.firm, service_type=service_type)
    OfferFactory(intermediary=personas.other_firm, service_type=service_type)
    project = published_project(owner=personas.owner, service_type=service_type)
    application = services.application_submit(
        actor=personas.intermediary, project=project, quote=Decimal("60000"), client_ip="10.0.0.1"
    )
    draft = services.project_create(actor=personas.owner, data=project_input(service_type=service_type))
    return SimpleNamespace(
        personas=personas,
        users={**personas.all(), "other_owner": owner_user()},
        service_type=service_type,
        project=project,
        draft=draft,
        application=application,
    )


def _as(client, login, world, persona: str):
    login(client, world.users[persona])
    return client


def _assert_outcome(response, expected) -> None:
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login") + "?next=")
    else:
        assert response.status_code == expected, response.content.decode().replace(",", "")[:2000]


def _state() -> dict:
    """Everything a refused request in this file could have changed."""
    counts = {
        model.__name__: model.objects.count()
        for model in (
            Project,
            Requirement,
            Exclusion,
            Application,
            Selection,
            EvaluatorScore,
            Objection,
            Contract,
            Amendment,
            Delivery,
            Rating,
            WalkAway,
            Notification,
            AuditEvent,
        )
    }
    return {
        **counts,
        "projects": sorted(Project.objects.values_list("pk", "status", "title", "updated_at")),
        "applications": sorted(Application.objects.values_list("pk", "state", "submitted_at")),
    }


def _local(dt) -> str:
    return timezone.localtime(dt).strftime(LOCAL)


def _project_post(service_type, **overrides) -> dict:
    deadline = future_deadline()
    data = {
        "title": "薛城区某道路改建工程环境影响评价",
        "service_type": service_type.pk,
        "funding_source": "fiscal",
        "scale": "5000",
        "price_floor": "50000",
        "price_ceiling": "100000",
        "service_content": "编制环境影响报告书并配合技术评估",
        "service_days": "30",
        "required_practitioners": "0",
        "qualification_rule": "any",
        "method": "lowest_price",
        "registration_deadline": _local(deadline),
        "selection_time": _local(deadline + timedelta(hours=1)),
    }
    data.update({k: str(v) for k, v in overrides.items()})
    return data


# --- authorisation matrix: pages ---------------------------------------------------------------

OWNER_PAGE = {"anonymous": LOGIN, "owner": 200, "other_owner": 200}
FIRM_PAGE = {"anonymous": LOGIN, "intermediary": 200, "other_intermediary": 200}

PAGES = {
    "my-projects": (lambda w: reverse("procurement:my-projects"), OWNER_PAGE),
    "project-create": (lambda w: reverse("procurement:project-create"), OWNER_PAGE),
    "project-edit": (
        lambda w: reverse("procurement:project-edit", args=[w.draft.pk]),
        {"anonymous": LOGIN, "owner": 200, "other_owner": 404},
    ),
    "manage": (
        lambda w: reverse("procurement:manage", args=[w.project.pk]),
        {
            "anonymous": LOGIN,
            "owner": 200,
            "other_owner": 403,
            "intermediary": 200,
            "other_intermediary": 403,
        },
    ),
    "manage-draft": (
        lambda w: reverse("procurement:manage", args=[w.draft.pk]),
        {
            "anonymous": LOGIN,
            "owner": 200,
            "other_owner": 404,
            "intermediary": 404,
            "other_intermediary": 404,
        },
    ),
    "opportunities": (lambda w: reverse("procurement:opportunities"), FIRM_PAGE),
    "apply": (lambda w: reverse("procurement:apply", args=[w.project.pk]), FIRM_PAGE),
    "apply-draft": (
        lambda w: reverse("procurement:apply", args=[w.draft.pk]),
        {"anonymous": LOGIN, "intermediary": 404, "other_intermediary": 404},
    ),
    "my-applications": (lambda w: reverse("procurement:my-applications"), FIRM_PAGE),
    "notifications": (
        lambda w: reverse("procurement:notifications"),
        {"anonymous": LOGIN, **dict.fromkeys(PERSONAS[1:], 200)},
    ),
    "contract-document": (
        lambda w: reverse("procurement:contract-document", args=[w.project.pk]),
        # The owner may read it, but there is none yet.
        {"anonymous": LOGIN, "owner": 404},
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page", PAGES)
def test_workspace_page_answers_each_persona(client, login, world, page, persona):
    url, outcomes = PAGES[page]
    before = _state()

    response = _as(client, login, world, persona).get(url(world))

    _assert_outcome(response, outcomes.get(persona, 403))
    assert _state() == before


# --- authorisation matrix: actions ------------------------------------------------------------


def _objection(w) -> Objection:
    return Objection.objects.create(
        project=w.project,
        application=w.application,
        filed_by=w.personas.intermediary,
        text="异议",
        filed_at=timezone.now(),
    )


def _rating(w) -> Rating:
    return Rating.objects.create(
        project=w.project,
        direction=Rating.Direction.FIRM_RATES_OWNER,
        scores={"payment_timeliness": 1, "non_interference": 1},
        overall=Decimal("1"),
        amount=Decimal("60000"),
        created_at=timezone.now(),
    )


OWNER_ONLY = {"anonymous": LOGIN}  # everyone else: 403
CONTRACT_PARTIES = {"anonymous": LOGIN}  # owner or the winner (there is none yet): others 403

ACTIONS = {
    "submit": (lambda w: reverse("procurement:manage-submit", args=[w.project.pk]), {}, ["owner"]),
    "cancel": (
        lambda w: reverse("procurement:manage-cancel", args=[w.project.pk]),
        {"cancel-reason": "不需要了"},
        ["owner"],
    ),
    "relaunch": (lambda w: reverse("procurement:manage-relaunch", args=[w.project.pk]), {}, ["owner"]),
    "pick": (
        lambda w: reverse("procurement:manage-pick", args=[w.project.pk]),
        {"pick-reason": "信用好"},
        ["owner"],
    ),
    "scores": (lambda w: reverse("procurement:manage-scores", args=[w.project.pk]), {}, ["owner"]),
    "start": (lambda w: reverse("procurement:manage-start", args=[w.project.pk]), {}, ["owner"]),
    "answer": (
        lambda w: reverse("procurement:manage-answer", args=[w.project.pk, _objection(w).pk]),
        {"answer-1-upheld": "1", "answer-1-answer": "成立"},
        ["owner"],
    ),
    "contract": (lambda w: reverse("procurement:manage-contract", args=[w.project.pk]), {}, ["owner"]),
    "contract-confirm": (
        lambda w: reverse("procurement:manage-contract-confirm", args=[w.project.pk]),
        {},
        ["owner"],
    ),
    "contract-amend": (
        lambda w: reverse("procurement:manage-contract-amend", args=[w.project.pk]),
        {"amend-new_amount": "1", "amend-reason": "变更"},
        ["owner"],
    ),
    "decline": (
        lambda w: reverse("procurement:manage-decline", args=[w.project.pk]),
        {"decline-reason": "不做了"},
        [],
    ),
    "deliver": (lambda w: reverse("procurement:manage-deliver", args=[w.project.pk]), {}, []),
    "delivery-decide": (
        lambda w: reverse("procurement:manage-delivery-decide", args=[w.project.pk]),
        {"decide-accept": "1"},
        ["owner"],
    ),
    "rate": (lambda w: reverse("procurement:manage-rate", args=[w.project.pk]), {}, ["owner"]),
    "dispute": (
        lambda w: reverse("procurement:manage-dispute", args=[w.project.pk, _rating(w).pk]),
        {"dispute-reason": "不公"},
        ["owner"],
    ),
    "object": (
        lambda w: reverse("procurement:manage-object", args=[w.project.pk]),
        {"object-text": "有问题"},
        ["intermediary"],
    ),
    "withdraw": (
        lambda w: reverse("procurement:application-withdraw", args=[w.application.pk]),
        {},
        ["intermediary"],
    ),
    "project-create": (
        lambda w: reverse("procurement:project-create"),
        lambda w: _project_post(w.service_type),
        ["owner", "other_owner"],
    ),
    "project-edit": (
        lambda w: reverse("procurement:project-edit", args=[w.draft.pk]),
        lambda w: _project_post(w.service_type, title="别人的草稿"),
        ["owner"],
    ),
    "apply": (
        lambda w: reverse("procurement:apply", args=[w.project.pk]),
        {"quote": "70000"},
        ["intermediary", "other_intermediary"],
    ),
}
# Refusals that are 404 rather than 403: the persona cannot even see the object.
UNSEEN = {("withdraw", "other_intermediary"), ("project-edit", "other_owner")}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "persona"),
    [(a, p) for a, (_url, _data, entitled) in ACTIONS.items() for p in PERSONAS if p not in entitled],
)
def test_action_by_anyone_not_entitled_is_refused_and_changes_nothing(client, login, world, action, persona):
    """The entitled persona's refusals (by state) are tested below."""
    url_for, data, _entitled = ACTIONS[action]
    url = url_for(world)
    data = data(world) if callable(data) else data
    before = _state()
    expected = LOGIN if persona == "anonymous" else 404 if (action, persona) in UNSEEN else 403

    response = _as(client, login, world, persona).post(url, data)

    _assert_outcome(response, expected)
    assert _state() == before


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS[1:])
def test_get_on_an_action_url_is_not_allowed(client, login, world, persona):
    response = _as(client, login, world, persona).get(
        reverse("procurement:manage-cancel", args=[world.project.pk])
    )

    assert response.status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("manage-submit", {}, "不能变更为"),
        ("manage-pick", {"pick-reason": "理由"}, "选定机构："),
        ("manage-delivery-decide", {"decide-accept": "1"}, "没有待验收的成果"),
        ("manage-contract-amend", {"amend-new_amount": "1000", "amend-reason": "变更"}, "尚未签订合同"),
        ("manage-cancel", {"cancel-reason": ""}, "该字段是必填项"),
    ],
)
def test_owner_action_the_state_does_not_allow_is_refused_with_the_reason(
    client, login, world, action, data, message
):
    login(client, world.personas.owner)
    before = _state()

    response = client.post(reverse(f"procurement:{action}", args=[world.project.pk]), data)

    assert response.status_code == 400
    assert message in response.content.decode().replace(",", "")
    assert _state() == before


@pytest.mark.django_db
def test_objection_before_the_result_is_refused(client, login, world):
    login(client, world.personas.intermediary)
    before = _state()

    response = client.post(
        reverse("procurement:manage-object", args=[world.project.pk]), {"object-text": "不服"}
    )

    assert response.status_code == 400
    assert "只能在结果公示期内提出异议" in response.content.decode().replace(",", "")
    assert _state() == before


@pytest.mark.django_db
def test_manage_page_shows_only_the_actions_of_the_current_state(client, login, world):
    login(client, world.personas.owner)
    published = client.get(reverse("procurement:manage", args=[world.project.pk]))
    draft = client.get(reverse("procurement:manage", args=[world.draft.pk]))
    login(client, world.personas.intermediary)
    firm_view = client.get(reverse("procurement:manage", args=[world.project.pk]))

    assert published.context["actions"] == {"cancel"}
    assert draft.context["actions"] == {"edit", "submit", "cancel"}
    assert firm_view.context["actions"] == set()
    assert reverse(
        "procurement:manage-cancel", args=[world.project.pk]
    ) not in firm_view.content.decode().replace(",", "")


# --- posting a project ------------------------------------------------------------------------


@pytest.mark.django_db
def test_owner_posts_a_project_with_requirements_and_an_exclusion(client, login, personas):
    service_type = ServiceTypeFactory(standard_practitioners=5)
    qtype = QualificationTypeFactory()
    standard = QualificationLevelFactory(qualification_type=qtype, rank=2, name_zh="乙级")
    allow_qualification(service_type, qtype, standard_level=standard)
    login(client, personas.owner)

    response = client.post(
        reverse("procurement:project-create"),
        _project_post(
            service_type,
            required_practitioners=2,
            req_1_type=qtype.pk,
            req_1_level=standard.pk,
            exc_1_uscc=personas.other_firm.uscc,
            exc_1_reason="业主的关联企业",
            submit="1",
        ),
    )

    project = Project.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("procurement:manage", args=[project.pk])
    assert project.status == Status.UNDER_CHECK
    assert project.owner == personas.owner.memberships.get().organisation
    assert [(r.qualification_type, r.min_level) for r in project.requirements.all()] == [(qtype, standard)]
    assert [(e.intermediary, e.reason) for e in project.exclusions.all()] == [
        (personas.other_firm, "业主的关联企业")
    ]
    assert timezone.localtime(project.registration_deadline).hour == 17


@pytest.mark.django_db
def test_the_form_shows_the_thresholds_and_the_minimum_registration_period(client, login, personas):
    login(client, personas.owner)

    body = client.get(reverse("procurement:project-create")).content.decode().replace(",", "")

    assert "财政资金 50000 元，非财政资金 200000 元" in body
    assert "报名期不少于 5 个工作日" in body
    assert 'type="datetime-local"' in body


def _standard_level_setup():
    service_type = ServiceTypeFactory()
    qtype = QualificationTypeFactory()
    top = QualificationLevelFactory(qualification_type=qtype, rank=1, name_zh="甲级")
    standard = QualificationLevelFactory(qualification_type=qtype, rank=2, name_zh="乙级")
    allow_qualification(service_type, qtype, standard_level=standard)
    return service_type, {"req_1_type": qtype.pk, "req_1_level": top.pk}


BAD_POSTS = {
    "direct above threshold": (
        lambda st: (st, {"method": "direct", "method_reason": "急需"}),
        "直接选取仅适用于最高限价低于 50000 元的财政资金项目",
    ),
    "direct without a reason": (
        lambda st: (st, {"method": "direct", "price_floor": "10000", "price_ceiling": "40000"}),
        "直接选取必须书面说明理由",
    ),
    "random draw with a band": (lambda st: (st, {"method": "random_draw"}), "最低限价须等于最高限价"),
    "regional wording": (
        lambda st: (st, {"service_content": "投标人须在枣庄市注册，编制环境影响报告书"}),
        "不得设置地域限制：“须在枣庄市注册”",
    ),
    "registration too short": (
        lambda st: (
            st,
            {
                "registration_deadline": _local(future_deadline(2)),
                "selection_time": _local(future_deadline(2) + timedelta(hours=1)),
            },
        ),
        "报名期不得少于 5 个工作日",
    ),
    "level above the standard": (lambda st: _standard_level_setup(), "资质等级要求不得高于标准等级（乙级）"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", BAD_POSTS)
def test_a_bad_project_is_refused_with_the_reason_and_nothing_is_written(client, login, personas, case):
    make, message = BAD_POSTS[case]
    service_type, overrides = make(ServiceTypeFactory())
    login(client, personas.owner)
    before = _state()

    response = client.post(reverse("procurement:project-create"), _project_post(service_type, **overrides))

    assert response.status_code == 400
    assert message in response.content.decode().replace(",", "")
    assert _state() == before


@pytest.mark.django_db
def test_an_unknown_exclusion_code_is_shown_on_its_row(client, login, personas):
    login(client, personas.owner)
    before = _state()

    response = client.post(
        reverse("procurement:project-create"),
        _project_post(ServiceTypeFactory(), exc_2_uscc="91370400MA3XXXXXX0", exc_2_reason="关联"),
    )

    assert response.status_code == 400
    assert response.context["form"].errors["exc_2_uscc"]
    assert _state() == before


@pytest.mark.django_db
def test_owner_edits_a_draft_and_cannot_edit_a_published_project(client, login, world):
    login(client, world.personas.owner)

    response = client.post(
        reverse("procurement:project-edit", args=[world.draft.pk]),
        _project_post(world.service_type, title="修改后的项目名称"),
    )
    world.draft.refresh_from_db()
    assert response.status_code == 302
    assert world.draft.title == "修改后的项目名称" and world.draft.status == Status.DRAFT

    form_page = client.get(reverse("procurement:project-edit", args=[world.draft.pk]))
    assert form_page.context["form"]["registration_deadline"].value() is not None
    assert 'value="修改后的项目名称"' in form_page.content.decode().replace(",", "")

    before = _state()
    response = client.post(
        reverse("procurement:project-edit", args=[world.project.pk]),
        _project_post(world.service_type, title="不应保存"),
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("procurement:manage", args=[world.project.pk])
    assert _state() == before


@pytest.mark.django_db
def test_owner_submits_and_then_cancels_a_draft_from_the_project_page(client, login, world):
    login(client, world.personas.owner)

    submitted = client.post(reverse("procurement:manage-submit", args=[world.draft.pk]))
    cancelled = client.post(
        reverse("procurement:manage-cancel", args=[world.draft.pk]), {"cancel-reason": "项目调整"}
    )

    assert submitted.status_code == 302 and cancelled.status_code == 302
    world.draft.refresh_from_db()
    assert world.draft.status == Status.CANCELLED and world.draft.failure_reason == "项目调整"


# --- applying ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_firm_applies_and_its_ip_is_recorded(client, login, world):
    login(client, world.personas.other_intermediary)

    response = client.post(
        reverse("procurement:apply", args=[world.project.pk]),
        {"quote": "75000", "proposal": ""},
        REMOTE_ADDR="203.0.113.9",
    )

    assert response.status_code == 302 and response["Location"] == reverse("procurement:my-applications")
    application = Application.objects.get(intermediary=world.personas.other_firm)
    assert application.client_ip == "203.0.113.9"
    assert application.quote_amount is None  # sealed until the deadline


@pytest.mark.django_db
def test_quote_outside_the_band_is_refused(client, login, world):
    login(client, world.personas.other_intermediary)
    before = _state()

    response = client.post(reverse("procurement:apply", args=[world.project.pk]), {"quote": "100000.01"})

    assert response.status_code == 400
    assert "报价须在 50000.00 元至 100000.00 元之间" in response.content.decode().replace(",", "")
    assert _state() == before


@pytest.mark.django_db
def test_second_application_is_refused(client, login, world):
    login(client, world.personas.intermediary)
    before = _state()

    response = client.post(reverse("procurement:apply", args=[world.project.pk]), {"quote": "70000"})

    assert response.status_code == 400
    assert "不能重复报名" in response.content.decode().replace(",", "")
    assert _state() == before


@pytest.mark.django_db
def test_application_after_the_deadline_is_refused(client, login, world):
    pass_deadline(world.project)
    login(client, world.personas.other_intermediary)
    before = _state()

    response = client.post(reverse("procurement:apply", args=[world.project.pk]), {"quote": "70000"})

    assert response.status_code == 400
    assert "报名已于" in response.content.decode().replace(",", "")
    assert _state() == before


@pytest.mark.django_db
def test_withdraw_before_the_deadline_and_not_after(client, login, world):
    login(client, world.personas.intermediary)
    url = reverse("procurement:application-withdraw", args=[world.application.pk])

    assert client.post(url).status_code == 302
    world.application.refresh_from_db()
    assert world.application.state == Application.State.WITHDRAWN

    again = services.application_submit(
        actor=world.personas.intermediary, project=world.project, quote=Decimal("60000")
    )
    pass_deadline(world.project)
    before = _state()
    response = client.post(reverse("procurement:application-withdraw", args=[again.pk]))
    assert response.status_code == 400
    assert "报名截止后不能撤回" in response.content.decode().replace(",", "")
    assert _state() == before


@pytest.mark.django_db
def test_opportunities_show_why_a_firm_may_not_apply(client, login, world):
    qtype = QualificationTypeFactory()
    allow_qualification(world.service_type, qtype)
    strict = published_project(
        owner=world.personas.owner,
        service_type=world.service_type,
        requirements=[(qtype, None)],
        title="需要资质的项目",
    )
    login(client, world.personas.other_intermediary)

    response = client.get(reverse("procurement:opportunities"))

    rows = {row.project.pk: row for row in response.context["rows"]}
    assert rows[world.project.pk].eligible and not rows[strict.pk].eligible
    body = response.content.decode().replace(",", "")
    assert "不具备在报名截止日有效的所需资质" in body
    assert reverse("procurement:apply", args=[world.project.pk]) in body
    assert reverse("procurement:apply", args=[strict.pk]) not in body


@pytest.mark.django_db
def test_opportunity_reasons_are_those_of_the_eligibility_check():
    service_type = ServiceTypeFactory(standard_practitioners=5)
    q1, q2 = QualificationTypeFactory(), QualificationTypeFactory()
    grade_a = QualificationLevelFactory(qualification_type=q1, rank=1)
    grade_b = QualificationLevelFactory(qualification_type=q1, rank=2)
    for q in (q1, q2):
        allow_qualification(service_type, q)
    owner = owner_user()
    firms = [
        firm_user(service_type)[0],
        firm_user(service_type, blacklisted_until=timezone.localdate() + timedelta(days=30))[0],
        firm_user(service_type, status="draft")[0],
    ]
    QualificationFactory(intermediary=firms[0], qualification_type=q1, level=grade_b)
    QualificationFactory(
        intermediary=firms[1],
        qualification_type=q2,
        valid_until=timezone.localdate() + timedelta(days=1),
    )
    PractitionerFactory(intermediary=firms[0])
    projects = [
        published_project(owner=owner, service_type=service_type),
        published_project(owner=owner, service_type=service_type, requirements=[(q1, grade_a)]),
        published_project(owner=owner, service_type=service_type, requirements=[(q1, grade_b)]),
        published_project(
            owner=owner,
            service_type=service_type,
            requirements=[(q1, None), (q2, None)],
            qualification_rule="all",
            required_practitioners=2,
        ),
        published_project(owner=owner, service_type=service_type, exclusions=[(firms[0], "关联")]),
    ]
    for firm in firms:
        rows = sw.opportunities_with_eligibility(
            sw.opportunities(firm).filter(pk__in=[p.pk for p in projects]), firm
        )
        assert {r.project.pk: r.reasons for r in rows} == {
            p.pk: services.check_eligibility(p, firm) for p in projects
        }


# --- sealed quotes ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_page_shows_a_quote_or_an_applicant_before_the_deadline(client, login, world):
    services.application_submit(
        actor=world.personas.other_intermediary, project=world.project, quote=Decimal("87654.32")
    )
    pages = {
        "owner": reverse("procurement:manage", args=[world.project.pk]),
        "intermediary": reverse("procurement:manage", args=[world.project.pk]),
        "other_intermediary": reverse("procurement:my-applications"),
    }
    for persona, url in pages.items():
        login(client, world.users[persona])
        body = client.get(url).content.decode().replace(",", "")
        assert "87654" not in body and "87,654" not in body and "60000.00" not in body
        if persona == "intermediary":
            assert world.personas.other_firm.name not in body

    pass_deadline(world.project)
    services.tick()
    login(client, world.personas.owner)
    body = (
        client.get(reverse("procurement:manage", args=[world.project.pk])).content.decode().replace(",", "")
    )
    assert "87654.32" in body and world.personas.other_firm.name in body


# --- journeys through the pages ---------------------------------------------------------------


def _manage(client, project):
    response = client.get(reverse("procurement:manage", args=[project.pk]))
    assert response.status_code == 200
    return response


@pytest.mark.django_db
def test_lowest_price_journey_from_posting_to_closing_through_the_pages(client, login):
    service_type = ServiceTypeFactory()
    owner = owner_user()
    firms = [firm_user(service_type) for _ in range(3)]

    # The owner posts and submits; the operator publishes.
    login(client, owner)
    response = client.post(reverse("procurement:project-create"), _project_post(service_type, submit="1"))
    assert response.status_code == 302
    project = Project.objects.get()
    assert project.status == Status.UNDER_CHECK
    services.project_check(actor=operator_user(), project=project, approve=True)

    # Three firms find it and apply.
    for (_firm, user), quote in zip(firms, ["90000", "70000", "80000"], strict=True):
        login(client, user)
        opportunities = client.get(reverse("procurement:opportunities"))
        assert [r.project.pk for r in opportunities.context["rows"]] == [project.pk]
        response = client.post(reverse("procurement:apply", args=[project.pk]), {"quote": quote})
        assert response.status_code == 302, response.content.decode().replace(",", "")[:1500]

    # Registration closes and the lowest quote wins; the publicity ends.
    pass_deadline(project)
    services.tick()
    project.refresh_from_db()
    assert project.status == Status.SELECTED
    winner_firm, winner = firms[1]
    assert project.selections.get().winner.intermediary == winner_firm
    Project.objects.filter(pk=project.pk).update(publicity_ends_on=timezone.localdate() - timedelta(days=1))
    services.tick()
    project.refresh_from_db()
    assert project.status == Status.CONTRACTING

    # The owner uploads the contract, the winner reads and confirms it.
    login(client, owner)
    assert "contract" in _manage(client, project).context["actions"]
    response = client.post(
        reverse("procurement:manage-contract", args=[project.pk]),
        {"contract-document": pdf_upload("contract.pdf"), "contract-pay_after_acceptance": "on"},
    )
    assert response.status_code == 302
    login(client, winner)
    assert _manage(client, project).context["actions"] >= {"contract_confirm", "decline"}
    document = client.get(reverse("procurement:contract-document", args=[project.pk]))
    assert document.status_code == 200 and document["Cache-Control"] == "private, no-store"
    login(client, firms[0][1])
    assert client.get(reverse("procurement:contract-document", args=[project.pk])).status_code == 403
    login(client, winner)
    assert client.post(reverse("procurement:manage-contract-confirm", args=[project.pk])).status_code == 302
    project.refresh_from_db()
    assert project.status == Status.IN_SERVICE and project.contract.amount == Decimal("70000.00")

    # The winner delivers; the owner accepts.
    response = client.post(
        reverse("procurement:manage-deliver", args=[project.pk]),
        {"deliver-document": pdf_upload("report.pdf"), "deliver-note": "环境影响报告书（报批稿）"},
    )
    assert response.status_code == 302
    login(client, owner)
    assert "decide" in _manage(client, project).context["actions"]
    response = client.post(
        reverse("procurement:manage-delivery-decide", args=[project.pk]), {"decide-accept": "1"}
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.status == Status.ACCEPTED

    # Both rate; the next tick closes the project.
    response = client.post(
        reverse("procurement:manage-rate", args=[project.pk]),
        {
            "rate-quality": "5",
            "rate-timeliness": "4",
            "rate-attitude": "5",
            "rate-fee_compliance": "5",
            "rate-conduct": "5",
            "rate-comment": "报告质量好",
        },
    )
    assert response.status_code == 302
    login(client, winner)
    response = client.post(
        reverse("procurement:manage-rate", args=[project.pk]),
        {"rate-payment_timeliness": "5", "rate-non_interference": "5"},
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.status == Status.RATED
    services.tick()
    project.refresh_from_db()
    assert project.status == Status.CLOSED

    page = _manage(client, project)
    assert page.context["actions"] == {"dispute"}  # the winner may still dispute the owner's rating
    labels = [e["label"] for e in page.context["timeline"]]
    assert str(labels[0]) == "创建项目" and str(labels[-1]) == "项目完结"
    winner_firm.refresh_from_db()
    assert winner_firm.rating_score == Decimal("4.80")


@pytest.mark.django_db
def test_credit_preference_pick_through_the_page(client, login):
    service_type = ServiceTypeFactory()
    owner = owner_user()
    project = published_project(owner=owner, service_type=service_type, method="credit_preference")
    firms = [firm_user(service_type, credit_score=Decimal(score)) for score in ("92", "85", "78")]
    for (_, user), quote in zip(firms, ["90000", "70000", "80000"], strict=True):
        services.application_submit(actor=user, project=project, quote=Decimal(quote))
    pass_deadline(project)
    services.tick()
    project.refresh_from_db()
    assert project.status == Status.SELECTING
    login(client, owner)

    page = _manage(client, project)
    choices = dict(page.context["forms"]["pick"].fields["application"].choices)
    assert set(choices.values()) == {f.name for f, _ in firms}
    chosen = Application.objects.get(project=project, intermediary=firms[2][0])

    before = _state()
    refused = client.post(
        reverse("procurement:manage-pick", args=[project.pk]), {"pick-application": chosen.pk}
    )
    assert refused.status_code == 400 and _state() == before

    response = client.post(
        reverse("procurement:manage-pick", args=[project.pk]),
        {"pick-application": chosen.pk, "pick-reason": "同类项目经验最丰富"},
    )

    assert response.status_code == 302
    project.refresh_from_db()
    selection = project.selections.get()
    assert project.status == Status.SELECTED
    assert selection.winner == chosen and selection.reason == "同类项目经验最丰富"


@pytest.mark.django_db
def test_objection_filed_and_answered_through_the_pages(client, login):
    service_type = ServiceTypeFactory()
    owner = owner_user()
    project = published_project(owner=owner, service_type=service_type)
    firms = [firm_user(service_type) for _ in range(4)]
    for (_, user), quote in zip(firms, ["90000", "70000", "80000", "85000"], strict=True):
        services.application_submit(actor=user, project=project, quote=Decimal(quote))
    pass_deadline(project)
    services.tick()
    loser = firms[0][1]
    login(client, loser)
    assert "object" in _manage(client, project).context["actions"]

    response = client.post(
        reverse("procurement:manage-object", args=[project.pk]), {"object-text": "中选机构资质过期"}
    )
    assert response.status_code == 302
    objection = Objection.objects.get()

    login(client, owner)
    response = client.post(
        reverse("procurement:manage-answer", args=[project.pk, objection.pk]),
        {f"answer-{objection.pk}-upheld": "1", f"answer-{objection.pk}-answer": "经核实资质已过期"},
    )

    assert response.status_code == 302
    project.refresh_from_db()
    current = project.selections.filter(annulled=False).get()
    assert project.status == Status.SELECTED and current.winner.intermediary == firms[2][0]


@pytest.mark.django_db
def test_winner_declines_through_the_page_and_the_owner_relaunches(client, login):
    service_type = ServiceTypeFactory()
    owner = owner_user()
    project = published_project(owner=owner, service_type=service_type)
    firms = [firm_user(service_type) for _ in range(3)]
    for (_, user), quote in zip(firms, ["90000", "70000", "80000"], strict=True):
        services.application_submit(actor=user, project=project, quote=Decimal(quote))
    pass_deadline(project)
    services.tick()
    login(client, firms[1][1])

    response = client.post(
        reverse("procurement:manage-decline", args=[project.pk]), {"decline-reason": "人手不足"}
    )

    assert response.status_code == 302
    project.refresh_from_db()
    assert project.status == Status.FAILED and WalkAway.objects.count() == 1
    login(client, owner)
    deadline = future_deadline(8)
    response = client.post(
        reverse("procurement:manage-relaunch", args=[project.pk]),
        {
            "relaunch-registration_deadline": _local(deadline),
            "relaunch-selection_time": _local(deadline + timedelta(hours=2)),
            "relaunch-method": "",
        },
    )
    new = Project.objects.get(relaunch_of=project)
    assert response.status_code == 302 and response["Location"] == reverse(
        "procurement:manage", args=[new.pk]
    )
    assert new.status == Status.DRAFT and new.method == project.method


@pytest.mark.django_db
def test_scored_comparison_scores_are_recorded_through_the_page(client, login):
    service_type = ServiceTypeFactory()
    owner = owner_user()
    project = published_project(
        owner=owner, service_type=service_type, method="scored_comparison", price_weight=40
    )
    firms = [firm_user(service_type) for _ in range(2)]
    for (_, user), quote in zip(firms, ["90000", "70000"], strict=True):
        services.application_submit(actor=user, project=project, quote=Decimal(quote), proposal="方案")
    pass_deadline(project)
    services.tick()
    project.refresh_from_db()
    assert project.status == Status.REGISTRATION_CLOSED
    login(client, owner)
    apps = list(project.applications.order_by("pk"))
    data = {}
    for a, score in zip(apps, ["92", "75"], strict=True):
        data[f"scores-evaluator_{a.pk}"] = "王工"
        data[f"scores-score_{a.pk}"] = score

    response = client.post(reverse("procurement:manage-scores", args=[project.pk]), data)

    assert response.status_code == 302
    assert EvaluatorScore.objects.count() == 2
    services.tick()
    project.refresh_from_db()
    assert project.status == Status.SELECTED


@pytest.mark.django_db
def test_the_owner_starts_a_due_scored_comparison_from_the_page(client, login):
    service_type = ServiceTypeFactory()
    owner = owner_user()
    project = published_project(
        owner=owner, service_type=service_type, method="scored_comparison", price_weight=40
    )
    for _, user in [firm_user(service_type) for _ in range(2)]:
        services.application_submit(actor=user, project=project, quote=Decimal("80000"), proposal="方案")
    pass_deadline(project)
    services.tick()
    login(client, owner)
    page = client.get(reverse("procurement:manage", args=[project.pk])).content.decode()
    assert reverse("procurement:manage-start", args=[project.pk]) in page
    refused = client.post(reverse("procurement:manage-start", args=[project.pk]), {})
    project.refresh_from_db()
    assert refused.status_code == 400 and project.status == Status.REGISTRATION_CLOSED  # scores missing
    for a in project.applications.all():
        services.scores_record(actor=owner, project=project, scores=[(a, "王工", "85")])

    response = client.post(reverse("procurement:manage-start", args=[project.pk]), {})

    project.refresh_from_db()
    assert response.status_code == 302 and project.status == Status.SELECTED


@pytest.mark.django_db
def test_notifications_show_the_active_organisations_messages(client, login, world):
    login(client, world.personas.owner)

    response = client.get(reverse("procurement:notifications"))

    assert response.status_code == 200
    assert [n.message for n in response.context["items"]] == [f"项目已发布：{world.project}"]
    login(client, world.personas.intermediary)
    assert list(client.get(reverse("procurement:notifications")).context["items"]) == []


# --- query counts (STYLE 14) -------------------------------------------------------------------

SIZES = [5, 20]


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# Measured on SQLite, the same for 5 and 20 rows. Every page pays 4 for the signed-in user
# (session, user, active membership, the menu's memberships); then my projects: count + rows;
# opportunities: firm, count, rows, requirements, exclusions, qualifications, practitioner
# count, own applications; my applications: firm, count + rows.
MY_PROJECTS_QUERIES = 6
OPPORTUNITIES_QUERIES = 12
MY_APPLICATIONS_QUERIES = 7
# The project page: the project and its record (project_detail), the timeline, the scores.
MANAGE_QUERIES = 17


@pytest.mark.django_db
def test_my_projects_query_count_does_not_grow(client, login):
    owner = owner_user()
    service_type = ServiceTypeFactory()
    login(client, owner)
    counts = []
    for n in SIZES:
        while Project.objects.count() < n:
            services.project_create(actor=owner, data=project_input(service_type=service_type))
        counts.append(_count(client, reverse("procurement:my-projects")))
    assert counts[0] == counts[1] <= MY_PROJECTS_QUERIES, counts


@pytest.mark.django_db
def test_opportunities_query_count_does_not_grow(client, login):
    service_type = ServiceTypeFactory()
    qtype = QualificationTypeFactory()
    allow_qualification(service_type, qtype)
    firm, user = firm_user(service_type)
    QualificationFactory(intermediary=firm, qualification_type=qtype)
    owner, operator = owner_user(), operator_user()
    login(client, user)
    counts = []
    for n in SIZES:
        while Project.objects.count() < n:
            k = Project.objects.count()
            published_project(
                owner=owner,
                operator=operator,
                service_type=service_type,
                requirements=[(qtype, None)] if k % 2 else [],
                exclusions=[(firm, "关联")] if k % 5 == 0 else [],
                required_practitioners=1 if k % 3 == 0 else 0,
            )
        response_rows = len(client.get(reverse("procurement:opportunities")).context["rows"])
        assert response_rows == n
        counts.append(_count(client, reverse("procurement:opportunities")))
    assert counts[0] == counts[1] <= OPPORTUNITIES_QUERIES, counts


@pytest.mark.django_db
def test_my_applications_query_count_does_not_grow(client, login):
    service_type = ServiceTypeFactory()
    firm, user = firm_user(service_type)
    owner, operator = owner_user(), operator_user()
    login(client, user)
    counts = []
    for n in SIZES:
        while Application.objects.count() < n:
            project = published_project(owner=owner, operator=operator, service_type=service_type)
            services.application_submit(actor=user, project=project, quote=Decimal("60000"))
            if Application.objects.count() % 4 == 0:
                pass_deadline(project)
                services.tick()
        counts.append(_count(client, reverse("procurement:my-applications")))
    assert counts[0] == counts[1] <= MY_APPLICATIONS_QUERIES, counts


@pytest.mark.django_db
def test_a_member_of_two_owners_acts_for_the_active_one(client, login, personas):
    """The workspace follows the active membership, not the first one the user has."""
    user = personas.owner
    second = OrganisationFactory(kind=Role.OWNER)
    MembershipFactory(user=user, organisation=second)
    login(client, user)
    session = client.session
    session["active_membership_id"] = user.memberships.get(organisation=second).pk
    session.save()

    response = client.post(reverse("procurement:project-create"), _project_post(ServiceTypeFactory()))

    assert response.status_code == 302
    assert Project.objects.get().owner == second


@pytest.mark.django_db
def test_project_page_query_count_does_not_grow_with_applicants(client, login):
    """A scored comparison after close: the applications table and a score row per applicant."""
    service_type = ServiceTypeFactory()
    owner, operator = owner_user(), operator_user()
    login(client, owner)
    counts = []
    for n in SIZES:
        project = published_project(
            owner=owner,
            operator=operator,
            service_type=service_type,
            method="scored_comparison",
            price_weight=30,
        )
        for _ in range(n):
            services.application_submit(
                actor=firm_user(service_type)[1], project=project, quote=Decimal("80000")
            )
        pass_deadline(project)
        services.tick()
        first = project.applications.first()
        services.scores_record(actor=owner, project=project, scores=[(first, "王工", "90")])
        counts.append(_count(client, reverse("procurement:manage", args=[project.pk])))
    assert counts[0] == counts[1] <= MANAGE_QUERIES, counts
