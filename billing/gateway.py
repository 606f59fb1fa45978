"""The payment gateway: the only module that imports ``stripe``.

Services talk to a ``Gateway`` with ``Decimal`` yuan; this module converts to integer fen at
the boundary and back. Stripe is on when ``STRIPE_SECRET_KEY`` is set (``STRIPE_API_BASE``
points the client elsewhere, e.g. at localstripe in development and tests); without a key
``get_gateway()`` returns ``None`` and owners record bank transfers instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import stripe
from django.conf import settings

from marketplace.core.money import money, to_minor_units

CURRENCY = "cny"
# Stripe's list endpoints return at most 100 objects a page.
LIST_PAGE_SIZE = 100


class GatewayError(Exception):
    """The gateway refused or could not be reached; the message is for logs, not users."""


class SignatureError(GatewayError):
    """A webhook whose signature does not verify (or is missing)."""


def from_minor_units(value: int) -> Decimal:
    return money(Decimal(value) / 100)


@dataclass(frozen=True)
class Intent:
    """A PaymentIntent as billing needs it."""

    id: str
    amount: Decimal
    currency: str
    status: str
    client_secret: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayRefund:
    id: str
    payment_intent: str
    amount: Decimal
    status: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    object_id: str
    object_type: str
    payload: dict[str, Any]


class Gateway(Protocol):
    def create_intent(self, *, amount: Decimal, idempotency_key: str, metadata: dict[str, str]) -> Intent: ...

    def retrieve_intent(self, intent_id: str) -> Intent: ...

    def create_refund(
        self, *, intent_id: str, amount: Decimal, idempotency_key: str, metadata: dict[str, str]
    ) -> GatewayRefund: ...

    def list_intents(self) -> Iterator[Intent]: ...

    def list_refunds(self) -> Iterator[GatewayRefund]: ...

    def parse_event(self, payload: bytes, signature: str | None) -> Event: ...


def _plain(obj: Any) -> dict[str, Any]:
    """A Stripe object (or an event's plain JSON object) as a plain dict."""
    return obj.to_dict() if hasattr(obj, "to_dict") else obj


def _intent(obj: Any) -> Intent:
    obj = _plain(obj)
    return Intent(
        id=obj["id"],
        amount=from_minor_units(obj["amount"]),
        currency=str(obj["currency"]).lower(),
        status=obj["status"],
        client_secret=obj.get("client_secret") or "",
        metadata=dict(obj.get("metadata") or {}),
    )


def _refund(obj: Any) -> GatewayRefund:
    obj = _plain(obj)
    return GatewayRefund(
        id=obj["id"],
        payment_intent=obj.get("payment_intent") or "",
        amount=from_minor_units(obj["amount"]),
        status=obj["status"],
        metadata=dict(obj.get("metadata") or {}),
    )


class StripeGateway:
    def __init__(self, *, secret_key: str, webhook_secret: str = "", api_base: str = ""):
        kwargs: dict[str, Any] = {"max_network_retries": 2}
        if api_base:
            kwargs["base_addresses"] = {"api": api_base}
        self.client = stripe.StripeClient(secret_key, **kwargs)
        self.webhook_secret = webhook_secret

    def create_intent(self, *, amount: Decimal, idempotency_key: str, metadata: dict[str, str]) -> Intent:
        params: dict[str, Any] = {
            "amount": to_minor_units(amount),
            "currency": CURRENCY,
            "payment_method_types": list(settings.STRIPE_PAYMENT_METHOD_TYPES),
            "metadata": metadata,
        }
        try:
            obj = self.client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return _intent(obj)

    def retrieve_intent(self, intent_id: str) -> Intent:
        try:
            return _intent(self.client.v1.payment_intents.retrieve(intent_id))
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc

    def create_refund(
        self, *, intent_id: str, amount: Decimal, idempotency_key: str, metadata: dict[str, str]
    ) -> GatewayRefund:
        try:
            obj = self.client.v1.refunds.create(
                params={"payment_intent": intent_id, "amount": to_minor_units(amount), "metadata": metadata},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return _refund(obj)

    def _list(self, service: Any) -> Iterator[Any]:
        params: dict[str, Any] = {"limit": LIST_PAGE_SIZE}
        try:
            while True:
                page = service.list(params=params)
                yield from page.data
                if not page.has_more or not page.data:
                    return
                params = {"limit": LIST_PAGE_SIZE, "starting_after": page.data[-1]["id"]}
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc

    def list_intents(self) -> Iterator[Intent]:
        for obj in self._list(self.client.v1.payment_intents):
            yield _intent(obj)

    def list_refunds(self) -> Iterator[GatewayRefund]:
        for obj in self._list(self.client.v1.refunds):
            yield _refund(obj)

    def parse_event(self, payload: bytes, signature: str | None) -> Event:
        if not self.webhook_secret:
            raise SignatureError("STRIPE_WEBHOOK_SECRET is not set")
        try:
            event = self.client.construct_event(payload, signature, self.webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise SignatureError(str(exc)) from exc
        data = event.to_dict()
        obj = (data.get("data") or {}).get("object") or {}
        return Event(
            id=data["id"],
            type=data.get("type", ""),
            object_id=str(obj.get("id", "")),
            object_type=str(obj.get("object", "")),
            payload=data,
        )


def stripe_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def get_gateway() -> Gateway | None:
    """The configured gateway, or ``None`` when Stripe is off (no key)."""
    if not stripe_enabled():
        return None
    return StripeGateway(
        secret_key=settings.STRIPE_SECRET_KEY,
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        api_base=settings.STRIPE_API_BASE,
    )
