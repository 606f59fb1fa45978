"""Credit (信用评价) and the blacklist (黑名单).

A score out of 100 per intermediary, recomputed set-based (a few grouped queries for any number of
firms) whenever something it reads changes: a case's conclusion, a blacklist lifting, published
inspection results, and the periodic tick (ratings, walk-aways and late deliveries are written by
procurement, which never imports oversight). The published method, in the style of GB/T
39683-2020 (indicators, deductions, grades and disqualifying items):

======================  ==========================================================  =========
component               deduction                                                   cap
======================  ==========================================================  =========
ratings                 (5 - the public rating) x 5, for a firm that has been rated  20
confirmed violations    the code list's points for each violation, last 3 years      100
walk-aways              5 per winner walk-away in the last 365 days                  20
late delivery           3 per delivery more than 10 working days late, 365 days      15
regulator findings      2 per confirmed flag, 3 per inspection finding, 365 days     20
                        (not those a case concluded as a violation: counted there)
======================  ==========================================================  =========

Grades: A >= 90, B >= 80, C >= 70, D >= 60, else E. Disqualifying items (否决项) make the grade
E whatever the score: an active blacklisting, a disqualifying violation in the last 3 years, or
three walk-aways within 365 days.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.core.audit import audit_record
from marketplace.procurement.models import Escalation, WalkAway
from marketplace.procurement.services.common import notify
from marketplace.providers.models import Intermediary

from ..models import Flag
from .models import Blacklisting, CreditDeduction, CreditProfile, InspectionPlan, InspectionTarget

MAX_SCORE = Decimal("100")
VIOLATION_YEARS_DAYS = 3 * 365
RECENT_DAYS = 365
RATING_FACTOR, RATING_CAP = Decimal("5"), Decimal("20")
VIOLATION_CAP = Decimal("100")
WALKAWAY_POINTS, WALKAWAY_CAP, WALKAWAY_SERIOUS = Decimal("5"), Decimal("20"), 3
LATE_POINTS, LATE_CAP = Decimal("3"), Decimal("15")
FLAG_POINTS, FINDING_POINTS, FINDINGS_CAP = Decimal("2"), Decimal("3"), Decimal("20")
GRADES = ((Decimal("90"), "A"), (Decimal("80"), "B"), (Decimal("70"), "C"), (Decimal("60"), "D"))

COMPONENTS = ("ratings", "violations", "walkaways", "late_delivery", "findings")


def grade_for(score: Decimal, disqualified: bool) -> str:
    if disqualified:
        return "E"
    for floor, grade in GRADES:
        if score >= floor:
            return grade
    return "E"


def _grouped(queryset, field: str, aggregate) -> dict[int, Any]:
    return dict(queryset.values(field).annotate(v=aggregate).values_list(field, "v"))


@transaction.atomic
def credit_recompute(*, intermediary_ids: Iterable[int] | None = None, actor=None) -> int:
    """Recompute the score, grade and components of the given firms (all when None) in a fixed
    number of queries, write them onto the firms and their credit profiles, and audit the
    changes in one event. Returns the number of firms whose score or grade changed."""
    today = timezone.localdate()
    now = timezone.now()
    firms = Intermediary.objects.order_by("pk")
    if intermediary_ids is not None:
        firms = firms.filter(pk__in=list(intermediary_ids))
    rows = list(firms.values_list("pk", "rating_score", "credit_score", "credit_grade", "blacklisted_until"))
    if not rows:
        return 0
    ids = [row[0] for row in rows]
    violations_since = today - timedelta(days=VIOLATION_YEARS_DAYS)
    recent = now - timedelta(days=RECENT_DAYS)

    deductions = CreditDeduction.objects.filter(intermediary_id__in=ids, occurred_on__gte=violations_since)
    violation_points = _grouped(deductions, "intermediary_id", Sum("points"))
    disqualifying = set(
        deductions.filter(violation_type__disqualifying=True).values_list("intermediary_id", flat=True)
    )
    walkaways = _grouped(
        WalkAway.objects.filter(intermediary_id__in=ids, recorded_at__gte=recent),
        "intermediary_id",
        Count("pk"),
    )
    late = _grouped(
        Escalation.objects.filter(
            kind=Escalation.Kind.DELIVERY_SERIOUSLY_LATE,
            created_at__gte=recent,
            project__contract__intermediary_id__in=ids,
        ),
        "project__contract__intermediary_id",
        Count("pk"),
    )
    flags = _grouped(
        # A finding that a case turned into a violation counts once, as the violation.
        Flag.objects.filter(
            intermediary_id__in=ids, status=Flag.Status.CONFIRMED, decided_at__gte=recent
        ).exclude(cases__violation=True),
        "intermediary_id",
        Count("pk"),
    )
    findings = _grouped(
        InspectionTarget.objects.filter(
            intermediary_id__in=ids,
            result=InspectionTarget.Result.PROBLEM,
            plan__status=InspectionPlan.Status.CONCLUDED,
            recorded_at__gte=recent,
        ).exclude(cases__violation=True),
        "intermediary_id",
        Count("pk"),
    )

    profiles = {p.intermediary_id: p for p in CreditProfile.objects.filter(intermediary_id__in=ids)}
    changed_firms: list[Intermediary] = []
    new_profiles: list[CreditProfile] = []
    updated_profiles: list[CreditProfile] = []
    changes: dict[str, list[str]] = {}
    for pk, rating, old_score, old_grade, blacklisted_until in rows:
        components = {
            "ratings": min((Decimal("5") - rating) * RATING_FACTOR, RATING_CAP) if rating is not None else 0,
            "violations": min(Decimal(violation_points.get(pk, 0) or 0), VIOLATION_CAP),
            "walkaways": min(WALKAWAY_POINTS * walkaways.get(pk, 0), WALKAWAY_CAP),
            "late_delivery": min(LATE_POINTS * late.get(pk, 0), LATE_CAP),
            "findings": min(
                FLAG_POINTS * flags.get(pk, 0) + FINDING_POINTS * findings.get(pk, 0), FINDINGS_CAP
            ),
        }
        components = {key: Decimal(value).quantize(Decimal("0.01")) for key, value in components.items()}
        disqualifiers = []
        if blacklisted_until and blacklisted_until >= today:
            disqualifiers.append("blacklisted")
        if pk in disqualifying:
            disqualifiers.append("disqualifying_violation")
        if walkaways.get(pk, 0) >= WALKAWAY_SERIOUS:
            disqualifiers.append("serious_walkaways")
        score = max(MAX_SCORE - sum(components.values()), Decimal("0")).quantize(Decimal("0.01"))
        grade = grade_for(score, bool(disqualifiers))
        stored = {key: str(value) for key, value in components.items()}
        profile = profiles.get(pk)
        if profile is None:
            new_profiles.append(
                CreditProfile(
                    intermediary_id=pk,
                    score=score,
                    grade=grade,
                    components=stored,
                    disqualifiers=disqualifiers,
                    computed_at=now,
                )
            )
        else:
            profile.score, profile.grade, profile.components = score, grade, stored
            profile.disqualifiers, profile.computed_at = disqualifiers, now
            updated_profiles.append(profile)
        if old_score != score or old_grade != grade:
            changed_firms.append(Intermediary(pk=pk, credit_score=score, credit_grade=grade))
            changes[str(pk)] = [str(score), grade]
    CreditProfile.objects.bulk_create(new_profiles, batch_size=500)
    CreditProfile.objects.bulk_update(
        updated_profiles, ["score", "grade", "components", "disqualifiers", "computed_at"], batch_size=500
    )
    Intermediary.objects.bulk_update(changed_firms, ["credit_score", "credit_grade"], batch_size=500)
    if changes:
        audit_record(
            actor=actor,
            action="credit.recompute",
            object_type="providers.intermediary",
            object_id=f"batch:{len(changes)}",  # the firms and their scores are in ``after``
            after=changes,
        )
    return len(changes)


def blacklist_until_for(intermediary_id: int, today: date | None = None) -> date | None:
    """The last day of the firm's longest active blacklisting (what eligibility reads)."""
    today = today or timezone.localdate()
    return Blacklisting.objects.filter(
        intermediary_id=intermediary_id, lifted_at__isnull=True, ends_on__gte=today
    ).aggregate(end=Max("ends_on"))["end"]


