"""The related-party graph (关联关系图谱) behind the 红顶中介 rules RP01-RP05.

Nodes are persons (the keyed hash of their ID number: ``p:<hash>``), organisations by USCC
(``o:<uscc>``; an affiliated entity without a USCC is ``a:<id>``) and departments (``d:<id>``).
Edges come from one view-like query, a UNION ALL over the tables that record a tie:

========================  ==================================  ==================================
kind                      from -> to                          table
========================  ==================================  ==================================
shareholding              holder (person or firm) -> firm     Shareholder (with the share)
legal_representative      person -> firm                      Intermediary
practitioner              person -> firm                      Practitioner
staff                     person -> department                DepartmentStaff (with the period)
relative                  relative -> staff member            StaffRelative
affiliation               department -> affiliated entity     AffiliatedEntity
contact                   firm -> department, staff member    normalised phone, e-mail, address
                          or affiliated entity
========================  ==================================  ==================================

``paths_to_department`` walks the graph with a recursive CTE (``WITH RECURSIVE``, the same SQL on
PostgreSQL and SQLite) from many firms at once, ignoring edge direction, never visiting a node
twice and never walking on from a department. The SQL text is built from constants and quoted
table names only; every value is a query parameter (hence the S608 waivers). Hops count the links between the firm and the
department's circle: the last link into the department from one of its staff members or
affiliated entities is free, so an affiliated institution holding shares in the firm is 1 hop
and "firm <- holding firm <- affiliate" is 2 hops.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection

from marketplace.catalog.models import AffiliatedEntity, Department
from marketplace.providers.models import Intermediary, Practitioner, Shareholder

from .models import DepartmentStaff, StaffRelative

SHAREHOLDING = "shareholding"
LEGAL_REPRESENTATIVE = "legal_representative"
PRACTITIONER = "practitioner"
STAFF = "staff"
RELATIVE = "relative"
AFFILIATION = "affiliation"
CONTACT = "contact"
EDGE_KINDS = (SHAREHOLDING, LEGAL_REPRESENTATIVE, PRACTITIONER, STAFF, RELATIVE, AFFILIATION, CONTACT)
# The firm's people: the roles RP02 and RP03 look for on a department's roster.
PERSON_ROLES = (LEGAL_REPRESENTATIVE, PRACTITIONER, SHAREHOLDING)

MAX_HOPS = 3
# Paths kept per (firm, department) pair, shortest first: enough to show, bounded to store.
PATHS_PER_PAIR = 20

EDGE_NAMES = {
    SHAREHOLDING: ("持股", "shareholding"),
    LEGAL_REPRESENTATIVE: ("法定代表人", "legal representative"),
    PRACTITIONER: ("从业人员", "practitioner"),
    STAFF: ("部门工作人员", "department staff"),
    RELATIVE: ("近亲属", "close relative"),
    AFFILIATION: ("所属或主管单位", "affiliated entity"),
    CONTACT: ("相同联系方式", "shared contact"),
}
CONTACT_FIELDS = {"phone": ("电话", "phone"), "email": ("邮箱", "e-mail"), "address": ("地址", "address")}
AFFILIATE_KINDS = {
    "institution": ("所属事业单位", "affiliated institution"),
    "association": ("主管行业协会", "supervised association"),
    "enterprise": ("所办企业", "department-run enterprise"),
}

# Punctuation around area codes and extensions; what is left of a phone number is its digits.
_PHONE_PUNCTUATION = "-–—－ 　()（）+./"
_ADDRESS_SPACE = " 　\t\r\n"
MIN_PHONE_DIGITS = 7


def normalise_phone(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def normalise_email(value: str) -> str:
    return (value or "").strip().lower()


def normalise_address(value: str) -> str:
    return re.sub(r"\s", "", value or "").replace("　", "")


def _strip_sql(expression: str, characters: str) -> str:
    for character in characters:
        expression = f"REPLACE({expression}, '{character}', '')"
    return expression


# --- the edge list ------------------------------------------------------------------------------


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _affiliate_node(alias: str) -> str:
    return f"CASE WHEN {alias}.uscc <> '' THEN 'o:' || {alias}.uscc ELSE 'a:' || CAST({alias}.id AS TEXT) END"


def _edge_selects(kinds: Collection[str], min_share: Decimal | None) -> tuple[list[str], list[Any]]:
    firm, holder, prac = _t(Intermediary), _t(Shareholder), _t(Practitioner)
    staff, rel, dept, aff = _t(DepartmentStaff), _t(StaffRelative), _t(Department), _t(AffiliatedEntity)
    no_share, no_date = "CAST(NULL AS NUMERIC)", "CAST(NULL AS DATE)"
    selects: list[str] = []
    params: list[Any] = []
    if SHAREHOLDING in kinds:
        share_filter = ""
        if min_share is not None and min_share > 0:
            share_filter = " AND sh.share >= %s"
        for kind, holder_node, present in (
            ("person", "'p:' || sh.id_hash", "sh.id_hash <> ''"),
            ("firm", "'o:' || sh.uscc", "sh.uscc <> ''"),
        ):
            selects.append(
                f"SELECT 'sh:' || CAST(sh.id AS TEXT), {holder_node}, 'o:' || i.uscc, '{SHAREHOLDING}', "  # noqa: S608
                f"sh.name, i.name, sh.share, {no_date}, {no_date}, '{kind}' "
                f"FROM {holder} sh JOIN {firm} i ON i.id = sh.intermediary_id "
                f"WHERE sh.kind = '{kind}' AND {present}{share_filter}"
            )
            if share_filter:
                params.append(min_share)
    if LEGAL_REPRESENTATIVE in kinds:
        selects.append(
            f"SELECT 'lr:' || CAST(i.id AS TEXT), 'p:' || i.legal_representative_id_hash, 'o:' || i.uscc, "  # noqa: S608
            f"'{LEGAL_REPRESENTATIVE}', i.legal_representative, i.name, {no_share}, {no_date}, {no_date}, '' "
            f"FROM {firm} i WHERE i.legal_representative_id_hash <> ''"
        )
    if PRACTITIONER in kinds:
        selects.append(
            f"SELECT 'pr:' || CAST(p.id AS TEXT), 'p:' || p.id_hash, 'o:' || i.uscc, '{PRACTITIONER}', "  # noqa: S608
            f"p.name, i.name, {no_share}, {no_date}, {no_date}, p.title "
            f"FROM {prac} p JOIN {firm} i ON i.id = p.intermediary_id WHERE p.id_hash <> ''"
        )
    if STAFF in kinds:
        selects.append(
            f"SELECT 'st:' || CAST(s.id AS TEXT), 'p:' || s.id_hash, 'd:' || CAST(s.department_id AS TEXT), "  # noqa: S608
            f"'{STAFF}', s.name, d.name_zh, {no_share}, s.started_on, s.ended_on, s.position "
            f"FROM {staff} s JOIN {dept} d ON d.id = s.department_id WHERE s.id_hash <> ''"
        )
    if RELATIVE in kinds:
        selects.append(
            f"SELECT 'rel:' || CAST(r.id AS TEXT), 'p:' || r.id_hash, 'p:' || s.id_hash, '{RELATIVE}', "  # noqa: S608
            f"r.name, s.name, {no_share}, {no_date}, {no_date}, r.relation "
            f"FROM {rel} r JOIN {staff} s ON s.id = r.staff_id WHERE r.id_hash <> '' AND s.id_hash <> ''"
        )
    if AFFILIATION in kinds:
        selects.append(
            f"SELECT 'af:' || CAST(a.id AS TEXT), 'd:' || CAST(a.department_id AS TEXT), {_affiliate_node('a')}, "  # noqa: S608
            f"'{AFFILIATION}', d.name_zh, a.name, {no_share}, {no_date}, {no_date}, a.kind "
            f"FROM {aff} a JOIN {dept} d ON d.id = a.department_id"
        )
    if CONTACT in kinds:
        selects.append(
            f"SELECT 'ct:' || f.field || ':' || f.ckey || ':' || o.ckey, f.node, o.node, '{CONTACT}', "  # noqa: S608
            f"f.label, o.label, {no_share}, {no_date}, {no_date}, f.field || '=' || f.raw "
            "FROM contacts f JOIN contacts o ON o.field = f.field AND o.value = f.value "
            "WHERE f.side = 'firm' AND o.side <> 'firm'"
        )
    return selects, params


def _contacts_cte() -> str:
    """Every firm's, department's, staff member's and affiliate's contacts, normalised."""
    firm, staff, dept, aff = _t(Intermediary), _t(DepartmentStaff), _t(Department), _t(AffiliatedEntity)

    def phone(column: str) -> str:
        return _strip_sql(column, _PHONE_PUNCTUATION)

    def email(column: str) -> str:
        return f"LOWER(TRIM({column}))"

    def address(column: str) -> str:
        return _strip_sql(column, _ADDRESS_SPACE)

    sources = [
        (
            "firm",
            "'o:' || x.uscc",
            "x.name",
            "'i' || CAST(x.id AS TEXT)",
            firm,
            ("phone", "email", "address"),
        ),
        (
            "department",
            "'d:' || CAST(x.id AS TEXT)",
            "x.name_zh",
            "'d' || CAST(x.id AS TEXT)",
            dept,
            ("phone", "email", "address"),
        ),
        ("staff", "'p:' || x.id_hash", "x.name", "'s' || CAST(x.id AS TEXT)", staff, ("phone", "email")),
        ("affiliate", _affiliate_node("x"), "x.name", "'a' || CAST(x.id AS TEXT)", aff, ("phone", "address")),
    ]
    normalise = {"phone": phone, "email": email, "address": address}
    selects = []
    for side, node, label, key, table, fields in sources:
        for name in fields:
            selects.append(
                f"SELECT '{side}' AS side, {node} AS node, {label} AS label, {key} AS ckey, "  # noqa: S608
                f"'{name}' AS field, {normalise[name](f'x.{name}')} AS value, x.{name} AS raw FROM {table} x"
            )
    union = " UNION ALL ".join(selects)
    return (
        f"contacts AS {_materialized()}(SELECT side, node, label, ckey, field, value, raw FROM ({union}) c "  # noqa: S608
        f"WHERE c.value <> '' AND (c.field <> 'phone' OR LENGTH(c.value) >= {MIN_PHONE_DIGITS}))"
    )


def _materialized() -> str:
    """``AS MATERIALIZED`` makes SQLite compute a CTE once rather than per row of the walk.
    Fallback: SQLite before 3.35 and PostgreSQL before 12 do not know the keyword (and
    PostgreSQL before 12 always materialises)."""
    if connection.vendor == "sqlite":
        import sqlite3

        return "MATERIALIZED " if sqlite3.sqlite_version_info >= (3, 35) else ""
    if connection.vendor == "postgresql":
        return "MATERIALIZED " if getattr(connection, "pg_version", 0) >= 120000 else ""
    return ""


def edges_cte(kinds: Collection[str] = EDGE_KINDS, min_share: Decimal | None = None) -> tuple[str, list[Any]]:
    """``edges(ref, src, dst, kind, src_label, dst_label, share, started_on, ended_on, detail)``
    (plus the ``contacts`` CTE it needs) as the body of a WITH clause, and its parameters."""
    unknown = set(kinds) - set(EDGE_KINDS)
    if unknown:
        raise ValueError(f"unknown edge kinds: {sorted(unknown)}")
    selects, params = _edge_selects(kinds, min_share)
    if not selects:
        selects = [
            "SELECT '', '', '', '', '', '', CAST(NULL AS NUMERIC), CAST(NULL AS DATE), CAST(NULL AS DATE), '' "
            "WHERE 1 = 0"
        ]
    prefix = _contacts_cte() + ", " if CONTACT in kinds else ""
    body = (
        f"{prefix}edges(ref, src, dst, kind, src_label, dst_label, share, started_on, ended_on, detail) "
        f"AS {_materialized()}(" + " UNION ALL ".join(selects) + ")"
    )
    return body, params


# --- paths --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    id: str
    type: str  # person, organisation, department
    label: str


@dataclass(frozen=True)
class Edge:
    ref: str
    kind: str
    source: str
    target: str
    source_label: str
    target_label: str
    share: Decimal | None = None
    started_on: date | None = None
    ended_on: date | None = None
    detail: str = ""

    def in_post_on(self, day: date) -> bool:
        """For a staff edge: was the person on the roster on ``day``?"""
        started = self.started_on is None or self.started_on <= day
        return started and (self.ended_on is None or self.ended_on > day)

    def label(self, language: str = "zh-hans") -> str:
        en = language.startswith("en")
        name = EDGE_NAMES[self.kind][1 if en else 0]
        if self.kind == SHAREHOLDING:
            share = format_share(self.share)
            return f"holds {share}%" if en else f"持股 {share}%"
        if self.kind == STAFF:
            start = self.started_on.isoformat() if self.started_on else "?"
            end = self.ended_on.isoformat() if self.ended_on else ("now" if en else "今")
            if en:
                return (
                    f"staff ({self.detail}, {start} to {end})" if self.detail else f"staff ({start} to {end})"
                )
            return (
                f"工作人员（{self.detail}，{start}至{end}）" if self.detail else f"工作人员（{start}至{end}）"
            )
        if self.kind == RELATIVE and self.detail:
            return f"{name} ({self.detail})" if en else f"{name}（{self.detail}）"
        if self.kind == AFFILIATION and self.detail in AFFILIATE_KINDS:
            return AFFILIATE_KINDS[self.detail][1 if en else 0]
        if self.kind == CONTACT:
            field_name, _, raw = self.detail.partition("=")
            names = CONTACT_FIELDS.get(field_name, (field_name, field_name))
            return f"same {names[1]} {raw}" if en else f"相同{names[0]} {raw}"
        return name

    @property
    def contact_field(self) -> str:
        return self.detail.partition("=")[0] if self.kind == CONTACT else ""


@dataclass(frozen=True)
class Path:
    """One walk from a firm to a department: ``nodes[0]`` is the firm, ``nodes[-1]`` the
    department, ``edges[i]`` joins ``nodes[i]`` and ``nodes[i + 1]``."""

    firm_id: int
    department_id: int
    hops: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    kinds: tuple[str, ...] = field(default=())

    def as_evidence(self) -> dict[str, Any]:
        """JSON-able, for a flag's evidence and for a page that draws the path. Persons appear
        under a shortened hash (never an ID number)."""
        return {
            "hops": self.hops,
            "nodes": [{"id": _public_id(n.id), "type": n.type, "label": n.label} for n in self.nodes],
            "edges": [
                {
                    "ref": e.ref,
                    "kind": e.kind,
                    "from": _public_id(e.source),
                    "to": _public_id(e.target),
                    "label": e.label("zh-hans"),
                    "label_en": e.label("en"),
                    **({"share": format_share(e.share)} if e.share is not None else {}),
                    **({"started_on": e.started_on.isoformat()} if e.started_on else {}),
                    **({"ended_on": e.ended_on.isoformat()} if e.ended_on else {}),
                }
                for e in self.edges
            ],
        }


def _public_id(node_id: str) -> str:
    return node_id[:14] if node_id.startswith("p:") else node_id


def format_share(value: Decimal | None) -> str:
    """A share in percent without trailing zeros: 40.000 -> "40", 33.330 -> "33.33"."""
    if value is None:
        return "?"
    return format(value.normalize(), "f")


def _node_type(node_id: str) -> str:
    return {"p": "person", "o": "organisation", "a": "organisation", "d": "department"}[node_id[0]]


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _as_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value))


def _free_step(to: str) -> str:
    # The step from a staff member or an affiliated entity into its department is free.
    return f"CASE WHEN kind IN ('{STAFF}', '{AFFILIATION}') AND {to} LIKE 'd:%%' THEN 0 ELSE 1 END"


# Both directions of every edge: the walk ignores direction.
_ADJACENCY = (
    f"SELECT src AS a, dst AS b, ref, {_free_step('dst')} AS w FROM edges "  # noqa: S608
    f"UNION ALL SELECT dst, src, ref, {_free_step('src')} FROM edges"
)


def _walk_sql(adjacency: str, firm_count: int) -> str:
    """The recursive part: from each firm, one edge at a time, never revisiting a node and never
    leaving a department; the rows that reach a department."""
    placeholders = ", ".join(["%s"] * firm_count)
    return (
        "walk(firm_id, node, hops, nodes, refs) AS ("  # noqa: S608
        "SELECT i.id, CAST('o:' || i.uscc AS TEXT), 0, CAST('|o:' || i.uscc || '|' AS TEXT), CAST('' AS TEXT) "
        f"FROM {_t(Intermediary)} i WHERE i.id IN ({placeholders}) "
        "UNION ALL "
        "SELECT w.firm_id, CAST(a.b AS TEXT), w.hops + a.w, CAST(w.nodes || a.b || '|' AS TEXT), "
        "CAST(w.refs || a.ref || ',' AS TEXT) "
        f"FROM walk w JOIN {adjacency} a ON a.a = w.node "
        "WHERE w.node NOT LIKE 'd:%%' AND w.hops + a.w <= %s AND w.nodes NOT LIKE ('%%|' || a.b || '|%%')"
        ") "
        "SELECT firm_id, CAST(SUBSTR(node, 3) AS INTEGER), hops, nodes, refs FROM walk "
        "WHERE node LIKE 'd:%%' ORDER BY firm_id, 2, hops, refs"
    )


# Queries of one ``paths_to_department`` call at most (the SQLite fallback takes four for the walk).
WALK_QUERIES = 5


def _walk(
    firm_ids: list[int], max_hops: int, kinds: Collection[str], min_share: Decimal | None
) -> list[tuple]:
    cte, params = edges_cte(kinds, min_share)
    with connection.cursor() as cursor:
        if connection.vendor != "sqlite":
            # PostgreSQL runs the recursive step once per depth over all the rows at that depth,
            # hash-joining the materialised adjacency: one query.
            cursor.execute(
                f"WITH RECURSIVE {cte}, adj(a, b, ref, w) AS {_materialized()}({_ADJACENCY}), "
                + _walk_sql("adj", len(firm_ids)),
                [*params, *firm_ids, max_hops],
            )
            return cursor.fetchall()
        # Fallback for SQLite: its recursive step runs once per queued row and would scan the whole
        # adjacency each time (no index on a CTE there), so the adjacency goes to an indexed
        # temporary table first. Same edges, same walk.
        table = f"rp_adj_{uuid.uuid4().hex[:12]}"
        cursor.execute(f"CREATE TEMP TABLE {table} AS WITH {cte} {_ADJACENCY}", params)
        try:
            cursor.execute(f"CREATE INDEX temp.{table}_a ON {table}(a)")
            cursor.execute("WITH RECURSIVE " + _walk_sql(table, len(firm_ids)), [*firm_ids, max_hops])
            return cursor.fetchall()
        finally:
            cursor.execute(f"DROP TABLE temp.{table}")


def paths_to_department(
    firm_ids: Iterable[int],
    max_hops: int = MAX_HOPS,
    *,
    kinds: Collection[str] = EDGE_KINDS,
    min_share: Decimal | None = None,
) -> dict[tuple[int, int], list[Path]]:
    """Every simple path of at most ``max_hops`` hops from each firm to any department, using
    only edges of ``kinds`` (and shareholdings of at least ``min_share`` percent).

    A bounded number of queries whatever the number of firms (at most ``WALK_QUERIES``): the
    recursive walk, then the edges on the paths found (for their labels, shares and dates)."""
    firm_ids = sorted(set(firm_ids))
    if not firm_ids or max_hops < 0:
        return {}
    rows = _walk(firm_ids, max_hops, kinds, min_share)
    if not rows:
        return {}
    refs = sorted({ref for row in rows for ref in row[4].split(",") if ref})
    edges = _edges_by_ref(kinds, min_share, refs)
    found: dict[tuple[int, int], list[Path]] = {}
    for firm_id, department_id, hops, node_text, ref_text in rows:
        pair = (firm_id, department_id)
        paths = found.setdefault(pair, [])
        if len(paths) >= PATHS_PER_PAIR:
            continue
        node_ids = [n for n in node_text.split("|") if n]
        path_edges = tuple(edges[ref] for ref in ref_text.split(",") if ref)
        labels: dict[str, str] = {}
        for edge in path_edges:
            labels.setdefault(edge.source, edge.source_label)
            labels.setdefault(edge.target, edge.target_label)
        nodes = tuple(Node(n, _node_type(n), labels.get(n, n)) for n in node_ids)
        paths.append(
            Path(
                firm_id=firm_id,
                department_id=department_id,
                hops=hops,
                nodes=nodes,
                edges=path_edges,
                kinds=tuple(e.kind for e in path_edges),
            )
        )
    return found


def _edges_by_ref(kinds: Collection[str], min_share: Decimal | None, refs: list[str]) -> dict[str, Edge]:
    cte, params = edges_cte(kinds, min_share)
    placeholders = ", ".join(["%s"] * len(refs))
    sql = (
        f"WITH {cte} SELECT ref, kind, src, dst, src_label, dst_label, share, started_on, ended_on, detail "  # noqa: S608
        f"FROM edges WHERE ref IN ({placeholders})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *refs])
        rows = cursor.fetchall()
    return {
        row[0]: Edge(
            ref=row[0],
            kind=row[1],
            source=row[2],
            target=row[3],
            source_label=row[4] or "",
            target_label=row[5] or "",
            share=_as_decimal(row[6]),
            started_on=_as_date(row[7]),
            ended_on=_as_date(row[8]),
            detail=row[9] or "",
        )
        for row in rows
    }


def edge_list(kinds: Collection[str] = EDGE_KINDS) -> list[Edge]:
    """The whole edge list (for a page or a test), in one query."""
    cte, params = edges_cte(kinds)
    sql = (
        f"WITH {cte} SELECT ref, kind, src, dst, src_label, dst_label, share, started_on, ended_on, detail "  # noqa: S608
        "FROM edges ORDER BY ref"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        Edge(
            ref=r[0],
            kind=r[1],
            source=r[2],
            target=r[3],
            source_label=r[4] or "",
            target_label=r[5] or "",
            share=_as_decimal(r[6]),
            started_on=_as_date(r[7]),
            ended_on=_as_date(r[8]),
            detail=r[9] or "",
        )
        for r in rows
    ]


def describe(path: dict[str, Any], language: str = "zh-hans") -> str:
    """A path from a flag's evidence as one line, arrows pointing the way each tie runs:
    "Firm ←[holds 30%]— Institute ←[affiliated institution]— Bureau"."""
    en = language.startswith("en")
    nodes = path.get("nodes", [])
    edges = path.get("edges", [])
    if not nodes:
        return ""
    parts = [nodes[0]["label"]]
    for index, edge in enumerate(edges):
        label = edge.get("label_en" if en else "label") or edge["kind"]
        here = nodes[index]["id"]
        target = nodes[index + 1]["label"] if index + 1 < len(nodes) else "?"
        forward = edge.get("from") == here
        parts.append(f" —[{label}]→ {target}" if forward else f" ←[{label}]— {target}")
    return "".join(parts)
