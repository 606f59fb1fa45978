"""Stripe webhook events: verified by the view, stored once per event id, then applied.

A duplicate delivery is skipped (the unique event id decides, even when two arrive at once);
an event whose handling failed is tried again on redelivery; the outcome is recorded on the
event row. Events may arrive in any order: ``services.intent_apply`` never undoes a success."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.core.errors import DomainError

from .gateway import Event, _intent
from .models import WebhookEvent
from .services import UnknownIntent, intent_apply

INTENT_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.processing",
        "payment_intent.requires_action",
    }
)


@dataclass(frozen=True)
class Handled:
    outcome: str
    duplicate: bool = False


class UnknownObject(Exception):
    """The event is about a PaymentIntent of ours that we have no payment for (HTTP 400)."""


def _ours(obj: dict) -> bool:
    return (obj.get("metadata") or {}).get("namespace") == settings.BILLING_NAMESPACE


def _apply(event: Event) -> tuple[str, str]:
    if event.type not in INTENT_EVENTS:
        return WebhookEvent.Outcome.IGNORED, ""
    obj = event.payload["data"]["object"]
    if not _ours(obj):
        return WebhookEvent.Outcome.IGNORED, "not a PaymentIntent of this deployment"
    try:
        changed = intent_apply(intent=_intent(obj), source=event.type)
    except UnknownIntent as exc:
        raise UnknownObject(event.object_id) from exc
    return (WebhookEvent.Outcome.PROCESSED if changed else WebhookEvent.Outcome.NO_CHANGE), ""


@transaction.atomic
def event_receive(event: Event) -> Handled:
    """Store and apply one verified event. Raises ``UnknownObject`` (nothing written) for an
    intent that claims to be ours but matches no payment."""
    now = timezone.now()
    try:
        with transaction.atomic():
            row = WebhookEvent.objects.create(
                event_id=event.id,
                type=event.type,
                object_id=event.object_id[:100],
                payload=event.payload,
                received_at=now,
                outcome=WebhookEvent.Outcome.PROCESSED,
            )
    except IntegrityError:
        row = WebhookEvent.objects.select_for_update().get(event_id=event.id)
        if row.outcome != WebhookEvent.Outcome.FAILED:
            return Handled(outcome=row.outcome, duplicate=True)
    try:
        with transaction.atomic():
            outcome, detail = _apply(event)
    except (UnknownObject, DomainError):  # bad input: nothing is written (HTTP 400)
        raise
    except Exception as exc:  # recorded, and redelivery will try again
        outcome, detail = WebhookEvent.Outcome.FAILED, f"{type(exc).__name__}: {exc}"[:1000]
    row.outcome = outcome
    row.detail = detail
    row.received_at = now
    row.save(update_fields=["outcome", "detail", "received_at"])
    return Handled(outcome=outcome)
