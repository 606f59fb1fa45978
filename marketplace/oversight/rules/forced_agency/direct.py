"""Forced-agency rules on an owner's picks: direct selection above the threshold (FA01), an
owner repeatedly direct-selecting the same intermediary (FA02) and an owner's discretionary
picks landing on the same firm (FA09).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Q,
)

from marketplace.procurement.models import (
    FundingSource,
    Method,
)

from ...models import Category
from ..base import AWARD, CONTRACT, REACH_PROJECT, REACH_WINNERS, Match, Rule, Scope, Threshold, register
from .common import DISCRETIONARY, _awards, _en, _pair_match, _repeated_picks, _scoped

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
    reach = REACH_PROJECT
    methods = frozenset({Method.DIRECT})
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
        rows = scope.rows(
            ("FA01", tuple(params[source] for source in FundingSource.values)),
            lambda s: (
                s.projects_or_firms(
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
            ),
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
    reach = REACH_WINNERS
    methods = frozenset({Method.DIRECT})
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
    reach = REACH_WINNERS
    methods = frozenset(DISCRETIONARY)
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
