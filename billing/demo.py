"""Payments in the demo market, through the real services (``manage.py seed_demo`` calls this
after the procurement demo).

Of the demo contracts whose result was accepted: most are paid in full by bank transfer and
confirmed by the firm; two are split into two milestones (60% on acceptance, 40% after the
approval) with only the first paid; one has a transfer waiting for the firm's confirmation; one
paid contract has a partial refund. Card payments are left for a person to try live: with
``STRIPE_SECRET_KEY`` set (localstripe in development) the owner's payment page offers them.
Nothing is done if any payment exists already.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils import timezone

from marketplace.accounts.models import Membership, Role
from marketplace.procurement.models import Contract, Delivery

from . import services
from .models import Payment
from .schedule import statement

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SPLIT = 2  # contracts paid in two milestones
AWAITING = 1  # transfers left for the firm to confirm


def _user(organisation_id: int, role: str):
    m = Membership.objects.filter(organisation_id=organisation_id, role=role).select_related("user").first()
    return m.user if m else None


def _receipt(number: str) -> ContentFile:
    return ContentFile(PDF, name=f"receipt-{number}.pdf")


def seed_billing(write: Callable[[str], object] = print) -> dict | None:
    if Payment.objects.exists():
        write("The demo payments are there already: nothing to do.")
        return None
    accepted = Delivery.objects.filter(decision=Delivery.Decision.ACCEPTED).values("project_id")
    contracts = list(
        Contract.objects.filter(project_id__in=accepted, confirmed_at__isnull=False)
        .select_related("project", "intermediary")
        .order_by("project__public_number")
    )
    today = timezone.localdate()
    counts = {"paid_in_full": 0, "split": 0, "awaiting": 0, "refunds": 0}
    examples: list[str] = []
    for i, contract in enumerate(contracts):
        owner = _user(contract.project.owner_id, Role.OWNER)
        firm = _user(contract.intermediary.organisation_id, Role.INTERMEDIARY)
        if owner is None or firm is None:
            continue
        number = contract.project.public_number
        if i < SPLIT:
            services.schedule_set(
                actor=owner,
                contract=contract,
                rows=[
                    services.MilestoneInput("验收合格后支付", Decimal(60), True),
                    services.MilestoneInput("审批部门批复后支付", Decimal(40), True),
                ],
            )
        line = statement(contract).lines[0]
        payment = services.transfer_record(
            actor=owner,
            contract=contract,
            position=line.position,
            amount=line.amount,
            reference=f"ZZBANK{today:%Y%m%d}{i + 1:04d}",
            transfer_date=today,
            receipt=_receipt(number),
        )
        if SPLIT <= i < SPLIT + AWAITING:
            counts["awaiting"] += 1
            examples.append(f"{number}: transfer of {payment.amount} awaiting the firm's confirmation")
            continue
        services.transfer_confirm(actor=firm, payment=payment)
        if i < SPLIT:
            counts["split"] += 1
            examples.append(f"{number}: first of two milestones paid ({payment.amount})")
        else:
            counts["paid_in_full"] += 1
        if i == SPLIT + AWAITING:
            refund = (payment.amount / 10).quantize(Decimal("0.01"))
            services.refund_create(
                actor=firm,
                payment=payment,
                amount=refund,
                reason="部分服务内容（现场复核）未实施，按合同退还相应费用。",
                reference=f"ZZBANKRF{today:%Y%m%d}0001",
            )
            counts["refunds"] += 1
            examples.append(f"{number}: paid, then {refund} refunded")
    write(
        f"Demo payments: {counts['paid_in_full']} contracts paid in full, {counts['split']} in two milestones "
        f"(first paid), {counts['awaiting']} transfer(s) awaiting confirmation, {counts['refunds']} refund(s)."
    )
    for line in examples:
        write(f"  {line}")
    return counts
