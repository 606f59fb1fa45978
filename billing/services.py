"""Every billing write: the payment schedule, card payments, bank transfers and refunds.

Each function runs in one transaction, locks the contract (or payment) row it changes, writes
the audit log, and writes a ledger entry exactly once when money has moved. Amounts are
``Decimal`` yuan; only the gateway speaks in fen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import Membership, Role, User
from marketplace.core.audit import audit_record
from marketplace.core.errors import DomainError, NotAllowed, ValidationFailed
from marketplace.core.money import money, to_minor_units
from marketplace.core.tasks import enqueue_on_commit
from marketplace.core.validators import clean_upload
from marketplace.procurement.models import Contract
from marketplace.procurement.services.common import notify

from . import gateway as gateway_module
from .gateway import Gateway, GatewayError, Intent
from .models import LedgerEntry, Milestone, Payment, Refund
from .schedule import HUNDRED, MAX_MILESTONES, Line, Statement, statement

# --- who may act ---------------------------------------------------------------------------------


def _is_member(actor: User, organisation_id: int, role: str) -> bool:
    return (
        actor is not None
        and actor.is_authenticated
        and Membership.objects.filter(user=actor, organisation_id=organisation_id, role=role).exists()
    )


def require_payer(actor: User, contract: Contract) -> None:
    """Only the contract's owner (the project owner) pays."""
    if not _is_member(actor, contract.project.owner_id, Role.OWNER):
        raise NotAllowed


def require_payee(actor: User, contract: Contract) -> None:
    """Only the contracted intermediary confirms transfers and refunds."""
    if not _is_member(actor, contract.intermediary.organisation_id, Role.INTERMEDIARY):
        raise NotAllowed


def lock_contract(contract: Contract | int) -> Contract:
    pk = contract.pk if isinstance(contract, Contract) else contract
    return (
        Contract.objects.select_for_update(of=("self",)).select_related("project", "intermediary").get(pk=pk)
    )


def _amount(value: Decimal | str | int | None, *, field: str) -> Decimal:
    try:
        amount = money(value)  # type: ignore[arg-type]
    except (ValueError, InvalidOperation, TypeError):
        raise DomainError(_("请输入有效金额。"), field=field) from None
    if amount <= 0:
        raise DomainError(_("金额必须大于零。"), field=field)
    return amount


def _after_ledger_write(contract: Contract) -> None:
    """The fee rules (FE05, FE06, FE09) read the ledger: rescan the project after commit."""
    enqueue_on_commit("marketplace.oversight.tasks.monitor_project", contract.project_id, "payment")


# --- the schedule ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MilestoneInput:
    label: str
    percent: Decimal
    after_acceptance: bool


@transaction.atomic
def schedule_set(*, actor: User, contract: Contract, rows: list[MilestoneInput]) -> list[Milestone]:
    """The owner sets the payment schedule of a signed contract: up to six lines whose shares
    add up to 100%. Once anything has been paid (or is waiting to be), it is fixed."""
    contract = lock_contract(contract)
    require_payer(actor, contract)
    if contract.confirmed_at is None:
        raise DomainError(_("合同经双方确认后才能设定付款节点。"), code="unsigned")
    if (
        Payment.objects.filter(contract=contract)
        .exclude(status__in=[Payment.Status.FAILED, Payment.Status.CANCELED, Payment.Status.REJECTED])
        .exists()
    ):
        raise DomainError(_("已有付款记录，付款节点不能再修改。"), code="locked")
    errors: dict[str | None, list[str]] = {}
    rows = [r for r in rows if r.label.strip() or r.percent]
    if not rows:
        errors[None] = [_("至少设定一个付款节点。")]
    if len(rows) > MAX_MILESTONES:
        errors[None] = [_("付款节点最多 %(n)d 个。") % {"n": MAX_MILESTONES}]
    for i, row in enumerate(rows, start=1):
        if not row.label.strip():
            errors.setdefault(f"label_{i}", []).append(_("请填写付款节点名称。"))
        if row.percent is None or row.percent <= 0 or row.percent > HUNDRED:
            errors.setdefault(f"percent_{i}", []).append(_("比例须大于 0 且不超过 100。"))
        if contract.pay_after_acceptance and not row.after_acceptance:
            errors.setdefault(f"after_acceptance_{i}", []).append(
                _("合同约定验收后付款，所有付款节点都须在验收后支付。")
            )
    if not errors and sum((r.percent for r in rows), Decimal(0)) != HUNDRED:
        errors[None] = [_("各付款节点比例之和须为 100%。")]
    if errors:
        raise ValidationFailed(errors)
    before = list(
        contract.milestones.filter(retired=False).values("position", "label", "percent", "after_acceptance")
    )
    # Only failed, cancelled or rejected attempts point at the old lines: retire those rows
    # rather than delete what the history refers to.
    for m in contract.milestones.filter(retired=False):
        if m.payments.exists():
            m.retired = True
            m.save(update_fields=["retired"])
        else:
            m.delete()
    created = [
        Milestone.objects.create(
            contract=contract,
            position=i,
            label=row.label.strip()[:60],
            percent=row.percent,
            after_acceptance=row.after_acceptance,
        )
        for i, row in enumerate(rows, start=1)
    ]
    audit_record(
        actor=actor,
        action="billing.schedule_set",
        obj=contract,
        before={"milestones": before},
        after={
            "milestones": [
                {"label": m.label, "percent": m.percent, "after": m.after_acceptance} for m in created
            ]
        },
    )
    return created


