"""Process rules after the award: a contract not signed by the deadline (PR03), delivery
seriously late (PR04), and acceptance overdue or result publicity too short (PR05).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Exists, F, Min, OuterRef, Q
from django.utils import timezone

from marketplace.core.workdays import add_working_days, working_days_between
from marketplace.procurement.models import (
    Delivery,
    Project,
    Status,
    WalkAway,
)

from ...models import Category
from ..base import AWARD, CONTRACT, DELIVERY, REACH_PROJECT, Match, Rule, Scope, Threshold, register
from .common import _day, _english, _iso, _maybe_day


@register
class ContractNotSigned(Rule):
    """PR03: the contract was not signed (uploaded by one side and confirmed by the other) by
    the project's contract deadline plus the grace period: missing, still unconfirmed, or
    confirmed late. Basis: DESIGN workflow step 7, the contract is signed by a deadline and a
    missed deadline is escalated. A winner that walked away is PR06's finding, not this one.
    Evidence: the project, the deadline, the contract's state, the confirmation date and the
    working days overdue."""

    code = "PR03"
    phases = frozenset({AWARD, CONTRACT})
    reach = REACH_PROJECT
    category = Category.PROCESS
    title_zh = "合同未按期签订"
    title_en = "Contract not signed by the deadline"
    basis_zh = "结果公示结束后未在规定期限内签订（双方确认）合同。"
    basis_en = "The contract was not signed (confirmed by both sides) by the deadline after the result."
    default_weight = 4
    thresholds = {
        "grace_working_days": Threshold(0, int, 0, 30, "宽限期（工作日）", "Grace period (working days)")
    }

    def find(self, scope: Scope, params: dict) -> list[Match]:
        today = timezone.localdate()
        grace = params["grace_working_days"]
        # A late confirmation falls after the deadline and on or before today, so every candidate
        # has a deadline before today; confirmations on time are left out in the database.
        rows = scope.rows(
            ("PR03", today),
            lambda s: (
                s.projects(Project.objects.filter(contract_due__lt=today))
                .exclude(Exists(WalkAway.objects.filter(project=OuterRef("pk"))))
                .filter(
                    Q(contract__isnull=True)
                    | Q(contract__confirmed_at__isnull=True)
                    | Q(contract__confirmed_at__date__gt=F("contract_due"))
                )
                .values(
                    "pk",
                    "public_number",
                    "contract_due",
                    "owner_id",
                    "department_id",
                    "contract__pk",
                    "contract__confirmed_at",
                )
            ),
        )
        matches = []
        for row in rows:
            due = add_working_days(row["contract_due"], grace)
            confirmed = _maybe_day(row["contract__confirmed_at"])
            if confirmed is not None:
                if confirmed <= due:
                    continue
                state, until = "confirmed_late", confirmed
            else:
                if today <= due:
                    continue
                state = "missing" if row["contract__pk"] is None else "unconfirmed"
                until = today
            matches.append(
                Match(
                    subject_type="project",
                    subject_id=row["pk"],
                    project_id=row["pk"],
                    owner_id=row["owner_id"],
                    department_id=row["department_id"],
                    evidence={
                        "project": row["public_number"],
                        "contract_due": _iso(row["contract_due"]),
                        "grace_working_days": grace,
                        "state": state,
                        "confirmed_on": _iso(confirmed),
                        "overdue_working_days": working_days_between(due, until),
                    },
                    key={"project": row["pk"]},
                )
            )
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        en = _english(language)
        if en:
            grace = (
                f" (plus {e['grace_working_days']} working day(s) of grace)"
                if e["grace_working_days"]
                else ""
            )
            state = {
                "missing": "no contract has been uploaded",
                "unconfirmed": "the uploaded contract is still not confirmed by the other side",
                "confirmed_late": f"the contract was only confirmed on {e['confirmed_on']}",
            }[e["state"]]
            return (
                f"Project {e['project']} had to sign its contract by {e['contract_due']}{grace}; "
                f"{state}, {e['overdue_working_days']} working day(s) overdue."
            )
        grace = f"（另有 {e['grace_working_days']} 个工作日宽限）" if e["grace_working_days"] else ""
        state = {
            "missing": "至今未上传合同",
            "unconfirmed": "已上传的合同至今未经另一方确认",
            "confirmed_late": f"合同迟至 {e['confirmed_on']} 才确认",
        }[e["state"]]
        return (
            f"项目 {e['project']} 应于 {e['contract_due']}{grace}前签订合同，{state}，"
            f"逾期 {e['overdue_working_days']} 个工作日。"
        )


@register
class LateDelivery(Rule):
    """PR04: the winner delivered (its first delivery) more than the threshold of working days
    after the delivery deadline, or has still not delivered that late while in service. Basis:
    DESIGN workflow step 8, work more than 10 working days late is a violation (a shorter delay
    is only escalated). Evidence: the project, the firm, the deadline, the delivery date (or
    today's date when none) and the working days late."""

    code = "PR04"
    phases = frozenset({CONTRACT, DELIVERY})
    reach = REACH_PROJECT
    category = Category.PROCESS
    title_zh = "服务严重逾期"
    title_en = "Delivery seriously late"
    basis_zh = "中介机构提交服务成果晚于服务期限超过规定的工作日数，属违规行为。"
    basis_en = "The firm delivered its work more than the allowed working days after the service deadline."
    default_weight = 6
    thresholds = {
        "late_working_days": Threshold(
            10, int, 0, 60, "逾期超过（工作日）", "Late by more than (working days)"
        )
    }
    scopes = ("project", "intermediary")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        today = timezone.localdate()
        allowed = params["late_working_days"]
        rows = scope.rows(
            ("PR04", today),
            lambda s: (
                s.projects_or_firms(
                    Project.objects.filter(delivery_due__lt=today), "pk", "contract__intermediary_id"
                )
                .annotate(first_delivered=Min("deliveries__delivered_at"))
                .filter(
                    Q(first_delivered__isnull=True, status=Status.IN_SERVICE)
                    | Q(first_delivered__date__gt=F("delivery_due"))
                )
                .values(
                    "pk",
                    "public_number",
                    "delivery_due",
                    "first_delivered",
                    "owner_id",
                    "department_id",
                    "contract__intermediary_id",
                    "contract__intermediary__name",
                )
            ),
        )
        matches = []
        for row in rows:
            delivered = _maybe_day(row["first_delivered"])
            late = working_days_between(row["delivery_due"], delivered or today)
            if late <= allowed:
                continue
            matches.append(
                Match(
                    subject_type="project",
                    subject_id=row["pk"],
                    project_id=row["pk"],
                    intermediary_id=row["contract__intermediary_id"],
                    owner_id=row["owner_id"],
                    department_id=row["department_id"],
                    evidence={
                        "project": row["public_number"],
                        "firm": row["contract__intermediary__name"],
                        "delivery_due": _iso(row["delivery_due"]),
                        "delivered_on": _iso(delivered),
                        "as_of": _iso(delivered or today),
                        "working_days_late": late,
                        "threshold": allowed,
                    },
                    key={"project": row["pk"]},
                )
            )
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        if _english(language):
            when = (
                f"delivered on {e['delivered_on']}"
                if e["delivered_on"]
                else f"has still not delivered as of {e['as_of']}"
            )
            return (
                f"On project {e['project']}, {e['firm']} was due to deliver by {e['delivery_due']} and "
                f"{when}: {e['working_days_late']} working days late (more than {e['threshold']})."
            )
        when = (
            f"于 {e['delivered_on']} 才提交成果" if e["delivered_on"] else f"截至 {e['as_of']} 仍未提交成果"
        )
        return (
            f"项目 {e['project']} 的中选机构 {e['firm']} 应于 {e['delivery_due']} 前交付，{when}，"
            f"逾期 {e['working_days_late']} 个工作日（超过 {e['threshold']} 个工作日）。"
        )


ACCEPTANCE = "acceptance_overdue"
PUBLICITY = "short_publicity"


@register
class AcceptanceOrPublicity(Rule):
    """PR05, two findings under one rule, told apart by ``kind`` in the key and evidence:

    - ``acceptance_overdue``: the owner left the latest delivery undecided past the project's
      acceptance deadline (plus grace), or decided it only after that (DESIGN step 8: silence
      past the acceptance deadline is escalated);
    - ``short_publicity``: the result's publicity period (result publication to the end of
      publicity) had fewer working days than the minimum (DESIGN step 6; the platform sets
      ``RESULT_PUBLICITY_WORKING_DAYS``), cutting the time for objections.

    Evidence: the project, the deadline or the period's dates, the working days counted."""

    code = "PR05"
    phases = frozenset({AWARD, DELIVERY})
    reach = REACH_PROJECT
    category = Category.PROCESS
    title_zh = "验收逾期或结果公示期不足"
    title_en = "Acceptance overdue or result publicity too short"
    basis_zh = "业主超过验收期限未对服务成果作出验收结论；或中选结果公示期少于规定的工作日数。"
    basis_en = (
        "The owner did not decide on the delivered work by the acceptance deadline; or the result "
        "was publicised for fewer working days than required."
    )
    default_weight = 3
    thresholds = {
        "acceptance_grace_working_days": Threshold(
            0, int, 0, 30, "验收宽限期（工作日）", "Acceptance grace (working days)"
        ),
        "min_publicity_days": Threshold(
            settings.RESULT_PUBLICITY_WORKING_DAYS,
            int,
            1,
            20,
            "最短公示期（工作日）",
            "Minimum publicity (working days)",
        ),
    }

    def find(self, scope: Scope, params: dict) -> list[Match]:
        return self._acceptance(scope, params["acceptance_grace_working_days"]) + self._publicity(
            scope, params["min_publicity_days"]
        )

    def _acceptance(self, scope: Scope, grace: int) -> list[Match]:
        today = timezone.localdate()
        # The project's acceptance deadline is reset at each delivery, so it belongs to the
        # latest one; an undecided delivery is always the latest.
        later = Delivery.objects.filter(project=OuterRef("project")).filter(
            Q(delivered_at__gt=OuterRef("delivered_at"))
            | Q(delivered_at=OuterRef("delivered_at"), pk__gt=OuterRef("pk"))
        )
        rows = scope.rows(
            ("PR05", "acceptance", today),
            lambda s: (
                s.projects(Delivery.objects.filter(project__acceptance_due__lt=today), "project_id")
                .exclude(Exists(later))
                .filter(
                    Q(decision=Delivery.Decision.PENDING)
                    | Q(decided_at__date__gt=F("project__acceptance_due"))
                )
                .values(
                    "pk",
                    "project_id",
                    "project__public_number",
                    "project__acceptance_due",
                    "project__owner_id",
                    "project__department_id",
                    "delivered_at",
                    "decision",
                    "decided_at",
                )
            ),
        )
        matches = []
        for row in rows:
            due = add_working_days(row["project__acceptance_due"], grace)
            decided = _maybe_day(row["decided_at"])
            pending = row["decision"] == Delivery.Decision.PENDING
            until = today if pending or decided is None else decided
            if until <= due:
                continue
            matches.append(
                Match(
                    subject_type="project",
                    subject_id=row["project_id"],
                    project_id=row["project_id"],
                    owner_id=row["project__owner_id"],
                    department_id=row["project__department_id"],
                    evidence={
                        "kind": ACCEPTANCE,
                        "project": row["project__public_number"],
                        "delivered_on": _iso(_day(row["delivered_at"])),
                        "acceptance_due": _iso(row["project__acceptance_due"]),
                        "grace_working_days": grace,
                        "decision": row["decision"],
                        "decided_on": None if pending else _iso(until),
                        "overdue_working_days": working_days_between(due, until),
                    },
                    key={"kind": ACCEPTANCE, "project": row["project_id"], "delivery": row["pk"]},
                )
            )
        return matches

    def _publicity(self, scope: Scope, minimum: int) -> list[Match]:
        rows = scope.rows(
            ("PR05", "publicity"),
            lambda s: s.projects(
                Project.objects.filter(result_published_at__isnull=False, publicity_ends_on__isnull=False)
            ).values(
                "pk", "public_number", "result_published_at", "publicity_ends_on", "owner_id", "department_id"
            ),
        )
        matches = []
        for row in rows:
            published = _day(row["result_published_at"])
            days = working_days_between(published, row["publicity_ends_on"])
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
                        "kind": PUBLICITY,
                        "project": row["public_number"],
                        "result_published_on": _iso(published),
                        "publicity_ends_on": _iso(row["publicity_ends_on"]),
                        "working_days": days,
                        "minimum": minimum,
                    },
                    key={"kind": PUBLICITY, "project": row["pk"]},
                )
            )
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        en = _english(language)
        if e["kind"] == PUBLICITY:
            if en:
                return (
                    f"The result of project {e['project']} was published on {e['result_published_on']} "
                    f"with publicity ending on {e['publicity_ends_on']}: {e['working_days']} working "
                    f"day(s), below the minimum of {e['minimum']}."
                )
            return (
                f"项目 {e['project']} 的中选结果于 {e['result_published_on']} 公示，"
                f"公示期至 {e['publicity_ends_on']}，仅 {e['working_days']} 个工作日，"
                f"少于规定的 {e['minimum']} 个工作日。"
            )
        if en:
            status = (
                "is still awaiting the owner's decision"
                if e["decided_on"] is None
                else f"was only decided on {e['decided_on']}"
            )
            return (
                f"The work delivered on {e['delivered_on']} for project {e['project']} had to be "
                f"accepted or returned by {e['acceptance_due']} and {status}: "
                f"{e['overdue_working_days']} working day(s) overdue."
            )
        status = (
            "业主至今未作验收结论"
            if e["decided_on"] is None
            else f"业主迟至 {e['decided_on']} 才作出验收结论"
        )
        return (
            f"项目 {e['project']} 于 {e['delivered_on']} 提交的服务成果应在 {e['acceptance_due']} 前验收，"
            f"{status}，逾期 {e['overdue_working_days']} 个工作日。"
        )
