"""A contract's payment schedule (付款节点) and what each line costs and has had paid.

Reads only; the writes are in ``services``. The schedule is the owner's list of milestones;
a contract without one has a single implicit milestone for the whole amount."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum

from marketplace.core.money import money
from marketplace.procurement.models import Contract, Delivery

from .models import LedgerEntry, Milestone, Payment, Refund

HUNDRED = Decimal(100)
MAX_MILESTONES = 6


def default_milestone(contract: Contract) -> Milestone:
    """The implicit single line: the whole amount, after acceptance if the contract says so."""
    return Milestone(
        contract=contract,
        position=1,
        label=str(_default_label()),
        percent=HUNDRED,
        after_acceptance=contract.pay_after_acceptance,
    )


def _default_label():
    from django.utils.translation import gettext

    return gettext("合同价款")


def milestones_of(contract: Contract) -> list[Milestone]:
    """The saved schedule, or the implicit single line (unsaved) when there is none."""
    rows = list(contract.milestones.filter(retired=False).order_by("position"))
    return rows or [default_milestone(contract)]


def split(amount: Decimal, percents: list[Decimal]) -> list[Decimal]:
    """Shares of ``amount`` by percentage, rounded; the last line takes the remainder so the
    lines always add up to the amount exactly."""
    shares = [money(amount * p / HUNDRED) for p in percents[:-1]]
    return [*shares, money(amount - sum(shares, Decimal(0)))]


def is_accepted(contract: Contract) -> bool:
    return Delivery.objects.filter(
        project_id=contract.project_id, decision=Delivery.Decision.ACCEPTED
    ).exists()


@dataclass
class Line:
    """One milestone with its amount and where its payment stands."""

    milestone: Milestone
    amount: Decimal
    payment: Payment | None = None  # the succeeded, submitted or pending one, if any
    refunded: Decimal = Decimal("0.00")
    history: list[Any] = field(default_factory=list)  # payments annotated with ``refunded``

    @property
    def position(self) -> int:
        return self.milestone.position

    @property
    def paid(self) -> bool:
        return self.payment is not None and self.payment.status == Payment.Status.SUCCEEDED

    @property
    def awaiting(self) -> bool:
        return self.payment is not None and self.payment.status in (
            Payment.Status.PENDING,
            Payment.Status.SUBMITTED,
        )


@dataclass
class Statement:
    """A contract's money at a glance: schedule lines, totals from the ledger, acceptance."""

    contract: Contract
    lines: list[Line]
    paid: Decimal
    refunded: Decimal
    accepted: bool

    @property
    def payments(self) -> list[Payment]:
        """Every attempt on every line, newest first."""
        rows = [p for line in self.lines for p in line.history]
        return sorted(rows, key=lambda p: (p.created_at, p.pk), reverse=True)

    @property
    def net_paid(self) -> Decimal:
        return money(self.paid - self.refunded)

    @property
    def due(self) -> Decimal:
        return money(max(self.contract.amount - self.net_paid, Decimal(0)))

    def line(self, position: int) -> Line | None:
        return next((line for line in self.lines if line.position == position), None)

    def payable(self, line: Line) -> bool:
        """The owner may pay this line now (by card or transfer)."""
        return (
            self.contract.confirmed_at is not None
            and line.payment is None
            and (self.accepted or not line.milestone.after_acceptance)
        )


def statement(contract: Contract) -> Statement:
    """The contract's schedule and ledger totals in a handful of queries."""
    milestones = milestones_of(contract)
    amounts = split(contract.amount, [m.percent for m in milestones])
    payments = list(
        Payment.objects.filter(contract=contract)
        .select_related("milestone")
        .prefetch_related("refunds")
        .annotate(
            refunded=Sum(
                "refunds__amount", filter=Q(refunds__status=Refund.Status.SUCCEEDED), default=Decimal(0)
            )
        )
        .order_by("created_at", "pk")
    )
    lines = []
    for milestone, amount in zip(milestones, amounts, strict=True):
        history = [p for p in payments if milestone.pk is not None and p.milestone_id == milestone.pk]
        current = next((p for p in reversed(history) if p.status in Payment.OPEN), None)
        refunded = money(sum((p.refunded for p in history), Decimal(0)))
        lines.append(
            Line(milestone=milestone, amount=amount, payment=current, refunded=refunded, history=history)
        )
    totals = dict(
        LedgerEntry.objects.filter(contract=contract)
        .order_by()
        .values_list("kind")
        .annotate(total=Sum("amount"))
        .values_list("kind", "total")
    )
    paid = money(
        totals.get(LedgerEntry.Kind.CHARGE, Decimal(0))
        + totals.get(LedgerEntry.Kind.OFFLINE_PAYMENT, Decimal(0))
    )
    return Statement(
        contract=contract,
        lines=lines,
        paid=paid,
        refunded=money(totals.get(LedgerEntry.Kind.REFUND, Decimal(0))),
        accepted=is_accepted(contract),
    )