def _milestone_for_payment(contract: Contract, position: int) -> tuple[Statement, Line, Milestone]:
    """The line to pay, with every rule that decides whether it may be paid now."""
    st = statement(contract)
    line = st.line(position)
    if line is None:
        raise DomainError(_("付款节点不存在。"), field="milestone", code="unknown_milestone")
    if contract.confirmed_at is None:
        raise DomainError(_("合同经双方确认后才能付款。"), code="unsigned")
    if line.paid:
        raise DomainError(_("该付款节点已支付。"), field="milestone", code="already_paid")
    if line.awaiting and line.payment is not None and line.payment.method == Payment.Method.TRANSFER:
        raise DomainError(_("该付款节点已登记转账，正等待收款方确认。"), field="milestone", code="awaiting")
    if line.milestone.after_acceptance and not st.accepted:
        raise DomainError(
            _("该付款节点须在服务成果验收通过后支付。"), field="milestone", code="before_acceptance"
        )
    if line.amount <= 0:
        raise DomainError(_("该付款节点无应付金额。"), field="milestone", code="nothing_due")
    if line.amount > st.due:
        raise DomainError(_("付款金额超过合同未付余额。"), field="amount", code="over_balance")
    milestone = line.milestone
    if milestone.pk is None:  # the implicit single line becomes a saved one at first payment
        milestone.save()
    return st, line, milestone


# --- card payments through Stripe --------------------------------------------------------------


def idempotency_key(milestone: Milestone, attempt: int, amount: Decimal) -> str:
    """Derived from the milestone: a retried request (same line, same attempt, same amount)
    reaches Stripe with the same key, so it never creates a second PaymentIntent."""
    return (
        f"{settings.BILLING_NAMESPACE}-contract{milestone.contract_id}-m{milestone.position}"
        f"-a{attempt}-{to_minor_units(amount)}"
    )


def _gateway(gateway: Gateway | None) -> Gateway:
    gw = gateway or gateway_module.get_gateway()
    if gw is None:
        raise DomainError(_("未启用在线支付，请通过银行转账付款并上传回单。"), code="stripe_off")
    return gw


@dataclass
class Checkout:
    payment: Payment
    client_secret: str


