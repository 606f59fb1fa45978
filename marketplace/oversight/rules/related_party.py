"""Related-party ties, 红顶中介 (RP01-RP06).

An award is a project's latest non-annulled selection with a winner; the winner is that
selection's application and the award date is when the selection was performed (local date).
RP01-RP04 look for paths in the related-party graph (``oversight.graph``) between the winner
and the project's department, with one walk for all the awards in scope; RP05 flags the ties
they find that the intermediary did not declare; RP06 looks at every applicant.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from marketplace.catalog.models import AffiliatedEntity
from marketplace.procurement.models import Application, Selection
from marketplace.providers.models import DeclaredTie, Intermediary, Shareholder

from .. import graph
from ..models import Category, RuleSetting
from .base import (
    AWARD,
    COMPETITION,
    REACH_PROJECT,
    REACH_WINNERS,
    Match,
    Rule,
    Scope,
    Threshold,
    get_rule,
    register,
)
from .compiled import compiled_rows

# Paths stored in one flag's evidence (all are counted).
EVIDENCE_PATHS = 5

ROLE_NAMES = {
    graph.LEGAL_REPRESENTATIVE: ("法定代表人", "legal representative"),
    graph.PRACTITIONER: ("从业人员", "practitioner"),
    graph.SHAREHOLDING: ("股东", "shareholder"),
}


@dataclass(frozen=True)
class Award:
    project_id: int
    project: str
    owner_id: int
    department_id: int
    department: str
    firm_id: int
    firm: str
    firm_uscc: str
    performed_at: datetime

    @property
    def day(self) -> date:
        return timezone.localdate(self.performed_at)

    def match(self, evidence: dict[str, Any]) -> Match:
        """A flag on the project, tied to its winner and department."""
        return Match(
            subject_type="project",
            subject_id=self.project_id,
            project_id=self.project_id,
            intermediary_id=self.firm_id,
            owner_id=self.owner_id,
            department_id=self.department_id,
            evidence={
                "project": self.project,
                "firm": self.firm,
                "firm_uscc": self.firm_uscc,
                "department": self.department,
                "award_date": self.day.isoformat(),
                **evidence,
            },
            key={"project": self.project_id, "firm": self.firm_id},
        )


AWARD_FIELDS = (
    "project_id",
    "project__public_number",
    "project__owner_id",
    "project__department_id",
    "project__department__name_zh",
    "winner__intermediary_id",
    "winner__intermediary__name",
    "winner__intermediary__uscc",
    "performed_at",
)
# The conditions ``_award_rows`` takes: the award's project, winner or department among ids.
AWARD_LOOKUPS = {
    "projects": "project_id__any",
    "firms": "winner__intermediary_id__any",
    "departments": "project__department_id__any",
}


def _award_rows(**ids: list[int]) -> list[Award]:
    """The standing awards (every one, or those matching all of ``ids``: ``AWARD_LOOKUPS``)."""

    def build(**ids: list[int]) -> QuerySet:
        latest = (
            Selection.objects.filter(project=OuterRef("project"), annulled=False, winner__isnull=False)
            .order_by("-round", "-performed_at", "-pk")
            .values("pk")[:1]
        )
        selections = Selection.objects.filter(
            annulled=False, winner__isnull=False, project__department__isnull=False
        ).filter(pk=Subquery(latest))
        for name, values in ids.items():
            selections = selections.filter(**{AWARD_LOOKUPS[name]: values})
        return selections.order_by().values(*AWARD_FIELDS)

    rows = compiled_rows(("RP", "awards", tuple(sorted(ids))), build, **ids) if ids else build()
    return [Award(*(row[name] for name in AWARD_FIELDS)) for row in rows]


def stored_params(scope: Scope) -> dict[str, dict]:
    """The tie rules' current thresholds (as the engine and RP05 use them), once per run."""
    if "rp_params" not in scope.cache:
        rows = compiled_rows(
            ("RP", "thresholds"),
            lambda: RuleSetting.objects.filter(code__in=TIE_RULES).values("code", "thresholds"),
        )
        stored = {row["code"]: row["thresholds"] for row in rows}
        scope.cache["rp_params"] = {code: get_rule(code).params(stored.get(code) or {}) for code in TIE_RULES}
    return scope.cache["rp_params"]


