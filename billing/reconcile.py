"""Nightly reconciliation (对账): Stripe's PaymentIntents and refunds against the ledger.

Reports, never repairs: a difference is for a person to look at. Only objects tagged with
this deployment's ``BILLING_NAMESPACE`` are compared, so a Stripe account shared with another
environment does not show up as differences. The fee rules (FE05, FE06, FE09) read the
ledger itself; the nightly monitoring scan runs after this task (see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from .gateway import Gateway, GatewayError
from .models import LedgerEntry, ReconciliationRun


def _diff(kind: str, reference: str, **values) -> dict:
    return {"kind": kind, "reference": reference, **{k: str(v) for k, v in values.items()}}


def reconcile(*, gateway: Gateway) -> ReconciliationRun:
    run = ReconciliationRun.objects.create(started_at=timezone.now())
    differences: list[dict] = []
    try:
        intents = [
            i for i in gateway.list_intents() if i.metadata.get("namespace") == settings.BILLING_NAMESPACE
        ]
        ours = {i.id for i in intents}
        refunds = [r for r in gateway.list_refunds() if r.payment_intent in ours]
    except GatewayError as exc:
        run.error = str(exc)[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["error", "finished_at"])
        return run

    entries = LedgerEntry.objects.filter(payment__method="stripe").values_list("kind", "reference", "amount")
    charges: dict[str, Decimal] = {}
    refunded: dict[str, Decimal] = {}
    for kind, reference, amount in entries:
        target = refunded if kind == LedgerEntry.Kind.REFUND else charges
        if reference in target:
            differences.append(_diff("duplicate_in_ledger", reference, amount=amount))
        target[reference] = amount

    for intent in intents:
        booked = charges.pop(intent.id, None)
        if intent.status == "succeeded":
            if booked is None:
                differences.append(_diff("missing_in_ledger", intent.id, stripe_amount=intent.amount))
            elif booked != intent.amount:
                differences.append(
                    _diff("amount_differs", intent.id, stripe_amount=intent.amount, ledger_amount=booked)
                )
        elif booked is not None:
            differences.append(
                _diff("not_paid_at_stripe", intent.id, status=intent.status, ledger_amount=booked)
            )
    for reference, amount in charges.items():
        differences.append(_diff("missing_at_stripe", reference, ledger_amount=amount))

    for refund in refunds:
        booked = refunded.pop(refund.id, None)
        if refund.status == "succeeded":
            if booked is None:
                differences.append(_diff("refund_missing_in_ledger", refund.id, stripe_amount=refund.amount))
            elif booked != refund.amount:
                differences.append(
                    _diff(
                        "refund_amount_differs", refund.id, stripe_amount=refund.amount, ledger_amount=booked
                    )
                )
        elif booked is not None:
            differences.append(_diff("refund_not_done_at_stripe", refund.id, status=refund.status))
    for reference, amount in refunded.items():
        differences.append(_diff("refund_missing_at_stripe", reference, ledger_amount=amount))

    run.checked_intents = len(intents)
    run.checked_refunds = len(refunds)
    run.checked_entries = len(entries)
    run.differences = differences
    run.finished_at = timezone.now()
    run.save(
        update_fields=["checked_intents", "checked_refunds", "checked_entries", "differences", "finished_at"]
    )
    return run
