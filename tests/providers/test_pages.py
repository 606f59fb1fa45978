"""Authorisation matrix for every page in marketplace/providers/urls.py, the catalogue and home.

Each persona against each page; for refused POSTs, that nothing changed.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.urls import reverse

from marketplace.accounts.models import Membership, Organisation, User
from marketplace.core.models import AuditEvent
from marketplace.providers.models import (
    FeeSchedule,
    Intermediary,
    Offer,
    Practitioner,
    Qualification,
    Shareholder,
)
from tests.factories import (
    PDF_BYTES,
    IntermediaryFactory,
    OfferFactory,
    PractitionerFactory,
    QualificationFactory,
    ServiceTypeFactory,
    make_uscc,
)

S = Intermediary.Status
PERSONAS = ["anonymous", "intermediary", "other_intermediary", "owner", "department", "regulator", "operator"]
NON_INTERMEDIARY = ["owner", "department", "regulator", "operator"]
LOGIN = "login"  # expected outcome: 302 to the login page


@pytest.fixture
def world(personas):
    service_type = ServiceTypeFactory()
    return SimpleNamespace(
        personas=personas,
        service_type=service_type,
        offer=OfferFactory(intermediary=personas.firm, service_type=service_type),
        qualification=QualificationFactory(intermediary=personas.firm),
        practitioner=PractitionerFactory(intermediary=personas.firm, id_hash="0" * 64),
    )


def _as(client, login, world, persona: str):
    login(client, world.personas.all()[persona])
    return client


def _assert_outcome(response, expected) -> None:
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login") + "?next=")
    else:
        assert response.status_code == expected


def _state(world) -> dict:
    """Everything a refused POST in this file could have changed."""
    firm = Intermediary.objects.get(pk=world.personas.firm.pk)
    offer = Offer.objects.get(pk=world.offer.pk)
    counts = {
        model.__name__: model.objects.count()
        for model in (
            User,
            Organisation,
            Membership,
            Intermediary,
            Qualification,
            Practitioner,
            Shareholder,
            Offer,
            FeeSchedule,
            AuditEvent,
        )
    }
    return {
        **counts,
        "status": firm.status,
        "review_note": firm.review_note,
        "description": offer.description,
        "current_fee": offer.current_fee_id,
    }


# --- public pages -----------------------------------------------------------------------------

PUBLIC_PAGES = {
    "home": lambda w: reverse("home"),
    "service-list": lambda w: reverse("catalog:service-list"),
    "service-detail": lambda w: reverse("catalog:service-detail", args=[w.service_type.code]),
    "directory": lambda w: reverse("providers:directory"),
    "profile": lambda w: reverse("providers:profile", args=[w.personas.firm.pk]),
    "fee-index": lambda w: reverse("providers:fee-index"),
    "fee-disclosure": lambda w: reverse("providers:fee-disclosure", args=[w.service_type.code]),
    "fee-history": lambda w: reverse("providers:fee-history", args=[w.offer.pk]),
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page", PUBLIC_PAGES)
def test_public_page_is_open_to_everyone(client, login, world, page, persona):
    response = _as(client, login, world, persona).get(PUBLIC_PAGES[page](world))

    assert response.status_code == 200


@pytest.mark.parametrize("persona", PERSONAS)
def test_register_page_is_for_visitors_and_sends_signed_in_users_to_their_dashboard(
    client, login, world, persona
):
    response = _as(client, login, world, persona).get(reverse("providers:register"))

    if persona == "anonymous":
        assert response.status_code == 200
    else:
        assert response.status_code == 302 and response["Location"] == reverse("accounts:dashboard")


@pytest.mark.parametrize("persona", PERSONAS)
def test_profile_of_a_draft_firm_is_only_for_its_members_and_staff(client, login, world, persona):
    Intermediary.objects.filter(pk=world.personas.firm.pk).update(status=S.DRAFT)

    response = _as(client, login, world, persona).get(
        reverse("providers:profile", args=[world.personas.firm.pk])
    )

    assert response.status_code == (200 if persona in ("intermediary", "regulator", "operator") else 404)


@pytest.mark.parametrize("persona", PERSONAS)
def test_fee_history_of_an_inactive_offer_is_only_for_the_firm_and_staff(client, login, world, persona):
    Offer.objects.filter(pk=world.offer.pk).update(is_active=False)

    response = _as(client, login, world, persona).get(reverse("providers:fee-history", args=[world.offer.pk]))

    assert response.status_code == (200 if persona in ("intermediary", "regulator", "operator") else 404)


def test_public_profile_hides_documents_and_identity_numbers(client, world):
    world.practitioner.id_last4 = "4321"
    world.practitioner.save()

    page = client.get(reverse("providers:profile", args=[world.personas.firm.pk])).content.decode()

    assert "/documents/" not in page
    assert "4321" not in page
    assert world.qualification.certificate.name not in page


def test_fee_index_marks_service_types_with_government_bands(client, world):
    for fee_min in ("1000", "2000", "3000"):
        world.service_type.price_bands.create(scale_from=fee_min, fee_min=fee_min, fee_max="90000")
    OfferFactory(service_type=world.service_type)

    response = client.get(reverse("providers:fee-index"))

    row = next(st for st in response.context["service_types"] if st.pk == world.service_type.pk)
    assert row.band_count == 3


def test_fee_index_offer_count_is_not_multiplied_by_price_bands(client, world):
    for fee_min in ("1000", "2000", "3000"):
        world.service_type.price_bands.create(scale_from=fee_min, fee_min=fee_min, fee_max="90000")
    OfferFactory(service_type=world.service_type)

    response = client.get(reverse("providers:fee-index"))

    row = next(st for st in response.context["service_types"] if st.pk == world.service_type.pk)
    assert row.offer_count == 2


# --- workspace pages --------------------------------------------------------------------------

WORKSPACE_PAGES = {
    "onboarding": (lambda w: reverse("providers:onboarding"), 200),
    "my-offers": (lambda w: reverse("providers:my-offers"), 200),
    "offer-create": (lambda w: reverse("providers:offer-create"), 200),
    # other_intermediary can see personas.firm (it is listed) but may not change it.
    "offer-edit": (lambda w: reverse("providers:offer-edit", args=[w.offer.pk]), 403),
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page", WORKSPACE_PAGES)
def test_workspace_page_is_only_for_intermediaries(client, login, world, page, persona):
    url, other_firm_outcome = WORKSPACE_PAGES[page]
    expected = {
        "anonymous": LOGIN,
        "intermediary": 200,
        "other_intermediary": other_firm_outcome,
    }.get(persona, 403)

    response = _as(client, login, world, persona).get(url(world))

    _assert_outcome(response, expected)


def test_offer_edit_page_shows_the_firms_own_offer_and_fee_history(client, login, world):
    login(client, world.personas.intermediary)

    response = client.get(reverse("providers:offer-edit", args=[world.offer.pk]))

    assert response.status_code == 200
    assert world.offer.description in response.content.decode()
    assert [v.version for v in response.context["versions"]] == [1]


def _fee_post():
    return {"fee-basis": "fixed", "fee-rate": "25000", "fee-fee_min": "16000", "fee-fee_max": "35000"}


@pytest.mark.parametrize("persona", ["anonymous", "other_intermediary", *NON_INTERMEDIARY])
def test_fee_change_by_anyone_but_the_firm_changes_nothing(client, login, world, persona):
    before = _state(world)
    expected = {"anonymous": LOGIN, "other_intermediary": 403}.get(persona, 403)

    response = _as(client, login, world, persona).post(
        reverse("providers:fee-change", args=[world.offer.pk]), _fee_post()
    )

    _assert_outcome(response, expected)
    assert _state(world) == before


def test_fee_change_by_the_firm_publishes_version_two(client, login, world):
    login(client, world.personas.intermediary)

    response = client.post(reverse("providers:fee-change", args=[world.offer.pk]), _fee_post())

    assert response.status_code == 302
    assert response["Location"] == reverse("providers:offer-edit", args=[world.offer.pk])
    world.offer.refresh_from_db()
    assert world.offer.current_fee.version == 2
    assert str(world.offer.current_fee.fee_max) == "35000.00"


def test_fee_change_with_an_unchanged_fee_shows_the_error(client, login, world):
    login(client, world.personas.intermediary)
    before = _state(world)

    response = client.post(
        reverse("providers:fee-change", args=[world.offer.pk]),
        {"fee-basis": "fixed", "fee-rate": "20000", "fee-fee_min": "15000", "fee-fee_max": "30000"},
    )

    assert response.status_code == 400
    assert "收费标准没有变化" in response.content.decode()
    assert _state(world) == before


def _offer_edit_post():
    return {
        "offer-description": "改写后的服务说明",
        "offer-included": "外业测量",
        "offer-service_days": "10",
        "offer-is_active": "on",
    }


@pytest.mark.parametrize("persona", ["anonymous", "other_intermediary", *NON_INTERMEDIARY])
def test_offer_edit_by_anyone_but_the_firm_changes_nothing(client, login, world, persona):
    before = _state(world)
    expected = {"anonymous": LOGIN, "other_intermediary": 403}.get(persona, 403)

    response = _as(client, login, world, persona).post(
        reverse("providers:offer-edit", args=[world.offer.pk]), _offer_edit_post()
    )

    _assert_outcome(response, expected)
    assert _state(world) == before


def test_offer_edit_by_the_firm_saves_the_offer(client, login, world):
    login(client, world.personas.intermediary)

    response = client.post(reverse("providers:offer-edit", args=[world.offer.pk]), _offer_edit_post())

    assert response.status_code == 302 and response["Location"] == reverse("providers:my-offers")
    world.offer.refresh_from_db()
    assert world.offer.description == "改写后的服务说明" and world.offer.service_days == 10


def _offer_create_post():
    return {
        "service_type": ServiceTypeFactory().pk,
        "description": "新服务",
        "included": "全部内容",
        "service_days": "5",
        "basis": "fixed",
        "rate": "1000",
        "fee_min": "1000",
        "fee_max": "2000",
    }


@pytest.mark.parametrize("persona", ["anonymous", *NON_INTERMEDIARY])
def test_offer_create_by_a_non_intermediary_changes_nothing(client, login, world, persona):
    data = _offer_create_post()
    before = _state(world)

    response = _as(client, login, world, persona).post(reverse("providers:offer-create"), data)

    _assert_outcome(response, LOGIN if persona == "anonymous" else 403)
    assert _state(world) == before


def test_offer_create_by_the_firm_publishes_the_offer(client, login, world):
    login(client, world.personas.intermediary)
    data = _offer_create_post()

    response = client.post(reverse("providers:offer-create"), data)

    assert response.status_code == 302 and response["Location"] == reverse("providers:my-offers")
    offer = Offer.objects.get(intermediary=world.personas.firm, service_type_id=data["service_type"])
    assert offer.current_fee.version == 1
    assert offer.service_type.name in client.get(reverse("providers:my-offers")).content.decode()


def test_offer_create_with_regional_wording_shows_the_error_and_writes_nothing(client, login, world):
    login(client, world.personas.intermediary)
    data = {**_offer_create_post(), "description": "本服务仅限本地企业"}
    before = _state(world)

    response = client.post(reverse("providers:offer-create"), data)

    assert response.status_code == 400
    assert "不得设置地域限制" in response.content.decode()
    assert _state(world) == before


@pytest.mark.parametrize("persona", ["anonymous", "other_intermediary", *NON_INTERMEDIARY])
def test_qualification_remove_by_anyone_but_the_firm_changes_nothing(client, login, world, persona):
    before = _state(world)
    expected = {"anonymous": LOGIN, "other_intermediary": 404}.get(persona, 403)

    response = _as(client, login, world, persona).post(
        reverse("providers:qualification-remove", args=[world.qualification.pk])
    )

    _assert_outcome(response, expected)
    assert _state(world) == before
    assert Qualification.objects.filter(pk=world.qualification.pk).exists()


def test_qualification_remove_by_the_firm_deletes_it(client, login, world):
    login(client, world.personas.intermediary)

    response = client.post(reverse("providers:qualification-remove", args=[world.qualification.pk]))

    assert response.status_code == 302 and response["Location"] == reverse("providers:onboarding")
    assert not Qualification.objects.filter(pk=world.qualification.pk).exists()
    assert AuditEvent.objects.get().action == "qualification.remove"


def _shareholder_post():
    return {
        "shareholder-kind": "firm",
        "shareholder-name": "鲁南投资有限公司",
        "shareholder-uscc": make_uscc(),
        "shareholder-share": "10",
    }


@pytest.mark.parametrize("persona", ["anonymous", *NON_INTERMEDIARY])
def test_onboarding_section_by_a_non_intermediary_changes_nothing(client, login, world, persona):
    before = _state(world)

    response = _as(client, login, world, persona).post(
        reverse("providers:onboarding-section", args=["shareholder"]), _shareholder_post()
    )

    _assert_outcome(response, LOGIN if persona == "anonymous" else 403)
    assert _state(world) == before


@pytest.mark.parametrize("persona", ["intermediary", "other_intermediary"])
def test_onboarding_section_writes_only_to_the_members_own_firm(client, login, world, persona):
    user = world.personas.all()[persona]
    own_firm = Intermediary.objects.get(organisation__memberships__user=user)
    login(client, user)

    response = client.post(reverse("providers:onboarding-section", args=["shareholder"]), _shareholder_post())

    assert response.status_code == 302
    assert list(Shareholder.objects.values_list("intermediary_id", flat=True)) == [own_firm.pk]


def test_onboarding_section_that_does_not_exist_is_404(client, login, world):
    login(client, world.personas.intermediary)

    response = client.post(reverse("providers:onboarding-section", args=["nonsense"]), {})

    assert response.status_code == 404


# --- operator pages ---------------------------------------------------------------------------

OPERATOR_PAGES = {
    "review-queue": lambda w: reverse("providers:review-queue"),
    "review-detail": lambda w: reverse("providers:review-detail", args=[w.personas.firm.pk]),
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page", OPERATOR_PAGES)
def test_operator_page_is_only_for_operators(client, login, world, page, persona):
    expected = {"anonymous": LOGIN, "operator": 200}.get(persona, 403)

    response = _as(client, login, world, persona).get(OPERATOR_PAGES[page](world))

    _assert_outcome(response, expected)


@pytest.mark.parametrize(
    "persona", ["anonymous", "intermediary", "other_intermediary", *NON_INTERMEDIARY[:-1]]
)
def test_review_decision_by_a_non_operator_changes_nothing(client, login, world, persona):
    Intermediary.objects.filter(pk=world.personas.firm.pk).update(status=S.LISTED_UNDER_REVIEW)
    before = _state(world)

    response = _as(client, login, world, persona).post(
        reverse("providers:review-detail", args=[world.personas.firm.pk]), {"decision": "delist", "note": "x"}
    )

    _assert_outcome(response, LOGIN if persona == "anonymous" else 403)
    assert _state(world) == before


def test_review_decision_by_the_operator_is_recorded(client, login, world):
    Intermediary.objects.filter(pk=world.personas.firm.pk).update(status=S.LISTED_UNDER_REVIEW)
    login(client, world.personas.operator)

    response = client.post(
        reverse("providers:review-detail", args=[world.personas.firm.pk]), {"decision": "approve", "note": ""}
    )

    assert response.status_code == 302 and response["Location"] == reverse("providers:review-queue")
    world.personas.firm.refresh_from_db()
    assert world.personas.firm.status == S.LISTED


def test_review_request_for_changes_without_a_note_shows_the_error(client, login, world):
    Intermediary.objects.filter(pk=world.personas.firm.pk).update(status=S.LISTED_UNDER_REVIEW)
    login(client, world.personas.operator)
    before = _state(world)

    response = client.post(
        reverse("providers:review-detail", args=[world.personas.firm.pk]),
        {"decision": "request_changes", "note": ""},
    )

    assert response.status_code == 400
    assert "请填写审核意见" in response.content.decode()
    assert _state(world) == before


def test_review_queue_lists_firms_under_review_and_not_listed_ones(client, login, world):
    waiting = IntermediaryFactory(status=S.LISTED_UNDER_REVIEW, name="待审核测绘公司")
    login(client, world.personas.operator)

    response = client.get(reverse("providers:review-queue"))

    assert list(response.context["page_obj"]) == [waiting]
    assert "待审核测绘公司" in response.content.decode()


# --- protected documents ----------------------------------------------------------------------

DOCUMENTS = {
    "qualification-certificate": lambda w: ("qualification", w.qualification.pk, "certificate"),
    "practitioner-certificate": lambda w: ("practitioner", w.practitioner.pk, "certificate"),
    "practitioner-social-insurance": lambda w: ("practitioner", w.practitioner.pk, "social_insurance_proof"),
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("document", DOCUMENTS)
def test_document_is_served_only_to_the_firm_and_staff(client, login, world, document, persona):
    url = reverse("providers:document", args=DOCUMENTS[document](world))

    response = _as(client, login, world, persona).get(url)

    if persona in ("intermediary", "regulator", "operator"):
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF_BYTES
        assert response["Cache-Control"] == "private, no-store"
    else:
        assert response.status_code == 404


def test_document_path_matches_the_documented_url(world):
    assert (
        reverse("providers:document", args=["qualification", world.qualification.pk, "certificate"])
        == f"/documents/qualification/{world.qualification.pk}/certificate/"
    )


def test_every_providers_url_is_in_the_matrix():
    from marketplace.providers.urls import urlpatterns

    covered = {
        *PUBLIC_PAGES,
        *WORKSPACE_PAGES,
        *OPERATOR_PAGES,
        "register",
        "onboarding-section",
        "qualification-remove",
        "fee-change",
        "document",
    }
    assert {p.name for p in urlpatterns} <= covered


@pytest.mark.parametrize(
    "args", [("offer", 1, "certificate"), ("qualification", 1, "number"), ("practitioner", 1, "id_hash")]
)
def test_document_of_an_unknown_kind_or_field_is_404(client, login, world, args):
    login(client, world.personas.operator)

    assert client.get(reverse("providers:document", args=args)).status_code == 404
