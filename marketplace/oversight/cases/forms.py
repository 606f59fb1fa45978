"""Forms for cases and inspections. They only parse; the services validate the rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from marketplace.catalog.models import Department, ServiceType
from marketplace.core.forms import BootstrapFormMixin, Form

from .models import InspectionPlan, InspectionTarget, Inspector, ViolationType


class CaseOpenForm(Form):
    title = forms.CharField(label=_("案由"), max_length=200, required=False)
    summary = forms.CharField(label=_("立案说明"), widget=forms.Textarea(attrs={"rows": 4}), required=False)
    intermediary_uscc = forms.CharField(
        label=_("涉及的中介机构（统一社会信用代码）"), max_length=18, required=False
    )

    def service_field(self, name: str | None) -> str | None:
        return {"intermediary": "intermediary_uscc", "source": None}.get(name or "", name)


class ExplanationRequestForm(Form):
    party = forms.ChoiceField(label=_("要求说明的单位"), choices=())
    question = forms.CharField(
        label=_("需说明的问题"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def __init__(self, *args, parties=(), **kwargs):
        super().__init__(*args, prefix="request", **kwargs)
        self.fields["party"].choices = list(parties)


class ConclusionForm(Form):
    violation = forms.TypedChoiceField(
        label=_("核查结论"),
        choices=[("1", _("构成违规")), ("0", _("不构成违规"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
        required=False,
        empty_value=None,
    )
    violation_type = forms.ModelChoiceField(
        label=_("违规行为类型"), queryset=ViolationType.objects.all(), required=False
    )
    legal_basis = forms.CharField(
        label=_("法律依据"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    conclusion = forms.CharField(
        label=_("处理结论及理由"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="conclusion", **kwargs)
        self.fields["violation"].widget.attrs["class"] = "form-check-input"
        self.fields["violation_type"].label_from_instance = lambda v: (
            _("%(code)s %(name)s（扣%(points)s分%(black)s）")
            % {
                "code": v.code,
                "name": v.name,
                "points": v.deduction,
                "black": _("，列入黑名单%(d)s天") % {"d": v.blacklist_days} if v.blacklist_days else "",
            }
        )


class AnswerForm(Form):
    answer = forms.CharField(label=_("说明内容"), widget=forms.Textarea(attrs={"rows": 5}), required=False)

    def service_field(self, name: str | None) -> str | None:
        return None if name == "files" else name


class RemedyForm(Form):
    report = forms.CharField(label=_("整改情况"), widget=forms.Textarea(attrs={"rows": 5}), required=False)


class InspectorForm(Form):
    code = forms.CharField(label=_("执法证号"), max_length=20, required=False)
    name = forms.CharField(label=_("姓名"), max_length=100, required=False)
    id_number = forms.CharField(label=_("身份证号码"), max_length=18, required=False)
    department = forms.ModelChoiceField(
        label=_("所属部门（用于回避）"), queryset=Department.objects.all(), required=False
    )


class PlanForm(BootstrapFormMixin, forms.Form):
    title = forms.CharField(label=_("计划名称"), max_length=200, required=False)
    scope_text = forms.CharField(
        label=_("检查内容"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    population_kind = forms.ChoiceField(label=_("抽查对象"), choices=InspectionPlan.Population.choices)
    service_type = forms.ModelChoiceField(
        label=_("服务事项（可选）"), queryset=ServiceType.objects.order_by("code"), required=False
    )
    department = forms.ModelChoiceField(
        label=_("部门（可选）"), queryset=Department.objects.all(), required=False
    )
    sample_size = forms.IntegerField(label=_("抽取数量"), min_value=1, required=False)
    inspectors_per_target = forms.IntegerField(label=_("每个对象的检查人员数"), min_value=1, initial=2)
    inspectors = forms.ModelMultipleChoiceField(
        label=_("检查人员库"),
        queryset=Inspector.objects.filter(is_active=True).order_by("code"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inspectors"].widget.attrs["class"] = "form-check-input"


class FindingForm(Form):
    result = forms.ChoiceField(
        label=_("检查结论"),
        choices=[
            ("", _("请选择")),
            (InspectionTarget.Result.NO_PROBLEM, _("未发现问题")),
            (InspectionTarget.Result.PROBLEM, _("发现问题")),
        ],
        required=False,
    )
    finding = forms.CharField(label=_("检查情况"), widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, target_pk: int, **kwargs):
        super().__init__(*args, prefix=f"t{target_pk}", **kwargs)
