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

For a few firms (a per-change run) the walk is seeded instead: ``neighbourhood`` fetches only the
edges within reach of the firms, one query per hop through indexed lookups (the contact keys have
expression indexes on firms and staff, see ``marketplace.core.contacts``), for all the walks a
run will take, and each walk then runs in Python over those edges. It finds the same paths as the
recursive CTE (tests/oversight/test_graph.py compares them) without reading the whole edge list.
The seed firms' contact keys come with the firms' query, so the first hop looks the parties
sharing them up by key instead of joining on normalised keys.
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
from marketplace.core.contacts import ADDRESS_SPACE as _ADDRESS_SPACE
from marketplace.core.contacts import PHONE_PUNCTUATION as _PHONE_PUNCTUATION
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


def _phone(column: str) -> str:
    return _strip_sql(column, _PHONE_PUNCTUATION)


def _email(column: str) -> str:
    return f"LOWER(TRIM({column}))"


def _address(column: str) -> str:
    return _strip_sql(column, _ADDRESS_SPACE)


# The same expressions as ``marketplace.core.contacts`` (which the models index).
_NORMALISE = {"phone": _phone, "email": _email, "address": _address}


def _contact_sources() -> list[tuple[str, str, str, str, str, tuple[str, ...]]]:
    """(side, node, label, key, table, fields) of every party with contacts; ``x`` is the row."""
    firm, staff, dept, aff = _t(Intermediary), _t(DepartmentStaff), _t(Department), _t(AffiliatedEntity)
    return [
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


def _contact_rows(side: str, node: str, label: str, key: str, table: str, name: str, where: str = "") -> str:
    return (
        f"SELECT '{side}' AS side, {node} AS node, {label} AS label, {key} AS ckey, "  # noqa: S608
        f"'{name}' AS field, {_NORMALISE[name](f'x.{name}')} AS value, x.{name} AS raw FROM {table} x"
        + (f" WHERE {where}" if where else "")
    )


_CONTACT_KEPT = f"c.value <> '' AND (c.field <> 'phone' OR LENGTH(c.value) >= {MIN_PHONE_DIGITS})"


def _contacts_cte() -> str:
    """Every firm's, department's, staff member's and affiliate's contacts, normalised."""
    selects = [
        _contact_rows(side, node, label, key, table, name)
        for side, node, label, key, table, fields in _contact_sources()
        for name in fields
    ]
    union = " UNION ALL ".join(selects)
    return (
        f"contacts AS {_materialized()}(SELECT side, node, label, ckey, field, value, raw FROM ({union}) c "  # noqa: S608
        f"WHERE {_CONTACT_KEPT})"
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


# Queries of one ``paths_to_department`` call at most: the SQL walk then the edges on its paths
# (the SQLite fallback takes four for the walk), or the seeded walk's firms and one query per hop.
WALK_QUERIES = 5
# Up to this many firms the walk is seeded: it fetches only the edges within reach of the firms,
# hop by hop through indexed lookups, and walks them in Python. Above it (a full scan), one SQL
# walk over the whole edge list is cheaper than thousands of lookups. A firm's own change on the
# large market reaches the winners of all its projects (up to about 260 firms): seeded, 60-100 ms;
# through the SQL walk, 200-800 ms.
SEEDED_MAX_FIRMS = 1000


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


# --- the seeded walk ----------------------------------------------------------------------------


@dataclass
class _Frontier:
    """Nodes to expand, by the column that holds them: USCCs (``o:``), person hashes (``p:``) and
    affiliates without a USCC (``a:``). Departments are never walked on from."""

    usccs: list[str]
    hashes: list[str]
    affiliates: list[int]

    @classmethod
    def of(cls, nodes: Iterable[str]) -> _Frontier:
        usccs, hashes, affiliates = set(), set(), set()
        for node in nodes:
            prefix, value = node[:2], node[2:]
            if prefix == "o:":
                usccs.add(value)
            elif prefix == "p:":
                hashes.add(value)
            elif prefix == "a:":
                affiliates.add(int(value))
        return cls(sorted(usccs), sorted(hashes), sorted(affiliates))


def _in(column: str, values: list, params: list[Any]) -> str | None:
    """``column IN (...)`` with its values appended to ``params``; None for no values."""
    if not values:
        return None
    params.extend(values)
    return f"{column} IN ({', '.join(['%s'] * len(values))})"


def _near_selects(
    kinds: Collection[str],
    min_share: Decimal | None,
    near: _Frontier,
    known: dict[str, _FirmContacts] | None = None,
) -> tuple[list[str], list[Any]]:
    """The edges of ``kinds`` touching a node of ``near``, in the columns of ``edges_cte``, one
    SELECT per indexed lookup (an edge may come twice)."""
    firm, holder, prac = _t(Intermediary), _t(Shareholder), _t(Practitioner)
    staff, rel, dept, aff = _t(DepartmentStaff), _t(StaffRelative), _t(Department), _t(AffiliatedEntity)
    no_share, no_date = "CAST(NULL AS NUMERIC)", "CAST(NULL AS DATE)"
    selects: list[str] = []
    params: list[Any] = []

    def add(select: str, lookups: list[tuple[str, list]], extra: list[Any] = ()) -> None:
        for column, values in lookups:
            condition_params: list[Any] = []
            condition = _in(column, values, condition_params)
            if condition:
                selects.append(f"{select} AND {condition}")
                params.extend([*extra, *condition_params])

    if SHAREHOLDING in kinds:
        share_filter, extra = "", []
        if min_share is not None and min_share > 0:
            share_filter, extra = " AND sh.share >= %s", [min_share]
        for kind, holder_node, present, holder_column, holder_values in (
            ("person", "'p:' || sh.id_hash", "sh.id_hash <> ''", "sh.id_hash", near.hashes),
            ("firm", "'o:' || sh.uscc", "sh.uscc <> ''", "sh.uscc", near.usccs),
        ):
            add(
                f"SELECT 'sh:' || CAST(sh.id AS TEXT), {holder_node}, 'o:' || i.uscc, '{SHAREHOLDING}', "  # noqa: S608
                f"sh.name, i.name, sh.share, {no_date}, {no_date}, '{kind}' "
                f"FROM {holder} sh JOIN {firm} i ON i.id = sh.intermediary_id "
                f"WHERE sh.kind = '{kind}' AND {present}{share_filter}",
                [(holder_column, holder_values), ("i.uscc", near.usccs)],
                extra,
            )
    if LEGAL_REPRESENTATIVE in kinds:
        add(
            f"SELECT 'lr:' || CAST(i.id AS TEXT), 'p:' || i.legal_representative_id_hash, 'o:' || i.uscc, "  # noqa: S608
            f"'{LEGAL_REPRESENTATIVE}', i.legal_representative, i.name, {no_share}, {no_date}, {no_date}, '' "
            f"FROM {firm} i WHERE i.legal_representative_id_hash <> ''",
            [("i.legal_representative_id_hash", near.hashes), ("i.uscc", near.usccs)],
        )
    if PRACTITIONER in kinds:
        add(
            f"SELECT 'pr:' || CAST(p.id AS TEXT), 'p:' || p.id_hash, 'o:' || i.uscc, '{PRACTITIONER}', "  # noqa: S608
            f"p.name, i.name, {no_share}, {no_date}, {no_date}, p.title "
            f"FROM {prac} p JOIN {firm} i ON i.id = p.intermediary_id WHERE p.id_hash <> ''",
            [("p.id_hash", near.hashes), ("i.uscc", near.usccs)],
        )
    if STAFF in kinds:
        add(
            f"SELECT 'st:' || CAST(s.id AS TEXT), 'p:' || s.id_hash, 'd:' || CAST(s.department_id AS TEXT), "  # noqa: S608
            f"'{STAFF}', s.name, d.name_zh, {no_share}, s.started_on, s.ended_on, s.position "
            f"FROM {staff} s JOIN {dept} d ON d.id = s.department_id WHERE s.id_hash <> ''",
            [("s.id_hash", near.hashes)],
        )
    if RELATIVE in kinds:
        add(
            f"SELECT 'rel:' || CAST(r.id AS TEXT), 'p:' || r.id_hash, 'p:' || s.id_hash, '{RELATIVE}', "  # noqa: S608
            f"r.name, s.name, {no_share}, {no_date}, {no_date}, r.relation "
            f"FROM {rel} r JOIN {staff} s ON s.id = r.staff_id WHERE r.id_hash <> '' AND s.id_hash <> ''",
            [("r.id_hash", near.hashes), ("s.id_hash", near.hashes)],
        )
    if AFFILIATION in kinds:
        affiliation = (
            f"SELECT 'af:' || CAST(a.id AS TEXT), 'd:' || CAST(a.department_id AS TEXT), {_affiliate_node('a')}, "  # noqa: S608
            f"'{AFFILIATION}', d.name_zh, a.name, {no_share}, {no_date}, {no_date}, a.kind "
            f"FROM {aff} a JOIN {dept} d ON d.id = a.department_id"
        )
        add(f"{affiliation} WHERE a.uscc <> ''", [("a.uscc", near.usccs)])
        add(f"{affiliation} WHERE a.uscc = ''", [("a.id", near.affiliates)])
    if CONTACT in kinds:
        contact_selects, contact_params = _near_contact_selects(near, known)
        selects += contact_selects
        params += contact_params
    return selects, params


def _near_contact_selects(
    near: _Frontier, known: dict[str, _FirmContacts] | None = None
) -> tuple[list[str], list[Any]]:
    """Shared contacts touching ``near``: a firm of ``near`` with every other party whose key is the
    same, and a staff member or affiliate of ``near`` with every firm whose key is the same (the
    firm's side through the expression indexes on its contacts).

    For the firms of ``known`` (by USCC: the seed firms, whose keys their query read) the other
    parties are looked up by those keys directly, through the same indexes: rows marked
    ``_PAIRED`` that ``_paired_edges`` turns into the same edges as the join would give. A join
    over the normalised keys costs the planner more than the rest of the hop together."""
    no_share, no_date = "CAST(NULL AS NUMERIC)", "CAST(NULL AS DATE)"
    sources = _contact_sources()
    firm_source = sources[0]
    selects: list[str] = []
    params: list[Any] = []
    usccs = set(near.usccs)
    known = {uscc: firm for uscc, firm in (known or {}).items() if uscc in usccs}
    for name in firm_source[5]:
        values = sorted({firm.values[name][0] for firm in known.values() if name in firm.values})
        for _, o_node, o_label, o_key, o_table, o_fields in sources[1:]:
            other_key = _NORMALISE[name](f"x.{name}")
            row_params: list[Any] = []
            condition = _in(other_key, values, row_params) if name in o_fields else None
            if condition:
                selects.append(
                    f"SELECT '{_PAIRED}{name}:' || {o_key}, {other_key}, {o_node}, '{CONTACT}', '', "  # noqa: S608
                    f"{o_label}, {no_share}, {no_date}, {no_date}, '' FROM {o_table} x WHERE {condition}"
                )
                params.extend(row_params)
    for side, node, label, key, table, fields in sources:
        for name in fields:
            if side == "firm":
                lookups = [("x.uscc", [uscc for uscc in near.usccs if uscc not in known])]
            elif side == "staff":
                lookups = [("x.id_hash", near.hashes)]
            elif side == "affiliate":
                lookups = [("x.uscc", near.usccs), ("x.id", near.affiliates)]
            else:
                continue  # a department is never walked on from
            for column, values in lookups:
                row_params: list[Any] = []
                condition = _in(column, values, row_params)
                if not condition:
                    continue
                if side == "affiliate":
                    condition += " AND x.uscc <> ''" if column == "x.uscc" else " AND x.uscc = ''"
                rows = _contact_rows(side, node, label, key, table, name, condition)
                # ``c`` is the party of ``near``; ``x`` the party on the other side.
                kept = f"(SELECT * FROM ({rows}) c WHERE {_CONTACT_KEPT}) c"  # noqa: S608
                others = [firm_source] if side != "firm" else sources[1:]
                for _, o_node, o_label, o_key, o_table, o_fields in others:
                    if name not in o_fields:
                        continue
                    if side == "firm":
                        ends = f"'ct:{name}:' || c.ckey || ':' || {o_key}, c.node, {o_node}, "
                        labels = f"c.label, {o_label}, "
                        raw = "c.raw"
                    else:
                        ends = f"'ct:{name}:' || {o_key} || ':' || c.ckey, {o_node}, c.node, "
                        labels = f"{o_label}, c.label, "
                        raw = f"x.{name}"
                    # The other side's empty keys can never equal a kept key: saying so keeps the
                    # planner from walking a table whose keys are all empty (staff e-mails) row by
                    # row, and the join goes through the other side's expression index.
                    other_key = _NORMALISE[name](f"x.{name}")
                    selects.append(
                        f"SELECT {ends}'{CONTACT}', {labels}{no_share}, {no_date}, {no_date}, "  # noqa: S608
                        f"'{name}=' || {raw} FROM {kept} JOIN {o_table} x ON {other_key} = c.value "
                        f"AND {other_key} <> ''"
                    )
                    params.extend(row_params)
    return selects, params


# Marks a row of ``_near_contact_selects`` that names the other party of a shared contact with a
# known firm: ``<mark><field>:<other party's key>``, then the normalised key and the party's node.
_PAIRED = "ct?:"


@dataclass(frozen=True)
class _FirmContacts:
    """A seed firm as the contact rows of ``edges_cte`` show it: node, label, key, and its contacts
    that count (field -> normalised key, raw value)."""

    node: str
    label: str
    key: str
    values: dict[str, tuple[str, str]]


def _seed_firms(firm_ids: Collection[int]) -> dict[int, _FirmContacts]:
    """The firms by id, with their contact keys normalised by the same SQL as the edge list, in
    one query."""
    fields = _contact_sources()[0][5]
    columns = ", ".join(f"{_NORMALISE[name](f'x.{name}')}, x.{name}" for name in fields)
    params: list[Any] = []
    condition = _in("x.id", sorted(firm_ids), params)
    if not condition:
        return {}
    sql = f"SELECT x.id, x.uscc, x.name, {columns} FROM {_t(Intermediary)} x WHERE {condition}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    firms = {}
    for row in rows:
        values = {}
        for index, name in enumerate(fields):
            value, raw = row[3 + 2 * index], row[4 + 2 * index]
            # The contacts that count (``_CONTACT_KEPT``).
            if value and (name != "phone" or len(value) >= MIN_PHONE_DIGITS):
                values[name] = (value, raw)
        firms[row[0]] = _FirmContacts(f"o:{row[1]}", row[2] or "", f"i{row[0]}", values)
    return firms


def _paired_edges(row: tuple, firms: Iterable[_FirmContacts]) -> list[Edge]:
    """The contact edges of a ``_PAIRED`` row: one for each known firm with the same key."""
    name, other_key = row[0][len(_PAIRED) :].split(":", 1)
    return [
        Edge(
            ref=f"ct:{name}:{firm.key}:{other_key}",
            kind=CONTACT,
            source=firm.node,
            target=row[2],
            source_label=firm.label,
            target_label=row[5] or "",
            detail=f"{name}={firm.values[name][1]}",
        )
        for firm in firms
        if name in firm.values and firm.values[name][0] == row[1]
    ]


def _row_edge(row: tuple) -> Edge:
    return Edge(
        ref=row[0],
        kind=row[3],
        source=row[1],
        target=row[2],
        source_label=row[4] or "",
        target_label=row[5] or "",
        share=_as_decimal(row[6]),
        started_on=_as_date(row[7]),
        ended_on=_as_date(row[8]),
        detail=row[9] or "",
    )


# What a walk asks for: the edge kinds, the hops at most and the smallest share (None: any).
Request = tuple[frozenset[str], int, Decimal | None]
# Every staff and affiliation edge is the free step into a department.
FREE_KINDS = frozenset({STAFF, AFFILIATION})


def request(kinds: Collection[str], max_hops: int, min_share: Decimal | None = None) -> Request:
    return (frozenset(kinds), max_hops, min_share if min_share is not None and min_share > 0 else None)


def _covers(plan: Request, wanted: Request) -> bool:
    kinds, hops, share = plan
    return (
        wanted[0] <= kinds
        and wanted[1] <= hops
        and (share is None or (wanted[2] is not None and wanted[2] >= share))
    )


@dataclass
class Neighbourhood:
    """The edges within reach of some firms for the walks of ``plan``: every path any of those
    walks can take from any of the firms uses only these edges."""

    firm_ids: frozenset[int]
    seeds: dict[int, str]  # firm id -> its node
    edges: dict[str, Edge]
    plan: tuple[Request, ...]

    def covers(self, firm_ids: Iterable[int], wanted: Request) -> bool:
        return set(firm_ids) <= self.firm_ids and any(_covers(p, wanted) for p in self.plan)

    @property
    def departments(self) -> set[int]:
        """Every department the edges touch (those the walks can reach, and a few more)."""
        return {
            int(node[2:])
            for edge in self.edges.values()
            for node in (edge.source, edge.target)
            if node.startswith("d:")
        }


# Where ``neighbourhood`` leaves its result in a run's memo for ``paths_to_department``.
NEIGHBOURHOOD = "graph.neighbourhood"


def neighbourhood(
    firm_ids: Iterable[int], plan: Iterable[Request], memo: dict | None = None
) -> Neighbourhood:
    """Fetch the edges within reach of the firms, one query per hop (plus one for the firms): the
    edges touching the nodes reached so far, of the kinds some walk of ``plan`` may still take
    from there. A node first reached after a walk's last hop may only take a free step into its
    department. Departments are never walked on from."""
    firm_ids = frozenset(firm_ids)
    plan = tuple(plan)
    firms = _seed_firms(firm_ids)
    seeds = {pk: firms[pk].node for pk in sorted(firms)}
    by_node = {firm.node: firm for firm in firms.values()}
    edges: dict[str, Edge] = {}
    seen = set(seeds.values())
    frontier = set(seen)
    for level in range(max((hops for _, hops, _ in plan), default=-1) + 1):
        frontier = {node for node in frontier if not node.startswith("d:")}
        kinds: set[str] = set()
        shares: list[Decimal | None] = []
        for wanted_kinds, hops, share in plan:
            if level < hops:
                kinds |= wanted_kinds
                if SHAREHOLDING in wanted_kinds:
                    shares.append(share)
            elif level == hops:
                kinds |= wanted_kinds & FREE_KINDS
        min_share = None if not shares or None in shares else min(s for s in shares if s is not None)
        known = {node[2:]: by_node[node] for node in frontier if node in by_node}
        selects, params = _near_selects(kinds, min_share, _Frontier.of(frontier), known)
        if not frontier or not selects:
            break
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(selects), params)
            rows = cursor.fetchall()
        frontier = set()
        for row in rows:
            found = _paired_edges(row, known.values()) if row[0].startswith(_PAIRED) else [_row_edge(row)]
            for edge in found:
                if edge.ref in edges:
                    continue
                edges[edge.ref] = edge
                for node in (edge.source, edge.target):
                    if node not in seen:
                        seen.add(node)
                        frontier.add(node)
    found = Neighbourhood(firm_ids, seeds, edges, plan)
    if memo is not None:
        memo[NEIGHBOURHOOD] = found
    return found


def _seeded_walk(
    near: Neighbourhood, firm_ids: list[int], max_hops: int, kinds: Collection[str], min_share: Decimal | None
) -> list[tuple]:
    """The rows of ``_walk`` (same paths) over the edges of ``near`` that the walk may use, in
    Python."""
    adjacency: dict[str, list[tuple[str, str, int]]] = {}
    for edge in near.edges.values():
        if edge.kind not in kinds:
            continue
        if (
            edge.kind == SHAREHOLDING
            and min_share is not None
            and (edge.share is None or edge.share < min_share)
        ):
            continue
        free = edge.kind in FREE_KINDS
        adjacency.setdefault(edge.source, []).append(
            (edge.target, edge.ref, 0 if free and edge.target.startswith("d:") else 1)
        )
        adjacency.setdefault(edge.target, []).append(
            (edge.source, edge.ref, 0 if free and edge.source.startswith("d:") else 1)
        )
    found: list[tuple] = []
    for firm_id in firm_ids:
        start = near.seeds.get(firm_id)
        if start is None:
            continue
        stack: list[tuple[str, int, tuple[str, ...], tuple[str, ...]]] = [(start, 0, (start,), ())]
        while stack:
            node, hops, nodes, refs = stack.pop()
            if node.startswith("d:"):
                found.append(
                    (
                        firm_id,
                        int(node[2:]),
                        hops,
                        "|" + "|".join(nodes) + "|",
                        "".join(f"{r}," for r in refs),
                    )
                )
                continue
            for other, ref, weight in adjacency.get(node, ()):
                if hops + weight <= max_hops and other not in nodes:
                    stack.append((other, hops + weight, (*nodes, other), (*refs, ref)))
    return found


def paths_to_department(
    firm_ids: Iterable[int],
    max_hops: int = MAX_HOPS,
    *,
    kinds: Collection[str] = EDGE_KINDS,
    min_share: Decimal | None = None,
    seeded: bool | None = None,
    memo: dict | None = None,
) -> dict[tuple[int, int], list[Path]]:
    """Every simple path of at most ``max_hops`` hops from each firm to any department, using
    only edges of ``kinds`` (and shareholdings of at least ``min_share`` percent), at most
    ``PATHS_PER_PAIR`` per pair, shortest first.

    A bounded number of queries whatever the number of firms (at most ``WALK_QUERIES``). For up
    to ``SEEDED_MAX_FIRMS`` firms (unless ``seeded`` says otherwise) the walk is seeded: it runs in
    Python over the edges within reach (``neighbourhood``: the one in ``memo`` if it covers the
    walk); otherwise one recursive SQL walk runs over the whole edge list. Both give the same
    paths. ``memo`` (a dict kept for one monitoring run) also keeps each result, so rules that need
    the same walk share it."""
    firm_ids = sorted(set(firm_ids))
    if not firm_ids or max_hops < 0:
        return {}
    wanted = request(kinds, max_hops, min_share)
    kinds, min_share = wanted[0], wanted[2]
    key = ("paths", tuple(firm_ids), wanted)
    if memo is not None and key in memo:
        return memo[key]
    if seeded is None:
        seeded = len(firm_ids) <= SEEDED_MAX_FIRMS
    if seeded:
        near = memo.get(NEIGHBOURHOOD) if memo is not None else None
        if near is None or not near.covers(firm_ids, wanted):
            near = neighbourhood(firm_ids, [wanted])
        rows = _seeded_walk(near, firm_ids, max_hops, kinds, min_share)
        edges = near.edges
    else:
        rows = _walk(firm_ids, max_hops, kinds, min_share)
        refs = sorted({ref for row in rows for ref in row[4].split(",") if ref})
        edges = _edges_by_ref(kinds, min_share, refs) if refs else {}
    # The database's order of the refs text depends on its collation: sort here (already sorted
    # under the C collation, so this costs little), so both walks keep the same paths.
    rows.sort(key=lambda row: (row[0], row[1], row[2], row[4]))
    found = _paths(rows, edges)
    if memo is not None:
        memo[key] = found
    return found


def _paths(rows: list[tuple], edges: dict[str, Edge]) -> dict[tuple[int, int], list[Path]]:
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