def _tie_plan(scope: Scope) -> list[graph.Request]:
    return [
        cast(TieRule, get_rule(code)).walk_request(params) for code, params in stored_params(scope).items()
    ]


def awards(scope: Scope, walks: list[graph.Request] | None = None) -> list[Award]:
    """Projects with a department and a standing winner: about a scoped project, or won by a
    scoped firm (so a per-change run covers every flag it may resolve). Kept in the scope's cache
    for the other rules of the run.

    In a scoped run, the graph around the scoped firms and the scoped projects' winners is
    fetched first, for all the tie rules at once (``graph.neighbourhood``, with their current
    thresholds); if it covers ``walks`` (the walks the caller will take; by default the tie
    rules'), a scoped firm's awards are read only in the departments it can reach, since the
    others cannot match."""
    if scope.full:
        if "rp_awards" not in scope.cache:
            scope.cache["rp_awards"] = sorted(_award_rows(), key=lambda a: a.project_id)
        return scope.cache["rp_awards"]
    if "rp_project_awards" not in scope.cache:
        scope.cache["rp_project_awards"] = (
            _award_rows(projects=scope.project_ids) if scope.project_ids else []
        )
    found = {a.project_id: a for a in scope.cache["rp_project_awards"]}
    if scope.intermediary_ids:
        firms = sorted(set(scope.intermediary_ids) | {a.firm_id for a in found.values()})
        plan = _tie_plan(scope)
        near = scope.cache.get(graph.NEIGHBOURHOOD)
        if near is None and len(firms) <= graph.SEEDED_MAX_FIRMS:
            near = graph.neighbourhood(firms, plan, memo=scope.cache)
        departments = None
        if near is not None and all(near.covers(firms, w) for w in (plan if walks is None else walks)):
            departments = sorted(near.departments)
        key = ("rp_firm_awards", departments is not None)
        if key not in scope.cache:
            lookups = {"firms": scope.intermediary_ids}
            if departments is not None:
                lookups["departments"] = departments
            scope.cache[key] = _award_rows(**lookups) if departments != [] else []
        for award in scope.cache[key]:
            found.setdefault(award.project_id, award)
    return sorted(found.values(), key=lambda a: a.project_id)


def _paths_evidence(paths: list[graph.Path]) -> dict[str, Any]:
    return {"paths": [p.as_evidence() for p in paths[:EVIDENCE_PATHS]], "path_count": len(paths)}


def _role(kind: str, language: str) -> str:
    names = ROLE_NAMES.get(kind, (kind, kind))
    return names[1] if language.startswith("en") else names[0]


def _first_path(evidence: dict, language: str) -> str:
    paths = evidence.get("paths") or []
    return graph.describe(paths[0], language) if paths else ""


class TieRule(Rule):
    """A rule that works on the awards in scope; ``matches`` lets RP05 reuse its findings."""

    scopes = ("project", "intermediary")
    # A match is about one award, but RP05 totals the same walks per winner: one shared walk.
    reach = REACH_WINNERS

    def find(self, scope: Scope, params: dict) -> list[Match]:
        return self.run_matches(scope, params)

    def run_matches(self, scope: Scope, params: dict) -> list[Match]:
        """The matches over the scope's awards, computed once per run (RP05 asks again); the walks
        are shared through the scope's cache too."""
        key = ("rp_matches", self.code, tuple(sorted(params.items())))
        if key not in scope.cache:
            found_awards = awards(scope, [self.walk_request(params)])
            scope.cache[key] = self.matches(found_awards, params, memo=scope.cache)
        return scope.cache[key]

    def walk_request(self, params: dict) -> graph.Request:
        """The walk ``matches`` takes with these thresholds."""
        raise NotImplementedError

    def walk(self, found_awards: list[Award], params: dict, memo: dict | None):
        kinds, max_hops, min_share = self.walk_request(params)
        return graph.paths_to_department(
            {a.firm_id for a in found_awards}, max_hops, kinds=kinds, min_share=min_share, memo=memo
        )

    def matches(self, found_awards: list[Award], params: dict, memo: dict | None = None) -> list[Match]:
        raise NotImplementedError


