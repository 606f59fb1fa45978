"""The billing pages: who sees what, forms with bad input, query counts, links."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import LedgerEntry, Milestone, Payment
from marketplace.catalog.models import PriceBand
from tests.conftest import login_as
from tests.factories import PDF_BYTES

from .conftest import pay_by_card, signed_contract

pytestmark = pytest.mark.django_db


def transfer_post(client, contract, amount="80000.00", reference="BANK-1"):
    return client.post(
        reverse("billing:transfer", args=[contract.project_id]),
        {
            "transfer-milestone": "1",
            "transfer-amount": amount,
            "transfer-reference": reference,
            "transfer-transfer_date": timezone.localdate().isoformat(),
            "transfer-receipt": SimpleUploadedFile("r.pdf", PDF_BYTES, content_type="application/pdf"),
        },
    )


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("owner", 200),
        ("intermediary", 200),
        ("regulator", 200),
        ("other_intermediary", 404),
        ("department", 403),
        ("operator", 403),
        ("anonymous", 302),
    ],
)
def test_who_sees_a_contracts_payments(client, personas, who, status):
    contract = signed_contract(personas)
    login_as(client, personas.all()[who])
    response = client.get(reverse("billing:contract", args=[contract.project_id]))
    assert response.status_code == status


def test_another_owner_cannot_see_the_contracts_payments(client, personas):
    contract = signed_contract(personas)
    other_contract = signed_contract(personas, owner=None)
    from tests.factories import MembershipFactory, OrganisationFactory

    stranger = MembershipFactory(organisation=OrganisationFactory(kind="owner")).user
    login_as(client, stranger)
    assert client.get(reverse("billing:contract", args=[contract.project_id])).status_code == 404
    assert client.get(reverse("billing:contract", args=[other_contract.project_id])).status_code == 404


def test_the_owner_records_a_transfer_and_the_firm_confirms_it_on_the_page(client, personas, settings):
    settings.STRIPE_SECRET_KEY = ""
    contract = signed_contract(personas, amount=Decimal("80000"))
    login_as(client, personas.owner)
    page = client.get(reverse("billing:contract", args=[contract.project_id])).content.decode()
    assert "登记银行转账" in page and "在线支付" not in page
    response = transfer_post(client, contract)
    assert response.status_code == 302
    payment = Payment.objects.get()
    login_as(client, personas.intermediary)
    page = client.get(reverse("billing:contract", args=[contract.project_id])).content.decode()
    assert "确认收款" in page and "BANK-1" in page
    client.post(reverse("billing:transfer-confirm", args=[payment.pk]))
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    page = client.get(reverse("billing:contract", args=[contract.project_id])).content.decode()
    assert "已支付" in page
    assert client.get(reverse("billing:receipt", args=[payment.pk])).status_code == 200


def test_a_transfer_form_with_a_wrong_amount_shows_the_error_and_writes_nothing(client, personas):
    contract = signed_contract(personas, amount=Decimal("80000"))
    login_as(client, personas.owner)
    response = transfer_post(client, contract, amount="90000")
    assert response.status_code == 400
    assert "未付余额" in response.content.decode()
    assert not Payment.objects.exists()


def test_the_firm_cannot_record_a_transfer_nor_the_owner_confirm_one(client, personas):
    contract = signed_contract(personas)
    login_as(client, personas.intermediary)
    assert transfer_post(client, contract).status_code == 403
    payment = services.transfer_record(
        actor=personas.owner,
        contract=contract,
        position=1,
        amount=Decimal("80000"),
        reference="B",
        transfer_date=timezone.localdate(),
        receipt=SimpleUploadedFile("r.pdf", PDF_BYTES),
    )
    login_as(client, personas.owner)
    assert client.post(reverse("billing:transfer-confirm", args=[payment.pk])).status_code == 403
    login_as(client, personas.other_intermediary)
    assert client.post(reverse("billing:transfer-confirm", args=[payment.pk])).status_code == 404
    assert client.get(reverse("billing:receipt", args=[payment.pk])).status_code == 404
    assert not LedgerEntry.objects.exists()


def test_the_schedule_form_saves_the_milestones(client, personas):
    contract = signed_contract(personas, amount=Decimal("100000"))
    login_as(client, personas.owner)
    data = {
        "schedule-label_1": "预付款",
        "schedule-percent_1": "30",
        "schedule-label_2": "尾款",
        "schedule-percent_2": "70",
        "schedule-after_acceptance_2": "on",
    }
    response = client.post(reverse("billing:schedule", args=[contract.project_id]), data)
    assert response.status_code == 302
    assert list(Milestone.objects.values_list("label", "percent", "after_acceptance")) == [
        ("预付款", Decimal("30.00"), False),
        ("尾款", Decimal("70.00"), True),
    ]
    data["schedule-percent_2"] = "60"
    response = client.post(reverse("billing:schedule", args=[contract.project_id]), data)
    assert response.status_code == 400 and "100%" in response.content.decode()


def test_card_payment_page_carries_the_intent_and_the_return_confirms(
    client, personas, stripe_on, stripe_client
):
    contract = signed_contract(personas)
    login_as(client, personas.owner)
    response = client.post(reverse("billing:card-pay", args=[contract.project_id, 1]))
    assert response.status_code == 200
    payment = Payment.objects.get()
    page = response.content.decode()
    assert payment.stripe_payment_intent in page and "pk_test_local" in page
    pay_by_card(stripe_client, payment.stripe_payment_intent)
    url = (
        reverse("billing:card-return", args=[contract.project_id])
        + f"?payment_intent={payment.stripe_payment_intent}"
    )
    page = client.get(url, follow=True).content.decode()
    assert "支付成功" in page
    assert LedgerEntry.objects.filter(kind="charge").count() == 1


def test_owner_and_firm_lists_show_paid_and_due_in_few_queries(
    client, personas, django_assert_max_num_queries
):
    contracts = [signed_contract(personas, amount=Decimal("1000")) for _ in range(4)]
    for c in contracts[:2]:
        p = services.transfer_record(
            actor=personas.owner,
            contract=c,
            position=1,
            amount=Decimal("1000"),
            reference="B",
            transfer_date=timezone.localdate(),
            receipt=SimpleUploadedFile("r.pdf", PDF_BYTES),
        )
        services.transfer_confirm(actor=personas.intermediary, payment=p)
    for user in (personas.owner, personas.intermediary):
        login_as(client, user)
        with django_assert_max_num_queries(12):
            response = client.get(reverse("billing:mine"))
        page = response.content.decode()
        assert all(c.project.public_number in page for c in contracts)
        assert page.count("1,000.00") >= 6  # four amounts, two paid


def test_the_regulator_sees_every_payment_in_few_queries(client, personas, django_assert_max_num_queries):
    for _ in range(3):
        c = signed_contract(personas)
        services.transfer_record(
            actor=personas.owner,
            contract=c,
            position=1,
            amount=c.amount,
            reference="B",
            transfer_date=timezone.localdate(),
            receipt=SimpleUploadedFile("r.pdf", PDF_BYTES),
        )
    login_as(client, personas.regulator)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("billing:regulator") + "?status=submitted")
    assert response.content.decode().count("ZZBILL-") == 3
    for who in ("owner", "intermediary", "department"):
        login_as(client, personas.all()[who])
        assert client.get(reverse("billing:regulator")).status_code == 403


def test_the_public_fee_disclosure_shows_amount_paid_schedule_and_band(client, personas):
    contract = signed_contract(personas, amount=Decimal("80000"))
    PriceBand.objects.create(
        service_type=contract.project.service_type,
        scale_from=Decimal("0"),
        scale_to=Decimal("1000"),
        fee_min=Decimal("50000"),
        fee_max=Decimal("90000"),
        basis="鲁价费发〔2019〕1号",
    )
    p = services.transfer_record(
        actor=personas.owner,
        contract=contract,
        position=1,
        amount=Decimal("80000"),
        reference="B",
        transfer_date=timezone.localdate(),
        receipt=SimpleUploadedFile("r.pdf", PDF_BYTES),
    )
    services.transfer_confirm(actor=personas.intermediary, payment=p)
    response = client.get(reverse("billing:disclosure", args=[contract.project_id]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "¥80,000.00" in page and "50,000.00 – 90,000.00" in page and "合同金额在区间内" in page
    assert "线下支付" in page and "B</td>" not in page  # the bank reference stays private


def test_an_unsigned_contract_is_not_disclosed(client, personas):
    contract = signed_contract(personas, confirmed=False)
    assert client.get(reverse("billing:disclosure", args=[contract.project_id])).status_code == 404


def test_the_contract_pages_link_to_payments_and_disclosure(client, personas):
    contract = signed_contract(personas)
    login_as(client, personas.owner)
    page = client.get(reverse("procurement:manage", args=[contract.project_id])).content.decode()
    assert reverse("billing:contract", args=[contract.project_id]) in page
    login_as(client, None)
    page = client.get(reverse("procurement:project", args=[contract.project_id])).content.decode()
    assert reverse("billing:disclosure", args=[contract.project_id]) in page
