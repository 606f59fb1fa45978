"""Forced-agency rules on concentration: one intermediary winning a large share of a
department's projects (FA03) and a captive supplier, with contracts with one owner only
(FA08).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from marketplace.accounts.models import Organisation
from marketplace.core.money import money
from marketplace.procurement.models import Contract, Project
from marketplace.providers.models import Intermediary

from ...models import AwardTimeline, Category
from ..base import AWARD, COMPETITION, CONTRACT, REACH_WINNERS, Match, Rule, Scope, Threshold, register
from ..compiled import compiled_rows
from . import timeline
from .common import _awards, _day, _en, _had_rivals, _scoped, _trailing_count

# --- FA03 -------------------------------------------------------------------------------------


@register
class DepartmentShareConcentration(Rule):
    """FA03: one intermediary wins a large share of the projects tied to one department's
    approval items.

    Basis: a department that steers applicants to a favoured firm shows up as that firm winning
    an outsized share of the projects its approval items generate (OCP R040, R050). Only awards
    where the winner had rivals count, in the numerator and the denominator. The window ends at
    each of the firm's awards.
    Evidence: the department, the firm, its wins and the department's awarded projects in the
    window with the highest share, the share, the dates and the firm's projects."""

    code = "FA03"
    # An award, and an upheld objection annulling one (the project goes back to competition).
    phases = frozenset({AWARD, COMPETITION})
    category = Category.FORCED_AGENCY
    title_zh = "同一中介承接某部门审批事项项目比例过高"
    title_en = "One intermediary wins a large share of a department's projects"
    basis_zh = "与某部门审批事项相关的项目中，同一中介机构中选比例过高，疑似部门指定中介（OCP R040、R050）。"
    basis_en = (
        "One intermediary wins an outsized share of the projects tied to one department's approval "
        "items: a sign that the department steers applicants to it (OCP R040, R050)."
    )
    default_weight = 8
    thresholds = {
        "share": Threshold(
            Decimal("40"),
            Decimal,
            Decimal("1"),
            Decimal("100"),
            "中选比例不低于（%）",
            "Share of wins at least (%)",
        ),
        "min_projects": Threshold(
            10, int, 2, 10000, "期间内项目不少于（个）", "Projects in the window at least"
        ),
        "days": Threshold(365, int, 1, 3650, "统计期间（天）", "Window (days)"),
    }
    ocp = ("R040", "R050")
    scopes = ("project", "intermediary")

    @staticmethod
    def departments(scope: Scope) -> list[int]:
        """The departments whose approval items the scope's projects serve (read once per run:
        ``find`` and ``responsible`` both ask)."""
        key = ("FA03", "departments")
        if key not in scope.cache:
            rows = compiled_rows(
                ("FA03", "departments"),
                lambda ids: Project.objects.filter(pk__any=ids, approval_item__isnull=False).values(
                    "approval_item__department_id"
                ),
                ids=scope.project_ids or [],
            )
            scope.cache[key] = sorted({row["approval_item__department_id"] for row in rows})
        return scope.cache[key]

    def responsible(self, scope: Scope, flags: list) -> list:
        if scope.full:
            return flags
        touched = set(self.departments(scope))
        return [flag for flag in flags if flag.department_id in touched]

    def find(self, scope: Scope, params: dict) -> list[Match]:
        if scope.full:
            # Rebuilt with every full scan, so per-change scans start from the whole market.
            timeline.rebuild()
            return self._find_full(params)
        return self._find_scoped(scope, params)

    def _find_full(self, params: dict) -> list[Match]:
        """Window functions over every award: the department's awards and the firm's in the
        days ending at each award."""
        days, share = params["days"], params["share"]
        awards = _awards().filter(project__approval_item__isnull=False).filter(_had_rivals())
        department = "project__approval_item__department_id"
        ends = (
            awards.annotate(
                total=_trailing_count(days, department),
                won=_trailing_count(days, department, "winner__intermediary_id"),
            )
            .filter(total__gte=params["min_projects"])
            .annotate(
                won_pct=ExpressionWrapper(F("won") * 100, output_field=IntegerField()),
                needed=ExpressionWrapper(
                    F("total") * Value(share, output_field=DecimalField(max_digits=7, decimal_places=2)),
                    output_field=DecimalField(max_digits=20, decimal_places=2),
                ),
            )
            .filter(won_pct__gte=F("needed"))
            .order_by()
            .values_list(department, "winner__intermediary_id", "performed_at", "won", "total")
        )
        best = _best_windows(ends)
        if not best:
            return []
        rows = (
            awards.filter(
                winner__intermediary_id__in={firm for _, firm in best},
                project__approval_item__department_id__in={d for d, _ in best},
            )
            .order_by("performed_at", "pk")
            .values_list(
                department,
                "project__approval_item__department__name_zh",
                "project__approval_item__department__name_en",
                "winner__intermediary_id",
                "winner__intermediary__name",
                "performed_at",
                "project__public_number",
            )
        )
        return _matches(best, rows, days)

    def _find_scoped(self, scope: Scope, params: dict) -> list[Match]:
        """The scope's firms' windows in the scope's departments, counted on the award timeline:
        the department's awards in a window are the difference of two numbers found by index,
        less the awards without rivals (rare service types with one firm or none), so the
        department's other awards are never read. Answers only for the scope's departments'
        flags (``responsible``)."""
        departments = self.departments(scope)
        timeline.sync(scope.project_ids or [])
        firms = scope.intermediary_ids or []
        if not departments or not firms:
            return []
        days, share, least = params["days"], params["share"], params["min_projects"]
        span = days * 86400
        lonely_types = timeline.lonely_service_types()
        no_rivals = timeline.without_rivals(lonely_types)
        rivals = AwardTimeline.objects.exclude(no_rivals) if no_rivals else AwardTimeline.objects.all()
        window = Q(
            department_id=OuterRef("department_id"), at__gt=OuterRef("at") - span, at__lte=OuterRef("at")
        )
        lonely = _count(AwardTimeline.objects.filter(window).filter(no_rivals)) if no_rivals else Value(0)
        names = ("department_id", "intermediary_id", "performed_at", "won", "upto", "before", "lonely")
        ends = compiled_rows(
            ("FA03", "ends", span, tuple(sorted(lonely_types.items()))),
            lambda departments, firms: (
                rivals.filter(department_id__any=departments, intermediary_id__any=firms)
                .annotate(
                    upto=_last_seq(OuterRef("at")),
                    before=Coalesce(_last_seq(OuterRef("at") - span), 0),
                    won=_count(rivals.filter(window, intermediary_id=OuterRef("intermediary_id"))),
                    lonely=lonely,
                )
                .order_by()
                .values(*names)
            ),
            departments=departments,
            firms=firms,
        )
        counted = []
        for department_id, firm_id, end, won, upto, before, without in (
            tuple(r[n] for n in names) for r in ends
        ):
            total = upto - before - without
            if total >= least and won * 100 >= total * share:
                counted.append((department_id, firm_id, end, won, total))
        best = _best_windows(counted)
        if not best:
            return []
        rows = (
            rivals.filter(
                intermediary_id__in={firm for _, firm in best}, department_id__in={d for d, _ in best}
            )
            .order_by("performed_at", "selection_id")
            .values_list(
                "department_id",
                "department__name_zh",
                "department__name_en",
                "intermediary_id",
                "intermediary__name",
                "performed_at",
                "project__public_number",
            )
        )
        return _scoped(scope, _matches(best, rows, days))

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        projects = ", ".join(e["projects"])
        if _en(language):
            department = e.get("department_en") or e["department"]
            return (
                f"{e['intermediary']} won {e['won']} of the {e['total']} projects tied to the approval "
                f"items of {department} between {e['from']} and {e['to']} ({e['share']}%): {projects}."
            )
        return (
            f"{e['from']} 至 {e['to']}，{e['department']} 审批事项相关的 {e['total']} 个项目中，"
            f"{e['intermediary']} 中选 {e['won']} 个（{e['share']}%）：{projects}。"
        )


