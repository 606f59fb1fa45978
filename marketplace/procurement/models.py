from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Organisation
from marketplace.catalog.models import (
    ApprovalItem,
    Department,
    QualificationLevel,
    QualificationType,
    ServiceType,
)
from marketplace.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from marketplace.providers.models import Intermediary

MONEY = {"max_digits": MONEY_MAX_DIGITS, "decimal_places": MONEY_DECIMAL_PLACES}


class FundingSource(models.TextChoices):
    FISCAL = "fiscal", _("财政资金")
    PRIVATE = "private", _("非财政资金")


class Method(models.TextChoices):
    DIRECT = "direct", _("直接选取")
    RANDOM_DRAW = "random_draw", _("随机抽取")
    LOWEST_PRICE = "lowest_price", _("竞价选取（最低价）")
    REFERENCE_PRICE = "reference_price", _("竞价选取（最优价）")
    CREDIT_PREFERENCE = "credit_preference", _("信用择优")
    SCORED_COMPARISON = "scored_comparison", _("比选（方案择优）")


class Status(models.TextChoices):
    DRAFT = "draft", _("草稿")
    UNDER_CHECK = "under_check", _("待审核")
    RETURNED = "returned", _("已退回")
    PUBLISHED = "published", _("报名中")
    REGISTRATION_CLOSED = "registration_closed", _("报名截止")
    SELECTING = "selecting", _("选取中")
    SELECTED = "selected", _("结果公示")
    OBJECTION_PENDING = "objection_pending", _("异议处理中")
    CONTRACTING = "contracting", _("签订合同")
    IN_SERVICE = "in_service", _("服务中")
    DELIVERED = "delivered", _("已交付")
    ACCEPTED = "accepted", _("已验收")
    RATED = "rated", _("已评价")
    CLOSED = "closed", _("已完结")
    CANCELLED = "cancelled", _("已取消")
    FAILED = "failed", _("流标")
    RELAUNCHED = "relaunched", _("已重新发布")


# Until registration closes nobody (operator and regulator included) learns who applied.
SEALED_STATUSES = frozenset({"draft", "under_check", "returned", "published", "cancelled"})

PUBLIC_STATUSES = [s for s in Status.values if s not in (Status.DRAFT, Status.UNDER_CHECK, Status.RETURNED)]


