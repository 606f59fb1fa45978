"""Card payments, webhooks, refunds and reconciliation against localstripe (a real server)."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing import services
from billing.models import LedgerEntry, Payment, Refund, WebhookEvent
from billing.reconcile import reconcile
from billing.tasks import reconcile as reconcile_task
from marketplace.core.errors import DomainError

from .conftest import intent_event, pay_by_card, post_event, signed_contract

pytestmark = pytest.mark.django_db


def start(personas, contract, position=1):
    return services.card_payment_start(actor=personas.owner, contract=contract, position=position)


def test_starting_a_card_payment_creates_an_intent_in_fen_with_a_milestone_key(
    personas, stripe_on, stripe_client
):
    contract = signed_contract(personas, amount=Decimal("80000.50"))
    checkout = start(personas, contract)
    payment = checkout.payment
    intent = stripe_client.v1.payment_intents.retrieve(payment.stripe_payment_intent)
    assert (intent["amount"], intent["currency"], intent["status"]) == (
        8000050,
        "cny",
        "requires_payment_method",
    )
    assert intent["metadata"]["payment"] == str(payment.pk)
    assert checkout.client_secret == intent["client_secret"]
    assert payment.idempotency_key == f"zjcs-contract{contract.pk}-m1-a1-8000050"
    assert (payment.status, payment.amount) == (Payment.Status.PENDING, Decimal("80000.50"))
    assert not LedgerEntry.objects.exists()


def test_starting_again_resumes_the_same_intent(personas, stripe_on):
    contract = signed_contract(personas)
    first = start(personas, contract)
    second = start(personas, contract)
    assert second.payment.pk == first.payment.pk
    assert Payment.objects.count() == 1


def test_the_return_from_the_payment_page_confirms_the_payment_once(personas, stripe_on, stripe_client):
    contract = signed_contract(personas, amount=Decimal("80000"))
    payment = start(personas, contract).payment
    assert pay_by_card(stripe_client, payment.stripe_payment_intent) == "succeeded"
    for _ in range(2):
        services.card_payment_return(
            actor=personas.owner, contract=contract, intent_id=payment.stripe_payment_intent
        )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.reference) == (
        "charge",
        Decimal("80000.00"),
        payment.stripe_payment_intent,
    )


def test_a_return_before_the_card_is_charged_changes_nothing(personas, stripe_on):
    contract = signed_contract(personas)
    payment = start(personas, contract).payment
    services.card_payment_return(
        actor=personas.owner, contract=contract, intent_id=payment.stripe_payment_intent
    )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING and not LedgerEntry.objects.exists()


def test_the_webhook_confirms_and_a_duplicate_changes_nothing(client, personas, stripe_on, stripe_client):
    contract = signed_contract(personas)
    payment = start(personas, contract).payment
    pay_by_card(stripe_client, payment.stripe_payment_intent)
    intent = stripe_client.v1.payment_intents.retrieve(payment.stripe_payment_intent).to_dict()
    event = intent_event(intent, "payment_intent.succeeded")
    first = post_event(client, event)
    second = post_event(client, event)
    assert (first.status_code, first.content) == (200, b"processed")
    assert (second.status_code, second.content) == (200, b"duplicate")
    assert LedgerEntry.objects.count() == 1
    assert WebhookEvent.objects.get().outcome == WebhookEvent.Outcome.PROCESSED


def test_a_failure_reported_after_success_changes_nothing(client, personas, stripe_on, stripe_client):
    contract = signed_contract(personas)
    payment = start(personas, contract).payment
    pay_by_card(stripe_client, payment.stripe_payment_intent)
    intent = stripe_client.v1.payment_intents.retrieve(payment.stripe_payment_intent).to_dict()
    post_event(client, intent_event(intent, "payment_intent.succeeded"))
    failed = dict(intent, status="requires_payment_method")
    response = post_event(client, intent_event(failed, "payment_intent.payment_failed"))
    assert (response.status_code, response.content) == (200, b"no_change")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED and LedgerEntry.objects.count() == 1


def test_a_failed_attempt_lets_the_owner_try_again_with_a_new_key(client, personas, stripe_on, stripe_client):
    contract = signed_contract(personas)
    payment = start(personas, contract).payment
    intent = stripe_client.v1.payment_intents.retrieve(payment.stripe_payment_intent).to_dict()
    post_event(client, intent_event(intent, "payment_intent.payment_failed"))
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    retry = start(personas, contract).payment
    assert retry.pk != payment.pk and retry.idempotency_key.endswith("-a2-8000000")


def test_a_webhook_with_a_bad_signature_is_refused_and_nothing_is_written(
    client, personas, stripe_on, stripe_client
):
    contract = signed_contract(personas)
    payment = start(personas, contract).payment
    pay_by_card(stripe_client, payment.stripe_payment_intent)
    intent = stripe_client.v1.payment_intents.retrieve(payment.stripe_payment_intent).to_dict()
    response = post_event(client, intent_event(intent, "payment_intent.succeeded"), secret="whsec_wrong")
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists() and not LedgerEntry.objects.exists()


def test_a_webhook_about_an_unknown_intent_is_refused_and_nothing_is_written(client, personas, stripe_on):
    intent = {
        "id": "pi_unknown000000",
        "object": "payment_intent",
        "amount": 100,
        "currency": "cny",
        "status": "succeeded",
        "metadata": {"namespace": "zjcs", "payment": "999"},
    }
    response = post_event(client, intent_event(intent, "payment_intent.succeeded"))
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_an_event_of_another_kind_is_recorded_as_ignored(client, stripe_on):
    event = {
        "id": "evt_other",
        "type": "customer.created",
        "data": {"object": {"id": "cus_1", "object": "customer"}},
    }
    response = post_event(client, event)
    assert response.status_code == 200
    assert WebhookEvent.objects.get().outcome == WebhookEvent.Outcome.IGNORED


def test_a_card_refund_goes_through_stripe_and_an_over_refund_is_refused(personas, stripe_on, stripe_client):
    contract = signed_contract(personas, amount=Decimal("1000"))
    payment = start(personas, contract).payment
    pay_by_card(stripe_client, payment.stripe_payment_intent)
    services.card_payment_return(
        actor=personas.owner, contract=contract, intent_id=payment.stripe_payment_intent
    )
    refund = services.refund_create(
        actor=personas.intermediary, payment=payment, amount="300", reason="减少服务内容"
    )
    assert refund.status == Refund.Status.SUCCEEDED and refund.stripe_refund.startswith("re_")
    at_stripe = stripe_client.v1.refunds.retrieve(refund.stripe_refund)
    assert at_stripe["amount"] == 30000
    # localstripe would accept this over-refund: our code refuses it before asking.
    with pytest.raises(DomainError):
        services.refund_create(actor=personas.intermediary, payment=payment, amount="700.01", reason="再退")
    assert len(stripe_client.v1.refunds.list(params={"limit": 10}).data) == 1
    assert LedgerEntry.objects.filter(kind="refund").get().amount == Decimal("300.00")


def _paid_and_refunded(personas, stripe_client):
    contract = signed_contract(personas, amount=Decimal("1000"))
    payment = start(personas, contract).payment
    pay_by_card(stripe_client, payment.stripe_payment_intent)
    services.card_payment_return(
        actor=personas.owner, contract=contract, intent_id=payment.stripe_payment_intent
    )
    services.refund_create(actor=personas.intermediary, payment=payment, amount="100", reason="部分退款")
    return contract, payment


def test_reconciliation_finds_no_difference_when_the_ledger_matches(personas, stripe_on, stripe_client):
    _paid_and_refunded(personas, stripe_client)
    run = reconcile(gateway=stripe_on)
    assert run.ok, run.differences
    assert (run.checked_intents, run.checked_refunds, run.checked_entries) == (1, 1, 2)
    out = StringIO()
    call_command("billing_reconcile", stdout=out)
    assert "No difference." in out.getvalue()


def test_reconciliation_reports_a_charge_missing_from_the_ledger(personas, stripe_on, stripe_client):
    _paid_and_refunded(personas, stripe_client)
    other = signed_contract(personas, amount=Decimal("500"))
    lost = start(personas, other).payment  # paid at Stripe, but neither return nor webhook arrived
    pay_by_card(stripe_client, lost.stripe_payment_intent)
    run = reconcile(gateway=stripe_on)
    assert [(d["kind"], d["reference"]) for d in run.differences] == [
        ("missing_in_ledger", lost.stripe_payment_intent)
    ]
    with pytest.raises(CommandError, match="1 difference"):
        call_command("billing_reconcile", stdout=StringIO())
    assert reconcile_task.delay().get()["differences"] == 1


def test_the_nightly_task_does_nothing_without_stripe(settings):
    settings.STRIPE_SECRET_KEY = ""
    assert reconcile_task.delay().get() == {"skipped": "stripe off"}
