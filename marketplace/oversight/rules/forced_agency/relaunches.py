"""Forced-agency rule FA05: a project failed or cancelled and relaunched until one intermediary
won.
"""

from __future__ import annotations

from django.db.models import (
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)

from marketplace.procurement.models import (
    Project,
    Selection,
    Status,
)

from ...models import Category
from ..base import AWARD, COMPETITION, REACH_WINNERS, Match, Rule, Scope, Threshold, register
from ..compiled import compiled_rows
from .common import EXCERPT, _awards, _en, _scoped

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
    reach = REACH_WINNERS
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
        if not scope.full:
            return _scoped(scope, self._scoped_find(scope, params))
        matches = self._chains(params["relaunches"], scope)
        if params["annulled_reassignment"]:
            matches += self._annulments(scope)
        return _scoped(scope, matches)

    def _scoped_find(self, scope: Scope, params: dict) -> list[Match]:
        """A per-change run: every decided round of the projects the full scan's queries would
        look at for this scope (the scoped projects and those a scoped firm won), in one query;
        the chains and annulments are then picked from those few rows as ``_chains`` and
        ``_annulments`` pick them from the market."""
        firms = scope.intermediary_ids or []

        def rounds(winners: list[int], projects: list[int]) -> QuerySet:
            won = _awards().filter(winner__intermediary_id__any=winners).order_by().values("project_id")
            scoped = Project.objects.filter(pk__any=projects).order_by().values("pk")
            return Selection.objects.filter(winner__isnull=False, project_id__in=won.union(scoped)).values(
                "project_id",
                "round",
                "annulled",
                "project__public_number",
                "project__owner_id",
                "project__department_id",
                "project__relaunch_of_id",
                "project__status",
                "project__failure_reason",
                "winner__intermediary_id",
                "winner__intermediary__name",
            )  # in the model's order, as ``_annulments`` reads them

        rows = compiled_rows(("FA05", "rounds"), rounds, winners=firms, projects=scope.project_ids or [])
        in_scope = set(scope.project_ids or [])
        winners = sorted(
            (
                row
                for row in rows
                if not row["annulled"]
                and row["project__relaunch_of_id"] is not None
                and (row["project_id"] in in_scope or row["winner__intermediary_id"] in firms)
            ),
            key=lambda row: (row["project_id"], row["round"]),
        )
        known = {
            row["project_id"]: {
                "pk": row["project_id"],
                "relaunch_of_id": row["project__relaunch_of_id"],
                "public_number": row["project__public_number"],
                "status": row["project__status"],
                "failure_reason": row["project__failure_reason"],
            }
            for row in winners
        }
        matches = self._chains(params["relaunches"], scope, winners, known) if winners else []
        if params["annulled_reassignment"]:
            matches += self._annulments_among(rows)
        return matches

    @staticmethod
    def _annulments_among(rows: list[dict]) -> list[Match]:
        """``_annulments`` over the rounds ``rows`` (every decided round of their projects): an
        annulled round whose latest later standing round went to another firm."""
        standing: dict[int, list[dict]] = {}
        for row in rows:
            if not row["annulled"]:
                standing.setdefault(row["project_id"], []).append(row)
        found = []
        for row in rows:
            if not row["annulled"]:
                continue
            later = [r for r in standing.get(row["project_id"], []) if r["round"] > row["round"]]
            if not later:
                continue
            new = max(later, key=lambda r: r["round"])
            if new["winner__intermediary_id"] == row["winner__intermediary_id"]:
                continue
            found.append(
                {
                    "project_id": row["project_id"],
                    "project__public_number": row["project__public_number"],
                    "project__owner_id": row["project__owner_id"],
                    "project__department_id": row["project__department_id"],
                    "round": row["round"],
                    "winner__intermediary__name": row["winner__intermediary__name"],
                    "new_round": new["round"],
                    "new_firm_id": new["winner__intermediary_id"],
                    "new_firm": new["winner__intermediary__name"],
                }
            )
        return [_annulment_match(row) for row in found]

    def _chains(
        self,
        minimum: int,
        scope: Scope,
        winners: list[dict] | None = None,
        known: dict[int, dict] | None = None,
    ) -> list[Match]:
        if winners is None:
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
        fields = ("pk", "relaunch_of_id", "public_number", "status", "failure_reason")
        if scope.full:
            members = {
                row["pk"]: row
                for row in Project.objects.filter(
                    Q(relaunch_of__isnull=False)
                    | Exists(Project.objects.filter(relaunch_of_id=OuterRef("pk")))
                ).values(*fields)
            }
        else:
            # Walk up the few chains of the scoped winners, one query per step back (the winners'
            # own projects may be known already).
            members = dict(known or {})
            wanted = {win["project_id"] for win in winners} - set(members)
            wanted |= {row["relaunch_of_id"] for row in members.values() if row["relaunch_of_id"]} - set(
                members
            )
            while wanted:
                rows = list(Project.objects.filter(pk__in=sorted(wanted)).values(*fields))
                members.update({row["pk"]: row for row in rows})
                wanted = {row["relaunch_of_id"] for row in rows if row["relaunch_of_id"]} - set(members)
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
            won = _awards().filter(winner__intermediary_id__in=scope.intermediary_ids or [])
            projects = set(scope.project_ids or []) | set(won.values_list("project_id", flat=True))
            annulled = annulled.filter(project_id__in=sorted(projects))
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
        return [_annulment_match(row) for row in rows]

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


def _annulment_match(row: dict) -> Match:
    return Match(
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
