"""Competition red flags (CO01-CO09).

Fences over market statistics (CO04, CO08, CO09) use the quartile estimator of the Cardinal
tool (statrs, type 8), so on the same data the quartiles agree with Cardinal's. A value is
flagged strictly beyond a fence, as DESIGN states the rules; Cardinal compares inclusively and
skips a fence whose quartiles are both zero, so the two differ only for values exactly on a
fence and in that degenerate case. Where the rules depart from Cardinal on purpose (methods
left out, windows, per-service-type peers, minimum counts) the rule's docstring says so.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from marketplace.procurement.models import Application, Method, Project, Selection
from marketplace.providers.models import Intermediary, Shareholder

from ..models import Category
from .base import AWARD, COMPETITION, Match, Rule, Scope, Threshold, register
from .stats import Fences, peer_statistics, quantile

logger = logging.getLogger(__name__)

SELECTED_OR_LATER = [
    "selected",
    "objection_pending",
    "contracting",
    "in_service",
    "delivered",
    "accepted",
    "rated",
    "closed",
]
# Statuses in which the round's applications have been unsealed and judged valid or not.
CLOSED_ROUND = ["registration_closed", "selecting", "failed", *SELECTED_OR_LATER]


@register
class SingleValidApplicant(Rule):
    """CO01: a competitive round that ended with one valid applicant (OCP R018 "single bid").
    Basis: a round with a single bidder has no competition; repeated, it points at tailored
    requirements or bidders kept away. Evidence: the project, its method and the one applicant."""

    code = "CO01"
    phases = frozenset({COMPETITION, AWARD})
    category = Category.COMPETITION
    title_zh = "仅一家有效报名"
    title_en = "Single valid applicant"
    basis_zh = "竞争性选取只有一家有效报名，缺乏竞争（OCP R018）。"
    basis_en = "A competitive round with one valid applicant has no competition (OCP R018)."
    default_weight = 5
    thresholds = {"max_valid": Threshold(1, int, 1, 5, "有效报名不超过（家）", "Valid applicants at most")}
    ocp = ("R018",)

    def find(self, scope: Scope, params: dict) -> list[Match]:
        rows = (
            scope.projects(Project.objects.filter(status__in=CLOSED_ROUND).exclude(method=Method.DIRECT))
            .annotate(valid=Count("applications", filter=Q(applications__state="valid")))
            .filter(valid__gte=1, valid__lte=params["max_valid"])
            .values("pk", "public_number", "method", "valid", "owner_id", "department_id")
        )
        return [
            Match(
                subject_type="project",
                subject_id=row["pk"],
                project_id=row["pk"],
                owner_id=row["owner_id"],
                department_id=row["department_id"],
                evidence={"project": row["public_number"], "method": row["method"], "valid": row["valid"]},
                key={"project": row["pk"]},
            )
            for row in rows
        ]

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        if language.startswith("en"):
            return f"Project {evidence['project']} ({evidence['method']}) had only {evidence['valid']} valid applicant(s)."
        return f"项目 {evidence['project']}（{Method(evidence['method']).label}）仅有 {evidence['valid']} 家有效报名。"


# --- shared by CO02-CO09 ------------------------------------------------------------------------

V = Application.State
# Applications judged at the close of registration (unsealed, then found valid or not).
JUDGED = [V.VALID, V.DISQUALIFIED]
# Methods in which the quoted price decides or weighs in the result. In a random draw every
# firm quotes the owner's fixed price (identical by design); a direct selection is a pick.
PRICE_COMPETES = [
    Method.LOWEST_PRICE,
    Method.REFERENCE_PRICE,
    Method.SCORED_COMPARISON,
    Method.CREDIT_PREFERENCE,
]
# Methods whose award criterion is the price alone (OCDS awardCriteria "priceOnly").
PRICE_ONLY = [Method.LOWEST_PRICE, Method.REFERENCE_PRICE]
RATIO = Decimal("0.0001")


def _multiplier() -> Threshold:
    return Threshold(
        Decimal("1.5"), Decimal, Decimal("0"), Decimal("10"), "四分位距（IQR）倍数", "IQR multiplier"
    )


def _days(default: int = 365) -> Threshold:
    return Threshold(default, int, 30, 1825, "统计期间（天）", "Window (days)")


def _active_award(project_ref: str = "pk") -> QuerySet:
    """The round's standing result: a selection with a winner that no objection annulled."""
    return Selection.objects.filter(
        project=OuterRef(project_ref), annulled=False, winner__isnull=False
    ).order_by("-round")