def _last_seq(at) -> Coalesce:
    """The number of the department's (``OuterRef``) last award at or before ``at``: its count
    of awards up to then."""
    return Coalesce(
        Subquery(
            AwardTimeline.objects.filter(department_id=OuterRef("department_id"), at__lte=at)
            .order_by("-at", "-seq")
            .values("seq")[:1]
        ),
        0,
    )


def _count(rows: QuerySet) -> Coalesce:
    """How many of ``rows`` (filtered on the outer row's department) there are, as a subquery."""
    counted = rows.order_by().values("department_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), 0)


def _best_windows(ends) -> dict[tuple[int, int], tuple[Decimal, Any, int, int]]:
    """The highest share (then the latest end) per department and firm, from qualifying
    windows ``(department, firm, end, won, total)``."""
    best: dict[tuple[int, int], tuple[Decimal, Any, int, int]] = {}
    for department_id, firm_id, end, won, total in ends:
        ratio = Decimal(won) / Decimal(total)
        current = best.get((department_id, firm_id))
        if current is None or (ratio, end) > (current[0], current[1]):
            best[(department_id, firm_id)] = (ratio, end, won, total)
    return best


def _matches(best: dict, rows, days: int) -> list[Match]:
    """One match per department and firm, with the projects of its best window."""
    span = timedelta(days=days)
    found: dict[tuple[int, int], dict[str, Any]] = {}
    for department_id, name_zh, name_en, firm_id, firm, at, number in rows:
        chosen = best.get((department_id, firm_id))
        if chosen is None or not chosen[1] - span < at <= chosen[1]:
            continue
        ratio, end, won, total = chosen
        item = found.setdefault(
            (department_id, firm_id),
            {
                "department": name_zh,
                "department_en": name_en,
                "intermediary": firm,
                "won": won,
                "total": total,
                "share": (ratio * 100).quantize(Decimal("0.1")),
                "days": days,
                "from": _day(end - span),
                "to": _day(end),
                "projects": [],
            },
        )
        item["projects"].append(number)
    return [
        Match(
            subject_type="department",
            subject_id=department_id,
            department_id=department_id,
            intermediary_id=firm_id,
            evidence=evidence,
            key={"department": department_id, "intermediary": firm_id},
        )
        for (department_id, firm_id), evidence in found.items()
    ]


# --- FA08 -------------------------------------------------------------------------------------


@register
class CaptiveSupplier(Rule):
    """FA08: a captive supplier: a firm with several contracts with one owner and none with
    anyone else.

    Basis: a firm that only ever works for one owner on the platform is often that owner's (or
    its department's) designated or affiliated supplier. Evidence: the firm, the owner, the number
    of contracts and their total amount."""

    code = "FA08"
    phases = frozenset({AWARD, CONTRACT})
    reach = REACH_WINNERS
    category = Category.FORCED_AGENCY
    title_zh = "专属供应商：仅与同一业主签约"
    title_en = "Captive supplier: contracts with one owner only"
    basis_zh = "中介机构在平台上的多份合同全部来自同一业主，未与其他业主签约，疑似业主指定或关联的专属中介。"
    basis_en = (
        "A firm whose several contracts on the platform all come from one owner and none from anyone "
        "else: often the owner's designated or affiliated supplier."
    )
    default_weight = 6
    thresholds = {"more_than": Threshold(3, int, 1, 1000, "合同数超过（份）", "Contracts more than")}
    ocp = ()
    scopes = ("project", "intermediary")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        rows = scope.rows(
            ("FA08", params["more_than"]),
            lambda s: (
                s.firms(Contract.objects.all(), "intermediary_id")
                .values("intermediary_id")
                .annotate(
                    owners=Count("project__owner_id", distinct=True),
                    n=Count("pk"),
                    owner_id=Max("project__owner_id"),
                    total=Sum("amount"),
                )
                .filter(owners=1, n__gt=params["more_than"])
                .values("intermediary_id", "owner_id", "n", "total")
            ),
        )
        rows = list(rows)
        if not rows:
            return []
        names = dict(
            Intermediary.objects.filter(pk__in=[r["intermediary_id"] for r in rows]).values_list("pk", "name")
        )
        owners = dict(
            Organisation.objects.filter(pk__in=[r["owner_id"] for r in rows]).values_list("pk", "name")
        )
        matches = [
            Match(
                subject_type="intermediary",
                subject_id=row["intermediary_id"],
                intermediary_id=row["intermediary_id"],
                owner_id=row["owner_id"],
                evidence={
                    "intermediary": names[row["intermediary_id"]],
                    "owner": owners[row["owner_id"]],
                    "contracts": row["n"],
                    "total": money(row["total"]),
                },
                key={"intermediary": row["intermediary_id"], "owner": row["owner_id"]},
            )
            for row in rows
        ]
        return _scoped(scope, matches)

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        if _en(language):
            return (
                f"All {e['contracts']} contracts of {e['intermediary']} on the platform ({e['total']} CNY) "
                f"are with {e['owner']}; it has none with any other owner."
            )
        return (
            f"{e['intermediary']} 在平台上的全部 {e['contracts']} 份合同（共 {e['total']} 元）均与 "
            f"{e['owner']} 签订，未与其他业主签约。"
        )
