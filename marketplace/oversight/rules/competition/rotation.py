"""Competition rule CO05: bid rotation, groups of firms that keep applying together and take
turns winning. The search for frequent groups is bounded (``MAX_GROUP``,
``MAX_CANDIDATES``) and says in the log where it stopped.
"""

from __future__ import annotations

import bisect
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q, QuerySet, Subquery

from marketplace.procurement.models import Application

from ...models import Category
from ..base import AWARD, Match, Rule, Scope, Threshold, register
from ..compiled import compiled_rows
from .common import JUDGED, PRICE_COMPETES, _active_award, _days, _english, _names, _since

logger = logging.getLogger(__name__)


# --- CO05 ---------------------------------------------------------------------------------------

MAX_GROUP = 8  # the largest group of firms examined (keeps the search bounded in dense markets)
MAX_LISTED = 900  # ids passed as query parameters at most (SQLite's historical limit is 999)
MAX_CANDIDATES = 10_000  # groups of one size from one firm examined at most (bounds dense markets)


def _frequent_groups(
    projects_of: dict[int, set[int]], pairs: Iterable[tuple[int, int]], min_rounds: int
) -> dict[frozenset[int], set[int]]:
    """Every group of firms (two or more) that applied together to ``min_rounds`` rounds, with
    those rounds: frequent pairs first, then each group extended by a firm paired with all its
    members and above its largest member (so each group is built once)."""
    partners: dict[int, set[int]] = defaultdict(set)
    level: dict[frozenset[int], set[int]] = {}
    for a, b in pairs:
        joint = projects_of.get(a, set()) & projects_of.get(b, set())
        if len(joint) >= min_rounds:
            partners[a].add(b)
            partners[b].add(a)
            level[frozenset((a, b))] = joint
    found = dict(level)
    # Groups grow only with firms above their largest member, so each group's smallest member
    # (its root) never changes: grow each root's groups on their own, within a budget, so that
    # a crowd of firms entering the same rounds stops its own search and nobody else's.
    by_root: dict[int, dict[frozenset[int], set[int]]] = defaultdict(dict)
    for group, joint in level.items():
        by_root[min(group)][group] = joint
    for root, rooted in by_root.items():
        size = 2
        while rooted and size < MAX_GROUP:
            following: dict[frozenset[int], set[int]] = {}
            for group, joint in rooted.items():
                top = max(group)
                common = set.intersection(*(partners[m] for m in group))
                for firm in common:
                    if firm <= top:
                        continue
                    together = joint & projects_of[firm]
                    if len(together) >= min_rounds:
                        following[group | {firm}] = together
                if len(following) > MAX_CANDIDATES:
                    break
            if len(following) > MAX_CANDIDATES:
                # Many firms entering the same rounds (an open market, not a ring) make the
                # number of groups explode; keep this root's groups found so far.
                logger.warning(
                    "CO05: more than %s groups of %s firms from firm %s; its groups larger than %s are not examined",
                    MAX_CANDIDATES,
                    size + 1,
                    root,
                    size,
                )
                break
            found.update(following)
            rooted = following
            size += 1
    return found


def _groups_with(
    firm: int, shared: dict[int, set[int]], min_rounds: int
) -> dict[frozenset[int], set[int]] | None:
    """Every group of firms (two or more) with ``firm`` that applied together to ``min_rounds``
    rounds, with those rounds, given each other firm's rounds shared with ``firm`` (``shared``,
    its frequent partners only). Groups grow by partners above their largest one, so each is
    built once. None when one size has more than ``MAX_CANDIDATES`` groups (a crowd)."""
    partners = sorted(other for other in shared if other != firm)
    level = {(other,): shared[other] for other in partners}
    found = {frozenset((firm, other)): joint for (other,), joint in level.items()}
    size = 2
    while level and size < MAX_GROUP:
        following: dict[tuple[int, ...], set[int]] = {}
        for group, joint in level.items():
            for other in partners[bisect.bisect_right(partners, group[-1]) :]:
                together = joint & shared[other]
                if len(together) >= min_rounds:
                    following[(*group, other)] = together
            if len(following) > MAX_CANDIDATES:
                return None
        found.update((frozenset((firm, *group)), joint) for group, joint in following.items())
        level = following
        size += 1
    return found


@dataclass
class _RoundTable:
    """Who applied to which rounds, each round's winner and number, each firm's name and code."""

    projects_of: dict[int, set[int]]
    winner_of: dict[int, int | None]
    number_of: dict[int, str]
    firm_of: dict[int, dict]

    @classmethod
    def load(cls, applications: QuerySet) -> _RoundTable:
        rows = applications.annotate(
            winner=Subquery(_active_award("project_id").values("winner__intermediary_id")[:1])
        ).values(
            "project_id",
            "project__public_number",
            "intermediary_id",
            "intermediary__name",
            "intermediary__uscc",
            "winner",
        )
        table = cls(defaultdict(set), {}, {}, {})
        for row in rows.order_by():
            table.projects_of[row["intermediary_id"]].add(row["project_id"])
            table.winner_of[row["project_id"]] = row["winner"]
            table.number_of[row["project_id"]] = row["project__public_number"]
            table.firm_of[row["intermediary_id"]] = {
                "name": row["intermediary__name"],
                "uscc": row["intermediary__uscc"],
            }
        return table


