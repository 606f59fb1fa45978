"""The search interface: ``search``, ``suggest`` and index upkeep, whatever the backend.

Indexing goes through the outbox: every domain service writes an audit event in the same
transaction as its change (``marketplace.core.audit.audit_record``), so the audit log *is* the
outbox, complete and in commit order, with no extra write in the domain. ``outbox_drain`` reads
the events after the cursor in batches, works out which documents they touch, rebuilds those
from the database and sends them to the backend; the cursor moves only when the backend took
them. If the engine is down the writes still commit and the events wait in the log.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from marketplace.core.models import AuditEvent

from .backends.base import Backend, SearchUnavailable
from .documents import BUILDERS, Doc, all_ids
from .models import Kind, OutboxCursor
from .query import Hit, SearchQuery, SearchResult

log = logging.getLogger(__name__)

# Audit events read per drain step, and documents rebuilt per backend request.
OUTBOX_BATCH_SIZE = 500
INDEX_BATCH_SIZE = 500
SUGGEST_MIN_CHARS = 1
SUGGEST_LIMIT = 8


def get_backend() -> Backend:
    if settings.ELASTICSEARCH_URL:
        from .backends.elastic import ElasticsearchBackend

        return ElasticsearchBackend()
    from .backends.database import DatabaseBackend

    return DatabaseBackend()


# --- reading -------------------------------------------------------------------------------


def search(query: SearchQuery, *, backend: Backend | None = None) -> SearchResult:
    result = (backend or get_backend()).search(query)
    mark_blacklisted(result.hits)
    return result


def mark_blacklisted(hits: list[Hit], today: date | None = None) -> None:
    """Mark the hits whose firm (a firm, or an offer's firm) is on the blacklist today: a query
    for the page's firms and one for its offers, so a visitor sees it before opening the firm."""
    from marketplace.providers.models import Intermediary, Offer

    today = today or timezone.localdate()
    firms = [h.object_id for h in hits if h.kind == Kind.INTERMEDIARY]
    offers = [h.object_id for h in hits if h.kind == Kind.OFFER]
    until: dict[tuple[str, int], date] = {}
    if firms:
        for pk, day in Intermediary.objects.filter(pk__in=firms, blacklisted_until__gte=today).values_list(
            "pk", "blacklisted_until"
        ):
            until[(Kind.INTERMEDIARY, pk)] = day
    if offers:
        for pk, day in Offer.objects.filter(
            pk__in=offers, intermediary__blacklisted_until__gte=today
        ).values_list("pk", "intermediary__blacklisted_until"):
            until[(Kind.OFFER, pk)] = day
    for hit in hits:
        hit.blacklisted_until = until.get((hit.kind, hit.object_id))


def suggest(prefix: str, *, backend: Backend | None = None, limit: int = SUGGEST_LIMIT) -> list[str]:
    from .documents import normalise
    from .query import MAX_QUERY_CHARS, query_terms

    words, _ = query_terms(prefix[:MAX_QUERY_CHARS])
    text = normalise(" ".join(words))
    if len(text) < SUGGEST_MIN_CHARS:
        return []
    return (backend or get_backend()).suggest(text, limit)


# --- which documents a change touches -------------------------------------------------------


def _offers_of(firm_ids: set[int]) -> set[int]:
    from marketplace.providers.models import Offer

    return set(Offer.objects.filter(intermediary_id__in=firm_ids).values_list("pk", flat=True))


def _ids_from_snapshot(event: AuditEvent, *names: str) -> set[int]:
    found: set[int] = set()
    for snap in (event.before, event.after):
        if isinstance(snap, dict):
            for name in names:
                value = snap.get(name)
                if isinstance(value, int):
                    found.add(value)
    return found


def targets_for(events: Iterable[AuditEvent]) -> set[tuple[str, int]]:
    """The documents (kind, id) that a batch of audit events may have changed."""
    from marketplace.procurement.models import Contract
    from marketplace.providers.models import FeeSchedule, Qualification

    by_type: dict[str, set[int]] = defaultdict(set)
    firms: set[int] = set()
    offers: set[int] = set()
    projects: set[int] = set()
    for event in events:
        try:
            object_id = int(event.object_id)
        except (TypeError, ValueError):
            continue
        by_type[event.object_type].add(object_id)
        firms |= _ids_from_snapshot(event, "intermediary", "intermediary_id")
        offers |= _ids_from_snapshot(event, "offer", "offer_id")
        projects |= _ids_from_snapshot(event, "project", "project_id")
    firms |= by_type.pop("providers.intermediary", set())
    offers |= by_type.pop("providers.offer", set())
    projects |= by_type.pop("procurement.project", set())
    if fee_ids := by_type.pop("providers.feeschedule", set()):
        offers |= set(FeeSchedule.objects.filter(pk__in=fee_ids).values_list("offer_id", flat=True))
    if qual_ids := by_type.pop("providers.qualification", set()):
        firms |= set(Qualification.objects.filter(pk__in=qual_ids).values_list("intermediary_id", flat=True))
    if rating_ids := by_type.pop("procurement.rating", set()):
        # A rating changes the firm's public score, shown on the firm and its offers.
        from marketplace.procurement.models import Rating

        project_ids = set(Rating.objects.filter(pk__in=rating_ids).values_list("project_id", flat=True))
        firms |= set(
            Contract.objects.filter(project_id__in=project_ids).values_list("intermediary_id", flat=True)
        )
    offers |= _offers_of(firms)
    return (
        {(Kind.INTERMEDIARY, i) for i in firms}
        | {(Kind.OFFER, i) for i in offers}
        | {(Kind.PROJECT, i) for i in projects}
    )


# --- writing to the index --------------------------------------------------------------------


def index_objects(keys: Iterable[tuple[str, int]], *, backend: Backend | None = None) -> dict[str, int]:
    """Bring these documents in line with the database: index the public ones, delete the rest."""
    backend = backend or get_backend()
    by_kind: dict[str, list[int]] = defaultdict(list)
    for kind, object_id in keys:
        by_kind[kind].append(object_id)
    indexed = deleted = 0
    for kind, ids in by_kind.items():
        for start in range(0, len(ids), INDEX_BATCH_SIZE):
            chunk = ids[start : start + INDEX_BATCH_SIZE]
            docs = BUILDERS[kind](chunk)
            gone = [(kind, i) for i in chunk if i not in docs]
            backend.index(list(docs.values()))
            backend.delete(gone)
            indexed += len(docs)
            deleted += len(gone)
    return {"indexed": indexed, "deleted": deleted}


def _cursor(backend: Backend, *, lock: bool) -> OutboxCursor:
    OutboxCursor.objects.get_or_create(backend=backend.name)
    qs = OutboxCursor.objects.filter(backend=backend.name)
    return (qs.select_for_update() if lock else qs).get()


def outbox_drain(*, backend: Backend | None = None, max_batches: int = 100) -> dict[str, Any]:
    """Apply the audit events after the cursor to the index, ``OUTBOX_BATCH_SIZE`` at a time.

    Raises ``SearchUnavailable`` (after recording it) when the backend refuses; the cursor
    stays put, so the same events are applied on the next try. Safe to run twice at once: the
    cursor row is locked for the duration of each batch."""
    backend = backend or get_backend()
    report = {"events": 0, "indexed": 0, "deleted": 0, "batches": 0}
    for _ in range(max_batches):
        failure: SearchUnavailable | None = None
        with transaction.atomic():
            cursor = _cursor(backend, lock=True)
            events = list(
                AuditEvent.objects.filter(seq__gt=cursor.last_seq)
                .order_by("seq")
                .only("seq", "object_type", "object_id", "before", "after")[:OUTBOX_BATCH_SIZE]
            )
            if not events:
                break
            try:
                with transaction.atomic():
                    done = index_objects(targets_for(events), backend=backend)
            except SearchUnavailable as exc:
                failure = exc
                cursor.failures += 1
                cursor.last_error = str(exc)[:2000]
            else:
                cursor.last_seq = events[-1].seq
                cursor.failures = 0
                cursor.last_error = ""
            cursor.updated_at = timezone.now()
            cursor.save()
        if failure is not None:
            log.warning("search outbox: backend %s refused a batch: %s", backend.name, failure)
            raise failure
        report["events"] += len(events)
        report["indexed"] += done["indexed"]
        report["deleted"] += done["deleted"]
        report["batches"] += 1
    return report


def _batches(kind: str) -> Iterator[list[Doc]]:
    chunk: list[int] = []
    for pk in all_ids(kind):
        chunk.append(pk)
        if len(chunk) >= INDEX_BATCH_SIZE:
            yield list(BUILDERS[kind](chunk).values())
            chunk = []
    if chunk:
        yield list(BUILDERS[kind](chunk).values())


def index_rebuild(*, backend: Backend | None = None) -> dict[str, Any]:
    """Rebuild the whole index from the database; recovers from any state.

    The cursor is set to the last event *before* reading, so changes made during the rebuild
    are applied again afterwards (applying a change twice is harmless)."""
    backend = backend or get_backend()
    last = AuditEvent.objects.aggregate(m=Max("seq"))["m"] or 0
    report = backend.rebuild(_batches)
    with transaction.atomic():
        cursor = _cursor(backend, lock=True)
        cursor.last_seq = last
        cursor.failures = 0
        cursor.last_error = ""
        cursor.updated_at = timezone.now()
        cursor.save()
    report["cursor"] = last
    return report


def index_create(*, backend: Backend | None = None) -> dict[str, Any]:
    return (backend or get_backend()).create()


def index_status(*, backend: Backend | None = None) -> dict[str, Any]:
    backend = backend or get_backend()
    report = backend.status()
    cursor = OutboxCursor.objects.filter(backend=backend.name).first()
    last = AuditEvent.objects.aggregate(m=Max("seq"))["m"] or 0
    applied = cursor.last_seq if cursor else 0
    report["outbox"] = {
        "applied_through": applied,
        "pending_events": AuditEvent.objects.filter(seq__gt=applied).count() if last > applied else 0,
        "failures": cursor.failures if cursor else 0,
        "last_error": cursor.last_error if cursor else "",
    }
    return report
