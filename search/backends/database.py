"""The database backend (the embedded default): ``SearchDocument`` rows matched by substring.

Chinese has no spaces, so words are matched as substrings. On PostgreSQL a GIN index over the
text's character pairs (``grams_tsv``, migration 0002) finds the rows holding all of a word's
pairs (an exact, lossless index lookup: nothing is rechecked from the row's stored vector), and
a ``LIKE`` on the row's text keeps those holding the word itself. On SQLite an FTS5 table with
the trigram tokenizer (kept in step by triggers) serves words of three characters or more;
shorter words (环评) fall back to a scan of the rows the other conditions already narrow.

A keyword search reads its matches once, ranked, with each match's facet values (ids of
``SearchFacet`` rows in ``SearchDocument.facets``), and counts the facets from those rows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Length

from ..documents import Doc
from ..models import Kind, SearchDocument, SearchFacet, SearchTerm
from ..query import FACET_FIELDS, FACET_SIZE, FacetValue, Hit, SearchQuery, SearchResult, highlight

WRITE_BATCH = 1000
# A keyword search matching at most this many documents is read once (ids in ranked order);
# broader ones (and browsing without words) count and page in SQL instead.
MATCH_LIMIT = 10_000
HIT_FIELDS = (
    "kind",
    "object_id",
    "title",
    "subtitle",
    "url",
    "body",
    "rating",
    "price_min",
    "price_max",
    "date",
)


class PairsMatch(Func):
    """PostgreSQL: the text's character pairs include all of the term's (``grams_tsv``, a
    generated column the model does not declare, see migration 0002), through the GIN index.

    An AND of lexemes, not a phrase: the index answers it exactly, whereas a phrase would make
    PostgreSQL recheck every candidate against its stored (out-of-line) vector. The caller
    pairs it with a ``LIKE`` on the text, which the row read brings anyway."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, term: str):
        super().__init__(F("text"))
        self.term = term

    def as_sql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        stored = column.removesuffix('"text"') + '"grams_tsv"'
        sql = f"{stored} @@ plainto_tsquery('simple'::regconfig, search_bigrams(%s))"
        return sql, (*params, self.term)


def _facet_ids(docs: list[Doc]) -> dict[tuple[str, str], int]:
    """Number the batch's facet values (new ones added, changed labels updated)."""
    labels = {
        (name, value): label[:200]
        for d in docs
        for name, values in d.terms.items()
        for value, label in values
    }
    if not labels:
        return {}
    # An upsert returns every row's id (PostgreSQL; SQLite 3.35+), new or existing: no read-back.
    rows = SearchFacet.objects.bulk_create(
        [SearchFacet(field=f, value=v[:120], label=label) for (f, v), label in labels.items()],
        update_conflicts=True,
        unique_fields=["field", "value"],
        update_fields=["label"],
        batch_size=WRITE_BATCH,
    )
    if all(r.pk is not None for r in rows):
        return {(r.field, r.value): r.pk for r in rows}
    wanted = Q(*(Q(field=r.field, value=r.value) for r in rows), _connector=Q.OR)
    return {(f, v): pk for pk, f, v in SearchFacet.objects.filter(wanted).values_list("pk", "field", "value")}


def _rows(docs: list[Doc], facet_ids: dict[tuple[str, str], int]) -> list[SearchDocument]:
    return [
        SearchDocument(
            kind=d.kind,
            object_id=d.object_id,
            title=d.title[:300],
            subtitle=d.subtitle[:300],
            text=d.text,
            body=d.body,
            url=d.url,
            rating=d.rating,
            price_min=d.price_min,
            price_max=d.price_max,
            date=d.date,
            suggest=" ".join(d.suggest)[:300],
            facets=" ".join(
                str(facet_ids[(name, value[:120])]) for name, values in d.terms.items() for value, _ in values
            ),
        )
        for d in docs
    ]


