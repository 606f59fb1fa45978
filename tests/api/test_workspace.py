"""The acting firm's workspace and the operator's review, end to end through the API."""

from __future__ import annotations

import pytest

from marketplace.core.validators import id_hash
from marketplace.providers.models import DeclaredTie, Intermediary, Offer, Practitioner, Qualification
from tests.factories import (
    DepartmentFactory,
    IntermediaryFactory,
    MembershipFactory,
    OfferFactory,
    QualificationFactory,
    QualificationLevelFactory,
    ServiceTypeFactory,
    allow_qualification,
    make_uscc,
    pdf_upload,
)

from . import call, day, fee, offer_payload, practitioner, resident_id


@pytest.fixture
def firm_client(client, login, personas):
    login(client, personas.intermediary)
    return client


def test_get_own_profile_with_checklist(firm_client, personas):
    body = firm_client.get("/api/me/intermediary/").json()

    assert body["id"] == personas.firm.pk
    assert body["status"] == "listed"
    assert body["checklist"]["practitioners"] is False
    assert body["checklist"]["complete"] is False
    assert body["checklist"]["missing"]


def test_patch_keeps_the_fields_not_sent(firm_client, personas):
    response = call(
        firm_client, "PATCH", "/api/me/intermediary/", {"website": "https://zz-survey.example.cn"}
    )

    assert response.status_code == 200
    firm = Intermediary.objects.get(pk=personas.firm.pk)
    assert firm.website == "https://zz-survey.example.cn"
    assert (firm.name, firm.address, firm.phone) == (
        personas.firm.name,
        personas.firm.address,
        personas.firm.phone,
    )


def test_patch_stores_only_a_hash_of_the_legal_representatives_id(firm_client, personas):
    number = resident_id()

    response = call(firm_client, "PATCH", "/api/me/intermediary/", {"legal_representative_id_number": number})

    assert response.status_code == 200
    assert response.json()["has_legal_representative_id"] is True
    assert number not in response.content.decode()
    assert Intermediary.objects.get(pk=personas.firm.pk).legal_representative_id_hash == id_hash(number)


def test_put_requires_the_whole_profile(firm_client):
    response = call(firm_client, "PUT", "/api/me/intermediary/", {"name": "只有名称"})

    assert response.status_code == 400
    assert {"legal_representative", "address", "contact_name", "phone"} <= set(response.json())


def test_add_qualification_with_certificate(firm_client, personas):
    level = QualificationLevelFactory()
    payload = {
        "qualification_type": level.qualification_type.code,
        "level": level.pk,
        "number": "甲测资字37100001",
        "authority": "山东省自然资源厅",
        "valid_from": day(-10),
        "valid_until": day(1000),
        "certificate": pdf_upload(),
    }

    response = call(firm_client, "POST", "/api/me/intermediary/qualifications/", payload, multipart=True)

    assert response.status_code == 201, response.content
    assert response.json()["level"]["id"] == level.pk
    assert "certificate" not in response.json()
    stored = Qualification.objects.get(intermediary=personas.firm)
    assert stored.certificate.read().startswith(b"%PDF-")
    assert not stored.certificate.name.endswith("certificate.pdf")


def test_add_practitioner_keeps_only_the_last_four_digits(firm_client, personas):
    number = resident_id()
    payload = {
        "name": "吴十",
        "id_number": number,
        "title": "注册测绘师",
        "certificate_number": "CH-9",
        "certificate": pdf_upload(),
        "insured_since": day(-200),
        "social_insurance_proof": pdf_upload("si.pdf"),
    }

    response = call(firm_client, "POST", "/api/me/intermediary/practitioners/", payload, multipart=True)

    assert response.status_code == 201
    assert response.json()["id_last4"] == number[-4:]
    assert number not in response.content.decode()
    assert Practitioner.objects.get(intermediary=personas.firm).id_hash == id_hash(number)


def test_add_shareholders_and_tie(firm_client, personas):
    department = DepartmentFactory()
    firm_share = {"kind": "firm", "name": "枣庄投资有限公司", "share": "60", "uscc": make_uscc()}
    person_share = {"kind": "person", "name": "郑十一", "share": "40", "id_number": resident_id()}
    tie = {
        "department": department.code,
        "kind": DeclaredTie.Kind.AFFILIATED,
        "description": "该局下属协会出资",
    }

    responses = [
        call(firm_client, "POST", "/api/me/intermediary/shareholders/", firm_share),
        call(firm_client, "POST", "/api/me/intermediary/shareholders/", person_share),
        call(firm_client, "POST", "/api/me/intermediary/ties/", tie),
    ]

    assert [r.status_code for r in responses] == [201, 201, 201]
    assert "id_number" not in responses[1].json()
    assert responses[2].json()["department"] == department.code
    over = call(
        firm_client, "POST", "/api/me/intermediary/shareholders/", {**firm_share, "uscc": make_uscc()}
    )
    assert over.status_code == 400 and "持股比例合计不能超过100%" in over.json()["share"][0]


