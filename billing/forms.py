from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.core.forms import DateInput, Form

from .models import Payment
from .schedule import MAX_MILESTONES
from .services import MilestoneInput


class ScheduleForm(Form):
    """Up to six milestone rows: name, share and whether it waits for acceptance."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for i in range(1, MAX_MILESTONES + 1):
            self.fields[f"label_{i}"] = forms.CharField(
                label=_("付款节点名称"), max_length=60, required=False
            )
            self.fields[f"percent_{i}"] = forms.DecimalField(
                label=_("比例（%）"), max_digits=5, decimal_places=2, required=False
            )
            self.fields[f"after_acceptance_{i}"] = forms.BooleanField(label=_("验收后支付"), required=False)
        for name, field in self.fields.items():
            css = "form-check-input" if name.startswith("after_") else "form-control form-control-sm"
            field.widget.attrs["class"] = css

    def rows(self) -> list[MilestoneInput]:
        d = self.cleaned_data
        return [
            MilestoneInput(
                label=d.get(f"label_{i}") or "",
                percent=d.get(f"percent_{i}") or 0,
                after_acceptance=bool(d.get(f"after_acceptance_{i}")),
            )
            for i in range(1, MAX_MILESTONES + 1)
        ]

    def row_fields(self):
        return [
            (self[f"label_{i}"], self[f"percent_{i}"], self[f"after_acceptance_{i}"])
            for i in range(1, MAX_MILESTONES + 1)
        ]


class TransferForm(Form):
    milestone = forms.IntegerField(widget=forms.HiddenInput)
    amount = forms.DecimalField(label=_("转账金额（元）"), max_digits=14, decimal_places=2)
    reference = forms.CharField(label=_("转账凭证号"), max_length=120)
    transfer_date = forms.DateField(label=_("转账日期"), widget=DateInput)
    receipt = forms.FileField(label=_("银行回单（PDF、PNG 或 JPG）"), required=False)


class RejectForm(Form):
    reason = forms.CharField(label=_("未确认原因"), widget=forms.Textarea(attrs={"rows": 2}))


class RefundForm(Form):
    amount = forms.DecimalField(label=_("退款金额（元）"), max_digits=14, decimal_places=2)
    reason = forms.CharField(label=_("退款原因"), widget=forms.Textarea(attrs={"rows": 2}))
    reference = forms.CharField(
        label=_("退款转账凭证号（银行转账退款时填写）"), max_length=120, required=False
    )


class PaymentFilterForm(Form):
    q = forms.CharField(label=_("项目编号或机构"), required=False)
    status = forms.ChoiceField(
        label=_("状态"), choices=[("", _("全部"))] + list(Payment.Status.choices), required=False
    )
    method = forms.ChoiceField(
        label=_("支付方式"), choices=[("", _("全部"))] + list(Payment.Method.choices), required=False
    )
