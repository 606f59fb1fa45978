"""Reads for the regulator dashboards: one aggregate query per table, grouped in the database.

Every table takes the same ``Filters``: the period is the day registration closed (the round's
date, indexed), plus department and service type (both indexed with the project's status).
Flags are filtered by the day first seen, their department and their project's service type.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from marketplace.catalog.models import PriceBand
from marketplace.core.i18n import use_english
from marketplace.procurement.models import Application, Contract, Project, Selection, Status

from ..models import Flag
from ..rules.base import REGISTRY, all_rules

S = Status
# Rounds whose registration has closed (the applicants are known and judged).
CLOSED_ROUND = [
    S.REGISTRATION_CLOSED,
    S.SELECTING,
    S.SELECTED,
    S.OBJECTION_PENDING,
    S.CONTRACTING,
    S.IN_SERVICE,
    S.DELIVERED,
    S.ACCEPTED,
    S.RATED,
    S.CLOSED,
    S.FAILED,
    S.RELAUNCHED,
]
FAILED = [S.FAILED, S.RELAUNCHED]
OVERDUE_ROWS_ON_PAGE = 50
PERCENT = Decimal("0.1")


@dataclass(frozen=True)
class Filters:
    date_from: date | None = None
    date_to: date | None = None
    department_id: int | None = None
    service_type_id: int | None = None

    def _bounds(self) -> tuple[datetime | None, datetime | None]:
        start = timezone.make_aware(datetime.combine(self.date_from, time.min)) if self.date_from else None
        end = (
            timezone.make_aware(datetime.combine(self.date_to + timedelta(days=1), time.min))
            if self.date_to
            else None
        )
        return start, end

    def projects(self, prefix: str = "") -> Q:
        """The condition on projects (``prefix`` points at a project from another model)."""
        start, end = self._bounds()
        q = Q()
        if start is not None:
            q &= Q(**{f"{prefix}registration_deadline__gte": start})
        if end is not None:
            q &= Q(**{f"{prefix}registration_deadline__lt": end})
        if self.department_id is not None:
            q &= Q(**{f"{prefix}department_id": self.department_id})
        if self.service_type_id is not None:
            q &= Q(**{f"{prefix}service_type_id": self.service_type_id})
        return q


def _name(row: Mapping[str, Any], prefix: str) -> str:
    english = use_english() and row.get(f"{prefix}name_en")
    return english or row.get(f"{prefix}name_zh") or "—"


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / whole).quantize(PERCENT, rounding=ROUND_HALF_UP)


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _active_award(ref: str = "pk") -> QuerySet:
    return Selection.objects.filter(project=OuterRef(ref), annulled=False, winner__isnull=False)


# --- winner shares and HHI ----------------------------------------------------------------------


def concentration(f: Filters) -> list[dict]:
    """Per department and service type: awarded rounds, distinct winners, the top winner and its
    share, and the Herfindahl-Hirschman index of the winners' shares (0-10,000)."""
    wins = (
        Selection.objects.filter(annulled=False, winner__isnull=False)
        .filter(f.projects("project__"))
        .values(
            "project__department_id",
            "project__department__name_zh",
            "project__department__name_en",
            "project__service_type_id",
            "project__service_type__name_zh",
            "project__service_type__name_en",
            "winner__intermediary_id",
            "winner__intermediary__name",
        )
        .annotate(wins=Count("project_id", distinct=True))
        .order_by()
    )
    groups: dict[tuple, dict] = {}
    for row in wins:
        key = (row["project__department_id"], row["project__service_type_id"])
        group = groups.setdefault(
            key,
            {
                "department": _name(row, "project__department__"),
                "service_type": _name(row, "project__service_type__"),
                "firms": [],
            },
        )
        group["firms"].append((row["wins"], row["winner__intermediary__name"]))
    rows = []
    for group in groups.values():
        total = sum(w for w, _ in group["firms"])
        top_wins, top_name = max(group["firms"], key=lambda item: (item[0], item[1]))
        hhi = sum((Decimal(w) * 100 / total) ** 2 for w, _ in group["firms"])
        rows.append(
            {
                "department": group["department"],
                "service_type": group["service_type"],
                "awarded": total,
                "winners": len(group["firms"]),
                "top_winner": top_name,
                "top_share": _percent(top_wins, total),
                "hhi": int(hhi.quantize(Decimal("1"), rounding=ROUND_HALF_UP)),
            }
        )
    # The largest markets first: a high HHI over one or two rounds says little.
    rows.sort(key=lambda r: (-r["awarded"], -r["hhi"], r["department"], r["service_type"]))
    return rows


# --- quotes and contract amounts against bands and peers ----------------------------------------