@register
class BidRotation(Rule):
    """CO05: the same group of firms (three or more) applies together round after round and
    the wins rotate among them (OCP R057 "bid rotation"). A group is flagged when, over the
    window, its members all applied to at least the minimum number of price-competing rounds
    that one of them won, and at least two different members won those rounds. Frequent pairs
    come from one grouped self-join; groups are grown from them (each member must co-bid with
    every other), and only the largest qualifying groups are reported. Basis: taking turns to
    win is market sharing (《反垄断法》第十七条；《招标投标法实施条例》第三十九条). Evidence:
    the firms, the rounds and who won each. Each member is a subject of its own flag."""

    code = "CO05"
    phases = frozenset({AWARD})
    methods = frozenset(PRICE_COMPETES)
    category = Category.COMPETITION
    title_zh = "固定机构组合轮流中选"
    title_en = "The same group of firms bidding together with rotating wins"
    basis_zh = (
        "同一组中介机构反复共同报名，中选结果在组内轮换，可能为串通轮流中标、划分市场"
        "（《招标投标法实施条例》第三十九条；OCP R057）。"
    )
    basis_en = (
        "The same group of firms repeatedly bidding together with the wins rotating among them "
        "points at bid rotation and market sharing (OCP R057)."
    )
    default_weight = 12
    thresholds = {
        "min_firms": Threshold(3, int, 2, MAX_GROUP, "组内机构至少（家）", "Firms in the group at least"),
        "min_rounds": Threshold(
            4, int, 2, 100, "共同报名且组内中选的项目至少（个）", "Rounds together won by a member at least"
        ),
        "min_winners": Threshold(
            2, int, 2, MAX_GROUP, "组内不同中选机构至少（家）", "Different winners at least"
        ),
        "days": _days(),
    }
    ocp = ("R057",)
    scopes = ("project", "intermediary")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        if not scope.full and not scope.intermediary_ids:
            return []
        since = _since(params["days"])
        rounds = self._rounds(since)
        if not scope.full:
            matches = self._around(rounds, since, sorted(scope.intermediary_ids or []), params)
            if matches is not None:
                return matches
        return self._search(rounds, scope, params)

    @staticmethod
    def _rounds(since: datetime) -> QuerySet:
        """Judged applications to price-competing rounds whose registration closed since ``since``."""
        return Application.objects.filter(
            state__in=JUDGED, project__method__in=PRICE_COMPETES, project__registration_deadline__gte=since
        )

    def _around(
        self, rounds: QuerySet, since: datetime, firms: list[int], params: dict
    ) -> list[Match] | None:
        """A per-change run's groups, from the scoped firms' own rounds. Every member of a group
        applied to all the group's rounds, so the rounds of a group with a scoped firm are among
        that firm's: who applied to its rounds decides its groups exactly, however many rounds
        its partners entered elsewhere (reading all their rounds made a busy firm's change cost
        100-450 ms). Winners, numbers and names are read only for the groups large enough to
        qualify. None when a firm's search reaches ``MAX_CANDIDATES``: the neighbourhood search
        (``_search``) then decides, so that a search cut short stays cut as it always was (where
        only the neighbourhood search would stop, its crowd being elsewhere, this one does not)."""
        min_rounds = params["min_rounds"]
        theirs = rounds.filter(intermediary_id__in=firms).values("project_id")
        applicants: dict[int, list[int]] = defaultdict(list)
        rows = compiled_rows(
            ("CO05", "applicants"),
            lambda firms, since: (
                Application.objects.filter(
                    state__in=JUDGED,
                    project_id__in=self._rounds(since)
                    .filter(intermediary_id__any=firms)
                    .values("project_id"),
                )
                .order_by()
                .values("project_id", "intermediary_id")
            ),
            firms=firms,
            since=since,
        )
        for row in rows:
            applicants[row["project_id"]].append(row["intermediary_id"])
        own_rounds: dict[int, list[int]] = defaultdict(list)
        for project_id, present in applicants.items():
            for firm in present:
                own_rounds[firm].append(project_id)
        groups: dict[frozenset[int], set[int]] = {}
        for firm in firms:
            if len(own_rounds.get(firm, ())) < min_rounds:
                continue
            # The firm and its frequent partners, each with only the rounds shared with the firm.
            shared: dict[int, set[int]] = defaultdict(set)
            for project_id in own_rounds[firm]:
                for other in applicants[project_id]:
                    shared[other].add(project_id)
            local = {other: joint for other, joint in shared.items() if len(joint) >= min_rounds}
            if len(local) < 2:
                continue
            found = _groups_with(firm, local, min_rounds)
            if found is None:
                return None
            groups.update(
                (group, joint) for group, joint in found.items() if len(group) >= params["min_firms"]
            )
        if not groups:
            return []
        members = sorted(set().union(*groups))
        projects = sorted(set().union(*groups.values()))
        details = rounds.filter(
            project_id__in=projects if len(projects) <= MAX_LISTED else theirs,
        )
        if len(members) <= MAX_LISTED:
            details = details.filter(intermediary_id__in=members)
        return self._matches(groups, _RoundTable.load(details), params, set(firms))

    def _search(self, rounds: QuerySet, scope: Scope, params: dict) -> list[Match]:
        """The full scan's search: frequent pairs from one grouped self-join, then the groups
        grown from them; for a scope, the pairs within the scoped firms' frequent partners."""

        def frequent_pairs(
            firms: list[int] | None, ordered: bool, within: bool = False
        ) -> list[tuple[int, int]]:
            """Pairs of firms that applied together to ``min_rounds`` rounds (one side among
            ``firms`` if given, both if ``within``; each pair once if ``ordered``)."""
            # One filter() call, so that every condition is on the same partner application.
            partner = Q(project__applications__state__in=JUDGED)
            if ordered:
                partner &= Q(project__applications__intermediary_id__gt=F("intermediary_id"))
            else:
                partner &= Q(project__applications__intermediary_id__gt=F("intermediary_id")) | Q(
                    project__applications__intermediary_id__lt=F("intermediary_id")
                )
            if within:
                partner &= Q(project__applications__intermediary_id__in=firms)
            together = rounds.filter(partner)
            if firms is not None:
                together = together.filter(intermediary_id__in=firms)
            rows = (
                together.values("intermediary_id", partner=F("project__applications__intermediary_id"))
                .annotate(together=Count("project_id", distinct=True))
                .filter(together__gte=params["min_rounds"])
                .order_by()
            )
            return [(row["intermediary_id"], row["partner"]) for row in rows]

        if scope.full:
            pair_list = frequent_pairs(None, ordered=True)
        else:
            # A group with a scoped firm lies within that firm and its frequent partners (every
            # member co-bids with every other), so only their pairs are needed.
            around = frequent_pairs(sorted(scope.intermediary_ids or []), ordered=False)
            neighbourhood = sorted({firm for pair in around for firm in pair})
            if not around or len(neighbourhood) > MAX_LISTED:
                pair_list = frequent_pairs(None, ordered=True) if around else []
            else:
                pair_list = frequent_pairs(neighbourhood, ordered=True, within=True)
        if not pair_list:
            return []
        firms = {firm for pair in pair_list for firm in pair}
        # Only the firms in a frequent pair matter (a long list is left out: the rows are the same).
        paired = rounds.filter(intermediary_id__in=sorted(firms)) if len(firms) <= MAX_LISTED else rounds
        table = _RoundTable.load(paired)
        groups = _frequent_groups(table.projects_of, pair_list, params["min_rounds"])
        return self._matches(groups, table, params, None if scope.full else set(scope.intermediary_ids or []))

    def _matches(
        self,
        groups: dict[frozenset[int], set[int]],
        table: _RoundTable,
        params: dict,
        wanted: set[int] | None,
    ) -> list[Match]:
        """The largest qualifying groups, one match per member (per ``wanted`` member if given)."""
        winner_of, number_of, firm_of = table.winner_of, table.number_of, table.firm_of
        qualifying: dict[frozenset[int], list[int]] = {}
        for group, joint in groups.items():
            if len(group) < params["min_firms"]:
                continue
            won = sorted((p for p in joint if winner_of.get(p) in group), key=lambda p: number_of[p])
            if len(won) >= params["min_rounds"] and len({winner_of[p] for p in won}) >= params["min_winners"]:
                qualifying[group] = won
        largest = sorted(qualifying, key=len, reverse=True)
        kept = [g for i, g in enumerate(largest) if not any(g < other for other in largest[:i])]
        matches = []
        for group in kept:
            members = sorted(group, key=lambda m: firm_of[m]["uscc"])
            won = qualifying[group]
            evidence = {
                "firms": [firm_of[m] for m in members],
                "rounds": [
                    {"project": number_of[p], "winner": firm_of[winner_of[p]]["name"]}  # type: ignore[index]
                    for p in won
                ],
                "winners": len({winner_of[p] for p in won}),
                "days": params["days"],
            }
            key = {"group": [firm_of[m]["uscc"] for m in members]}
            for member in members:
                if wanted is None or member in wanted:
                    matches.append(
                        Match(
                            subject_type="intermediary",
                            subject_id=member,
                            intermediary_id=member,
                            evidence=evidence,
                            key=key,
                        )
                    )
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        firms = _names(evidence["firms"], language)
        count = len(evidence["rounds"])
        if _english(language):
            rounds = "; ".join(f"{r['project']} won by {r['winner']}" for r in evidence["rounds"])
            return (
                f"{firms} applied together to {count} rounds in {evidence['days']} days and "
                f"{evidence['winners']} of them took turns to win: {rounds}."
            )
        rounds = "；".join(f"{r['project']} 由{r['winner']}中选" for r in evidence["rounds"])
        return (
            f"{firms} 在 {evidence['days']} 天内共同报名 {count} 个项目，"
            f"其中 {evidence['winners']} 家轮流中选：{rounds}。"
        )