class Project(models.Model):
    """采购项目: an owner's request for an intermediary service, published as 采购公告."""

    public_number = models.CharField(_("项目编号"), max_length=32, unique=True)
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="projects")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("项目名称"), max_length=200)
    service_type = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="projects")
    investment_project_code = models.CharField(_("投资项目代码"), max_length=40, blank=True)
    approval_case_number = models.CharField(_("审批事项办件号"), max_length=60, blank=True)
    approval_item = models.ForeignKey(
        ApprovalItem, null=True, blank=True, on_delete=models.PROTECT, related_name="projects"
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="projects"
    )
    funding_source = models.CharField(_("资金来源"), max_length=10, choices=FundingSource.choices)
    scale = models.DecimalField(_("项目规模（投资额，万元）"), max_digits=14, decimal_places=2)
    price_floor = models.DecimalField(_("最低限价（元）"), **MONEY)
    price_ceiling = models.DecimalField(_("最高限价（元）"), **MONEY)
    service_content = models.TextField(_("服务内容"))
    service_days = models.PositiveSmallIntegerField(_("服务时限（工作日）"))
    required_practitioners = models.PositiveSmallIntegerField(_("要求从业人员数"), default=0)
    qualification_rule = models.CharField(
        _("资质要求组合"),
        max_length=3,
        choices=[("any", _("具备其一即可")), ("all", _("须全部具备"))],
        default="any",
    )
    method = models.CharField(_("选取方式"), max_length=20, choices=Method.choices)
    method_reason = models.TextField(_("选取方式说明/直接选取理由"), blank=True)
    price_weight = models.PositiveSmallIntegerField(_("价格分权重（%）"), default=0)
    registration_deadline = models.DateTimeField(_("报名截止时间"))
    selection_time = models.DateTimeField(_("选取时间"))
    status = models.CharField(_("状态"), max_length=24, choices=Status.choices, default=Status.DRAFT)
    check_note = models.TextField(_("审核意见"), blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    # Commit-reveal: the SHA-256 of the secret is public from publication; the secret is
    # revealed at the draw. The quote key seals quotes until registration closes.
    secret_commitment = models.CharField(max_length=64, blank=True)
    secret = models.CharField(max_length=64, blank=True)
    secret_revealed_at = models.DateTimeField(null=True, blank=True)
    quote_key_wrapped = models.TextField(blank=True)
    relaunch_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="relaunches"
    )
    result_published_at = models.DateTimeField(null=True, blank=True)
    publicity_ends_on = models.DateField(null=True, blank=True)
    contract_due = models.DateField(null=True, blank=True)
    delivery_due = models.DateField(null=True, blank=True)
    acceptance_due = models.DateField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-published_at", "-pk"]
        verbose_name = _("采购项目")
        verbose_name_plural = _("采购项目")
        indexes = [
            models.Index(fields=["status", "-published_at"]),
            models.Index(fields=["service_type", "status"]),
            models.Index(fields=["department", "status"]),
            models.Index(fields=["method", "status"]),
            models.Index(fields=["owner", "status"]),
            models.Index(fields=["registration_deadline"]),
            # FA06 looks up the platform project of each filed report's case and service type.
            models.Index(fields=["approval_case_number", "service_type"], name="project_case_service"),
            # The OCDS feed's --since/--until window (projects changed in a period).
            models.Index(fields=["updated_at"], name="project_updated_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price_ceiling__gte=models.F("price_floor")), name="project_price_order"
            ),
            models.CheckConstraint(condition=models.Q(price_floor__gte=0), name="project_price_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.public_number} {self.title}"

    @property
    def applicants_disclosed(self) -> bool:
        """Who applied, how many, and what they quoted become public when registration closes
        (the unsealing step); a project cancelled during registration never discloses them."""
        return self.status not in SEALED_STATUSES


class Requirement(models.Model):
    """A structured qualification requirement (资质要求), never free text."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="requirements")
    qualification_type = models.ForeignKey(QualificationType, on_delete=models.PROTECT, related_name="+")
    min_level = models.ForeignKey(
        QualificationLevel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["project", "qualification_type"], name="req_unique")]
        verbose_name = _("资质要求")
        verbose_name_plural = _("资质要求")


class Exclusion(models.Model):
    """回避: a firm the owner excludes for a conflict of interest, with the reason."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exclusions")
    intermediary = models.ForeignKey(Intermediary, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("回避理由"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "intermediary"], name="exclusion_unique")]
        verbose_name = _("回避")
        verbose_name_plural = _("回避")


class Application(models.Model):
    """报名 with a sealed quote. The amount is stored encrypted until registration closes,
    then unsealed into ``quote_amount`` for the selection and the public record."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", _("已报名")
        WITHDRAWN = "withdrawn", _("已撤回")
        VALID = "valid", _("有效")
        DISQUALIFIED = "disqualified", _("无效")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="applications")
    intermediary = models.ForeignKey(Intermediary, on_delete=models.PROTECT, related_name="applications")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField()
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    sealed_quote = models.TextField()
    quote_amount = models.DecimalField(null=True, blank=True, **MONEY)
    proposal = models.TextField(_("服务方案"), blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.SUBMITTED)
    disqualification_reason = models.TextField(blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    credit_score_at_close = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["submitted_at"]
        verbose_name = _("报名")
        verbose_name_plural = _("报名")
        constraints = [
            models.UniqueConstraint(fields=["project", "intermediary"], name="application_unique_firm"),
        ]
        indexes = [models.Index(fields=["intermediary", "state"]), models.Index(fields=["project", "state"])]

    def __str__(self) -> str:
        return f"{self.project.public_number} · {self.intermediary}"


class Selection(models.Model):
    """选取结果 of one round: every input and output of the method, so anyone can recompute it.
    One per project round; a draw can never be rerun (unique on project and round)."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="selections")
    round = models.PositiveSmallIntegerField(default=1)
    method = models.CharField(max_length=20, choices=Method.choices)
    performed_at = models.DateTimeField()
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    secret = models.CharField(max_length=64, blank=True)
    candidates = models.JSONField(default=list)
    details = models.JSONField(default=dict)
    winner = models.ForeignKey(Application, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    annulled = models.BooleanField(default=False)

    class Meta:
        ordering = ["project", "round"]
        constraints = [models.UniqueConstraint(fields=["project", "round"], name="selection_unique_round")]
        verbose_name = _("选取结果")
        verbose_name_plural = _("选取结果")


class EvaluatorScore(models.Model):
    """A named evaluator's proposal score (比选), recorded before the comparison."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="scores")
    evaluator = models.CharField(_("评审人"), max_length=100)
    score = models.DecimalField(_("方案得分"), max_digits=5, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["application", "evaluator"], name="score_unique")]


class Objection(models.Model):
    """异议 filed by an applicant during the result publicity."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("待答复")
        REJECTED = "rejected", _("不成立")
        UPHELD = "upheld", _("成立")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="objections")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="objections")
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("异议内容"))
    filed_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    answer = models.TextField(_("答复"), blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)


