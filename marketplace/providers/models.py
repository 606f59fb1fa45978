from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Organisation
from marketplace.catalog.models import (
    AffiliatedEntity,
    Department,
    QualificationLevel,
    QualificationType,
    ServiceType,
)
from marketplace.core import contacts
from marketplace.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS

COMMITMENT_VERSION = "2026-1"


def _upload_to(instance, filename: str) -> str:
    # The stored name never reuses the uploader's file name (it may hold anything).
    import uuid
    from pathlib import PurePath

    suffix = PurePath(filename).suffix.lower()[:8]
    return f"providers/{instance._meta.model_name}/{uuid.uuid4().hex}{suffix}"


class Intermediary(models.Model):
    """中介机构: a qualified firm (or sole proprietor) listed in the supermarket."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("填报中")
        LISTED_UNDER_REVIEW = "listed_under_review", _("已入驻（审核中）")
        LISTED = "listed", _("已入驻")
        CHANGES_REQUESTED = "changes_requested", _("需补正")
        DELISTED = "delisted", _("已清退")

    organisation = models.OneToOneField(Organisation, on_delete=models.PROTECT, related_name="intermediary")
    name = models.CharField(_("机构名称"), max_length=200)
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    is_sole_proprietor = models.BooleanField(_("个体工商户"), default=False)
    legal_representative = models.CharField(_("法定代表人/经营者"), max_length=100, blank=True)
    legal_representative_id_hash = models.CharField(max_length=64, blank=True, db_index=True)
    address = models.CharField(_("住所"), max_length=200, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=100, blank=True)
    phone = models.CharField(_("联系电话"), max_length=40, blank=True)
    email = models.EmailField(_("电子邮箱"), blank=True)
    website = models.URLField(_("网站"), blank=True)
    description = models.TextField(_("机构简介"), blank=True)
    status = models.CharField(_("状态"), max_length=24, choices=Status.choices, default=Status.DRAFT)
    commitment_signed_at = models.DateTimeField(_("承诺书签署时间"), null=True, blank=True)
    commitment_signed_by = models.CharField(_("承诺书签署人"), max_length=100, blank=True)
    commitment_version = models.CharField(max_length=20, blank=True)
    listed_at = models.DateTimeField(_("入驻时间"), null=True, blank=True)
    review_due = models.DateField(_("形式审查期限"), null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(_("审核意见"), blank=True)
    # Written by oversight (credit and blacklist); read by procurement's eligibility check.
    credit_score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    credit_grade = models.CharField(max_length=1, blank=True)
    blacklisted_until = models.DateField(null=True, blank=True)
    # Written by procurement when ratings exist; the directory filters on it.
    rating_score = models.DecimalField(_("评价得分"), max_digits=3, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("中介机构")
        verbose_name_plural = _("中介机构")
        indexes = [
            models.Index(fields=["status", "name"]),
            models.Index(fields=["rating_score"]),
            # The related-party graph finds the firms sharing a contact with a department's staff
            # member or affiliate by these keys (oversight.graph, RP04).
            models.Index(contacts.phone_key(), name="intermediary_phone_key"),
            models.Index(contacts.email_key(), name="intermediary_email_key"),
            models.Index(contacts.address_key(), name="intermediary_address_key"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_listed(self) -> bool:
        return self.status in (self.Status.LISTED, self.Status.LISTED_UNDER_REVIEW)


PUBLIC_STATUSES = (Intermediary.Status.LISTED, Intermediary.Status.LISTED_UNDER_REVIEW)


class Qualification(models.Model):
    """资质证书 held by an intermediary."""

    intermediary = models.ForeignKey(Intermediary, on_delete=models.CASCADE, related_name="qualifications")
    qualification_type = models.ForeignKey(QualificationType, on_delete=models.PROTECT, related_name="+")
    level = models.ForeignKey(
        QualificationLevel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    number = models.CharField(_("证书编号"), max_length=80)
    authority = models.CharField(_("发证机关"), max_length=200)
    valid_from = models.DateField(_("有效期起"))
    valid_until = models.DateField(_("有效期至"))
    certificate = models.FileField(_("证书扫描件"), upload_to=_upload_to)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["qualification_type__code"]
        verbose_name = _("资质")
        verbose_name_plural = _("资质")
        constraints = [
            models.UniqueConstraint(
                fields=["qualification_type", "number"], name="qualification_unique_number"
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__gte=models.F("valid_from")), name="qualification_dates"
            ),
        ]
        indexes = [models.Index(fields=["qualification_type", "level", "valid_until"])]

    def __str__(self) -> str:
        return f"{self.qualification_type} {self.number}"


class Practitioner(models.Model):
    """从业人员 with a professional certificate and proof of social insurance."""

    intermediary = models.ForeignKey(Intermediary, on_delete=models.CASCADE, related_name="practitioners")
    name = models.CharField(_("姓名"), max_length=100)
    id_hash = models.CharField(max_length=64, db_index=True)
    id_last4 = models.CharField(max_length=4, blank=True)
    title = models.CharField(_("职称/执业资格"), max_length=100)
    certificate_number = models.CharField(_("证书编号"), max_length=80)
    certificate = models.FileField(_("执业证书"), upload_to=_upload_to)
    insured_since = models.DateField(_("本单位社保缴纳起始月"))
    social_insurance_proof = models.FileField(_("近3个月社保缴纳证明"), upload_to=_upload_to)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("从业人员")
        verbose_name_plural = _("从业人员")
        constraints = [
            models.UniqueConstraint(fields=["intermediary", "id_hash"], name="practitioner_unique_person"),
        ]

    def __str__(self) -> str:
        return self.name


class Shareholder(models.Model):
    """股东: a person (ID stored as a keyed hash) or a firm (USCC), with its share in percent."""

    class Kind(models.TextChoices):
        PERSON = "person", _("自然人")
        FIRM = "firm", _("企业/机构")

    intermediary = models.ForeignKey(Intermediary, on_delete=models.CASCADE, related_name="shareholders")
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("名称/姓名"), max_length=200)
    id_hash = models.CharField(max_length=64, blank=True, db_index=True)
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, blank=True, db_index=True)
    share = models.DecimalField(_("持股比例（%）"), max_digits=6, decimal_places=3)

    class Meta:
        ordering = ["-share", "name"]
        verbose_name = _("股东")
        verbose_name_plural = _("股东")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(share__gt=0, share__lte=100), name="shareholder_share_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.share}%"


class DeclaredTie(models.Model):
    """A tie the intermediary itself declares with a department (关联关系申报)."""

    class Kind(models.TextChoices):
        AFFILIATED = "affiliated", _("部门所属或主管单位出资/举办")
        FORMER_STAFF = "former_staff", _("人员曾在该部门任职")
        CURRENT_STAFF = "current_staff", _("人员现在该部门任职或兼职")
        RELATIVE = "relative", _("人员系部门工作人员近亲属")
        OTHER = "other", _("其他关联")

    intermediary = models.ForeignKey(Intermediary, on_delete=models.CASCADE, related_name="declared_ties")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="declared_ties")
    affiliate = models.ForeignKey(
        AffiliatedEntity, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("关联类型"), max_length=20, choices=Kind.choices)
    person_name = models.CharField(_("相关人员"), max_length=100, blank=True)
    ended_on = models.DateField(_("关系终止日期"), null=True, blank=True)
    description = models.TextField(_("说明"))
    declared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["department__code"]
        verbose_name = _("申报的关联关系")
        verbose_name_plural = _("申报的关联关系")

    def __str__(self) -> str:
        return f"{self.intermediary} ~ {self.department}"


class Offer(models.Model):
    """服务项目: what an intermediary offers for one service type. Fees live in versions."""

    intermediary = models.ForeignKey(Intermediary, on_delete=models.CASCADE, related_name="offers")
    service_type = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="offers")
    description = models.TextField(_("服务说明"))
    included = models.TextField(_("服务包含内容"))
    service_days = models.PositiveSmallIntegerField(_("服务时限（工作日）"))
    practitioners = models.ManyToManyField(Practitioner, blank=True, related_name="offers")
    qualifications = models.ManyToManyField(Qualification, blank=True, related_name="offers")
    is_active = models.BooleanField(_("上架"), default=True)
    current_fee = models.OneToOneField(
        "FeeSchedule", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service_type__code"]
        verbose_name = _("服务项目")
        verbose_name_plural = _("服务项目")
        constraints = [
            models.UniqueConstraint(fields=["intermediary", "service_type"], name="offer_unique_service"),
        ]
        indexes = [
            models.Index(fields=["service_type", "is_active"]),
            # The firms offering a service type, in firm order (who else could have won: the
            # monitoring rules' "had rivals").
            models.Index(
                fields=["service_type", "intermediary"],
                condition=models.Q(is_active=True),
                name="offer_active_type_firm",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.intermediary} · {self.service_type}"


class FeeSchedule(models.Model):
    """收费标准, one immutable version. A change creates the next version; history is public."""

    class Basis(models.TextChoices):
        FIXED = "fixed", _("固定收费")
        PER_UNIT = "per_unit", _("按计费单位")
        PERCENT = "percent", _("按投资额比例")

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="fee_versions")
    version = models.PositiveIntegerField()
    basis = models.CharField(_("计费方式"), max_length=10, choices=Basis.choices)
    rate = models.DecimalField(_("费率/单价"), max_digits=MONEY_MAX_DIGITS, decimal_places=4)
    unit = models.CharField(_("计费单位"), max_length=40, blank=True)
    fee_min = models.DecimalField(
        _("最低收费（元）"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES
    )
    fee_max = models.DecimalField(
        _("最高收费（元）"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES
    )
    note = models.CharField(_("变更说明"), max_length=200, blank=True)
    effective_from = models.DateTimeField(_("生效时间"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["offer", "-version"]
        verbose_name = _("收费标准")
        verbose_name_plural = _("收费标准")
        constraints = [
            models.UniqueConstraint(fields=["offer", "version"], name="fee_unique_version"),
            models.CheckConstraint(condition=models.Q(rate__gte=0, fee_min__gte=0), name="fee_nonnegative"),
            models.CheckConstraint(condition=models.Q(fee_max__gte=models.F("fee_min")), name="fee_order"),
        ]
        indexes = [models.Index(fields=["fee_min", "fee_max"])]

    def __str__(self) -> str:
        return f"{self.offer} v{self.version}"
