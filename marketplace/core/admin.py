"""The admin is the operators' back office for reference data (catalogue, calendar).

Only people with an operator membership and a verified second factor get in; every change made
here writes an audit event in the same transaction as the change.
"""

from django.contrib import admin
from django_otp.admin import OTPAdminSite

from marketplace.core.audit import audit_record, snapshot

from .models import AuditEvent, CalendarDay, CalendarYear


def is_operator(user) -> bool:
    if not (user.is_active and user.is_authenticated):
        return False
    return user.is_superuser or user.memberships.filter(role="operator").exists()


class OperatorAdminSite(OTPAdminSite):
    site_header = "枣庄市网上中介服务超市 · 运营后台"
    site_title = "运营后台"
    index_title = "目录与参数维护"

    def has_permission(self, request):
        return is_operator(request.user) and request.user.is_verified()

    def login(self, request, extra_context=None):
        # One login page for the whole site (with throttling and the 2FA step).
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.GET.get("next") or "/admin/")


class AuditedModelAdmin(admin.ModelAdmin):
    """Operators may edit; every save and delete is audited."""

    def has_module_permission(self, request):
        return is_operator(request.user)

    def has_view_permission(self, request, obj=None):
        return is_operator(request.user)

    def has_add_permission(self, request):
        return is_operator(request.user)

    def has_change_permission(self, request, obj=None):
        return is_operator(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_operator(request.user)

    def save_model(self, request, obj, form, change):
        before = snapshot(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else None
        super().save_model(request, obj, form, change)
        action = f"{obj._meta.label_lower}.{'update' if change else 'create'}"
        audit_record(actor=request.user, action=action, obj=obj, before=before, after=snapshot(obj))

    def delete_model(self, request, obj):
        before, pk = snapshot(obj), obj.pk
        super().delete_model(request, obj)
        audit_record(
            actor=request.user,
            action=f"{obj._meta.label_lower}.delete",
            object_type=obj._meta.label_lower,
            object_id=pk,
            before=before,
        )

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class ReadOnlyAdmin(AuditedModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


site = OperatorAdminSite(name="admin")


@admin.register(CalendarDay, site=site)
class CalendarDayAdmin(AuditedModelAdmin):
    list_display = ("date", "kind", "name")
    list_filter = ("kind",)
    date_hierarchy = "date"


@admin.register(CalendarYear, site=site)
class CalendarYearAdmin(AuditedModelAdmin):
    list_display = ("year", "source")


@admin.register(AuditEvent, site=site)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "created_at", "actor_label", "action", "object_type", "object_id")
    list_filter = ("action",)
    search_fields = ("object_id", "actor_label", "request_id")
