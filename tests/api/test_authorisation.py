"""Authorisation matrix for every API endpoint that writes: each persona against each endpoint.

A refused request changes nothing (the records it would touch and the audit log are compared
before and after). The ``me/`` endpoints act for the caller's own firm, so both intermediaries
succeed there, each on its own firm only; another firm's offer is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from marketplace.accounts.middleware import SESSION_KEY
from marketplace.accounts.models import Membership, Role
from marketplace.core.models import AuditEvent
from marketplace.providers.models import DeclaredTie, FeeSchedule, Intermediary, Offer
from tests.factories import (
    DepartmentFactory,
    IntermediaryFactory,
    MembershipFactory,
    OfferFactory,
    OrganisationFactory,
    QualificationTypeFactory,
    ServiceTypeFactory,
    UserFactory,
    make_uscc,
    pdf_upload,
)

from . import call, day, fee, offer_payload, practitioner, resident_id

PERSONAS = ["anonymous", "intermediary", "other_intermediary", "owner", "department", "regulator", "operator"]
# Session authentication sends no WWW-Authenticate challenge, so DRF answers anonymous with 403.
REFUSED = 403


class World:
    """The personas plus what the write endpoints need: a catalogue and one offer per firm."""

    def __init__(self, personas):
        self.personas = personas
        self.firm = personas.firm
        self.other_firm = personas.other_firm
        self.qualification_type = QualificationTypeFactory()
        self.service_type = ServiceTypeFactory()
        self.department = DepartmentFactory()
        self.offer = OfferFactory(intermediary=self.firm)
        self.other_offer = OfferFactory(intermediary=self.other_firm)

    def firms(self) -> dict[str, Intermediary]:
        return {"firm": self.firm, "other_firm": self.other_firm}


@dataclass
class Case:
    name: str
    method: str
    url: Callable[[World], str]
    payload: Callable[[World], dict]
    # What the endpoint may change, per firm: compared before and after each request.
    state: Callable[[Intermediary], Any]
    # persona -> status on success; everyone else is refused.
    allowed: dict[str, int]
    multipart: bool = False
    setup: Callable[[World], None] | None = None
    # persona -> the firm its successful request changes.
    acts_on: dict[str, str] = field(
        default_factory=lambda: {"intermediary": "firm", "other_intermediary": "other_firm"}
    )


def _both_intermediaries(status: int) -> dict[str, int]:
    return {"intermediary": status, "other_intermediary": status}


def _ready_to_sign(world: World) -> None:
    for firm in world.firms().values():
        practitioner(firm)
        Intermediary.objects.filter(pk=firm.pk).update(
            status=Intermediary.Status.CHANGES_REQUESTED, is_sole_proprietor=True
        )


def _offer_state(firm: Intermediary):
    return sorted(
        Offer.objects.filter(intermediary=firm).values_list(
            "pk", "description", "is_active", "current_fee_id"
        )
    )


CASES = [
    Case(
        name="profile-patch",
        method="PATCH",
        url=lambda w: "/api/me/intermediary/",
        payload=lambda w: {"description": "专业从事环境影响评价二十年", "phone": "0632-7654321"},
        state=lambda f: Intermediary.objects.values_list("description", "phone").get(pk=f.pk),
        allowed=_both_intermediaries(200),
    ),
    Case(
        name="profile-put",
        method="PUT",
        url=lambda w: "/api/me/intermediary/",
        payload=lambda w: {
            "name": "枣庄新名称咨询有限公司",
            "legal_representative": "张三",
            "address": "枣庄市薛城区",
            "contact_name": "王五",
            "phone": "0632-1111111",
        },
        state=lambda f: Intermediary.objects.values_list("name", "address").get(pk=f.pk),
        allowed=_both_intermediaries(200),
    ),
    Case(
        name="qualification-add",
        method="POST",
        url=lambda w: "/api/me/intermediary/qualifications/",
        payload=lambda w: {
            "qualification_type": w.qualification_type.code,
            "number": f"Q-{make_uscc()}",
            "authority": "山东省生态环境厅",
            "valid_from": day(-30),
            "valid_until": day(700),
            "certificate": pdf_upload(),
        },
        multipart=True,
        state=lambda f: f.qualifications.count(),
        allowed=_both_intermediaries(201),
    ),
    Case(
        name="practitioner-add",
        method="POST",
        url=lambda w: "/api/me/intermediary/practitioners/",
        payload=lambda w: {
            "name": "赵六",
            "id_number": resident_id(),
            "title": "注册环评工程师",
            "certificate_number": "HP-0001",
            "certificate": pdf_upload(),
            "insured_since": day(-400),
            "social_insurance_proof": pdf_upload("si.pdf"),
        },
        multipart=True,
        state=lambda f: f.practitioners.count(),
        allowed=_both_intermediaries(201),
    ),
    Case(
        name="shareholder-add",
        method="POST",
        url=lambda w: "/api/me/intermediary/shareholders/",
        payload=lambda w: {"kind": "firm", "name": "枣庄投资有限公司", "share": "40", "uscc": make_uscc()},
        state=lambda f: f.shareholders.count(),
        allowed=_both_intermediaries(201),
    ),
    Case(
        name="tie-declare",
        method="POST",
        url=lambda w: "/api/me/intermediary/ties/",
        payload=lambda w: {
            "department": w.department.code,
            "kind": DeclaredTie.Kind.FORMER_STAFF,
            "person_name": "孙七",
            "description": "技术负责人曾在该局任职，2020年离职",
        },
        state=lambda f: f.declared_ties.count(),
        allowed=_both_intermediaries(201),
    ),
    Case(
        name="commitment-sign",
        method="POST",
        url=lambda w: "/api/me/intermediary/commitment/",
        payload=lambda w: {"signer_name": "张三", "accept": True},
        state=lambda f: Intermediary.objects.values_list("status", "commitment_signed_by").get(pk=f.pk),
        allowed=_both_intermediaries(200),
        setup=_ready_to_sign,
    ),
    Case(
        name="offer-create",
        method="POST",
        url=lambda w: "/api/me/offers/",
        payload=lambda w: offer_payload(w.service_type.code),
        state=_offer_state,
        allowed=_both_intermediaries(201),
    ),
    Case(
        name="offer-update-firms-offer",
        method="PATCH",
        url=lambda w: f"/api/me/offers/{w.offer.pk}/",
        payload=lambda w: {"description": "更新后的服务说明", "is_active": False},
        state=_offer_state,
        allowed={"intermediary": 200},
    ),
    Case(
        name="fee-change-firms-offer",
        method="POST",
        url=lambda w: f"/api/me/offers/{w.offer.pk}/fee/",
        payload=lambda w: fee(fee_min="12000.00", note="降价"),
        state=lambda f: (FeeSchedule.objects.filter(offer__intermediary=f).count(), _offer_state(f)),
        allowed={"intermediary": 201},
    ),
    Case(
        name="review",
        method="POST",
        url=lambda w: f"/api/intermediaries/{w.firm.pk}/review/",
        payload=lambda w: {"decision": "request_changes", "note": "请补充社保缴纳证明"},
        state=lambda f: Intermediary.objects.values_list("status", "review_note").get(pk=f.pk),
        allowed={"operator": 200},
        acts_on={"operator": "firm"},
    ),
]


@pytest.fixture
def world(personas):
    return World(personas)


def _snapshot(world: World, case: Case) -> dict[str, Any]:
    state = {key: case.state(firm) for key, firm in world.firms().items()}
    state["audit"] = AuditEvent.objects.count()
    return state


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_write_endpoint(client, login, world, case, persona):
    if case.setup:
        case.setup(world)
    login(client, world.personas.all()[persona])
    before = _snapshot(world, case)

    response = call(client, case.method, case.url(world), case.payload(world), multipart=case.multipart)

    after = _snapshot(world, case)
    expected = case.allowed.get(persona, REFUSED)
    assert response.status_code == expected, response.content.decode()
    if persona not in case.allowed:
        assert after == before
        return
    changed = case.acts_on[persona]
    untouched = next(key for key in world.firms() if key != changed)
    assert after[changed] != before[changed]
    assert after[untouched] == before[untouched]
    assert after["audit"] > before["audit"]


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("GET", "/api/me/offers/{pk}/", None),
        ("PATCH", "/api/me/offers/{pk}/", {"description": "别人的服务"}),
        ("POST", "/api/me/offers/{pk}/fee/", fee(fee_min="1.00")),
    ],
)
def test_another_firms_offer_cannot_be_read_or_edited_through_me(client, login, world, method, path, payload):
    login(client, world.personas.other_intermediary)
    before = (_offer_state(world.firm), FeeSchedule.objects.count(), AuditEvent.objects.count())

    response = call(client, method, path.format(pk=world.offer.pk), payload)

    assert response.status_code in (403, 404)
    assert (_offer_state(world.firm), FeeSchedule.objects.count(), AuditEvent.objects.count()) == before


def test_me_acts_only_for_the_active_firm_of_a_member_of_two(client, login, world):
    """A member of two firms acting for one cannot edit the other's offer through ``me/``."""
    user = world.personas.intermediary
    MembershipFactory(user=user, organisation=world.other_firm.organisation)
    active = Membership.objects.get(user=user, organisation=world.firm.organisation)
    login(client, user)
    session = client.session
    session[SESSION_KEY] = active.pk
    session.save()
    before = _offer_state(world.other_firm)

    response = call(client, "PATCH", f"/api/me/offers/{world.other_offer.pk}/", {"description": "改"})

    assert response.status_code == 404
    assert _offer_state(world.other_firm) == before
    assert client.get("/api/me/intermediary/").json()["id"] == world.firm.pk


