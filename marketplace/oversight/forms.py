"""Forms and filters of the oversight pages: the risk queue and flag filters (applied inside the
selectors, so a page and an API share them), the regulator's decision on a flag, the operator's
rule settings and the public complaint form."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from marketplace.catalog.models import Department, ServiceType
from marketplace.core.forms import Form
from marketplace.procurement.models import PUBLIC_STATUSES, Project
from marketplace.providers.models import Intermediary

from .models import Category, Flag
from .rules.base import Rule, Threshold, all_rules

ACTIVE = (Flag.Status.OPEN, Flag.Status.CONFIRMED)


class Band:
    """Risk bands of a score (settings RISK_MEDIUM_FROM / RISK_HIGH_FROM)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    choices = [(HIGH, _("高风险")), (MEDIUM, _("中风险")), (LOW, _("低风险"))]


def rule_choices() -> list[tuple[str, str]]:
    return [(rule.code, f"{rule.code} {rule_title(rule)}") for rule in all_rules()]


def rule_title(rule: Rule) -> str:
    return rule.title_en if (get_language() or "").startswith("en") and rule.title_en else rule.title_zh


# --- filters ------------------------------------------------------------------------------------


class _RiskFilter(django_filters.FilterSet):
    """Band, rule and category filters of one tab of the risk queue. ``flag_field`` names the
    flag's foreign key to the rows of the tab; the selector annotates ``band``."""

    flag_field = "project"

    band = django_filters.ChoiceFilter(
        choices=Band.choices, method="filter_band", label=_("风险等级"), empty_label=_("全部")
    )
    rule = django_filters.ChoiceFilter(
        choices=[], method="filter_rule", label=_("监测规则"), empty_label=_("全部")
    )
    category = django_filters.ChoiceFilter(
        choices=Category.choices, method="filter_category", label=_("规则类别"), empty_label=_("全部")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["rule"].extra["choices"] = rule_choices()

    def _with_flag(self, queryset: QuerySet, **condition: Any) -> QuerySet:
        flags = Flag.objects.filter(status__in=ACTIVE, **{self.flag_field: OuterRef("pk")}, **condition)
        return queryset.filter(Exists(flags))

    def filter_band(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(band=value) if value else queryset

    def filter_rule(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return self._with_flag(queryset, rule=value) if value else queryset

    def filter_category(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return self._with_flag(queryset, category=value) if value else queryset


class ProjectRiskFilter(_RiskFilter):
    flag_field = "project"

    department = django_filters.ModelChoiceFilter(
        queryset=Department.objects.all(), to_field_name="code", label=_("审批部门"), empty_label=_("全部")
    )
    service_type = django_filters.ModelChoiceFilter(
        queryset=ServiceType.objects.all(), to_field_name="code", label=_("服务事项"), empty_label=_("全部")
    )

    class Meta:
        model = Project
        fields: list[str] = []
        form = Form


class FirmRiskFilter(_RiskFilter):
    flag_field = "intermediary"

    class Meta:
        model = Intermediary
        fields: list[str] = []
        form = Form


class DepartmentRiskFilter(_RiskFilter):
    flag_field = "department"

    class Meta:
        model = Department
        fields: list[str] = []
        form = Form


class FlagFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Flag.Status.choices, label=_("状态"), empty_label=_("全部"))
    rule = django_filters.ChoiceFilter(choices=[], label=_("监测规则"), empty_label=_("全部"))
    category = django_filters.ChoiceFilter(
        choices=Category.choices, label=_("规则类别"), empty_label=_("全部")
    )
    # Set by the links of the risk queue (a project's or a firm's flags); not shown as inputs.
    project = django_filters.NumberFilter(field_name="project_id", widget=forms.HiddenInput)
    intermediary = django_filters.NumberFilter(field_name="intermediary_id", widget=forms.HiddenInput)
    department = django_filters.ModelChoiceFilter(
        queryset=Department.objects.all(), to_field_name="code", label=_("审批部门"), empty_label=_("全部")
    )

    class Meta:
        model = Flag
        fields: list[str] = []
        form = Form

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["rule"].extra["choices"] = rule_choices()


# --- the regulator's decision -------------------------------------------------------------------


class FlagDecisionForm(Form):
    """核查结论 on a flag: confirm or dismiss, always with a reason (the service insists)."""

    decision = forms.ChoiceField(
        label=_("核查结论"),
        choices=[("confirm", _("确认存在问题")), ("dismiss", _("排除（不构成问题）"))],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("核查意见"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("确认或排除都须说明理由；排除的理由会保留，用于评估规则阈值是否合理。"),
    )

    @property
    def confirm(self) -> bool:
        return self.cleaned_data["decision"] == "confirm"


# --- the operator's rule settings ---------------------------------------------------------------


def threshold_field_name(name: str) -> str:
    return f"t_{name}"


class RuleSettingsForm(Form):
    """Weight, enabled and one input per threshold, typed by ``Threshold.kind``; the service
    checks everything again (this form only gives early, field-level messages)."""

    weight = forms.IntegerField(label=_("权重"), min_value=0, max_value=100)
    enabled = forms.BooleanField(label=_("启用"), required=False)
    note = forms.CharField(
        label=_("修改说明"),
        required=False,
        max_length=300,
        help_text=_("例如：根据核查结果调整阈值。说明将显示在规则的版本记录中。"),
    )

    def __init__(self, rule: Rule, *args: Any, **kwargs: Any) -> None:
        self.rule = rule
        super().__init__(*args, **kwargs)
        names = list(self.fields)
        for name, threshold in rule.thresholds.items():
            self.fields[threshold_field_name(name)] = self._threshold_field(threshold)
            self.fields[threshold_field_name(name)].widget.attrs.setdefault("class", self._css(threshold))
        # Thresholds after the weight and the switch, the note last.
        order = ["weight", "enabled", *(threshold_field_name(n) for n in rule.thresholds), "note"]
        self.order_fields([n for n in order if n in self.fields] + [n for n in names if n not in order])

    @staticmethod
    def _css(threshold: Threshold) -> str:
        return "form-check-input" if threshold.kind is bool else "form-control"

    @staticmethod
    def _threshold_field(threshold: Threshold) -> forms.Field:
        english = (get_language() or "").startswith("en")
        label = (threshold.label_en if english else threshold.label_zh) or threshold.label_zh
        if threshold.kind is bool:
            return forms.BooleanField(label=label, required=False)
        if threshold.kind is int:
            return forms.IntegerField(label=label, min_value=threshold.minimum, max_value=threshold.maximum)
        return forms.DecimalField(
            label=label,
            min_value=None if threshold.minimum is None else Decimal(str(threshold.minimum)),
            max_value=None if threshold.maximum is None else Decimal(str(threshold.maximum)),
        )

    def thresholds(self) -> dict[str, Any]:
        """Cleaned threshold values keyed by the rule's names; Decimals go to the service as
        strings, which is how the rules store them."""
        values: dict[str, Any] = {}
        for name, threshold in self.rule.thresholds.items():
            value = self.cleaned_data[threshold_field_name(name)]
            values[name] = str(value) if threshold.kind is Decimal and value is not None else value
        return values

    def service_field(self, name: str | None) -> str | None:
        """The input showing the service's error about ``name`` (a threshold by its own name)."""
        if name in self.rule.thresholds:
            name = threshold_field_name(name)
        return name if name in self.fields else None


# --- complaints ---------------------------------------------------------------------------------


class ComplaintForm(Form):
    """投诉: anyone may file one; anonymous complainants leave a contact (the service checks)."""

    project_number = forms.CharField(
        label=_("项目编号"),
        required=False,
        max_length=32,
        help_text=_("采购公告上的项目编号，可不填。"),
    )
    intermediary_uscc = forms.CharField(
        label=_("中介机构统一社会信用代码"),
        required=False,
        max_length=18,
        help_text=_("可不填。"),
    )
    department = forms.ModelChoiceField(
        label=_("涉及部门"),
        queryset=Department.objects.all(),
        to_field_name="code",
        required=False,
        empty_label=_("（不涉及或不清楚）"),
    )
    alleges_designation = forms.BooleanField(
        label=_("反映指定中介"),
        required=False,
        help_text=_("有工作人员或业主指定、暗示或强制使用某家中介机构。"),
    )
    text = forms.CharField(
        label=_("投诉内容"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("请填写投诉内容。")},
    )
    contact = forms.CharField(
        label=_("联系方式"),
        required=False,
        max_length=100,
        help_text=_("电话或电子邮箱，仅用于核实情况，不会公开。未登录时必须填写。"),
    )

    def clean_project_number(self) -> Project | None:
        number = self.cleaned_data["project_number"].strip()
        if not number:
            return None
        # Only published projects: a complaint form must not reveal whether a draft exists.
        project = (
            Project.objects.filter(public_number__iexact=number, status__in=PUBLIC_STATUSES)
            .select_related("department")
            .first()
        )
        if project is None:
            raise forms.ValidationError(_("未找到该项目编号的采购公告。"))
        return project

    def clean_intermediary_uscc(self) -> Intermediary | None:
        uscc = self.cleaned_data["intermediary_uscc"].strip().upper()
        if not uscc:
            return None
        firm = Intermediary.objects.filter(uscc=uscc).first()
        if firm is None:
            raise forms.ValidationError(_("未找到该统一社会信用代码的中介机构。"))
        return firm

    def service_field(self, name: str | None) -> str | None:
        """The input showing the service's error about ``name``: the service names the objects,
        the form asks for their numbers."""
        name = {"project": "project_number", "intermediary": "intermediary_uscc"}.get(name or "", name)
        return name if name in self.fields else None
