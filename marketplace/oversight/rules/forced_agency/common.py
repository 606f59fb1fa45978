"""Shared pieces of the forced-agency rules (FA01-FA09): scoping (``_scoped``), awards
and rivals (``_awards``, ``_had_rivals``) and the sliding-window counts (``_trailing_count``,
``_repeated_picks``). The conventions they follow are in the package docstring.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    F,
    Func,
    OuterRef,
    QuerySet,
    ValueRange,
    Window,
)
from django.utils import timezone

from marketplace.procurement.models import (
    Method,
    Selection,
    Status,
)
from marketplace.providers.models import PUBLIC_STATUSES, Offer

from ..base import Match, Scope
from ..compiled import compiled_rows

DISCRETIONARY = (Method.CREDIT_PREFERENCE, Method.SCORED_COMPARISON)
# Posted requirements the operator has not sent back: what firms and regulators see.
POSTED_STATUSES = [s for s in Status.values if s not in (Status.DRAFT, Status.RETURNED)]
EXCERPT = 140


# --- shared helpers ---------------------------------------------------------------------------


def _en(language: str) -> bool:
    return (language or "").startswith("en")


def _scoped(scope: Scope, matches: list[Match]) -> list[Match]:
    return [m for m in matches if scope.holds(m.project_id, m.intermediary_id)]


def _awards() -> QuerySet:
    return Selection.objects.filter(annulled=False, winner__isnull=False)


def _had_rivals() -> Exists:
    """Another listed firm offers the awarded project's service type (on a ``Selection`` row)."""
    return Exists(
        Offer.objects.filter(
            service_type_id=OuterRef("project__service_type_id"),
            is_active=True,
            intermediary__status__in=PUBLIC_STATUSES,
        ).exclude(intermediary_id=OuterRef("winner__intermediary_id"))
    )


class EpochSeconds(Func):
    """A timestamp as whole seconds since 1970, so that a window frame can be a number of
    seconds (``RANGE n PRECEDING`` needs a numeric ordering on both databases)."""

    template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) AS BIGINT)"
    output_field = BigIntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="CAST(ROUND((julianday(%(expressions)s) - 2440587.5) * 86400) AS INTEGER)",
            **extra_context,
        )


class TrailingRange(ValueRange):
    """``RANGE BETWEEN n PRECEDING AND CURRENT ROW``. PostgreSQL has supported an offset in a
    RANGE frame since version 11, but Django's backend still refuses it, so the frame renders
    itself; SQLite (3.28+) supports it too."""

    def __init__(self, preceding: int):
        super().__init__(start=-preceding, end=0)

    def window_frame_start_end(self, connection, start, end):
        return f"{int(abs(start))} PRECEDING", "CURRENT ROW"


def _trailing_count(days: int, *partition: str) -> Window:
    """For each row, the rows of its ``partition`` in the ``days`` ending at its
    ``performed_at`` (later rows excluded, the window's first instant excluded)."""
    return Window(
        Count("pk"),
        partition_by=[F(name) for name in partition],
        order_by=EpochSeconds("performed_at").asc(),
        frame=TrailingRange(days * 86400 - 1),
    )


def _day(value) -> str:
    return timezone.localdate(value).isoformat()


def _repeated_picks(
    scope: Scope, methods: tuple[str, ...], count: int, days: int, *, rivals_only: bool
) -> list[dict[str, Any]]:
    """Owner-firm pairs with at least ``count`` awards by ``methods`` in some ``days`` window.

    Query 1 counts, with a window function over the whole market, each pair's awards in the
    window ending at each of its awards; query 2 reads the awards of the flagged owners to list
    the densest window's projects and the owner's picks of every firm in it."""

    def all_picks() -> QuerySet:
        picks = _awards().filter(method__in=methods)
        return picks.filter(_had_rivals()) if rivals_only else picks

    def windows(counted: QuerySet) -> QuerySet:
        return (
            counted.annotate(n=_trailing_count(days, "project__owner_id", "winner__intermediary_id"))
            .filter(n__gte=count)
            .order_by()
            .values("project__owner_id", "winner__intermediary_id", "performed_at", "n")
        )

    if scope.full:
        found = list(windows(all_picks()))
    else:
        # The window is per owner and firm, so leaving other firms out changes no count.
        found = compiled_rows(
            ("repeated picks", tuple(methods), count, days, rivals_only),
            lambda firms: windows(all_picks().filter(winner__intermediary_id__any=firms)),
            firms=scope.intermediary_ids or [],
        )
    ends = [(r["project__owner_id"], r["winner__intermediary_id"], r["performed_at"], r["n"]) for r in found]
    # The densest window of each pair (in scope); among equals, the latest.
    best: dict[tuple[int, int], tuple[int, Any]] = {}
    for owner_id, firm_id, end, n in ends:
        if not scope.full and firm_id not in (scope.intermediary_ids or ()):
            continue
        current = best.get((owner_id, firm_id))
        if current is None or (n, end) > current:
            best[(owner_id, firm_id)] = (n, end)
    if not best:
        return []
    rows = (
        all_picks()
        .filter(project__owner_id__in={owner for owner, _ in best})
        .order_by("performed_at", "pk")
        .values_list(
            "project__owner_id",
            "project__owner__name",
            "winner__intermediary_id",
            "winner__intermediary__name",
            "winner__intermediary__uscc",
            "performed_at",
            "project__public_number",
        )
    )
    windows: dict[int, list[tuple[int, Any]]] = defaultdict(list)
    for (owner_id, firm_id), (_n, end) in best.items():
        windows[owner_id].append((firm_id, end))
    found: dict[tuple[int, int], dict[str, Any]] = {}
    totals: dict[tuple[int, int], int] = defaultdict(int)
    span = timedelta(days=days)
    for owner_id, owner, firm_id, firm, uscc, at, number in rows:
        for window_firm, end in windows[owner_id]:
            if not end - span < at <= end:
                continue
            totals[(owner_id, window_firm)] += 1
            if window_firm != firm_id:
                continue
            item = found.setdefault(
                (owner_id, firm_id),
                {
                    "owner_id": owner_id,
                    "intermediary_id": firm_id,
                    "owner": owner,
                    "intermediary": firm,
                    "uscc": uscc,
                    "projects": [],
                    "from": _day(at),
                },
            )
            item["projects"].append(number)
            item["to"] = _day(at)
    for pair, item in found.items():
        item["count"] = len(item["projects"])
        item["owner_total"] = totals[pair]
    return list(found.values())


def _pair_match(item: dict[str, Any], days: int) -> Match:
    return Match(
        subject_type="owner",
        subject_id=item["owner_id"],
        owner_id=item["owner_id"],
        intermediary_id=item["intermediary_id"],
        evidence={
            "owner": item["owner"],
            "intermediary": item["intermediary"],
            "uscc": item["uscc"],
            "count": item["count"],
            "owner_total": item["owner_total"],
            "days": days,
            "from": item["from"],
            "to": item["to"],
            "projects": item["projects"],
        },
        key={"owner": item["owner_id"], "intermediary": item["intermediary_id"]},
    )
