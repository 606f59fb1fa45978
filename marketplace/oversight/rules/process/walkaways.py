"""Process rule PR06: a winner that walked away from the award."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.db.models import QuerySet, Subquery

from marketplace.procurement.models import (
    WalkAway,
)

from ...models import Category
from ..base import AWARD, CONTRACT, REACH_WINNERS, Match, Rule, Scope, Threshold, register
from .common import _day, _english, _iso


@register
class WinnerWalkedAway(Rule):
    """PR06: a winner that walked away (declined, or let the contract deadline pass after the
    owner uploaded the contract), one finding per walk-away; and a serious finding on the firm
    when it walked away at least ``serious_count`` times within ``window_days`` (DESIGN step 6:
    three in a year is serious). The serious finding covers each run of walk-aways in which
    every window start has enough within the window; it keeps its first walk-away as its key,
    so a later walk-away updates it. Evidence: the project, the firm and the reason; for the
    serious finding the walk-aways, their dates and ``serious: true``."""

    code = "PR06"
    phases = frozenset({AWARD, CONTRACT})
    reach = REACH_WINNERS
    category = Category.PROCESS
    title_zh = "中选机构放弃中选"
    title_en = "Winner walked away"
    basis_zh = "中选机构无正当理由放弃中选或不签订合同，属失信行为；一年内三次及以上为严重失信。"
    basis_en = (
        "A winner that declines or fails to sign without cause breaks its commitment; three times "
        "in a year is a serious credit violation."
    )
    default_weight = 5
    thresholds = {
        "serious_count": Threshold(3, int, 2, 20, "严重失信次数（次）", "Walk-aways for a serious finding"),
        "window_days": Threshold(365, int, 30, 1095, "统计期（天）", "Window (days)"),
    }
    scopes = ("project", "intermediary")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        rows = scope.rows("PR06", self._walkaways)
        by_firm: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
        matches = []
        for row in rows:
            by_firm[row["intermediary_id"]].append(row)
            if scope.holds(row["project_id"], row["intermediary_id"]):
                matches.append(self._single(row))
        window = timedelta(days=params["window_days"])
        for firm_rows in by_firm.values():
            for run in self._serious_runs(firm_rows, params["serious_count"], window):
                matches.append(self._serious(run, params))
        return matches

    @staticmethod
    def _walkaways(scope: Scope) -> QuerySet:
        walkaways = WalkAway.objects.all()
        if not scope.full:
            # Every walk-away of the firms touching the scope: the serious finding counts them all.
            touching = scope.projects_or_firms(WalkAway.objects.all(), "project_id", "intermediary_id")
            walkaways = walkaways.filter(intermediary_id__in=Subquery(touching.values("intermediary_id")))
        return walkaways.order_by("intermediary_id", "recorded_at", "pk").values(
            "pk",
            "project_id",
            "project__public_number",
            "project__owner_id",
            "project__department_id",
            "intermediary_id",
            "intermediary__name",
            "intermediary__uscc",
            "reason",
            "recorded_at",
        )

    @staticmethod
    def _serious_runs(
        rows: list[Mapping[str, Any]], count: int, window: timedelta
    ) -> list[list[Mapping[str, Any]]]:
        """Maximal runs of walk-aways (sorted by time) covered by windows holding ``count`` or more."""
        runs: list[list[int]] = []
        end = 0
        for start, row in enumerate(rows):
            end = max(end, start)
            while end + 1 < len(rows) and rows[end + 1]["recorded_at"] - row["recorded_at"] <= window:
                end += 1
            if end - start + 1 < count:
                continue
            if runs and start <= runs[-1][1]:
                runs[-1][1] = end
            else:
                runs.append([start, end])
        return [rows[first : last + 1] for first, last in runs]

    @staticmethod
    def _single(row: Mapping[str, Any]) -> Match:
        return Match(
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
                "recorded_on": _iso(_day(row["recorded_at"])),
                "reason": row["reason"][:200],
            },
            key={"walkaway": row["pk"]},
        )

    @staticmethod
    def _serious(run: list[Mapping[str, Any]], params: dict) -> Match:
        first = run[0]
        return Match(
            subject_type="intermediary",
            subject_id=first["intermediary_id"],
            intermediary_id=first["intermediary_id"],
            evidence={
                "serious": True,
                "firm": first["intermediary__name"],
                "uscc": first["intermediary__uscc"],
                "count": len(run),
                "first_on": _iso(_day(first["recorded_at"])),
                "last_on": _iso(_day(run[-1]["recorded_at"])),
                "projects": [r["project__public_number"] for r in run],
                "serious_count": params["serious_count"],
                "window_days": params["window_days"],
            },
            key={"serious": True, "intermediary": first["intermediary_id"], "first_walkaway": first["pk"]},
        )

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        en = _english(language)
        if e.get("serious"):
            projects = ", ".join(e["projects"]) if en else "、".join(e["projects"])
            if en:
                return (
                    f"{e['firm']} ({e['uscc']}) walked away from {e['count']} winning results between "
                    f"{e['first_on']} and {e['last_on']} ({projects}): {e['serious_count']} or more "
                    f"within {e['window_days']} days is a serious violation."
                )
            return (
                f"{e['firm']}（{e['uscc']}）在 {e['first_on']} 至 {e['last_on']} 期间 {e['count']} 次放弃中选"
                f"（{projects}），{e['window_days']} 天内达到 {e['serious_count']} 次，属严重失信。"
            )
        if en:
            return (
                f"{e['firm']} ({e['uscc']}) walked away from project {e['project']} on "
                f"{e['recorded_on']}: {e['reason']}"
            )
        return (
            f"{e['firm']}（{e['uscc']}）于 {e['recorded_on']} 放弃项目 {e['project']} 的中选：{e['reason']}"
        )
