"""Competition rules on outliers against Tukey fences over the market: an abnormal gap between
the winning and second-lowest quotes (CO04) and cover bidding, a firm that bids often and
almost never wins (CO09).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery

from marketplace.procurement.models import Application, Project, Selection

from ...models import Category
from ..base import AWARD, REACH_PROJECT, Match, Rule, Scope, Threshold, register
from ..compiled import compiled_rows
from ..stats import Fences, group_fences, peer_statistics, quantile
from .common import (
    PRICE_COMPETES,
    PRICE_ONLY,
    V,
    _active_award,
    _days,
    _english,
    _fence_evidence,
    _money,
    _multiplier,
    _percent,
    _plain,
    _project_match,
    _ratio,
    _since,
)

# --- CO04 ---------------------------------------------------------------------------------------


def _gap(row: dict) -> Decimal:
    return (row["second_quote"] - row["winner_quote"]) / row["winner_quote"]


@register
class SecondQuoteGap(Rule):
    """CO04: in a price-only round (lowest or reference price) won by the lowest valid quote,
    the gap between the second-lowest valid quote and the winning quote, relative to the winning
    quote, is an outlier among the rounds of the same service type: below Q1 - k IQR (a cover
    bid placed just above the winner, OCP R024) or above Q3 + k IQR (the winner far below
    everybody else, a "lemon" bid, OCP R058). Peers are the rounds of the same service type
    (Cardinal pools every round), and a service type with fewer rounds than the minimum is not
    judged. Evidence: the project, both quotes and firms, the gap and the service type's fences."""

    code = "CO04"
    phases = frozenset({AWARD})
    reach = REACH_PROJECT
    methods = frozenset(PRICE_ONLY)
    category = Category.COMPETITION
    title_zh = "次低报价与中选报价差距异常"
    title_en = "Abnormal gap between the winning and second-lowest quotes"
    basis_zh = (
        "以价格为唯一标准的选取中，次低有效报价与中选报价的相对差距与同类服务项目相比异常："
        "过小提示陪标（OCP R024），过大提示中选报价畸低（OCP R058）。"
    )
    basis_en = (
        "In a price-only round, the relative gap between the second-lowest valid quote and the "
        "winning quote is an outlier among rounds of the same service type: too small suggests a "
        "cover bid (OCP R024), too large an abnormally low winning bid (OCP R058)."
    )
    default_weight = 6
    thresholds = {
        "min_projects": Threshold(
            8, int, 4, 1000, "同类服务项目至少（个）", "Rounds of the service type at least"
        ),
        "iqr_multiplier": _multiplier(),
    }
    ocp = ("R024", "R058")

    def rounds(self, projects: QuerySet) -> QuerySet:
        """Price-only rounds won by the lowest valid quote, with both quotes."""
        award = _active_award()
        second = (
            Application.objects.filter(project=OuterRef("pk"), state=V.VALID, quote_amount__isnull=False)
            .exclude(pk=OuterRef("winner_application"))
            .order_by("quote_amount", "pk")
        )
        return (
            projects.filter(method__in=PRICE_ONLY)
            .annotate(winner_application=Subquery(award.values("winner_id")[:1]))
            .filter(winner_application__isnull=False)
            .annotate(
                winner_quote=Subquery(award.values("winner__quote_amount")[:1]),
                winner_name=Subquery(award.values("winner__intermediary__name")[:1]),
                second_quote=Subquery(second.values("quote_amount")[:1]),
                second_name=Subquery(second.values("intermediary__name")[:1]),
            )
            # As in Cardinal, a round the lowest valid quote did not win is not price-only.
            .filter(winner_quote__gt=0, second_quote__gte=F("winner_quote"))
            .values(
                "pk",
                "public_number",
                "service_type_id",
                "owner_id",
                "department_id",
                "winner_quote",
                "winner_name",
                "second_quote",
                "second_name",
            )
        )

    @staticmethod
    def statistics(rows: Iterable[dict], params: dict) -> dict[str, dict]:
        """Each service type's number of rounds and, where there are enough, the gaps' fences."""
        gaps: dict[str, list[Decimal]] = defaultdict(list)
        for row in rows:
            gaps[str(row["service_type_id"])].append(_gap(row))
        return group_fences(gaps, params["min_projects"], params["iqr_multiplier"])

    def find(self, scope: Scope, params: dict) -> list[Match]:
        if scope.full:
            rows = list(self.rounds(Project.objects.all()))
            stats = peer_statistics(self.code, True, params, (), lambda _g: self.statistics(rows, params))
        else:
            rows = scope.rows(("CO04", "rounds"), lambda s: self.rounds(s.projects(Project.objects.all())))

            def compute(types: set[str]) -> dict[str, dict]:
                peers = self.rounds(Project.objects.filter(service_type_id__in=[int(t) for t in types]))
                return self.statistics(peers, params)

            stats = peer_statistics(
                self.code, False, params, {str(r["service_type_id"]) for r in rows}, compute
            )
        matches = []
        for row in rows:
            stat = stats.get(str(row["service_type_id"])) or {}
            if stat.get("peers", 0) < params["min_projects"]:
                continue
            fences = Fences.stored(stat)
            gap = _gap(row)
            if fences.lower <= gap <= fences.upper:
                continue
            evidence = {
                "project": row["public_number"],
                "winner": row["winner_name"],
                "winner_quote": _money(row["winner_quote"]),
                "second": row["second_name"],
                "second_quote": _money(row["second_quote"]),
                "gap": _ratio(gap),
                "direction": "close" if gap < fences.lower else "far",
                "peers": stat["peers"],
                **_fence_evidence(fences),
            }
            matches.append(_project_match(row["pk"], row["owner_id"], row["department_id"], evidence))
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        gap, lower, upper = (_percent(evidence[k]) for k in ("gap", "lower", "upper"))
        close = evidence["direction"] == "close"
        if _english(language):
            judgement = f"below the lower fence {lower}" if close else f"above the upper fence {upper}"
            return (
                f"In project {evidence['project']} the winning quote of {evidence['winner']} ({evidence['winner_quote']} "
                f"yuan) and the second-lowest of {evidence['second']} ({evidence['second_quote']} yuan) differ by {gap}, "
                f"{judgement} of {evidence['peers']} rounds of the same service type."
            )
        judgement = (
            f"低于同类服务 {evidence['peers']} 个项目的下限 {lower}"
            if close
            else (f"高于同类服务 {evidence['peers']} 个项目的上限 {upper}")
        )
        return (
            f"项目 {evidence['project']} 中选机构 {evidence['winner']} 报价 {evidence['winner_quote']} 元，"
            f"次低报价 {evidence['second']} {evidence['second_quote']} 元，相差 {gap}，{judgement}。"
        )


