"""Reads for the public procurement pages, the operator's check and the regulator's lists.

Sealed applications: before registration closes nobody (the operator and the regulator
included) sees who applied or what they quoted, only how many applied.
``applicants_disclosed`` is the one test, and ``public_project_detail`` drops the applicant
rows before a template can see them, so a page cannot leak them by mistake.

Every list here is shaped for its page: one query for the rows whatever their number
(``select_related`` and annotations, no per-row queries).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from marketplace.accounts.models import User
from marketplace.providers.models import Intermediary

from . import selectors
from .filters import AnnouncementFilter
from .methods import method_for
from .models import (
    PUBLIC_STATUSES,
    Contract,
    EvaluatorScore,
    Objection,
    Project,
    Rating,
    Selection,
)
from .verify import DrawCheck, draw_record, verify_selection

_APPLICANT_COUNT = Count("applications", filter=~Q(applications__state="withdrawn"))


applicants_disclosed = selectors.applicants_disclosed


def public_project_detail(user: User, pk: int) -> dict[str, Any]:
    """``selectors.project_detail``, which already leaves out applicants while they are sealed."""
    return selectors.project_detail(user, pk)


# --- lists --------------------------------------------------------------------------------------


def _current_selection() -> QuerySet[Selection]:
    """The latest round that named a winner and stands (for a ``Subquery`` on projects)."""
    return Selection.objects.filter(project=OuterRef("pk"), annulled=False, winner__isnull=False).order_by(
        "-round"
    )


def results(params: Any) -> tuple[AnnouncementFilter, QuerySet[Project]]:
    """中选公告: public projects with a standing winner, newest result first, with the winner's
    name and quote and the contract amount as annotations."""
    current = _current_selection()
    base = (
        Project.objects.filter(status__in=PUBLIC_STATUSES)
        .filter(Exists(current))
        .select_related("owner", "service_type", "department")
        .annotate(
            winner_name=Subquery(current.values("winner__intermediary__name")[:1]),
            winner_firm_id=Subquery(current.values("winner__intermediary_id")[:1]),
            winning_quote=Subquery(current.values("winner__quote_amount")[:1]),
            contract_amount=F("contract__amount"),
        )
        .order_by(F("result_published_at").desc(nulls_last=True), "-pk")
    )
    filterset = AnnouncementFilter(params, queryset=base)
    if not filterset.is_valid():
        return filterset, base.none()
    return filterset, filterset.qs


def regulator_projects(user: User, params: Any) -> tuple[AnnouncementFilter, QuerySet[Project]]:
    """Every project the user may see (all of them for a regulator), drafts included."""
    base = (
        selectors.visible_projects(user)
        .select_related("owner", "service_type", "department")
        .annotate(application_count=_APPLICANT_COUNT)
        .order_by("-created_at", "-pk")
    )
    filterset = AnnouncementFilter(params, queryset=base)
    if not filterset.is_valid():
        return filterset, base.none()
    return filterset, filterset.qs


def check_queue() -> QuerySet[Project]:
    return selectors.check_queue().select_related("department", "approval_item")


def pending_disputes() -> QuerySet[Rating]:
    return selectors.pending_disputes().select_related("project__owner", "project__contract__intermediary")


def pending_objections() -> QuerySet[Objection]:
    return selectors.pending_objections().select_related("project__owner").order_by("filed_at", "pk")


# --- selection record ---------------------------------------------------------------------------


@dataclass
class CandidateRow:
    key: str
    firm: Intermediary | None
    quote: Decimal | None
    credit: Decimal | None
    proposal_score: Decimal | None
    is_winner: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Round:
    selection: Selection
    rows: list[CandidateRow]
    details: dict[str, Any]
    owner_picks: bool
    check: DrawCheck | None = None
    sha256_now: str = ""
    commitment_matches: bool = False

    @property
    def keys(self) -> list[str]:
        return sorted(row.key for row in self.rows)


def _dec(value) -> Decimal | None:
    return Decimal(str(value)) if value not in (None, "") else None


def _round(selection: Selection, firms: dict[str, Intermediary]) -> Round:
    details = dict(selection.details or {})
    winner_key = selection.winner.intermediary.uscc if selection.winner_id else None
    by_key: dict[str, dict[str, Any]] = {}
    for entry in details.get("scores") or []:
        by_key.setdefault(entry["key"], {}).update(
            price_score=_dec(entry.get("price_score")), total=_dec(entry.get("total"))
        )
    long_list = details.get("long_list") or []
    short_list = details.get("short_list") or []
    for rank, entry in enumerate(details.get("ranking") or [], start=1):
        by_key.setdefault(entry["key"], {})["rank"] = rank
    reference = _dec(details.get("reference"))
    tied = set(details.get("tie") or [])
    rows = []
    for c in sorted(selection.candidates, key=lambda c: c["key"]):
        quote = _dec(c.get("quote"))
        extra = dict(by_key.get(c["key"], {}))
        if reference is not None and quote is not None:
            extra["distance"] = abs(quote - reference)
        if long_list:
            extra["in_long_list"] = c["key"] in long_list
        if c["key"] in tied:
            extra["tied"] = True
        if c["key"] in short_list:
            extra["short_position"] = short_list.index(c["key"]) + 1
        rows.append(
            CandidateRow(
                key=c["key"],
                firm=firms.get(c["key"]),
                quote=quote,
                credit=_dec(c.get("credit")),
                proposal_score=_dec(c.get("proposal_score")),
                is_winner=c["key"] == winner_key,
                extra=extra,
            )
        )
    # Amounts are stored as strings in the JSON record: Decimals render like every other amount.
    for name in ("lowest", "mean", "reference"):
        if name in details:
            details[name] = _dec(details[name])
    if "kept_quotes" in details:
        details["kept_quotes"] = [_dec(q) for q in details["kept_quotes"]]
    if reference is not None:
        details["coefficient_percent"] = (Decimal(details.get("coefficient_bp", 0)) / 100).quantize(
            Decimal("0.01")
        )
    return Round(
        selection=selection,
        rows=rows,
        details=details,
        owner_picks=method_for(selection.method).owner_picks,
    )


def _rounds(project: Project) -> list[Round]:
    selections = selectors.selection_record(project)
    for s in selections:
        s.project = project  # verify and draw_record read it: no query per round
    keys = {c["key"] for s in selections for c in s.candidates}
    firms = {f.uscc: f for f in Intermediary.objects.filter(uscc__in=keys).only("pk", "name", "uscc")}
    return [_round(s, firms) for s in selections]


def result_record(user: User, pk: int) -> dict[str, Any]:
    """中选公告 of a project: every round that named a winner, the standing one, the contract.

    404 while no round has named a winner (or the applicants are still sealed)."""
    project = selectors.get_project_for(user, pk)
    if not applicants_disclosed(project):
        raise Http404
    rounds = _rounds(project)
    if not any(r.selection.winner_id for r in rounds):
        raise Http404
    current = next((r for r in reversed(rounds) if not r.selection.annulled and r.selection.winner_id), None)
    contract = Contract.objects.filter(project=project).select_related("intermediary").first()
    amendments = list(contract.amendments.order_by("created_at")) if contract else []
    scores = list(
        EvaluatorScore.objects.filter(application__project=project)
        .select_related("application__intermediary")
        .order_by("application__intermediary__uscc", "evaluator")
    )
    return {
        "project": project,
        "rounds": rounds,
        "current": current,
        "contract": contract,
        "amendments": amendments,
        "evaluator_scores": scores,
        "objection_count": project.objections.count(),
    }


def verification(user: User, pk: int) -> dict[str, Any]:
    """The verification page: the commitment, and per round the revealed secret, its SHA-256
    computed now, the sorted candidates and the recomputation (``verify.verify_selection``)."""
    project = selectors.get_project_for(user, pk)
    rounds = _rounds(project) if applicants_disclosed(project) else []
    for r in rounds:
        secret = r.selection.secret
        r.sha256_now = hashlib.sha256(secret.encode()).hexdigest() if secret else ""
        r.commitment_matches = bool(secret) and r.sha256_now == project.secret_commitment
        r.check = verify_selection(r.selection)
    return {
        "project": project,
        "rounds": rounds,
        "all_verified": bool(rounds) and all(r.check.ok for r in rounds if r.check),
        "params": {
            "long_list": settings.CREDIT_LONG_LIST,
            "short_list": settings.CREDIT_SHORT_LIST,
            "price_weight": project.price_weight,
        },
    }


def draw_records(user: User, pk: int) -> dict[str, Any]:
    """draw.json: the latest round's ``verify.draw_record`` and every round under ``rounds``.
    404 before any selection."""
    project = selectors.get_project_for(user, pk)
    if not applicants_disclosed(project):
        raise Http404
    selections = selectors.selection_record(project)
    if not selections:
        raise Http404
    records = []
    for s in selections:
        s.project = project
        records.append(draw_record(s))
    return {**records[-1], "rounds": records}
