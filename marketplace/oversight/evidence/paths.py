"""Relationship paths in the evidence of the related-party rules, drawn as chains of boxes and
labelled arrows: ``split_paths`` takes every path out of the evidence and ``path_chain``
reads one, whatever shape the rule stored it in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .values import _english, _number, evidence_label, format_scalar, percent

# --- relationship paths (related-party rules) ---------------------------------------------------

NODE_LABEL_KEYS = ("label", "name", "title", "entity", "person", "firm", "node", "uscc", "id")
NODE_KIND_KEYS = ("kind", "type", "role", "node_type", "category")
EDGE_KEYS = ("edge", "relation", "relationship", "rel", "via", "link")
SHARE_KEYS = ("share", "ratio", "percent", "stake")
FROM_KEYS = ("from", "source", "src")
TO_KEYS = ("to", "target", "dst")
ARROWS = ("→", "->", "⇒", "=>")
MAX_PATHS = 20

KIND_LABELS = {
    "department": gettext_lazy("部门"),
    "staff": gettext_lazy("工作人员"),
    "official": gettext_lazy("工作人员"),
    "affiliate": gettext_lazy("所属单位"),
    "institution": gettext_lazy("事业单位"),
    "association": gettext_lazy("行业协会"),
    "organisation": gettext_lazy("机构"),
    "organization": gettext_lazy("机构"),
    "intermediary": gettext_lazy("中介机构"),
    "firm": gettext_lazy("中介机构"),
    "winner": gettext_lazy("中选机构"),
    "company": gettext_lazy("企业"),
    "enterprise": gettext_lazy("企业"),
    "person": gettext_lazy("自然人"),
    "shareholder": gettext_lazy("股东"),
    "relative": gettext_lazy("近亲属"),
    "legal_representative": gettext_lazy("法定代表人"),
    "executive": gettext_lazy("高级管理人员"),
    "practitioner": gettext_lazy("从业人员"),
}
# Relation codes (the graph's edge kinds among them) in words, for paths without a label.
RELATION_LABELS = {
    "shareholder": gettext_lazy("持股"),
    "shareholding": gettext_lazy("持股"),
    "owns": gettext_lazy("持股"),
    "legal_representative": gettext_lazy("法定代表人"),
    "executive": gettext_lazy("高级管理人员"),
    "practitioner": gettext_lazy("从业人员"),
    "staff": gettext_lazy("部门工作人员"),
    "relative": gettext_lazy("近亲属"),
    "affiliation": gettext_lazy("所属或主管单位"),
    "affiliate": gettext_lazy("所属或主管单位"),
    "contact": gettext_lazy("相同联系方式"),
    "former_staff": gettext_lazy("曾任职"),
}
KIND_GROUPS = {
    "is-department": (
        "department",
        "dept",
        "bureau",
        "staff",
        "official",
        "affiliate",
        "institution",
        "association",
    ),
    "is-firm": ("intermediary", "firm", "winner", "company", "enterprise", "organisation", "organization"),
    "is-person": ("person", "shareholder", "relative", "legal", "executive", "practitioner", "natural"),
}


@dataclass
class PathNode:
    label: str
    kind: str = ""
    kind_label: str = ""
    css: str = ""


@dataclass
class PathLink:
    """One box of a chain and the relation joining it to the next box (empty for the last);
    ``reverse`` when the relation runs from the next box to this one (a shareholder of it)."""

    node: PathNode
    edge: str = ""
    reverse: bool = False


def _pick(data: dict, keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = data.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _node(value: Any) -> PathNode:
    if isinstance(value, dict):
        label = _pick(value, NODE_LABEL_KEYS)
        kind = _pick(value, NODE_KIND_KEYS)
        if label is None:
            rest = {k: v for k, v in value.items() if k not in NODE_KIND_KEYS + EDGE_KEYS + SHARE_KEYS}
            label = ", ".join(f"{evidence_label(k)}: {format_scalar(k, v)}" for k, v in rest.items()) or "?"
    else:
        label, kind = value, None
    kind_text = str(kind or "")
    lowered = kind_text.lower()
    css = next((group for group, words in KIND_GROUPS.items() if any(w in lowered for w in words)), "")
    kind_label = KIND_LABELS.get(lowered)
    return PathNode(
        label=json.dumps(label, ensure_ascii=False)
        if isinstance(label, dict | list)
        else format_scalar("", label),
        kind=kind_text,
        kind_label=str(kind_label) if kind_label is not None else kind_text,
        css=css,
    )


def _relation(code: Any) -> str:
    label = RELATION_LABELS.get(str(code).lower())
    return str(label) if label is not None else str(code)


def _with_share(text: str, data: dict) -> str:
    share = _number(_pick(data, SHARE_KEYS))
    if share is None or "%" in text:
        return text
    return f"{text} {percent(share if 0 < share <= 1 else share / 100)}".strip()


def _edge(data: Any) -> str:
    """The relation a path step holds (``edge``, ``relation``, ...), with a share if any."""
    if not isinstance(data, dict):
        return ""
    relation = _pick(data, EDGE_KEYS)
    if isinstance(relation, dict):
        text = _link_text(relation)
    else:
        text = _relation(relation) if relation is not None else ""
    return _with_share(text, data)


def _link_text(link: dict) -> str:
    """A link's own words: its label in the active language, else its relation or kind."""
    label = link.get("label_en") if _english() else None
    label = label or link.get("label")
    if label:
        return _with_share(str(label), link)
    relation = _pick(link, EDGE_KEYS) or link.get("kind") or link.get("type")
    return _with_share(_relation(relation) if relation else "", link)


