"""Process rules on the registration period: a period shorter than the minimum (PR01) and an
application accepted after the deadline (PR02).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import F

from marketplace.core.workdays import working_days_between
from marketplace.procurement.models import (
    SEALED_STATUSES,
    Application,
    Project,
)

from ...models import Category
from ..base import COMPETITION, POSTING, REACH_PROJECT, Match, Rule, Scope, Threshold, register
from .common import _day, _english, _iso, _moment


@register
class ShortRegistrationPeriod(Rule):
    """PR01: a project whose registration period (publication to deadline) had fewer working
    days than the minimum (OCP R003 "short bid submission period"). Basis: the platform rules
    give firms at least five working days to apply; a short period keeps competitors out. The
    publication check refuses it, so a match means a bypass or a data fix. Counted as
    ``projects.registration_period_ok`` counts it. Evidence: the project, its publication and
    deadline dates, the working days between them and the minimum."""

    code = "PR01"
    phases = frozenset({POSTING, COMPETITION})
    reach = REACH_PROJECT
    category = Category.PROCESS
    title_zh = "报名期少于规定工作日"
    title_en = "Registration period shorter than the minimum"
    basis_zh = "采购公告发布至报名截止不足规定的工作日数，限制潜在中介机构参与（OCP R003）。"
    basis_en = (
        "Fewer working days than the minimum between publication and the registration deadline "
        "keep potential applicants out (OCP R003)."
    )
    default_weight = 6
    thresholds = {
        "min_working_days": Threshold(
            settings.REGISTRATION_MIN_WORKING_DAYS,
            int,
            1,
            30,
            "最短报名期（工作日）",
            "Minimum period (working days)",
        )
    }
    ocp = ("R003",)

    def find(self, scope: Scope, params: dict) -> list[Match]:
        minimum = params["min_working_days"]
        rows = scope.rows(
            "PR01",
            lambda s: s.projects(Project.objects.filter(published_at__isnull=False)).values(
                "pk", "public_number", "published_at", "registration_deadline", "owner_id", "department_id"
            ),
        )
        matches = []
        for row in rows:
            published, deadline = _day(row["published_at"]), _day(row["registration_deadline"])
            days = working_days_between(published, deadline)
            if days >= minimum:
                continue
            matches.append(
                Match(
                    subject_type="project",
                    subject_id=row["pk"],
                    project_id=row["pk"],
                    owner_id=row["owner_id"],
                    department_id=row["department_id"],
                    evidence={
                        "project": row["public_number"],
                        "published_on": _iso(published),
                        "deadline": _moment(row["registration_deadline"]),
                        "working_days": days,
                        "minimum": minimum,
                    },
                    key={"project": row["pk"]},
                )
            )
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        if _english(language):
            return (
                f"Project {e['project']} was published on {e['published_on']} with a registration "
                f"deadline of {e['deadline']}: {e['working_days']} working day(s), below the minimum "
                f"of {e['minimum']}."
            )
        return (
            f"项目 {e['project']} 于 {e['published_on']} 发布，报名截止时间为 {e['deadline']}，"
            f"报名期仅 {e['working_days']} 个工作日，少于规定的 {e['minimum']} 个工作日。"
        )


@register
class LateApplicationAccepted(Rule):
    """PR02: an application submitted after the registration deadline and not withdrawn (OCP
    R030 "late bid won" / late bids accepted). Basis: the deadline is the same for every firm;
    accepting one late favours it. An application exactly at the deadline is on time. Projects
    still sealed (registration open, or cancelled before it closed) are skipped: who applied
    is not disclosed there. Evidence: the project, the firm, the deadline, the submission time
    and how many minutes late."""

    code = "PR02"
    phases = frozenset({COMPETITION})
    reach = REACH_PROJECT
    category = Category.PROCESS
    title_zh = "截止后仍受理报名"
    title_en = "Application accepted after the deadline"
    basis_zh = "报名截止后提交的报名仍被受理，违反公平竞争原则（OCP R030）。"
    basis_en = "An application submitted after the registration deadline was accepted (OCP R030)."
    default_weight = 8
    ocp = ("R030",)
    scopes = ("project", "intermediary")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        rows = scope.rows(
            "PR02",
            lambda s: (
                s.projects_or_firms(
                    Application.objects.filter(submitted_at__gt=F("project__registration_deadline")),
                    "project_id",
                    "intermediary_id",
                )
                .exclude(state=Application.State.WITHDRAWN)
                .exclude(project__status__in=SEALED_STATUSES)
                .values(
                    "project_id",
                    "project__public_number",
                    "project__registration_deadline",
                    "project__owner_id",
                    "project__department_id",
                    "intermediary_id",
                    "intermediary__name",
                    "intermediary__uscc",
                    "submitted_at",
                )
            ),
        )
        matches = []
        for row in rows:
            late = row["submitted_at"] - row["project__registration_deadline"]
            matches.append(
                Match(
                    subject_type="project",
                    subject_id=row["project_id"],
                    project_id=row["project_id"],
                    intermediary_id=row["intermediary_id"],
                    owner_id=row["project__owner_id"],
                    department_id=row["project__department_id"],
                    evidence={
                        "project": row["project__public_number"],
                        "firm": row["intermediary__name"],
                        "uscc": row["intermediary__uscc"],
                        "deadline": _moment(row["project__registration_deadline"]),
                        "submitted_at": _moment(row["submitted_at"]),
                        # At least one minute, so a few seconds late never reads "0 minutes".
                        "minutes_late": max(1, int(late.total_seconds() // 60)),
                    },
                    key={"project": row["project_id"], "intermediary": row["intermediary_id"]},
                )
            )
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        if _english(language):
            return (
                f"Project {e['project']} closed registration at {e['deadline']}, but {e['firm']} "
                f"({e['uscc']}) applied at {e['submitted_at']} ({e['minutes_late']} minute(s) late) "
                "and was accepted."
            )
        return (
            f"项目 {e['project']} 报名截止时间为 {e['deadline']}，{e['firm']}（{e['uscc']}）"
            f"于 {e['submitted_at']} 报名（逾期 {e['minutes_late']} 分钟）仍被受理。"
        )
