"""Forced-agency rules on filed records: an approval case filed with a report not procured on
the platform (FA06) and complaints alleging designation (FA07).
"""

from __future__ import annotations

from typing import Any

from django.db.models import (
    Exists,
    OuterRef,
    QuerySet,
    Subquery,
)

from marketplace.catalog.models import ServiceType
from marketplace.procurement.models import (
    Project,
)
from marketplace.providers.models import Intermediary

from ...models import Category, Complaint, FiledReport
from ..base import AWARD, COMPLAINT, REACH_WINNERS, Match, Rule, Scope, Threshold, register
from ..compiled import compiled_rows
from .common import EXCERPT, _awards, _day, _en, _scoped

# --- FA06 -------------------------------------------------------------------------------------


def _unprocured(reports: QuerySet) -> QuerySet:
    """The reports filed with a case whose firm won no award on the platform for that case and
    service."""
    won_here = _awards().filter(
        project__approval_case_number=OuterRef("approval_case_number"),
        project__service_type__code=OuterRef("service_type_code"),
        winner__intermediary__uscc=OuterRef("intermediary_uscc"),
    )
    return reports.exclude(approval_case_number="").exclude(Exists(won_here))


@register
class OffPlatformReport(Rule):
    """FA06: an approval case was filed with an intermediary's report that was not procured on
    the platform.

    Basis: services that approvals require must be bought through the supermarket (DESIGN §1);
    a report filed with a case (posted by the approval system, ``FiledReport``) with no project
    for that case and service type won here by that firm was procured off-platform, where the
    applicant may have been told whom to use. Evidence: the department, case number, service
    type, the firm's code (and name when it is listed), the filing date, and the platform's
    project for the case with its winner when there is one."""

    code = "FA06"
    phases = frozenset({AWARD})
    reach = REACH_WINNERS
    firm_records = True
    category = Category.FORCED_AGENCY
    title_zh = "审批案件备案的中介报告未经中介超市选取"
    title_en = "Approval case filed with a report not procured on the platform"
    basis_zh = "审批案件所附中介服务报告的出具机构未通过中介超市选取（场外委托），可能存在指定中介。"
    basis_en = (
        "An approval case was filed with a report by an intermediary that was not selected through the "
        "supermarket (procured off-platform), where the applicant may have been told whom to use."
    )
    default_weight = 12
    thresholds: dict[str, Threshold] = {}
    ocp = ()
    scopes = ("intermediary",)

    def find(self, scope: Scope, params: dict) -> list[Match]:
        if not scope.full and not scope.intermediary_ids:
            return []
        for_case = Project.objects.filter(
            approval_case_number=OuterRef("approval_case_number"),
            service_type__code=OuterRef("service_type_code"),
        )
        unprocured = _unprocured(FiledReport.objects.all())
        if not scope.full:
            # A per-change run usually finds none: ask for the reports first, and plan the seven
            # lookups that describe them (PostgreSQL spends milliseconds planning them) only for
            # the reports found.
            found = [
                row["pk"]
                for row in compiled_rows(
                    ("FA06", "unprocured"),
                    lambda firms: (
                        _unprocured(
                            FiledReport.objects.filter(
                                intermediary_uscc__in=Intermediary.objects.filter(pk__any=firms).values(
                                    "uscc"
                                )
                            )
                        )
                        .order_by()
                        .values("pk")
                    ),
                    firms=scope.intermediary_ids,
                )
            ]
            if not found:
                return []
            unprocured = FiledReport.objects.filter(pk__in=found)
        firm = Intermediary.objects.filter(uscc=OuterRef("intermediary_uscc"))
        platform_award = _awards().filter(project_id=OuterRef("platform_project_id")).order_by("-round")
        rows = (
            unprocured.annotate(
                firm_id=Subquery(firm.values("pk")[:1]),
                firm_name=Subquery(firm.values("name")[:1]),
                platform_project_id=Subquery(for_case.order_by("-pk").values("pk")[:1]),
                platform_project=Subquery(for_case.order_by("-pk").values("public_number")[:1]),
                service_zh=Subquery(
                    ServiceType.objects.filter(code=OuterRef("service_type_code")).values("name_zh")[:1]
                ),
                service_en=Subquery(
                    ServiceType.objects.filter(code=OuterRef("service_type_code")).values("name_en")[:1]
                ),
            )
            .annotate(platform_winner=Subquery(platform_award.values("winner__intermediary__name")[:1]))
            .values(
                "pk",
                "department_id",
                "department__name_zh",
                "department__name_en",
                "approval_case_number",
                "service_type_code",
                "intermediary_uscc",
                "filed_on",
                "firm_id",
                "firm_name",
                "platform_project",
                "platform_winner",
                "service_zh",
                "service_en",
            )
        )
        matches = [
            Match(
                subject_type="department",
                subject_id=row["department_id"],
                department_id=row["department_id"],
                intermediary_id=row["firm_id"],
                evidence={
                    "department": row["department__name_zh"],
                    "department_en": row["department__name_en"],
                    "case": row["approval_case_number"],
                    "service_type": row["service_type_code"],
                    "service": row["service_zh"] or row["service_type_code"],
                    "service_en": row["service_en"] or row["service_type_code"],
                    "uscc": row["intermediary_uscc"],
                    "intermediary": row["firm_name"],
                    "filed_on": row["filed_on"],
                    "platform_project": row["platform_project"],
                    "platform_winner": row["platform_winner"],
                },
                key={"report": row["pk"]},
            )
            for row in rows
        ]
        return _scoped(scope, matches)

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        if _en(language):
            firm = (
                f"{e['intermediary']} ({e['uscc']})"
                if e.get("intermediary")
                else f"a firm not on the platform ({e['uscc']})"
            )
            if e.get("platform_project"):
                where = f"project {e['platform_project']} for that case was won by {e.get('platform_winner') or 'no one yet'}"
            else:
                where = "no project for that case and service was posted here"
            department = e.get("department_en") or e["department"]
            return (
                f"{department} filed case {e['case']} on {e['filed_on']} with a {e['service_en']} report by "
                f"{firm}, which was not selected on the platform: {where}."
            )
        firm = (
            f"{e['intermediary']}（{e['uscc']}）" if e.get("intermediary") else f"未入驻机构（{e['uscc']}）"
        )
        if e.get("platform_project"):
            where = (
                f"该案件的项目 {e['platform_project']} 中选机构为{e.get('platform_winner') or '（尚未选定）'}"
            )
        else:
            where = "平台上没有该案件和服务事项的项目"
        return (
            f"{e['department']} 于 {e['filed_on']} 备案的审批案件 {e['case']} 所附“{e['service']}”报告由 "
            f"{firm} 出具，未经中介超市选取：{where}。"
        )