@transaction.atomic
def card_payment_start(
    *, actor: User, contract: Contract, position: int, gateway: Gateway | None = None
) -> Checkout:
    """Start (or resume) paying a milestone by card: one PaymentIntent per attempt, created
    with an idempotency key derived from the milestone, recorded as a pending payment."""
    gw = _gateway(gateway)
    contract = lock_contract(contract)
    require_payer(actor, contract)
    st, line, milestone = _milestone_for_payment(contract, position)
    if line.payment is not None and line.payment.method == Payment.Method.STRIPE:
        # Resume the open attempt rather than create a second intent for the same line.
        intent = gw.retrieve_intent(line.payment.stripe_payment_intent or "")
        return Checkout(payment=line.payment, client_secret=intent.client_secret)
    attempt = Payment.objects.filter(milestone=milestone).count() + 1
    key = idempotency_key(milestone, attempt, line.amount)
    payment = Payment.objects.create(
        contract=contract,
        milestone=milestone,
        method=Payment.Method.STRIPE,
        status=Payment.Status.PENDING,
        amount=line.amount,
        attempt=attempt,
        idempotency_key=key,
        created_by=actor,
        created_at=timezone.now(),
    )
    try:
        intent = gw.create_intent(
            amount=line.amount,
            idempotency_key=key,
            metadata={
                "namespace": settings.BILLING_NAMESPACE,
                "payment": str(payment.pk),
                "contract": str(contract.pk),
                "project": contract.project.public_number,
                "milestone": str(milestone.position),
            },
        )
    except GatewayError:
        raise DomainError(_("支付服务暂时不可用，请稍后再试。"), code="gateway") from None
    payment.stripe_payment_intent = intent.id
    payment.save(update_fields=["stripe_payment_intent"])
    audit_record(
        actor=actor,
        action="billing.card_payment_start",
        obj=payment,
        after={"amount": payment.amount, "milestone": milestone.position, "intent": intent.id},
    )
    return Checkout(payment=payment, client_secret=intent.client_secret)


class UnknownIntent(DomainError):
    """A PaymentIntent that is not one of our payments."""


@transaction.atomic
def intent_apply(*, intent: Intent, source: str, actor=None) -> bool:
    """Bring our payment in line with Stripe's PaymentIntent (from a webhook or a return from
    the payment page). Returns True if anything changed. Safe to call any number of times and
    in any order: a payment confirms once (row lock plus the ledger's unique constraint), and a
    failure reported after success changes nothing."""
    payment = (
        Payment.objects.select_for_update(of=("self",))
        .select_related("contract__project", "contract__intermediary", "milestone")
        .filter(stripe_payment_intent=intent.id)
        .first()
    )
    if payment is None:
        raise UnknownIntent(_("未知的支付单。"), code="unknown_intent")
    if intent.amount != payment.amount or intent.currency != gateway_module.CURRENCY:
        raise DomainError(_("支付金额与支付单不符。"), code="amount_mismatch")
    if payment.status == Payment.Status.SUCCEEDED:
        return False
    now = timezone.now()
    if intent.status == "succeeded":
        payment.status = Payment.Status.SUCCEEDED
        payment.settled_at = now
        payment.save(update_fields=["status", "settled_at"])
        contract = payment.contract
        LedgerEntry.objects.create(
            contract=contract,
            kind=LedgerEntry.Kind.CHARGE,
            amount=payment.amount,
            milestone=payment.milestone.ledger_label,
            occurred_at=now,
            reference=intent.id,
            payment=payment,
        )
        audit_record(
            actor=actor or f"stripe:{source}",
            action="billing.payment_succeeded",
            obj=payment,
            after={"amount": payment.amount, "intent": intent.id, "source": source},
        )
        notify(
            contract.intermediary.organisation_id,
            _("收到付款 %(a)s 元：%(p)s") % {"a": payment.amount, "p": contract.project},
            contract.project,
        )
        _after_ledger_write(contract)
        return True
    if payment.status != Payment.Status.PENDING:
        return False
    if intent.status == "canceled":
        payment.status = Payment.Status.CANCELED
    elif intent.status == "requires_payment_method" and source == "payment_intent.payment_failed":
        payment.status = Payment.Status.FAILED
    else:
        return False  # still in progress (processing, requires_action, ...)
    payment.save(update_fields=["status"])
    audit_record(
        actor=actor or f"stripe:{source}",
        action="billing.payment_" + payment.status,
        obj=payment,
        after={"intent": intent.id, "source": source},
    )
    return True


def card_payment_return(
    *, actor: User, contract: Contract, intent_id: str, gateway: Gateway | None = None
) -> Payment:
    """The owner's browser came back from the payment page: ask Stripe (never the query
    string) how the intent stands and apply it."""
    gw = _gateway(gateway)
    payment = Payment.objects.filter(contract=contract, stripe_payment_intent=intent_id).first()
    if payment is None:
        raise DomainError(_("未知的支付单。"), code="unknown_intent")
    require_payer(actor, contract)
    try:
        intent = gw.retrieve_intent(intent_id)
    except GatewayError:
        raise DomainError(_("支付服务暂时不可用，请稍后刷新。"), code="gateway") from None
    intent_apply(intent=intent, source="return", actor=actor)
    payment.refresh_from_db()
    return payment