# --- CO09 ---------------------------------------------------------------------------------------


@register
class CoverBidding(Rule):
    """CO09: a firm that bids often and almost never wins (OCP R025 "excessive unsuccessful
    bids"). Over the window, counting its valid applications to price-competing rounds that
    have a result: flagged when its number of bids is at least the given percentile of all
    firms' (and at least the minimum), and its win rate is below Q1 - k IQR of firms' win rates
    or it won nothing. Only valid bids count, so a firm repeatedly disqualified (for example
    where one rival alone holds the qualification) is not taken for a cover bidder; and random
    draws and direct picks are left out, since losing a draw says nothing about the bid
    (Cardinal's R025 counts every method, over all the data). Basis: cover bids make a rigged
    round look competitive. Evidence: the firm, its bids, wins and rate, and the market's
    percentile and fences."""

    code = "CO09"
    phases = frozenset({AWARD})
    methods = frozenset(PRICE_COMPETES)
    category = Category.COMPETITION
    title_zh = "频繁报名却几乎从不中选（陪标）"
    title_en = "Cover bidding: bids often, almost never wins"
    basis_zh = "中介机构报名次数居前却几乎从不中选，可能为他人陪标、制造竞争假象（OCP R025）。"
    basis_en = (
        "A firm among the most frequent bidders that almost never wins may be a cover bidder (OCP R025)."
    )
    default_weight = 6
    thresholds = {
        "bids_percentile": Threshold(
            75, int, 50, 99, "报名次数不低于百分位", "Bids at least this percentile"
        ),
        "min_bids": Threshold(8, int, 2, 1000, "报名次数至少（次）", "Bids at least"),
        "iqr_multiplier": _multiplier(),
        "days": _days(),
    }
    ocp = ("R025",)
    scopes = ("project", "intermediary")

    @staticmethod
    def bidders(since: datetime) -> QuerySet:
        """Each firm's valid bids in decided price-competing rounds since ``since`` (the window's
        start), and its wins."""
        won = Selection.objects.filter(winner=OuterRef("pk"), annulled=False)
        return (
            Application.objects.filter(
                state=V.VALID,
                project__method__in=PRICE_COMPETES,
                project__registration_deadline__gte=since,
            )
            .filter(Exists(_active_award("project_id")))
            .annotate(won=Exists(won))
            .values("intermediary_id", "intermediary__name", "intermediary__uscc")
            .annotate(bids=Count("pk"), wins=Count("pk", filter=Q(won=True)))
            .order_by()
        )

    @staticmethod
    def statistics(rows: list[dict], params: dict) -> dict[str, dict]:
        """The market's bid-count percentile and the fences of firms' win rates."""
        if not rows:
            return {"market": {}}
        percentile = quantile([row["bids"] for row in rows], Decimal(params["bids_percentile"]) / 100)
        fences = Fences.of([Decimal(row["wins"]) / row["bids"] for row in rows], params["iqr_multiplier"])
        return {"market": {"firms": len(rows), "percentile": percentile, **fences.as_dict()}}

    def find(self, scope: Scope, params: dict) -> list[Match]:
        if not scope.full and not scope.intermediary_ids:
            return []
        if scope.full:
            rows = list(self.bidders(_since(params["days"])))
            stats = peer_statistics(self.code, True, params, (), lambda _g: self.statistics(rows, params))
        else:
            rows = compiled_rows(
                ("CO09", "bidders"),
                lambda firms, since: self.bidders(since).filter(intermediary_id__any=firms),
                firms=scope.intermediary_ids,
                since=_since(params["days"]),
            )
            stats = peer_statistics(
                self.code,
                False,
                params,
                {"market"},
                lambda _g: self.statistics(list(self.bidders(_since(params["days"]))), params),
            )
        market = stats.get("market") or {}
        if not rows or not market:
            return []
        percentile = Decimal(market["percentile"])
        fences = Fences.stored(market)
        rates = {row["intermediary_id"]: Decimal(row["wins"]) / row["bids"] for row in rows}
        matches = []
        for row in rows:
            firm = row["intermediary_id"]
            if row["bids"] < percentile or row["bids"] < params["min_bids"]:
                continue
            if not (row["wins"] == 0 or rates[firm] < fences.lower):
                continue
            evidence = {
                "firm": row["intermediary__name"],
                "uscc": row["intermediary__uscc"],
                "bids": row["bids"],
                "wins": row["wins"],
                "rate": _ratio(rates[firm]),
                "percentile": params["bids_percentile"],
                "bids_at_percentile": _ratio(percentile),
                "firms": market["firms"],
                "days": params["days"],
                **_fence_evidence(fences),
            }
            matches.append(
                Match(
                    subject_type="intermediary",
                    subject_id=firm,
                    intermediary_id=firm,
                    evidence=evidence,
                    key={"intermediary": firm},
                )
            )
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        rate = _percent(evidence["rate"])
        if _english(language):
            return (
                f"{evidence['firm']} made {evidence['bids']} valid bids in {evidence['days']} days (the "
                f"{evidence['percentile']}th percentile of {evidence['firms']} firms is {_plain(evidence['bids_at_percentile'])}) "
                f"and won {evidence['wins']} ({rate})."
            )
        return (
            f"{evidence['firm']} 在 {evidence['days']} 天内有效报名 {evidence['bids']} 次"
            f"（{evidence['firms']} 家机构的第 {evidence['percentile']} 百分位为 {_plain(evidence['bids_at_percentile'])} 次），"
            f"仅中选 {evidence['wins']} 次（{rate}）。"
        )
