"""Competition rules on disqualifications: the lowest quote disqualified (CO06), every
applicant but the winner disqualified (CO07) and an owner disqualifying an unusually
large share of applicants (CO08).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery

from marketplace.procurement.models import Application, Project, Selection

from ...models import Category
from ..base import AWARD, REACH_PROJECT, Match, Rule, Scope, Threshold, register
from ..stats import Fences
from .common import (
    JUDGED,
    PRICE_ONLY,
    PROJECT_FIELDS,
    V,
    _active_award,
    _days,
    _english,
    _fence_evidence,
    _method,
    _money,
    _multiplier,
    _percent,
    _project_match,
    _ratio,
    _since,
)

# --- CO06 ---------------------------------------------------------------------------------------


@register
class LowestQuoteDisqualified(Rule):
    """CO06: in a price-only round (lowest or reference price) that has a result, the lowest
    quote belongs to a disqualified applicant and is lower than every valid quote (OCP R036
    "lowest bid disqualified"; a valid quote as low as it is a tie, not flagged, where Cardinal
    depends on the order of the bids). Basis: disqualifying the cheapest bidder is a way to steer
    a price-only award. Evidence: the project, the disqualified firm, its quote and the reason,
    the lowest valid quote and the winner."""

    code = "CO06"
    phases = frozenset({AWARD})
    reach = REACH_PROJECT
    methods = frozenset(PRICE_ONLY)
    category = Category.COMPETITION
    title_zh = "最低报价被判无效"
    title_en = "Lowest quote disqualified"
    basis_zh = "以价格为唯一标准的选取中，最低报价的报名被判无效，可能借资格审查排斥低价竞争者（OCP R036）。"
    basis_en = (
        "In a price-only round the lowest quote was disqualified, which can steer the award (OCP R036)."
    )
    default_weight = 8
    ocp = ("R036",)

    def find(self, scope: Scope, params: dict) -> list[Match]:
        if not scope.full:
            return self._scoped(scope)
        award = _active_award()
        judged = Application.objects.filter(project=OuterRef("pk"), quote_amount__isnull=False)
        valid = judged.filter(state=V.VALID).order_by("quote_amount", "pk")
        # A winner disqualified because an objection against it was upheld (its round annulled)
        # was removed by due process, not by the owner: not a red flag.
        upheld = Selection.objects.filter(annulled=True, winner=OuterRef("pk"))
        disqualified = (
            judged.filter(state=V.DISQUALIFIED).exclude(Exists(upheld)).order_by("quote_amount", "pk")
        )
        rows = (
            scope.projects(Project.objects.filter(method__in=PRICE_ONLY))
            .filter(Exists(award))
            .annotate(
                lowest_valid=Subquery(valid.values("quote_amount")[:1]),
                lowest_disqualified=Subquery(disqualified.values("quote_amount")[:1]),
            )
            .filter(lowest_disqualified__lt=F("lowest_valid"))
            .annotate(
                firm=Subquery(disqualified.values("intermediary__name")[:1]),
                reason=Subquery(disqualified.values("disqualification_reason")[:1]),
                winner=Subquery(award.values("winner__intermediary__name")[:1]),
                winner_quote=Subquery(award.values("winner__quote_amount")[:1]),
            )
            .values(
                "pk",
                "public_number",
                "method",
                "owner_id",
                "department_id",
                "lowest_valid",
                "lowest_disqualified",
                "firm",
                "reason",
                "winner",
                "winner_quote",
            )
        )
        return [
            _project_match(
                row["pk"],
                row["owner_id"],
                row["department_id"],
                {
                    "project": row["public_number"],
                    "method": row["method"],
                    "firm": row["firm"],
                    "quote": _money(row["lowest_disqualified"]),
                    "reason": (row["reason"] or "")[:300],
                    "lowest_valid": _money(row["lowest_valid"]),
                    "winner": row["winner"],
                    "winner_quote": _money(row["winner_quote"]),
                },
            )
            for row in rows
        ]

    def _scoped(self, scope: Scope) -> list[Match]:
        """The same finding for a few projects, from their quoted applications in one plain
        query (the full scan's seven correlated subqueries cost more to build than to run for
        one project); the result is read only for a round whose lowest quote was disqualified,
        which most are not."""
        upheld = Selection.objects.filter(annulled=True, winner=OuterRef("pk"))
        rows = scope.rows(
            "CO06",
            lambda s: (
                s.projects(Application.objects.all(), "project_id")
                .filter(
                    project__method__in=PRICE_ONLY,
                    quote_amount__isnull=False,
                    state__in=[V.VALID, V.DISQUALIFIED],
                )
                .annotate(upheld=Exists(upheld))
                .values(
                    "pk",
                    "project_id",
                    "state",
                    "quote_amount",
                    "upheld",
                    "intermediary__name",
                    "disqualification_reason",
                )
                .order_by()
            ),
        )
        # The lowest valid and the lowest disqualified quote of each round (ties: the first
        # application), as the full scan orders them.
        lowest: dict[tuple[int, str], dict] = {}
        for row in rows:
            if row["state"] == V.DISQUALIFIED and row["upheld"]:
                continue
            key = (row["project_id"], row["state"])
            held = lowest.get(key)
            if held is None or (row["quote_amount"], row["pk"]) < (held["quote_amount"], held["pk"]):
                lowest[key] = row
        suspect = {
            project_id: row
            for (project_id, state), row in lowest.items()
            if state == V.DISQUALIFIED
            and (project_id, V.VALID) in lowest
            and row["quote_amount"] < lowest[(project_id, V.VALID)]["quote_amount"]
        }
        if not suspect:
            return []
        awards: dict[int, dict] = {}
        for award in (
            Selection.objects.filter(project_id__in=sorted(suspect), annulled=False, winner__isnull=False)
            .order_by("project_id", "-round")
            .values(
                *PROJECT_FIELDS,
                "winner__intermediary__name",
                "winner__quote_amount",
            )
        ):
            awards.setdefault(award["project_id"], award)
        return [
            _project_match(
                project_id,
                award["project__owner_id"],
                award["project__department_id"],
                {
                    "project": award["project__public_number"],
                    "method": award["project__method"],
                    "firm": suspect[project_id]["intermediary__name"],
                    "quote": _money(suspect[project_id]["quote_amount"]),
                    "reason": (suspect[project_id]["disqualification_reason"] or "")[:300],
                    "lowest_valid": _money(lowest[(project_id, V.VALID)]["quote_amount"]),
                    "winner": award["winner__intermediary__name"],
                    "winner_quote": _money(award["winner__quote_amount"]),
                },
            )
            for project_id, award in awards.items()
        ]

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        method = _method(evidence["method"], language)
        if _english(language):
            return (
                f"In project {evidence['project']} ({method}) the lowest quote, {evidence['quote']} yuan from "
                f"{evidence['firm']}, was disqualified ({evidence['reason'] or 'no reason recorded'}); "
                f"{evidence['winner']} won at {evidence['winner_quote']} yuan."
            )
        return (
            f"项目 {evidence['project']}（{method}）最低报价 {evidence['firm']} {evidence['quote']} 元被判无效"
            f"（{evidence['reason'] or '未记录理由'}），由 {evidence['winner']} 以 {evidence['winner_quote']} 元中选。"
        )


# --- CO07 ---------------------------------------------------------------------------------------


@register
class OthersDisqualified(Rule):
    """CO07: a round with a result in which the winner is the only valid applicant and every
    other applicant (at least the threshold) was disqualified (OCP R035 "all except winning bid
    disqualified"). Basis: disqualifying everyone but one firm is a way to award a chosen firm.
    Evidence: the project, its method, the winner and each disqualified firm with its reason."""

    code = "CO07"
    phases = frozenset({AWARD})
    reach = REACH_PROJECT
    category = Category.COMPETITION
    title_zh = "除中选人外其他报名均被判无效"
    title_en = "Every applicant but the winner disqualified"
    basis_zh = "中选机构为唯一有效报名，其余报名均被判无效，可能借资格审查排斥其他竞争者（OCP R035）。"
    basis_en = (
        "The winner was the only valid applicant and every other applicant was disqualified (OCP R035)."
    )
    default_weight = 10
    thresholds = {
        "min_others": Threshold(
            1, int, 1, 20, "被判无效的其他报名至少（家）", "Other applicants disqualified at least"
        )
    }
    ocp = ("R035",)

    def find(self, scope: Scope, params: dict) -> list[Match]:
        award = _active_award()
        rows = scope.rows(
            ("CO07", params["min_others"]),
            lambda s: (
                s.projects(Project.objects.all())
                .filter(Exists(award.filter(winner__state=V.VALID)))
                .annotate(
                    valid=Count("applications", filter=Q(applications__state=V.VALID)),
                    disqualified=Count("applications", filter=Q(applications__state=V.DISQUALIFIED)),
                )
                .filter(valid=1, disqualified__gte=params["min_others"])
                .values("pk", "public_number", "method", "owner_id", "department_id")
            ),
        )
        if not rows:
            return []
        ids = [row["pk"] for row in rows]
        winners = dict(
            Selection.objects.filter(project_id__in=ids, annulled=False, winner__isnull=False).values_list(
                "project_id", "winner__intermediary__name"
            )
        )
        others: dict[int, list[dict]] = defaultdict(list)
        for project_id, name, uscc, reason in (
            Application.objects.filter(project_id__in=ids, state=V.DISQUALIFIED)
            .order_by("intermediary__uscc")
            .values_list("project_id", "intermediary__name", "intermediary__uscc", "disqualification_reason")
        ):
            others[project_id].append({"name": name, "uscc": uscc, "reason": (reason or "")[:300]})
        return [
            _project_match(
                row["pk"],
                row["owner_id"],
                row["department_id"],
                {
                    "project": row["public_number"],
                    "method": row["method"],
                    "winner": winners.get(row["pk"]),
                    "disqualified": others[row["pk"]],
                },
            )
            for row in rows
        ]

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        method = _method(evidence["method"], language)
        count = len(evidence["disqualified"])
        if _english(language):
            others = "; ".join(
                f"{d['name']} ({d['reason'] or 'no reason recorded'})" for d in evidence["disqualified"]
            )
            return (
                f"In project {evidence['project']} ({method}) {evidence['winner']} won as the only valid applicant; "
                f"all {count} others were disqualified: {others}."
            )
        others = "；".join(f"{d['name']}（{d['reason'] or '未记录理由'}）" for d in evidence["disqualified"])
        return (
            f"项目 {evidence['project']}（{method}）由唯一有效报名人 {evidence['winner']} 中选，"
            f"其余 {count} 家报名均被判无效：{others}。"
        )


# --- CO08 ---------------------------------------------------------------------------------------


@register
class OwnerDisqualifiesMany(Rule):
    """CO08: an owner whose rounds disqualify an unusually large share of applicants: over the
    window, the share of disqualified among its judged applications is above Q3 + k IQR of the
    shares of all owners with at least the minimum number of applications (OCP R038 "excessive
    disqualified bids", per buyer; Cardinal takes all the data and buyers with two rounds).
    Basis: requirements or reviews that exclude most bidders keep the competition away.
    Evidence: the owner, its applications and disqualifications, its share, and the owners'
    quartiles and fence."""

    code = "CO08"
    category = Category.COMPETITION
    title_zh = "业主项目报名被判无效比例异常"
    title_en = "Owner disqualifying an unusually large share of applicants"
    basis_zh = "同一业主项目中被判无效的报名占比显著高于其他业主，可能以资格条件排斥潜在竞争者（OCP R038）。"
    basis_en = "An owner's rounds disqualify a far larger share of applicants than other owners' (OCP R038)."
    default_weight = 6
    thresholds = {
        "min_applications": Threshold(
            10, int, 2, 1000, "业主报名数至少（个）", "Applications per owner at least"
        ),
        "iqr_multiplier": _multiplier(),
        "days": _days(),
    }
    ocp = ("R038",)
    # An owner's flag carries no project or firm, and a scoped run only looks up (and resolves)
    # flags by project or firm: the full scan (nightly) alone judges owners.
    scopes = ()

    def find(self, scope: Scope, params: dict) -> list[Match]:
        if not scope.full:
            return []
        rows = [
            row
            for row in Application.objects.filter(
                state__in=JUDGED, project__registration_deadline__gte=_since(params["days"])
            )
            .values("project__owner_id", "project__owner__name")
            .annotate(applications=Count("pk"), disqualified=Count("pk", filter=Q(state=V.DISQUALIFIED)))
            .order_by()
            if row["applications"] >= params["min_applications"]
        ]
        if not rows:
            return []
        shares = {
            row["project__owner_id"]: Decimal(row["disqualified"]) / row["applications"] for row in rows
        }
        fences = Fences.of(list(shares.values()), params["iqr_multiplier"])
        matches = []
        for row in rows:
            owner = row["project__owner_id"]
            if shares[owner] <= fences.upper:
                continue
            evidence = {
                "owner": row["project__owner__name"],
                "applications": row["applications"],
                "disqualified": row["disqualified"],
                "share": _ratio(shares[owner]),
                "owners": len(rows),
                "days": params["days"],
                **_fence_evidence(fences),
            }
            matches.append(
                Match(
                    subject_type="owner",
                    subject_id=owner,
                    owner_id=owner,
                    evidence=evidence,
                    key={"owner": owner},
                )
            )
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        share, upper = _percent(evidence["share"]), _percent(evidence["upper"])
        if _english(language):
            return (
                f"{evidence['owner']} disqualified {evidence['disqualified']} of {evidence['applications']} applications "
                f"in {evidence['days']} days ({share}), above the upper fence {upper} of {evidence['owners']} owners."
            )
        return (
            f"{evidence['owner']} 在 {evidence['days']} 天内 {evidence['applications']} 个报名中有 "
            f"{evidence['disqualified']} 个被判无效（{share}），高于 {evidence['owners']} 个业主的上限 {upper}。"
        )
