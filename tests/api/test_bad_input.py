"""Bad input through the API: a 400 with the service's Chinese message, and nothing written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from marketplace.catalog.models import PricingRegime
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
    OfferFactory,
    PriceBandFactory,
    QualificationFactory,
    QualificationTypeFactory,
    ServiceTypeFactory,
    allow_qualification,
    make_uscc,
    pdf_upload,
)

from . import call, day, fee, messages, offer_payload, resident_id


def _counts() -> dict[str, int]:
    models = [Intermediary, Qualification, Practitioner, Shareholder, Offer, FeeSchedule, AuditEvent]
    return {model.__name__: model.objects.count() for model in models}


@pytest.fixture
def firm_client(client, login, personas):
    login(client, personas.intermediary)
    return client


@pytest.fixture
def nothing_written(db):
    before = _counts()
    yield
    assert _counts() == before


def _bad_check_character(code: str) -> str:
    return code[:-1] + ("1" if code[-1] != "1" else "2")


def _qualification(qualification_type, **overrides) -> dict:
    values = {
        "qualification_type": qualification_type.code,
        "number": "HP-2026-001",
        "authority": "山东省生态环境厅",
        "valid_from": day(-365),
        "valid_until": day(365),
        "certificate": pdf_upload(),
    }
    values.update(overrides)
    return values


def _practitioner(**overrides) -> dict:
    values = {
        "name": "赵六",
        "id_number": resident_id(),
        "title": "注册测绘师",
        "certificate_number": "CH-0001",
        "certificate": pdf_upload(),
        "insured_since": day(-400),
        "social_insurance_proof": pdf_upload("si.pdf"),
    }
    values.update(overrides)
    return values


# --- identifiers ------------------------------------------------------------------------------


def test_invalid_uscc_of_a_firm_shareholder(firm_client, nothing_written):
    bad = _bad_check_character(make_uscc())
    payload = {"kind": "firm", "name": "枣庄投资有限公司", "share": "30", "uscc": bad}

    response = call(firm_client, "POST", "/api/me/intermediary/shareholders/", payload)

    assert response.status_code == 400
    assert response.json()["uscc"] == [f"统一社会信用代码“{bad}”无效：请核对18位代码及校验位。"]


def test_invalid_id_number_of_a_practitioner(firm_client, nothing_written):
    payload = _practitioner(id_number=_bad_check_character(resident_id()))

    response = call(firm_client, "POST", "/api/me/intermediary/practitioners/", payload, multipart=True)

    assert response.status_code == 400
    assert "身份证号码无效" in response.json()["id_number"][0]


def test_invalid_id_number_of_a_person_shareholder(firm_client, nothing_written):
    payload = {"kind": "person", "name": "钱八", "share": "30", "id_number": "37040219850615001"}

    response = call(firm_client, "POST", "/api/me/intermediary/shareholders/", payload)

    assert response.status_code == 400
    assert "身份证号码无效" in messages(response)


def test_invalid_id_number_of_the_legal_representative(firm_client, personas, nothing_written):
    payload = {"name": "改过的名称", "legal_representative_id_number": "370402198513450000"}

    response = call(firm_client, "PATCH", "/api/me/intermediary/", payload)

    assert response.status_code == 400
    assert "身份证号码无效" in response.json()["legal_representative_id_number"][0]
    firm = Intermediary.objects.get(pk=personas.firm.pk)
    assert (firm.name, firm.legal_representative_id_hash) == (personas.firm.name, "")


def test_blank_required_profile_field_gets_the_services_message(firm_client, nothing_written):
    response = call(firm_client, "PATCH", "/api/me/intermediary/", {"address": "  "})

    assert response.status_code == 400
    assert response.json()["address"] == ["请填写住所。"]


# --- qualifications and uploads ---------------------------------------------------------------


def test_expired_qualification(firm_client, nothing_written):
    payload = _qualification(QualificationTypeFactory(), valid_from=day(-800), valid_until=day(-1))

    response = call(firm_client, "POST", "/api/me/intermediary/qualifications/", payload, multipart=True)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "expired"
    assert body["valid_until"] == [f"资质证书已于 {day(-1)} 过期，不能登记过期资质。"]


def test_oversize_certificate(firm_client, nothing_written):
    size = settings.UPLOAD_MAX_BYTES + 1
    big = SimpleUploadedFile("big.pdf", PDF_BYTES + b"0" * (size - len(PDF_BYTES)), "application/pdf")
    payload = _qualification(QualificationTypeFactory(), certificate=big)

    response = call(firm_client, "POST", "/api/me/intermediary/qualifications/", payload, multipart=True)

    assert response.status_code == 400
    assert response.json()["code"] == "too_large"
    assert "文件过大" in response.json()["certificate"][0]


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("cert.pdf", b"MZ\x90\x00 not a pdf at all", "application/pdf"),
        SimpleUploadedFile("cert.docx", b"PK\x03\x04 word document", "application/msword"),
    ],
    ids=["disguised", "word"],
)
def test_wrong_type_upload(firm_client, nothing_written, upload):
    response = call(
        firm_client,
        "POST",
        "/api/me/intermediary/qualifications/",
        _qualification(QualificationTypeFactory(), certificate=upload),
        multipart=True,
    )

    assert response.status_code == 400
    assert response.json()["certificate"] == ["文件类型不支持：只接受 PDF、PNG 或 JPG 文件。"]


def test_wrong_type_proof_of_social_insurance(firm_client, nothing_written):
    payload = _practitioner(social_insurance_proof=SimpleUploadedFile("si.pdf", b"GIF89a....", "image/gif"))

    response = call(firm_client, "POST", "/api/me/intermediary/practitioners/", payload, multipart=True)

    assert response.status_code == 400
    assert "文件类型不支持" in response.json()["social_insurance_proof"][0]


def test_missing_certificate(firm_client, nothing_written):
    payload = _qualification(QualificationTypeFactory())
    del payload["certificate"]

    response = call(firm_client, "POST", "/api/me/intermediary/qualifications/", payload, multipart=True)

    assert response.status_code == 400
    assert "请上传证明文件" in response.json()["certificate"][0]


# --- offers and fees --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fee_fields", "field", "message"),
    [
        ({"fee_min": "-1.00"}, "fee_min", "收费金额不能为负数。"),
        ({"fee_min": "0", "fee_max": "-500"}, "fee_min", "收费金额不能为负数。"),
        ({"rate": "-0.5"}, "rate", "费率/单价不能为负数。"),
        ({"fee_min": "50000.00", "fee_max": "10000.00"}, "fee_max", "最高收费不能低于最低收费。"),
        ({"basis": "per_unit", "unit": ""}, "unit", "按计费单位收费时须填写计费单位。"),
    ],
    ids=["negative-min", "negative-max", "negative-rate", "inverted", "unit-missing"],
)
def test_offer_with_bad_fee(firm_client, nothing_written, fee_fields, field, message):
    payload = offer_payload(ServiceTypeFactory().code, fee=fee(**fee_fields))

    response = call(firm_client, "POST", "/api/me/offers/", payload)

    assert response.status_code == 400
    assert response.json()[field] == [message]


@pytest.mark.parametrize(
    ("fee_fields", "message"),
    [
        ({"fee_min": "-1.00"}, "收费金额不能为负数。"),
        ({"fee_min": "50000.00", "fee_max": "10000.00"}, "最高收费不能低于最低收费。"),
    ],
)
def test_fee_change_with_bad_range(firm_client, personas, fee_fields, message):
    offer = OfferFactory(intermediary=personas.firm)
    before = (_counts(), Offer.objects.get(pk=offer.pk).current_fee_id)

    response = call(firm_client, "POST", f"/api/me/offers/{offer.pk}/fee/", fee(**fee_fields))

    assert response.status_code == 400
    assert message in messages(response)
    assert (_counts(), Offer.objects.get(pk=offer.pk).current_fee_id) == before


def test_fee_outside_the_government_band(firm_client, nothing_written):
    band = PriceBandFactory(fee_min=Decimal("1000.00"), fee_max=Decimal("50000.00"))
    assert band.service_type.pricing_regime == PricingRegime.GOVERNMENT_GUIDED
    payload = offer_payload(band.service_type.code, fee=fee(fee_min="500.00", fee_max="60000.00"))

    response = call(firm_client, "POST", "/api/me/offers/", payload)

    assert response.status_code == 400
    assert response.json()["code"] == "band"
    assert "收费须在 1000.00 至 50000.00 元之间" in messages(response)


def test_qualification_type_the_service_does_not_allow(firm_client, personas):
    service_type = ServiceTypeFactory(name_zh="建设项目环境影响评价")
    allow_qualification(service_type, QualificationTypeFactory())
    surveying = QualificationFactory(
        intermediary=personas.firm, qualification_type=QualificationTypeFactory(name_zh="测绘资质")
    )
    payload = offer_payload(service_type.code, qualifications=[surveying.pk])
    before = _counts()

    response = call(firm_client, "POST", "/api/me/offers/", payload)

    assert _counts() == before

    assert response.status_code == 400
    assert response.json()["code"] == "qualification_not_allowed"
    assert response.json()["qualifications"] == ["资质“测绘资质”不是“建设项目环境影响评价”可要求的资质类型。"]


def test_another_firms_qualification_cannot_be_linked(firm_client, personas):
    service_type = ServiceTypeFactory()
    theirs = QualificationFactory(intermediary=personas.other_firm)
    allow_qualification(service_type, theirs.qualification_type)
    before = _counts()

    payload = offer_payload(service_type.code, qualifications=[theirs.pk])
    response = call(firm_client, "POST", "/api/me/offers/", payload)

    assert _counts() == before
    assert response.status_code == 400
    assert "qualifications" in response.json()


@pytest.mark.parametrize("field", ["description", "included"])
def test_regional_restriction_in_a_new_offer(firm_client, nothing_written, field):
    payload = offer_payload(ServiceTypeFactory().code, **{field: "本项目仅限本地企业承接"})

    response = call(firm_client, "POST", "/api/me/offers/", payload)

    assert response.status_code == 400
    assert response.json()["code"] == "regional"
    assert response.json()[field] == ["不得设置地域限制：“仅限本地”。合格中介机构不受地域限制，平等进入。"]


def test_regional_restriction_in_an_offer_update(firm_client, personas):
    offer = OfferFactory(intermediary=personas.firm)
    before = _counts()

    response = call(firm_client, "PATCH", f"/api/me/offers/{offer.pk}/", {"description": "仅限本地企业"})

    assert response.status_code == 400
    assert "不得设置地域限制" in response.json()["description"][0]
    assert Offer.objects.get(pk=offer.pk).description == offer.description
    assert _counts() == before


def test_regional_restriction_in_the_firm_description(firm_client, personas, nothing_written):
    response = call(firm_client, "PATCH", "/api/me/intermediary/", {"description": "仅限本地企业委托"})

    assert response.status_code == 400
    assert "不得设置地域限制" in response.json()["description"][0]
    assert Intermediary.objects.get(pk=personas.firm.pk).description == ""


def test_unknown_service_type_code(firm_client, nothing_written):
    response = call(firm_client, "POST", "/api/me/offers/", offer_payload("no-such-service"))

    assert response.status_code == 400
    assert "service_type" in response.json()


def test_second_offer_for_the_same_service_type(firm_client, personas):
    offer = OfferFactory(intermediary=personas.firm)
    before = _counts()

    response = call(firm_client, "POST", "/api/me/offers/", offer_payload(offer.service_type.code))

    assert response.status_code == 400
    assert response.json()["service_type"] == ["已发布过该服务事项，请修改原服务。"]
    assert _counts() == before


# --- review -----------------------------------------------------------------------------------


def test_review_without_a_reason_is_refused(client, login, personas, nothing_written):
    login(client, personas.operator)

    response = call(client, "POST", f"/api/intermediaries/{personas.firm.pk}/review/", {"decision": "delist"})

    assert response.status_code == 400
    assert response.json()["note"] == ["请填写审核意见（要求补正或清退必须说明理由）。"]


def test_review_with_an_unknown_decision(client, login, personas, nothing_written):
    login(client, personas.operator)

    response = call(
        client, "POST", f"/api/intermediaries/{personas.firm.pk}/review/", {"decision": "promote"}
    )

    assert response.status_code == 400
    assert "decision" in response.json()


@pytest.mark.parametrize("value", ["NaN", "Infinity", "abc"])
def test_fee_that_is_not_a_number_is_400_not_500(firm_client, nothing_written, value):
    payload = offer_payload(ServiceTypeFactory().code, fee=fee(rate=value))

    response = call(firm_client, "POST", "/api/me/offers/", payload)

    assert response.status_code == 400
    assert "rate" in response.json()["fee"]


# --- input no database can take, and paths no route matches ----------------------------------

NUL_REFUSED = "请求内容中含有空字符（NUL），无法处理。"


def test_a_nul_character_in_a_json_code_is_400_not_500(firm_client, nothing_written):
    # PostgreSQL cannot even compare text holding NUL: the lookup of the code raised (500).
    response = call(firm_client, "POST", "/api/me/offers/", offer_payload("eia\x00"))

    assert response.status_code == 400
    assert response.json() == {"detail": NUL_REFUSED}


def test_a_nul_character_in_a_json_field_name_is_400(firm_client, nothing_written):
    response = call(firm_client, "POST", "/api/me/intermediary/ties/", {"depart\x00ment": "x"})

    assert response.status_code == 400
    assert response.json() == {"detail": NUL_REFUSED}


def test_a_nul_character_in_a_multipart_field_is_400(firm_client, nothing_written):
    payload = _qualification(QualificationTypeFactory(), number="A\x00B")

    response = firm_client.post("/api/me/intermediary/qualifications/", payload)

    assert response.status_code == 400
    assert response.json() == {"detail": NUL_REFUSED}


def test_an_uploaded_file_may_hold_nul_bytes(firm_client, personas):
    certificate = SimpleUploadedFile("cert.pdf", PDF_BYTES + b"\x00\x00", content_type="application/pdf")
    payload = _qualification(QualificationTypeFactory(), certificate=certificate)

    response = firm_client.post("/api/me/intermediary/qualifications/", payload)

    assert response.status_code == 201
    assert Qualification.objects.filter(intermediary=personas.firm).count() == 1


def test_a_nul_character_in_a_patch_code_is_400(client, login, personas):
    from marketplace.procurement import services
    from tests.procurement.factories import project_input

    project = services.project_create(actor=personas.owner, data=project_input())
    login(client, personas.owner)

    response = call(client, "PATCH", f"/api/projects/{project.pk}/", {"service_type": "\x00"})

    assert response.status_code == 400
    assert response.json() == {"detail": NUL_REFUSED}


@pytest.mark.parametrize(
    "url", ["/api/service-types/?category=%00", "/api/search/?q=a%00b", "/api/intermediaries/?q%00=x"]
)
def test_a_nul_character_in_the_query_string_is_400(client, db, url):
    response = client.get(url)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "请求参数中含有空字符（NUL），无法处理。"}


def test_a_nul_character_in_a_page_query_string_is_400(client, db):
    response = client.get("/search/?q=%00")

    assert response.status_code == 400


@pytest.mark.parametrize("url", ["/api/fees/%00/", "/%00/", "/services/%00/"])
def test_a_nul_character_in_the_path_is_404_not_500(client, db, url):
    response = client.get(url)

    assert response.status_code == 404


@pytest.mark.parametrize("url", ["/api/projects/abc/", "/api/no-such-endpoint/", "/api/offers/-1/fees/"])
def test_an_api_path_that_matches_no_route_is_a_json_404(client, db, url):
    response = client.get(url)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "未找到。"}


def test_a_page_that_does_not_exist_is_still_the_html_404(client, db):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
