"""Forms of the owners' and firms' workspace. They parse input only: every business rule
(thresholds, bands, periods, requirement limits) is checked by the services."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.catalog.models import ApprovalItem, QualificationLevel, QualificationType, ServiceType
from marketplace.core.forms import Form
from marketplace.providers.models import Intermediary

from . import selectors_workspace
from .models import FundingSource, Method, Project
from .services import ProjectInput

REQUIREMENT_ROWS = 4
EXCLUSION_ROWS = 3
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
ACCEPT_PDF = {"accept": ".pdf,application/pdf"}


class DateTimeInput(forms.DateTimeInput):
    """A browser date-and-time picker; the value is local time (Asia/Shanghai)."""

    input_type = "datetime-local"

    def __init__(self, attrs=None, format=DATETIME_LOCAL):  # noqa: A002 - Django's argument name
        super().__init__(attrs, format)


def datetime_field(label, **kwargs) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        widget=DateTimeInput,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        **kwargs,
    )


def _bootstrap(form: forms.Form, names) -> None:
    """Bootstrap classes for fields added after ``BootstrapFormMixin`` ran."""
    for name in names:
        widget = form.fields[name].widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select | forms.SelectMultiple):
            css = "form-select"
        else:
            css = "form-control"
        widget.attrs["class"] = css


def _thresholds_help() -> str:
    t = settings.DIRECT_SELECTION_THRESHOLDS
    return str(
        _(
            "直接选取仅适用于最高限价低于：财政资金 %(fiscal)s 元，非财政资金 %(private)s 元，且须书面说明理由。"
        )
        % {"fiscal": t["fiscal"], "private": t["private"]}
    )


def _registration_help() -> str:
    return str(
        _("自平台审核发布之日起，报名期不少于 %(n)s 个工作日（北京时间）。")
        % {"n": settings.REGISTRATION_MIN_WORKING_DAYS}
    )


class ProjectForm(Form):
    """采购公告: every field of DESIGN 3 step 3, requirements and exclusions as numbered rows."""

    title = forms.CharField(label=_("项目名称"), max_length=200)
    service_type = forms.ModelChoiceField(
        label=_("服务事项"),
        queryset=ServiceType.objects.filter(is_active=True).select_related("category"),
    )
    investment_project_code = forms.CharField(
        label=_("投资项目代码"), max_length=40, required=False, help_text=_("有投资项目代码的请填写。")
    )
    approval_case_number = forms.CharField(label=_("审批事项办件号"), max_length=60, required=False)
    approval_item = forms.ModelChoiceField(
        label=_("审批事项"),
        queryset=ApprovalItem.objects.select_related("department"),
        required=False,
        help_text=_("选择需要本项中介服务的审批事项，审批部门随之确定。"),
    )
    funding_source = forms.ChoiceField(label=_("资金来源"), choices=FundingSource.choices)
    scale = forms.DecimalField(
        label=_("项目规模（投资额，万元）"), max_digits=14, decimal_places=2, min_value=0
    )
    price_floor = forms.DecimalField(label=_("最低限价（元）"), max_digits=14, decimal_places=2)
    price_ceiling = forms.DecimalField(label=_("最高限价（元）"), max_digits=14, decimal_places=2)
    service_content = forms.CharField(
        label=_("服务内容"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("写明服务范围和成果要求；不得设置地域、行业等限制。"),
    )
    service_days = forms.IntegerField(label=_("服务时限（工作日）"), min_value=1, max_value=720)
    required_practitioners = forms.IntegerField(
        label=_("要求从业人员数"),
        min_value=0,
        initial=0,
        help_text=_("不得超过该服务事项的标准人数。"),
    )
    qualification_rule = forms.ChoiceField(
        label=_("资质要求组合"),
        choices=[("any", _("具备其一即可")), ("all", _("须全部具备"))],
        initial="any",
        widget=forms.RadioSelect,
    )
    method = forms.ChoiceField(label=_("选取方式"), choices=[("", "---------"), *Method.choices])
    method_reason = forms.CharField(
        label=_("选取方式说明/直接选取理由"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    price_weight = forms.IntegerField(
        label=_("价格分权重（%）"),
        min_value=0,
        max_value=100,
        required=False,
        help_text=_("仅比选（方案择优）：10%至90%，与方案分权重之和为100%，随公告公布。"),
    )
    registration_deadline = datetime_field(_("报名截止时间"))
    selection_time = datetime_field(_("选取时间"), help_text=_("不得早于报名截止时间。"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].help_text = _thresholds_help()
        self.fields["registration_deadline"].help_text = _registration_help()
        self.fields["approval_item"].label_from_instance = lambda i: f"{i.name}（{i.department.name}）"
        types = [(q.pk, q.name) for q in QualificationType.objects.order_by("code")]
        levels: dict[str, list[tuple[int, str]]] = {}
        for level in QualificationLevel.objects.select_related("qualification_type").order_by(
            "qualification_type__code", "rank"
        ):
            levels.setdefault(level.qualification_type.name, []).append((level.pk, level.name))
        firms = selectors_workspace.listed_firm_choices()
        blank = [("", "---------")]
        for i in range(1, REQUIREMENT_ROWS + 1):
            self.fields[f"req_{i}_type"] = forms.TypedChoiceField(
                label=_("资质类型"), choices=blank + types, coerce=int, required=False, empty_value=None
            )
            self.fields[f"req_{i}_level"] = forms.TypedChoiceField(
                label=_("最低等级"),
                choices=blank + list(levels.items()),
                coerce=int,
                required=False,
                empty_value=None,
                help_text=_("留空表示不限等级"),
            )
        for i in range(1, EXCLUSION_ROWS + 1):
            self.fields[f"exc_{i}_firm"] = forms.TypedChoiceField(
                label=_("回避机构"), choices=blank + firms, coerce=int, required=False, empty_value=None
            )
            self.fields[f"exc_{i}_uscc"] = forms.CharField(
                label=_("或填写统一社会信用代码"), max_length=30, required=False
            )
            self.fields[f"exc_{i}_reason"] = forms.CharField(
                label=_("回避理由"), max_length=500, required=False
            )
        _bootstrap(self, [n for n in self.fields if n.startswith(("req_", "exc_"))])
        # Group errors from the services ("requirements", "exclusions") shown in their fieldsets.
        self.group_errors: dict[str, list[str]] = {"requirements": [], "exclusions": []}

    # Rows, for the template.
    @property
    def requirement_rows(self):
        return [(i, self[f"req_{i}_type"], self[f"req_{i}_level"]) for i in range(1, REQUIREMENT_ROWS + 1)]

    @property
    def exclusion_rows(self):
        return [
            (i, self[f"exc_{i}_firm"], self[f"exc_{i}_uscc"], self[f"exc_{i}_reason"])
            for i in range(1, EXCLUSION_ROWS + 1)
        ]

    MAIN_FIELDS = (
        "title",
        "service_type",
        "investment_project_code",
        "approval_case_number",
        "approval_item",
        "funding_source",
        "scale",
        "price_floor",
        "price_ceiling",
        "service_content",
        "service_days",
        "required_practitioners",
        "qualification_rule",
        "method",
        "method_reason",
        "price_weight",
        "registration_deadline",
        "selection_time",
    )

    def field_group(self, *names):
        return [self[n] for n in names]

    def clean(self):
        cleaned = super().clean()
        type_ids = [cleaned.get(f"req_{i}_type") for i in range(1, REQUIREMENT_ROWS + 1)]
        level_ids = [cleaned.get(f"req_{i}_level") for i in range(1, REQUIREMENT_ROWS + 1)]
        types = QualificationType.objects.in_bulk([t for t in type_ids if t])
        levels = QualificationLevel.objects.in_bulk([lv for lv in level_ids if lv])
        requirements = []
        for i, (type_id, level_id) in enumerate(zip(type_ids, level_ids, strict=True), start=1):
            if level_id and not type_id:
                self.add_error(f"req_{i}_type", _("请选择资质类型。"))
                continue
            if type_id:
                requirements.append((types[type_id], levels.get(level_id) if level_id else None))
        cleaned["requirements"] = requirements
        exclusions = []
        chosen = {cleaned.get(f"exc_{i}_firm") for i in range(1, EXCLUSION_ROWS + 1)} - {None}
        firms = Intermediary.objects.in_bulk(list(chosen))
        for i in range(1, EXCLUSION_ROWS + 1):
            firm_id = cleaned.get(f"exc_{i}_firm")
            uscc = (cleaned.get(f"exc_{i}_uscc") or "").strip().upper()
            reason = cleaned.get(f"exc_{i}_reason") or ""
            firm = firms.get(firm_id) if firm_id else None
            if uscc:
                by_code = selectors_workspace.firm_by_uscc(uscc)
                if by_code is None:
                    self.add_error(
                        f"exc_{i}_uscc", _("平台上没有统一社会信用代码为 %(c)s 的机构。") % {"c": uscc}
                    )
                    continue
                if firm is not None and firm.pk != by_code.pk:
                    self.add_error(f"exc_{i}_uscc", _("所填代码与所选机构不一致。"))
                    continue
                firm = by_code
            if firm is None:
                if reason.strip():
                    self.add_error(f"exc_{i}_firm", _("请选择回避机构或填写其统一社会信用代码。"))
                continue
            exclusions.append((firm, reason))
        cleaned["exclusions"] = exclusions
        return cleaned

    def project_input(self) -> ProjectInput:
        d = self.cleaned_data
        return ProjectInput(
            title=d["title"],
            service_type=d["service_type"],
            funding_source=d["funding_source"],
            scale=d["scale"],
            price_floor=d["price_floor"],
            price_ceiling=d["price_ceiling"],
            service_content=d["service_content"],
            service_days=d["service_days"],
            method=d["method"],
            method_reason=d.get("method_reason") or "",
            price_weight=d.get("price_weight") or 0,
            registration_deadline=d["registration_deadline"],
            selection_time=d["selection_time"],
            investment_project_code=d.get("investment_project_code") or "",
            approval_case_number=d.get("approval_case_number") or "",
            approval_item=d.get("approval_item"),
            required_practitioners=d.get("required_practitioners") or 0,
            qualification_rule=d["qualification_rule"],
            requirements=d["requirements"],
            exclusions=d["exclusions"],
        )

    @staticmethod
    def initial_for(project: Project) -> dict:
        initial = {
            name: getattr(project, name)
            for name in ProjectForm.MAIN_FIELDS
            if name not in ("service_type", "approval_item")
        }
        initial["service_type"] = project.service_type_id
        initial["approval_item"] = project.approval_item_id
        initial["registration_deadline"] = timezone.localtime(project.registration_deadline)
        initial["selection_time"] = timezone.localtime(project.selection_time)
        for i, r in enumerate(project.requirements.order_by("pk")[:REQUIREMENT_ROWS], start=1):
            initial[f"req_{i}_type"] = r.qualification_type_id
            initial[f"req_{i}_level"] = r.min_level_id
        for i, e in enumerate(project.exclusions.order_by("pk")[:EXCLUSION_ROWS], start=1):
            initial[f"exc_{i}_firm"] = e.intermediary_id
            initial[f"exc_{i}_reason"] = e.reason
        return initial


# --- the project page: one small form per action ----------------------------------------------


class ConfirmForm(Form):
    """A button-only action; its errors come from the service."""


class ReasonForm(Form):
    reason = forms.CharField(label=_("理由"), widget=forms.Textarea(attrs={"rows": 2}))


class RelaunchForm(Form):
    registration_deadline = datetime_field(_("新的报名截止时间"))
    selection_time = datetime_field(_("新的选取时间"))
    method = forms.ChoiceField(
        label=_("选取方式"),
        choices=[("", _("不变"))] + list(Method.choices),
        required=False,
        help_text=_("可按规定改变选取方式；其余内容与原公告相同。"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["registration_deadline"].help_text = _registration_help()


class PickForm(Form):
    application = forms.TypedChoiceField(label=_("选定机构"), coerce=int, widget=forms.RadioSelect)
    reason = forms.CharField(label=_("选定理由"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["application"].choices = [(a.pk, a.intermediary.name) for a in candidates]


class ScoresForm(Form):
    """One evaluator name and score per valid application (比选)."""

    def __init__(self, *args, applications=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.applications = list(applications)
        for a in self.applications:
            self.fields[f"evaluator_{a.pk}"] = forms.CharField(label=_("评审人"), max_length=100)
            self.fields[f"score_{a.pk}"] = forms.DecimalField(
                label=_("方案得分"), min_value=0, max_value=100, max_digits=5, decimal_places=2
            )
        _bootstrap(self, self.fields)

    @property
    def rows(self):
        return [(a, self[f"evaluator_{a.pk}"], self[f"score_{a.pk}"]) for a in self.applications]

    def scores(self):
        d = self.cleaned_data
        return [(a, d[f"evaluator_{a.pk}"], d[f"score_{a.pk}"]) for a in self.applications]


class ObjectionAnswerForm(Form):
    upheld = forms.TypedChoiceField(
        label=_("答复结论"),
        choices=[("0", _("异议不成立")), ("1", _("异议成立（撤销中选结果）"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    answer = forms.CharField(label=_("答复内容"), widget=forms.Textarea(attrs={"rows": 2}))


class ObjectionForm(Form):
    text = forms.CharField(label=_("异议内容和理由"), widget=forms.Textarea(attrs={"rows": 3}))


class ContractForm(Form):
    document = forms.FileField(
        label=_("已签署的合同（PDF）"), widget=forms.ClearableFileInput(attrs=ACCEPT_PDF)
    )
    pay_after_acceptance = forms.BooleanField(label=_("验收合格后付款"), required=False, initial=True)


class AmendForm(Form):
    new_amount = forms.DecimalField(label=_("变更后金额（元）"), max_digits=14, decimal_places=2)
    reason = forms.CharField(label=_("变更理由"), widget=forms.Textarea(attrs={"rows": 2}))


class DeliveryForm(Form):
    document = forms.FileField(label=_("服务成果（PDF）"), widget=forms.ClearableFileInput(attrs=ACCEPT_PDF))
    note = forms.CharField(label=_("说明"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class DeliveryDecisionForm(Form):
    accept = forms.TypedChoiceField(
        label=_("验收结论"),
        choices=[("1", _("验收通过")), ("0", _("退回修改"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("意见"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("退回修改须说明理由。"),
    )


SCORE_CHOICES = [
    ("", "---------"),
    ("5", _("5 分 · 很好")),
    ("4", _("4 分 · 较好")),
    ("3", _("3 分 · 一般")),
    ("2", _("2 分 · 较差")),
    ("1", _("1 分 · 很差")),
]
OWNER_CRITERIA = {
    "quality": _("服务质量"),
    "timeliness": _("服务时效"),
    "attitude": _("服务态度"),
    "fee_compliance": _("收费规范"),
    "conduct": _("廉洁自律"),
}
FIRM_CRITERIA = {
    "payment_timeliness": _("按约付款"),
    "non_interference": _("不干预独立执业"),
}


class RatingForm(Form):
    comment = forms.CharField(label=_("评价意见"), widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, criteria: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        scored = {
            key: forms.ChoiceField(label=label, choices=SCORE_CHOICES) for key, label in criteria.items()
        }
        self.fields = {**scored, **self.fields}
        _bootstrap(self, scored)

    def scores(self) -> dict[str, str]:
        return {key: self.cleaned_data[key] for key in self.criteria}


# --- the firm's application -------------------------------------------------------------------


class ApplicationForm(Form):
    quote = forms.DecimalField(label=_("报价（元）"), max_digits=14, decimal_places=2, min_value=0)
    proposal = forms.CharField(
        label=_("服务方案"),
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text=_("比选项目由评审人按服务方案评分。"),
    )

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quote"].help_text = _(
            "须在 %(lo)s 元至 %(hi)s 元之间。报价加密保存，报名截止前任何人（包括平台）都无法查看。"
        ) % {"lo": project.price_floor, "hi": project.price_ceiling}
        if project.method == Method.SCORED_COMPARISON:
            self.fields["proposal"].required = True
        else:
            self.fields["proposal"].help_text = _("选填。")
