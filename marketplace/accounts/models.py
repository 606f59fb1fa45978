from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    INTERMEDIARY = "intermediary", _("中介机构")
    OWNER = "owner", _("项目业主")
    DEPARTMENT = "department", _("审批/主管部门")
    REGULATOR = "regulator", _("监管部门")
    OPERATOR = "operator", _("平台运营")


# Roles that see or change other people's data: they must use two-factor authentication.
STAFF_ROLES = frozenset({Role.REGULATOR, Role.OPERATOR})
# Roles whose organisations sign themselves up; the others are created by operators.
SELF_SERVICE_ROLES = frozenset({Role.INTERMEDIARY, Role.OWNER})


class User(AbstractUser):
    """A person. Acts for one or more organisations through memberships."""

    full_name = models.CharField(_("姓名"), max_length=100, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.full_name or self.username


class Organisation(models.Model):
    """An organisation acting on the platform (机构): a firm, an owner, a department, ..."""

    name = models.CharField(_("名称"), max_length=200)
    kind = models.CharField(_("类型"), max_length=20, choices=Role.choices, db_index=True)
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, null=True, blank=True, unique=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("机构")
        verbose_name_plural = _("机构")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user acting for an organisation in the organisation's role (成员)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    is_manager = models.BooleanField(_("机构管理员"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation__name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="membership_unique_user_org")
        ]
        verbose_name = _("成员")
        verbose_name_plural = _("成员")

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation} ({self.role})"

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES
