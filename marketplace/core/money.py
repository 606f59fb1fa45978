"""Money is Decimal with two places, CNY. One rounding helper (ROUND_HALF_UP)."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

TWO_PLACES = Decimal("0.01")
MONEY_MAX_DIGITS = 14
MONEY_DECIMAL_PLACES = 2


def money(value: Decimal | int | str) -> Decimal:
    try:
        amount = Decimal(value)
        if not amount.is_finite():
            raise ValueError(f"not a finite amount: {value!r}")
        return amount.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValueError(f"not an amount: {value!r}") from exc


def to_minor_units(amount: Decimal) -> int:
    """Only at the Stripe boundary: yuan to fen."""
    return int((money(amount) * 100).to_integral_value(rounding=ROUND_HALF_UP))