@register
class OwnershipPath(TieRule):
    """RP01: an ownership path between the winner and the approving department: the
    department's affiliated institution, association or enterprise, or a member of its staff in
    post at the award, is linked to the winner by shareholdings, directly or through firms. The
    links count in either direction (the affiliate holds the winner, the winner holds the
    affiliate, or both have the same holder); the winner being itself the department's
    affiliate is a path of 0 hops. Basis: 国办发〔2015〕31号 (清理规范行政审批中介服务): a
    department's institutions, the associations it supervises and the firms they run must cut
    their ties with the intermediary services its approvals need (脱钩); OCP R032/R033 (ownership links between buyer
    and supplier). Evidence: every path (nodes and labelled edges) with its hops."""

    code = "RP01"
    phases = frozenset({AWARD})
    firm_records = True
    category = Category.RELATED_PARTY
    title_zh = "中选机构与审批部门存在股权关联"
    title_en = "Ownership path between the winner and the approving department"
    basis_zh = (
        "审批部门及其所属事业单位、主管行业协会、所办企业或在职工作人员直接或通过其他企业持有中选机构股份"
        "（不超过设定跳数）。依据国务院办公厅关于清理规范中介服务的要求，审批部门所属单位须与中介机构脱钩"
        "（OCP R032、R033）。"
    )
    basis_en = (
        "The approving department's affiliated institutions, associations, enterprises or staff hold shares "
        "in the winner, directly or through other firms (up to the set number of hops). Departments and their "
        "affiliates must cut their ties with intermediaries (OCP R032, R033)."
    )
    default_weight = 10
    thresholds = {
        "max_hops": Threshold(3, int, 1, graph.MAX_HOPS, "最多跳数", "Hops at most"),
        "min_share": Threshold(
            Decimal("0"),
            Decimal,
            Decimal("0"),
            Decimal("100"),
            "每层持股比例不低于（%）",
            "Share of each holding at least (%)",
        ),
    }
    ocp = ("R032", "R033")

    def walk_request(self, params: dict) -> graph.Request:
        kinds = (graph.SHAREHOLDING, graph.STAFF, graph.AFFILIATION)
        return graph.request(kinds, params["max_hops"], params["min_share"] or None)

    def matches(self, found_awards: list[Award], params: dict, memo: dict | None = None) -> list[Match]:
        found = self.walk(found_awards, params, memo)
        result = []
        for award in found_awards:
            paths = [
                p
                for p in found.get((award.firm_id, award.department_id), [])
                if p.edges[-1].kind == graph.AFFILIATION or p.edges[-1].in_post_on(award.day)
            ]
            if paths:
                result.append(award.match({"min_hops": min(p.hops for p in paths), **_paths_evidence(paths)}))
        return result

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        path = _first_path(evidence, language)
        if language.startswith("en"):
            return (
                f"The winner of project {evidence['project']}, {evidence['firm']}, is linked by ownership to "
                f"{evidence['department']} through {evidence['path_count']} path(s), the shortest "
                f"{evidence['min_hops']} hop(s): {path}."
            )
        return (
            f"项目 {evidence['project']} 的中选机构 {evidence['firm']} 与审批部门 {evidence['department']} 之间存在 "
            f"{evidence['path_count']} 条股权关联路径（最短 {evidence['min_hops']} 跳）：{path}。"
        )


def _person_paths(paths: list[graph.Path]) -> list[graph.Path]:
    """Paths that start with one of the winner's people: its legal representative, a
    practitioner or a person shareholder."""
    return [p for p in paths if p.edges[0].kind in graph.PERSON_ROLES and p.nodes[1].type == "person"]


def _person_entry(path: graph.Path, **extra: Any) -> dict[str, Any]:
    staff_edge = path.edges[-1]
    return {
        "name": path.nodes[1].label,
        "role": path.edges[0].kind,
        "position": staff_edge.detail,
        "staff": staff_edge.source_label,
        "started_on": staff_edge.started_on.isoformat() if staff_edge.started_on else None,
        "ended_on": staff_edge.ended_on.isoformat() if staff_edge.ended_on else None,
        **extra,
        "path": path.as_evidence(),
    }


