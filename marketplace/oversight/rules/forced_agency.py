"""Forced-agency red flags (FA01-FA09): designation of intermediaries (强制代理/指定中介).

The reform forbids steering applicants to a chosen intermediary (枣政办字〔2019〕21号 items 14 to
16): direct selection only below the threshold, no tailored requirements, no off-platform
procurement. These rules look for the traces such steering leaves in the market's records.

Conventions shared by the rules below:

- an *award* is a non-annulled ``Selection`` with a winner; its date is ``performed_at``;
- a firm *had rivals* for an award when another listed firm has an active offer for the
  project's service type (offers require the service type's qualifications). A firm that wins
  because it is the only one able to serve is not designated, so FA02 and FA03 count only
  awards with rivals;
- time windows slide: a window of ``days`` ends at each award, so a pattern stays flagged when
  later, sparser activity follows it (a window fixed at the latest award would let one late
  award clear an earlier burst). They are counted with window functions
  (``COUNT(*) OVER (PARTITION BY ... RANGE n PRECEDING)``): correlated count subqueries took
  minutes on 20,000 awards, the window functions a tenth of a second;
- every finder returns exactly the matches whose ``project_id`` or ``intermediary_id`` is in a
  partial scope (``_keep``), computing its statistics over the whole market: a scoped run then
  gives the same flags for those subjects as the full scan, and resolves only flags it owns
  (a match outside the scope would also collide with its existing flag on insert).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    ValueRange,
    Window,
)
from django.utils import timezone

from marketplace.accounts.models import Organisation
from marketplace.catalog.models import ServiceType, ServiceTypeQualification
from marketplace.core.money import money
from marketplace.core.validators import find_regional_restriction
from marketplace.procurement.models import (
    Contract,
    FundingSource,
    Method,
    Project,
    Requirement,
    Selection,
    Status,
)
from marketplace.providers.models import PUBLIC_STATUSES, Intermediary, Offer

from ..models import Category, Complaint, FiledReport
from .base import AWARD, COMPETITION, CONTRACT, POSTING, Match, Rule, Scope, Threshold, register

DISCRETIONARY = (Method.CREDIT_PREFERENCE, Method.SCORED_COMPARISON)
# Posted requirements the operator has not sent back: what firms and regulators see.
POSTED_STATUSES = [s for s in Status.values if s not in (Status.DRAFT, Status.RETURNED)]
EXCERPT = 140


# --- shared helpers ---------------------------------------------------------------------------


def _en(language: str) -> bool:
    return (language or "").startswith("en")


def _keep(scope: Scope, match: Match) -> bool:
    """Whether ``match`` belongs to ``scope`` the way the engine selects a scope's flags."""
    if scope.full:
        return True
    return (scope.project_ids is not None and match.project_id in scope.project_ids) or (
        scope.intermediary_ids is not None and match.intermediary_id in scope.intermediary_ids
    )


def _scoped(scope: Scope, matches: list[Match]) -> list[Match]:
    return [m for m in matches if _keep(scope, m)]


def _awards() -> QuerySet:
    return Selection.objects.filter(annulled=False, winner__isnull=False)


def _had_rivals() -> Exists:
    """Another listed firm offers the awarded project's service type (on a ``Selection`` row)."""
    return Exists(
        Offer.objects.filter(
            service_type_id=OuterRef("project__service_type_id"),
            is_active=True,
            intermediary__status__in=PUBLIC_STATUSES,
        ).exclude(intermediary_id=OuterRef("winner__intermediary_id"))
    )


class EpochSeconds(Func):
    """A timestamp as whole seconds since 1970, so that a window frame can be a number of
    seconds (``RANGE n PRECEDING`` needs a numeric ordering on both databases)."""

    template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) AS BIGINT)"
    output_field = BigIntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="CAST(ROUND((julianday(%(expressions)s) - 2440587.5) * 86400) AS INTEGER)",
            **extra_context,
        )


class TrailingRange(ValueRange):
    """``RANGE BETWEEN n PRECEDING AND CURRENT ROW``. PostgreSQL has supported an offset in a
    RANGE frame since version 11, but Django's backend still refuses it, so the frame renders
    itself; SQLite (3.28+) supports it too."""

    def __init__(self, preceding: int):
        super().__init__(start=-preceding, end=0)

    def window_frame_start_end(self, connection, start, end):
        return f"{int(abs(start))} PRECEDING", "CURRENT ROW"


