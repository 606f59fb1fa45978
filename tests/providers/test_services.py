"""Provider services: registration, onboarding, review, offers and fee versions.

Every refused call is checked to have written nothing (rows and audit events); every
successful write is checked to leave the audit chain intact.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone
from stdnum.cn import ric

from marketplace.accounts.models import Membership, Organisation, Role, User
from marketplace.core.audit import audit_verify
from marketplace.core.errors import DomainError, NotAllowed
from marketplace.core.models import AuditEvent
from marketplace.core.validators import id_hash
from marketplace.core.workdays import add_working_days
from marketplace.providers import services
from marketplace.providers.models import (
    DeclaredTie,
    FeeSchedule,
    Intermediary,
    Offer,
    Practitioner,
    Qualification,
    Shareholder,
)
from marketplace.providers.services import FeeInput
from tests.factories import (
    PDF_BYTES,
    IntermediaryFactory,
    OfferFactory,
    PractitionerFactory,
    PriceBandFactory,
    QualificationFactory,
    QualificationLevelFactory,
    QualificationTypeFactory,
    ServiceTypeFactory,
    allow_qualification,
    make_uscc,
    member_of,
    pdf_upload,
)

S = Intermediary.Status
PASSWORD = "Pa55word!2026"
WRITTEN_MODELS = (
    User,
    Organisation,
    Membership,
    Intermediary,
    Qualification,
    Practitioner,
    Shareholder,
    DeclaredTie,
    Offer,
    FeeSchedule,
    AuditEvent,
)


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in WRITTEN_MODELS}


@contextmanager
def nothing_written():
    before = _counts()
    yield
    assert _counts() == before


_id_serial = itertools.count(1)


def resident_id() -> str:
    """A valid 居民身份证号码. (``tests.factories.make_id_number`` passes the 17-digit body to
    ``ric.calc_check_digit``, which expects the check digit included, so its numbers are invalid.)"""
    body = f"37040219850615{next(_id_serial) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def _today():
    return timezone.localdate()


def _bad_check_digit(code: str) -> str:
    """The same identifier with a wrong last (check) character."""
    last = code[-1]
    return code[:-1] + ("1" if last != "1" else "2")


# --- registration -----------------------------------------------------------------------------


def _register(**overrides) -> Intermediary:
    kwargs = {
        "username": "lunan",
        "email": "office@lunan.example.cn",
        "password": PASSWORD,
        "full_name": "王五",
        "phone": "13800000000",
        "organisation_name": "鲁南测绘有限公司",
        "uscc": make_uscc(),
    }
    kwargs.update(overrides)
    return services.intermediary_register(**kwargs)


@pytest.mark.django_db
def test_register_creates_user_organisation_draft_firm_and_audit_events():
    code = make_uscc()

    firm = _register(uscc=code)

    assert firm.status == S.DRAFT
    assert firm.uscc == code and firm.name == "鲁南测绘有限公司"
    assert firm.organisation.kind == Role.INTERMEDIARY and firm.organisation.uscc == code
    membership = Membership.objects.get(organisation=firm.organisation)
    assert membership.user.username == "lunan"
    assert membership.role == Role.INTERMEDIARY and membership.is_manager
    assert membership.user.check_password(PASSWORD)
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions == ["user.signup", "organisation.create", "intermediary.create"]
    assert audit_verify().ok


@pytest.mark.django_db
def test_register_refuses_a_uscc_already_registered():
    code = make_uscc()
    _register(uscc=code, username="first")

    with nothing_written(), pytest.raises(DomainError, match="已注册") as exc:
        _register(uscc=code, username="second")
    assert exc.value.field == "uscc"


@pytest.mark.django_db
def test_register_refuses_a_uscc_with_a_wrong_check_character():
    code = _bad_check_digit(make_uscc())

    with nothing_written(), pytest.raises(DomainError, match="统一社会信用代码.*无效") as exc:
        _register(uscc=code)
    assert exc.value.field == "uscc"


@pytest.mark.django_db
def test_profile_update_refuses_a_resident_id_with_a_wrong_check_digit(personas):
    firm = personas.firm

    with nothing_written(), pytest.raises(DomainError, match="身份证号码无效") as exc:
        services.intermediary_update_profile(
            actor=personas.intermediary,
            intermediary=firm,
            name=firm.name,
            legal_representative="张三",
            legal_representative_id_number=_bad_check_digit(resident_id()),
            address=firm.address,
            contact_name=firm.contact_name,
            phone=firm.phone,
        )
    assert exc.value.field == "legal_representative_id_number"
    firm.refresh_from_db()
    assert firm.legal_representative_id_hash == ""


# --- qualifications ---------------------------------------------------------------------------


def _add_qualification(personas, **overrides) -> Qualification:
    kwargs = {
        "actor": personas.intermediary,
        "intermediary": personas.firm,
        "qualification_type": QualificationTypeFactory(),
        "level": None,
        "number": "测绘甲-0001",
        "authority": "山东省自然资源厅",
        "valid_from": _today() - timedelta(days=100),
        "valid_until": _today() + timedelta(days=700),
        "certificate": pdf_upload(),
    }
    kwargs.update(overrides)
    return services.qualification_add(**kwargs)


@pytest.mark.django_db
def test_qualification_add_stores_the_certificate_and_audits(personas):
    qualification = _add_qualification(personas)

    assert qualification.intermediary == personas.firm
    assert qualification.certificate.read() == PDF_BYTES
    assert AuditEvent.objects.get().action == "qualification.add"
    assert audit_verify().ok


@pytest.mark.django_db
def test_qualification_add_refuses_an_expired_certificate(personas):
    with nothing_written(), pytest.raises(DomainError, match="过期") as exc:
        _add_qualification(
            personas, valid_from=_today() - timedelta(days=800), valid_until=_today() - timedelta(days=1)
        )
    assert exc.value.code == "expired"


@pytest.mark.django_db
def test_qualification_add_refuses_validity_ending_before_it_starts(personas):
    with nothing_written(), pytest.raises(DomainError, match="有效期至不能早于有效期起"):
        _add_qualification(
            personas, valid_from=_today() + timedelta(days=300), valid_until=_today() + timedelta(days=30)
        )


@pytest.mark.django_db
def test_qualification_add_refuses_a_level_of_another_qualification_type(personas):
    other_level = QualificationLevelFactory()

    with nothing_written(), pytest.raises(DomainError, match="所选等级不属于该资质类型"):
        _add_qualification(personas, qualification_type=QualificationTypeFactory(), level=other_level)


@pytest.mark.django_db
def test_qualification_add_refuses_a_certificate_number_already_registered(personas):
    existing = QualificationFactory(intermediary=personas.other_firm, number="CERT-DUP-1")

    with nothing_written(), pytest.raises(DomainError, match="已被登记"):
        _add_qualification(personas, qualification_type=existing.qualification_type, number="CERT-DUP-1")


@pytest.mark.django_db
@override_settings(UPLOAD_MAX_BYTES=16)
def test_qualification_add_refuses_an_oversize_upload(personas):
    with nothing_written(), pytest.raises(DomainError, match="文件过大") as exc:
        _add_qualification(personas)
    assert exc.value.code == "too_large"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"),
        ("certificate.pdf", "这是一段文字，不是PDF文件".encode()),
    ],
    ids=["executable", "text-named-pdf"],
)
def test_qualification_add_refuses_an_upload_that_is_not_pdf_png_or_jpeg(personas, name, content):
    upload = SimpleUploadedFile(name, content, content_type="application/pdf")

    with nothing_written(), pytest.raises(DomainError, match="文件类型不支持") as exc:
        _add_qualification(personas, certificate=upload)
    assert exc.value.code == "bad_type"


@pytest.mark.django_db
def test_qualification_add_refuses_a_member_of_another_firm(personas):
    with nothing_written(), pytest.raises(NotAllowed):
        _add_qualification(personas, actor=personas.other_intermediary)


# --- practitioners and shareholders -----------------------------------------------------------


def _add_practitioner(personas, **overrides) -> Practitioner:
    kwargs = {
        "actor": personas.intermediary,
        "intermediary": personas.firm,
        "name": "赵六",
        "id_number": resident_id(),
        "title": "注册测绘师",
        "certificate_number": "ZC-2024-001",
        "certificate": pdf_upload("cert.pdf"),
        "insured_since": _today() - timedelta(days=400),
        "social_insurance_proof": pdf_upload("si.pdf"),
    }
    kwargs.update(overrides)
    return services.practitioner_add(**kwargs)


@pytest.mark.django_db
def test_practitioner_add_keeps_only_a_hash_and_last_four_digits_of_the_id(personas):
    id_number = resident_id()

    practitioner = _add_practitioner(personas, id_number=id_number)

    assert practitioner.id_last4 == id_number[-4:]
    assert id_number not in practitioner.id_hash
    assert audit_verify().ok


@pytest.mark.django_db
def test_practitioner_add_refuses_social_insurance_shorter_than_three_months(personas):
    with nothing_written(), pytest.raises(DomainError, match="须在本单位连续缴纳社会保险满3个月") as exc:
        _add_practitioner(personas, insured_since=_today() - timedelta(days=40))
    assert exc.value.field == "insured_since"


def _first_of_month_back(months: int):
    today = _today()
    year, month = today.year, today.month - months
    while month <= 0:
        month += 12
        year -= 1
    return today.replace(year=year, month=month, day=1)


@pytest.mark.django_db
def test_practitioner_add_accepts_insurance_since_the_first_of_the_month_three_months_back(personas):
    practitioner = _add_practitioner(personas, insured_since=_first_of_month_back(3))

    assert practitioner.pk is not None


@pytest.mark.django_db
def test_practitioner_add_refuses_insurance_starting_one_day_too_late(personas):
    with nothing_written(), pytest.raises(DomainError, match="满3个月"):
        _add_practitioner(personas, insured_since=_first_of_month_back(3) + timedelta(days=1))


@pytest.mark.django_db
def test_practitioner_add_refuses_a_resident_id_with_a_wrong_check_digit(personas):
    with nothing_written(), pytest.raises(DomainError, match="身份证号码无效"):
        _add_practitioner(personas, id_number=_bad_check_digit(resident_id()))


def _add_shareholder(personas, share, **overrides) -> Shareholder:
    kwargs = {
        "actor": personas.intermediary,
        "intermediary": personas.firm,
        "kind": Shareholder.Kind.PERSON,
        "name": "张三",
        "share": share,
        "id_number": resident_id(),
    }
    kwargs.update(overrides)
    return services.shareholder_add(**kwargs)


@pytest.mark.django_db
def test_shareholder_add_records_a_person_and_a_firm(personas):
    _add_shareholder(personas, "60")
    _add_shareholder(personas, "40", kind=Shareholder.Kind.FIRM, name="鲁南投资有限公司", uscc=make_uscc())

    assert sorted(personas.firm.shareholders.values_list("share", flat=True)) == [Decimal(40), Decimal(60)]
    assert audit_verify().ok


@pytest.mark.django_db
def test_shareholder_add_refuses_a_total_over_one_hundred_percent(personas):
    _add_shareholder(personas, "60")

    with nothing_written(), pytest.raises(DomainError, match="持股比例合计不能超过100%"):
        _add_shareholder(personas, "40.001")


@pytest.mark.django_db
@pytest.mark.parametrize("share", ["0", "-5"])
def test_shareholder_add_refuses_a_share_of_zero_or_less(personas, share):
    with nothing_written(), pytest.raises(DomainError, match="持股比例须大于0"):
        _add_shareholder(personas, share)


# --- commitment -------------------------------------------------------------------------------


@pytest.fixture
def draft(db):
    """A draft firm whose checklist is complete, and its member."""
    firm = IntermediaryFactory(status=S.DRAFT, listed_at=None)
    user = member_of(firm.organisation)
    PractitionerFactory(intermediary=firm, id_hash=id_hash(resident_id()))
    Shareholder.objects.create(intermediary=firm, kind=Shareholder.Kind.PERSON, name="张三", share=100)
    return firm, user


@pytest.mark.django_db
def test_commitment_sign_lists_the_firm_under_review_due_in_two_working_days(draft):
    firm, user = draft

    services.commitment_sign(actor=user, intermediary=firm, signer_name="张三", accept=True)

    firm.refresh_from_db()
    assert firm.status == S.LISTED_UNDER_REVIEW
    assert firm.review_due == add_working_days(_today(), 2)
    assert firm.commitment_signed_by == "张三" and firm.listed_at is not None
    assert AuditEvent.objects.get().action == "intermediary.commit"
    assert audit_verify().ok


@pytest.mark.django_db
def test_commitment_sign_refuses_an_incomplete_checklist(draft):
    firm, user = draft
    firm.practitioners.all().delete()

    with nothing_written(), pytest.raises(DomainError, match="请先完善：至少一名从业人员"):
        services.commitment_sign(actor=user, intermediary=firm, signer_name="张三", accept=True)
    firm.refresh_from_db()
    assert firm.status == S.DRAFT


@pytest.mark.django_db
def test_commitment_sign_refuses_a_signer_who_is_not_the_legal_representative(draft):
    firm, user = draft

    with nothing_written(), pytest.raises(DomainError, match="须由法定代表人（张三）本人签署"):
        services.commitment_sign(actor=user, intermediary=firm, signer_name="李四", accept=True)
    firm.refresh_from_db()
    assert firm.status == S.DRAFT


@pytest.mark.django_db
def test_commitment_sign_refuses_without_acceptance(draft):
    firm, user = draft

    with nothing_written(), pytest.raises(DomainError, match="请阅读并同意承诺书内容"):
        services.commitment_sign(actor=user, intermediary=firm, signer_name="张三", accept=False)


# --- review -----------------------------------------------------------------------------------


def _under_review() -> Intermediary:
    return IntermediaryFactory(status=S.LISTED_UNDER_REVIEW, review_due=_today())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("decision", "note", "expected"),
    [
        ("approve", "", S.LISTED),
        ("request_changes", "请补充股东身份证明", S.CHANGES_REQUESTED),
        ("delist", "提供虚假材料", S.DELISTED),
    ],
)
def test_review_moves_the_firm_to_the_decided_status(personas, decision, note, expected):
    firm = _under_review()

    services.intermediary_review(actor=personas.operator, intermediary=firm, decision=decision, note=note)

    firm.refresh_from_db()
    assert firm.status == expected and firm.review_note == note and firm.reviewed_at is not None
    assert AuditEvent.objects.get().action == f"intermediary.review.{decision}"
    assert audit_verify().ok


@pytest.mark.django_db
@pytest.mark.parametrize("decision", ["request_changes", "delist"])
def test_review_refuses_a_request_for_changes_or_delisting_without_a_note(personas, decision):
    firm = _under_review()

    with nothing_written(), pytest.raises(DomainError, match="请填写审核意见"):
        services.intermediary_review(actor=personas.operator, intermediary=firm, decision=decision, note="  ")
    firm.refresh_from_db()
    assert firm.status == S.LISTED_UNDER_REVIEW


@pytest.mark.django_db
def test_review_refuses_to_approve_a_delisted_firm(personas):
    firm = IntermediaryFactory(status=S.DELISTED)

    with nothing_written(), pytest.raises(DomainError, match="不能执行此审核操作") as exc:
        services.intermediary_review(actor=personas.operator, intermediary=firm, decision="approve")
    assert exc.value.code == "transition"
    firm.refresh_from_db()
    assert firm.status == S.DELISTED


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["intermediary", "owner", "department", "regulator"])
def test_review_refuses_anyone_but_an_operator(personas, role):
    firm = _under_review()

    with nothing_written(), pytest.raises(NotAllowed):
        services.intermediary_review(actor=getattr(personas, role), intermediary=firm, decision="approve")
    firm.refresh_from_db()
    assert firm.status == S.LISTED_UNDER_REVIEW


# --- offers and fees --------------------------------------------------------------------------

GOOD_FEE = {"basis": "fixed", "rate": "20000", "fee_min": "15000", "fee_max": "30000"}


def _create_offer(personas, service_type=None, fee=None, **overrides) -> Offer:
    kwargs = {
        "actor": personas.intermediary,
        "intermediary": personas.firm,
        "service_type": service_type or ServiceTypeFactory(),
        "description": "承接建设项目测绘，出具成果报告",
        "included": "外业测量、内业成图、成果提交",
        "service_days": 15,
        "fee": FeeInput(**{**GOOD_FEE, **(fee or {})}),
    }
    kwargs.update(overrides)
    return services.offer_create(**kwargs)


@pytest.mark.django_db
def test_offer_create_publishes_the_offer_with_fee_version_one(personas):
    offer = _create_offer(personas)

    assert offer.current_fee.version == 1
    assert offer.current_fee.fee_min == Decimal("15000.00") and offer.current_fee.fee_max == Decimal(
        "30000.00"
    )
    assert offer.current_fee.created_by == personas.intermediary
    assert list(AuditEvent.objects.order_by("seq").values_list("action", flat=True)) == [
        "offer.create",
        "fee.version",
    ]
    assert audit_verify().ok


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fee", "message"),
    [
        ({"fee_min": "-1"}, "收费金额不能为负数"),
        ({"rate": "-1"}, "费率/单价不能为负数"),
        ({"fee_min": "30000", "fee_max": "29999.99"}, "最高收费不能低于最低收费"),
        ({"basis": "percent", "rate": "100.5"}, "费率不能超过100%"),
        ({"basis": "per_unit", "rate": "12", "unit": " "}, "须填写计费单位"),
    ],
    ids=["negative-fee", "negative-rate", "max-below-min", "percent-over-100", "per-unit-without-unit"],
)
def test_offer_create_refuses_an_invalid_fee(personas, fee, message):
    with nothing_written(), pytest.raises(DomainError, match=message):
        _create_offer(personas, fee=fee)


@pytest.mark.django_db
def test_offer_create_refuses_a_fee_that_is_not_a_number(personas):
    with nothing_written(), pytest.raises(DomainError, match="须为数字"):
        _create_offer(personas, fee={"rate": "NaN"})


@pytest.mark.django_db
def test_offer_create_refuses_a_rate_too_large_to_store(personas):
    with nothing_written(), pytest.raises(DomainError):
        _create_offer(personas, fee={"rate": "99999999999"})


@pytest.mark.django_db
def test_offer_create_refuses_a_qualification_the_service_does_not_accept(personas):
    service_type = ServiceTypeFactory()
    allow_qualification(service_type, QualificationTypeFactory())
    unrelated = QualificationFactory(intermediary=personas.firm)

    with nothing_written(), pytest.raises(DomainError, match="不是.*可要求的资质类型"):
        _create_offer(personas, service_type=service_type, qualifications=[unrelated])


@pytest.mark.django_db
def test_offer_create_refuses_an_expired_qualification(personas):
    service_type = ServiceTypeFactory(qualification_required=True)
    expired = QualificationFactory(
        intermediary=personas.firm,
        valid_from=_today() - timedelta(days=800),
        valid_until=_today() - timedelta(days=1),
    )
    allow_qualification(service_type, expired.qualification_type)

    with nothing_written(), pytest.raises(DomainError, match="已过期") as exc:
        _create_offer(personas, service_type=service_type, qualifications=[expired])
    assert exc.value.code == "expired"


@pytest.mark.django_db
def test_offer_create_refuses_a_service_that_requires_a_qualification_without_one(personas):
    service_type = ServiceTypeFactory(qualification_required=True)
    allow_qualification(service_type, QualificationTypeFactory())

    with nothing_written(), pytest.raises(DomainError, match="须具备相应资质"):
        _create_offer(personas, service_type=service_type, qualifications=[])


@pytest.mark.django_db
def test_offer_create_refuses_a_qualification_of_another_firm(personas):
    service_type = ServiceTypeFactory()
    theirs = QualificationFactory(intermediary=personas.other_firm)
    allow_qualification(service_type, theirs.qualification_type)

    with nothing_written(), pytest.raises(DomainError, match="只能选择本机构的资质"):
        _create_offer(personas, service_type=service_type, qualifications=[theirs])


@pytest.mark.django_db
@pytest.mark.parametrize("wording", ["仅限本地企业", "须在枣庄市注册"])
def test_offer_create_refuses_regional_restrictions_in_the_description(personas, wording):
    with nothing_written(), pytest.raises(DomainError, match="不得设置地域限制") as exc:
        _create_offer(personas, description=f"承接测绘业务，{wording}。")
    assert exc.value.code == "regional"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fee",
    [{"fee_min": "999.99", "fee_max": "20000"}, {"fee_min": "1000", "fee_max": "50000.01"}],
    ids=["below-band", "above-band"],
)
def test_offer_create_refuses_a_fee_outside_the_government_band(personas, fee):
    band = PriceBandFactory(fee_min=Decimal("1000.00"), fee_max=Decimal("50000.00"))

    with nothing_written(), pytest.raises(DomainError, match="收费须在 1000.00 至 50000.00 元之间") as exc:
        _create_offer(personas, service_type=band.service_type, fee={"rate": "10000", **fee})
    assert exc.value.code == "band"


@pytest.mark.django_db
def test_offer_create_accepts_a_fee_inside_the_government_band(personas):
    band = PriceBandFactory(fee_min=Decimal("1000.00"), fee_max=Decimal("50000.00"))

    offer = _create_offer(
        personas, service_type=band.service_type, fee={"fee_min": "1000", "fee_max": "50000"}
    )

    assert offer.current_fee.fee_max == Decimal("50000.00")


@pytest.mark.django_db
def test_offer_create_refuses_a_member_of_another_firm(personas):
    with nothing_written(), pytest.raises(NotAllowed):
        _create_offer(personas, actor=personas.other_intermediary)


@pytest.mark.django_db
def test_fee_change_adds_version_two_and_keeps_version_one(personas):
    offer = OfferFactory(intermediary=personas.firm)
    first = offer.current_fee

    second = services.fee_schedule_change(
        actor=personas.intermediary,
        offer=offer,
        fee=FeeInput(basis="fixed", rate="22000", fee_min="16000", fee_max="32000", note="人工成本上涨"),
    )

    offer.refresh_from_db()
    assert second.version == 2 and offer.current_fee == second
    assert list(offer.fee_versions.order_by("version").values_list("version", "fee_max")) == [
        (1, Decimal("30000.00")),
        (2, Decimal("32000.00")),
    ]
    first.refresh_from_db()
    assert first.fee_min == Decimal("15000.00")
    assert AuditEvent.objects.get().action == "fee.version"
    assert audit_verify().ok


@pytest.mark.django_db
def test_fee_change_refuses_an_unchanged_fee(personas):
    offer = OfferFactory(intermediary=personas.firm)

    with nothing_written(), pytest.raises(DomainError, match="收费标准没有变化") as exc:
        services.fee_schedule_change(
            actor=personas.intermediary,
            offer=offer,
            fee=FeeInput(basis="fixed", rate="20000", fee_min="15000", fee_max="30000", note="只改说明"),
        )
    assert exc.value.code == "unchanged"


@pytest.mark.django_db
def test_fee_change_refuses_a_member_of_another_firm(personas):
    offer = OfferFactory(intermediary=personas.firm)

    with nothing_written(), pytest.raises(NotAllowed):
        services.fee_schedule_change(
            actor=personas.other_intermediary,
            offer=offer,
            fee=FeeInput(basis="fixed", rate="1", fee_min="1", fee_max="2"),
        )
    offer.refresh_from_db()
    assert offer.current_fee.version == 1


@pytest.mark.django_db
def test_qualification_remove_is_refused_for_a_delisted_firm(personas):
    qualification = QualificationFactory(intermediary=personas.firm)
    Intermediary.objects.filter(pk=personas.firm.pk).update(status=S.DELISTED)
    qualification.refresh_from_db()

    with nothing_written(), pytest.raises(DomainError, match="已被清退"):
        services.qualification_remove(actor=personas.intermediary, qualification=qualification)


@pytest.mark.django_db
def test_qualification_remove_deletes_and_audits(personas):
    qualification = QualificationFactory(intermediary=personas.firm)

    services.qualification_remove(actor=personas.intermediary, qualification=qualification)

    assert not Qualification.objects.filter(pk=qualification.pk).exists()
    assert AuditEvent.objects.get().action == "qualification.remove"
    assert audit_verify().ok


@pytest.mark.django_db
def test_delisted_firm_cannot_publish_an_offer(personas):
    Intermediary.objects.filter(pk=personas.firm.pk).update(status=S.DELISTED)
    personas.firm.refresh_from_db()

    with nothing_written(), pytest.raises(DomainError, match="已被清退"):
        _create_offer(personas)
