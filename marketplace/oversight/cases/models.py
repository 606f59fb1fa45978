"""Cases, the violation code list, credit, the blacklist and random inspections."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Organisation
from marketplace.catalog.models import Department, ServiceType
from marketplace.core.i18n import BilingualNameMixin
from marketplace.procurement.models import Project
from marketplace.providers.models import Intermediary


def _upload_to(instance, filename: str) -> str:
    import uuid
    from pathlib import PurePath

    suffix = PurePath(filename).suffix.lower()[:8]
    return f"oversight/cases/{uuid.uuid4().hex}{suffix}"


class ViolationType(BilingualNameMixin):
    """违法违规行为代码: what a confirmed violation costs (credit points, blacklist term)."""

    code = models.CharField(max_length=8, unique=True)
    deduction = models.PositiveSmallIntegerField(_("扣分"))
    blacklist_days = models.PositiveSmallIntegerField(_("列入黑名单天数"), default=0)
    disqualifying = models.BooleanField(_("否决项"), default=False)
    legal_basis = models.TextField(_("依据"))

    class Meta:
        ordering = ["code"]
        verbose_name = _("违规行为类型")
        verbose_name_plural = _("违规行为类型")


class Case(models.Model):
    """监管案件: opened from flags, a complaint or an inspection finding; concluded and published."""

    class Status(models.TextChoices):
        OPEN = "open", _("核查中")
        REMEDYING = "remedying", _("整改中")
        CLOSED = "closed", _("已办结")

    class Source(models.TextChoices):
        FLAGS = "flags", _("风险提示")
        COMPLAINT = "complaint", _("投诉")
        INSPECTION = "inspection", _("双随机抽查")

    number = models.CharField(_("案件编号"), max_length=20, unique=True)
    title = models.CharField(_("案由"), max_length=200)
    summary = models.TextField(_("立案说明"))
    source = models.CharField(_("来源"), max_length=12, choices=Source.choices)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    flags = models.ManyToManyField("oversight.Flag", blank=True, related_name="cases")
    complaint = models.ForeignKey(
        "oversight.Complaint", null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    inspection_target = models.ForeignKey(
        "oversight.InspectionTarget", null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    intermediary = models.ForeignKey(
        Intermediary, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    owner = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="owner_cases"
    )
    opened_at = models.DateTimeField()
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The conclusion (处理结论)
    violation = models.BooleanField(null=True)
    violation_type = models.ForeignKey(
        ViolationType, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    legal_basis = models.TextField(_("法律依据"), blank=True)
    conclusion = models.TextField(_("处理结论"), blank=True)
    concluded_at = models.DateTimeField(null=True, blank=True)
    concluded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    remedy_due = models.DateField(_("整改期限"), null=True, blank=True)
    remedy_report = models.TextField(_("整改报告"), blank=True)
    remedied_at = models.DateTimeField(null=True, blank=True)
    remedy_escalated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("监管案件")
        verbose_name_plural = _("监管案件")
        indexes = [
            models.Index(fields=["status", "-opened_at"]),
            models.Index(fields=["status", "-closed_at"]),
            models.Index(fields=["status", "remedy_due"]),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class ExplanationRequest(models.Model):
    """要求说明: a question to the owner or the intermediary, due in 3 working days."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待答复")
        ANSWERED = "answered", _("已答复")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="requests")
    party = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="explanation_requests")
    question = models.TextField(_("需说明的问题"))
    asked_at = models.DateTimeField()
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField(_("答复期限"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    answer = models.TextField(_("说明"), blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asked_at"]
        indexes = [
            models.Index(fields=["status", "due_on"]),
            models.Index(fields=["party", "status"]),
        ]


class CaseAttachment(models.Model):
    """A file attached to an answer (PDF, PNG or JPEG), served only to the case's readers."""

    request = models.ForeignKey(ExplanationRequest, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_upload_to)
    original_name = models.CharField(max_length=200)
    uploaded_at = models.DateTimeField()


class CreditProfile(models.Model):
    """The published credit computation of one intermediary (信用评价): components and grade."""

    intermediary = models.OneToOneField(Intermediary, on_delete=models.CASCADE, related_name="credit_profile")
    score = models.DecimalField(max_digits=5, decimal_places=2)
    grade = models.CharField(max_length=1)
    components = models.JSONField(default=dict)
    disqualifiers = models.JSONField(default=list)
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["grade"])]


class CreditDeduction(models.Model):
    """信用扣分: one public deduction with its reason, date and case."""

    intermediary = models.ForeignKey(Intermediary, on_delete=models.PROTECT, related_name="credit_deductions")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="deductions")
    violation_type = models.ForeignKey(ViolationType, on_delete=models.PROTECT, related_name="+")
    points = models.PositiveSmallIntegerField()
    reason = models.TextField()
    occurred_on = models.DateField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_on", "-pk"]
        indexes = [models.Index(fields=["intermediary", "occurred_on"])]


