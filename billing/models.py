"""The billing ledger (收付款台账): every charge, refund and offline payment, append-only.

Billing depends on procurement (an entry points at a contract), never the reverse; the
monitoring rules read the ledger (FE05, FE06, FE09)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Organisation
from marketplace.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from marketplace.procurement.models import Contract
from marketplace.providers.models import Intermediary


class LedgerEntryQuerySet(models.QuerySet):
    """Entries are never changed or removed: a mistake is corrected by a refund entry."""

    def update(self, **kwargs):
        raise TypeError("ledger entries are append-only")

    def delete(self):
        raise TypeError("ledger entries are append-only")


class LedgerEntry(models.Model):
    """收付款记录: one charge, refund or offline payment, tied to a contract line where there is one."""

    class Kind(models.TextChoices):
        CHARGE = "charge", _("收费")
        REFUND = "refund", _("退款")
        OFFLINE_PAYMENT = "offline_payment", _("线下支付")

    contract = models.ForeignKey(
        Contract, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    amount = models.DecimalField(
        _("金额（元）"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES
    )
    # The contract line (付款节点) the money is for; blank means it is tied to none.
    milestone = models.CharField(_("合同付款节点"), max_length=100, blank=True)
    occurred_at = models.DateTimeField(_("发生时间"))
    reference = models.CharField(_("凭证号"), max_length=120)
    # For an entry not tied to a contract: who was paid and who paid.
    intermediary = models.ForeignKey(
        Intermediary, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    owner = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Where the entry came from, when billing wrote it (older or imported entries have none).
    payment = models.ForeignKey(
        "Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    refund = models.OneToOneField(
        "Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entry"
    )

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        ordering = ["occurred_at", "pk"]
        verbose_name = _("收付款记录")
        verbose_name_plural = _("收付款记录")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="ledger_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(contract__isnull=False)
                | models.Q(intermediary__isnull=False)
                | models.Q(owner__isnull=False),
                name="ledger_party_known",
            ),
            # A payment reaches the ledger once, however many times it is confirmed.
            models.UniqueConstraint(
                fields=["payment"],
                condition=models.Q(kind__in=["charge", "offline_payment"]),
                name="ledger_one_entry_per_payment",
            ),
        ]
        indexes = [
            # Paid per contract (FE05) and paid before acceptance (FE06).
            models.Index(fields=["contract", "kind", "occurred_at"], name="ledger_contract_kind"),
            # Charges not tied to a contract line (FE09): a small partial index.
            models.Index(
                fields=["kind"],
                condition=models.Q(contract__isnull=True) | models.Q(milestone=""),
                name="ledger_untied",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.reference}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise TypeError("ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("ledger entries are append-only")

    @property
    def signed_amount(self):
        """What the entry adds to the amount paid: refunds count negative."""
        return -self.amount if self.kind == self.Kind.REFUND else self.amount


# --- the payment side: schedule, payments, refunds, webhook events, reconciliation ---------------
# (defined after LedgerEntry, which points back at them by name)


class Milestone(models.Model):
    """付款节点: one line of a contract's payment schedule, a share of the contract amount.

    The owner sets the schedule of a signed contract (shares summing to 100%); a contract with
    none has one implicit milestone for the whole amount. ``after_acceptance`` says the line
    may only be paid once the result is accepted (验收后付款)."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="milestones")
    position = models.PositiveSmallIntegerField(_("序号"))
    label = models.CharField(_("付款节点"), max_length=60)
    percent = models.DecimalField(_("比例（%）"), max_digits=5, decimal_places=2)
    after_acceptance = models.BooleanField(_("验收后支付"), default=True)
    # A line replaced by a new schedule while only failed attempts pointed at it.
    retired = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["contract", "position"]
        verbose_name = _("付款节点")
        verbose_name_plural = _("付款节点")
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "position"],
                condition=models.Q(retired=False),
                name="milestone_unique_position",
            ),
            models.CheckConstraint(
                condition=models.Q(percent__gt=0) & models.Q(percent__lte=100), name="milestone_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.label} {self.percent}%"

    @property
    def ledger_label(self) -> str:
        """What the ledger's ``milestone`` column holds for this line (FE06/FE09 read it)."""
        return f"{self.position}. {self.label}"[:100]


class Payment(models.Model):
    """支付: one attempt to pay a milestone, by card through Stripe or by bank transfer.

    The ledger entry is written once, when the payment succeeds (Stripe) or the intermediary
    confirms the transfer; this row only tracks the attempt."""

    class Method(models.TextChoices):
        STRIPE = "stripe", _("在线支付")
        TRANSFER = "transfer", _("银行转账")

    class Status(models.TextChoices):
        PENDING = "pending", _("待支付")
        SUBMITTED = "submitted", _("待收款方确认")
        SUCCEEDED = "succeeded", _("已支付")
        FAILED = "failed", _("支付失败")
        CANCELED = "canceled", _("已取消")
        REJECTED = "rejected", _("收款方未确认")

    # A milestone has at most one payment in these states (no double charge).
    OPEN = (Status.PENDING, Status.SUBMITTED, Status.SUCCEEDED)

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="payments")
    milestone = models.ForeignKey(Milestone, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(_("支付方式"), max_length=10, choices=Method.choices)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices)
    amount = models.DecimalField(
        _("金额（元）"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES
    )
    attempt = models.PositiveSmallIntegerField(default=1)
    stripe_payment_intent = models.CharField(max_length=100, null=True, blank=True, unique=True)
    idempotency_key = models.CharField(max_length=120, blank=True)
    # Bank transfer: the payer's reference, the day it was sent and the bank's receipt.
    transfer_reference = models.CharField(_("转账凭证号"), max_length=120, blank=True)
    transfer_date = models.DateField(_("转账日期"), null=True, blank=True)
    receipt = models.FileField(_("转账回单"), upload_to="billing/receipts/", blank=True)
    failure_reason = models.TextField(_("说明"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    settled_at = models.DateTimeField(_("到账时间"), null=True, blank=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("支付")
        verbose_name_plural = _("支付")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive"),
            models.UniqueConstraint(
                fields=["milestone"],
                condition=models.Q(status__in=["pending", "submitted", "succeeded"]),
                name="payment_one_open_per_milestone",
            ),
        ]
        indexes = [
            models.Index(fields=["contract", "status"], name="payment_contract_status"),
            # The regulator's list filters by method and status, newest first.
            models.Index(fields=["method", "status", "created_at"], name="payment_method_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount} ({self.get_status_display()})"


class Refund(models.Model):
    """退款: money given back on a payment, never more than was paid on it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("处理中")
        SUCCEEDED = "succeeded", _("已退款")
        FAILED = "failed", _("退款失败")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(
        _("退款金额（元）"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES
    )
    reason = models.TextField(_("退款原因"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    stripe_refund = models.CharField(max_length=100, null=True, blank=True, unique=True)
    reference = models.CharField(_("退款凭证号"), max_length=120, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("退款")
        verbose_name_plural = _("退款")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive")
        ]


class WebhookEvent(models.Model):
    """A Stripe event as received: stored once per event id, with what handling it did."""

    class Outcome(models.TextChoices):
        PROCESSED = "processed", _("已处理")
        NO_CHANGE = "no_change", _("无需变更")
        IGNORED = "ignored", _("未处理的事件类型")
        FAILED = "failed", _("处理失败")

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=100, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["object_id"], name="webhook_object")]


class ReconciliationRun(models.Model):
    """对账: one comparison of Stripe's PaymentIntents and refunds with the ledger."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    checked_intents = models.PositiveIntegerField(default=0)
    checked_refunds = models.PositiveIntegerField(default=0)
    checked_entries = models.PositiveIntegerField(default=0)
    differences = models.JSONField(default=list)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    @property
    def ok(self) -> bool:
        return not self.differences and not self.error