def _trailing_count(days: int, *partition: str) -> Window:
    """For each row, the rows of its ``partition`` in the ``days`` ending at its
    ``performed_at`` (later rows excluded, the window's first instant excluded)."""
    return Window(
        Count("pk"),
        partition_by=[F(name) for name in partition],
        order_by=EpochSeconds("performed_at").asc(),
        frame=TrailingRange(days * 86400 - 1),
    )


def _day(value) -> str:
    return timezone.localdate(value).isoformat()


def _repeated_picks(
    scope: Scope, methods: tuple[str, ...], count: int, days: int, *, rivals_only: bool
) -> list[dict[str, Any]]:
    """Owner-firm pairs with at least ``count`` awards by ``methods`` in some ``days`` window.

    Query 1 counts, with a window function over the whole market, each pair's awards in the
    window ending at each of its awards; query 2 reads the awards of the flagged owners to list
    the densest window's projects and the owner's picks of every firm in it."""
    picks = _awards().filter(method__in=methods)
    if rivals_only:
        picks = picks.filter(_had_rivals())
    counted = picks
    if not scope.full:
        # The window is per owner and firm, so leaving other firms out changes no count.
        counted = picks.filter(winner__intermediary_id__in=scope.intermediary_ids or [])
    ends = (
        counted.annotate(n=_trailing_count(days, "project__owner_id", "winner__intermediary_id"))
        .filter(n__gte=count)
        .order_by()
        .values_list("project__owner_id", "winner__intermediary_id", "performed_at", "n")
    )
    # The densest window of each pair (in scope); among equals, the latest.
    best: dict[tuple[int, int], tuple[int, Any]] = {}
    for owner_id, firm_id, end, n in ends:
        if not scope.full and firm_id not in (scope.intermediary_ids or ()):
            continue
        current = best.get((owner_id, firm_id))
        if current is None or (n, end) > current:
            best[(owner_id, firm_id)] = (n, end)
    if not best:
        return []
    rows = (
        picks.filter(project__owner_id__in={owner for owner, _ in best})
        .order_by("performed_at", "pk")
        .values_list(
            "project__owner_id",
            "project__owner__name",
            "winner__intermediary_id",
            "winner__intermediary__name",
            "winner__intermediary__uscc",
            "performed_at",
            "project__public_number",
        )
    )
    windows: dict[int, list[tuple[int, Any]]] = defaultdict(list)
    for (owner_id, firm_id), (_n, end) in best.items():
        windows[owner_id].append((firm_id, end))
    found: dict[tuple[int, int], dict[str, Any]] = {}
    totals: dict[tuple[int, int], int] = defaultdict(int)
    span = timedelta(days=days)
    for owner_id, owner, firm_id, firm, uscc, at, number in rows:
        for window_firm, end in windows[owner_id]:
            if not end - span < at <= end:
                continue
            totals[(owner_id, window_firm)] += 1
            if window_firm != firm_id:
                continue
            item = found.setdefault(
                (owner_id, firm_id),
                {
                    "owner_id": owner_id,
                    "intermediary_id": firm_id,
                    "owner": owner,
                    "intermediary": firm,
                    "uscc": uscc,
                    "projects": [],
                    "from": _day(at),
                },
            )
            item["projects"].append(number)
            item["to"] = _day(at)
    for pair, item in found.items():
        item["count"] = len(item["projects"])
        item["owner_total"] = totals[pair]
    return list(found.values())


def _pair_match(item: dict[str, Any], days: int) -> Match:
    return Match(
        subject_type="owner",
        subject_id=item["owner_id"],
        owner_id=item["owner_id"],
        intermediary_id=item["intermediary_id"],
        evidence={
            "owner": item["owner"],
            "intermediary": item["intermediary"],
            "uscc": item["uscc"],
            "count": item["count"],
            "owner_total": item["owner_total"],
            "days": days,
            "from": item["from"],
            "to": item["to"],
            "projects": item["projects"],
        },
        key={"owner": item["owner_id"], "intermediary": item["intermediary_id"]},
    )