class Contract(models.Model):
    """合同: amount equals the winning quote unless an amendment with a reason says otherwise."""

    project = models.OneToOneField(Project, on_delete=models.PROTECT, related_name="contract")
    intermediary = models.ForeignKey(Intermediary, on_delete=models.PROTECT, related_name="contracts")
    amount = models.DecimalField(_("合同金额（元）"), **MONEY)
    document = models.FileField(_("合同文本"), upload_to="contracts/")
    uploaded_by_org = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    pay_after_acceptance = models.BooleanField(_("验收后付款"), default=True)

    class Meta:
        verbose_name = _("合同")
        verbose_name_plural = _("合同")


class Amendment(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="amendments")
    old_amount = models.DecimalField(**MONEY)
    new_amount = models.DecimalField(**MONEY)
    reason = models.TextField(_("变更理由"))
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")


class Delivery(models.Model):
    """A delivered result (服务成果) and the owner's decision on it."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("待验收")
        ACCEPTED = "accepted", _("验收通过")
        RETURNED = "returned", _("退回修改")

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="deliveries")
    document = models.FileField(_("成果文件"), upload_to="deliveries/")
    note = models.TextField(_("说明"), blank=True)
    delivered_at = models.DateTimeField()
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decision_reason = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["delivered_at"]


class Rating(models.Model):
    """好差评: the owner rates the firm, or the firm rates the owner, once per project."""

    class Direction(models.TextChoices):
        OWNER_RATES_FIRM = "owner_rates_firm", _("业主评价中介")
        FIRM_RATES_OWNER = "firm_rates_owner", _("中介评价业主")

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="ratings")
    direction = models.CharField(max_length=20, choices=Direction.choices)
    scores = models.JSONField()
    overall = models.DecimalField(max_digits=3, decimal_places=2)
    comment = models.TextField(blank=True)
    amount = models.DecimalField(**MONEY)
    created_at = models.DateTimeField()
    dispute_reason = models.TextField(blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)
    dispute_outcome = models.CharField(max_length=10, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "direction"], name="rating_once")]


class WalkAway(models.Model):
    """A winner that declined or missed the contract deadline (credit violation)."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="walkaways")
    intermediary = models.ForeignKey(Intermediary, on_delete=models.PROTECT, related_name="walkaways")
    reason = models.TextField()
    recorded_at = models.DateTimeField()


class Notification(models.Model):
    """站内通知 for a step an organisation must act on."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="notifications")
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "read_at"])]


class Escalation(models.Model):
    """An overdue step reported to the parties and the regulators (once per project and kind)."""

    class Kind(models.TextChoices):
        CONTRACT_OVERDUE = "contract_overdue", _("合同逾期未签订")
        DELIVERY_LATE = "delivery_late", _("服务逾期")
        DELIVERY_SERIOUSLY_LATE = "delivery_seriously_late", _("服务逾期超过10个工作日")
        ACCEPTANCE_OVERDUE = "acceptance_overdue", _("验收逾期")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="escalations")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "kind"], name="escalation_once")]
