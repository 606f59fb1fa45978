"""Fee rules on quotes against their peers (same service type and scale band): an abnormally
low quote (FE07) and an abnormally high winning quote (FE08).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from marketplace.procurement.models import (
    Application,
    Method,
)

from ...models import Category
from ..base import AWARD, COMPETITION, REACH_PROJECT, Match, Rule, Scope, Threshold, register
from ..stats import Fences, group_fences, peer_statistics
from .common import (
    QUOTE_FIELDS,
    VALID,
    _amount,
    _english,
    _group_evidence,
    _project_fields,
    _scale,
    _scale_range,
    _winner,
    _with_band,
)


def _peer_group(row: dict) -> tuple:
    """Peers: the same service type and the same government scale band, or where the service
    type has no bands, the same order of magnitude of scale (10^k to 10^(k+1) 万元)."""
    if row["band_id"] is not None:
        return (row["project__service_type_id"], "band", row["band_id"])
    scale = row["project__scale"]
    return (row["project__service_type_id"], "order", scale.adjusted() if scale > 0 else None)


def _group_key(row: dict) -> str:
    """The peer group as stored with its statistics (``PeerStatistic.group``)."""
    return "|".join(str(part) for part in _peer_group(row))


# --- FE07-FE08: quotes against peers ------------------------------------------------------------


class _PeerOutlier(Rule):
    """Shared by FE07 and FE08: quotes grouped by service type and scale band, Tukey fences."""

    thresholds = {
        "min_peers": Threshold(8, int, 4, 1000, "最少同类报价数", "Minimum peer quotes"),
        "iqr_multiplier": Threshold(
            Decimal("1.5"), Decimal, Decimal("0.5"), Decimal("10"), "四分位距倍数", "IQR multiplier"
        ),
    }

    def quotes(self) -> QuerySet:
        raise NotImplementedError

    def outlier(self, quote: Decimal, fence: dict[str, Decimal]) -> bool:
        raise NotImplementedError

    def match(self, row: dict, fence: dict[str, Decimal], peers: int) -> Match:
        raise NotImplementedError

    def scoped(self, scope: Scope, quotes: QuerySet) -> QuerySet:
        """The quotes a per-change run judges: those of the scope's projects and firms."""
        return scope.projects_or_firms(quotes, "project_id", "intermediary_id")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        fields = (*QUOTE_FIELDS, "band_id", "band_from", "band_to", "project__service_type__code")
        if scope.full:
            rows = list(_with_band(self.quotes()).values(*fields))
            stats = peer_statistics(
                self.code, True, params, (), lambda _groups: self.statistics(rows, None, params)
            )
        else:
            rows = scope.rows(
                (self.code, "quotes"), lambda s: _with_band(self.scoped(s, self.quotes())).values(*fields)
            )
            stats = peer_statistics(
                self.code, False, params, {_group_key(row) for row in rows}, lambda g: self.compute(g, params)
            )
        matches = []
        for row in rows:
            if not self.touches(scope, row):
                continue
            stat = stats.get(_group_key(row)) or {}
            if stat.get("peers", 0) < params["min_peers"]:
                continue
            fence = Fences.stored(stat).as_dict()
            if not self.outlier(row["quote_amount"], fence):
                continue
            matches.append(self.match(row, fence, stat["peers"]))
        return matches

    def statistics(self, rows: list[dict], wanted: set[str] | None, params: dict) -> dict[str, dict]:
        """Each peer group's number of quotes and, where there are enough, its fences."""
        groups: dict[str, list[Decimal]] = defaultdict(list)
        for row in rows:
            key = _group_key(row)
            if wanted is None or key in wanted:
                groups[key].append(row["quote_amount"])
        return group_fences(groups, params["min_peers"], params["iqr_multiplier"])

    def compute(self, wanted: set[str], params: dict) -> dict[str, dict]:
        """The statistics of some peer groups, from all the quotes of their service types."""
        types = {int(key.split("|", 1)[0]) for key in wanted}
        rows = _with_band(self.quotes().filter(project__service_type_id__in=types)).values(
            "quote_amount", "band_id", "project__scale", "project__service_type_id"
        )
        return self.statistics(list(rows), wanted, params)

    def touches(self, scope: Scope, row: dict) -> bool:
        return scope.holds(row["project_id"], row["intermediary_id"])

    def evidence(self, row: dict, fence: dict[str, Decimal], peers: int) -> dict[str, Any]:
        return {
            "project": row["project__public_number"],
            "firm": row["intermediary__name"],
            "uscc": row["intermediary__uscc"],
            "service_type": row["project__service_type__code"],
            "scale": _scale(row["project__scale"]),
            **_group_evidence(row),
            "quote": _amount(row["quote_amount"]),
            "peers": peers,
            "q1": _amount(fence["q1"]),
            "q3": _amount(fence["q3"]),
            "fence": _amount(fence["lower"] if self.code == "FE07" else fence["upper"]),
        }


