"""Competition rules on the applications of one round: a single valid applicant (CO01) and
identical quotes in a price competition (CO02).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q

from marketplace.procurement.models import Application, Method, Project

from ...models import Category
from ..base import AWARD, COMPETITION, REACH_PROJECT, Match, Rule, Scope, Threshold, register
from .common import (
    CLOSED_ROUND,
    JUDGED,
    PRICE_COMPETES,
    PROJECT_FIELDS,
    _english,
    _method,
    _money,
    _names,
    _project_match,
)


@register
class SingleValidApplicant(Rule):
    """CO01: a competitive round that ended with one valid applicant (OCP R018 "single bid").
    Basis: a round with a single bidder has no competition; repeated, it points at tailored
    requirements or bidders kept away. Evidence: the project, its method and the one applicant."""

    code = "CO01"
    phases = frozenset({COMPETITION, AWARD})
    reach = REACH_PROJECT
    methods = frozenset(Method.values) - {Method.DIRECT}
    category = Category.COMPETITION
    title_zh = "仅一家有效报名"
    title_en = "Single valid applicant"
    basis_zh = "竞争性选取只有一家有效报名，缺乏竞争（OCP R018）。"
    basis_en = "A competitive round with one valid applicant has no competition (OCP R018)."
    default_weight = 5
    thresholds = {"max_valid": Threshold(1, int, 1, 5, "有效报名不超过（家）", "Valid applicants at most")}
    ocp = ("R018",)

    def find(self, scope: Scope, params: dict) -> list[Match]:
        rows = scope.rows(
            ("CO01", params["max_valid"]),
            lambda s: (
                s.projects(Project.objects.filter(status__in=CLOSED_ROUND).exclude(method=Method.DIRECT))
                .annotate(valid=Count("applications", filter=Q(applications__state="valid")))
                .filter(valid__gte=1, valid__lte=params["max_valid"])
                .values("pk", "public_number", "method", "valid", "owner_id", "department_id")
            ),
        )
        return [
            Match(
                subject_type="project",
                subject_id=row["pk"],
                project_id=row["pk"],
                owner_id=row["owner_id"],
                department_id=row["department_id"],
                evidence={"project": row["public_number"], "method": row["method"], "valid": row["valid"]},
                key={"project": row["pk"]},
            )
            for row in rows
        ]

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        if language.startswith("en"):
            return f"Project {evidence['project']} ({evidence['method']}) had only {evidence['valid']} valid applicant(s)."
        return f"项目 {evidence['project']}（{Method(evidence['method']).label}）仅有 {evidence['valid']} 家有效报名。"


# --- CO02 ---------------------------------------------------------------------------------------


@register
class IdenticalQuotes(Rule):
    """CO02: different applicants of one round quoted exactly the same amount where the price
    competes (OCP R028 "identical bid prices"). Basis: independent firms pricing the same work
    rarely arrive at the same figure; identical quotes point at coordinated bids or a leaked
    price (《招标投标法实施条例》第四十条). Random draws are left out, since there every firm
    quotes the owner's fixed price. Evidence: the project, its method, and each shared amount
    with the firms that quoted it."""

    code = "CO02"
    phases = frozenset({COMPETITION})
    methods = frozenset(PRICE_COMPETES)
    category = Category.COMPETITION
    title_zh = "不同报名人报价完全相同"
    title_en = "Identical quotes from different applicants"
    basis_zh = (
        "价格参与竞争的选取中，不同中介机构报价金额完全一致，可能存在串通报价或报价泄露"
        "（《招标投标法实施条例》第四十条；OCP R028）。随机抽取按业主定价报价，不在此列。"
    )
    basis_en = (
        "Where the price competes, different firms quoting exactly the same amount points at "
        "collusion or a leaked price (OCP R028). Random draws at the owner's fixed price are excluded."
    )
    default_weight = 8
    thresholds = {
        "min_firms": Threshold(
            2, int, 2, 10, "报价相同的机构至少（家）", "Firms quoting the same amount at least"
        )
    }
    ocp = ("R028",)

    def find(self, scope: Scope, params: dict) -> list[Match]:
        judged = Application.objects.filter(
            state__in=JUDGED, quote_amount__isnull=False, project__method__in=PRICE_COMPETES
        )
        same = judged.filter(
            project_id=OuterRef("project_id"), quote_amount=OuterRef("quote_amount")
        ).exclude(intermediary_id=OuterRef("intermediary_id"))
        rows = scope.rows(
            "CO02",
            lambda s: (
                s.projects(judged, "project_id")
                .filter(Exists(same))
                .values(
                    *PROJECT_FIELDS,
                    "quote_amount",
                    "intermediary__name",
                    "intermediary__uscc",
                )
                .order_by("project_id", "quote_amount", "intermediary__uscc")
            ),
        )
        projects: dict[int, dict] = {}
        amounts: dict[int, dict[Decimal, list[dict]]] = defaultdict(lambda: defaultdict(list))
        for row in rows:
            projects[row["project_id"]] = row
            amounts[row["project_id"]][row["quote_amount"]].append(
                {"name": row["intermediary__name"], "uscc": row["intermediary__uscc"]}
            )
        matches = []
        for pk, by_amount in amounts.items():
            groups = [
                {"amount": _money(amount), "firms": firms}
                for amount, firms in by_amount.items()
                if len(firms) >= params["min_firms"]
            ]
            if groups:
                row = projects[pk]
                evidence = {
                    "project": row["project__public_number"],
                    "method": row["project__method"],
                    "groups": groups,
                }
                matches.append(
                    _project_match(pk, row["project__owner_id"], row["project__department_id"], evidence)
                )
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        method = _method(evidence["method"], language)
        if _english(language):
            parts = "; ".join(
                f"{_names(g['firms'], language)} all quoted {g['amount']} yuan" for g in evidence["groups"]
            )
            return f"In project {evidence['project']} ({method}) different applicants quoted the same amount: {parts}."
        parts = "；".join(
            f"{_names(g['firms'], language)} 均报价 {g['amount']} 元" for g in evidence["groups"]
        )
        return f"项目 {evidence['project']}（{method}）中不同报名人报价完全相同：{parts}。"
