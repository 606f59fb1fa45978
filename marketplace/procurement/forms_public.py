from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.core.forms import Form


class ProjectCheckForm(Form):
    """The operator's decision on a project submitted for checking (发布前审核)."""

    decision = forms.ChoiceField(
        label=_("审核结论"),
        choices=[("approve", _("审核通过，发布采购公告")), ("return", _("退回业主修改"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("审核意见"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("退回时必须填写，业主将看到此意见；发布时可选填。"),
    )

    @property
    def approve(self) -> bool:
        return self.cleaned_data["decision"] == "approve"


class DisputeDecisionForm(Form):
    """The regulator's decision on a disputed rating (评价申诉)."""

    outcome = forms.ChoiceField(
        choices=[("uphold", _("申诉成立（该评价不计入）")), ("reject", _("申诉不成立"))],
    )
