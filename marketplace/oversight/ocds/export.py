"""The OCDS export: projects as release packages, streamed in constant memory.

Projects are read in keyset-paged batches of ``CHUNK_SIZE`` (``pk > last``, never an offset);
for each batch the applications, selections, contracts, amendments and payments are loaded with
one query each, as tuples (no model instances), the batch's releases are written and the batch is
dropped. The package is written piece by piece, so neither the command nor the API ever holds
more than one batch.

Only what is public leaves: projects once published (never a draft or one under check), and the
applicants and their quotes only after registration has closed (``quotes_are_open``, asked of
the database as ``quotes_open_q``).
"""

from __future__ import annotations

import codecs
import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import IO, Any

import orjson
from django.conf import settings
from django.db import NotSupportedError
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
)
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
from marketplace.procurement.selectors import quotes_open_q

from .mapping import (
    AMENDMENT_COLUMNS,
    APPLICATION_COLUMNS,
    CONTRACT_COLUMNS,
    PAYMENT_COLUMNS,
    PROJECT_COLUMNS,
    SELECTION_COLUMNS,
    Bundle,
    build_release,
)

# Projects per batch. A batch costs six queries whatever its size, and each query a fixed part
# (planning, a round trip, a wait for the CPU on a busy machine): 2,000 spreads that thin while a
# batch stays a few megabytes (about 10 MB more peak RSS than 500; measured in docs/opendata.md).
CHUNK_SIZE = 2000
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


