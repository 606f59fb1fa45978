from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Organisation
from marketplace.catalog.models import Department
from marketplace.core import contacts
from marketplace.procurement.models import Project
from marketplace.providers.models import Intermediary


class Category(models.TextChoices):
    FORCED_AGENCY = "forced_agency", _("指定中介")
    RELATED_PARTY = "related_party", _("红顶中介（关联关系）")
    FEES = "fees", _("违规收费")
    COMPETITION = "competition", _("竞争异常")
    PROCESS = "process", _("程序违规")


class RuleSetting(models.Model):
    """A monitoring rule's weight and thresholds (数据化的阈值), editable by operators."""

    code = models.CharField(max_length=8, unique=True)
    enabled = models.BooleanField(default=True)
    weight = models.PositiveSmallIntegerField()
    thresholds = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("监测规则设置")
        verbose_name_plural = _("监测规则设置")

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"


class RuleSettingVersion(models.Model):
    """Every version of a rule's settings, kept for the rule's page and for flags' evidence."""

    setting = models.ForeignKey(RuleSetting, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    enabled = models.BooleanField()
    weight = models.PositiveSmallIntegerField()
    thresholds = models.JSONField()
    note = models.CharField(max_length=300, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["setting", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["setting", "version"], name="rule_setting_version_unique")
        ]


class Flag(models.Model):
    """风险提示: one rule matching one subject with one piece of evidence.

    Unique per rule, subject and evidence fingerprint, so a rerun never duplicates; a flag whose
    condition has gone is marked resolved (never deleted)."""

    class Status(models.TextChoices):
        OPEN = "open", _("待核查")
        CONFIRMED = "confirmed", _("已确认")
        DISMISSED = "dismissed", _("已排除")
        RESOLVED = "resolved", _("已消除")

    class Subject(models.TextChoices):
        PROJECT = "project", _("项目")
        INTERMEDIARY = "intermediary", _("中介机构")
        OWNER = "owner", _("项目业主")
        DEPARTMENT = "department", _("部门")

    rule = models.CharField(max_length=8, db_index=True)
    category = models.CharField(max_length=20, choices=Category.choices)
    subject_type = models.CharField(max_length=20, choices=Subject.choices)
    subject_id = models.BigIntegerField()
    fingerprint = models.CharField(max_length=64)
    evidence = models.JSONField(default=dict)
    weight = models.PositiveSmallIntegerField()
    rule_version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    intermediary = models.ForeignKey(
        Intermediary, null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    owner = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-last_seen"]
        verbose_name = _("风险提示")
        verbose_name_plural = _("风险提示")
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject_type", "subject_id", "fingerprint"], name="flag_unique_evidence"
            )
        ]
        indexes = [
            models.Index(fields=["status", "rule"]),
            models.Index(fields=["project", "status"]),
            models.Index(fields=["intermediary", "status"]),
            models.Index(fields=["department", "status"]),
            # The engine loads a rule's matched flags by fingerprint.
            models.Index(fields=["rule", "fingerprint"], name="flag_rule_fingerprint"),
            # The dashboards' period filter on flags.
            models.Index(fields=["first_seen"], name="flag_first_seen"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.subject_type}:{self.subject_id}"


class MonitorRun(models.Model):
    """One run of the rules (full scan or per change), with the time each rule took."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    scope = models.JSONField(default=dict)
    summary = models.JSONField(default=dict)

    class Meta:
        ordering = ["-started_at"]


class Complaint(models.Model):
    """投诉 filed on the site, e.g. alleging that an official designated an intermediary (FA07)."""

    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.PROTECT, related_name="complaints"
    )
    intermediary = models.ForeignKey(
        Intermediary, null=True, blank=True, on_delete=models.PROTECT, related_name="complaints"
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="complaints"
    )
    alleges_designation = models.BooleanField(_("反映指定中介"), default=False)
    text = models.TextField(_("投诉内容"))
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.CharField(_("联系方式"), max_length=100, blank=True)
    filed_at = models.DateTimeField()

    class Meta:
        ordering = ["-filed_at"]


class FiledReport(models.Model):
    """An intermediary report filed with an approval case, posted by the approval system (FA06)."""

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="filed_reports")
    approval_case_number = models.CharField(max_length=60)
    investment_project_code = models.CharField(max_length=40, blank=True)
    service_type_code = models.CharField(max_length=60)
    intermediary_uscc = models.CharField(max_length=18, db_index=True)
    filed_on = models.DateField()
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["department", "approval_case_number", "service_type_code", "intermediary_uscc"],
                name="filed_report_unique",
            )
        ]
        indexes = [models.Index(fields=["approval_case_number"])]


class DepartmentStaff(models.Model):
    """A person on a department's staff roster (imported by operators), for the tie rules."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="staff")
    name = models.CharField(max_length=100)
    id_hash = models.CharField(max_length=64, db_index=True)
    position = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.CharField(max_length=200, blank=True)
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["department", "name"]
        indexes = [
            models.Index(fields=["department", "ended_on"]),
            # The related-party graph matches firms' contacts with staff members' on these keys.
            models.Index(contacts.phone_key(), name="staff_phone_key"),
            models.Index(contacts.email_key(), name="staff_email_key"),
        ]


class StaffRelative(models.Model):
    """A declared close relative of a staff member (近亲属)."""

    staff = models.ForeignKey(DepartmentStaff, on_delete=models.CASCADE, related_name="relatives")
    name = models.CharField(max_length=100)
    id_hash = models.CharField(max_length=64, db_index=True)
    relation = models.CharField(max_length=40)


class PeerStatistic(models.Model):
    """Market statistics an outlier rule computed over one peer group (fences, percentiles),
    stored by the full scan so that a per-change run compares only the changed rows with them
    instead of recomputing the whole market. ``params`` fingerprints the thresholds used: a
    threshold change makes the stored figures stale, and they are computed again."""

    rule = models.CharField(max_length=8)
    group = models.CharField(max_length=200)
    params = models.CharField(max_length=64)
    data = models.JSONField()
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "group"], name="peer_statistic_unique")]

    def __str__(self) -> str:
        return f"{self.rule} {self.group}"


