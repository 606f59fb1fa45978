"""Billing fixtures: signed contracts, and localstripe (a stateful fake Stripe server) started
on a free loopback port for the tests that talk to Stripe."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
import stripe
from django.utils import timezone

from billing.gateway import StripeGateway
from marketplace.accounts.models import Membership
from marketplace.procurement.models import Application, Contract, Delivery, Project, Status
from tests.factories import ServiceTypeFactory

WEBHOOK_SECRET = "whsec_test_secret"
_numbers = count(1)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, method: str = "GET") -> int:
    req = urllib.request.Request(url, method=method, headers={"Authorization": "Bearer sk_test_local"})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=2) as response:  # noqa: S310 - loopback only
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture(scope="session")
def localstripe_url():
    """Start localstripe once per test process; skip (with the reason) if it cannot start."""
    try:
        import localstripe  # noqa: F401
    except ImportError:
        pytest.skip("localstripe is not installed (pip install -e '.[dev]')")
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            pytest.skip(f"localstripe exited at start (code {proc.returncode})")
        try:
            if _request(url + "/v1/balance") < 500:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.skip("localstripe did not answer within 20 s")
        time.sleep(0.1)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def stripe_on(settings, localstripe_url):
    """Stripe switched on and pointed at a freshly emptied localstripe."""
    _request(localstripe_url + "/_config/data", method="DELETE")
    settings.STRIPE_SECRET_KEY = "sk_test_local"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_local"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe_url
    return StripeGateway(secret_key="sk_test_local", webhook_secret=WEBHOOK_SECRET, api_base=localstripe_url)


@pytest.fixture
def stripe_client(stripe_on, localstripe_url) -> stripe.StripeClient:
    """A raw client for what the payer's browser (Stripe.js) would do."""
    return stripe.StripeClient("sk_test_local", base_addresses={"api": localstripe_url})


def pay_by_card(client: stripe.StripeClient, intent_id: str, number: str = "4242424242424242") -> str:
    """What Stripe.js does on the payment page: attach a card and confirm the intent."""
    pm = client.v1.payment_methods.create(
        params={"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
    )
    client.v1.payment_intents.update(intent_id, params={"payment_method": pm["id"]})
    return client.v1.payment_intents.confirm(intent_id)["status"]


def signed(event: dict, secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    payload = json.dumps(event).encode()
    t = int(time.time())
    sig = hmac.new(secret.encode(), b"%d.%s" % (t, payload), hashlib.sha256).hexdigest()
    return payload, f"t={t},v1={sig}"


def intent_event(intent: dict, type_: str, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_{next(_numbers):06d}{intent['id'][-6:]}",
        "object": "event",
        "type": type_,
        "created": int(time.time()),
        "data": {"object": intent},
    }


def post_event(client, event: dict, secret: str = WEBHOOK_SECRET):
    payload, header = signed(event, secret)
    return client.post(
        "/billing/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )


def org_of(user):
    return Membership.objects.filter(user=user).select_related("organisation").first().organisation


def signed_contract(
    personas,
    *,
    amount: Decimal = Decimal("80000.00"),
    pay_after_acceptance: bool = False,
    accepted: bool = False,
    confirmed: bool = True,
    firm=None,
    owner=None,
) -> Contract:
    """A project of the owner persona won by the firm persona, with its contract."""
    firm = firm or personas.firm
    owner_org = org_of(owner or personas.owner)
    now = timezone.now()
    n = next(_numbers)
    project = Project.objects.create(
        public_number=f"ZZBILL-{n:05d}",
        owner=owner_org,
        created_by=owner or personas.owner,
        title=f"枣庄市某道路工程环境影响评价{n}",
        service_type=ServiceTypeFactory(),
        funding_source="fiscal",
        scale=Decimal("800"),
        price_floor=Decimal("10000"),
        price_ceiling=Decimal("200000"),
        service_content="编制环境影响报告表",
        service_days=30,
        method="lowest_price",
        registration_deadline=now - timedelta(days=20),
        selection_time=now - timedelta(days=19),
        published_at=now - timedelta(days=30),
        status=Status.ACCEPTED if accepted else Status.IN_SERVICE,
    )
    Application.objects.create(
        project=project,
        intermediary=firm,
        submitted_by=personas.intermediary,
        submitted_at=now - timedelta(days=21),
        sealed_quote="sealed",
        quote_amount=amount,
        state="valid",
    )
    contract = Contract.objects.create(
        project=project,
        intermediary=firm,
        amount=amount,
        document="contracts/signed.pdf",
        uploaded_by_org=owner_org,
        uploaded_at=now - timedelta(days=10),
        confirmed_at=(now - timedelta(days=9)) if confirmed else None,
        pay_after_acceptance=pay_after_acceptance,
    )
    if accepted:
        Delivery.objects.create(
            project=project,
            document="deliveries/r.pdf",
            delivered_at=now - timedelta(days=2),
            decision=Delivery.Decision.ACCEPTED,
            decided_at=now - timedelta(days=1),
        )
    return contract