class EpochSeconds(Func):
    """A timestamp as whole seconds since 1970, floored (what a release shows is to the second).

    The export reads its times this way: an integer loads many times faster than a timestamp
    (Django's timestamptz loader for psycopg parses each value's text in Python), and
    ``mapping.stamp`` formats it in the current time zone."""

    arity = 1
    output_field = BigIntegerField()

    def get_db_converters(self, connection):
        # Both databases return an integer already: no Python call per value and row.
        return []

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError("EpochSeconds is written for PostgreSQL and SQLite only.")

    def as_postgresql(self, compiler, connection, **extra_context):
        # DATE_PART is double arithmetic, several times cheaper than EXTRACT's numeric; a
        # double holds these seconds to a quarter of a microsecond, so the floor is exact.
        template = "FLOOR(DATE_PART('epoch', %(expressions)s))::bigint"
        return super().as_sql(compiler, connection, template=template, **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        # SQLite keeps UTC text; unixepoch() (3.38+) drops the fraction.
        return super().as_sql(compiler, connection, template="unixepoch(%(expressions)s)", **extra_context)


# The project's times, as ``EpochSeconds``.
PROJECT_TIMES = {
    "published_epoch": EpochSeconds("published_at"),
    "deadline_epoch": EpochSeconds("registration_deadline"),
    "selection_epoch": EpochSeconds("selection_time"),
    "updated_epoch": EpochSeconds("updated_at"),
}
# The firm of an application or a contract, read through the join as ``uscc`` and ``name``.
FIRM = {"uscc": F("intermediary__uscc"), "name": F("intermediary__name")}


def _among(field: str, ids: list[int]) -> Q:
    """``field`` is one of ``ids`` (ascending). A run of mostly consecutive ids, as in a full
    export, is asked for as a range: one indexed range instead of hundreds of parameters to
    build, quote and parse. The range may bring rows of other projects or contracts; the caller
    drops them."""
    if ids[-1] - ids[0] < 2 * len(ids):
        return Q(**{f"{field}__gte": ids[0], f"{field}__lte": ids[-1]})
    return Q(**{f"{field}__in": ids})


def _bundles(projects: list[Any]) -> list[Bundle]:
    """Five queries for a whole batch, whatever its size (none when no project in it discloses
    its applicants). Relations come as plain tuples in ``mapping``'s column orders, each led by
    the project's or the contract's id that files it in its bundle."""
    bundles = [Bundle(p, p.disclosed) for p in projects]
    disclosed = {b.project.pk: b for b in bundles if b.disclosed}
    if not disclosed:
        return bundles
    ids = sorted(disclosed)
    applications = (
        Application.objects.filter(_among("project_id", ids))
        .annotate(submitted_epoch=EpochSeconds("submitted_at"), **FIRM)
        .order_by()
        .values_list(*APPLICATION_COLUMNS)
    )
    for row in applications:
        if (bundle := disclosed.get(row[0])) is not None:
            bundle.applications.append(row)
    # Each project's applications by the firm's USCC, sorted here: the database would sort the
    # whole batch by a collated string, which cost more than anything else it does for a batch.
    # USCCs are digits and capital letters, which every collation orders as Python does.
    by_uscc = itemgetter(APPLICATION_COLUMNS.index("uscc"))
    for bundle in disclosed.values():
        bundle.applications.sort(key=by_uscc)
    selections = (
        Selection.objects.filter(_among("project_id", ids))
        .annotate(performed_epoch=EpochSeconds("performed_at"))
        .order_by("project_id", "round")
        .values_list(*SELECTION_COLUMNS)
    )
    for row in selections:
        if (bundle := disclosed.get(row[0])) is not None:
            bundle.selections.append(row)
    contracts = (
        Contract.objects.filter(_among("project_id", ids))
        .annotate(confirmed_epoch=EpochSeconds("confirmed_at"), **FIRM)
        .values_list(*CONTRACT_COLUMNS)
    )
    by_contract: dict[int, Bundle] = {}
    for row in contracts:
        if (bundle := disclosed.get(row[0])) is not None:
            bundle.contract = row
            by_contract[row[1]] = bundle
    if by_contract:
        # By contract id, on its own index: joined through the contract, the planner
        # hash-joins the whole ledger, once per batch.
        contract_ids = sorted(by_contract)
        amendments = (
            Amendment.objects.filter(_among("contract_id", contract_ids))
            .annotate(created_epoch=EpochSeconds("created_at"))
            .order_by("created_at", "pk")
            .values_list(*AMENDMENT_COLUMNS)
        )
        for row in amendments:
            if (bundle := by_contract.get(row[0])) is not None:
                bundle.amendments.append(row)
        payments = (
            LedgerEntry.objects.filter(_among("contract_id", contract_ids))
            .annotate(occurred_epoch=EpochSeconds("occurred_at"))
            .order_by("occurred_at", "pk")
            .values_list(*PAYMENT_COLUMNS)
        )
        for row in payments:
            if (bundle := by_contract.get(row[0])) is not None:
                bundle.payments.append(row)
    return bundles


def iter_releases(
    window: Window | None = None,
    *,
    after: int | None = None,
    limit: int | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[dict]:
    """Releases of the window's projects in primary-key order, from the one after ``after``,
    at most ``limit`` of them. Memory is bounded by ``chunk_size`` projects.

    Keyset paging: each batch is ``pk > last ORDER BY pk LIMIT chunk_size`` (an index range,
    the same cost wherever it falls), then five queries for the batch's relations, so a batch
    costs six queries whatever the market's size."""
    projects = published_projects(window).annotate(**PROJECT_TIMES)
    last = after
    remaining = limit
    while remaining is None or remaining > 0:
        size = chunk_size if remaining is None else min(chunk_size, remaining)
        page = projects if last is None else projects.filter(pk__gt=last)
        disclosed = ExpressionWrapper(quotes_open_q(timezone.now()), output_field=BooleanField())
        batch = list(page.annotate(disclosed=disclosed).values_list(*PROJECT_COLUMNS, named=True)[:size])
        if not batch:
            return
        tz = timezone.get_current_timezone()
        for bundle in _bundles(batch):
            yield build_release(bundle, tz)
        if len(batch) < size:
            return
        last = batch[-1].pk
        if remaining is not None:
            remaining -= len(batch)


# --- writing ----------------------------------------------------------------------------------------

# Releases are written in pieces of this many: fewer, larger writes to the file or the response.
WRITE_BATCH = 100


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):  # the mapping writes floats; any other Decimal as before
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, keys in insertion order: the text ``json.dumps(value,
    ensure_ascii=False, separators=(",", ":"))`` gives, about ten times faster."""
    return orjson.dumps(value, default=_json_default)


def package_metadata(uri: str) -> dict:
    return {
        "uri": uri,
        "version": VERSION,
        "extensions": [BID_EXTENSION],
        "publishedDate": timezone.localtime().isoformat(timespec="seconds"),
        "publisher": {"name": settings.OCDS_PUBLISHER_NAME},
    }


def package_chunks(releases: Iterable[dict], *, uri: str, links: dict | None = None) -> Iterator[bytes]:
    """A release package as a stream of UTF-8 JSON pieces (``WRITE_BATCH`` releases each)."""
    head = _dumps(package_metadata(uri))
    pieces = [head[:-1] + b',"releases":[']
    separator = b""
    for release in releases:
        pieces.append(separator)
        pieces.append(_dumps(release))
        separator = b","
        if len(pieces) >= 2 * WRITE_BATCH:
            yield b"".join(pieces)
            pieces = []
    tail = b"]"
    if links:
        tail += b',"links":' + _dumps(links)
    pieces.append(tail + b"}\n")
    yield b"".join(pieces)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector, then put it back as it was.

    A whole export allocates millions of small dicts and lists, none of them in a cycle:
    reference counting frees each as soon as its release is written. The collector finds
    nothing among them, yet it runs every 700 allocations. As a batch's rows age, it also walks
    the whole heap (all of Django) every few batches. That cost a quarter of the export's CPU
    time (docs/opendata.md)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def write_package(out: IO[str], releases: Iterable[dict], *, uri: str) -> int:
    """Write one package to ``out`` (a text file or stream); returns the number of releases
    written. A UTF-8 text file is written through its binary buffer, without decoding.

    The collector is paused only here, where the whole package is written in one call (the
    command, the benchmark). The API streams a page through ``package_chunks``: it leaves the
    collector alone, since a generator may be suspended for as long as the client takes."""
    count = 0

    def counted() -> Iterator[dict]:
        nonlocal count
        for release in releases:
            count += 1
            yield release

    binary = getattr(out, "buffer", None)
    with _collector_paused():
        if binary is not None and codecs.lookup(getattr(out, "encoding", None) or "ascii").name == "utf-8":
            out.flush()
            for piece in package_chunks(counted(), uri=uri):
                binary.write(piece)
            binary.flush()
        else:
            for piece in package_chunks(counted(), uri=uri):
                out.write(piece.decode("utf-8"))
    return count