# --- bank transfers (线下支付) ------------------------------------------------------------------


@transaction.atomic
def transfer_record(
    *,
    actor: User,
    contract: Contract,
    position: int,
    amount: Decimal | str,
    reference: str,
    transfer_date: date,
    receipt: UploadedFile | None,
) -> Payment:
    """The owner records a bank transfer for a milestone with the bank's receipt; the
    intermediary confirms it before it counts as paid."""
    contract = lock_contract(contract)
    require_payer(actor, contract)
    value = _amount(amount, field="amount")
    st, line, milestone = _milestone_for_payment(contract, position)
    if line.awaiting:
        raise DomainError(_("该付款节点正在在线支付中。"), field="milestone", code="awaiting")
    if value > st.due:
        raise DomainError(_("付款金额超过合同未付余额。"), field="amount", code="over_balance")
    if value != line.amount:
        raise DomainError(
            _("转账金额须等于该付款节点应付金额 %(a)s 元。") % {"a": line.amount},
            field="amount",
            code="amount",
        )
    if not reference.strip():
        raise DomainError(_("请填写转账凭证号。"), field="reference")
    if transfer_date > timezone.localdate():
        raise DomainError(_("转账日期不能晚于今天。"), field="transfer_date")
    clean_upload(receipt, field="receipt")
    payment = Payment.objects.create(
        contract=contract,
        milestone=milestone,
        method=Payment.Method.TRANSFER,
        status=Payment.Status.SUBMITTED,
        amount=value,
        attempt=Payment.objects.filter(milestone=milestone).count() + 1,
        transfer_reference=reference.strip()[:120],
        transfer_date=transfer_date,
        receipt=receipt,
        created_by=actor,
        created_at=timezone.now(),
    )
    audit_record(
        actor=actor,
        action="billing.transfer_record",
        obj=payment,
        after={"amount": value, "milestone": milestone.position, "reference": payment.transfer_reference},
    )
    notify(
        contract.intermediary.organisation_id,
        _("请确认转账 %(a)s 元：%(p)s") % {"a": value, "p": contract.project},
        contract.project,
    )
    return payment


def _lock_payment(payment: Payment | int) -> Payment:
    pk = payment.pk if isinstance(payment, Payment) else payment
    return (
        Payment.objects.select_for_update(of=("self",))
        .select_related("contract__project", "contract__intermediary", "milestone")
        .get(pk=pk)
    )


@transaction.atomic
def transfer_confirm(*, actor: User, payment: Payment) -> Payment:
    """The intermediary confirms it received the transfer: now it is in the ledger."""
    payment = _lock_payment(payment)
    require_payee(actor, payment.contract)
    if payment.method != Payment.Method.TRANSFER:
        raise DomainError(_("只有银行转账需要确认。"), code="not_transfer")
    if payment.status == Payment.Status.SUCCEEDED:
        return payment
    if payment.status != Payment.Status.SUBMITTED:
        raise DomainError(_("该转账已处理。"), code="transition")
    now = timezone.now()
    payment.status = Payment.Status.SUCCEEDED
    payment.settled_at = now
    payment.settled_by = actor
    payment.save(update_fields=["status", "settled_at", "settled_by"])
    LedgerEntry.objects.create(
        contract=payment.contract,
        kind=LedgerEntry.Kind.OFFLINE_PAYMENT,
        amount=payment.amount,
        milestone=payment.milestone.ledger_label,
        occurred_at=now,
        reference=payment.transfer_reference,
        payment=payment,
    )
    audit_record(
        actor=actor, action="billing.transfer_confirm", obj=payment, after={"amount": payment.amount}
    )
    notify(
        payment.contract.project.owner_id,
        _("收款方已确认转账 %(a)s 元：%(p)s") % {"a": payment.amount, "p": payment.contract.project},
        payment.contract.project,
    )
    _after_ledger_write(payment.contract)
    return payment


