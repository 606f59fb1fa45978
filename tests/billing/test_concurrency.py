"""Races on PostgreSQL (STYLE 16): the payer's return and Stripe's webhook confirming the same
payment at the same moment; the same webhook delivered twice at once."""

from __future__ import annotations

import pytest
from django.test import Client

from billing import services
from billing.models import LedgerEntry, Payment, WebhookEvent
from marketplace.core.models import AuditEvent
from tests.conftest import requires_postgres
from tests.procurement.test_concurrency import race

from .conftest import intent_event, pay_by_card, post_event, signed_contract

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _paid_at_stripe(personas, stripe_client):
    contract = signed_contract(personas)
    payment = services.card_payment_start(actor=personas.owner, contract=contract, position=1).payment
    pay_by_card(stripe_client, payment.stripe_payment_intent)
    intent = stripe_client.v1.payment_intents.retrieve(payment.stripe_payment_intent).to_dict()
    return contract, payment, intent


def test_a_return_and_a_webhook_at_once_confirm_the_payment_once(personas, stripe_on, stripe_client):
    contract, payment, intent = _paid_at_stripe(personas, stripe_client)
    event = intent_event(intent, "payment_intent.succeeded")
    results = race(
        lambda: services.card_payment_return(
            actor=personas.owner, contract=contract, intent_id=payment.stripe_payment_intent
        ),
        lambda: post_event(Client(), event).status_code,
    )
    assert not any(isinstance(r, Exception) for r in results), results
    assert results[1] == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert LedgerEntry.objects.filter(payment=payment).count() == 1
    assert AuditEvent.objects.filter(action="billing.payment_succeeded").count() == 1


def test_the_same_webhook_delivered_twice_at_once_is_handled_once(personas, stripe_on, stripe_client):
    _contract, payment, intent = _paid_at_stripe(personas, stripe_client)
    event = intent_event(intent, "payment_intent.succeeded")
    results = race(lambda: post_event(Client(), event).content, lambda: post_event(Client(), event).content)
    assert sorted(results) == [b"duplicate", b"processed"], results
    assert WebhookEvent.objects.count() == 1
    assert LedgerEntry.objects.filter(payment=payment).count() == 1
