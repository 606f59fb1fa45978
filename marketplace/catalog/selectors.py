"""Reads for the catalogue."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from .models import (
    ApprovalItem,
    Department,
    QualificationType,
    ServiceCategory,
    ServiceType,
    ServiceTypeQualification,
)

LISTED = ("listed", "listed_under_review")


def service_types(category: str | None = None) -> QuerySet[ServiceType]:
    qs = (
        ServiceType.objects.filter(is_active=True)
        .select_related("category")
        .annotate(
            offer_count=Count(
                "offers", filter=Q(offers__is_active=True, offers__intermediary__status__in=LISTED)
            )
        )
        .order_by("category__position", "code")
    )
    if category:
        qs = qs.filter(category__code=category)
    return qs


def categories_with_counts() -> QuerySet[ServiceCategory]:
    return ServiceCategory.objects.annotate(
        service_count=Count("service_types", filter=Q(service_types__is_active=True))
    ).order_by("position", "code")


def service_type_detail(code: str) -> ServiceType:
    return (
        ServiceType.objects.select_related("category")
        .prefetch_related(
            Prefetch(
                "allowed_qualifications",
                queryset=ServiceTypeQualification.objects.select_related(
                    "qualification_type", "standard_level"
                ),
            ),
            "price_bands",
            "approval_items__department",
        )
        .get(code=code, is_active=True)
    )


def service_types_with_rules(category: str | None = None) -> QuerySet[ServiceType]:
    """``service_types`` plus the allowed qualifications and fee bands a list shows."""
    return service_types(category).prefetch_related(
        Prefetch(
            "allowed_qualifications",
            queryset=ServiceTypeQualification.objects.select_related("qualification_type", "standard_level"),
        ),
        "price_bands",
    )


def departments() -> QuerySet[Department]:
    return Department.objects.prefetch_related("affiliates").order_by("code")


def approval_items() -> QuerySet[ApprovalItem]:
    return (
        ApprovalItem.objects.select_related("department")
        .prefetch_related(
            Prefetch("service_types", queryset=ServiceType.objects.filter(is_active=True).order_by("code"))
        )
        .order_by("department__code", "code")
    )


def qualification_types() -> QuerySet[QualificationType]:
    return QualificationType.objects.prefetch_related("levels").order_by("code")
