"""The Elasticsearch backend (on when ``ELASTICSEARCH_URL`` is set).

One index per kind behind an alias (``zjcs-offer`` -> ``zjcs-offer-20260101...``): a rebuild
fills a new index and then moves the alias in one request, so searches never see a half-built
index. Chinese text goes through the ``smartcn`` analyser when the cluster has the plugin and
the built-in ``cjk`` analyser (overlapping bigrams) otherwise, chosen when an index is created.
Facets aggregate ``<field>_facet`` keywords holding "code<US>label", so a bucket carries its
label; filters use the plain ``<field>`` keywords.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.utils import timezone
from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError, helpers
from elasticsearch_dsl import Completion, Date, Document, Double, Float, Keyword, Long, Q, Search, Text

from ..documents import Doc
from ..models import Kind
from ..query import FACET_FIELDS, FACET_SIZE, FacetValue, Hit, SearchQuery, SearchResult, highlight
from ..query import safe_engine_highlight as engine_highlight
from .base import SearchUnavailable

SEP = "\u001f"
DEFAULT_ANALYZER = "cjk"
SMARTCN_PLUGIN = "analysis-smartcn"
# Boosts: a firm's or service's name first, then service-type and qualification names.
QUERY_FIELDS = ["title^4", "subtitle^2", "keywords^2", "body"]
BULK_CHUNK = 500


class BaseDocument(Document):
    kind = Keyword()
    object_id = Long()
    title = Text(analyzer=DEFAULT_ANALYZER, fields={"raw": Keyword()})
    subtitle = Text(analyzer=DEFAULT_ANALYZER)
    keywords = Text(analyzer=DEFAULT_ANALYZER)
    body = Text(analyzer=DEFAULT_ANALYZER)
    codes = Keyword()  # USCC, project number: exact matches
    url = Keyword(index=False)
    rating = Float()
    price_min = Double()
    price_max = Double()
    date = Date()
    suggest = Completion()
    service_type = Keyword()
    service_type_facet = Keyword()
    qualification = Keyword()
    qualification_facet = Keyword()
    level = Keyword()
    level_facet = Keyword()
    status = Keyword()
    status_facet = Keyword()
    department = Keyword()
    department_facet = Keyword()


class IntermediaryDocument(BaseDocument):
    class Index:
        name = "intermediary"


class OfferDocument(BaseDocument):
    class Index:
        name = "offer"


class ProjectDocument(BaseDocument):
    class Index:
        name = "project"


DOCUMENTS: dict[str, type[BaseDocument]] = {
    Kind.INTERMEDIARY: IntermediaryDocument,
    Kind.OFFER: OfferDocument,
    Kind.PROJECT: ProjectDocument,
}


def alias_for(kind: str) -> str:
    return f"{settings.ELASTICSEARCH_INDEX_PREFIX}-{kind}"


def mapping(kind: str, analyzer: str = DEFAULT_ANALYZER) -> dict[str, Any]:
    """The index mapping for a kind, with the Chinese analyser chosen for this cluster."""
    body = DOCUMENTS[kind]._doc_type.mapping.to_dict()
    for spec in body["properties"].values():
        if spec.get("analyzer") == DEFAULT_ANALYZER:
            spec["analyzer"] = analyzer
    return body


def source(doc: Doc) -> dict[str, Any]:
    """A ``Doc`` as the engine stores it."""
    body: dict[str, Any] = {
        "kind": doc.kind,
        "object_id": doc.object_id,
        "title": doc.title,
        "subtitle": doc.subtitle,
        "keywords": " ".join(doc.keywords),
        "body": doc.body,
        "codes": [k for k in doc.keywords if k.isascii() and k.isalnum()],
        "url": doc.url,
        "rating": float(doc.rating) if doc.rating is not None else None,
        "price_min": float(doc.price_min) if doc.price_min is not None else None,
        "price_max": float(doc.price_max) if doc.price_max is not None else None,
        "date": doc.date.isoformat() if doc.date else None,
        "suggest": {"input": [s for s in doc.suggest if s]},
    }
    for name in FACET_FIELDS:
        values = doc.terms.get(name, [])
        body[name] = [v for v, _ in values]
        body[f"{name}_facet"] = [f"{v}{SEP}{label}" for v, label in values]
    return body


def search_body(query: SearchQuery) -> dict[str, Any]:
    """The request body for a query (pure: the tests compare it with the expected JSON)."""
    s = Search().extra(track_total_hits=True, from_=query.offset, size=query.page_size)
    must: list[Q] = []
    if query.terms:
        must.append(
            Q(
                "bool",
                should=[
                    Q("multi_match", query=query.text, fields=QUERY_FIELDS, operator="and"),
                    Q("terms", codes=[t.upper() for t in query.terms], boost=10),
                ],
                minimum_should_match=1,
            )
        )
    filters: list[Q] = []
    if query.kind:
        filters.append(Q("term", kind=query.kind))
    for name, value in sorted(query.filters.items()):
        filters.append(Q("term", **{name: value}))
    if query.price_min is not None:
        filters.append(Q("range", price_max={"gte": float(query.price_min)}))
    if query.price_max is not None:
        filters.append(Q("range", price_min={"lte": float(query.price_max)}))
    if query.rating_min is not None:
        filters.append(Q("range", rating={"gte": float(query.rating_min)}))
    if query.date_from or query.date_to:
        bounds = {}
        if query.date_from:
            bounds["gte"] = query.date_from.isoformat()
        if query.date_to:
            bounds["lte"] = query.date_to.isoformat()
        filters.append(Q("range", date=bounds))
    if must or filters:
        s = s.query(Q("bool", must=must, filter=filters))
    s.aggs.bucket("kind", "terms", field="kind", size=len(Kind.values))
    for name in FACET_FIELDS:
        s.aggs.bucket(name, "terms", field=f"{name}_facet", size=FACET_SIZE)
    s = s.highlight("title", "body", fragment_size=120, number_of_fragments=1)
    s = s.highlight_options(pre_tags=["<mark>"], post_tags=["</mark>"])
    sort: list[Any]
    if query.sort == "newest" or (query.sort == "relevance" and not query.terms):
        sort = [{"date": {"order": "desc", "missing": "_last"}}]
    elif query.sort == "price":
        sort = [{"price_min": {"order": "asc", "missing": "_last"}}]
    elif query.sort == "-price":
        sort = [{"price_min": {"order": "desc", "missing": "_last"}}]
    elif query.sort == "rating":
        sort = [{"rating": {"order": "desc", "missing": "_last"}}]
    else:
        sort = ["_score", {"date": {"order": "desc", "missing": "_last"}}]
    s = s.sort(*sort)
    return s.to_dict()


def suggest_body(prefix: str, limit: int) -> dict[str, Any]:
    return {
        "size": 0,
        "suggest": {
            "name": {
                "prefix": prefix,
                "completion": {"field": "suggest", "size": limit, "skip_duplicates": True},
            }
        },
    }


@functools.cache
def _client(url: str) -> Elasticsearch:
    return Elasticsearch(url, request_timeout=5, max_retries=1, retry_on_timeout=False)


def _decimal(value: Any):
    from decimal import Decimal

    return None if value is None else Decimal(str(value))


class ElasticsearchBackend:
    name = "elasticsearch"

    def __init__(self, client: Elasticsearch | None = None):
        self.client = client or _client(settings.ELASTICSEARCH_URL)

    def _call(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (TransportError, ApiError) as exc:
            raise SearchUnavailable(str(exc)) from exc

    # --- index management ------------------------------------------------------------------

    def analyzer(self) -> str:
        info = self._call(lambda: self.client.nodes.info(metric="plugins"))
        for node in info.get("nodes", {}).values():
            if any(p.get("name") == SMARTCN_PLUGIN for p in node.get("plugins", [])):
                return "smartcn"
        return DEFAULT_ANALYZER

    def _new_index(self, kind: str, analyzer: str) -> str:
        name = f"{alias_for(kind)}-{timezone.now():%Y%m%d%H%M%S%f}"
        self._call(lambda: self.client.indices.create(index=name, mappings=mapping(kind, analyzer)))
        return name

    def _current(self, kind: str) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=alias_for(kind)).body)
        except NotFoundError:
            return []
        except (TransportError, ApiError) as exc:
            raise SearchUnavailable(str(exc)) from exc

    def create(self) -> dict[str, Any]:
        """Create each kind's first index and alias; leave existing ones alone."""
        analyzer = self.analyzer()
        created = []
        for kind in Kind.values:
            if not self._current(kind):
                name = self._new_index(kind, analyzer)
                self._call(lambda n=name, k=kind: self.client.indices.put_alias(index=n, name=alias_for(k)))
                created.append(name)
        return {"backend": self.name, "analyzer": analyzer, "created": created}

    def rebuild(self, batches: Callable[[str], Iterable[list[Doc]]]) -> dict[str, Any]:
        analyzer = self.analyzer()
        report: dict[str, Any] = {"backend": self.name, "analyzer": analyzer, "documents": 0}
        for kind in Kind.values:
            name = self._new_index(kind, analyzer)
            for docs in batches(kind):
                self._bulk(
                    {"_op_type": "index", "_index": name, "_id": d.object_id, **source(d)} for d in docs
                )
                report["documents"] += len(docs)
            self._call(lambda n=name: self.client.indices.refresh(index=n))
            old = self._current(kind)
            actions = [{"remove": {"index": o, "alias": alias_for(kind)}} for o in old]
            actions.append({"add": {"index": name, "alias": alias_for(kind)}})
            self._call(lambda a=actions: self.client.indices.update_aliases(actions=a))
            for o in old:
                self._call(lambda o=o: self.client.indices.delete(index=o))
        return report

    def status(self) -> dict[str, Any]:
        report: dict[str, Any] = {"backend": self.name, "url": settings.ELASTICSEARCH_URL, "indices": {}}
        try:
            for kind in Kind.values:
                current = self._current(kind)
                count = self.client.count(index=alias_for(kind))["count"] if current else None
                report["indices"][alias_for(kind)] = {"index": current, "documents": count}
            report["reachable"] = True
        except (SearchUnavailable, TransportError, ApiError) as exc:
            report["reachable"] = False
            report["error"] = str(exc)
        return report

    def ping(self, timeout: float) -> None:
        """The cluster answers within ``timeout`` and is not red (yellow is fine: a one-node
        cluster cannot place replicas)."""
        health = self._call(
            lambda: self.client.options(request_timeout=timeout, max_retries=0).cluster.health(
                timeout=f"{max(1, int(timeout))}s"
            )
        )
        if health.get("status") == "red":
            raise SearchUnavailable("cluster status is red")

    # --- writing ---------------------------------------------------------------------------

    def _bulk(self, actions: Iterable[dict[str, Any]]) -> None:
        def run() -> None:
            _, errors = helpers.bulk(self.client, actions, chunk_size=BULK_CHUNK, raise_on_error=False)
            assert isinstance(errors, list)  # noqa: S101 (stats_only is off: a list of failures)
            real = [e for e in errors if next(iter(e.values())).get("status") != 404]
            if real:
                raise SearchUnavailable(f"bulk request failed for {len(real)} documents: {real[:3]}")

        try:
            run()
        except (TransportError, ApiError, helpers.BulkIndexError) as exc:
            raise SearchUnavailable(str(exc)) from exc

    def index(self, docs: list[Doc]) -> None:
        if docs:
            self._bulk(
                {"_op_type": "index", "_index": alias_for(d.kind), "_id": d.object_id, **source(d)}
                for d in docs
            )

    def delete(self, keys: list[tuple[str, int]]) -> None:
        if keys:
            self._bulk({"_op_type": "delete", "_index": alias_for(kind), "_id": oid} for kind, oid in keys)

    def refresh(self) -> None:
        self._call(lambda: self.client.indices.refresh(index=",".join(alias_for(k) for k in Kind.values)))

    # --- reading ---------------------------------------------------------------------------

    def _indices(self, query: SearchQuery | None = None) -> str:
        kinds = [query.kind] if query and query.kind else Kind.values
        return ",".join(alias_for(k) for k in kinds)

    def search(self, query: SearchQuery) -> SearchResult:
        body = search_body(query)
        response = self._call(
            lambda: self.client.search(index=self._indices(query), ignore_unavailable=True, **body)
        )
        total = response["hits"]["total"]["value"]
        aggs = response.get("aggregations", {})
        facets: dict[str, list[FacetValue]] = {}
        facets["kind"] = [
            FacetValue(b["key"], str(Kind(b["key"]).label), b["doc_count"], query.kind == b["key"])
            for b in aggs.get("kind", {}).get("buckets", [])
            if b["key"] in Kind.values
        ]
        for name in FACET_FIELDS:
            values = []
            for bucket in aggs.get(name, {}).get("buckets", []):
                value, _, label = bucket["key"].partition(SEP)
                values.append(FacetValue(value, label, bucket["doc_count"], query.filters.get(name) == value))
            facets[name] = values
        hits = []
        for h in response["hits"]["hits"]:
            src = h["_source"]
            fragments = h.get("highlight", {}).get("body") or []
            hits.append(
                Hit(
                    kind=src["kind"],
                    object_id=int(src["object_id"]),
                    title=src["title"],
                    subtitle=src.get("subtitle", ""),
                    url=src["url"],
                    snippet=engine_highlight(fragments[0])
                    if fragments
                    else highlight(src.get("body", ""), query.terms),
                    price_min=_decimal(src.get("price_min")),
                    price_max=_decimal(src.get("price_max")),
                    rating=_decimal(src.get("rating")),
                    date=_parse_date(src.get("date")),
                    score=h.get("_score"),
                )
            )
        out_of_range = bool(total) and query.offset >= total
        return SearchResult(query, hits, total, facets, out_of_range=out_of_range)

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        response = self._call(
            lambda: self.client.search(
                index=self._indices(), ignore_unavailable=True, **suggest_body(prefix, limit)
            )
        )
        found: list[str] = []
        for entry in response.get("suggest", {}).get("name", []):
            for option in entry.get("options", []):
                if option["text"] not in found:
                    found.append(option["text"])
        return found[:limit]


def _parse_date(value: str | None):
    if not value:
        return None
    from datetime import datetime

    return datetime.fromisoformat(value)