@register
class AbnormallyLowQuote(_PeerOutlier):
    """FE07: a quote far below its peers — the valid quotes for the same service type in the
    same scale band — below Q1 - k·IQR (OCP R058, abnormally low bid). Basis: an abnormally low
    quote points at work not done properly or at costs recovered later (extra fees, FE04/FE09);
    《政府采购货物和服务招标投标管理办法》第六十条. Peers share the scale band, so a small
    project's quote is never compared with a large one's. Random draws are left out: the price
    there is the owner's. Evidence: the project, the firm, its quote, Q1, Q3, the fence and the
    number of peers."""

    code = "FE07"
    phases = frozenset({COMPETITION})
    reach = REACH_PROJECT
    methods = frozenset(Method.values) - {Method.RANDOM_DRAW}
    category = Category.FEES
    title_zh = "报价异常低于同类项目"
    title_en = "Abnormally low quote against peers"
    basis_zh = "报价低于同类服务、同规模档有效报价的 Q1 − 1.5×四分位距，可能低价中标后另行收费（OCP R058）。"
    basis_en = (
        "A quote below Q1 - 1.5 IQR of the valid quotes for the same service type and scale band may "
        "be recovered later through extra fees (OCP R058)."
    )
    default_weight = 4
    thresholds = _PeerOutlier.thresholds
    ocp = ("R058",)
    scopes = ("project", "intermediary")

    def quotes(self) -> QuerySet:
        return Application.objects.filter(state=VALID, quote_amount__isnull=False).exclude(
            project__method=Method.RANDOM_DRAW
        )

    def outlier(self, quote: Decimal, fence: dict[str, Decimal]) -> bool:
        return quote < fence["lower"]

    def match(self, row: dict, fence: dict[str, Decimal], peers: int) -> Match:
        return Match(
            subject_type="project",
            subject_id=row["project_id"],
            project_id=row["project_id"],
            intermediary_id=row["intermediary_id"],
            **_project_fields(row),
            evidence=self.evidence(row, fence, peers),
            key={"project": row["project_id"], "intermediary": row["intermediary_id"]},
        )

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        if _english(language):
            return (
                f"In project {e['project']}, {e['firm']} quoted {e['quote']} yuan, below the lower fence of "
                f"{e['fence']} yuan (Q1 {e['q1']}, Q3 {e['q3']}) of {e['peers']} valid quotes for {e['service_type']} "
                f"projects of {_scale_range(e, True)}."
            )
        return (
            f"项目 {e['project']} 中，{e['firm']} 报价 {e['quote']} 元，低于同类服务（{e['service_type']}，"
            f"{_scale_range(e, False)}）{e['peers']} 个有效报价的下限 {e['fence']} 元（Q1 {e['q1']}，Q3 {e['q3']}）。"
        )


@register
class AbnormallyHighWinningQuote(_PeerOutlier):
    """FE08: a winning quote far above the winning quotes of its peers (same service type and
    scale band), above Q3 + k·IQR (OCP R016, R031). Basis: an owner paying well above the market
    for the same service points at a designated firm or a kickback. Evidence: the project, the
    winner, its quote, Q1, Q3, the fence and the number of peer awards."""

    code = "FE08"
    phases = frozenset({AWARD})
    reach = REACH_PROJECT
    category = Category.FEES
    title_zh = "中选报价异常高于同类项目"
    title_en = "Abnormally high winning quote against peers"
    basis_zh = "中选报价高于同类服务、同规模档中选报价的 Q3 + 1.5×四分位距（OCP R016、R031）。"
    basis_en = (
        "A winning quote above Q3 + 1.5 IQR of the winning quotes for the same service type and scale "
        "band (OCP R016, R031)."
    )
    default_weight = 6
    thresholds = _PeerOutlier.thresholds
    ocp = ("R016", "R031")

    def quotes(self) -> QuerySet:
        return Application.objects.filter(_winner(), quote_amount__isnull=False)

    def scoped(self, scope: Scope, quotes: QuerySet) -> QuerySet:
        return scope.projects(quotes, "project_id")

    def touches(self, scope: Scope, row: dict) -> bool:
        return scope.holds(row["project_id"], None)

    def outlier(self, quote: Decimal, fence: dict[str, Decimal]) -> bool:
        return quote > fence["upper"]

    def match(self, row: dict, fence: dict[str, Decimal], peers: int) -> Match:
        return Match(
            subject_type="project",
            subject_id=row["project_id"],
            project_id=row["project_id"],
            **_project_fields(row),
            evidence=self.evidence(row, fence, peers),
            key={"project": row["project_id"]},
        )

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        if _english(language):
            return (
                f"Project {e['project']} was won by {e['firm']} at {e['quote']} yuan, above the upper fence of "
                f"{e['fence']} yuan (Q1 {e['q1']}, Q3 {e['q3']}) of {e['peers']} winning quotes for {e['service_type']} "
                f"projects of {_scale_range(e, True)}."
            )
        return (
            f"项目 {e['project']} 由 {e['firm']} 以 {e['quote']} 元中选，高于同类服务（{e['service_type']}，"
            f"{_scale_range(e, False)}）{e['peers']} 个中选报价的上限 {e['fence']} 元（Q1 {e['q1']}，Q3 {e['q3']}）。"
        )