def test_onboarding_from_draft_to_listed(client, login, personas):
    firm = IntermediaryFactory(status=Intermediary.Status.DRAFT, listed_at=None, legal_representative="张三")
    user = MembershipFactory(organisation=firm.organisation).user
    login(client, user)

    early = call(client, "POST", "/api/me/intermediary/commitment/", {"signer_name": "张三", "accept": True})
    assert early.status_code == 400 and "请先完善" in early.json()["non_field_errors"][0]

    practitioner(firm)
    call(
        client,
        "POST",
        "/api/me/intermediary/shareholders/",
        {"kind": "firm", "name": "股东", "share": "100", "uscc": make_uscc()},
    )
    wrong_signer = call(
        client, "POST", "/api/me/intermediary/commitment/", {"signer_name": "李四", "accept": True}
    )
    assert wrong_signer.status_code == 400
    signed = call(client, "POST", "/api/me/intermediary/commitment/", {"signer_name": "张三", "accept": True})
    assert signed.status_code == 200
    assert signed.json()["status"] == "listed_under_review"
    assert signed.json()["review_due"]

    login(client, personas.operator)
    queue = client.get("/api/review-queue/").json()
    assert firm.pk in [entry["id"] for entry in queue["results"]]
    approved = call(client, "POST", f"/api/intermediaries/{firm.pk}/review/", {"decision": "approve"})
    assert approved.status_code == 200
    assert approved.json()["status"] == "listed"
    assert Intermediary.objects.get(pk=firm.pk).status == Intermediary.Status.LISTED
    again = call(client, "POST", f"/api/intermediaries/{firm.pk}/review/", {"decision": "approve"})
    assert again.status_code == 400 and again.json()["code"] == "transition"


def test_review_queue_status_filter(client, login, personas):
    changes = IntermediaryFactory(status=Intermediary.Status.CHANGES_REQUESTED)
    IntermediaryFactory(status=Intermediary.Status.LISTED_UNDER_REVIEW)
    login(client, personas.operator)

    body = client.get("/api/review-queue/?status=changes_requested").json()

    assert [entry["id"] for entry in body["results"]] == [changes.pk]
    assert client.get("/api/review-queue/?status=bogus").status_code == 400


def test_offer_lifecycle(firm_client, personas):
    service_type = ServiceTypeFactory()
    qualification = QualificationFactory(intermediary=personas.firm)
    allow_qualification(service_type, qualification.qualification_type)
    person = practitioner(personas.firm)
    payload = offer_payload(service_type.code, practitioners=[person.pk], qualifications=[qualification.pk])

    created = call(firm_client, "POST", "/api/me/offers/", payload)
    assert created.status_code == 201, created.content
    offer_id = created.json()["id"]
    assert created.json()["current_fee"]["version"] == 1
    assert created.json()["practitioners"] == [person.pk]

    updated = call(firm_client, "PATCH", f"/api/me/offers/{offer_id}/", {"service_days": 15})
    assert updated.status_code == 200
    assert (updated.json()["service_days"], updated.json()["practitioners"]) == (15, [person.pk])
    assert updated.json()["qualifications"] == [qualification.pk]

    changed = call(
        firm_client, "POST", f"/api/me/offers/{offer_id}/fee/", fee(fee_max="28000.00", note="调整上限")
    )
    assert changed.status_code == 201
    assert changed.json()["version"] == 2
    same = call(firm_client, "POST", f"/api/me/offers/{offer_id}/fee/", fee(fee_max="28000.00"))
    assert same.status_code == 400 and same.json()["code"] == "unchanged"

    history = firm_client.get(f"/api/offers/{offer_id}/fees/").json()
    assert [v["version"] for v in history["versions"]] == [2, 1]
    listed = firm_client.get("/api/me/offers/").json()
    assert [o["id"] for o in listed["results"]] == [offer_id]


def test_withdrawn_offer_stays_in_own_list_but_leaves_the_directory(firm_client, personas):
    offer = OfferFactory(intermediary=personas.firm)

    response = call(firm_client, "PATCH", f"/api/me/offers/{offer.pk}/", {"is_active": False})

    assert response.status_code == 200
    assert Offer.objects.get(pk=offer.pk).is_active is False
    assert firm_client.get(f"/api/me/offers/{offer.pk}/").json()["is_active"] is False
    directory = firm_client.get(f"/api/intermediaries/?q={personas.firm.uscc}").json()
    assert directory["results"][0]["offers"] == []


def test_delisted_firm_cannot_change_anything(firm_client, personas):
    Intermediary.objects.filter(pk=personas.firm.pk).update(status=Intermediary.Status.DELISTED)

    response = call(firm_client, "POST", "/api/me/offers/", offer_payload(ServiceTypeFactory().code))

    assert response.status_code == 400
    assert response.json()["code"] == "delisted"
    assert not Offer.objects.filter(intermediary=personas.firm).exists()