# --- FA01 -------------------------------------------------------------------------------------


@register
class DirectSelectionAboveThreshold(Rule):
    """FA01: a direct selection (直接选取) whose winning quote, or contract amount when larger,
    reaches the direct-selection threshold of the project's funding source.

    Basis: direct selection is allowed only below a threshold set per funding source, with a
    written reason (DESIGN §3.5); above it the owner must compete the work (OCP R010, R049).
    The services refuse it at posting and at the pick, so a match means the amount grew later
    (an amendment) or the record was changed outside them. Evidence: the project, funding
    source, winning quote, contract amount and the threshold."""

    code = "FA01"
    phases = frozenset({AWARD, CONTRACT})
    category = Category.FORCED_AGENCY
    title_zh = "直接选取金额超过限额"
    title_en = "Direct selection above the threshold"
    basis_zh = (
        "直接选取仅适用于低于资金来源对应限额的项目，且须书面说明理由；达到或超过限额的应以竞争方式选取"
        "（OCP R010、R049）。"
    )
    basis_en = (
        "Direct selection is allowed only below the threshold for the funding source, with a written "
        "reason; at or above it the work must be competed (OCP R010, R049)."
    )
    default_weight = 12
    thresholds = {
        FundingSource.FISCAL.value: Threshold(
            Decimal(settings.DIRECT_SELECTION_THRESHOLDS["fiscal"]),
            Decimal,
            Decimal("0"),
            Decimal("100000000"),
            "财政资金直接选取限额（元）",
            "Direct-selection threshold, fiscal funds (CNY)",
        ),
        FundingSource.PRIVATE.value: Threshold(
            Decimal(settings.DIRECT_SELECTION_THRESHOLDS["private"]),
            Decimal,
            Decimal("0"),
            Decimal("100000000"),
            "非财政资金直接选取限额（元）",
            "Direct-selection threshold, non-fiscal funds (CNY)",
        ),
    }
    ocp = ("R010", "R049")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        over = Q(pk__in=[])
        for source in FundingSource.values:
            limit = params[source]
            over |= Q(project__funding_source=source) & (
                Q(winner__quote_amount__gte=limit) | Q(project__contract__amount__gte=limit)
            )
        rows = (
            scope.projects_or_firms(
                _awards().filter(method=Method.DIRECT), "project_id", "winner__intermediary_id"
            )
            .filter(over)
            .values(
                "project_id",
                "project__public_number",
                "project__funding_source",
                "project__owner_id",
                "project__department_id",
                "winner__intermediary_id",
                "winner__intermediary__name",
                "winner__quote_amount",
                "project__contract__amount",
            )
        )
        matches = []
        for row in rows:
            quote = row["winner__quote_amount"]
            contract = row["project__contract__amount"]
            amount = max(a for a in (quote, contract) if a is not None)
            matches.append(
                Match(
                    subject_type="project",
                    subject_id=row["project_id"],
                    project_id=row["project_id"],
                    intermediary_id=row["winner__intermediary_id"],
                    owner_id=row["project__owner_id"],
                    department_id=row["project__department_id"],
                    evidence={
                        "project": row["project__public_number"],
                        "funding_source": row["project__funding_source"],
                        "intermediary": row["winner__intermediary__name"],
                        "quote": quote,
                        "contract": contract,
                        "amount": amount,
                        "threshold": params[row["project__funding_source"]],
                    },
                    key={"project": row["project_id"]},
                )
            )
        return _scoped(scope, matches)

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        if _en(language):
            contract = f", contract {e['contract']}" if e.get("contract") is not None else ""
            return (
                f"Project {e['project']} ({e['funding_source']} funds) was directly awarded to "
                f"{e['intermediary']} for {e['amount']} CNY (quote {e['quote']}{contract}), at or above "
                f"the direct-selection threshold of {e['threshold']} CNY."
            )
        source = FundingSource(e["funding_source"]).label
        contract = f"，合同金额 {e['contract']} 元" if e.get("contract") is not None else ""
        return (
            f"项目 {e['project']}（{source}）直接选取 {e['intermediary']}，金额 {e['amount']} 元"
            f"（报价 {e['quote']} 元{contract}），达到或超过直接选取限额 {e['threshold']} 元。"
        )


