"""Reads for procurement, with visibility enforced here (STYLE 2-3).

Sealed quotes: ``Application.quote_amount`` is empty until registration closes (the quote is
only stored encrypted before), and every page, API and export reads amounts through
``quote_visible`` so nothing shows a quote before the deadline, whoever asks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from marketplace.accounts.models import Membership, Role, User
from marketplace.core.errors import NotAllowed
from marketplace.providers.models import Intermediary

from .filters import AnnouncementFilter
from .models import (
    PUBLIC_STATUSES,
    SEALED_STATUSES,
    Application,
    Contract,
    Notification,
    Objection,
    Project,
    Rating,
    Selection,
    Status,
)

STAFF = (Role.REGULATOR, Role.OPERATOR)


def _memberships(user: User) -> list[Membership]:
    if not user.is_authenticated:
        return []
    return list(Membership.objects.filter(user=user).only("organisation_id", "role"))


def visible_projects(user: User) -> QuerySet[Project]:
    """Public announcements for everyone; owners also see their drafts; staff see all."""
    memberships = _memberships(user)
    roles = {m.role for m in memberships}
    qs = Project.objects.all()
    if roles & set(STAFF):
        return qs
    owner_orgs = [m.organisation_id for m in memberships if m.role == Role.OWNER]
    return qs.filter(Q(status__in=PUBLIC_STATUSES) | Q(owner_id__in=owner_orgs))


def get_project_for(user: User, pk: int, *, write: bool = False) -> Project:
    try:
        project = (
            visible_projects(user)
            .select_related("owner", "service_type__category", "department", "approval_item")
            .get(pk=pk)
        )
    except (Project.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if write and not any(
        m.organisation_id == project.owner_id and m.role == Role.OWNER for m in _memberships(user)
    ):
        raise NotAllowed
    return project


def announcements(params: Any, user: User | None = None) -> tuple[AnnouncementFilter, QuerySet[Project]]:
    base = (
        Project.objects.filter(status__in=PUBLIC_STATUSES)
        .select_related("owner", "service_type", "department")
        .annotate(application_count=Count("applications", filter=~Q(applications__state="withdrawn")))
        .order_by("-published_at", "-pk")
    )
    filterset = AnnouncementFilter(params, queryset=base)
    if not filterset.is_valid():
        return filterset, base.none()
    return filterset, filterset.qs


def quotes_are_open(project: Project) -> bool:
    return timezone.now() >= project.registration_deadline and project.applicants_disclosed


def quotes_open_q(now: datetime) -> Q:
    """``quotes_are_open`` as a condition on projects at ``now`` (registration has closed and
    the status is not sealed, ``Project.applicants_disclosed``), for readers that decide in
    the query rather than project by project (the OCDS export)."""
    return Q(registration_deadline__lte=now) & ~Q(status__in=SEALED_STATUSES)


def applicants_disclosed(project: Project) -> bool:
    return quotes_are_open(project)


def quote_visible(project: Project, application: Application):
    """The amount, or None while the quotes are sealed."""
    return application.quote_amount if quotes_are_open(project) else None


def project_detail(user: User, pk: int) -> dict[str, Any]:
    project = get_project_for(user, pk)
    applications = list(
        project.applications.exclude(state=Application.State.WITHDRAWN)
        .select_related("intermediary")
        .order_by("intermediary__uscc")
    )
    open_quotes = quotes_are_open(project)
    if not open_quotes:  # sealed: not even the names or the number of applicants
        applications = []
    rows = [
        {
            "application": a,
            "firm": a.intermediary,
            "quote": a.quote_amount if open_quotes else None,
            "state": a.get_state_display(),
        }
        for a in applications
    ]
    selections = (
        list(project.selections.select_related("winner__intermediary").order_by("round"))
        if open_quotes
        else []
    )
    current = next((s for s in reversed(selections) if not s.annulled), None)
    contract = Contract.objects.filter(project=project).prefetch_related("amendments").first()
    return {
        "project": project,
        "requirements": list(project.requirements.select_related("qualification_type", "min_level")),
        "exclusions": list(project.exclusions.select_related("intermediary")),
        "applications": rows,
        "quotes_open": open_quotes,
        "applicants_disclosed": open_quotes,
        "applicant_count": len(applications) if open_quotes else None,
        "selections": selections,
        "selection": current,
        "contract": contract,
        "objections": list(
            project.objections.select_related("application__intermediary").order_by("filed_at")
        ),
        "deliveries": list(project.deliveries.order_by("delivered_at")),
        "ratings": list(project.ratings.order_by("direction")),
        "relaunches": list(project.relaunches.only("pk", "public_number")),
    }


def owner_projects(organisation_id: int) -> QuerySet[Project]:
    return (
        Project.objects.filter(owner_id=organisation_id)
        .select_related("service_type")
        .annotate(application_count=Count("applications", filter=~Q(applications__state="withdrawn")))
        .order_by("-created_at")
    )


def open_projects_for(firm: Intermediary) -> QuerySet[Project]:
    """Projects open for registration in the service types the firm offers."""
    offered = firm.offers.filter(is_active=True).values("service_type_id")
    return (
        Project.objects.filter(
            status=Status.PUBLISHED, registration_deadline__gt=timezone.now(), service_type_id__in=offered
        )
        .select_related("service_type", "owner")
        .order_by("registration_deadline")
    )


def firm_applications(firm: Intermediary) -> QuerySet[Application]:
    return (
        Application.objects.filter(intermediary=firm)
        .select_related("project__service_type", "project__owner")
        .order_by("-submitted_at")
    )


def check_queue() -> QuerySet[Project]:
    return (
        Project.objects.filter(status=Status.UNDER_CHECK)
        .select_related("owner", "service_type")
        .order_by("updated_at")
    )


def selection_record(project: Project) -> list[Selection]:
    return list(project.selections.select_related("winner__intermediary").order_by("round"))


def notifications_for(organisation_id: int, limit: int = 50) -> QuerySet[Notification]:
    return Notification.objects.filter(organisation_id=organisation_id).select_related("project")[:limit]


def firm_ratings(firm: Intermediary) -> QuerySet[Rating]:
    return (
        Rating.objects.filter(
            direction=Rating.Direction.OWNER_RATES_FIRM, project__contract__intermediary=firm
        )
        .select_related("project")
        .order_by("-created_at")
    )


def pending_disputes() -> QuerySet[Rating]:
    return Rating.objects.filter(disputed_at__isnull=False, dispute_outcome="").select_related("project")


def pending_objections() -> QuerySet[Objection]:
    return Objection.objects.filter(outcome=Objection.Outcome.PENDING).select_related(
        "project", "application__intermediary"
    )