def _fence_evidence(fences: Fences) -> dict:
    return {name: _ratio(value) for name, value in fences.as_dict().items()}


def _money(value: Decimal | None) -> Decimal | None:
    """Two places whatever the database returns (SQLite drops them in subqueries)."""
    return None if value is None else Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _ratio(value: Decimal) -> Decimal:
    return value.quantize(RATIO, rounding=ROUND_HALF_UP)


def _percent(value: Any) -> str:
    return f"{(Decimal(str(value)) * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"


def _plain(value: Any) -> str:
    """A number without trailing zeros (4.5000 -> 4.5, 40.0000 -> 40)."""
    return f"{Decimal(str(value)).normalize():f}"


def _english(language: str) -> bool:
    return language.startswith("en")


def _method(code: str, language: str) -> str:
    return code.replace("_", " ") if _english(language) else str(Method(code).label)


def _since(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)


def _project_match(pk: int, owner_id: int, department_id: int | None, evidence: dict) -> Match:
    return Match(
        subject_type="project",
        subject_id=pk,
        project_id=pk,
        owner_id=owner_id,
        department_id=department_id,
        evidence=evidence,
        key={"project": pk},
    )


def _names(firms: list[dict], language: str) -> str:
    return (", " if _english(language) else "、").join(f["name"] for f in firms)


# --- CO02 ---------------------------------------------------------------------------------------


@register
class IdenticalQuotes(Rule):
    """CO02: different applicants of one round quoted exactly the same amount where the price
    competes (OCP R028 "identical bid prices"). Basis: independent firms pricing the same work
    rarely arrive at the same figure; identical quotes point at coordinated bids or a leaked
    price (《招标投标法实施条例》第四十条). Random draws are left out, since there every firm
    quotes the owner's fixed price. Evidence: the project, its method, and each shared amount
    with the firms that quoted it."""

    code = "CO02"
    phases = frozenset({COMPETITION})
    category = Category.COMPETITION
    title_zh = "不同报名人报价完全相同"
    title_en = "Identical quotes from different applicants"
    basis_zh = (
        "价格参与竞争的选取中，不同中介机构报价金额完全一致，可能存在串通报价或报价泄露"
        "（《招标投标法实施条例》第四十条；OCP R028）。随机抽取按业主定价报价，不在此列。"
    )
    basis_en = (
        "Where the price competes, different firms quoting exactly the same amount points at "
        "collusion or a leaked price (OCP R028). Random draws at the owner's fixed price are excluded."
    )
    default_weight = 8
    thresholds = {
        "min_firms": Threshold(
            2, int, 2, 10, "报价相同的机构至少（家）", "Firms quoting the same amount at least"
        )
    }
    ocp = ("R028",)

    def find(self, scope: Scope, params: dict) -> list[Match]:
        judged = Application.objects.filter(
            state__in=JUDGED, quote_amount__isnull=False, project__method__in=PRICE_COMPETES
        )
        same = judged.filter(
            project_id=OuterRef("project_id"), quote_amount=OuterRef("quote_amount")
        ).exclude(intermediary_id=OuterRef("intermediary_id"))
        rows = (
            scope.projects(judged, "project_id")
            .filter(Exists(same))
            .values(
                "project_id",
                "project__public_number",
                "project__method",
                "project__owner_id",
                "project__department_id",
                "quote_amount",
                "intermediary__name",
                "intermediary__uscc",
            )
            .order_by("project_id", "quote_amount", "intermediary__uscc")
        )
        projects: dict[int, dict] = {}
        amounts: dict[int, dict[Decimal, list[dict]]] = defaultdict(lambda: defaultdict(list))
        for row in rows:
            projects[row["project_id"]] = row
            amounts[row["project_id"]][row["quote_amount"]].append(
                {"name": row["intermediary__name"], "uscc": row["intermediary__uscc"]}
            )
        matches = []
        for pk, by_amount in amounts.items():
            groups = [
                {"amount": _money(amount), "firms": firms}
                for amount, firms in by_amount.items()
                if len(firms) >= params["min_firms"]
            ]
            if groups:
                row = projects[pk]
                evidence = {
                    "project": row["project__public_number"],
                    "method": row["project__method"],
                    "groups": groups,
                }
                matches.append(
                    _project_match(pk, row["project__owner_id"], row["project__department_id"], evidence)
                )
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        method = _method(evidence["method"], language)
        if _english(language):
            parts = "; ".join(
                f"{_names(g['firms'], language)} all quoted {g['amount']} yuan" for g in evidence["groups"]
            )
            return f"In project {evidence['project']} ({method}) different applicants quoted the same amount: {parts}."
        parts = "；".join(
            f"{_names(g['firms'], language)} 均报价 {g['amount']} 元" for g in evidence["groups"]
        )
        return f"项目 {evidence['project']}（{method}）中不同报名人报价完全相同：{parts}。"


