"""Reads for accounts: who the current user acts for."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import STAFF_ROLES, Membership, Role, User


def memberships_for(user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user, organisation__is_active=True).select_related("organisation")


def user_requires_2fa(user: User) -> bool:
    """Regulators and operators (and Django superusers) must use a TOTP device."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or user.is_staff:
        return True
    return Membership.objects.filter(user=user, role__in=STAFF_ROLES).exists()


def has_role(membership: Membership | None, *roles: Role | str) -> bool:
    return membership is not None and membership.role in roles
