"""Forced-agency rule FA04: a project asking for more than its service type allows."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import (
    Exists,
    F,
    OuterRef,
    Q,
    Subquery,
)

from marketplace.catalog.models import ServiceTypeQualification
from marketplace.core.validators import find_regional_restriction
from marketplace.procurement.models import (
    Project,
    Requirement,
)

from ...models import Category
from ..base import POSTING, REACH_PROJECT, Match, Rule, Scope, Threshold, register
from .common import POSTED_STATUSES, _en, _scoped

# --- FA04 -------------------------------------------------------------------------------------


@register
class RequirementsBeyondAllowance(Rule):
    """FA04: a project asks for more than its service type allows: a qualification type the
    service may not require, a level above the standard level (rank 1 is the highest grade),
    more practitioners than the standard, or wording that limits who may serve by region.

    Basis: requirements must be legal and not tailored (量身定制) to one firm; the reform bans
    regional or sector limits (应进必进; OCP R006, R007). The services refuse these at posting, so a match means the record was
    changed outside them. Evidence: the project and each finding."""

    code = "FA04"
    phases = frozenset({POSTING})
    reach = REACH_PROJECT
    category = Category.FORCED_AGENCY
    title_zh = "资格要求超出服务事项标准"
    title_en = "Requirements beyond the service type's allowance"
    basis_zh = (
        "项目设置了服务事项不允许的资质类型、高于标准的资质等级、超出标准的从业人员数或地域限制，"
        "疑似量身定制排斥潜在中介（OCP R006、R007）。"
    )
    basis_en = (
        "The project requires a qualification type the service may not require, a level above the "
        "standard, more practitioners than the standard, or sets a regional limit: requirements "
        "tailored to exclude competitors (OCP R006, R007)."
    )
    default_weight = 10
    thresholds = {
        "practitioner_margin": Threshold(
            0, int, 0, 50, "从业人员可超出标准（人）", "Practitioners allowed above the standard"
        ),
        "regional_wording": Threshold(
            True, bool, label_zh="检查地域限制用语", label_en="Check regional wording"
        ),
    }
    ocp = ("R006", "R007")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        projects = scope.projects(Project.objects.filter(status__in=POSTED_STATUSES))
        allowance = ServiceTypeQualification.objects.filter(
            service_type_id=OuterRef("project__service_type_id"),
            qualification_type_id=OuterRef("qualification_type_id"),
        )
        requirements = (
            Requirement.objects.filter(project__in=projects)
            .annotate(
                allowed=Exists(allowance),
                standard_rank=Subquery(allowance.values("standard_level__rank")[:1]),
                standard_zh=Subquery(allowance.values("standard_level__name_zh")[:1]),
                standard_en=Subquery(allowance.values("standard_level__name_en")[:1]),
            )
            .filter(Q(allowed=False) | Q(min_level__rank__lt=F("standard_rank")))
            .order_by("project_id", "qualification_type__code")
            .values(
                "project_id",
                "allowed",
                "qualification_type__name_zh",
                "qualification_type__name_en",
                "min_level__name_zh",
                "min_level__name_en",
                "standard_zh",
                "standard_en",
            )
        )
        findings: dict[int, list[dict]] = defaultdict(list)
        for r in requirements:
            finding = {
                "qualification": r["qualification_type__name_zh"],
                "qualification_en": r["qualification_type__name_en"],
            }
            if r["allowed"]:
                finding.update(
                    kind="level_above_standard",
                    level=r["min_level__name_zh"],
                    level_en=r["min_level__name_en"],
                    standard=r["standard_zh"],
                    standard_en=r["standard_en"],
                )
            else:
                finding["kind"] = "extra_qualification"
            findings[r["project_id"]].append(finding)
        margin = params["practitioner_margin"]
        if not params["regional_wording"]:
            projects = projects.filter(
                Q(pk__in=list(findings))
                | Q(required_practitioners__gt=F("service_type__standard_practitioners") + margin)
            )
        # With the regional check on, every posted project's texts are read in this one query.
        rows = projects.values(
            "pk",
            "public_number",
            "title",
            "service_content",
            "method_reason",
            "required_practitioners",
            "service_type__standard_practitioners",
            "owner_id",
            "department_id",
        )
        matches = []
        for row in rows:
            found = list(findings.get(row["pk"], []))
            standard = row["service_type__standard_practitioners"]
            if row["required_practitioners"] > standard + margin:
                found.append(
                    {
                        "kind": "excess_practitioners",
                        "required": row["required_practitioners"],
                        "standard": standard,
                    }
                )
            if params["regional_wording"]:
                for field in ("title", "service_content", "method_reason"):
                    phrase = find_regional_restriction(row[field] or "")
                    if phrase:
                        found.append({"kind": "regional", "field": field, "phrase": phrase})
            if not found:
                continue
            matches.append(
                Match(
                    subject_type="project",
                    subject_id=row["pk"],
                    project_id=row["pk"],
                    owner_id=row["owner_id"],
                    department_id=row["department_id"],
                    evidence={"project": row["public_number"], "findings": found},
                    key={"project": row["pk"]},
                )
            )
        return _scoped(scope, matches)

    FIELDS = {
        "title": ("项目名称", "title"),
        "service_content": ("服务内容", "service content"),
        "method_reason": ("选取方式说明", "method reason"),
    }

    def _finding(self, f: dict, en: bool) -> str:
        kind = f["kind"]
        if kind == "extra_qualification":
            if en:
                return f"requires {f.get('qualification_en') or f['qualification']}, which the service may not require"
            return f"要求该服务事项不可要求的资质“{f['qualification']}”"
        if kind == "level_above_standard":
            if en:
                return (
                    f"requires {f.get('qualification_en') or f['qualification']} at "
                    f"{f.get('level_en') or f['level']}, above the standard {f.get('standard_en') or f['standard']}"
                )
            return f"要求“{f['qualification']}”{f['level']}，高于标准等级{f['standard']}"
        if kind == "excess_practitioners":
            if en:
                return f"requires {f['required']} practitioners where the standard is {f['standard']}"
            return f"要求从业人员 {f['required']} 人，超过标准 {f['standard']} 人"
        zh, english = self.FIELDS.get(f["field"], (f["field"], f["field"]))
        if en:
            return f"its {english} limits by region (\u201c{f['phrase']}\u201d)"
        return f"{zh}含地域限制用语“{f['phrase']}”"

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        en = _en(language)
        parts = [self._finding(f, en) for f in evidence["findings"]]
        if en:
            return f"Project {evidence['project']} " + "; ".join(parts) + "."
        return f"项目 {evidence['project']}：" + "；".join(parts) + "。"
