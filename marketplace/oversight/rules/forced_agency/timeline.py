"""FA03's award timeline (``AwardTimeline``): the awards tied to each department's approval
items, numbered per department in time order, so that a per-change scan counts a department's
awards in a window with two index lookups instead of reading all of them.

- ``rebuild()`` (the full scan) writes it from the source tables in one ``INSERT ... SELECT``;
- ``sync(project_ids)`` (a per-change scan) brings the given projects' rows and every selection
  made since the last sync up to date. A new award later than its department's last keeps the
  numbering by taking the next number; anything else (an annulment, an award dated earlier)
  renumbers that department in one statement. The state row is locked while syncing, so two
  changes at once never take the same number;
- ``lonely_service_types()`` gives the service types where an award can have had no rivals,
  which the counts subtract (an award counts only where another listed firm offers the type).

Awards changed in place without a per-change scan of their project (an annulment while
monitoring is switched off) are counted as they were until the next full scan, like the flags.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from marketplace.providers.models import PUBLIC_STATUSES, Offer

from ...models import AwardTimeline, AwardTimelineState
from ..compiled import compiled_rows
from .common import EpochSeconds, _awards

DEPARTMENT = "project__approval_item__department_id"
COLUMNS = (
    "selection_id",
    "project_id",
    "department_id",
    "intermediary_id",
    "service_type_id",
    "performed_at",
    "at",
)
# The same columns as annotations of the source query (``_source``).
ALIASES = [f"t_{column.removesuffix('_id')}" for column in COLUMNS]


def _tuples(key: tuple, build, names, ids: list[int]) -> list[tuple]:
    """``compiled_rows`` as tuples in the order of ``names``."""
    return [tuple(row[name] for name in names) for row in compiled_rows(key, build, ids=list(ids))]


def _source() -> QuerySet:
    """The awards tied to an approval item, as timeline columns (without the numbering)."""
    return (
        _awards()
        .filter(project__approval_item__isnull=False)
        .annotate(
            t_selection=F("pk"),
            t_project=F("project_id"),
            t_department=F(DEPARTMENT),
            t_intermediary=F("winner__intermediary_id"),
            t_service_type=F("project__service_type_id"),
            t_performed_at=F("performed_at"),
            t_at=EpochSeconds("performed_at"),
        )
    )


def _state() -> AwardTimelineState:
    """The state row, locked until the transaction ends (the migration creates it)."""
    return AwardTimelineState.objects.select_for_update().get_or_create(pk=1)[0]


def _last_selection_id() -> int:
    from marketplace.procurement.models import Selection

    rows = compiled_rows(
        ("timeline", "last selection"), lambda: Selection.objects.order_by("-pk").values("pk")[:1]
    )
    return rows[0]["pk"] if rows else 0


def rebuild() -> int:
    """Write the whole timeline from the source tables; returns the number of awards."""
    table = AwardTimeline._meta.db_table
    numbered = _source().annotate(
        t_seq=Window(
            RowNumber(),
            partition_by=[F(DEPARTMENT)],
            order_by=[EpochSeconds("performed_at").asc(), F("pk").asc()],
        )
    )
    names = [*ALIASES, "t_seq"]
    sql, params = numbered.values(*names).order_by().query.sql_with_params()
    columns = ", ".join(COLUMNS + ("seq",))
    chosen = ", ".join(f"src.{name}" for name in names)
    with transaction.atomic():
        state = _state()
        last = _last_selection_id()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {table}")
            else:
                AwardTimeline.objects.all().delete()
            cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {chosen} FROM ({sql}) src", params)  # noqa: S608 (names are constants)
            count = cursor.rowcount
        state.built_at = timezone.now()
        state.last_selection_id = last
        state.save(update_fields=["built_at", "last_selection_id"])
    return count


def sync(project_ids: Iterable[int]) -> None:
    """Bring the timeline up to date for ``project_ids`` and every selection made since the last
    sync (builds it first if it never was). Runs inside the caller's transaction."""
    from marketplace.procurement.models import Selection

    with transaction.atomic():
        state = _state()
        if state.built_at is None:
            rebuild()
            return
        wanted = set(project_ids)
        last = _last_selection_id()
        if last > state.last_selection_id:
            wanted.update(
                Selection.objects.filter(pk__gt=state.last_selection_id, pk__lte=last).values_list(
                    "project_id", flat=True
                )
            )
            state.last_selection_id = last
            state.save(update_fields=["last_selection_id"])
        if wanted:
            _sync_projects(sorted(wanted))


