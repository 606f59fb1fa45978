"""The procurement API: authorisation matrix of every write, sealed quotes, bad input, one full
lowest-price project, query counts and the OpenAPI schema.

Projects are brought into each state through the real services (``factories``); the request
under test goes through the API. A refused request must leave every procurement record, the
notifications and the audit log as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.accounts.middleware import SESSION_KEY
from marketplace.accounts.models import Role
from marketplace.core.audit import audit_verify
from marketplace.core.models import AuditEvent
from marketplace.procurement import services
from marketplace.procurement.models import (
    Amendment,
    Application,
    Contract,
    Delivery,
    EvaluatorScore,
    Notification,
    Objection,
    Project,
    Rating,
    Selection,
    Status,
    WalkAway,
)
from marketplace.procurement.services.timeline import publicity_end
from tests.factories import (
    DepartmentFactory,
    MembershipFactory,
    OfferFactory,
    OrganisationFactory,
    QualificationTypeFactory,
    ServiceTypeFactory,
    allow_qualification,
    pdf_upload,
)

from .factories import firm_user, future_deadline, owner_user, pass_deadline, project_input, published_project

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.procurement.api_test_urls")]

PERSONAS = [
    "anonymous",
    "intermediary",
    "other_intermediary",
    "owner",
    "other_owner",
    "department",
    "regulator",
    "operator",
]
OWNER_SCORES = {"quality": 5, "timeliness": 4, "attitude": 5, "fee_compliance": 5, "conduct": 5}
FIRM_SCORES = {"payment_timeliness": 5, "non_interference": 5}
# Quotes no response may contain before registration closes (distinctive, so no false match).
SEALED_QUOTES = ("61234.57", "72345.68")


def send(client, method: str, url: str, data: dict | None = None, *, multipart: bool = False):
    call = getattr(client, method.lower())
    if method.upper() == "GET" or multipart:
        return call(url, data or {})
    return call(url, data or {}, content_type="application/json")


def errors(response) -> str:
    """Every message of a 400 response, joined (the ``code`` left out)."""
    found: list[str] = []

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key != "code":
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        else:
            found.append(str(value))

    walk(response.json())
    return " | ".join(found)


def snapshot() -> dict[str, Any]:
    """Everything a procurement write may touch."""

    def rows(model, *fields):
        return list(model.objects.order_by("pk").values_list("pk", *fields))

    return {
        "projects": rows(Project, "status", "title", "check_note", "failure_reason"),
        "applications": rows(Application, "state", "withdrawn_at", "submitted_at"),
        "selections": rows(Selection, "winner_id", "annulled", "reason"),
        "scores": rows(EvaluatorScore, "score"),
        "objections": rows(Objection, "outcome", "answer"),
        "contracts": rows(Contract, "amount", "confirmed_at"),
        "amendments": rows(Amendment),
        "deliveries": rows(Delivery, "decision"),
        "ratings": rows(Rating, "disputed_at", "dispute_outcome"),
        "walkaways": rows(WalkAway),
        "notifications": Notification.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


# --- the world and the states a project goes through -----------------------------------------


class World:
    """The personas (plus a second owner), a service type both firms offer, and builders for a
    privately funded project (one valid applicant suffices) in each state, owned by ``owner``;
    ``firm`` wins at 60,000 against ``other_firm`` at 80,000."""

    def __init__(self, personas):
        self.personas = personas
        self.owner = personas.owner
        self.operator = personas.operator
        self.firm_user = personas.intermediary
        self.other_firm_user = personas.other_intermediary
        self.service_type = ServiceTypeFactory()
        for firm in (personas.firm, personas.other_firm):
            OfferFactory(intermediary=firm, service_type=self.service_type)
        self.other_owner = owner_user()

    def users(self) -> dict[str, Any]:
        return {**self.personas.all(), "other_owner": self.other_owner}

    # states ----------------------------------------------------------------------------------

    def draft(self, **overrides) -> Project:
        data = project_input(service_type=self.service_type, funding_source="private", **overrides)
        return services.project_create(actor=self.owner, data=data)

    def under_check(self) -> Project:
        project = self.draft()
        return services.project_submit(actor=self.owner, project=project)

    def published(self, **overrides) -> Project:
        overrides.setdefault("funding_source", "private")
        return published_project(
            owner=self.owner, operator=self.operator, service_type=self.service_type, **overrides
        )

    def apply(self, project: Project, user, quote: str = "60000") -> Application:
        return services.application_submit(actor=user, project=project, quote=Decimal(quote))

    def with_application(self) -> Project:
        project = self.published()
        self.apply(project, self.firm_user)
        return project

    def failed(self) -> Project:
        project = pass_deadline(self.published())
        return services.registration_close(project=project)

    def closed(self, **overrides) -> Project:
        project = self.published(**overrides)
        self.apply(project, self.firm_user, overrides.get("price_floor", "60000"))
        return services.registration_close(project=pass_deadline(project))

    def direct_closed(self) -> Project:
        return self.closed(
            method="direct",
            method_reason="金额小、时限紧，直接选取",
            price_floor="10000",
            price_ceiling="50000",
        )

    def scored_closed(self) -> Project:
        return self.closed(method="scored_comparison", price_weight=50)

    def selected(self) -> Project:
        project = self.published()
        self.apply(project, self.firm_user, "60000")
        self.apply(project, self.other_firm_user, "80000")
        services.selection_run(project=pass_deadline(project))
        project.refresh_from_db()
        assert project.status == Status.SELECTED
        return project

    def objection_pending(self) -> Project:
        project = self.selected()
        services.objection_file(actor=self.other_firm_user, project=project, text="中选机构报价异常低")
        return project

    def contracting(self) -> Project:
        project = self.selected()
        yesterday = timezone.localdate() - timedelta(days=1)
        Project.objects.filter(pk=project.pk).update(publicity_ends_on=yesterday)
        return publicity_end(project=project)

    def contract_uploaded(self) -> Project:
        project = self.contracting()
        services.contract_upload(actor=self.owner, project=project, document=pdf_upload("contract.pdf"))
        return project

    def in_service(self) -> Project:
        project = self.contract_uploaded()
        services.contract_confirm(actor=self.firm_user, project=project)
        return project

    def delivered(self) -> Project:
        project = self.in_service()
        services.delivery_submit(actor=self.firm_user, project=project, document=pdf_upload("report.pdf"))
        return project

    def accepted(self) -> Project:
        project = self.delivered()
        services.delivery_decide(actor=self.owner, project=project, accept=True)
        return project

    def rated_by_owner(self) -> Rating:
        project = self.accepted()
        return services.rating_submit(actor=self.owner, project=project, scores=OWNER_SCORES)

    def disputed(self) -> Rating:
        rating = self.rated_by_owner()
        return services.rating_dispute(actor=self.firm_user, rating=rating, reason="评分与事实不符")


@pytest.fixture
def world(personas) -> World:
    return World(personas)


def project_payload(world: World, **overrides) -> dict[str, Any]:
    deadline = future_deadline()
    values = {
        "title": "某某道路建设项目环境影响评价",
        "service_type": world.service_type.code,
        "funding_source": "private",
        "scale": "5000",
        "price_floor": "50000",
        "price_ceiling": "100000",
        "service_content": "编制环境影响报告书并配合技术评估",
        "service_days": 30,
        "method": "lowest_price",
        "registration_deadline": deadline.isoformat(),
        "selection_time": (deadline + timedelta(hours=1)).isoformat(),
    }
    values.update(overrides)
    return values


def relaunch_payload() -> dict[str, str]:
    deadline = future_deadline()
    return {
        "registration_deadline": deadline.isoformat(),
        "selection_time": (deadline + timedelta(hours=1)).isoformat(),
    }


def firm_application(project: Project, world: World) -> Application:
    return project.applications.get(intermediary=world.personas.firm)


# --- authorisation matrix of every write endpoint ---------------------------------------------


@dataclass
class Case:
    name: str
    method: str
    # Builds the state; returns the object the URL and payload refer to (a project, a rating...).
    setup: Callable[[World], Any]
    url: Callable[[Any], str]
    payload: Callable[[World, Any], dict]
    # persona -> status of a successful request (each on a fresh state).
    allowed: dict[str, int]
    # persona -> status of a refusal other than 403 (404: not visible; 400: a rule refuses).
    refused: dict[str, int] = field(default_factory=dict)
    multipart: bool = False


def _p(suffix: str) -> Callable[[Any], str]:
    return lambda obj: f"/api/projects/{obj.pk}/{suffix}"


CASES = [
    Case(
        "create",
        "POST",
        lambda w: None,
        lambda obj: "/api/projects/",
        lambda w, obj: project_payload(w),
        allowed={"owner": 201, "other_owner": 201},
    ),
    Case(
        "update",
        "PATCH",
        World.draft,
        _p(""),
        lambda w, obj: {"title": "修改后的项目名称"},
        allowed={"owner": 200},
        refused={"other_owner": 404},
    ),
    Case(
        "submit",
        "POST",
        World.draft,
        _p("submit/"),
        lambda w, obj: {},
        allowed={"owner": 200},
        refused={"other_owner": 404},
    ),
    Case(
        "cancel",
        "POST",
        World.published,
        _p("cancel/"),
        lambda w, obj: {"reason": "项目计划调整"},
        allowed={"owner": 200},
    ),
    Case(
        "check",
        "POST",
        World.under_check,
        _p("check/"),
        lambda w, obj: {"approve": True, "note": "符合要求"},
        allowed={"operator": 200},
    ),
    Case(
        "relaunch",
        "POST",
        World.failed,
        _p("relaunch/"),
        lambda w, obj: relaunch_payload(),
        allowed={"owner": 201},
    ),
    Case(
        "pick",
        "POST",
        World.direct_closed,
        _p("pick/"),
        lambda w, obj: {"application": firm_application(obj, w).pk, "reason": "该机构熟悉本项目所在区域情况"},
        allowed={"owner": 200},
    ),
    Case(
        "scores",
        "POST",
        World.scored_closed,
        _p("scores/"),
        lambda w, obj: {
            "scores": [{"application": firm_application(obj, w).pk, "evaluator": "王评审", "score": "88.5"}]
        },
        allowed={"owner": 200},
    ),
    Case(
        "objection-answer",
        "POST",
        World.objection_pending,
        lambda obj: f"/api/projects/{obj.pk}/objections/{obj.objections.get().pk}/answer/",
        lambda w, obj: {"upheld": False, "answer": "经核查，报价在限价范围内，异议不成立"},
        allowed={"owner": 200},
    ),
    Case(
        "contract-upload",
        "POST",
        World.contracting,
        _p("contract/"),
        lambda w, obj: {"document": pdf_upload("contract.pdf"), "pay_after_acceptance": "true"},
        allowed={"owner": 201, "intermediary": 201},
        multipart=True,
    ),
    Case(
        "contract-confirm",
        "POST",
        World.contract_uploaded,
        _p("contract/confirm/"),
        lambda w, obj: {},
        allowed={"intermediary": 200},
        refused={"owner": 400},  # the side that uploaded cannot confirm
    ),
    Case(
        "contract-amend",
        "POST",
        World.in_service,
        _p("contract/amend/"),
        lambda w, obj: {"new_amount": "55000", "reason": "服务范围缩小，经双方协商"},
        allowed={"owner": 201},
    ),
    Case(
        "deliver",
        "POST",
        World.in_service,
        _p("deliver/"),
        lambda w, obj: {"document": pdf_upload("report.pdf"), "note": "环境影响报告书"},
        allowed={"intermediary": 201},
        multipart=True,
    ),
    Case(
        "delivery-decide",
        "POST",
        World.delivered,
        _p("delivery/decide/"),
        lambda w, obj: {"accept": True},
        allowed={"owner": 200},
    ),
    Case(
        "rate",
        "POST",
        World.accepted,
        _p("rate/"),
        lambda w, obj: {"scores": {**OWNER_SCORES, **FIRM_SCORES}, "comment": "按时高质量完成"},
        allowed={"owner": 201, "intermediary": 201},
    ),
    Case(
        "rating-dispute",
        "POST",
        World.rated_by_owner,
        lambda rating: f"/api/ratings/{rating.pk}/dispute/",
        lambda w, obj: {"reason": "评分与事实不符"},
        allowed={"intermediary": 200},
    ),
    Case(
        "rating-decide",
        "POST",
        World.disputed,
        lambda rating: f"/api/ratings/{rating.pk}/decide/",
        lambda w, obj: {"uphold": True},
        allowed={"regulator": 200},
    ),
    Case(
        "apply",
        "POST",
        World.published,
        _p("apply/"),
        lambda w, obj: {"quote": "60000", "proposal": "组建专项团队"},
        allowed={"intermediary": 201, "other_intermediary": 201},
    ),
    Case(
        "withdraw",
        "POST",
        World.with_application,
        lambda obj: f"/api/applications/{obj.applications.get().pk}/withdraw/",
        lambda w, obj: {},
        allowed={"intermediary": 200},
        refused={"other_intermediary": 404},
    ),
    Case(
        "object",
        "POST",
        World.selected,
        _p("object/"),
        lambda w, obj: {"text": "中选机构的从业人员不足"},
        allowed={"other_intermediary": 201},
        refused={"intermediary": 400},  # the winner cannot object to its own win
    ),
    Case(
        "decline",
        "POST",
        World.selected,
        _p("decline/"),
        lambda w, obj: {"reason": "人员调整，无法按期提供服务"},
        allowed={"intermediary": 201},
    ),
]


def _request(client, login, world: World, case: Case, persona: str, obj):
    login(client, world.users()[persona])
    return send(client, case.method, case.url(obj), case.payload(world, obj), multipart=case.multipart)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_write_endpoint_authorisation(client, login, world, case):
    # Refusals change nothing, so they all run against one state; each success gets its own.
    obj = case.setup(world)
    before = snapshot()
    for persona in PERSONAS:
        if persona in case.allowed:
            continue
        response = _request(client, login, world, case, persona, obj)
        expected = case.refused.get(persona, 403)
        assert response.status_code == expected, (persona, response.content.decode())
        assert snapshot() == before, persona

    for persona, expected in case.allowed.items():
        obj = case.setup(world)
        before = snapshot()
        response = _request(client, login, world, case, persona, obj)
        assert response.status_code == expected, (persona, response.content.decode())
        after = snapshot()
        assert after != before, persona
        assert after["audit"] > before["audit"], persona


def test_refusals_answer_in_chinese(client, login, world):
    project = world.published()
    login(client, world.firm_user)

    response = send(client, "POST", f"/api/projects/{project.pk}/cancel/", {"reason": "x"})

    assert response.status_code == 403
    assert "无权" in response.json()["detail"]


def test_owner_acts_only_for_the_active_organisation(client, login, world):
    """A user who belongs to two owners acts for the one selected, not for every one they are in."""
    project = world.draft()
    user = world.owner
    other = MembershipFactory(user=user, organisation=OrganisationFactory(kind=Role.OWNER))
    login(client, user)
    session = client.session
    session[SESSION_KEY] = other.pk
    session.save()
    before = snapshot()

    response = send(client, "PATCH", f"/api/projects/{project.pk}/", {"title": "借另一机构身份修改"})

    assert response.status_code == 403
    assert snapshot() == before


READ_ENDPOINTS = {
    "/api/my/projects/": {"owner", "other_owner"},
    "/api/my/applications/": {"intermediary", "other_intermediary"},
    "/api/opportunities/": {"intermediary", "other_intermediary"},
    "/api/check-queue/": {"operator"},
    "/api/notifications/": set(PERSONAS) - {"anonymous"},
}


@pytest.mark.parametrize("url", list(READ_ENDPOINTS))
def test_workspace_lists_by_role(client, login, world, url):
    world.with_application()
    for persona in PERSONAS:
        login(client, world.users()[persona])
        response = client.get(url)
        expected = 200 if persona in READ_ENDPOINTS[url] else 403
        assert response.status_code == expected, (persona, response.content.decode())


def test_drafts_are_visible_to_their_owner_and_staff_only(client, login, world):
    project = world.draft()
    for persona in PERSONAS:
        login(client, world.users()[persona])
        response = client.get(f"/api/projects/{project.pk}/")
        visible = persona in ("owner", "regulator", "operator")
        assert response.status_code == (200 if visible else 404), persona
    login(client, None)
    listed = client.get("/api/projects/").json()
    assert project.pk not in [row["id"] for row in listed["results"]]


def test_my_projects_lists_the_owners_own_including_drafts(client, login, world):
    draft = world.draft()
    published = world.published()
    theirs = services.project_create(
        actor=world.other_owner, data=project_input(service_type=world.service_type)
    )
    login(client, world.owner)

    ids = {row["id"] for row in client.get("/api/my/projects/").json()["results"]}

    assert ids == {draft.pk, published.pk}
    assert theirs.pk not in ids


def test_opportunities_give_reasons_when_the_firm_may_not_apply(client, login, world):
    open_project = world.published()
    excluded = world.published(exclusions=[(world.personas.firm, "该机构参与了项目前期论证")])
    world.apply(open_project, world.firm_user)
    login(client, world.firm_user)

    rows = {row["id"]: row for row in client.get("/api/opportunities/").json()["results"]}

    assert rows[open_project.pk]["eligible"] is True and rows[open_project.pk]["applied"] is True
    assert rows[excluded.pk]["eligible"] is False and rows[excluded.pk]["applied"] is False
    assert "回避" in rows[excluded.pk]["ineligibility_reasons"][0]


def test_notifications_are_the_active_organisations(client, login, world):
    project = world.under_check()  # notifies the operators
    login(client, world.operator)

    messages = [row["message"] for row in client.get("/api/notifications/").json()]

    assert any(project.public_number in m for m in messages)
    login(client, world.owner)
    assert all(
        project.public_number not in row["message"] for row in client.get("/api/notifications/").json()
    )


# --- sealed quotes ----------------------------------------------------------------------------


def _every_response(client, login, world: World, project: Project) -> dict[tuple[str, str], Any]:
    urls = [
        "/api/projects/",
        f"/api/projects/{project.pk}/",
        f"/api/projects/{project.pk}/draw/",
        "/api/my/projects/",
        "/api/my/applications/",
        "/api/opportunities/",
        "/api/check-queue/",
        "/api/notifications/",
    ]
    responses = {}
    for persona in PERSONAS:
        login(client, world.users()[persona])
        for url in urls:
            responses[persona, url] = client.get(url)
    return responses


def test_no_response_shows_a_quote_before_registration_closes(client, login, world):
    project = world.published()
    for user, quote in zip((world.firm_user, world.other_firm_user), SEALED_QUOTES, strict=True):
        login(client, user)
        response = send(client, "POST", f"/api/projects/{project.pk}/apply/", {"quote": quote})
        assert response.status_code == 201, response.content.decode()
        assert quote not in response.content.decode()
        assert response.json()["quote"] is None and response.json()["quote_display"] == "已密封"

    # Also after the deadline, until the close job has unsealed the quotes.
    for moment in ("open", "deadline passed"):
        if moment == "deadline passed":
            project = pass_deadline(project)
        for (persona, url), response in _every_response(client, login, world, project).items():
            body = response.content.decode()
            for quote in SEALED_QUOTES:
                assert quote not in body, (moment, persona, url)
            if url == f"/api/projects/{project.pk}/":
                detail = response.json()
                assert detail["quotes_open"] is False
                assert detail["applications"] == [] and detail["application_count"] is None
            if url == f"/api/projects/{project.pk}/draw/":
                assert response.status_code == 404
            if url == "/api/my/applications/" and response.status_code == 200:
                (row,) = response.json()["results"]
                assert row["quote"] is None and row["quote_display"] == "已密封", persona


def test_a_project_cancelled_during_registration_never_discloses_its_applicants(client, login, world):
    project = world.with_application()
    services.project_cancel(actor=world.owner, project=project, reason="项目计划调整")
    pass_deadline(project)

    for persona in PERSONAS:
        login(client, world.users()[persona])
        detail = client.get(f"/api/projects/{project.pk}/").json()
        assert detail["status"] == "cancelled"
        assert detail["applications"] == [] and detail["application_count"] is None, persona
        assert world.personas.firm.uscc not in str(detail), persona


def test_quotes_appear_once_registration_has_closed(client, login, world):
    project = world.published()
    for user, quote in zip((world.firm_user, world.other_firm_user), SEALED_QUOTES, strict=True):
        world.apply(project, user, quote)
    services.registration_close(project=pass_deadline(project))

    detail = client.get(f"/api/projects/{project.pk}/").json()

    assert detail["quotes_open"] is True and detail["application_count"] == 2
    assert sorted(row["quote"] for row in detail["applications"]) == list(SEALED_QUOTES)
    login(client, world.firm_user)
    (own,) = client.get("/api/my/applications/").json()["results"]
    assert own["quote"] == SEALED_QUOTES[0] and own["quote_display"] == SEALED_QUOTES[0]


# --- bad input: 400 with the service's message, nothing written -------------------------------


@dataclass
class Bad:
    name: str
    persona: str
    setup: Callable[[World], Any]
    url: Callable[[Any], str]
    payload: Callable[[World, Any], dict]
    message: str


BAD = [
    Bad(
        "quote-out-of-band",
        "intermediary",
        World.published,
        _p("apply/"),
        lambda w, obj: {"quote": "10"},
        "报价须在 50000.00 元至 100000.00 元之间",
    ),
    Bad(
        "duplicate-application",
        "intermediary",
        World.with_application,
        _p("apply/"),
        lambda w, obj: {"quote": "70000"},
        "不能重复报名",
    ),
    Bad(
        "direct-selection-above-threshold",
        "owner",
        lambda w: None,
        lambda obj: "/api/projects/",
        lambda w, obj: project_payload(
            w, method="direct", method_reason="时间紧", price_floor="250000", price_ceiling="300000"
        ),
        "直接选取仅适用于最高限价低于",
    ),
    Bad(
        "direct-selection-without-reason",
        "owner",
        lambda w: None,
        lambda obj: "/api/projects/",
        lambda w, obj: project_payload(w, method="direct", price_floor="10000", price_ceiling="50000"),
        "直接选取必须书面说明理由",
    ),
    Bad(
        "exclusion-without-reason",
        "owner",
        lambda w: None,
        lambda obj: "/api/projects/",
        lambda w, obj: project_payload(w, exclusions=[{"uscc": w.personas.firm.uscc, "reason": " "}]),
        "回避须说明理由",
    ),
    Bad(
        "exclusion-of-unknown-firm",
        "owner",
        lambda w: None,
        lambda obj: "/api/projects/",
        lambda w, obj: project_payload(w, exclusions=[{"uscc": "913704000000000000", "reason": "关联"}]),
        "没有统一社会信用代码为",
    ),
    Bad(
        "cancel-without-reason",
        "owner",
        World.published,
        _p("cancel/"),
        lambda w, o: {},
        "取消项目须说明理由",
    ),
    Bad(
        "return-without-note",
        "operator",
        World.under_check,
        _p("check/"),
        lambda w, obj: {"approve": False},
        "退回须说明理由",
    ),
    Bad(
        "pick-without-reason",
        "owner",
        World.direct_closed,
        _p("pick/"),
        lambda w, obj: {"application": firm_application(obj, w).pk},
        "请书面说明选定理由",
    ),
    Bad(
        "decline-without-reason",
        "intermediary",
        World.selected,
        _p("decline/"),
        lambda w, o: {},
        "请说明放弃理由",
    ),
    Bad(
        "objection-without-text",
        "other_intermediary",
        World.selected,
        _p("object/"),
        lambda w, o: {},
        "请填写异议内容",
    ),
    Bad(
        "amend-without-reason",
        "owner",
        World.in_service,
        _p("contract/amend/"),
        lambda w, obj: {"new_amount": "65000"},
        "合同变更须说明理由",
    ),
    Bad(
        "return-delivery-without-reason",
        "owner",
        World.delivered,
        _p("delivery/decide/"),
        lambda w, obj: {"accept": False},
        "退回须说明理由",
    ),
    Bad(
        "dispute-without-reason",
        "intermediary",
        World.rated_by_owner,
        lambda rating: f"/api/ratings/{rating.pk}/dispute/",
        lambda w, obj: {"reason": ""},
        "请说明申诉理由",
    ),
    Bad(
        "rating-out-of-range",
        "owner",
        World.accepted,
        _p("rate/"),
        lambda w, obj: {"scores": {**OWNER_SCORES, "quality": 9}},
        "评分须为1至5分",
    ),
]


@pytest.mark.parametrize("bad", BAD, ids=lambda b: b.name)
def test_bad_input_is_refused_with_the_services_message(client, login, world, bad):
    obj = bad.setup(world)
    login(client, world.users()[bad.persona])
    before = snapshot()

    response = send(client, "POST", bad.url(obj), bad.payload(world, obj))

    assert response.status_code == 400, response.content.decode()
    assert bad.message in errors(response)
    assert snapshot() == before


def test_withdrawn_application_frees_the_firm_to_apply_again(client, login, world):
    project = world.with_application()
    application = project.applications.get()
    login(client, world.firm_user)

    response = send(client, "POST", f"/api/applications/{application.pk}/withdraw/")
    assert response.status_code == 200 and response.json()["state"] == "withdrawn"
    response = send(client, "POST", f"/api/projects/{project.pk}/apply/", {"quote": "65000"})

    assert response.status_code == 201
    assert project.applications.get().state == Application.State.SUBMITTED


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("method=bogus", "method"),
        ("published_from=yesterday", "published_from"),
        ("service_type=none", "service_type"),
    ],
)
def test_invalid_filters_are_a_400_with_errors(client, world, query, field):
    world.published()

    response = client.get(f"/api/projects/?{query}")

    assert response.status_code == 400
    assert field in response.json()


def test_filters_narrow_the_announcements(client, world):
    department_project = world.published()
    other = world.published(method="random_draw", price_floor="80000", price_ceiling="80000")

    by_method = client.get("/api/projects/?method=random_draw").json()["results"]
    by_number = client.get(f"/api/projects/?q={department_project.public_number}").json()["results"]

    assert [row["id"] for row in by_method] == [other.pk]
    assert [row["id"] for row in by_number] == [department_project.pk]


# --- one lowest-price project from posting to rating, through the API -------------------------


def test_lowest_price_project_from_posting_to_rating(client, login, world):
    owner, operator = world.owner, world.operator
    firms = [firm_user(world.service_type) for _ in range(3)]

    login(client, owner)
    response = send(client, "POST", "/api/projects/", project_payload(world, funding_source="fiscal"))
    assert response.status_code == 201, response.content.decode()
    pk = response.json()["id"]
    assert response.json()["status"] == "draft"
    assert send(client, "POST", f"/api/projects/{pk}/submit/").json()["status"] == "under_check"

    login(client, operator)
    assert [row["id"] for row in client.get("/api/check-queue/").json()["results"]] == [pk]
    response = send(client, "POST", f"/api/projects/{pk}/check/", {"approve": True})
    assert response.json()["status"] == "published"
    commitment = response.json()["commitment"]
    assert len(commitment) == 64

    for (_firm, user), quote in zip(firms, ["90000", "70000", "80000"], strict=True):
        login(client, user)
        assert pk in [row["id"] for row in client.get("/api/opportunities/").json()["results"]]
        response = client.post(
            f"/api/projects/{pk}/apply/",
            {"quote": quote},
            content_type="application/json",
            REMOTE_ADDR="10.0.0.9",
        )
        assert response.status_code == 201, response.content.decode()
    assert set(Application.objects.filter(project_id=pk).values_list("client_ip", flat=True)) == {"10.0.0.9"}

    pass_deadline(Project.objects.get(pk=pk))
    report = services.tick()
    assert report["closed"] == 1 and report["selected"] == 1

    login(client, None)
    detail = client.get(f"/api/projects/{pk}/").json()
    winner_firm, winner = firms[1]
    assert detail["status"] == "selected"
    assert detail["result"]["winner"]["uscc"] == winner_firm.uscc
    assert sorted(row["quote"] for row in detail["applications"]) == ["70000.00", "80000.00", "90000.00"]
    (record,) = client.get(f"/api/projects/{pk}/draw/").json()
    assert record["commitment"] == commitment and record["winner"] == winner_firm.uscc
    assert record["verification"]["ok"] is True

    yesterday = timezone.localdate() - timedelta(days=1)
    Project.objects.filter(pk=pk).update(publicity_ends_on=yesterday)
    services.tick()

    login(client, owner)
    response = client.post(f"/api/projects/{pk}/contract/", {"document": pdf_upload("contract.pdf")})
    assert response.status_code == 201, response.content.decode()
    assert response.json()["amount"] == "70000.00"
    login(client, winner)
    assert send(client, "POST", f"/api/projects/{pk}/contract/confirm/").status_code == 200
    response = client.post(
        f"/api/projects/{pk}/deliver/", {"document": pdf_upload("report.pdf"), "note": "报告书"}
    )
    assert response.status_code == 201, response.content.decode()

    login(client, owner)
    response = send(client, "POST", f"/api/projects/{pk}/delivery/decide/", {"accept": True})
    assert response.json()["decision"] == "accepted"
    response = send(client, "POST", f"/api/projects/{pk}/rate/", {"scores": OWNER_SCORES, "comment": "满意"})
    assert response.status_code == 201, response.content.decode()
    login(client, winner)
    response = send(client, "POST", f"/api/projects/{pk}/rate/", {"scores": FIRM_SCORES})
    assert response.status_code == 201, response.content.decode()

    login(client, None)
    detail = client.get(f"/api/projects/{pk}/").json()
    assert detail["status"] == "rated"
    assert detail["contract"]["amount"] == "70000.00" and detail["contract"]["confirmed_at"]
    assert {r["direction"] for r in detail["ratings"]} == {"owner_rates_firm", "firm_rates_owner"}
    winner_firm.refresh_from_db()
    assert winner_firm.rating_score == Decimal("4.80")
    assert audit_verify().ok


def test_failed_round_is_relaunched_as_a_new_draft(client, login, world):
    failed = world.failed()
    login(client, world.owner)

    response = send(client, "POST", f"/api/projects/{failed.pk}/relaunch/", relaunch_payload())

    assert response.status_code == 201, response.content.decode()
    body = response.json()
    assert body["status"] == "draft" and body["relaunch_of"]["id"] == failed.pk
    failed_detail = client.get(f"/api/projects/{failed.pk}/").json()
    assert failed_detail["status"] == "relaunched" and failed_detail["relaunches"][0]["id"] == body["id"]


def test_owner_picks_a_direct_selection_with_its_reason(client, login, world):
    project = world.direct_closed()
    application = firm_application(project, world)
    login(client, world.owner)

    response = send(
        client,
        "POST",
        f"/api/projects/{project.pk}/pick/",
        {"application": application.pk, "reason": "熟悉情况"},
    )

    assert response.status_code == 200, response.content.decode()
    assert response.json()["winner"]["uscc"] == world.personas.firm.uscc
    assert client.get(f"/api/projects/{project.pk}/draw/").json()[0]["verification"]["ok"] is True


def test_pick_refuses_an_application_of_another_project(client, login, world):
    project = world.direct_closed()
    stranger = world.with_application().applications.get()
    login(client, world.owner)
    before = snapshot()

    response = send(
        client, "POST", f"/api/projects/{project.pk}/pick/", {"application": stranger.pk, "reason": "x"}
    )

    assert response.status_code == 400 and "application" in response.json()
    assert snapshot() == before


def test_patch_keeps_what_it_does_not_send(client, login, world):
    qualification_type = QualificationTypeFactory()
    allow_qualification(world.service_type, qualification_type)
    project = world.draft(
        requirements=[(qualification_type, None)],
        exclusions=[(world.personas.other_firm, "曾为该项目提供前期咨询")],
    )
    login(client, world.owner)

    response = send(client, "PATCH", f"/api/projects/{project.pk}/", {"price_ceiling": "120000"})

    assert response.status_code == 200, response.content.decode()
    body = response.json()
    assert body["price_ceiling"] == "120000.00" and body["title"] == project.title
    assert body["service_type"]["code"] == world.service_type.code
    assert [r["qualification_type"]["code"] for r in body["requirements"]] == [qualification_type.code]
    assert [e["intermediary"]["uscc"] for e in body["exclusions"]] == [world.personas.other_firm.uscc]


def test_patch_replaces_the_lists_it_sends_with_complete_items(client, login, world):
    qualification_type = QualificationTypeFactory()
    allow_qualification(world.service_type, qualification_type)
    project = world.draft(exclusions=[(world.personas.other_firm, "曾为该项目提供前期咨询")])
    login(client, world.owner)
    url = f"/api/projects/{project.pk}/"

    incomplete = send(client, "PATCH", url, {"requirements": [{"min_level": None}]})
    assert incomplete.status_code == 400
    assert "qualification_type" in incomplete.json()["requirements"]["0"]
    response = send(
        client,
        "PATCH",
        url,
        {"requirements": [{"qualification_type": qualification_type.code}], "exclusions": []},
    )

    assert response.status_code == 200, response.content.decode()
    body = response.json()
    assert [(r["qualification_type"]["code"], r["min_level"]) for r in body["requirements"]] == [
        (qualification_type.code, None)
    ]
    assert body["exclusions"] == []


# --- query counts -----------------------------------------------------------------------------

SIZES = [5, 25]
ANNOUNCEMENTS = 2  # count, page (owner, service type and department joined; applicants counted)
OWNER_PROJECTS = 5  # session, user, membership, count, page
FIRM_APPLICATIONS = 6  # session, user, membership, firm, count, page
CHECK_QUEUE = 6  # session, user, 2FA device, membership, count, page
NOTIFICATIONS = 5  # session, user, 2FA device, membership, the latest 50 (with their projects)
# The project, applicants, selections, contract, requirements, exclusions, objections,
# deliveries, ratings, relaunches (anonymous; a contract adds its firm and amendments).
PROJECT_DETAIL = 10


def _market(world: World, n: int) -> list[Project]:
    department = DepartmentFactory()
    projects = []
    for i in range(n):
        project = world.published()
        Project.objects.filter(pk=project.pk).update(department=department if i % 2 else None)
        world.apply(project, world.firm_user)
        projects.append(project)
        world.under_check()  # for the operator's queue (and a notification to the operators)
    return projects


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content.decode()
    return len(queries)


@pytest.mark.parametrize("n", SIZES)
def test_announcement_list_queries_do_not_grow(client, login, world, n):
    _market(world, n)
    for project in Project.objects.all()[:2]:
        services.registration_close(project=pass_deadline(project))

    assert _count(client, "/api/projects/") == ANNOUNCEMENTS
    login(client, world.owner)
    assert _count(client, "/api/my/projects/") == OWNER_PROJECTS
    login(client, world.firm_user)
    assert _count(client, "/api/my/applications/") == FIRM_APPLICATIONS
    login(client, world.operator)
    assert _count(client, "/api/check-queue/") == CHECK_QUEUE
    assert _count(client, "/api/notifications/") == NOTIFICATIONS


@pytest.mark.parametrize("applicants", [1, 4])
def test_project_detail_queries_do_not_grow(client, world, applicants):
    project = world.published()
    for _ in range(applicants):
        world.apply(project, firm_user(world.service_type)[1])
    services.selection_run(project=pass_deadline(project))

    assert _count(client, f"/api/projects/{project.pk}/") == PROJECT_DETAIL


# --- schema -----------------------------------------------------------------------------------

PATHS = [
    "/api/projects/",
    "/api/projects/{id}/",
    "/api/projects/{id}/draw/",
    "/api/projects/{id}/submit/",
    "/api/projects/{id}/cancel/",
    "/api/projects/{id}/relaunch/",
    "/api/projects/{id}/pick/",
    "/api/projects/{id}/scores/",
    "/api/projects/{id}/objections/{oid}/answer/",
    "/api/projects/{id}/contract/",
    "/api/projects/{id}/contract/confirm/",
    "/api/projects/{id}/contract/amend/",
    "/api/projects/{id}/delivery/decide/",
    "/api/projects/{id}/rate/",
    "/api/projects/{id}/apply/",
    "/api/projects/{id}/object/",
    "/api/projects/{id}/decline/",
    "/api/projects/{id}/deliver/",
    "/api/projects/{id}/check/",
    "/api/my/projects/",
    "/api/my/applications/",
    "/api/opportunities/",
    "/api/applications/{id}/withdraw/",
    "/api/ratings/{id}/dispute/",
    "/api/ratings/{id}/decide/",
    "/api/check-queue/",
    "/api/notifications/",
]


def test_schema_documents_every_endpoint_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert set(PATHS) <= set(schema["paths"])
    contract = schema["paths"]["/api/projects/{id}/contract/"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in contract