# --- CO03 ---------------------------------------------------------------------------------------

# Separators people write in phone numbers; what is left are the digits.
PHONE_NOISE = (" ", "-", "(", ")", "+", ".", "/", "（", "）", "－", "—", "\u3000")
SPACES = (" ", "\u3000", "\t")
SHARED_KINDS = ("phone", "email", "address", "person", "firm", "ip")
KIND_ZH = {
    "phone": "联系电话",
    "email": "电子邮箱",
    "address": "住所",
    "person": "同一自然人（股东或法定代表人）",
    "firm": "同一出资企业（共同股东或相互持股）",
    "ip": "报名网络地址",
}
KIND_EN = {
    "phone": "phone",
    "email": "e-mail",
    "address": "address",
    "person": "the same person (shareholder or legal representative)",
    "firm": "the same shareholder firm (common shareholder or one holding the other)",
    "ip": "submission network address",
}


def _strip(column: str, characters: tuple[str, ...]) -> str:
    for character in characters:
        column = f"REPLACE({column}, '{character}', '')"
    return column


def _shared_contacts_sql(project_ids: list[int] | None, network_address: bool) -> tuple[str, list]:
    """One self-join over the applicants of each round: every firm's normalised contacts,
    persons (shareholders, legal representative) and shareholder firms (its own USCC too, so a
    firm holding shares in another applicant matches), plus the submission address of each
    application; two applicants of one round with an equal key form a pair. Only keys that two
    firms hold, and addresses that two applications of a round share, enter the self-join
    (most keys are a firm's own: joining them all cost a fifth of the full scan)."""
    application = Application._meta.db_table
    intermediary = Intermediary._meta.db_table
    shareholder = Shareholder._meta.db_table
    project = Project._meta.db_table
    # PostgreSQL keeps the address as inet; host() gives the plain text form.
    ip = "host(a.client_ip)" if connection.vendor == "postgresql" else "a.client_ip"
    params: list = list(JUDGED)
    scoped = ""
    if project_ids is not None:
        scoped = f" AND a.project_id IN ({', '.join(['%s'] * len(project_ids))})"
        params += list(project_ids)
    # Only table names, fixed expressions and placeholders are interpolated; values are parameters.
    sql = f"""
        WITH apps AS (
            SELECT a.project_id AS project_id, a.intermediary_id AS firm_id, {ip} AS ip
            FROM {application} a
            WHERE a.state IN (%s, %s){scoped}
        ),
        firms AS (
            SELECT i.id AS firm_id, i.name AS name, i.uscc AS uscc, i.phone AS phone,
                   {_strip("i.phone", PHONE_NOISE)} AS digits,
                   LOWER(TRIM(i.email)) AS email, i.address AS address,
                   {_strip("i.address", SPACES)} AS address_key,
                   i.legal_representative AS representative,
                   i.legal_representative_id_hash AS representative_hash
            FROM {intermediary} i
            WHERE i.id IN (SELECT firm_id FROM apps)
        ),
        firm_keys AS (
            SELECT firm_id, 'phone' AS kind,
                   CASE WHEN LENGTH(digits) = 13 AND SUBSTR(digits, 1, 2) = '86'
                        THEN SUBSTR(digits, 3) ELSE digits END AS value,
                   phone AS label
            FROM firms WHERE LENGTH(digits) >= 7
            UNION ALL SELECT firm_id, 'email', email, email FROM firms WHERE email <> ''
            UNION ALL SELECT firm_id, 'address', address_key, address FROM firms WHERE address_key <> ''
            UNION ALL SELECT firm_id, 'person', representative_hash, representative
                      FROM firms WHERE representative_hash <> ''
            UNION ALL SELECT firm_id, 'firm', uscc, name FROM firms
            UNION ALL SELECT s.intermediary_id, 'person', s.id_hash, s.name FROM {shareholder} s
                      WHERE s.id_hash <> '' AND s.intermediary_id IN (SELECT firm_id FROM apps)
            UNION ALL SELECT s.intermediary_id, 'firm', s.uscc, s.name FROM {shareholder} s
                      WHERE s.uscc <> '' AND s.intermediary_id IN (SELECT firm_id FROM apps)
        ),
        shared_keys AS (
            SELECT k.firm_id, k.kind, k.value, k.label
            FROM firm_keys k
            JOIN (SELECT kind, value FROM firm_keys GROUP BY kind, value
                  HAVING COUNT(DISTINCT firm_id) > 1) s ON s.kind = k.kind AND s.value = k.value
        ),
        shared_ips AS (
            SELECT project_id, ip FROM apps WHERE ip IS NOT NULL{"" if network_address else " AND 1 = 0"}
            GROUP BY project_id, ip HAVING COUNT(*) > 1
        ),
        keyed AS (
            SELECT apps.project_id AS project_id, apps.firm_id AS firm_id, k.kind AS kind,
                   k.value AS value, k.label AS label
            FROM apps JOIN shared_keys k ON k.firm_id = apps.firm_id
            UNION ALL
            SELECT a.project_id, a.firm_id, 'ip', a.ip, a.ip
            FROM apps a JOIN shared_ips s ON s.project_id = a.project_id AND s.ip = a.ip
        )
        SELECT x.project_id, p.public_number, p.owner_id, p.department_id, x.kind, x.value, x.label,
               fx.name, fx.uscc, fy.name, fy.uscc
        FROM keyed x
        JOIN keyed y ON y.project_id = x.project_id AND y.kind = x.kind AND y.value = x.value
                    AND x.firm_id < y.firm_id
        JOIN firms fx ON fx.firm_id = x.firm_id
        JOIN firms fy ON fy.firm_id = y.firm_id
        JOIN {project} p ON p.id = x.project_id
        ORDER BY x.project_id, x.kind, x.value, x.firm_id, y.firm_id
    """  # noqa: S608
    return sql, params