# --- FA02 -------------------------------------------------------------------------------------


@register
class RepeatedDirectSelection(Rule):
    """FA02: one owner directly selects the same intermediary again and again.

    Basis: direct selection below the threshold is the owner's discretion, and repeated use of
    it for one firm is the classic trace of designation (指定中介), or of splitting work to stay
    under the threshold (OCP R055). Awards where the firm had no rival offering the service are
    not counted. Evidence: the owner, the firm, the number of direct awards in the densest
    window, its dates and projects, and the owner's direct awards to anyone in that window."""

    code = "FA02"
    phases = frozenset({AWARD})
    category = Category.FORCED_AGENCY
    title_zh = "同一业主反复直接选取同一中介"
    title_en = "Owner repeatedly direct-selects the same intermediary"
    basis_zh = "同一业主在一定期限内多次直接选取同一家中介机构，疑似指定中介或拆分项目规避竞争（OCP R055）。"
    basis_en = (
        "One owner directly selects the same intermediary several times within a period: a sign of "
        "designation or of splitting work to avoid competition (OCP R055)."
    )
    default_weight = 8
    thresholds = {
        "count": Threshold(3, int, 2, 50, "直接选取次数不少于", "Direct awards at least"),
        "days": Threshold(365, int, 1, 3650, "统计期间（天）", "Window (days)"),
    }
    ocp = ("R055",)
    scopes = ("project", "intermediary")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        items = _repeated_picks(scope, (Method.DIRECT,), params["count"], params["days"], rivals_only=True)
        return _scoped(scope, [_pair_match(item, params["days"]) for item in items])

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        projects = ", ".join(e["projects"])
        if _en(language):
            return (
                f"Owner {e['owner']} directly selected {e['intermediary']} {e['count']} times within "
                f"{e['days']} days ({e['from']} to {e['to']}; {e['owner_total']} direct awards in all): "
                f"projects {projects}."
            )
        return (
            f"业主 {e['owner']} 在 {e['days']} 天内（{e['from']} 至 {e['to']}）{e['count']} 次直接选取 "
            f"{e['intermediary']}（同期直接选取共 {e['owner_total']} 次）：项目 {projects}。"
        )


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

    def find(self, scope: Scope, params: dict) -> list[Match]:
        days, share = params["days"], params["share"]
        awards = _awards().filter(project__approval_item__isnull=False).filter(_had_rivals())
        department = "project__approval_item__department_id"
        counted = awards
        if not scope.full:
            # The windows are per department: only the departments the scope's firms won in
            # matter, and leaving the others out changes no count.
            counted = awards.filter(
                **{
                    f"{department}__in": awards.filter(
                        winner__intermediary_id__in=scope.intermediary_ids or []
                    ).values(department)
                }
            )
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


# --- FA05 -------------------------------------------------------------------------------------


