"""The OCDS export: projects as release packages, streamed in constant memory.

Projects are read with ``iterator(chunk_size)``; for each chunk the applications, selections,
contracts, amendments and payments are loaded with one query each, the chunk's releases are
written and the chunk is dropped. The package is written piece by piece, so neither the command
nor the API ever holds more than one chunk.

Only what is public leaves: projects once published (never a draft or one under check), and the
applicants and their quotes only after registration has closed (``quotes_are_open``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from billing.models import LedgerEntry
from marketplace.core.errors import ValidationFailed
from marketplace.procurement.models import (
    PUBLIC_STATUSES,
    Amendment,
    Application,
    Contract,
    Project,
    Selection,
)
from marketplace.procurement.selectors import quotes_are_open

from .mapping import Bundle, build_release

CHUNK_SIZE = 500
VERSION = "1.1"
BID_EXTENSION = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json"
)
EARLIEST = date(2000, 1, 1)


@dataclass(frozen=True)
class Window:
    """Which changes to export: [since, until), both optional, aware datetimes."""

    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def parse(cls, since: str | None = None, until: str | None = None) -> Window:
        """Read "YYYY-MM-DD" (a whole day, Beijing time) or an ISO datetime; refuse bad or
        impossible ranges with a clear message per field."""
        errors: dict[str | None, list[str]] = {}
        start = _moment(since, "since", errors, end=False)
        end = _moment(until, "until", errors, end=True)
        now = timezone.now()
        if start is not None and start > now:
            errors.setdefault("since", []).append(_("起始日期晚于当前时间，没有可导出的数据。"))
        if start is not None and end is not None and start >= end:
            errors.setdefault(None, []).append(
                _("日期范围不成立：起始日期（%(since)s）须早于截止日期（%(until)s）。")
                % {"since": since, "until": until}
            )
        if errors:
            raise ValidationFailed(errors)
        return cls(start, end)


def _moment(raw: str | None, name: str, errors: dict, *, end: bool) -> datetime | None:
    if raw is None or str(raw).strip() == "":
        return None
    raw = str(raw).strip()
    moment: datetime | None = None
    day: date | None = None
    try:
        day = parse_date(raw)  # a plain date first: parse_datetime reads it as midnight
        if day is None:
            moment = parse_datetime(raw)
    except ValueError:
        pass
    if moment is None and day is None:
        errors.setdefault(name, []).append(
            _("“%(value)s”不是有效日期，请使用 YYYY-MM-DD 格式。") % {"value": raw}
        )
        return None
    if day is not None:
        if day < EARLIEST:
            errors.setdefault(name, []).append(_("日期不得早于 2000-01-01。"))
            return None
        # A date means the whole day: "until 2025-03-31" includes the 31st.
        moment = datetime.combine(day + timedelta(days=1) if end else day, time.min)
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def published_projects(window: Window | None = None) -> QuerySet[Project]:
    """Every project the public may see, changed within the window (the project itself, an
    amendment of its contract or a payment on it), in primary-key order."""
    window = window or Window()
    qs = Project.objects.filter(status__in=PUBLIC_STATUSES, published_at__isnull=False)
    if window.since is not None or window.until is not None:
        qs = qs.filter(
            _changed(window, "updated_at")
            | Q(
                Exists(
                    Amendment.objects.filter(contract__project=OuterRef("pk")).filter(
                        _changed(window, "created_at")
                    )
                )
            )
            | Q(
                Exists(
                    LedgerEntry.objects.filter(contract__project=OuterRef("pk")).filter(
                        _changed(window, "occurred_at")
                    )
                )
            )
        )
    return qs.order_by("pk")


def _changed(window: Window, field: str) -> Q:
    condition = Q()
    if window.since is not None:
        condition &= Q(**{f"{field}__gte": window.since})
    if window.until is not None:
        condition &= Q(**{f"{field}__lt": window.until})
    return condition


def _with_relations(qs: QuerySet[Project]) -> QuerySet[Project]:
    return qs.select_related("owner", "service_type", "department", "relaunch_of").only(
        "pk",
        "public_number",
        "title",
        "service_content",
        "method",
        "method_reason",
        "status",
        "price_floor",
        "price_ceiling",
        "published_at",
        "registration_deadline",
        "selection_time",
        "delivery_due",
        "updated_at",
        "department_id",
        "relaunch_of_id",
        "owner__name",
        "owner__uscc",
        "service_type__code",
        "service_type__name_zh",
        "department__code",
        "department__name_zh",
        "relaunch_of__public_number",
    )


def _bundles(projects: list[Project]) -> list[Bundle]:
    """Five queries for a whole chunk, whatever its size."""
    now_open = {p.pk for p in projects if quotes_are_open(p)}
    bundles = {p.pk: Bundle(project=p, disclosed=p.pk in now_open) for p in projects}
    if now_open:
        for app_row in (
            Application.objects.filter(project_id__in=now_open)
            .order_by("project_id", "intermediary__uscc")
            .values(
                "pk",
                "project_id",
                "state",
                "submitted_at",
                "quote_amount",
                uscc=F("intermediary__uscc"),
                name=F("intermediary__name"),
            )
        ):
            bundles[app_row["project_id"]].applications.append(app_row)
        for sel_row in (
            Selection.objects.filter(project_id__in=now_open)
            .order_by("project_id", "round")
            .values("project_id", "round", "performed_at", "winner_id", "annulled")
        ):
            bundles[sel_row["project_id"]].selections.append(sel_row)
        contracts: dict[int, int] = {}
        for contract_row in Contract.objects.filter(project_id__in=now_open).values(
            "pk",
            "project_id",
            "amount",
            "confirmed_at",
            uscc=F("intermediary__uscc"),
            name=F("intermediary__name"),
        ):
            bundles[contract_row["project_id"]].contract = contract_row
            contracts[contract_row["pk"]] = contract_row["project_id"]
        if contracts:
            for amendment_row in (
                Amendment.objects.filter(contract_id__in=contracts)
                .order_by("created_at", "pk")
                .values("pk", "contract_id", "old_amount", "new_amount", "reason", "created_at")
            ):
                bundles[contracts[amendment_row["contract_id"]]].amendments.append(amendment_row)
            for entry_row in (
                LedgerEntry.objects.filter(contract_id__in=contracts)
                .order_by("occurred_at", "pk")
                .values("pk", "contract_id", "kind", "amount", "occurred_at")
            ):
                bundles[contracts[entry_row["contract_id"]]].payments.append(entry_row)
    return [bundles[p.pk] for p in projects]


def iter_releases(
    window: Window | None = None,
    *,
    after: int | None = None,
    limit: int | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[dict]:
    """Releases of the window's projects in primary-key order, from the one after ``after``,
    at most ``limit`` of them. Memory is bounded by ``chunk_size`` projects."""
    qs = published_projects(window)
    if after is not None:
        qs = qs.filter(pk__gt=after)
    if limit is not None:
        qs = qs[:limit]
    chunk: list[Project] = []
    for project in _with_relations(qs).iterator(chunk_size=chunk_size):
        chunk.append(project)
        if len(chunk) >= chunk_size:
            yield from _releases_of(chunk)
            chunk = []
    if chunk:
        yield from _releases_of(chunk)


def _releases_of(chunk: list[Project]) -> Iterator[dict]:
    for bundle in _bundles(chunk):
        yield build_release(bundle)


# --- writing ----------------------------------------------------------------------------------------


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return float(o)
        return super().default(o)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, cls=_Encoder, separators=(",", ":"))


def package_metadata(uri: str) -> dict:
    return {
        "uri": uri,
        "version": VERSION,
        "extensions": [BID_EXTENSION],
        "publishedDate": timezone.localtime().isoformat(timespec="seconds"),
        "publisher": {"name": settings.OCDS_PUBLISHER_NAME},
    }


def package_chunks(releases: Iterable[dict], *, uri: str, links: dict | None = None) -> Iterator[str]:
    """A release package as a stream of JSON text pieces (one per release)."""
    head = _dumps(package_metadata(uri))
    yield head[:-1] + ',"releases":['
    first = True
    for release in releases:
        yield ("" if first else ",") + _dumps(release)
        first = False
    tail = "]"
    if links:
        tail += ',"links":' + _dumps(links)
    yield tail + "}\n"


def write_package(out: IO[str], releases: Iterable[dict], *, uri: str) -> int:
    """Write one package to ``out``; returns the number of releases written."""
    count = 0

    def counted() -> Iterator[dict]:
        nonlocal count
        for release in releases:
            count += 1
            yield release

    for piece in package_chunks(counted(), uri=uri):
        out.write(piece)
    return count
