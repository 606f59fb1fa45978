"""Flag evidence shaped for the regulator's pages. ``selectors`` keeps the queries (risk queues,
flags, complaints, rule pages) and calls these to turn a flag's stored evidence into what a
page shows:

- ``values``: labels for the evidence keys and each value formatted (text, list, map, table);
- ``paths``: the related-party rules' relationship paths, drawn as chains of boxes and arrows.
"""

from .paths import PathLink, PathNode, path_chain, split_paths
from .values import (
    EvidenceItem,
    EvidenceValue,
    evidence_items,
    evidence_label,
    evidence_value,
    format_scalar,
    percent,
)

__all__ = [
    "EvidenceItem",
    "EvidenceValue",
    "PathLink",
    "PathNode",
    "evidence_items",
    "evidence_label",
    "evidence_value",
    "format_scalar",
    "path_chain",
    "percent",
    "split_paths",
]
