"""Fee rule FE10: awards split so that each stays under the direct-selection threshold."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from marketplace.procurement.models import (
    Method,
    Project,
    Selection,
)

from ...models import Category
from ..base import AWARD, REACH_WINNERS, Match, Rule, Scope, Threshold, any_of, register
from ..compiled import compiled_rows
from .common import HUNDRED, _amount, _english


@register
class AwardsSplitUnderThreshold(Rule):
    """FE10: an owner repeatedly gives one firm direct-selection awards just under the
    direct-selection threshold of the funding source — the mark of a purchase split to avoid
    competition (OCP R055). Basis: direct selection is allowed only below the threshold;
    splitting a purchase to stay under it is forbidden (《政府采购法实施条例》第二十八条).
    Evidence: the owner, the firm, and the awards inside the densest window (project, amount,
    threshold, date) with their total."""

    code = "FE10"
    phases = frozenset({AWARD})
    reach = REACH_WINNERS
    methods = frozenset({Method.DIRECT})
    category = Category.FEES
    title_zh = "化整为零：多次略低于直接选取限额"
    title_en = "Awards split just under the direct-selection threshold"
    basis_zh = (
        "同一业主多次以略低于直接选取限额的金额直接选取同一中介机构，涉嫌化整为零规避竞争（OCP R055）。"
    )
    basis_en = (
        "One owner repeatedly directly selects the same firm at amounts just under the direct-selection "
        "threshold: a purchase split to avoid competition (OCP R055)."
    )
    default_weight = 8
    thresholds = {
        "within_percent": Threshold(
            Decimal("10"),
            Decimal,
            Decimal("1"),
            Decimal("50"),
            "低于限额幅度（%）",
            "Within % under the threshold",
        ),
        "min_awards": Threshold(2, int, 2, 20, "最少次数", "Awards at least"),
        "window_days": Threshold(365, int, 30, 1095, "统计期（天）", "Window (days)"),
    }
    ocp = ("R055",)
    scopes = ("project", "intermediary")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        limits = {
            source: Decimal(threshold) for source, threshold in settings.DIRECT_SELECTION_THRESHOLDS.items()
        }
        fields = (
            "performed_at",
            "project_id",
            "project__public_number",
            "project__funding_source",
            "project__owner_id",
            "project__owner__name",
            "project__department_id",
            "winner__quote_amount",
            "winner__intermediary_id",
            "winner__intermediary__name",
        )

        def near_limits() -> QuerySet:
            near = Q(pk__in=[])
            for source, limit in limits.items():
                low = limit * (1 - params["within_percent"] / HUNDRED)
                near |= Q(
                    project__funding_source=source,
                    winner__quote_amount__gte=low,
                    winner__quote_amount__lt=limit,
                )
            return Selection.objects.filter(annulled=False, project__method=Method.DIRECT).filter(near)

        if scope.full:
            rows = list(near_limits().order_by("performed_at", "pk").values(*fields))
        else:
            # The scope's firms' awards and its owners' (the owners of the scope's projects).
            rows = compiled_rows(
                ("FE10", params["within_percent"], tuple(sorted(limits.items()))),
                lambda firms, projects: (
                    any_of(
                        near_limits(),
                        [
                            Q(winner__intermediary_id__any=firms),
                            Q(
                                project__owner_id__in=Project.objects.filter(pk__any=projects).values(
                                    "owner_id"
                                )
                            ),
                        ],
                    )
                    .order_by("performed_at", "pk")
                    .values(*fields)
                ),
                firms=scope.intermediary_ids or [],
                projects=scope.project_ids or [],
            )
        pairs: dict[tuple[int, int], list[dict]] = defaultdict(list)
        for row in rows:
            pairs[(row["project__owner_id"], row["winner__intermediary_id"])].append(row)
        window = timedelta(days=params["window_days"])
        matches = []
        for (owner_id, firm_id), items in pairs.items():
            best = self._densest(items, window)
            if len(best) < params["min_awards"]:
                continue
            latest = best[-1]
            match = Match(
                subject_type="owner",
                subject_id=owner_id,
                owner_id=owner_id,
                intermediary_id=firm_id,
                project_id=latest["project_id"],
                department_id=latest["project__department_id"],
                evidence={
                    "owner": latest["project__owner__name"],
                    "firm": latest["winner__intermediary__name"],
                    "window_days": params["window_days"],
                    "total": _amount(sum(r["winner__quote_amount"] for r in best)),
                    "awards": [
                        {
                            "project": r["project__public_number"],
                            "amount": _amount(r["winner__quote_amount"]),
                            "threshold": _amount(limits[r["project__funding_source"]]),
                            "date": timezone.localdate(r["performed_at"]).isoformat(),
                        }
                        for r in best
                    ],
                },
                key={"owner": owner_id, "intermediary": firm_id},
            )
            # A scoped run answers for the pairs of its firms and of its projects (the flag
            # carries the pair's latest project); the window is counted over all their awards.
            if scope.holds(match.project_id, firm_id):
                matches.append(match)
        return matches

    @staticmethod
    def _densest(items: list[dict], window: timedelta) -> list[dict]:
        """The largest run of awards within one window (the latest such run on a tie)."""
        best: list[dict] = []
        start = 0
        for end in range(len(items)):
            while items[end]["performed_at"] - items[start]["performed_at"] > window:
                start += 1
            if end - start + 1 >= len(best):
                best = items[start : end + 1]
        return best

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        if _english(language):
            listed = "; ".join(
                f"{a['project']} {a['amount']} yuan (threshold {a['threshold']}) on {a['date']}"
                for a in e["awards"]
            )
            return (
                f"{e['owner']} directly selected {e['firm']} {len(e['awards'])} times within {e['window_days']} days, "
                f"each just under the direct-selection threshold, {e['total']} yuan in all: {listed}."
            )
        listed = "；".join(
            f"{a['project']} {a['amount']} 元（限额 {a['threshold']} 元，{a['date']}）" for a in e["awards"]
        )
        return (
            f"{e['owner']} 在 {e['window_days']} 天内 {len(e['awards'])} 次直接选取 {e['firm']}，金额均略低于直接选取限额，"
            f"合计 {e['total']} 元：{listed}。"
        )
