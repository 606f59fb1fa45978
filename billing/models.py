"""The billing ledger (收付款台账): every charge, refund and offline payment, append-only.

Billing depends on procurement (an entry points at a contract), never the reverse; the
monitoring rules read the ledger (FE05, FE06, FE09)."""

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
