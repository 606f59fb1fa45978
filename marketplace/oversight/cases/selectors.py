"""Reads for cases, credit, the blacklist and inspections, with visibility enforced here."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from marketplace.accounts.models import Membership, Role, User
from marketplace.providers.models import Intermediary

from ..models import Flag
from .credit import COMPONENTS
from .models import (
    Blacklisting,
    Case,
    CaseAttachment,
    CreditDeduction,
    CreditProfile,
    ExplanationRequest,
    InspectionPlan,
    InspectionTarget,
)


def _org_ids(user: User | None) -> set[int]:
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(Membership.objects.filter(user=user).values_list("organisation_id", flat=True))


def is_regulator(user: User | None) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and Membership.objects.filter(user=user, role=Role.REGULATOR).exists()
    )


def _case_base() -> QuerySet[Case]:
    return Case.objects.select_related("intermediary", "owner", "project", "violation_type")


# --- regulator ------------------------------------------------------------------------------------


def case_list(params: Any) -> tuple[str, QuerySet[Case]]:
    status = params.get("status", "")
    cases = _case_base().annotate(
        pending=Count("requests", filter=Q(requests__status=ExplanationRequest.Status.PENDING))
    )
    if status in Case.Status.values:
        cases = cases.filter(status=status)
    else:
        status = ""
    return status, cases.order_by("-opened_at")


def case_detail(pk: int) -> Case:
    try:
        return (
            _case_base()
            .select_related("complaint", "inspection_target__plan", "opened_by", "concluded_by")
            .prefetch_related(
                Prefetch(
                    "requests",
                    queryset=ExplanationRequest.objects.select_related("party", "asked_by", "answered_by")
                    .prefetch_related("attachments")
                    .order_by("asked_at"),
                ),
                Prefetch("flags", queryset=Flag.objects.order_by("rule")),
                "deductions",
                "blacklistings",
            )
            .get(pk=pk)
        )
    except Case.DoesNotExist:
        raise Http404 from None


def get_attachment_for(user: User, pk: int) -> CaseAttachment:
    """An answer's attachment: regulators and the answering organisation's members only."""
    try:
        attachment = CaseAttachment.objects.select_related("request").get(pk=pk)
    except CaseAttachment.DoesNotExist:
        raise Http404 from None
    if not is_regulator(user) and attachment.request.party_id not in _org_ids(user):
        raise Http404
    return attachment


def plan_list() -> QuerySet[InspectionPlan]:
    return InspectionPlan.objects.select_related("service_type", "department").annotate(
        target_count=Count("targets", distinct=True),
        problem_count=Count(
            "targets", filter=Q(targets__result=InspectionTarget.Result.PROBLEM), distinct=True
        ),
    )


def plan_detail(pk: int) -> InspectionPlan:
    try:
        return (
            InspectionPlan.objects.select_related("service_type", "department", "created_by")
            .prefetch_related(
                "inspectors",
                Prefetch(
                    "targets",
                    queryset=InspectionTarget.objects.select_related("intermediary", "project", "recorded_by")
                    .prefetch_related("inspectors", "cases")
                    .order_by("order"),
                ),
            )
            .get(pk=pk)
        )
    except InspectionPlan.DoesNotExist:
        raise Http404 from None


# --- parties --------------------------------------------------------------------------------------


def party_cases(user: User) -> QuerySet[Case]:
    """Cases the user's organisations are a party to (as the firm or the owner)."""
    orgs = _org_ids(user)
    return (
        _case_base()
        .filter(Q(intermediary__organisation_id__in=orgs) | Q(owner_id__in=orgs))
        .annotate(
            pending=Count(
                "requests",
                filter=Q(requests__status=ExplanationRequest.Status.PENDING, requests__party_id__in=orgs),
            )
        )
        .order_by("-opened_at")
    )


def party_case(user: User, pk: int) -> tuple[Case, list[ExplanationRequest]]:
    orgs = _org_ids(user)
    case = party_cases(user).filter(pk=pk).first()
    if case is None:
        raise Http404
    requests = list(
        ExplanationRequest.objects.filter(case=case, party_id__in=orgs)
        .prefetch_related("attachments")
        .order_by("asked_at")
    )
    return case, requests


# --- public ---------------------------------------------------------------------------------------


def public_cases(params: Any) -> QuerySet[Case]:
    cases = _case_base().filter(status=Case.Status.CLOSED)
    q = (params.get("q") or "").strip()
    if q:
        cases = cases.filter(Q(intermediary__name__icontains=q) | Q(number__iexact=q) | Q(title__icontains=q))
    if params.get("violation") == "1":
        cases = cases.filter(violation=True)
    return cases.order_by("-closed_at")


def public_case(pk: int) -> Case:
    case = (
        _case_base()
        .prefetch_related("deductions__violation_type", "blacklistings")
        .filter(pk=pk, status=Case.Status.CLOSED)
        .first()
    )
    if case is None:
        raise Http404
    return case


def blacklist(params: Any) -> tuple[bool, QuerySet[Blacklisting]]:
    today = timezone.localdate()
    history = params.get("history") == "1"
    entries = Blacklisting.objects.select_related("intermediary", "case", "violation_type")
    if history:
        entries = entries.filter(Q(lifted_at__isnull=False) | Q(ends_on__lt=today))
    else:
        entries = entries.filter(lifted_at__isnull=True, ends_on__gte=today)
    return history, entries.order_by("-starts_on", "-pk")


def blacklist_entry(pk: int) -> Blacklisting:
    entry = (
        Blacklisting.objects.select_related("intermediary", "case", "violation_type").filter(pk=pk).first()
    )
    if entry is None:
        raise Http404
    return entry


def credit_record(firm: Intermediary) -> dict[str, Any]:
    """What a firm's public profile shows: the grade, the components and every deduction, in two
    queries (the blacklist term is read from the firm itself, where eligibility reads it)."""
    profile = CreditProfile.objects.filter(intermediary=firm).first()
    deductions = list(
        CreditDeduction.objects.filter(intermediary=firm)
        .select_related("case", "violation_type")
        .order_by("-occurred_on", "-pk")
    )
    until = firm.blacklisted_until
    components = []
    if profile is not None:
        components = [(key, profile.components.get(key, "0.00")) for key in COMPONENTS]
    return {
        "profile": profile,
        "components": components,
        "deductions": deductions,
        "blacklisted_until": until if until and until >= timezone.localdate() else None,
    }