@register
class StaffOfDepartment(TieRule):
    """RP02: the winner's legal representative, a practitioner or a person shareholder is on the
    approving department's staff at the award, or is the declared close relative (近亲属) of
    such a staff member. (Executives other than the legal representative are not recorded.)
    Basis: officials may not run or hold intermediaries serving their own approvals
    (公务员法 第59条, 领导干部配偶子女经商办企业 rules, 回避); OCP R043 (buyer-supplier personal
    ties). Evidence: each person, role, position, period, relation and path."""

    code = "RP02"
    phases = frozenset({AWARD})
    firm_records = True
    category = Category.RELATED_PARTY
    title_zh = "中选机构人员为审批部门工作人员或其近亲属"
    title_en = "Winner's people are staff of the approving department or their relatives"
    basis_zh = (
        "中选机构的法定代表人、从业人员或自然人股东在审批部门在职，或系在职工作人员申报的近亲属。"
        "工作人员不得经营或参与服务于本部门审批的中介机构，应当回避（OCP R043）。"
    )
    basis_en = (
        "The winner's legal representative, a practitioner or a person shareholder is on the approving "
        "department's staff at the award, or is a declared close relative of a staff member (OCP R043)."
    )
    default_weight = 12
    thresholds = {
        "include_relatives": Threshold(
            True, bool, label_zh="包括工作人员近亲属", label_en="Include staff relatives"
        )
    }
    ocp = ("R043",)

    def walk_request(self, params: dict) -> graph.Request:
        relatives = params["include_relatives"]
        kinds = (*graph.PERSON_ROLES, graph.STAFF, *((graph.RELATIVE,) if relatives else ()))
        return graph.request(kinds, 2 if relatives else 1)

    def matches(self, found_awards: list[Award], params: dict, memo: dict | None = None) -> list[Match]:
        found = self.walk(found_awards, params, memo)
        result = []
        for award in found_awards:
            people = []
            for path in _person_paths(found.get((award.firm_id, award.department_id), [])):
                if not path.edges[-1].in_post_on(award.day):
                    continue
                if len(path.edges) == 2:
                    people.append(_person_entry(path, relation=""))
                elif (
                    len(path.edges) == 3
                    and path.edges[1].kind == graph.RELATIVE
                    and path.edges[1].source == path.nodes[1].id
                ):
                    people.append(_person_entry(path, relation=path.edges[1].detail))
            if people:
                result.append(award.match({"people": people}))
        return result

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        en = language.startswith("en")
        parts = []
        for person in evidence["people"]:
            role = _role(person["role"], language)
            position = person["position"] or ("staff" if en else "工作人员")
            if person["relation"]:
                parts.append(
                    f"its {role} {person['name']} is the {person['relation']} of {person['staff']} "
                    f"({position}) of {evidence['department']}"
                    if en
                    else f"{role}{person['name']}系该部门工作人员{person['staff']}（{position}）的{person['relation']}"
                )
            else:
                parts.append(
                    f"its {role} {person['name']} is on the staff of {evidence['department']} "
                    f"({position} since {person['started_on']})"
                    if en
                    else f"{role}{person['name']}在该部门任职（{position}，{person['started_on']}起）"
                )
        if en:
            return (
                f"Project {evidence['project']} was awarded to {evidence['firm']}: " + "; ".join(parts) + "."
            )
        return (
            f"项目 {evidence['project']} 的中选机构 {evidence['firm']} 与审批部门 {evidence['department']} 存在人员关联："
            + "；".join(parts)
            + "。"
        )


