"""Reads over the ledger: what has been paid on a contract (charges and offline payments less
refunds), as an expression to annotate querysets with and as a plain amount."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Case, DecimalField, F, OuterRef, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from marketplace.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS

from .models import LedgerEntry

MONEY_FIELD = DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
# Money that reaches the firm; a refund goes back.
PAYMENT_KINDS = (LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.OFFLINE_PAYMENT)


def signed_amount(prefix: str = "") -> Case:
    """An entry's amount with refunds negative (``prefix`` reaches the entry through a relation)."""
    return Case(
        When(**{f"{prefix}kind": LedgerEntry.Kind.REFUND}, then=-F(f"{prefix}amount")),
        default=F(f"{prefix}amount"),
        output_field=MONEY_FIELD,
    )


def net_paid_subquery(contract_ref: str = "pk") -> Coalesce:
    """The net amount paid on the contract at ``OuterRef(contract_ref)`` (0 when nothing)."""
    total = (
        LedgerEntry.objects.filter(contract_id=OuterRef(contract_ref))
        .order_by()
        .values("contract_id")
        .annotate(total=Sum(signed_amount()))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=MONEY_FIELD), Value(Decimal("0")), output_field=MONEY_FIELD)


def contract_net_paid(contract_id: int) -> Decimal:
    total = LedgerEntry.objects.filter(contract_id=contract_id).aggregate(total=Sum(signed_amount()))["total"]
    return total or Decimal("0.00")