def _band(scale_ref: str, service_type_ref: str) -> QuerySet:
    scale = OuterRef(scale_ref)
    return (
        PriceBand.objects.filter(service_type_id=OuterRef(service_type_ref), scale_from__lte=scale)
        .filter(Q(scale_to__isnull=True) | Q(scale_to__gt=scale))
        .order_by("-scale_from")
    )


def prices(f: Filters) -> list[dict]:
    """Per service type: the quotes (count, lowest, mean, highest; how many fall below or above
    the government band for the project's scale) and the contracts (count, mean amount, how
    many exceed the band or the winning quote)."""
    money = DecimalField(max_digits=14, decimal_places=2)
    band = _band("project__scale", "project__service_type_id")
    quotes = (
        Application.objects.filter(state__in=["valid", "disqualified"], quote_amount__isnull=False)
        .filter(f.projects("project__"))
        .annotate(
            band_min=Subquery(band.values("fee_min")[:1], output_field=money),
            band_max=Subquery(band.values("fee_max")[:1], output_field=money),
        )
        .values(
            "project__service_type_id", "project__service_type__name_zh", "project__service_type__name_en"
        )
        .annotate(
            quotes=Count("pk"),
            lowest=Min("quote_amount"),
            mean=Avg("quote_amount"),
            highest=Max("quote_amount"),
            banded=Count("pk", filter=Q(band_min__isnull=False)),
            below=Count("pk", filter=Q(quote_amount__lt=F("band_min"))),
            above=Count("pk", filter=Q(quote_amount__gt=F("band_max"))),
        )
        .order_by()
    )
    contract_band = _band("project__scale", "project__service_type_id")
    winning = _active_award("project_id").order_by("-round").values("winner__quote_amount")[:1]
    contracts = (
        Contract.objects.filter(f.projects("project__"))
        .annotate(
            band_max=Subquery(contract_band.values("fee_max")[:1], output_field=money),
            winning_quote=Subquery(winning, output_field=money),
        )
        .values("project__service_type_id")
        .annotate(
            contracts=Count("pk"),
            contract_mean=Avg("amount"),
            contract_above_band=Count("pk", filter=Q(amount__gt=F("band_max"))),
            contract_above_quote=Count("pk", filter=Q(amount__gt=F("winning_quote"))),
        )
        .order_by()
    )
    by_type: dict[int, Mapping[str, Any]] = {row["project__service_type_id"]: row for row in contracts}
    rows = []
    for row in quotes:
        c: Mapping[str, Any] = by_type.get(row["project__service_type_id"], {})
        rows.append(
            {
                "service_type": _name(row, "project__service_type__"),
                "quotes": row["quotes"],
                "lowest": _money(row["lowest"]),
                "mean": _money(row["mean"]),
                "highest": _money(row["highest"]),
                "banded": row["banded"],
                "below_band": row["below"],
                "above_band": row["above"],
                "outside_share": _percent(row["below"] + row["above"], row["banded"]),
                "contracts": c.get("contracts", 0),
                "contract_mean": _money(c.get("contract_mean")),
                "contract_above_band": c.get("contract_above_band", 0),
                "contract_above_quote": c.get("contract_above_quote", 0),
            }
        )
    rows.sort(key=lambda r: (-(r["outside_share"] or 0), r["service_type"]))
    return rows


# --- fill rate and failed rounds ----------------------------------------------------------------


