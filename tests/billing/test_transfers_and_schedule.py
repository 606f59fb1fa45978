"""The payment schedule, bank transfers confirmed by the intermediary, and refunds (no Stripe)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from billing import services
from billing.ledger import contract_net_paid
from billing.models import LedgerEntry, Milestone, Payment, Refund
from billing.schedule import split, statement
from marketplace.core.errors import DomainError, NotAllowed, ValidationFailed
from marketplace.core.models import AuditEvent
from tests.factories import PDF_BYTES

from .conftest import signed_contract

pytestmark = pytest.mark.django_db
M = services.MilestoneInput


def receipt():
    return SimpleUploadedFile("receipt.pdf", PDF_BYTES, content_type="application/pdf")


def record(personas, contract, *, position=1, amount=None, reference="BANK-0001", **kw):
    line = statement(contract).line(position)
    return services.transfer_record(
        actor=kw.get("actor", personas.owner),
        contract=contract,
        position=position,
        amount=line.amount if amount is None else amount,
        reference=reference,
        transfer_date=kw.get("transfer_date", timezone.localdate()),
        receipt=receipt(),
    )


def paid_by_transfer(personas, contract, position=1):
    payment = record(personas, contract, position=position)
    return services.transfer_confirm(actor=personas.intermediary, payment=payment)


# --- schedule ---------------------------------------------------------------------------------


def test_a_contract_without_a_schedule_has_one_line_for_the_whole_amount(personas):
    contract = signed_contract(personas, amount=Decimal("80000"))
    st = statement(contract)
    assert [(line.position, line.amount) for line in st.lines] == [(1, Decimal("80000.00"))]
    assert st.due == Decimal("80000.00")


def test_shares_add_up_to_the_amount_with_the_last_line_taking_the_remainder():
    assert split(Decimal("100000.01"), [Decimal(30), Decimal(70)]) == [
        Decimal("30000.00"),
        Decimal("70000.01"),
    ]
    assert sum(split(Decimal("1000.00"), [Decimal("33.33")] * 2 + [Decimal("33.34")])) == Decimal("1000.00")


def test_owner_sets_thirty_on_signing_and_seventy_after_acceptance(personas):
    contract = signed_contract(personas, amount=Decimal("100000"))
    services.schedule_set(
        actor=personas.owner,
        contract=contract,
        rows=[M("签订合同后预付", Decimal(30), False), M("验收合格后", Decimal(70), True)],
    )
    st = statement(contract)
    assert [(line.milestone.label, line.amount, line.milestone.after_acceptance) for line in st.lines] == [
        ("签订合同后预付", Decimal("30000.00"), False),
        ("验收合格后", Decimal("70000.00"), True),
    ]
    assert AuditEvent.objects.filter(action="billing.schedule_set").count() == 1


@pytest.mark.parametrize(
    "rows",
    [
        [M("预付", Decimal(30), False), M("尾款", Decimal(60), True)],
        [M("预付", Decimal(0), False), M("尾款", Decimal(100), True)],
        [M("", Decimal(100), False)],
        [],
    ],
    ids=["sum-90", "zero-share", "no-label", "empty"],
)
def test_a_bad_schedule_is_refused_and_nothing_is_written(personas, rows):
    contract = signed_contract(personas)
    with pytest.raises(ValidationFailed):
        services.schedule_set(actor=personas.owner, contract=contract, rows=rows)
    assert not Milestone.objects.filter(contract=contract).exists()


def test_pay_after_acceptance_contract_cannot_schedule_an_early_payment(personas):
    contract = signed_contract(personas, pay_after_acceptance=True)
    with pytest.raises(ValidationFailed) as exc:
        services.schedule_set(
            actor=personas.owner,
            contract=contract,
            rows=[M("预付", Decimal(30), False), M("尾款", Decimal(70), True)],
        )
    assert "验收后" in str(exc.value.errors["after_acceptance_1"][0])


def test_the_schedule_is_fixed_once_a_payment_is_recorded(personas):
    contract = signed_contract(personas)
    record(personas, contract)
    with pytest.raises(DomainError) as exc:
        services.schedule_set(actor=personas.owner, contract=contract, rows=[M("全款", Decimal(100), False)])
    assert exc.value.code == "locked"


def test_only_the_owner_sets_the_schedule(personas):
    contract = signed_contract(personas)
    for user in (personas.intermediary, personas.regulator, personas.other_intermediary):
        with pytest.raises(NotAllowed):
            services.schedule_set(actor=user, contract=contract, rows=[M("全款", Decimal(100), False)])
    assert not Milestone.objects.exists()


# --- transfers --------------------------------------------------------------------------------


def test_a_transfer_counts_once_the_intermediary_confirms_it(personas):
    contract = signed_contract(personas, amount=Decimal("80000"))
    payment = record(personas, contract)
    assert payment.status == Payment.Status.SUBMITTED
    assert not LedgerEntry.objects.exists()
    services.transfer_confirm(actor=personas.intermediary, payment=payment)
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.milestone, entry.reference, entry.contract_id) == (
        "offline_payment",
        Decimal("80000.00"),
        "1. 合同价款",
        "BANK-0001",
        contract.pk,
    )
    assert contract_net_paid(contract.pk) == Decimal("80000.00")
    assert statement(contract).line(1).paid


def test_confirming_twice_writes_one_ledger_entry(personas):
    contract = signed_contract(personas)
    payment = paid_by_transfer(personas, contract)
    services.transfer_confirm(actor=personas.intermediary, payment=payment)
    assert LedgerEntry.objects.count() == 1


@pytest.mark.parametrize("amount", ["0", "-100", "80000.01", "abc"], ids=["zero", "negative", "over", "text"])
def test_a_bad_transfer_amount_is_refused_and_nothing_is_written(personas, amount):
    contract = signed_contract(personas, amount=Decimal("80000"))
    with pytest.raises(DomainError) as exc:
        record(personas, contract, amount=amount)
    assert exc.value.field == "amount"
    assert not Payment.objects.exists()


def test_a_milestone_already_paid_cannot_be_paid_again(personas):
    contract = signed_contract(personas)
    paid_by_transfer(personas, contract)
    with pytest.raises(DomainError) as exc:
        record(personas, contract, amount=Decimal("80000"), reference="BANK-0002")
    assert exc.value.code == "already_paid"
    assert Payment.objects.count() == 1


def test_a_line_that_waits_for_acceptance_cannot_be_paid_before(personas):
    contract = signed_contract(personas, pay_after_acceptance=True, accepted=False)
    with pytest.raises(DomainError) as exc:
        record(personas, contract)
    assert exc.value.code == "before_acceptance"
    assert not Payment.objects.exists()


def test_an_unsigned_contract_cannot_be_paid(personas):
    contract = signed_contract(personas, confirmed=False)
    with pytest.raises(DomainError) as exc:
        record(personas, contract)
    assert exc.value.code == "unsigned"


def test_nobody_but_the_owner_pays_and_nobody_but_the_firm_confirms(personas):
    contract = signed_contract(personas)
    for user in (personas.intermediary, personas.other_intermediary, personas.regulator, personas.department):
        with pytest.raises(NotAllowed):
            record(personas, contract, actor=user)
    payment = record(personas, contract)
    for user in (personas.owner, personas.other_intermediary, personas.regulator):
        with pytest.raises(NotAllowed):
            services.transfer_confirm(actor=user, payment=payment)
    assert not LedgerEntry.objects.exists()


def test_a_rejected_transfer_can_be_recorded_again(personas):
    contract = signed_contract(personas)
    payment = record(personas, contract)
    services.transfer_reject(actor=personas.intermediary, payment=payment, reason="未到账")
    again = record(personas, contract, reference="BANK-0002")
    assert again.status == Payment.Status.SUBMITTED and again.attempt == 2


def test_a_transfer_dated_in_the_future_is_refused(personas):
    contract = signed_contract(personas)
    with pytest.raises(DomainError) as exc:
        record(personas, contract, transfer_date=timezone.localdate() + timedelta(days=1))
    assert exc.value.field == "transfer_date"


# --- refunds ----------------------------------------------------------------------------------


def test_a_partial_refund_of_a_transfer_reduces_what_was_paid(personas):
    contract = signed_contract(personas, amount=Decimal("80000"))
    payment = paid_by_transfer(personas, contract)
    services.refund_create(
        actor=personas.intermediary,
        payment=payment,
        amount="5000",
        reason="部分服务未提供",
        reference="BACK-1",
    )
    assert contract_net_paid(contract.pk) == Decimal("75000.00")
    entry = LedgerEntry.objects.get(kind="refund")
    assert (entry.amount, entry.reference) == (Decimal("5000.00"), "BACK-1")
    assert services.refundable(payment) == Decimal("75000.00")


@pytest.mark.parametrize("amount", ["0", "-1", "80000.01"], ids=["zero", "negative", "above-paid"])
def test_a_bad_refund_is_refused_and_nothing_is_written(personas, amount):
    contract = signed_contract(personas, amount=Decimal("80000"))
    payment = paid_by_transfer(personas, contract)
    with pytest.raises(DomainError) as exc:
        services.refund_create(
            actor=personas.intermediary, payment=payment, amount=amount, reason="x", reference="B"
        )
    assert exc.value.field == "amount"
    assert not Refund.objects.exists() and not LedgerEntry.objects.filter(kind="refund").exists()


def test_refunds_never_add_up_to_more_than_was_paid(personas):
    contract = signed_contract(personas, amount=Decimal("1000"))
    payment = paid_by_transfer(personas, contract)
    services.refund_create(
        actor=personas.intermediary, payment=payment, amount="600", reason="退一部分", reference="B1"
    )
    with pytest.raises(DomainError) as exc:
        services.refund_create(
            actor=personas.intermediary, payment=payment, amount="401", reason="再退", reference="B2"
        )
    assert exc.value.code == "over_refund"
    assert Refund.objects.count() == 1


def test_a_refund_needs_a_reason_and_only_the_payee_gives_one(personas):
    contract = signed_contract(personas)
    payment = paid_by_transfer(personas, contract)
    with pytest.raises(DomainError):
        services.refund_create(
            actor=personas.intermediary, payment=payment, amount="1", reason=" ", reference="B"
        )
    for user in (personas.owner, personas.other_intermediary, personas.regulator):
        with pytest.raises(NotAllowed):
            services.refund_create(actor=user, payment=payment, amount="1", reason="x", reference="B")
    assert not Refund.objects.exists()


def test_without_a_stripe_key_card_payment_is_off(personas, settings):
    settings.STRIPE_SECRET_KEY = ""
    contract = signed_contract(personas)
    with pytest.raises(DomainError) as exc:
        services.card_payment_start(actor=personas.owner, contract=contract, position=1)
    assert exc.value.code == "stripe_off"
    assert not Payment.objects.exists()


def test_the_demo_pays_accepted_contracts_and_leaves_one_transfer_to_confirm(personas):
    from billing.demo import seed_billing

    for _ in range(5):
        signed_contract(personas, amount=Decimal("10000"), pay_after_acceptance=True, accepted=True)
    signed_contract(personas, amount=Decimal("10000"), pay_after_acceptance=True)  # not accepted: unpaid
    lines: list[str] = []
    counts = seed_billing(lines.append)
    assert counts == {"paid_in_full": 2, "split": 2, "awaiting": 1, "refunds": 1}
    assert Payment.objects.filter(status=Payment.Status.SUBMITTED).count() == 1
    assert LedgerEntry.objects.filter(kind="offline_payment").count() == 4
    assert LedgerEntry.objects.filter(kind="refund").count() == 1
    assert seed_billing(lines.append) is None  # a second run does nothing


def test_a_new_schedule_after_a_rejected_transfer_retires_the_old_line(personas):
    contract = signed_contract(personas, amount=Decimal("1000"))
    payment = record(personas, contract)
    services.transfer_reject(actor=personas.intermediary, payment=payment, reason="金额不符")
    services.schedule_set(
        actor=personas.owner,
        contract=contract,
        rows=[M("预付", Decimal(40), False), M("尾款", Decimal(60), False)],
    )
    st = statement(contract)
    assert [(line.milestone.label, line.amount, line.payment) for line in st.lines] == [
        ("预付", Decimal("400.00"), None),
        ("尾款", Decimal("600.00"), None),
    ]
    assert Milestone.objects.filter(retired=True).count() == 1
    assert Payment.objects.get().milestone.retired
