from django.db import models
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import Organisation
from marketplace.core.i18n import BilingualNameMixin, use_english
from marketplace.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS


class QualificationType(BilingualNameMixin):
    """资质类型: a licence or registration an intermediary may hold (e.g. 测绘资质)."""

    code = models.SlugField(max_length=60, unique=True)
    authority = models.CharField(_("发证机关"), max_length=200, blank=True)
    legal_basis = models.TextField(_("设立依据"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("资质类型")
        verbose_name_plural = _("资质类型")


class QualificationLevel(BilingualNameMixin):
    """资质等级. ``rank`` 1 is the highest grade (甲级); larger numbers are lower grades."""

    qualification_type = models.ForeignKey(QualificationType, on_delete=models.CASCADE, related_name="levels")
    code = models.SlugField(max_length=40)
    rank = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["qualification_type", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["qualification_type", "code"], name="qlevel_unique_code"),
            models.UniqueConstraint(fields=["qualification_type", "rank"], name="qlevel_unique_rank"),
        ]
        verbose_name = _("资质等级")
        verbose_name_plural = _("资质等级")


class ServiceCategory(BilingualNameMixin):
    """中介服务类别 (环境评价, 测绘勘察, ...)."""

    code = models.SlugField(max_length=40, unique=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("服务类别")
        verbose_name_plural = _("服务类别")


class PricingRegime(models.TextChoices):
    GOVERNMENT_SET = "government_set", _("政府定价")
    GOVERNMENT_GUIDED = "government_guided", _("政府指导价")
    MARKET = "market", _("市场调节价")


class ServiceType(BilingualNameMixin):
    """中介服务事项: a service that an approval procedure requires, with its legal basis."""

    code = models.SlugField(max_length=60, unique=True)
    category = models.ForeignKey(ServiceCategory, on_delete=models.PROTECT, related_name="service_types")
    description = models.TextField(_("服务内容"), blank=True)
    legal_basis = models.TextField(_("设定依据"))
    pricing_regime = models.CharField(
        _("价格管理形式"), max_length=20, choices=PricingRegime.choices, default=PricingRegime.MARKET
    )
    pricing_basis = models.TextField(_("收费依据"), blank=True)
    qualification_required = models.BooleanField(
        _("须具备资质"),
        default=False,
        help_text=_("提供本服务须持有下列资质之一；否则资质为可选。"),
    )
    standard_practitioners = models.PositiveSmallIntegerField(
        _("标准从业人员数"), default=2, help_text=_("项目可要求的从业人员数上限。")
    )
    is_active = models.BooleanField(_("启用"), default=True)
    qualification_types = models.ManyToManyField(
        QualificationType, through="ServiceTypeQualification", related_name="service_types"
    )

    class Meta:
        ordering = ["category__position", "code"]
        verbose_name = _("中介服务事项")
        verbose_name_plural = _("中介服务事项")


class ServiceTypeQualification(models.Model):
    """A qualification type a service may require, and the highest level a project may ask for."""

    service_type = models.ForeignKey(
        ServiceType, on_delete=models.CASCADE, related_name="allowed_qualifications"
    )
    qualification_type = models.ForeignKey(QualificationType, on_delete=models.PROTECT, related_name="+")
    standard_level = models.ForeignKey(
        QualificationLevel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service_type", "qualification_type"], name="stq_unique")
        ]
        verbose_name = _("可要求的资质")
        verbose_name_plural = _("可要求的资质")

    def __str__(self) -> str:
        return f"{self.service_type.code}: {self.qualification_type.code}"


class PriceBand(models.Model):
    """Government fee band for a project-scale bracket (政府定价/指导价区间).

    Scale is the project's investment in 10,000 yuan (万元). A band applies where
    ``scale_from <= scale < scale_to`` (no upper end when ``scale_to`` is empty).
    """

    service_type = models.ForeignKey(ServiceType, on_delete=models.CASCADE, related_name="price_bands")
    scale_from = models.DecimalField(_("规模下限（万元）"), max_digits=14, decimal_places=2)
    scale_to = models.DecimalField(
        _("规模上限（万元）"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    fee_min = models.DecimalField(
        _("收费下限（元）"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES
    )
    fee_max = models.DecimalField(
        _("收费上限（元）"), max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES
    )
    basis = models.CharField(_("文件依据"), max_length=200, blank=True)

    class Meta:
        ordering = ["service_type", "scale_from"]
        constraints = [
            models.CheckConstraint(condition=models.Q(fee_min__gte=0), name="band_fee_min_nonneg"),
            models.CheckConstraint(
                condition=models.Q(fee_max__gte=models.F("fee_min")), name="band_fee_order"
            ),
        ]
        verbose_name = _("政府收费区间")
        verbose_name_plural = _("政府收费区间")

    def __str__(self) -> str:
        upper = self.scale_to if self.scale_to is not None else "∞"
        return f"{self.service_type.code} [{self.scale_from}, {upper}) {self.fee_min}-{self.fee_max}"


class Department(BilingualNameMixin):
    """审批/主管部门 of the city or a district."""

    code = models.SlugField(max_length=40, unique=True)
    region = models.CharField(_("行政区"), max_length=40, default="枣庄市")
    organisation = models.OneToOneField(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="department"
    )
    phone = models.CharField(_("电话"), max_length=40, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    email = models.EmailField(_("电子邮箱"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("部门")
        verbose_name_plural = _("部门")


class AffiliatedEntity(models.Model):
    """A public institution (事业单位) or association (行业协会) a department runs or supervises."""

    class Kind(models.TextChoices):
        INSTITUTION = "institution", _("所属事业单位")
        ASSOCIATION = "association", _("主管行业协会")
        ENTERPRISE = "enterprise", _("所办企业")

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="affiliates")
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("名称"), max_length=200)
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, blank=True, db_index=True)
    phone = models.CharField(_("电话"), max_length=40, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)

    class Meta:
        ordering = ["department", "name"]
        verbose_name = _("所属或主管单位")
        verbose_name_plural = _("所属或主管单位")

    def __str__(self) -> str:
        return self.name


class ApprovalItem(BilingualNameMixin):
    """审批事项 owned by a department that needs one or more intermediary services."""

    code = models.SlugField(max_length=60, unique=True)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="approval_items")
    service_types = models.ManyToManyField(ServiceType, related_name="approval_items", blank=True)

    class Meta:
        ordering = ["department", "code"]
        verbose_name = _("审批事项")
        verbose_name_plural = _("审批事项")


__all__ = [
    "AffiliatedEntity",
    "ApprovalItem",
    "Department",
    "PriceBand",
    "PricingRegime",
    "QualificationLevel",
    "QualificationType",
    "ServiceCategory",
    "ServiceType",
    "ServiceTypeQualification",
    "use_english",
]