class DatabaseBackend:
    name = "database"

    # --- writing ---------------------------------------------------------------------------

    def _delete_keys(self, keys: list[tuple[str, int]]) -> None:
        by_kind: dict[str, list[int]] = defaultdict(list)
        for kind, object_id in keys:
            by_kind[kind].append(object_id)
        for kind, ids in by_kind.items():
            SearchDocument.objects.filter(kind=kind, object_id__in=ids).delete()

    def _insert(self, docs: list[Doc]) -> None:
        rows = SearchDocument.objects.bulk_create(_rows(docs, _facet_ids(docs)), batch_size=WRITE_BATCH)
        if all(r.pk is not None for r in rows):
            ids = {(r.kind, r.object_id): r.pk for r in rows}
        else:
            ids = {
                (k, o): pk
                for k, o, pk in SearchDocument.objects.filter(
                    Q(*(Q(kind=d.kind, object_id=d.object_id) for d in docs), _connector=Q.OR)
                ).values_list("kind", "object_id", "pk")
            }
        SearchTerm.objects.bulk_create(
            (
                SearchTerm(document_id=ids[d.key], field=name, value=value[:120], label=label[:200])
                for d in docs
                for name, values in d.terms.items()
                for value, label in values
            ),
            batch_size=WRITE_BATCH,
        )

    def index(self, docs: list[Doc]) -> None:
        if not docs:
            return
        with transaction.atomic():
            self._delete_keys([d.key for d in docs])
            self._insert(docs)

    def delete(self, keys: list[tuple[str, int]]) -> None:
        with transaction.atomic():
            self._delete_keys(keys)

    def create(self) -> dict[str, Any]:
        # The table and its text index come with the migrations.
        return {"backend": self.name, "created": False, "detail": "tables are created by migrate"}

    def rebuild(self, batches: Callable[[str], Iterable[list[Doc]]]) -> dict[str, Any]:
        """Replace every row in one transaction: searches see the old rows until it commits."""
        written = 0
        with transaction.atomic():
            SearchTerm.objects.all().delete()
            SearchDocument.objects.all().delete()
            SearchFacet.objects.all().delete()
            for kind in Kind.values:
                for docs in batches(kind):
                    self._insert(docs)
                    written += len(docs)
        return {"backend": self.name, "documents": written}

    def status(self) -> dict[str, Any]:
        counts = dict(
            SearchDocument.objects.values_list("kind").annotate(n=Count("id")).values_list("kind", "n")
        )
        return {"backend": self.name, "documents": counts, "reachable": True}

    def ping(self, timeout: float) -> None:
        # The database's own timeout applies; a trivial query shows the index table is there.
        SearchDocument.objects.only("pk").first()

    # --- reading ---------------------------------------------------------------------------

    def _text_condition(self, terms: list[str]) -> Q:
        condition = Q()
        if connection.vendor == "postgresql":
            # The index finds the rows with all of a term's pairs; LIKE keeps those with the term.
            for term in terms:
                if len(term) >= 2:
                    condition &= Q(PairsMatch(term))
                condition &= Q(text__contains=term)
            return condition
        long_terms = [t for t in terms if len(t) >= 3]
        if connection.vendor == "sqlite" and long_terms:
            phrase = " AND ".join('"' + t.replace('"', "") + '"' for t in long_terms)
            condition &= Q(pk__in=RawSQL("SELECT rowid FROM search_fts WHERE search_fts MATCH %s", [phrase]))
            terms = [t for t in terms if len(t) < 3]
        for term in terms:
            condition &= Q(text__contains=term)
        return condition

    def _filtered(self, query: SearchQuery) -> QuerySet[SearchDocument]:
        qs = SearchDocument.objects.all()
        if query.kind:
            qs = qs.filter(kind=query.kind)
        if query.terms:
            qs = qs.filter(self._text_condition(query.terms))
        for name, value in query.filters.items():
            qs = qs.filter(pk__in=SearchTerm.objects.filter(field=name, value=value).values("document_id"))
        if query.price_min is not None:
            qs = qs.filter(price_max__gte=query.price_min)
        if query.price_max is not None:
            qs = qs.filter(price_min__lte=query.price_max)
        if query.rating_min is not None:
            qs = qs.filter(rating__gte=query.rating_min)
        if query.date_from is not None:
            qs = qs.filter(date__date__gte=query.date_from)
        if query.date_to is not None:
            qs = qs.filter(date__date__lte=query.date_to)
        return qs

    def _ordered(self, qs: QuerySet[SearchDocument], query: SearchQuery) -> QuerySet[SearchDocument]:
        if query.sort == "newest":
            return qs.order_by(F("date").desc(nulls_last=True), "-pk")
        if query.sort == "price":
            return qs.order_by(F("price_min").asc(nulls_last=True), "-pk")
        if query.sort == "-price":
            return qs.order_by(F("price_min").desc(nulls_last=True), "-pk")
        if query.sort == "rating":
            return qs.order_by(F("rating").desc(nulls_last=True), "-pk")
        if not query.terms:
            return qs.order_by(F("date").desc(nulls_last=True), "-pk")
        whole = query.text
        qs = qs.annotate(
            rank=Case(
                When(title__icontains=whole, then=Value(3)),
                When(subtitle__icontains=whole, then=Value(2)),
                When(suggest__icontains=whole, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        # Among equally ranked matches, the shorter title is the closer to the words: for a title
        # that holds them, what pg_trgm's similarity() measures, at a fraction of its cost (it
        # took half the query's time at 100,000 offers), and the same on every database.
        return qs.order_by("-rank", Length("title").asc(), F("date").desc(nulls_last=True), "-pk")

    def _facets(self, qs: QuerySet[SearchDocument], query: SearchQuery) -> dict[str, list[FacetValue]]:
        facets: dict[str, list[FacetValue]] = {name: [] for name in ("kind", *FACET_FIELDS)}
        kinds = list(qs.order_by().values("kind").annotate(n=Count("id")))
        facets["kind"] = [
            FacetValue(r["kind"], str(Kind(r["kind"]).label), r["n"], query.kind == r["kind"])
            for r in sorted(kinds, key=lambda r: -r["n"])
        ]
        if not kinds:
            return facets
        self._term_facets(facets, qs.values("pk"), query)
        return facets

    def _term_facets(self, facets: dict[str, list[FacetValue]], ids: Any, query: SearchQuery) -> None:
        rows = (
            SearchTerm.objects.filter(document_id__in=ids)
            .values("field", "value", "label")
            .annotate(n=Count("id"))
            .order_by("field", "-n", "value")
        )
        for row in rows:
            values = facets[row["field"]]
            if len(values) < FACET_SIZE:
                values.append(
                    FacetValue(
                        row["value"], row["label"], row["n"], query.filters.get(row["field"]) == row["value"]
                    )
                )

    def _matched_once(self, query: SearchQuery) -> tuple[int, dict[str, list[FacetValue]], list[int]] | None:
        """A keyword search reads its matches once: every match's id, kind and facet values in
        ranked order (one index scan), counts the facets from them, then reads the page's rows
        by id. ``None`` when the words match more than ``MATCH_LIMIT`` documents (then counting
        in SQL is cheaper)."""
        ranked = list(
            self._ordered(self._filtered(query), query).values_list("pk", "kind", "facets")[: MATCH_LIMIT + 1]
        )
        if len(ranked) > MATCH_LIMIT:
            return None
        kinds = Counter(kind for _, kind, _ in ranked)
        values = Counter(" ".join(facet_ids for _, _, facet_ids in ranked).split())
        facets: dict[str, list[FacetValue]] = {name: [] for name in ("kind", *FACET_FIELDS)}
        facets["kind"] = [
            FacetValue(kind, str(Kind(kind).label), n, query.kind == kind)
            for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1])
        ]
        if values:
            named = SearchFacet.objects.filter(pk__in=[int(pk) for pk in values]).values_list(
                "pk", "field", "value", "label"
            )
            for pk, field, value, label in sorted(named, key=lambda r: (r[1], -values[str(r[0])], r[2])):
                listed = facets.setdefault(field, [])
                if len(listed) < FACET_SIZE:
                    listed.append(
                        FacetValue(value, label, values[str(pk)], query.filters.get(field) == value)
                    )
        page = [pk for pk, _, _ in ranked[query.offset : query.offset + query.page_size]]
        return len(ranked), facets, page

    def search(self, query: SearchQuery) -> SearchResult:
        matched = self._matched_once(query) if query.terms else None
        if matched is not None:
            total, facets, page = matched
            by_pk = {r.pk: r for r in SearchDocument.objects.filter(pk__in=page).only(*HIT_FIELDS)}
            rows = [by_pk[pk] for pk in page if pk in by_pk]
        else:
            qs = self._filtered(query)
            facets = self._facets(qs, query)
            total = sum(v.count for v in facets["kind"])
            rows = list(
                self._ordered(qs, query).only(*HIT_FIELDS)[query.offset : query.offset + query.page_size]
            )
        if query.offset >= total and total:
            return SearchResult(query, [], total, facets, out_of_range=True)
        hits = [
            Hit(
                kind=r.kind,
                object_id=r.object_id,
                title=r.title,
                subtitle=r.subtitle,
                url=r.url,
                snippet=highlight(r.body, query.terms),
                price_min=r.price_min,
                price_max=r.price_max,
                rating=r.rating,
                date=r.date,
            )
            for r in rows
        ]
        return SearchResult(query, hits, total, facets)

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        rows = (
            SearchDocument.objects.filter(suggest__icontains=prefix)
            .order_by(F("date").desc(nulls_last=True))
            .values_list("suggest", "title")[: limit * 4]
        )
        found: list[str] = []
        for suggest, title in rows:
            for candidate in [*suggest.split(" "), title]:
                if prefix.lower() in candidate.lower() and candidate not in found:
                    found.append(candidate)
        found.sort(key=lambda s: (not s.lower().startswith(prefix.lower()), len(s)))
        return found[:limit]