class AwardTimeline(models.Model):
    """FA03's projection of the market's awards tied to a department's approval items, one row
    per non-annulled selection with a winner, numbered per department in time order (``seq``: 1,
    2, ... by ``at``, then selection). The number of a department's awards in any time range is
    then the difference of two ``seq`` values found by index, so a per-change scan counts the
    awards in a window without reading them (the largest department here has 42,000). The full
    scan rebuilds it; a per-change scan syncs its projects and every selection made since the
    last sync (``AwardTimelineState``)."""

    # Derived data, rebuilt in one statement: no foreign-key checks (selections are never
    # deleted, and the full scan rebuilds it from the source tables).
    selection = models.OneToOneField(
        "procurement.Selection",
        primary_key=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    project = models.ForeignKey(Project, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    department = models.ForeignKey(
        Department, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    intermediary = models.ForeignKey(
        Intermediary, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    service_type = models.ForeignKey(
        "catalog.ServiceType",
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    performed_at = models.DateTimeField()
    at = models.BigIntegerField()  # performed_at in whole seconds since 1970, as the windows count
    seq = models.PositiveIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["department", "at", "seq"], name="award_timeline_seq"),
            models.Index(fields=["department", "intermediary", "at"], name="award_timeline_firm"),
            models.Index(fields=["department", "service_type", "at"], name="award_timeline_type"),
        ]


class AwardTimelineState(models.Model):
    """The one row that says whether ``AwardTimeline`` was built and up to which selection it
    has taken in new awards; per-change scans lock it while they sync."""

    built_at = models.DateTimeField(null=True, blank=True)
    last_selection_id = models.BigIntegerField(default=0)


from .cases.models import (  # noqa: E402,F401  cases, credit, blacklist, inspections
    Blacklisting,
    Case,
    CaseAttachment,
    CreditDeduction,
    CreditProfile,
    ExplanationRequest,
    InspectionPlan,
    InspectionTarget,
    Inspector,
    ViolationType,
)
