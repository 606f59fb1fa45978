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
    Sum,
    Value,
)

from marketplace.accounts.models import Organisation
from marketplace.core.money import money
from marketplace.procurement.models import Contract, Project
from marketplace.providers.models import Intermediary

from ...models import Category
from ..base import AWARD, CONTRACT, Match, Rule, Scope, Threshold, register
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
    phases = frozenset({AWARD})
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
        """The departments whose approval items the scope's projects serve."""
        return sorted(
            set(
                Project.objects.filter(
                    pk__in=scope.project_ids or [], approval_item__isnull=False
                ).values_list("approval_item__department_id", flat=True)
            )
        )

    def responsible(self, scope: Scope, flags: list) -> list:
        if scope.full:
            return flags
        touched = set(self.departments(scope))
        return [flag for flag in flags if flag.department_id in touched]

    def find(self, scope: Scope, params: dict) -> list[Match]:
        days, share = params["days"], params["share"]
        awards = _awards().filter(project__approval_item__isnull=False).filter(_had_rivals())
        department = "project__approval_item__department_id"
        counted = awards
        if not scope.full:
            # The windows are per department, and a change to the scope's projects can change
            # only their departments' windows: count those alone (leaving other departments
            # out changes no count), and answer only for their flags (``responsible``).
            counted = awards.filter(**{f"{department}__in": self.departments(scope)})
        # Window functions over the whole market (a scope filter before them would change the
        # counts): the department's awards and the firm's in the days ending at each award.
        ends = (
            counted.annotate(
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
        best: dict[tuple[int, int], tuple[Decimal, Any, int, int]] = {}
        for department_id, firm_id, end, won, total in ends:
            if not scope.full and firm_id not in (scope.intermediary_ids or ()):
                continue
            ratio = Decimal(won) / Decimal(total)
            current = best.get((department_id, firm_id))
            if current is None or (ratio, end) > (current[0], current[1]):
                best[(department_id, firm_id)] = (ratio, end, won, total)
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
        matches = [
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
        return _scoped(scope, matches)

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
        rows = (
            scope.firms(Contract.objects.all(), "intermediary_id")
            .values("intermediary_id")
            .annotate(
                owners=Count("project__owner_id", distinct=True),
                n=Count("pk"),
                owner_id=Max("project__owner_id"),
                total=Sum("amount"),
            )
            .filter(owners=1, n__gt=params["more_than"])
            .values("intermediary_id", "owner_id", "n", "total")
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