@transaction.atomic
def transfer_reject(*, actor: User, payment: Payment, reason: str) -> Payment:
    """The intermediary has not received it (wrong amount, wrong account...): the owner may
    record the transfer again."""
    payment = _lock_payment(payment)
    require_payee(actor, payment.contract)
    if not reason.strip():
        raise DomainError(_("请说明未确认的原因。"), field="reason")
    if payment.method != Payment.Method.TRANSFER or payment.status != Payment.Status.SUBMITTED:
        raise DomainError(_("该转账已处理。"), code="transition")
    payment.status = Payment.Status.REJECTED
    payment.failure_reason = reason.strip()
    payment.settled_by = actor
    payment.save(update_fields=["status", "failure_reason", "settled_by"])
    audit_record(
        actor=actor, action="billing.transfer_reject", obj=payment, after={"reason": payment.failure_reason}
    )
    notify(
        payment.contract.project.owner_id,
        _("收款方未确认转账：%(p)s（%(r)s）") % {"p": payment.contract.project, "r": payment.failure_reason},
        payment.contract.project,
    )
    return payment


# --- refunds -------------------------------------------------------------------------------------


def refundable(payment: Payment) -> Decimal:
    """What may still be refunded on a payment: paid, less refunds made or in progress."""
    if payment.status != Payment.Status.SUCCEEDED:
        return Decimal("0.00")
    taken = payment.refunds.exclude(status=Refund.Status.FAILED).aggregate(total=Sum("amount"))["total"]
    return money(payment.amount - (taken or 0))


@transaction.atomic
def refund_create(
    *,
    actor: User,
    payment: Payment,
    amount: Decimal | str,
    reason: str,
    reference: str = "",
    gateway: Gateway | None = None,
) -> Refund:
    """The intermediary gives money back, in full or in part, with a reason; never more than
    was paid. A card payment is refunded through Stripe (the server would allow an over-refund,
    so the check is ours); a transfer is refunded by a transfer back, recorded with its reference."""
    payment = _lock_payment(payment)
    require_payee(actor, payment.contract)
    value = _amount(amount, field="amount")
    if not reason.strip():
        raise DomainError(_("请填写退款原因。"), field="reason")
    if payment.status != Payment.Status.SUCCEEDED:
        raise DomainError(_("只能对已支付的款项退款。"), code="not_paid")
    available = refundable(payment)
    if value > available:
        raise DomainError(
            _("退款金额超过可退金额 %(a)s 元。") % {"a": available}, field="amount", code="over_refund"
        )
    now = timezone.now()
    refund = Refund.objects.create(
        payment=payment, amount=value, reason=reason.strip(), created_by=actor, created_at=now
    )
    if payment.method == Payment.Method.STRIPE:
        gw = _gateway(gateway)
        number = payment.refunds.count()
        try:
            result = gw.create_refund(
                intent_id=payment.stripe_payment_intent or "",
                amount=value,
                idempotency_key=f"{settings.BILLING_NAMESPACE}-payment{payment.pk}-refund{number}-{to_minor_units(value)}",
                metadata={"namespace": settings.BILLING_NAMESPACE, "refund": str(refund.pk)},
            )
        except GatewayError:
            raise DomainError(_("支付服务暂时不可用，请稍后再试。"), code="gateway") from None
        refund.stripe_refund = result.id
        refund.reference = result.id
        refund.status = {"succeeded": Refund.Status.SUCCEEDED, "failed": Refund.Status.FAILED}.get(
            result.status, Refund.Status.PENDING
        )
    else:
        if not reference.strip():
            raise DomainError(_("请填写退款转账凭证号。"), field="reference")
        refund.reference = reference.strip()[:120]
        refund.status = Refund.Status.SUCCEEDED
    refund.save(update_fields=["stripe_refund", "reference", "status"])
    if refund.status == Refund.Status.SUCCEEDED:
        _refund_to_ledger(refund, payment, now)
    audit_record(
        actor=actor,
        action="billing.refund",
        obj=refund,
        after={"payment": payment.pk, "amount": value, "reason": refund.reason, "status": refund.status},
    )
    notify(
        payment.contract.project.owner_id,
        _("收款方退款 %(a)s 元：%(p)s") % {"a": value, "p": payment.contract.project},
        payment.contract.project,
    )
    return refund


def _refund_to_ledger(refund: Refund, payment: Payment, at) -> None:
    LedgerEntry.objects.create(
        contract=payment.contract,
        kind=LedgerEntry.Kind.REFUND,
        amount=refund.amount,
        milestone=payment.milestone.ledger_label,
        occurred_at=at,
        reference=refund.reference,
        payment=payment,
        refund=refund,
    )
    _after_ledger_write(payment.contract)
