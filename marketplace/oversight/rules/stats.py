"""Market statistics shared by the outlier rules (FE07, FE08, CO04, CO08, CO09).

Quartiles are the R-8 (median-unbiased) estimator of Hyndman and Fan, the one the Open
Contracting Partnership's Cardinal uses (statrs ``quantile``), computed exactly with fractions
so SQLite and PostgreSQL give the same answer; fences are Tukey's Q1 - k·IQR and Q3 + k·IQR.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction


def quantile_r8(values: list[Fraction], tau: Fraction) -> Fraction:
    """The R-8 sample quantile of sorted ``values``."""
    n = len(values)
    if not n:
        raise ValueError("no values")
    h = (n + Fraction(1, 3)) * tau + Fraction(1, 3)
    whole = math.floor(h)
    if whole <= 0 or tau == 0:
        return values[0]
    if whole >= n or tau == 1:
        return values[-1]
    low, high = values[whole - 1], values[whole]
    return low + (h - whole) * (high - low)


def to_decimal(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


def quantile(values: Iterable[Decimal | int], tau: Decimal | str) -> Decimal:
    """The ``tau`` quantile of unsorted ``values``, as a Decimal."""
    ordered = sorted(Fraction(v) for v in values)
    return to_decimal(quantile_r8(ordered, Fraction(str(tau))))


@dataclass(frozen=True)
class Fences:
    """Q1, Q3 and Tukey's fences Q1 - k·IQR and Q3 + k·IQR."""

    q1: Decimal
    q3: Decimal
    lower: Decimal
    upper: Decimal

    @classmethod
    def of(cls, values: Iterable[Decimal | int], multiplier: Decimal) -> Fences:
        ordered = sorted(Fraction(v) for v in values)
        q1, q3 = quantile_r8(ordered, Fraction(1, 4)), quantile_r8(ordered, Fraction(3, 4))
        k = Fraction(multiplier)
        return cls(
            to_decimal(q1), to_decimal(q3), to_decimal(q1 - k * (q3 - q1)), to_decimal(q3 + k * (q3 - q1))
        )

    def as_dict(self) -> dict[str, Decimal]:
        return {"q1": self.q1, "q3": self.q3, "lower": self.lower, "upper": self.upper}
