"""The operators' back office for the violation code list and the inspector roster (audited)."""

from django.contrib import admin

from marketplace.core.admin import AuditedModelAdmin, site

from .models import Inspector, ViolationType


@admin.register(ViolationType, site=site)
class ViolationTypeAdmin(AuditedModelAdmin):
    list_display = ("code", "name_zh", "deduction", "blacklist_days", "disqualifying")
    search_fields = ("code", "name_zh", "name_en")


@admin.register(Inspector, site=site)
class InspectorAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "organisation", "department", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")
    exclude = ("id_hash",)

    def has_add_permission(self, request) -> bool:
        # Added on /regulator/inspections/inspectors/, where the ID number is hashed.
        return False