@register
class RelaunchedUntilWon(Rule):
    """FA05: a project failed or was cancelled and relaunched again and again until a firm won,
    or a result was annulled and the work given to another firm.

    Basis: repeated relaunches (流标/取消后重新发布) and annulled results are the ways an owner
    can keep going until the intended firm wins. Evidence: for a chain, the projects in order with
    their statuses and reasons, and the winner of the last; for an annulment, the annulled round
    and winner and the new round and winner."""

    code = "FA05"
    phases = frozenset({COMPETITION, AWARD})
    category = Category.FORCED_AGENCY
    title_zh = "反复重新发布或撤销结果直至特定中介中选"
    title_en = "Relaunched or annulled until one intermediary wins"
    basis_zh = "项目流标或取消后多次重新发布直至某中介中选，或中选结果被撤销后改由另一家中选，疑似规避竞争、指定中介。"
    basis_en = (
        "A project failed or was cancelled and relaunched repeatedly until a firm won, or a result was "
        "annulled and given to another firm: ways to keep going until the intended firm wins."
    )
    default_weight = 8
    thresholds = {
        "relaunches": Threshold(2, int, 1, 20, "重新发布次数不少于", "Relaunches at least"),
        "annulled_reassignment": Threshold(
            True,
            bool,
            label_zh="检查撤销结果后改由他人中选",
            label_en="Check annulled results given to another",
        ),
    }
    ocp = ()

    def find(self, scope: Scope, params: dict) -> list[Match]:
        matches = self._chains(params["relaunches"], scope)
        if params["annulled_reassignment"]:
            matches += self._annulments(scope)
        return _scoped(scope, matches)

    def _chains(self, minimum: int, scope: Scope) -> list[Match]:
        winners = list(
            scope.projects_or_firms(
                _awards().filter(project__relaunch_of__isnull=False).order_by("project_id", "round"),
                "project_id",
                "winner__intermediary_id",
            ).values(
                "project_id",
                "project__owner_id",
                "project__department_id",
                "winner__intermediary_id",
                "winner__intermediary__name",
            )
        )
        if not winners:
            return []
        members = {
            row["pk"]: row
            for row in Project.objects.filter(
                Q(relaunch_of__isnull=False) | Exists(Project.objects.filter(relaunch_of_id=OuterRef("pk")))
            ).values("pk", "relaunch_of_id", "public_number", "status", "failure_reason")
        }
        matches = []
        for win in winners:
            chain = []
            current = members.get(win["project_id"])
            while current is not None and len(chain) <= len(members):
                chain.append(current)
                current = members.get(current["relaunch_of_id"])
            relaunches = len(chain) - 1
            if relaunches < minimum:
                continue
            chain.reverse()
            matches.append(
                Match(
                    subject_type="project",
                    subject_id=win["project_id"],
                    project_id=win["project_id"],
                    intermediary_id=win["winner__intermediary_id"],
                    owner_id=win["project__owner_id"],
                    department_id=win["project__department_id"],
                    evidence={
                        "kind": "relaunch_chain",
                        "relaunches": relaunches,
                        "chain": [
                            {
                                "project": p["public_number"],
                                "status": p["status"],
                                "reason": p["failure_reason"][:EXCERPT],
                            }
                            for p in chain
                        ],
                        "intermediary": win["winner__intermediary__name"],
                    },
                    key={"kind": "relaunch_chain", "project": win["project_id"]},
                )
            )
        return matches

    def _annulments(self, scope: Scope) -> list[Match]:
        later = (
            _awards()
            .filter(project_id=OuterRef("project_id"), round__gt=OuterRef("round"))
            .order_by("-round")
        )
        annulled = Selection.objects.filter(annulled=True, winner__isnull=False)
        if not scope.full:
            # The new winner may be a scoped firm whose project is not in scope: keep the
            # annulments of the scoped projects and of every project a scoped firm won.
            won = (
                _awards()
                .filter(winner__intermediary_id__in=scope.intermediary_ids or [])
                .values("project_id")
            )
            annulled = annulled.filter(Q(project_id__in=scope.project_ids or []) | Q(project_id__in=won))
        rows = (
            annulled.annotate(
                new_round=Subquery(later.values("round")[:1]),
                new_firm_id=Subquery(later.values("winner__intermediary_id")[:1]),
                new_firm=Subquery(later.values("winner__intermediary__name")[:1]),
            )
            .filter(new_firm_id__isnull=False)
            .exclude(new_firm_id=F("winner__intermediary_id"))
            .values(
                "project_id",
                "project__public_number",
                "project__owner_id",
                "project__department_id",
                "round",
                "winner__intermediary__name",
                "new_round",
                "new_firm_id",
                "new_firm",
            )
        )
        return [
            Match(
                subject_type="project",
                subject_id=row["project_id"],
                project_id=row["project_id"],
                intermediary_id=row["new_firm_id"],
                owner_id=row["project__owner_id"],
                department_id=row["project__department_id"],
                evidence={
                    "kind": "annulled_reassigned",
                    "project": row["project__public_number"],
                    "annulled_round": row["round"],
                    "annulled_winner": row["winner__intermediary__name"],
                    "new_round": row["new_round"],
                    "intermediary": row["new_firm"],
                },
                key={"kind": "annulled_reassigned", "project": row["project_id"], "round": row["round"]},
            )
            for row in rows
        ]

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        en = _en(language)
        if e["kind"] == "annulled_reassigned":
            if en:
                return (
                    f"Project {e['project']}: the result of round {e['annulled_round']} ({e['annulled_winner']}) "
                    f"was annulled and round {e['new_round']} went to {e['intermediary']}."
                )
            return (
                f"项目 {e['project']} 第 {e['annulled_round']} 轮中选结果（{e['annulled_winner']}）被撤销，"
                f"第 {e['new_round']} 轮改由 {e['intermediary']} 中选。"
            )
        chain = [p["project"] for p in e["chain"]]
        if en:
            steps = " → ".join(f"{p['project']} ({p['status']})" for p in e["chain"][:-1])
            return (
                f"Project {chain[-1]} was relaunched {e['relaunches']} times ({steps}) until "
                f"{e['intermediary']} won it."
            )
        steps = " → ".join(f"{p['project']}（{Status(p['status']).label}）" for p in e["chain"][:-1])
        return f"项目 {chain[-1]} 经 {e['relaunches']} 次重新发布（{steps}）后由 {e['intermediary']} 中选。"


