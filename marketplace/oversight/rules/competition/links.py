"""Competition rule CO03: applicants of one round that share a phone, e-mail or address, a
person, an owner or a network address, found with one SQL query.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import connection

from marketplace.procurement.models import Application, Project
from marketplace.providers.models import Intermediary, Shareholder

from ...models import Category
from ..base import COMPETITION, Match, Rule, Scope, Threshold, register
from .common import JUDGED, _english, _names, _project_match

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
