"""End to end: localstripe itself signs and delivers the webhook to a running server."""

from __future__ import annotations

import time
import urllib.parse
import urllib.request

import pytest

from billing import services
from billing.models import LedgerEntry, Payment, WebhookEvent

from .conftest import WEBHOOK_SECRET, pay_by_card, signed_contract


def _register_webhook(localstripe_url: str, url: str) -> None:
    data = urllib.parse.urlencode(
        {"url": url, "secret": WEBHOOK_SECRET, "events[0]": "payment_intent.succeeded"}
    ).encode()
    request = urllib.request.Request(f"{localstripe_url}/_config/webhooks/zjcs", data=data, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - loopback only
        pass


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_localstripe_delivers_a_signed_webhook_that_confirms_the_payment(
    personas, stripe_on, stripe_client, localstripe_url, live_server, settings
):
    settings.MONITOR_ON_CHANGE = False  # no rescan in the server thread while the test reads
    _register_webhook(localstripe_url, f"{live_server.url}/billing/stripe/webhook/")
    contract = signed_contract(personas)
    payment = services.card_payment_start(actor=personas.owner, contract=contract, position=1).payment
    pay_by_card(stripe_client, payment.stripe_payment_intent)
    deadline = time.monotonic() + 15  # localstripe waits a second before sending
    while not WebhookEvent.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    event = WebhookEvent.objects.get()
    assert (event.type, event.object_id, event.outcome) == (
        "payment_intent.succeeded",
        payment.stripe_payment_intent,
        WebhookEvent.Outcome.PROCESSED,
    )
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert LedgerEntry.objects.filter(payment=payment, kind="charge").count() == 1