# --- FA06 -------------------------------------------------------------------------------------


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
        reports = FiledReport.objects.all()
        if not scope.full:
            if scope.intermediary_ids is None:
                return []
            reports = reports.filter(
                intermediary_uscc__in=Intermediary.objects.filter(pk__in=scope.intermediary_ids).values(
                    "uscc"
                )
            )
        for_case = Project.objects.filter(
            approval_case_number=OuterRef("approval_case_number"),
            service_type__code=OuterRef("service_type_code"),
        )
        won_here = _awards().filter(
            project__approval_case_number=OuterRef("approval_case_number"),
            project__service_type__code=OuterRef("service_type_code"),
            winner__intermediary__uscc=OuterRef("intermediary_uscc"),
        )
        firm = Intermediary.objects.filter(uscc=OuterRef("intermediary_uscc"))
        platform_award = _awards().filter(project_id=OuterRef("platform_project_id")).order_by("-round")
        rows = (
            reports.exclude(approval_case_number="")
            .annotate(
                procured=Exists(won_here),
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
            .filter(procured=False)
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


# --- FA09 -------------------------------------------------------------------------------------


@register
class DiscretionaryPicksSameFirm(Rule):
    """FA09: an owner's discretionary picks (credit preference, scored comparison) keep landing
    on the same firm.

    Basis: in credit preference the owner picks from a drawn short list and in a scored comparison
    named evaluators score proposals: both leave room to favour a firm (OCP R013). Evidence: the
    owner, the firm, the number of such awards in the densest window, its dates and projects, and
    the owner's discretionary awards to anyone in that window."""

    code = "FA09"
    phases = frozenset({AWARD})
    category = Category.FORCED_AGENCY
    title_zh = "业主自主选定总落在同一中介"
    title_en = "An owner's discretionary picks land on the same firm"
    basis_zh = "业主在信用择优、比选等有自由裁量的选取中，一定期限内多次选定同一中介机构（OCP R013）。"
    basis_en = (
        "An owner's discretionary selections (credit preference, scored comparison) keep landing on "
        "the same intermediary within a period (OCP R013)."
    )
    default_weight = 6
    thresholds = {
        "count": Threshold(3, int, 2, 50, "选定同一机构次数不少于", "Picks of the same firm at least"),
        "days": Threshold(365, int, 1, 3650, "统计期间（天）", "Window (days)"),
    }
    ocp = ("R013",)
    scopes = ("project", "intermediary")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        items = _repeated_picks(scope, DISCRETIONARY, params["count"], params["days"], rivals_only=False)
        return _scoped(scope, [_pair_match(item, params["days"]) for item in items])

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        projects = ", ".join(e["projects"])
        if _en(language):
            return (
                f"Owner {e['owner']}'s discretionary selections (credit preference, scored comparison) went "
                f"to {e['intermediary']} {e['count']} of {e['owner_total']} times within {e['days']} days "
                f"({e['from']} to {e['to']}): projects {projects}."
            )
        return (
            f"业主 {e['owner']} 在 {e['days']} 天内（{e['from']} 至 {e['to']}）的信用择优、比选项目中，"
            f"{e['count']} 次（共 {e['owner_total']} 次）选定 {e['intermediary']}：项目 {projects}。"
        )