def fill_rate(f: Filters) -> list[dict]:
    """Per service type: rounds closed, awarded and failed, the fill rate (awarded / closed) and
    the mean number of valid applicants per round."""
    valid = (
        Application.objects.filter(project=OuterRef("pk"), state="valid")
        .order_by()
        .values("project")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rounds = (
        Project.objects.filter(status__in=CLOSED_ROUND)
        .filter(f.projects())
        .annotate(
            awarded=Exists(_active_award()),
            valid_n=Coalesce(Subquery(valid, output_field=IntegerField()), Value(0)),
        )
        .values("service_type_id", "service_type__name_zh", "service_type__name_en")
        .annotate(
            closed=Count("pk"),
            won=Count("pk", filter=Q(awarded=True)),
            failed=Count("pk", filter=Q(status__in=FAILED)),
            mean_valid=Avg("valid_n"),
        )
        .order_by()
    )
    rows = [
        {
            "service_type": _name(row, "service_type__"),
            "closed": row["closed"],
            "awarded": row["won"],
            "failed": row["failed"],
            "fill_rate": _percent(row["won"], row["closed"]),
            "failed_share": _percent(row["failed"], row["closed"]),
            "mean_valid": Decimal(row["mean_valid"] or 0).quantize(PERCENT, rounding=ROUND_HALF_UP),
        }
        for row in rounds
    ]
    rows.sort(key=lambda r: (r["fill_rate"] if r["fill_rate"] is not None else 101, r["service_type"]))
    return rows


# --- overdue contracts, deliveries and acceptances ----------------------------------------------

OVERDUE_KINDS = ("contract", "delivery", "acceptance")


def _overdue_querysets(f: Filters, today: date) -> dict[str, QuerySet]:
    confirmed = Contract.objects.filter(project=OuterRef("pk"), confirmed_at__isnull=False)
    base = Project.objects.filter(f.projects())
    return {
        "contract": base.filter(
            status__in=[S.SELECTED, S.OBJECTION_PENDING, S.CONTRACTING], contract_due__lt=today
        )
        .exclude(Exists(confirmed))
        .annotate(due=F("contract_due")),
        "delivery": base.filter(status=S.IN_SERVICE, delivery_due__lt=today).annotate(due=F("delivery_due")),
        "acceptance": base.filter(status=S.DELIVERED, acceptance_due__lt=today).annotate(
            due=F("acceptance_due")
        ),
    }


def overdue_summary(f: Filters) -> list[dict]:
    """Per department: how many contracts, deliveries and acceptances are overdue today."""
    today = timezone.localdate()
    counts: dict[Any, dict] = {}
    for kind, qs in _overdue_querysets(f, today).items():
        for row in (
            qs.values("department_id", "department__name_zh", "department__name_en")
            .annotate(n=Count("pk"))
            .order_by()
        ):
            entry = counts.setdefault(
                row["department_id"],
                {"department": _name(row, "department__"), **{k: 0 for k in OVERDUE_KINDS}},
            )
            entry[kind] = row["n"]
    rows = list(counts.values())
    for row in rows:
        row["total"] = sum(row[k] for k in OVERDUE_KINDS)
    rows.sort(key=lambda r: (-r["total"], r["department"]))
    return rows


def overdue_rows(f: Filters, limit: int | None = None) -> Iterator[dict]:
    """The overdue projects, longest overdue first (the export streams them all)."""
    today = timezone.localdate()
    labels = overdue_labels()
    querysets = _overdue_querysets(f, today)
    combined = None
    for kind, qs in querysets.items():
        part = (
            qs.annotate(kind=Value(kind))
            .values("pk", "public_number", "title", "owner__name", "department__name_zh", "due", "kind")
            .order_by()
        )
        combined = part if combined is None else combined.union(part, all=True)
    assert combined is not None  # noqa: S101 - three querysets above
    combined = combined.order_by("due", "public_number")
    if limit is not None:
        combined = combined[:limit]
    for row in combined.iterator(chunk_size=1000) if limit is None else combined:
        yield {
            "public_number": row["public_number"],
            "title": row["title"],
            "owner": row["owner__name"],
            "department": row["department__name_zh"] or "—",
            "kind": labels[row["kind"]],
            "due": row["due"],
            "days_overdue": (today - row["due"]).days,
        }


def overdue_labels() -> dict[str, str]:
    from django.utils.translation import gettext as _

    return {"contract": _("合同逾期未签订"), "delivery": _("服务逾期未交付"), "acceptance": _("验收逾期")}


# --- flags by rule and status -------------------------------------------------------------------


def flags_by_rule(f: Filters) -> list[dict]:
    """Per rule: flags by status and the share confirmed among those decided (confirmed or
    dismissed), so a rule's thresholds can be tuned on evidence."""
    start, end = f._bounds()
    qs = Flag.objects.all()
    if start is not None:
        qs = qs.filter(first_seen__gte=start)
    if end is not None:
        qs = qs.filter(first_seen__lt=end)
    if f.department_id is not None:
        qs = qs.filter(department_id=f.department_id)
    if f.service_type_id is not None:
        qs = qs.filter(project__service_type_id=f.service_type_id)
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for row in qs.values("rule", "status").annotate(n=Count("pk")).order_by():
        counts[row["rule"]][row["status"]] = row["n"]
    all_rules()
    english = use_english()
    rows = []
    for code in sorted(counts):
        by_status = counts[code]
        rule = REGISTRY.get(code)
        confirmed = by_status.get(Flag.Status.CONFIRMED, 0)
        dismissed = by_status.get(Flag.Status.DISMISSED, 0)
        rows.append(
            {
                "rule": code,
                "title": (rule.title_en if english else rule.title_zh) if rule else code,
                "ocp": ", ".join(getattr(rule, "ocp", ()) or ()) if rule else "",
                "open": by_status.get(Flag.Status.OPEN, 0),
                "confirmed": confirmed,
                "dismissed": dismissed,
                "resolved": by_status.get(Flag.Status.RESOLVED, 0),
                "total": sum(by_status.values()),
                "confirmed_share": _percent(confirmed, confirmed + dismissed),
            }
        )
    return rows
