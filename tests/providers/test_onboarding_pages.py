"""A firm registers and onboards through the pages, ending listed (under review) in the directory."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from stdnum.cn import ric

from marketplace.accounts.models import Organisation, User
from marketplace.core.audit import audit_verify
from marketplace.core.models import AuditEvent
from marketplace.core.workdays import add_working_days
from marketplace.providers.models import DeclaredTie, Intermediary, Practitioner, Qualification, Shareholder
from tests.factories import DepartmentFactory, QualificationTypeFactory, make_uscc, pdf_upload

S = Intermediary.Status
PASSWORD = "Pa55word!2026"
_id_serial = itertools.count(500)


def resident_id() -> str:
    """A valid 居民身份证号码 (``tests.factories.make_id_number`` computes a wrong check digit)."""
    body = f"37040219850615{next(_id_serial) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def _today():
    return timezone.localdate()


def _section(client, section: str, data: dict):
    prefixed = {f"{section}-{key}": value for key, value in data.items()}
    return client.post(reverse("providers:onboarding-section", args=[section]), prefixed)


@pytest.fixture
def registered(client, db):
    """A visitor registered a firm through the page and is now signed in as its first user."""
    code = make_uscc()
    response = client.post(
        reverse("providers:register"),
        {
            "organisation_name": "鲁南工程测绘有限公司",
            "uscc": code,
            "full_name": "王五",
            "phone": "13800000000",
            "email": "office@lunan.example.cn",
            "username": "lunan",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("providers:onboarding")
    return Intermediary.objects.get(uscc=code)


def _qualification_data(**overrides):
    return {
        "qualification_type": QualificationTypeFactory().pk,
        "level": "",
        "number": "乙测资字3704001",
        "authority": "山东省自然资源厅",
        "valid_from": (_today() - timedelta(days=100)).isoformat(),
        "valid_until": (_today() + timedelta(days=700)).isoformat(),
        "certificate": pdf_upload(),
        **overrides,
    }


@pytest.mark.django_db
def test_registration_with_an_invalid_uscc_shows_the_error_and_creates_nothing(client):
    code = make_uscc()
    bad = code[:-1] + ("1" if code[-1] != "1" else "2")
    before = (User.objects.count(), Organisation.objects.count(), Intermediary.objects.count())

    response = client.post(
        reverse("providers:register"),
        {
            "organisation_name": "鲁南工程测绘有限公司",
            "uscc": bad,
            "full_name": "王五",
            "phone": "13800000000",
            "email": "office@lunan.example.cn",
            "username": "lunan",
            "password": PASSWORD,
        },
    )

    assert response.status_code != 302
    assert f"统一社会信用代码“{bad}”无效" in response.content.decode()
    assert (User.objects.count(), Organisation.objects.count(), Intermediary.objects.count()) == before
    assert AuditEvent.objects.count() == 0
    assert "_auth_user_id" not in client.session


def test_registration_opens_a_draft_that_the_public_cannot_see(client, registered):
    assert registered.status == S.DRAFT
    assert client.get(reverse("providers:onboarding")).status_code == 200

    client.logout()
    assert registered.name not in client.get(reverse("providers:directory")).content.decode()
    assert client.get(reverse("providers:profile", args=[registered.pk])).status_code == 404


def test_onboarding_through_every_section_lists_the_firm_in_the_directory(client, registered):
    steps = [
        (
            "profile",
            {
                "name": "鲁南工程测绘有限公司",
                "legal_representative": "王五",
                "legal_representative_id_number": resident_id(),
                "address": "枣庄市薛城区长江路9号",
                "contact_name": "王五",
                "phone": "0632-4000000",
                "email": "office@lunan.example.cn",
                "description": "工程测量、不动产测绘",
            },
        ),
        ("qualification", _qualification_data()),
        (
            "practitioner",
            {
                "name": "赵六",
                "id_number": resident_id(),
                "title": "注册测绘师",
                "certificate_number": "ZC-2024-001",
                "certificate": pdf_upload("prac.pdf"),
                "insured_since": (_today() - timedelta(days=400)).isoformat(),
                "social_insurance_proof": pdf_upload("si.pdf"),
            },
        ),
        ("shareholder", {"kind": "person", "name": "王五", "id_number": resident_id(), "share": "100"}),
        (
            "tie",
            {
                "department": DepartmentFactory().pk,
                "kind": "former_staff",
                "person_name": "赵六",
                "ended_on": (_today() - timedelta(days=900)).isoformat(),
                "description": "赵六曾在该局测绘科任职，已于三年前离职",
            },
        ),
        ("commitment", {"accept": "on", "signer_name": "王五"}),
    ]
    for section, data in steps:
        response = _section(client, section, data)
        assert response.status_code == 302, (
            section,
            response.context and response.context["forms"][section].errors,
        )
        assert response["Location"] == reverse("providers:onboarding") + f"#{section}"

    firm = Intermediary.objects.get(pk=registered.pk)
    assert firm.status == S.LISTED_UNDER_REVIEW
    assert firm.review_due == add_working_days(_today(), 2)
    assert firm.legal_representative == "王五" and firm.legal_representative_id_hash
    assert Qualification.objects.filter(intermediary=firm).count() == 1
    assert Practitioner.objects.filter(intermediary=firm).count() == 1
    assert Shareholder.objects.filter(intermediary=firm).count() == 1
    assert DeclaredTie.objects.filter(intermediary=firm).count() == 1
    assert audit_verify().ok

    client.logout()
    directory = client.get(reverse("providers:directory"))
    assert firm in directory.context["page_obj"]
    assert "鲁南工程测绘有限公司" in directory.content.decode()
    profile = client.get(reverse("providers:profile", args=[firm.pk]))
    assert profile.status_code == 200 and "枣庄市薛城区长江路9号" in profile.content.decode()


def test_onboarding_page_shows_what_is_still_missing(client, registered):
    response = client.get(reverse("providers:onboarding"))

    assert response.context["checklist"].complete is False
    assert response.context["firm"] == registered


def test_commitment_with_an_incomplete_checklist_shows_what_is_missing(client, registered):
    events = AuditEvent.objects.count()

    response = _section(client, "commitment", {"accept": "on", "signer_name": "王五"})

    assert response.status_code == 400
    assert "请先完善" in response.content.decode()
    registered.refresh_from_db()
    assert registered.status == S.DRAFT
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            lambda: SimpleUploadedFile("cert.pdf", "不是PDF".encode(), content_type="application/pdf"),
            "文件类型不支持",
        ),
        (
            lambda: SimpleUploadedFile(
                "cert.exe", b"MZ\x90\x00" * 8, content_type="application/x-msdownload"
            ),
            "文件类型不支持",
        ),
    ],
    ids=["text-named-pdf", "executable"],
)
def test_bad_upload_shows_the_error_with_status_400_and_stores_nothing(client, registered, upload, message):
    events = AuditEvent.objects.count()

    response = _section(client, "qualification", _qualification_data(certificate=upload()))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Qualification.objects.exists()
    assert AuditEvent.objects.count() == events


def test_oversize_upload_shows_the_error_with_status_400(client, registered, settings):
    settings.UPLOAD_MAX_BYTES = 16

    response = _section(client, "qualification", _qualification_data())

    assert response.status_code == 400
    assert "文件过大" in response.content.decode()
    assert not Qualification.objects.exists()


def test_expired_qualification_shows_the_error_with_status_400(client, registered):
    response = _section(
        client,
        "qualification",
        _qualification_data(
            valid_from=(_today() - timedelta(days=800)).isoformat(),
            valid_until=(_today() - timedelta(days=1)).isoformat(),
        ),
    )

    assert response.status_code == 400
    assert "过期" in response.content.decode()
    assert not Qualification.objects.exists()


def test_practitioner_insured_for_less_than_three_months_shows_the_error(client, registered):
    response = _section(
        client,
        "practitioner",
        {
            "name": "赵六",
            "id_number": resident_id(),
            "title": "注册测绘师",
            "certificate_number": "ZC-1",
            "certificate": pdf_upload("prac.pdf"),
            "insured_since": (_today() - timedelta(days=20)).isoformat(),
            "social_insurance_proof": pdf_upload("si.pdf"),
        },
    )

    assert response.status_code == 400
    assert "须在本单位连续缴纳社会保险满3个月" in response.content.decode()
    assert not Practitioner.objects.exists()