@register
class RevolvingDoor(TieRule):
    """RP03: revolving door (旋转门): the winner's legal representative, a practitioner or a person
    shareholder left the approving department's staff within the cooling-off period before the
    award (and is not back in post). A tie that ended longer ago is not flagged. Basis: the
    公务员法 第107条 restriction on former officials working for firms tied to their old
    duties (2 or 3 years). Evidence: each person, role, leaving date and days before the award."""

    code = "RP03"
    phases = frozenset({AWARD})
    firm_records = True
    category = Category.RELATED_PARTY
    title_zh = "旋转门：原部门工作人员离职后短期内为中选机构任职"
    title_en = "Revolving door: former department staff at the winner"
    basis_zh = (
        "中选机构的法定代表人、从业人员或自然人股东在冷却期内从审批部门离职。公务员离职后在规定期限内"
        "不得到与原工作业务直接相关的企业任职（公务员法第一百零七条）。"
    )
    basis_en = (
        "The winner's legal representative, a practitioner or a person shareholder left the approving department "
        "within the cooling-off period before the award (Civil Servants Law, article 107)."
    )
    default_weight = 8
    thresholds = {
        "cooling_off_days": Threshold(730, int, 1, 3650, "冷却期（天）", "Cooling-off period (days)")
    }
    ocp = ()

    def walk_request(self, params: dict) -> graph.Request:
        return graph.request((*graph.PERSON_ROLES, graph.STAFF), 1)

    def matches(self, found_awards: list[Award], params: dict, memo: dict | None = None) -> list[Match]:
        found = self.walk(found_awards, params, memo)
        result = []
        for award in found_awards:
            paths = _person_paths(found.get((award.firm_id, award.department_id), []))
            in_post = {p.nodes[1].id for p in paths if p.edges[-1].in_post_on(award.day)}
            people = []
            for path in paths:
                left = path.edges[-1].ended_on
                if path.nodes[1].id in in_post or left is None or left > award.day:
                    continue
                days = (award.day - left).days
                if days <= params["cooling_off_days"]:
                    people.append(_person_entry(path, days_before_award=days))
            if people:
                result.append(award.match({"cooling_off_days": params["cooling_off_days"], "people": people}))
        return result

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        en = language.startswith("en")
        parts = []
        for person in evidence["people"]:
            role = _role(person["role"], language)
            parts.append(
                f"its {role} {person['name']} left {evidence['department']} on {person['ended_on']}, "
                f"{person['days_before_award']} days before the award"
                if en
                else f"{role}{person['name']}于 {person['ended_on']} 离职，距中选 {person['days_before_award']} 天"
            )
        if en:
            return (
                f"Project {evidence['project']} was awarded to {evidence['firm']}: "
                + "; ".join(parts)
                + f" (cooling-off period {evidence['cooling_off_days']} days)."
            )
        return (
            f"项目 {evidence['project']} 的中选机构 {evidence['firm']} 的人员在冷却期（{evidence['cooling_off_days']} 天）内"
            f"从审批部门 {evidence['department']} 离职：" + "；".join(parts) + "。"
        )


