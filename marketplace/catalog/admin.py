from django.contrib import admin

from marketplace.core.admin import AuditedModelAdmin, site

from .models import (
    AffiliatedEntity,
    ApprovalItem,
    Department,
    PriceBand,
    QualificationLevel,
    QualificationType,
    ServiceCategory,
    ServiceType,
    ServiceTypeQualification,
)


class LevelInline(admin.TabularInline):
    model = QualificationLevel
    extra = 0


@admin.register(QualificationType, site=site)
class QualificationTypeAdmin(AuditedModelAdmin):
    list_display = ("code", "name_zh", "authority")
    search_fields = ("code", "name_zh", "name_en")
    inlines = [LevelInline]


@admin.register(ServiceCategory, site=site)
class ServiceCategoryAdmin(AuditedModelAdmin):
    list_display = ("code", "name_zh", "position")


class AllowedQualificationInline(admin.TabularInline):
    model = ServiceTypeQualification
    extra = 0
    autocomplete_fields = ("qualification_type",)


class PriceBandInline(admin.TabularInline):
    model = PriceBand
    extra = 0


@admin.register(ServiceType, site=site)
class ServiceTypeAdmin(AuditedModelAdmin):
    list_display = ("code", "name_zh", "category", "pricing_regime", "qualification_required", "is_active")
    list_filter = ("category", "pricing_regime", "is_active")
    search_fields = ("code", "name_zh", "name_en")
    inlines = [AllowedQualificationInline, PriceBandInline]


class AffiliateInline(admin.TabularInline):
    model = AffiliatedEntity
    extra = 0


@admin.register(Department, site=site)
class DepartmentAdmin(AuditedModelAdmin):
    list_display = ("code", "name_zh", "region", "phone")
    search_fields = ("code", "name_zh")
    inlines = [AffiliateInline]


@admin.register(ApprovalItem, site=site)
class ApprovalItemAdmin(AuditedModelAdmin):
    list_display = ("code", "name_zh", "department")
    list_filter = ("department",)
    filter_horizontal = ("service_types",)