# --- FA07 -------------------------------------------------------------------------------------


@register
class DesignationComplaint(Rule):
    """FA07: complaints alleging that an official designated an intermediary (反映指定中介).

    Basis: forced agency is banned (枣政办字〔2019〕21号 item 15); a complaint is the most direct
    evidence of it (OCP R020). One flag per subject: the project when the complaint
    names one, else the department, else the firm. Evidence: the complaints' ids, dates and
    excerpts, and the subject's name."""

    code = "FA07"
    # Only a complaint moves it: filing one about a project rescans the project for it, and no
    # transition of the project does.
    phases = frozenset({COMPLAINT})
    category = Category.FORCED_AGENCY
    title_zh = "投诉反映指定中介"
    title_en = "Complaint alleging designation"
    basis_zh = "有投诉反映公职人员或部门指定中介机构（强制代理），须核查（OCP R020）。"
    basis_en = "A complaint alleges that an official or a department designated an intermediary (OCP R020)."
    default_weight = 6
    thresholds = {
        "min_complaints": Threshold(
            1, int, 1, 100, "同一对象投诉不少于（件）", "Complaints about a subject at least"
        )
    }
    ocp = ("R020",)

    def find(self, scope: Scope, params: dict) -> list[Match]:
        complaints = scope.projects_or_firms(
            Complaint.objects.filter(alleges_designation=True), "project_id", "intermediary_id"
        )
        rows = complaints.order_by("filed_at", "pk").values(
            "pk",
            "filed_at",
            "text",
            "project_id",
            "project__public_number",
            "project__owner_id",
            "department_id",
            "department__name_zh",
            "department__name_en",
            "intermediary_id",
            "intermediary__name",
        )
        groups: dict[tuple[str, int], dict[str, Any]] = {}
        for row in rows:
            if row["project_id"]:
                subject = ("project", row["project_id"])
                base = {
                    "project_id": row["project_id"],
                    "owner_id": row["project__owner_id"],
                    "department_id": row["department_id"],
                    "evidence": {"project": row["project__public_number"]},
                }
            elif row["department_id"]:
                subject = ("department", row["department_id"])
                base = {
                    "department_id": row["department_id"],
                    "evidence": {
                        "department": row["department__name_zh"],
                        "department_en": row["department__name_en"],
                    },
                }
            else:
                subject = ("intermediary", row["intermediary_id"])
                base = {
                    "intermediary_id": row["intermediary_id"],
                    "evidence": {"intermediary": row["intermediary__name"]},
                }
            group = groups.setdefault(subject, {**base, "complaints": []})
            group["complaints"].append(
                {"id": row["pk"], "filed_on": _day(row["filed_at"]), "excerpt": row["text"][:EXCERPT]}
            )
        matches = []
        for (subject_type, subject_id), group in groups.items():
            if len(group["complaints"]) < params["min_complaints"]:
                continue
            evidence = {**group["evidence"], "subject": subject_type, "complaints": group["complaints"]}
            matches.append(
                Match(
                    subject_type=subject_type,
                    subject_id=subject_id,
                    project_id=group.get("project_id"),
                    intermediary_id=group.get("intermediary_id"),
                    owner_id=group.get("owner_id"),
                    department_id=group.get("department_id"),
                    evidence=evidence,
                    key={"subject": [subject_type, subject_id]},
                )
            )
        return _scoped(scope, matches)

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        n = len(e["complaints"])
        dates = ", ".join(c["filed_on"] for c in e["complaints"])
        first = e["complaints"][0]["excerpt"]
        if _en(language):
            subject = {
                "project": f"project {e.get('project')}",
                "department": e.get("department_en") or e.get("department"),
                "intermediary": e.get("intermediary"),
            }[e["subject"]]
            return f"{n} complaint(s) allege designation concerning {subject} ({dates}): \u201c{first}\u201d"
        subject = {
            "project": f"项目 {e.get('project')}",
            "department": e.get("department"),
            "intermediary": e.get("intermediary"),
        }[e["subject"]]
        return f"有 {n} 件投诉反映{subject}存在指定中介（{dates}）：“{first}”"