@register
class SharedContacts(Rule):
    """CO03: applicants of one round that share a phone, e-mail or address, a person (a
    shareholder or legal representative) or a shareholder firm (or one holds shares in the
    other), or submitted from the same network address (OCP R044 "business similarities
    between suppliers", R042). Basis: bids from firms under common control, or prepared at one
    desk, are not independent (《招标投标法实施条例》第三十四条、第四十条). Operators can stop
    comparing network addresses where firms commonly file from a shared network. Evidence: the
    project and, for each thing shared, what it is and which firms share it (persons by name,
    never by the hash of their ID number)."""

    code = "CO03"
    phases = frozenset({COMPETITION})
    firm_records = True
    category = Category.COMPETITION
    title_zh = "报名人联系方式、股东或报名网络地址相同"
    title_en = "Applicants sharing contacts, owners or network address"
    basis_zh = (
        "同一项目的报名人使用相同的联系电话、电子邮箱、住所，存在相同股东、法定代表人或相互持股，"
        "或从同一网络地址报名，投标并非相互独立（《招标投标法实施条例》第三十四条、第四十条；OCP R044、R042）。"
    )
    basis_en = (
        "Applicants of one round sharing a phone, e-mail or address, a shareholder or legal "
        "representative, holding shares in each other, or submitting from one network address "
        "are not independent bidders (OCP R044, R042)."
    )
    default_weight = 10
    thresholds = {
        "network_address": Threshold(
            True, bool, label_zh="比对报名网络地址", label_en="Compare submission network addresses"
        ),
    }
    ocp = ("R044", "R042")
    scopes = ("project", "intermediary")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        if not scope.full and not scope.project_ids:
            return []
        sql, sql_params = _shared_contacts_sql(
            None if scope.full else scope.project_ids, params["network_address"]
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, sql_params)
            rows = cursor.fetchall()
        projects: dict[int, tuple] = {}
        shared: dict[int, dict[tuple[str, str], dict]] = defaultdict(dict)
        for (
            pk,
            number,
            owner,
            department,
            kind,
            value,
            label,
            name_x,
            uscc_x,
            name_y,
            uscc_y,
        ) in rows:
            projects[pk] = (number, owner, department)
            # Shown as written by the first firm (a person by name, never by the hash of the ID).
            item = shared[pk].setdefault((kind, value), {"kind": kind, "value": label, "firms": {}})
            item["firms"][uscc_x] = name_x
            item["firms"][uscc_y] = name_y
        matches = []
        for pk, items in shared.items():
            number, owner, department = projects[pk]
            listed = sorted(
                (
                    {
                        "kind": item["kind"],
                        "value": item["value"],
                        "firms": [{"name": n, "uscc": u} for u, n in sorted(item["firms"].items())],
                    }
                    for item in items.values()
                ),
                key=lambda i: (
                    SHARED_KINDS.index(i["kind"]),
                    str(i["value"]),
                    [f["uscc"] for f in i["firms"]],
                ),
            )
            evidence = {"project": number, "shared": listed}
            matches.append(_project_match(pk, owner, department, evidence))
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        if _english(language):
            parts = "; ".join(
                f"{_names(i['firms'], language)} share {KIND_EN[i['kind']]} {i['value']}"
                for i in evidence["shared"]
            )
            return f"Applicants of project {evidence['project']} are linked: {parts}."
        parts = "；".join(
            f"{_names(i['firms'], language)} 共用{KIND_ZH[i['kind']]}“{i['value']}”"
            for i in evidence["shared"]
        )
        return f"项目 {evidence['project']} 的报名人之间存在关联：{parts}。"


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
        result: dict[str, dict] = {}
        for key, values in gaps.items():
            result[key] = {"peers": len(values)}
            if len(values) >= params["min_projects"]:
                result[key].update(Fences.of(values, params["iqr_multiplier"]).as_dict())
        return result

    def find(self, scope: Scope, params: dict) -> list[Match]:
        if scope.full:
            rows = list(self.rounds(Project.objects.all()))
            stats = peer_statistics(self.code, True, params, (), lambda _g: self.statistics(rows, params))
        else:
            rows = list(self.rounds(scope.projects(Project.objects.all())))

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
            fences = Fences(*(Decimal(stat[k]) for k in ("q1", "q3", "lower", "upper")))
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
        rounds = Application.objects.filter(
            state__in=JUDGED,
            project__method__in=PRICE_COMPETES,
            project__registration_deadline__gte=_since(params["days"]),
        )

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
        rows = paired.annotate(
            winner=Subquery(_active_award("project_id").values("winner__intermediary_id")[:1])
        ).values(
            "project_id",
            "project__public_number",
            "intermediary_id",
            "intermediary__name",
            "intermediary__uscc",
            "winner",
        )
        projects_of: dict[int, set[int]] = defaultdict(set)
        winner_of: dict[int, int | None] = {}
        number_of: dict[int, str] = {}
        firm_of: dict[int, dict] = {}
        for row in rows:
            projects_of[row["intermediary_id"]].add(row["project_id"])
            winner_of[row["project_id"]] = row["winner"]
            number_of[row["project_id"]] = row["project__public_number"]
            firm_of[row["intermediary_id"]] = {
                "name": row["intermediary__name"],
                "uscc": row["intermediary__uscc"],
            }
        qualifying: dict[frozenset[int], list[int]] = {}
        for group, joint in _frequent_groups(projects_of, pair_list, params["min_rounds"]).items():
            if len(group) < params["min_firms"]:
                continue
            won = sorted((p for p in joint if winner_of.get(p) in group), key=lambda p: number_of[p])
            if len(won) >= params["min_rounds"] and len({winner_of[p] for p in won}) >= params["min_winners"]:
                qualifying[group] = won
        largest = sorted(qualifying, key=len, reverse=True)
        kept = [g for i, g in enumerate(largest) if not any(g < other for other in largest[:i])]
        wanted = None if scope.full else set(scope.intermediary_ids or [])
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
        rows = list(
            scope.projects(Project.objects.all())
            .filter(Exists(award.filter(winner__state=V.VALID)))
            .annotate(
                valid=Count("applications", filter=Q(applications__state=V.VALID)),
                disqualified=Count("applications", filter=Q(applications__state=V.DISQUALIFIED)),
            )
            .filter(valid=1, disqualified__gte=params["min_others"])
            .values("pk", "public_number", "method", "owner_id", "department_id")
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
    def bidders(params: dict) -> QuerySet:
        """Each firm's valid bids in decided price-competing rounds of the window, and its wins."""
        won = Selection.objects.filter(winner=OuterRef("pk"), annulled=False)
        return (
            Application.objects.filter(
                state=V.VALID,
                project__method__in=PRICE_COMPETES,
                project__registration_deadline__gte=_since(params["days"]),
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
            rows = list(self.bidders(params))
            stats = peer_statistics(self.code, True, params, (), lambda _g: self.statistics(rows, params))
        else:
            rows = list(self.bidders(params).filter(intermediary_id__in=scope.intermediary_ids))
            stats = peer_statistics(
                self.code,
                False,
                params,
                {"market"},
                lambda _g: self.statistics(list(self.bidders(params)), params),
            )
        market = stats.get("market") or {}
        if not rows or not market:
            return []
        percentile = Decimal(market["percentile"])
        fences = Fences(*(Decimal(market[k]) for k in ("q1", "q3", "lower", "upper")))
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
