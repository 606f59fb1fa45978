"""The search interface's values: what is asked (``SearchQuery``) and what comes back
(``SearchResult``), the same for every backend."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .documents import normalise

MAX_QUERY_CHARS = 100
MAX_TERMS = 8
PAGE_SIZE = 20
MAX_PAGE = 500
FACET_SIZE = 12
# Facet fields every backend counts and filters on (values are codes, labels come with them).
FACET_FIELDS = ("service_type", "qualification", "level", "status", "department")
SORTS = ("relevance", "newest", "price", "-price", "rating")
# Query-language characters of either engine (Lucene syntax, FTS5 syntax, LIKE wildcards): a
# search box takes words, never operators, so they are dropped before a backend sees them.
_OPERATORS = re.compile(r"[+\-=&|><!(){}\[\]^\"'~*?:\\/%_;,，。、；：！？（）【】《》“”‘’]+")
_OPERATOR_WORDS = {"and", "or", "not", "near"}


def query_terms(raw: str) -> tuple[list[str], list[str]]:
    """The words of a query, normalised, operators dropped; and notes on what was changed."""
    notes: list[str] = []
    text = raw or ""
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        notes.append("truncated")
    cleaned = _OPERATORS.sub(" ", normalise(text))
    words = [w for w in cleaned.split() if w not in _OPERATOR_WORDS]
    if cleaned.split() != normalise(text).split() or len(words) != len(cleaned.split()):
        notes.append("operators")
    unique: list[str] = []
    for w in words:
        if w not in unique:
            unique.append(w)
    if len(unique) > MAX_TERMS:
        unique = unique[:MAX_TERMS]
        notes.append("too_many_terms")
    return unique, notes


@dataclass
class SearchQuery:
    q: str = ""
    kind: str | None = None
    filters: dict[str, str] = field(default_factory=dict)
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    rating_min: Decimal | None = None
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "relevance"
    page: int = 1
    page_size: int = PAGE_SIZE
    terms: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.terms and self.q:
            self.terms, notes = query_terms(self.q)
            self.notes.extend(notes)
        self.page = max(1, min(self.page, MAX_PAGE))
        if self.sort not in SORTS:
            self.sort = "relevance"

    @property
    def text(self) -> str:
        return " ".join(self.terms)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


@dataclass
class Hit:
    kind: str
    object_id: int
    title: str
    subtitle: str
    url: str
    snippet: SafeString
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    rating: Decimal | None = None
    date: datetime | None = None
    score: float | None = None
    # The firm (of a firm or an offer) is on the blacklist until this day: read at search time
    # (``services.mark_blacklisted``), never indexed, so it is right the day a term starts or ends.
    blacklisted_until: date | None = None


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool = False


@dataclass
class SearchResult:
    query: SearchQuery
    hits: list[Hit]
    total: int
    facets: dict[str, list[FacetValue]]
    out_of_range: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.page_size))

    @property
    def has_next(self) -> bool:
        return self.query.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.query.page > 1


SNIPPET_CHARS = 120


def highlight(text: str, terms: list[str], width: int = SNIPPET_CHARS) -> SafeString:
    """An escaped excerpt of ``text`` around the first term found, every term in <mark>."""
    if not text:
        return mark_safe("")  # noqa: S308 (empty)  # nosec B308
    lowered = normalise(text)
    flat = " ".join(text.split())
    start = 0
    for term in terms:
        at = lowered.find(term)
        if at >= 0:
            start = max(0, at - width // 3)
            break
    excerpt = flat[start : start + width]
    # Terms are found in the text, then every piece is escaped: matching in the escaped text would
    # split entities ("lt" inside "&lt;") and show them as text.
    words = [re.escape(term) for term in sorted(terms, key=len, reverse=True) if term]
    pieces, end = [], 0
    for match in re.finditer("|".join(words), excerpt, flags=re.IGNORECASE) if words else ():
        if match.end() > match.start():
            pieces += [escape(excerpt[end : match.start()]), f"<mark>{escape(match.group(0))}</mark>"]
            end = match.end()
    pieces.append(escape(excerpt[end:]))
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(flat) else ""
    out = prefix + "".join(pieces) + suffix
    return mark_safe(out)  # noqa: S308 (every piece escaped)  # nosec B308 B703


def safe_engine_highlight(fragment: str) -> SafeString:
    """An engine's highlight fragment with only its <mark> tags kept (the text is the firm's)."""
    out = escape(fragment).replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>")
    return mark_safe(out)  # noqa: S308 (escaped above)  # nosec B308 B703
