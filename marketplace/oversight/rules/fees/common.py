"""Shared pieces of the irregular-fee rules (FE01-FE10): labels, amount and scale formatting,
the government band of a project's scale, the Tukey ``fences`` and the quote fields the
quote rules fetch.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from marketplace.catalog.models import PriceBand
from marketplace.core.money import money
from marketplace.procurement.models import (
    Application,
    Selection,
)

from ..stats import Fences

VALID = Application.State.VALID
HUNDRED = Decimal(100)
REGIME_ZH = {"government_set": "政府定价", "government_guided": "政府指导价"}
REGIME_EN = {"government_set": "government-set", "government_guided": "government-guided"}
KIND_ZH = {"charge": "收费", "refund": "退款", "offline_payment": "线下支付"}
KIND_EN = {"charge": "charge", "refund": "refund", "offline_payment": "offline payment"}


# --- shared pieces ------------------------------------------------------------------------------


def _english(language: str) -> bool:
    return language.startswith("en")


def _amount(value: Any) -> str:
    return str(money(value))


def _scale(value: Any) -> str:
    """A scale in 万元, two places whatever the database returns."""
    return str(Decimal(value).quantize(Decimal("0.01")))


def _local(value) -> str:
    return timezone.localtime(value).isoformat(timespec="minutes") if value else ""


def _winner() -> Exists:
    """The application at ``OuterRef("pk")`` won a round that stands."""
    return Exists(Selection.objects.filter(winner_id=OuterRef("pk"), annulled=False))


def _band() -> QuerySet:
    """The government price band that applies to the outer application's project scale."""
    scale = OuterRef("project__scale")
    return (
        PriceBand.objects.filter(service_type_id=OuterRef("project__service_type_id"), scale_from__lte=scale)
        .filter(Q(scale_to__isnull=True) | Q(scale_to__gt=scale))
        .order_by("-scale_from")
    )


def _with_band(queryset: QuerySet) -> QuerySet:
    band = _band()
    return queryset.annotate(
        band_id=Subquery(band.values("pk")[:1]),
        band_from=Subquery(band.values("scale_from")[:1]),
        band_to=Subquery(band.values("scale_to")[:1]),
        band_min=Subquery(band.values("fee_min")[:1]),
        band_max=Subquery(band.values("fee_max")[:1]),
    )


def _project_fields(row: dict, prefix: str = "project__") -> dict[str, Any]:
    return {"owner_id": row[f"{prefix}owner_id"], "department_id": row[f"{prefix}department_id"]}


def fences(values: list[Decimal], multiplier: Decimal) -> dict[str, Decimal]:
    """Q1, Q3 and the Tukey fences Q1 - k·IQR and Q3 + k·IQR (see ``stats``)."""
    return Fences.of(values, multiplier).as_dict()


def _group_evidence(row: dict) -> dict[str, Any]:
    if row["band_id"] is not None:
        upper = row["band_to"]
        return {
            "scale_from": _scale(row["band_from"]),
            "scale_to": _scale(upper) if upper is not None else None,
        }
    scale = row["project__scale"]
    if scale <= 0:
        return {"scale_from": _scale(0), "scale_to": _scale(0)}
    order = scale.adjusted()
    return {"scale_from": _scale(Decimal(10) ** order), "scale_to": _scale(Decimal(10) ** (order + 1))}


def _scale_range(evidence: dict, english: bool) -> str:
    upper = evidence["scale_to"]
    if english:
        return (
            f"{evidence['scale_from']} to {upper} (10,000 yuan)"
            if upper
            else f"{evidence['scale_from']} and up (10,000 yuan)"
        )
    return f"{evidence['scale_from']}～{upper} 万元" if upper else f"{evidence['scale_from']} 万元以上"


QUOTE_FIELDS = (
    "pk",
    "project_id",
    "intermediary_id",
    "quote_amount",
    "project__public_number",
    "project__scale",
    "project__service_type_id",
    "project__owner_id",
    "project__department_id",
    "intermediary__name",
    "intermediary__uscc",
)