def _sync_projects(project_ids: list[int]) -> None:
    desired = {
        row[0]: row
        for row in _tuples(
            ("timeline", "desired"),
            lambda ids: _source().filter(project_id__any=ids).values(*ALIASES).order_by(),
            ALIASES,
            project_ids,
        )
    }
    stored = {
        row[0]: row
        for row in _tuples(
            ("timeline", "stored"),
            lambda ids: AwardTimeline.objects.filter(project_id__any=ids).values(*COLUMNS).order_by(),
            COLUMNS,
            project_ids,
        )
    }
    gone = [pk for pk, row in stored.items() if desired.get(pk) != row]
    added = sorted((row for pk, row in desired.items() if stored.get(pk) != row), key=lambda r: (r[6], r[0]))
    if not gone and not added:
        return
    renumber = {stored[pk][2] for pk in gone}
    if gone:
        AwardTimeline.objects.filter(pk__in=gone).delete()
    by_department: dict[int, list[tuple]] = defaultdict(list)
    for row in added:
        by_department[row[2]].append(row)
    new: list[AwardTimeline] = []
    for department_id, rows in by_department.items():
        last = (
            AwardTimeline.objects.filter(department_id=department_id)
            .order_by("-at", "-selection_id")
            .values_list("at", "selection_id", "seq")
            .first()
        )
        appended = last is None or (rows[0][6], rows[0][0]) > (last[0], last[1])
        if not appended:
            renumber.add(department_id)
        start = last[2] if last and appended else 0
        new += [
            AwardTimeline(**dict(zip(COLUMNS, row, strict=True)), seq=start + i)
            for i, row in enumerate(rows, start=1)
        ]
    AwardTimeline.objects.bulk_create(new)
    for department_id in sorted(renumber):
        _renumber(department_id)


def _renumber(department_id: int) -> None:
    """Number one department's awards 1, 2, ... in time order again, in one statement."""
    table = AwardTimeline._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET seq = r.n FROM (SELECT selection_id AS sid, ROW_NUMBER() OVER "  # noqa: S608 (the table name is a constant)
            f"(ORDER BY at, selection_id) AS n FROM {table} WHERE department_id = %s) r "
            f"WHERE {table}.selection_id = r.sid",
            [department_id],
        )


def lonely_service_types() -> dict[int, int | None]:
    """Service types with at most one listed firm offering them, with that firm (None for none).
    An award of such a type had no rivals when its winner is that firm or nobody offers the type;
    every other award had rivals. Two short index scans per service type: a firm, and another."""
    from marketplace.catalog.models import ServiceType

    offers = Offer.objects.filter(is_active=True, intermediary__status__in=PUBLIC_STATUSES).order_by()
    # Any one firm (no ordering, so the scan stops at the first): with two firms or more, which
    # one comes first does not matter, and with one it is that one.
    first = (
        offers.filter(service_type_id=OuterRef("pk"))
        .order_by("intermediary_id")
        .values("intermediary_id")[:1]
    )
    # A scalar subquery, not EXISTS: PostgreSQL turns a NOT EXISTS into an anti-join reading
    # every offer, where this probes the index per service type.
    other = (
        offers.filter(service_type_id=OuterRef("pk"))
        .exclude(intermediary_id=OuterRef("first"))
        .values("intermediary_id")[:1]
    )
    rows = compiled_rows(
        ("timeline", "lonely service types"),
        lambda: (
            ServiceType.objects.order_by()
            .annotate(first=Subquery(first))
            .annotate(other=Subquery(other))
            .filter(other__isnull=True)
            .values("pk", "first")
        ),
    )
    return {row["pk"]: row["first"] for row in rows}


def without_rivals(lonely: dict[int, int | None], prefix: str = "") -> Q | None:
    """The timeline rows (``prefix`` for a related path) whose award had no rivals, or None
    when every service type has two firms or more."""
    if not lonely:
        return None
    nobody = [st for st, firm in lonely.items() if firm is None]
    condition = Q(**{f"{prefix}service_type_id__in": nobody}) if nobody else Q(pk__in=[])
    for st, firm in lonely.items():
        if firm is not None:
            condition |= Q(**{f"{prefix}service_type_id": st, f"{prefix}intermediary_id": firm})
    return condition