def _is_link(step: Any) -> bool:
    return isinstance(step, dict) and _pick(step, FROM_KEYS) is not None and _pick(step, TO_KEYS) is not None


def _graph_chain(nodes: list, edges: list) -> list[PathLink]:
    """The related-party graph's shape (``graph.Path.as_evidence``): ``nodes`` in order,
    ``edges[i]`` joining ``nodes[i]`` and ``nodes[i + 1]`` in either direction."""
    links = [PathLink(_node(n)) for n in nodes]
    for i, edge in enumerate(edges[: max(len(links) - 1, 0)]):
        if not isinstance(edge, dict):
            links[i].edge = _relation(edge)
            continue
        links[i].edge = _link_text(edge)
        here = nodes[i].get("id") if isinstance(nodes[i], dict) else nodes[i]
        there = nodes[i + 1].get("id") if isinstance(nodes[i + 1], dict) else nodes[i + 1]
        source, target = _pick(edge, FROM_KEYS), _pick(edge, TO_KEYS)
        links[i].reverse = source is not None and source == there and target == here
    return links


def path_chain(path: Any) -> list[PathLink]:
    """A relationship path as boxes joined by labelled arrows, whatever shape it was stored in:
    the graph's ``{"nodes": [...], "edges": [...]}``; a string with arrows; a list of names; a
    list of nodes (dicts with a label, a kind and the relation to the next or previous node); a
    list of links (dicts with from / to / relation); or [from, relation, to] triples."""
    if isinstance(path, dict):
        nodes = path.get("nodes")
        if isinstance(nodes, list) and nodes:
            edges = path.get("edges")
            return _graph_chain(nodes, edges if isinstance(edges, list) else [])
        inner = _pick(path, ("steps", "path", "links", "edges"))
        path = inner if isinstance(inner, list) else [path]
    if isinstance(path, str):
        for arrow in ARROWS:
            path = path.replace(arrow, "→")
        path = [part.strip() for part in path.split("→") if part.strip()]
    if not isinstance(path, list | tuple):
        return [PathLink(_node(path))]
    links: list[PathLink] = []

    def add(node: PathNode, edge_before: str) -> None:
        if links and links[-1].node.label == node.label:
            if node.kind and not links[-1].node.kind:
                links[-1].node = node
            return
        if links and edge_before:
            links[-1].edge = edge_before
        links.append(PathLink(node))

    steps = list(path)
    node_steps = [s for s in steps if isinstance(s, dict) and not _is_link(s)]
    # A relation held on a node leads to the next node, unless the last node has one and the
    # first has none: then it describes how the node was reached.
    incoming = bool(node_steps) and bool(_edge(node_steps[-1])) and not _edge(node_steps[0])
    pending = ""
    for step in steps:
        if _is_link(step):
            add(_node(_pick(step, FROM_KEYS)), pending)
            add(_node(_pick(step, TO_KEYS)), _link_text(step))
            pending = ""
        elif isinstance(step, list | tuple) and len(step) == 3:
            source, relation, target = step
            add(_node(source), pending)
            add(_node(target), _link_text(relation) if isinstance(relation, dict) else _relation(relation))
            pending = ""
        elif isinstance(step, dict):
            edge = _edge(step)
            if incoming:
                add(_node(step), edge)
            else:
                add(_node(step), pending)
                pending = edge
        else:
            add(_node(step), pending)
            pending = ""
    return links


def split_paths(evidence: Any) -> tuple[Any, list[list[PathLink]]]:
    """Take every ``path`` / ``paths`` out of the evidence, wherever it is nested (RP01 keeps
    its paths at the top, RP02-RP05 inside each person, contact or tie), and leave in its place
    a note pointing at the drawing. Identical paths are drawn once."""
    chains: list[list[PathLink]] = []
    seen: dict[str, int] = {}

    def draw(path: Any) -> str:
        chain = path_chain(path)
        if not chain:
            return "—"
        key = json.dumps([[link.node.label, link.edge, link.reverse] for link in chain], ensure_ascii=False)
        if key not in seen:
            if len(chains) >= MAX_PATHS:
                return _("（另有路径未显示）")
            chains.append(chain)
            seen[key] = len(chains)
        return _("关联路径 %(number)s（见上图）") % {"number": seen[key]}

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                if key == "path" and item not in (None, "", [], {}):
                    out[key] = draw(item)
                elif key == "paths" and isinstance(item, list):
                    out[key] = [draw(p) for p in item if p not in (None, "", [], {})]
                else:
                    out[key] = walk(item)
            return out
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return walk(evidence), chains
