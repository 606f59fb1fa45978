"""Market statistics shared by the outlier rules (FE07, FE08, CO04, CO08, CO09).

Quartiles are the R-8 (median-unbiased) estimator of Hyndman and Fan, the one the Open
Contracting Partnership's Cardinal uses (statrs ``quantile``), computed exactly with fractions
so SQLite and PostgreSQL give the same answer; fences are Tukey's Q1 - k·IQR and Q3 + k·IQR.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.db import transaction
from django.utils import timezone

from marketplace.core.audit import canonical

from .compiled import compiled_rows


def quantile_r8(values: list, tau: Fraction) -> Fraction:
    """The R-8 sample quantile of sorted ``values`` (Decimals, ints or Fractions; only the two
    values the quantile falls between are turned into fractions)."""
    n = len(values)
    if not n:
        raise ValueError("no values")
    h = (n + Fraction(1, 3)) * tau + Fraction(1, 3)
    whole = math.floor(h)
    if whole <= 0 or tau == 0:
        return Fraction(values[0])
    if whole >= n or tau == 1:
        return Fraction(values[-1])
    low, high = Fraction(values[whole - 1]), Fraction(values[whole])
    return low + (h - whole) * (high - low)


def to_decimal(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


def quantile(values: Iterable[Decimal | int], tau: Decimal | str) -> Decimal:
    """The ``tau`` quantile of unsorted ``values``, as a Decimal."""
    return to_decimal(quantile_r8(sorted(values), Fraction(str(tau))))


@dataclass(frozen=True)
class Fences:
    """Q1, Q3 and Tukey's fences Q1 - k·IQR and Q3 + k·IQR."""

    q1: Decimal
    q3: Decimal
    lower: Decimal
    upper: Decimal

    @classmethod
    def of(cls, values: Iterable[Decimal | int], multiplier: Decimal) -> Fences:
        ordered = sorted(values)
        q1, q3 = quantile_r8(ordered, Fraction(1, 4)), quantile_r8(ordered, Fraction(3, 4))
        k = Fraction(multiplier)
        return cls(
            to_decimal(q1), to_decimal(q3), to_decimal(q1 - k * (q3 - q1)), to_decimal(q3 + k * (q3 - q1))
        )

    def as_dict(self) -> dict[str, Decimal]:
        return {"q1": self.q1, "q3": self.q3, "lower": self.lower, "upper": self.upper}

    @classmethod
    def stored(cls, data: dict) -> Fences:
        """Fences read back from stored statistics (``as_dict`` saved as JSON strings)."""
        return cls(*(Decimal(data[name]) for name in ("q1", "q3", "lower", "upper")))


def group_fences(groups: dict[str, list], minimum: int, multiplier: Decimal) -> dict[str, dict]:
    """Each peer group's size and, where it has at least ``minimum`` values, its fences: the
    statistics the outlier rules store (``peer_statistics``)."""
    result: dict[str, dict] = {}
    for key, values in groups.items():
        result[key] = {"peers": len(values)}
        if len(values) >= minimum:
            result[key].update(Fences.of(values, multiplier).as_dict())
    return result


# --- stored peer statistics ---------------------------------------------------------------------


def _params_tag(params: dict) -> str:
    return hashlib.sha256(json.dumps(canonical(params), sort_keys=True).encode()).hexdigest()


def peer_statistics(
    code: str,
    full: bool,
    params: dict,
    groups: Iterable[str],
    compute: Callable[[set[str] | None], dict[str, dict]],
) -> dict[str, dict]:
    """The statistics of peer ``groups`` for rule ``code``.

    A full scan computes every group (``compute(None)``) and stores the result, replacing what
    was stored. A per-change run reads the stored figures of the groups it needs and computes
    (and stores) only those missing or computed with other thresholds, so its cost does not
    grow with the market. Between full scans the stored figures lag the market by the changes
    since the last scan, which moves a fence by a fraction of one quote among its peers.
    ``compute`` returns data for every group asked for (``{}`` for a group with no rows); the
    result is in its stored JSON form (Decimals as strings) either way."""
    from ..models import PeerStatistic

    tag = _params_tag(params)
    now = timezone.now()
    if full:
        computed = {g: canonical(d) for g, d in compute(None).items()}
        with transaction.atomic():
            PeerStatistic.objects.filter(rule=code).delete()
            PeerStatistic.objects.bulk_create(
                [
                    PeerStatistic(rule=code, group=g, params=tag, data=d, computed_at=now)
                    for g, d in computed.items()
                ],
                batch_size=1000,
            )
        return computed
    wanted = set(groups)
    if not wanted:
        return {}
    rows = compiled_rows(
        ("peer_statistics", code, tag),
        lambda groups: PeerStatistic.objects.filter(rule=code, group__any=groups, params=tag).values(
            "group", "data"
        ),
        groups=sorted(wanted),
    )
    stored = {row["group"]: row["data"] for row in rows}
    missing = wanted - set(stored)
    if missing:
        fresh = compute(missing)
        fresh.update({g: {} for g in missing - set(fresh)})
        with transaction.atomic():
            PeerStatistic.objects.bulk_create(
                [
                    PeerStatistic(rule=code, group=g, params=tag, data=canonical(fresh[g]), computed_at=now)
                    for g in missing
                ],
                update_conflicts=True,
                unique_fields=["rule", "group"],
                update_fields=["params", "data", "computed_at"],
            )
        stored.update({g: canonical(fresh[g]) for g in missing})
    return stored
