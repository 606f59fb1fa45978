"""Shared pieces of the competition rules (CO01-CO09): the round statuses, the methods in which
the price competes, the thresholds common to several rules (IQR multiplier, window) and the
helpers that format evidence and build a project match.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import OuterRef, QuerySet
from django.utils import timezone

from marketplace.procurement.models import Application, Method, Selection

from ..base import Match, Threshold
from ..stats import Fences

SELECTED_OR_LATER = [
    "selected",
    "objection_pending",
    "contracting",
    "in_service",
    "delivered",
    "accepted",
    "rated",
    "closed",
]
# Statuses in which the round's applications have been unsealed and judged valid or not.
CLOSED_ROUND = ["registration_closed", "selecting", "failed", *SELECTED_OR_LATER]


# --- shared by CO02-CO09 ------------------------------------------------------------------------

V = Application.State
# Applications judged at the close of registration (unsealed, then found valid or not).
JUDGED = [V.VALID, V.DISQUALIFIED]
# Methods in which the quoted price decides or weighs in the result. In a random draw every
# firm quotes the owner's fixed price (identical by design); a direct selection is a pick.
PRICE_COMPETES = [
    Method.LOWEST_PRICE,
    Method.REFERENCE_PRICE,
    Method.SCORED_COMPARISON,
    Method.CREDIT_PREFERENCE,
]
# Methods whose award criterion is the price alone (OCDS awardCriteria "priceOnly").
PRICE_ONLY = [Method.LOWEST_PRICE, Method.REFERENCE_PRICE]
RATIO = Decimal("0.0001")


def _multiplier() -> Threshold:
    return Threshold(
        Decimal("1.5"), Decimal, Decimal("0"), Decimal("10"), "四分位距（IQR）倍数", "IQR multiplier"
    )


def _days(default: int = 365) -> Threshold:
    return Threshold(default, int, 30, 1825, "统计期间（天）", "Window (days)")


def _active_award(project_ref: str = "pk") -> QuerySet:
    """The round's standing result: a selection with a winner that no objection annulled."""
    return Selection.objects.filter(
        project=OuterRef(project_ref), annulled=False, winner__isnull=False
    ).order_by("-round")


def _fence_evidence(fences: Fences) -> dict:
    return {name: _ratio(value) for name, value in fences.as_dict().items()}


def _money(value: Decimal | None) -> Decimal | None:
    """Two places whatever the database returns (SQLite drops them in subqueries)."""
    return None if value is None else Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _ratio(value: Decimal) -> Decimal:
    return value.quantize(RATIO, rounding=ROUND_HALF_UP)


def _percent(value: Any) -> str:
    return f"{(Decimal(str(value)) * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"


def _plain(value: Any) -> str:
    """A number without trailing zeros (4.5000 -> 4.5, 40.0000 -> 40)."""
    return f"{Decimal(str(value)).normalize():f}"


def _english(language: str) -> bool:
    return language.startswith("en")


def _method(code: str, language: str) -> str:
    return code.replace("_", " ") if _english(language) else str(Method(code).label)


def _since(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)


# What a project-level finding reads of its project, through ``project_id`` (``_project_match``
# and the evidence's number and method).
PROJECT_FIELDS = (
    "project_id",
    "project__public_number",
    "project__method",
    "project__owner_id",
    "project__department_id",
)


def _project_match(pk: int, owner_id: int, department_id: int | None, evidence: dict) -> Match:
    return Match(
        subject_type="project",
        subject_id=pk,
        project_id=pk,
        owner_id=owner_id,
        department_id=department_id,
        evidence=evidence,
        key={"project": pk},
    )


def _names(firms: list[dict], language: str) -> str:
    return (", " if _english(language) else "、").join(f["name"] for f in firms)
