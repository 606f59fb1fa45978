"""Reads for the owners' and firms' workspace pages, shaped for those pages (STYLE 2-3).

Visibility: every function takes the acting membership (or a firm already resolved from it)
and only returns that organisation's rows; the project pages still fetch the project through
``selectors.get_project_for`` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import Membership, Role
from marketplace.core.models import AuditEvent
from marketplace.providers.models import PUBLIC_STATUSES, Intermediary, Qualification
from marketplace.providers.selectors import intermediary_for_membership

from . import selectors
from .models import Application, EvaluatorScore, Exclusion, Project, Requirement, Selection


@dataclass
class Party:
    """How the acting organisation takes part in one project."""

    side: str | None  # "owner", "firm" (an applicant) or None
    firm: Intermediary | None = None
    application: Application | None = None
    is_winner: bool = False

    @property
    def is_owner(self) -> bool:
        return self.side == "owner"

    @property
    def is_applicant(self) -> bool:
        return self.side == "firm"


def current_selection(project: Project) -> Selection | None:
    return (
        project.selections.filter(annulled=False)
        .select_related("winner__intermediary")
        .order_by("-round")
        .first()
    )


def party_for(membership: Membership | None, project: Project, selection: Selection | None = None) -> Party:
    """The acting membership's part in ``project``: its owner, one of its applicants, or none."""
    if membership is None:
        return Party(side=None)
    if membership.role == Role.OWNER and membership.organisation_id == project.owner_id:
        return Party(side="owner")
    firm = intermediary_for_membership(membership)
    if firm is None:
        return Party(side=None)
    application = Application.objects.filter(project=project, intermediary=firm).first()
    if application is None:
        return Party(side=None, firm=firm)
    selection = selection if selection is not None else current_selection(project)
    winner = selection.winner if selection is not None else None
    return Party(
        side="firm",
        firm=firm,
        application=application,
        is_winner=winner is not None and winner.intermediary_id == firm.pk,
    )


def application_for(firm: Intermediary, pk: int) -> Application:
    """One of the firm's own applications, or 404."""
    try:
        return Application.objects.select_related("project").get(pk=pk, intermediary=firm)
    except (Application.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


# --- opportunities: eligibility for a page of projects in a fixed number of queries ----------


def opportunities(firm: Intermediary) -> QuerySet[Project]:
    """``selectors.open_projects_for`` with what the eligibility check reads prefetched."""
    return selectors.open_projects_for(firm).prefetch_related(
        Prefetch(
            "requirements",
            queryset=Requirement.objects.select_related("qualification_type", "min_level").order_by("pk"),
        ),
        Prefetch(
            "exclusions", queryset=Exclusion.objects.filter(intermediary=firm), to_attr="firm_exclusions"
        ),
    )


@dataclass
class Opportunity:
    project: Project
    reasons: list[str]
    applied: Application | None

    @property
    def eligible(self) -> bool:
        return not self.reasons


def _reasons(project: Project, firm: Intermediary, qualifications: list, practitioners: int) -> list[str]:
    """The same reasons, in the same order, as ``services.check_eligibility`` (a test keeps the
    two in step), computed from prefetched rows so a page of projects costs no query per row."""
    reasons: list[str] = []
    deadline_day = timezone.localdate(project.registration_deadline)
    today = timezone.localdate()
    if not firm.is_listed:
        reasons.append(_("机构未入驻或已被清退。"))
    if firm.blacklisted_until and firm.blacklisted_until >= today:
        reasons.append(
            _("机构被列入黑名单，至 %(d)s 前不得报名。") % {"d": firm.blacklisted_until.isoformat()}
        )
    if project.firm_exclusions:
        reasons.append(_("机构因利益冲突被要求回避。"))
    requirements = list(project.requirements.all())
    if requirements:
        valid = [q for q in qualifications if q.valid_from <= deadline_day <= q.valid_until]

        def meets(req) -> bool:
            for q in valid:
                if q.qualification_type_id != req.qualification_type_id:
                    continue
                if req.min_level is None or (q.level is not None and q.level.rank <= req.min_level.rank):
                    return True
            return False

        met = [meets(r) for r in requirements]
        if project.qualification_rule == "all" and not all(met):
            missing = [r.qualification_type.name for r, ok in zip(requirements, met, strict=True) if not ok]
            reasons.append(_("缺少在报名截止日有效的资质：%(q)s。") % {"q": "、".join(missing)})
        if project.qualification_rule == "any" and not any(met):
            reasons.append(_("不具备在报名截止日有效的所需资质（具备其一即可）。"))
    if project.required_practitioners and practitioners < project.required_practitioners:
        reasons.append(_("从业人员不足 %(n)s 人。") % {"n": project.required_practitioners})
    return reasons


def opportunities_with_eligibility(projects, firm: Intermediary) -> list[Opportunity]:
    """Each project of a page (from ``opportunities``) with why the firm may not apply and
    the firm's own application if it has one: four queries whatever the page size."""
    projects = list(projects)
    qualifications = list(Qualification.objects.filter(intermediary=firm).select_related("level"))
    practitioners = firm.practitioners.count()
    applied = {
        a.project_id: a
        for a in Application.objects.filter(intermediary=firm, project__in=[p.pk for p in projects]).only(
            "pk", "project_id", "state", "submitted_at"
        )
    }
    return [
        Opportunity(
            project=p,
            reasons=_reasons(p, firm, qualifications, practitioners),
            applied=applied.get(p.pk),
        )
        for p in projects
    ]


# --- the project page -------------------------------------------------------------------------


def timeline(project: Project) -> list[AuditEvent]:
    """The project's audited state changes, oldest first (the audit log is the record)."""
    return list(
        AuditEvent.objects.filter(object_type=Project._meta.label_lower, object_id=str(project.pk))
        .only("seq", "created_at", "action", "after")
        .order_by("seq")
    )


def evaluator_scores(project: Project) -> list[EvaluatorScore]:
    return list(
        EvaluatorScore.objects.filter(application__project=project)
        .select_related("application__intermediary")
        .order_by("application__intermediary__uscc", "evaluator")
    )


def listed_firm_choices() -> list[tuple[int, str]]:
    """Listed firms for the conflict-of-interest (回避) pickers, by name."""
    return [
        (pk, f"{name}（{uscc}）")
        for pk, name, uscc in Intermediary.objects.filter(status__in=PUBLIC_STATUSES)
        .order_by("name", "pk")
        .values_list("pk", "name", "uscc")
    ]


def firm_by_uscc(uscc: str) -> Intermediary | None:
    return Intermediary.objects.filter(uscc=uscc).first()


def publicity_open(project: Project, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return project.publicity_ends_on is None or today <= project.publicity_ends_on