class Blacklisting(models.Model):
    """列入黑名单 for a term: bars applications until ``ends_on`` (inclusive), then lifts itself."""

    intermediary = models.ForeignKey(Intermediary, on_delete=models.PROTECT, related_name="blacklistings")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="blacklistings")
    violation_type = models.ForeignKey(ViolationType, on_delete=models.PROTECT, related_name="+")
    basis = models.TextField(_("依据"))
    starts_on = models.DateField(_("起始日期"))
    ends_on = models.DateField(_("截止日期"))
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_on", "-pk"]
        indexes = [
            models.Index(fields=["lifted_at", "ends_on"]),
            models.Index(fields=["intermediary", "lifted_at"]),
        ]


class Inspector(models.Model):
    """执法检查人员: a regulator's inspector on the roster the random draw picks from."""

    code = models.CharField(_("执法证号"), max_length=20, unique=True)
    name = models.CharField(_("姓名"), max_length=100)
    id_hash = models.CharField(max_length=64, db_index=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="inspectors")
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="inspectors"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class InspectionPlan(models.Model):
    """双随机抽查计划: population, sample size and inspector pool, committed before the draw."""

    class Population(models.TextChoices):
        FIRMS = "firms", _("中介机构")
        PROJECTS = "projects", _("采购项目")

    class Status(models.TextChoices):
        PUBLISHED = "published", _("已公布，待抽取")
        DRAWN = "drawn", _("已抽取，检查中")
        CONCLUDED = "concluded", _("结果已公开")

    number = models.CharField(_("计划编号"), max_length=20, unique=True)
    title = models.CharField(_("计划名称"), max_length=200)
    scope_text = models.TextField(_("检查内容"))
    population_kind = models.CharField(_("抽查对象"), max_length=10, choices=Population.choices)
    service_type = models.ForeignKey(
        ServiceType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    population = models.JSONField(default=list)  # the sorted candidate keys, frozen at publication
    sample_size = models.PositiveSmallIntegerField(_("抽取数量"))
    inspectors_per_target = models.PositiveSmallIntegerField(_("每个对象的检查人员数"), default=2)
    inspectors = models.ManyToManyField(Inspector, related_name="plans")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PUBLISHED)
    secret_commitment = models.CharField(max_length=64)
    secret = models.CharField(max_length=64, blank=True)
    published_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    drawn_at = models.DateTimeField(null=True, blank=True)
    draw_record = models.JSONField(default=dict)
    results_published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-published_at"]
        indexes = [models.Index(fields=["status", "-published_at"])]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class InspectionTarget(models.Model):
    """One drawn target, its inspectors and the finding (检查结果)."""

    class Result(models.TextChoices):
        PENDING = "pending", _("待检查")
        NO_PROBLEM = "no_problem", _("未发现问题")
        PROBLEM = "problem", _("发现问题")

    plan = models.ForeignKey(InspectionPlan, on_delete=models.CASCADE, related_name="targets")
    order = models.PositiveSmallIntegerField()
    key = models.CharField(max_length=40)
    intermediary = models.ForeignKey(
        Intermediary, null=True, blank=True, on_delete=models.PROTECT, related_name="inspections"
    )
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.PROTECT, related_name="inspections"
    )
    inspectors = models.ManyToManyField(Inspector, related_name="targets")
    result = models.CharField(max_length=12, choices=Result.choices, default=Result.PENDING)
    finding = models.TextField(_("检查结果"), blank=True)
    recorded_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["plan", "order"]
        constraints = [models.UniqueConstraint(fields=["plan", "key"], name="inspection_target_unique")]