@transaction.atomic
def blacklist_lift_expired(*, today: date | None = None) -> int:
    """Lift every blacklisting whose term has ended (idempotent: a lifted one is skipped) and
    write each affected firm's remaining term (or none) back onto the firm."""
    today = today or timezone.localdate()
    now = timezone.now()
    expired = list(
        Blacklisting.objects.select_for_update()
        .filter(lifted_at__isnull=True, ends_on__lt=today)
        .select_related("intermediary")
        .order_by("pk")
    )
    if not expired:
        return 0
    firm_ids = {b.intermediary_id for b in expired}
    for entry in expired:
        entry.lifted_at = now
        audit_record(
            actor=None,
            action="blacklist.lift",
            obj=entry,
            before={"lifted_at": None},
            after={"lifted_at": now, "ends_on": entry.ends_on},
        )
        notify(
            entry.intermediary.organisation_id,
            _("黑名单期限已届满，已自动移出黑名单：%(firm)s") % {"firm": entry.intermediary.name},
        )
    Blacklisting.objects.bulk_update(expired, ["lifted_at"])
    remaining = dict(
        Blacklisting.objects.filter(intermediary_id__in=firm_ids, lifted_at__isnull=True, ends_on__gte=today)
        .values("intermediary_id")
        .annotate(end=Max("ends_on"))
        .values_list("intermediary_id", "end")
    )
    Intermediary.objects.bulk_update(
        [Intermediary(pk=pk, blacklisted_until=remaining.get(pk)) for pk in firm_ids], ["blacklisted_until"]
    )
    credit_recompute(intermediary_ids=firm_ids)
    return len(expired)
