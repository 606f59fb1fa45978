"""Reads for the billing pages, with the caller's visibility enforced here (not in views)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, ExpressionWrapper, F, Prefetch, Q, QuerySet, Sum
from django.http import Http404

from marketplace.accounts.models import Membership, Role
from marketplace.catalog.models import PriceBand
from marketplace.procurement.models import Application, Contract
from marketplace.providers.models import FeeSchedule

from .ledger import MONEY_FIELD, net_paid_subquery
from .models import LedgerEntry, Milestone, Payment, ReconciliationRun


def _contracts() -> QuerySet[Contract]:
    return Contract.objects.select_related(
        "project", "project__owner", "project__service_type", "intermediary"
    )


def side_of(membership: Membership | None, contract: Contract) -> str | None:
    """The acting membership's part in the contract's money: payer, payee, regulator or none."""
    if membership is None:
        return None
    if membership.role == Role.OWNER and membership.organisation_id == contract.project.owner_id:
        return "owner"
    if (
        membership.role == Role.INTERMEDIARY
        and membership.organisation_id == contract.intermediary.organisation_id
    ):
        return "firm"
    if membership.role == Role.REGULATOR:
        return "regulator"
    return None


def contract_for(membership: Membership | None, project_pk: int) -> tuple[Contract, str]:
    """The contract of project ``project_pk`` and the caller's side, or 404 if not theirs."""
    contract = _contracts().filter(project_id=project_pk).first()
    side = side_of(membership, contract) if contract is not None else None
    if contract is None or side is None:
        raise Http404
    return contract, side


def payment_for(membership: Membership | None, pk: int) -> tuple[Payment, str]:
    payment = (
        Payment.objects.select_related(
            "milestone", "contract__project", "contract__project__owner", "contract__intermediary"
        )
        .filter(pk=pk)
        .first()
    )
    side = side_of(membership, payment.contract) if payment is not None else None
    if payment is None or side is None:
        raise Http404
    return payment, side


def contracts_of(membership: Membership) -> QuerySet[Contract]:
    """The organisation's contracts (as payer or payee) with net paid and transfers to confirm."""
    if membership.role == Role.OWNER:
        qs = _contracts().filter(project__owner_id=membership.organisation_id)
    elif membership.role == Role.INTERMEDIARY:
        qs = _contracts().filter(intermediary__organisation_id=membership.organisation_id)
    else:
        return Contract.objects.none()
    return (
        qs.annotate(
            paid=net_paid_subquery("pk"),
            awaiting=Count("payments", filter=Q(payments__status=Payment.Status.SUBMITTED)),
        )
        .annotate(due=ExpressionWrapper(F("amount") - F("paid"), output_field=MONEY_FIELD))
        .order_by("-uploaded_at", "-pk")
    )


def payments_all(*, status: str = "", method: str = "", q: str = "") -> QuerySet[Payment]:
    """Every payment (the regulator's view), newest first."""
    qs = Payment.objects.select_related(
        "milestone", "contract__project", "contract__project__owner", "contract__intermediary"
    ).annotate(refunded=_refunded())
    if status:
        qs = qs.filter(status=status)
    if method:
        qs = qs.filter(method=method)
    if q:
        qs = qs.filter(
            Q(contract__project__public_number__icontains=q) | Q(contract__intermediary__name__icontains=q)
        )
    return qs.order_by("-created_at", "-pk")


def _refunded():
    return Sum("refunds__amount", filter=Q(refunds__status="succeeded"), default=Decimal(0))


def last_reconciliation() -> ReconciliationRun | None:
    return ReconciliationRun.objects.order_by("-started_at", "-pk").first()


# --- the public fee disclosure (收费公示) -----------------------------------------------------


@dataclass
class Disclosure:
    contract: Contract
    entries: list[LedgerEntry]
    fee: FeeSchedule | None
    band: PriceBand | None
    net_paid: Decimal

    @property
    def within_band(self) -> bool | None:
        if self.band is None:
            return None
        return self.band.fee_min <= self.contract.amount <= self.band.fee_max


def disclosure(project_pk: int) -> Disclosure:
    """What the public sees of a contract's money: the contract amount and amendments, every
    ledger entry, the firm's fee schedule in force when it bid and the government band for
    the project's scale. Only signed contracts are disclosed."""
    contract = (
        _contracts()
        .prefetch_related(
            "amendments",
            Prefetch("milestones", queryset=Milestone.objects.filter(retired=False).order_by("position")),
        )
        .filter(project_id=project_pk, confirmed_at__isnull=False)
        .first()
    )
    if contract is None:
        raise Http404
    project = contract.project
    entries = list(LedgerEntry.objects.filter(contract=contract).order_by("occurred_at", "pk"))
    bid_at = (
        Application.objects.filter(project=project, intermediary=contract.intermediary)
        .values_list("submitted_at", flat=True)
        .first()
    )
    fees = FeeSchedule.objects.filter(
        offer__intermediary=contract.intermediary, offer__service_type_id=project.service_type_id
    ).select_related("offer")
    fee = (fees.filter(effective_from__lte=bid_at) if bid_at else fees).order_by("-version").first()
    band = (
        PriceBand.objects.filter(service_type_id=project.service_type_id, scale_from__lte=project.scale)
        .filter(Q(scale_to__isnull=True) | Q(scale_to__gt=project.scale))
        .order_by("-scale_from")
        .first()
    )
    net = sum((e.signed_amount for e in entries), Decimal("0.00"))
    return Disclosure(contract=contract, entries=entries, fee=fee, band=band, net_paid=net)