@register
class SharedContact(TieRule):
    """RP04: the winner shares a phone number, e-mail address or street address (normalised:
    digits of the phone, lower-cased e-mail, address without spaces) with the approving
    department, a member of its staff in post at the award, or one of its affiliated entities.
    Basis: a shared contact points at a firm run from inside the department (挂靠、一套人马两块
    牌子); OCP R043. Evidence: each shared contact and the party on the department's side."""

    code = "RP04"
    phases = frozenset({AWARD})
    firm_records = True
    category = Category.RELATED_PARTY
    title_zh = "中选机构与审批部门共用联系方式"
    title_en = "Winner shares contacts with the approving department"
    basis_zh = (
        "中选机构的电话、电子邮箱或地址（规范化后）与审批部门、其在职工作人员或所属单位相同，"
        "可能存在“一套人马、两块牌子”（OCP R043）。"
    )
    basis_en = (
        "The winner's phone, e-mail or address (normalised) is that of the approving department, one of its "
        "staff or an affiliated entity (OCP R043)."
    )
    default_weight = 6
    thresholds = {
        "phone": Threshold(True, bool, label_zh="比对电话", label_en="Match phone numbers"),
        "email": Threshold(True, bool, label_zh="比对电子邮箱", label_en="Match e-mail addresses"),
        "address": Threshold(True, bool, label_zh="比对地址", label_en="Match addresses"),
    }
    ocp = ("R043",)

    def walk_request(self, params: dict) -> graph.Request:
        return graph.request((graph.CONTACT, graph.STAFF, graph.AFFILIATION), 1)

    def matches(self, found_awards: list[Award], params: dict, memo: dict | None = None) -> list[Match]:
        fields = {name for name in ("phone", "email", "address") if params[name]}
        if not fields:
            return []
        found = self.walk(found_awards, params, memo)
        result = []
        for award in found_awards:
            contacts = []
            for path in found.get((award.firm_id, award.department_id), []):
                first = path.edges[0]
                if first.kind != graph.CONTACT or first.contact_field not in fields:
                    continue
                if path.edges[-1].kind == graph.STAFF and not path.edges[-1].in_post_on(award.day):
                    continue
                party = {graph.CONTACT: "department", graph.STAFF: "staff", graph.AFFILIATION: "affiliate"}
                contacts.append(
                    {
                        "field": first.contact_field,
                        "value": first.detail.partition("=")[2],
                        "party": party[path.edges[-1].kind],
                        "with": first.target_label,
                        "path": path.as_evidence(),
                    }
                )
            if contacts:
                result.append(award.match({"contacts": contacts}))
        return result

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        en = language.startswith("en")
        parties = {"department": ("部门本身", "the department"), "staff": ("工作人员", "staff member")}
        parties["affiliate"] = ("所属单位", "affiliated entity")
        parts = []
        for contact in evidence["contacts"]:
            field = graph.CONTACT_FIELDS[contact["field"]][1 if en else 0]
            party = parties[contact["party"]][1 if en else 0]
            parts.append(
                f"{field} {contact['value']} with {party} {contact['with']}"
                if en
                else f"{field} {contact['value']} 与{party}{contact['with']}相同"
            )
        if en:
            return (
                f"The winner of project {evidence['project']}, {evidence['firm']}, shares contacts with "
                f"{evidence['department']}: " + "; ".join(parts) + "."
            )
        return (
            f"项目 {evidence['project']} 的中选机构 {evidence['firm']} 与审批部门 {evidence['department']} 共用联系方式："
            + "；".join(parts)
            + "。"
        )


TIE_RULES = ("RP01", "RP02", "RP03", "RP04")


@register
class UndeclaredTie(Rule):
    """RP05: a tie found by RP01-RP04 between the winner and the approving department that the
    intermediary did not declare (no DeclaredTie of the firm to that department; a declared tie
    that has ended still counts as declared). A separate flag on the intermediary with a higher
    weight: hiding a tie breaks the integrity commitment (承诺书). It uses RP01-RP04 with their
    current thresholds. Evidence: the ties found (rule and paths) and the award."""

    code = "RP05"
    phases = frozenset({AWARD})
    reach = REACH_WINNERS
    firm_records = True
    category = Category.RELATED_PARTY
    title_zh = "未申报的关联关系"
    title_en = "Undeclared tie"
    basis_zh = (
        "RP01至RP04发现中选机构与审批部门存在关联，但该机构未申报与该部门的任何关联关系，"
        "违反入驻时签署的诚信承诺（告知承诺制下虚假承诺应予失信惩戒）。"
    )
    basis_en = (
        "RP01-RP04 found a tie between the winner and the approving department that the intermediary never "
        "declared, contrary to its integrity commitment."
    )
    default_weight = 15
    ocp = ()
    scopes = ("project", "intermediary")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        found_awards = awards(scope)
        if not found_awards:
            return []
        ties: dict[int | None, list[tuple[str, dict]]] = defaultdict(list)
        for code, rule_params in stored_params(scope).items():
            for match in cast(TieRule, get_rule(code)).run_matches(scope, rule_params):
                ties[match.project_id].append((code, match.evidence))
        firms = {a.firm_id for a in found_awards if a.project_id in ties}
        declared = set(
            DeclaredTie.objects.filter(intermediary_id__in=firms).values_list(
                "intermediary_id", "department_id"
            )
        )
        result = []
        for award in found_awards:
            if award.project_id not in ties or (award.firm_id, award.department_id) in declared:
                continue
            result.append(
                Match(
                    subject_type="intermediary",
                    subject_id=award.firm_id,
                    intermediary_id=award.firm_id,
                    project_id=award.project_id,
                    department_id=award.department_id,
                    owner_id=award.owner_id,
                    evidence={
                        "project": award.project,
                        "firm": award.firm,
                        "firm_uscc": award.firm_uscc,
                        "department": award.department,
                        "award_date": award.day.isoformat(),
                        "ties": [
                            {"rule": code, "evidence": evidence} for code, evidence in ties[award.project_id]
                        ],
                    },
                    key={"project": award.project_id, "department": award.department_id},
                )
            )
        return result

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        from .base import get_rule

        found = [
            f"{t['rule']}: {get_rule(t['rule']).explain(t['evidence'], language)}" for t in evidence["ties"]
        ]
        if language.startswith("en"):
            return (
                f"{evidence['firm']} never declared a tie with {evidence['department']} but won its project "
                f"{evidence['project']}. Ties found: " + " ".join(found)
            )
        return (
            f"{evidence['firm']} 未申报与 {evidence['department']} 的关联关系，却中选该部门审批事项项目 "
            f"{evidence['project']}。发现的关联：" + "".join(found)
        )