def test_intermediary_role_without_a_firm_record_gets_404(client, login, db):
    user = MembershipFactory(organisation=OrganisationFactory(kind=Role.INTERMEDIARY)).user
    login(client, user)

    response = client.get("/api/me/intermediary/")

    assert response.status_code == 404
    assert "尚未登记为中介机构" in response.json()["detail"]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("/api/me/intermediary/", {"intermediary", "other_intermediary"}),
        ("/api/me/offers/", {"intermediary", "other_intermediary"}),
        ("/api/review-queue/", {"operator"}),
    ],
)
def test_read_endpoints_restricted_by_role(client, login, personas, persona, url, allowed):
    login(client, personas.all()[persona])

    response = client.get(url)

    assert response.status_code == (200 if persona in allowed else REFUSED)


def test_me_intermediary_shows_the_callers_own_firm(client, login, personas):
    for user, firm in [
        (personas.intermediary, personas.firm),
        (personas.other_intermediary, personas.other_firm),
    ]:
        login(client, user)
        assert client.get("/api/me/intermediary/").json()["id"] == firm.pk


def test_staff_without_second_factor_are_refused(client, personas):
    client.force_login(personas.operator)

    response = call(
        client, "POST", f"/api/intermediaries/{personas.firm.pk}/review/", {"decision": "approve"}
    )

    assert response.status_code == 403
    assert response.json()["code"] == "2fa_required"


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("anonymous", 404),
        ("other_intermediary", 404),
        ("owner", 404),
        ("department", 404),
        ("intermediary", 200),
        ("regulator", 200),
        ("operator", 200),
    ],
)
def test_draft_firm_is_visible_only_to_its_members_and_staff(client, login, personas, persona, expected):
    Intermediary.objects.filter(pk=personas.firm.pk).update(status=Intermediary.Status.DRAFT)
    offer = OfferFactory(intermediary=personas.firm)
    login(client, personas.all()[persona])

    assert client.get(f"/api/intermediaries/{personas.firm.pk}/").status_code == expected
    assert client.get(f"/api/offers/{offer.pk}/fees/").status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("anonymous", 404), ("other_intermediary", 404), ("intermediary", 200), ("regulator", 200)],
)
def test_inactive_offers_fee_history_is_hidden_from_the_public(client, login, personas, persona, expected):
    offer = OfferFactory(intermediary=personas.firm, is_active=False)
    login(client, personas.all()[persona])

    assert client.get(f"/api/offers/{offer.pk}/fees/").status_code == expected


def test_review_of_an_invisible_firm_is_404_for_the_operator(client, login, personas):
    login(client, personas.operator)

    response = call(client, "POST", "/api/intermediaries/999999/review/", {"decision": "approve"})

    assert response.status_code == 404


def test_regulator_cannot_review_even_though_they_see_every_firm(client, login, personas):
    IntermediaryFactory(status=Intermediary.Status.LISTED_UNDER_REVIEW)
    login(client, personas.regulator)
    before = list(Intermediary.objects.values_list("pk", "status"))

    response = call(
        client, "POST", f"/api/intermediaries/{personas.firm.pk}/review/", {"decision": "delist", "note": "x"}
    )

    assert response.status_code == 403
    assert list(Intermediary.objects.values_list("pk", "status")) == before


def test_user_without_any_membership_is_refused(client, login, db):
    login(client, UserFactory())

    assert client.get("/api/me/intermediary/").status_code == REFUSED
    assert client.get("/api/review-queue/").status_code == REFUSED
