"""Reads for intermediaries, shaped for the pages and API that use them, visibility enforced."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from marketplace.accounts.models import Membership, Role, User
from marketplace.catalog.models import PriceBand, ServiceType
from marketplace.core.errors import NotAllowed

from .filters import DirectoryFilter
from .models import PUBLIC_STATUSES, FeeSchedule, Intermediary, Offer

STAFF_READERS = (Role.OPERATOR, Role.REGULATOR)


def _roles(user: User) -> set[str]:
    if not user.is_authenticated:
        return set()
    return set(Membership.objects.filter(user=user).values_list("role", flat=True))


def _member_org_ids(user: User) -> set[int]:
    if not user.is_authenticated:
        return set()
    return set(
        Membership.objects.filter(user=user, role=Role.INTERMEDIARY).values_list("organisation_id", flat=True)
    )


def visible_intermediaries(user: User) -> QuerySet[Intermediary]:
    """The public sees listed firms; a firm's members see their own; operators and regulators see all."""
    qs = Intermediary.objects.all()
    if _roles(user) & set(STAFF_READERS):
        return qs
    own = _member_org_ids(user)
    return qs.filter(Q(status__in=PUBLIC_STATUSES) | Q(organisation_id__in=own))


def active_offers_prefetch() -> Prefetch:
    return Prefetch(
        "offers",
        queryset=Offer.objects.filter(is_active=True).select_related("service_type", "current_fee"),
        to_attr="active_offers",
    )


def directory(params: Any) -> tuple[DirectoryFilter, QuerySet[Intermediary]]:
    """Listed firms with their active offers, filtered by the directory's FilterSet."""
    base = (
        Intermediary.objects.filter(status__in=PUBLIC_STATUSES)
        .annotate(offer_count=Count("offers", filter=Q(offers__is_active=True)))
        .prefetch_related(active_offers_prefetch())
        .order_by("name", "pk")
    )
    filterset = DirectoryFilter(params, queryset=base)
    if not filterset.is_valid():
        return filterset, base.none()
    return filterset, filterset.qs


def get_intermediary_for(user: User, pk: int, *, write: bool = False) -> Intermediary:
    """404 when the user may not see the firm, 403 when they may see it but not change it."""
    try:
        firm = visible_intermediaries(user).get(pk=pk)
    except (Intermediary.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if write and firm.organisation_id not in _member_org_ids(user):
        raise NotAllowed
    return firm


def intermediary_for_membership(membership: Membership | None) -> Intermediary | None:
    if membership is None or membership.role != Role.INTERMEDIARY:
        return None
    return Intermediary.objects.filter(organisation_id=membership.organisation_id).first()


def profile(user: User, pk: int) -> Intermediary:
    firm = get_intermediary_for(user, pk)
    return (
        Intermediary.objects.filter(pk=firm.pk)
        .prefetch_related(
            Prefetch(
                "offers",
                queryset=Offer.objects.filter(is_active=True)
                .select_related("service_type__category", "current_fee")
                .prefetch_related(
                    Prefetch("fee_versions", queryset=FeeSchedule.objects.order_by("-version")),
                    "practitioners",
                ),
                to_attr="active_offers",
            ),
            "qualifications__qualification_type",
            "qualifications__level",
            "practitioners",
            "declared_ties__department",
        )
        .get()
    )


def onboarding_state(firm: Intermediary) -> Intermediary:
    return (
        Intermediary.objects.filter(pk=firm.pk)
        .prefetch_related(
            "qualifications__qualification_type",
            "qualifications__level",
            "practitioners",
            "shareholders",
            "declared_ties__department",
            "declared_ties__affiliate",
        )
        .get()
    )


def offers_of(firm: Intermediary) -> QuerySet[Offer]:
    return (
        firm.offers.select_related("service_type", "current_fee")
        .prefetch_related("practitioners", "qualifications")
        .order_by("service_type__code")
    )


def get_offer_for(user: User, pk: int, *, write: bool = False) -> Offer:
    try:
        offer = Offer.objects.select_related("intermediary", "service_type", "current_fee").get(pk=pk)
    except (Offer.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    get_intermediary_for(user, offer.intermediary_id, write=write)
    if not write and not offer.is_active and offer.intermediary.organisation_id not in _member_org_ids(user):
        if not (_roles(user) & set(STAFF_READERS)):
            raise Http404
    return offer


def fee_history(offer: Offer) -> QuerySet[FeeSchedule]:
    return offer.fee_versions.order_by("-version")


def fee_disclosure(service_type: ServiceType) -> tuple[QuerySet[Offer], list[PriceBand]]:
    """Every active schedule for a service type (listed firms only) and the government bands."""
    offers = (
        Offer.objects.filter(
            service_type=service_type, is_active=True, intermediary__status__in=PUBLIC_STATUSES
        )
        .select_related("intermediary", "current_fee")
        .annotate(version_count=Count("fee_versions"))
        .order_by("current_fee__fee_min", "intermediary__name")
    )
    return offers, list(service_type.price_bands.all())


def fee_index() -> QuerySet[ServiceType]:
    return (
        ServiceType.objects.filter(is_active=True)
        .select_related("category")
        .annotate(
            offer_count=Count(
                "offers",
                filter=Q(offers__is_active=True, offers__intermediary__status__in=PUBLIC_STATUSES),
                distinct=True,
            ),
            band_count=Count("price_bands", distinct=True),
        )
        .order_by("category__position", "code")
    )


def review_queue(status: str | None = None) -> QuerySet[Intermediary]:
    statuses = (
        [status]
        if status
        else [Intermediary.Status.LISTED_UNDER_REVIEW, Intermediary.Status.CHANGES_REQUESTED]
    )
    return (
        Intermediary.objects.filter(status__in=statuses)
        .annotate(
            qualification_count=Count("qualifications", distinct=True),
            practitioner_count=Count("practitioners", distinct=True),
        )
        .order_by("review_due", "listed_at", "pk")
    )


def review_overdue_count() -> int:
    return Intermediary.objects.filter(
        status=Intermediary.Status.LISTED_UNDER_REVIEW, review_due__lt=timezone.localdate()
    ).count()


DOCUMENT_FIELDS = {
    "qualification": ("certificate",),
    "practitioner": ("certificate", "social_insurance_proof"),
}


def get_document_for(user: User, kind: str, pk: int, field: str):
    """An uploaded certificate or proof: only the firm's own members, operators and regulators."""
    from .models import Practitioner, Qualification

    if field not in DOCUMENT_FIELDS.get(kind, ()):
        raise Http404
    model = {"qualification": Qualification, "practitioner": Practitioner}[kind]
    try:
        row = model.objects.select_related("intermediary").get(pk=pk)
    except model.DoesNotExist:
        raise Http404 from None
    is_staff = bool(_roles(user) & set(STAFF_READERS))
    if not is_staff and row.intermediary.organisation_id not in _member_org_ids(user):
        raise Http404
    file = getattr(row, field)
    if not file:
        raise Http404
    return file