@register
class AffiliateCompetes(Rule):
    """RP06: an institution, association or enterprise run or supervised by a department (its
    USCC is an affiliated entity of the project's department), or a firm majority-owned by one,
    applies for a project tied to that department's approval items. Basis: 国办发〔2015〕31号 and
    the clean-up of 红顶中介: a department's own institutions may not act as intermediaries for
    its approvals (脱钩改制). Evidence: the applicant, the affiliate, and the share if owned."""

    code = "RP06"
    phases = frozenset({COMPETITION, AWARD})
    reach = REACH_PROJECT
    firm_records = True
    category = Category.RELATED_PARTY
    title_zh = "部门所属或主管单位参与本部门审批事项的中介服务竞争"
    title_en = "Department's own affiliate competes for its approval items"
    basis_zh = (
        "审批部门所属事业单位、主管行业协会、所办企业（或由其控股的企业）参与本部门审批事项所需中介服务的竞争。"
        "审批部门下属单位不得从事与本部门审批相关的中介服务（红顶中介脱钩）。"
    )
    basis_en = (
        "An institution, association or enterprise of the approving department (or a firm it controls) competes "
        "for the intermediary services its own department's approvals require."
    )
    default_weight = 10
    thresholds = {
        "majority_share": Threshold(
            Decimal("50"),
            Decimal,
            Decimal("1"),
            Decimal("100"),
            "控股比例不低于（%）",
            "Controlling share at least (%)",
        )
    }
    ocp = ()
    scopes = ("project", "intermediary")

    @staticmethod
    def _candidates(majority_share: Decimal) -> QuerySet:
        """The firms that could match for some department (their ids, as a subquery): a firm
        whose USCC is an affiliated entity's, or one with a majority firm holder whose USCC is.
        Few in any market and found through indexed lookups from the affiliates, so only their
        applications are read; the main query still checks the project's department."""
        affiliates = AffiliatedEntity.objects.exclude(uscc="").values("uscc")
        itself = Intermediary.objects.exclude(uscc="").filter(uscc__in=affiliates).values_list("pk")
        owned = Shareholder.objects.filter(
            kind=Shareholder.Kind.FIRM, share__gte=majority_share, uscc__in=affiliates
        ).values_list("intermediary_id")
        return itself.order_by().union(owned.order_by())

    def find(self, scope: Scope, params: dict) -> list[Match]:
        candidates = self._candidates(params["majority_share"])
        applications = Application.objects.exclude(state=Application.State.WITHDRAWN).filter(
            project__department__isnull=False
        )
        if scope.full:
            firms = sorted(pk for (pk,) in candidates)
            if not firms:
                return []
            applications = applications.filter(intermediary_id__in=firms)
        else:
            # A change rarely touches a candidate: one light query says whether it does, and the
            # subqueries below run only on the applications it finds.
            found = [
                row["pk"]
                for row in scope.rows(
                    ("RP06", params["majority_share"]),
                    lambda s: (
                        s.projects_or_firms(
                            applications.filter(intermediary_id__in=candidates),
                            "project_id",
                            "intermediary_id",
                        )
                        .order_by()
                        .values("pk")
                    ),
                )
            ]
            if not found:
                return []
            applications = applications.filter(pk__in=found)
        department = OuterRef("project__department_id")
        itself = AffiliatedEntity.objects.filter(
            department_id=department, uscc=OuterRef("intermediary__uscc")
        )
        owners = Shareholder.objects.filter(
            intermediary_id=OuterRef("intermediary_id"),
            kind=Shareholder.Kind.FIRM,
            share__gte=params["majority_share"],
            uscc__in=AffiliatedEntity.objects.filter(department_id=OuterRef(department))
            .exclude(uscc="")
            .values("uscc"),
        ).order_by("-share", "pk")
        rows = (
            applications.exclude(intermediary__uscc="")
            .annotate(
                itself=Subquery(itself.values("pk")[:1]),
                owner_uscc=Subquery(owners.values("uscc")[:1]),
                owner_share=Subquery(owners.values("share")[:1]),
                department_id=F("project__department_id"),
            )
            .filter(Q(itself__isnull=False) | Q(owner_uscc__isnull=False))
            .values(
                "project_id",
                "project__public_number",
                "project__owner_id",
                "department_id",
                "project__department__name_zh",
                "intermediary_id",
                "intermediary__name",
                "intermediary__uscc",
                "state",
                "itself",
                "owner_uscc",
                "owner_share",
            )
            .order_by("project_id", "intermediary_id")
        )
        rows = list(rows)
        owner_usccs = {r["owner_uscc"] for r in rows if r["itself"] is None}
        # The affiliates named in the rows, in one query: by id (the firm itself) and by the
        # owner's USCC within the rows' departments.
        named = AffiliatedEntity.objects.filter(
            Q(pk__in={r["itself"] for r in rows if r["itself"]})
            | Q(uscc__in=owner_usccs, department_id__in={r["department_id"] for r in rows})
        )
        affiliates = list(named) if rows else []
        by_uscc = {(a.department_id, a.uscc): a for a in affiliates if a.uscc in owner_usccs}
        affiliates_by_pk = {a.pk: a for a in affiliates}
        result = []
        for row in rows:
            if row["itself"] is not None:
                affiliate, share = affiliates_by_pk[row["itself"]], None
            else:
                affiliate = by_uscc[(row["department_id"], row["owner_uscc"])]
                share = Decimal(str(row["owner_share"]))
            result.append(
                Match(
                    subject_type="project",
                    subject_id=row["project_id"],
                    project_id=row["project_id"],
                    intermediary_id=row["intermediary_id"],
                    owner_id=row["project__owner_id"],
                    department_id=row["department_id"],
                    evidence={
                        "project": row["project__public_number"],
                        "firm": row["intermediary__name"],
                        "firm_uscc": row["intermediary__uscc"],
                        "application_state": row["state"],
                        "department": row["project__department__name_zh"],
                        "affiliate": affiliate.name,
                        "affiliate_kind": affiliate.kind,
                        "affiliate_uscc": affiliate.uscc,
                        "via": "itself" if share is None else "majority_owner",
                        "share": None if share is None else graph.format_share(share),
                    },
                    key={"project": row["project_id"], "firm": row["intermediary_id"]},
                )
            )
        return result

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        kind = graph.AFFILIATE_KINDS.get(evidence["affiliate_kind"], ("所属单位", "affiliate"))
        if language.startswith("en"):
            who = (
                f"{evidence['firm']} is itself the {kind[1]} {evidence['affiliate']}"
                if evidence["via"] == "itself"
                else f"{evidence['firm']} is {evidence['share']}% owned by the {kind[1]} {evidence['affiliate']}"
            )
            return (
                f"{who} of {evidence['department']}, and applied for project {evidence['project']} tied to that "
                "department's approval items."
            )
        who = (
            f"{evidence['firm']} 本身即为 {evidence['department']} 的{kind[0]}（{evidence['affiliate']}）"
            if evidence["via"] == "itself"
            else f"{evidence['firm']} 由 {evidence['department']} 的{kind[0]} {evidence['affiliate']} 持股 {evidence['share']}%"
        )
        return f"{who}，却参与该部门审批事项项目 {evidence['project']} 的中介服务竞争。"
