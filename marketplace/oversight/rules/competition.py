"""Competition red flags (CO01-CO09)."""

from __future__ import annotations

from django.db.models import Count, Q

from marketplace.procurement.models import Method, Project

from ..models import Category
from .base import Match, Rule, Scope, Threshold, register

SELECTED_OR_LATER = [
    "selected",
    "objection_pending",
    "contracting",
    "in_service",
    "delivered",
    "accepted",
    "rated",
    "closed",
]
# Statuses in which the round's applications have been unsealed and judged valid or not.
CLOSED_ROUND = ["registration_closed", "selecting", "failed", *SELECTED_OR_LATER]


@register
class SingleValidApplicant(Rule):
    """CO01: a competitive round that ended with one valid applicant (OCP R018 "single bid").
    Basis: a round with a single bidder has no competition; repeated, it points at tailored
    requirements or bidders kept away. Evidence: the project, its method and the one applicant."""

    code = "CO01"
    category = Category.COMPETITION
    title_zh = "仅一家有效报名"
    title_en = "Single valid applicant"
    basis_zh = "竞争性选取只有一家有效报名，缺乏竞争（OCP R018）。"
    basis_en = "A competitive round with one valid applicant has no competition (OCP R018)."
    default_weight = 5
    thresholds = {"max_valid": Threshold(1, int, 1, 5, "有效报名不超过（家）", "Valid applicants at most")}
    ocp = ("R018",)

    def find(self, scope: Scope, params: dict) -> list[Match]:
        rows = (
            scope.projects(Project.objects.filter(status__in=CLOSED_ROUND).exclude(method=Method.DIRECT))
            .annotate(valid=Count("applications", filter=Q(applications__state="valid")))
            .filter(valid__gte=1, valid__lte=params["max_valid"])
            .values("pk", "public_number", "method", "valid", "owner_id", "department_id")
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
