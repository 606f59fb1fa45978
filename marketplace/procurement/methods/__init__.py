"""Selection methods (选取方式): one interface, six methods. Each is a pure function of its
inputs (the candidates and the revealed secret), so a result can always be recomputed."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from marketplace.procurement import draw
from marketplace.procurement.models import FundingSource, Method

TWO = Decimal("0.01")


@dataclass(frozen=True)
class Candidate:
    key: str  # the firm's USCC: public, stable, sortable
    quote: Decimal
    credit: Decimal | None = None
    proposal_score: Decimal | None = None


@dataclass
class Outcome:
    winner: str | None
    details: dict = field(default_factory=dict)
    shortlist: list[str] = field(default_factory=list)

    @property
    def needs_owner_pick(self) -> bool:
        return self.winner is None


class SelectionMethod:
    code: str
    min_valid_fiscal = 3
    min_valid_private = 1
    owner_picks = False  # the owner makes the final choice (with a written reason)

    def min_valid(self, funding_source: str) -> int:
        return self.min_valid_fiscal if funding_source == FundingSource.FISCAL else self.min_valid_private

    def select(self, candidates: list[Candidate], *, secret: str, project: str, params: dict) -> Outcome:
        raise NotImplementedError

    @staticmethod
    def _tiebreak(keys: list[str], *, secret: str, project: str) -> tuple[str, dict]:
        keys = sorted(keys)
        if len(keys) == 1:
            return keys[0], {}
        winner = draw.pick(keys, secret=secret, project=project, purpose="tiebreak")
        return winner, {"tie": keys, "tiebreak_winner": winner}


class DirectSelection(SelectionMethod):
    code = Method.DIRECT
    min_valid_fiscal = 1
    owner_picks = True

    def select(self, candidates, *, secret, project, params):
        return Outcome(winner=None, shortlist=sorted(c.key for c in candidates))


class RandomDraw(SelectionMethod):
    code = Method.RANDOM_DRAW

    def select(self, candidates, *, secret, project, params):
        keys = sorted(c.key for c in candidates)
        winner = draw.pick(keys, secret=secret, project=project, purpose="winner")
        return Outcome(winner=winner, details={"candidates": keys})


class LowestPrice(SelectionMethod):
    code = Method.LOWEST_PRICE

    def select(self, candidates, *, secret, project, params):
        lowest = min(c.quote for c in candidates)
        tied = [c.key for c in candidates if c.quote == lowest]
        winner, tie = self._tiebreak(tied, secret=secret, project=project)
        return Outcome(winner=winner, details={"lowest": str(lowest), **tie})


class ReferencePrice(SelectionMethod):
    """最优价: drop one highest and one lowest quote (when at least three), multiply the mean of
    the rest by a coefficient drawn from 95% to 98%; the quote nearest the result wins."""

    code = Method.REFERENCE_PRICE

    def select(self, candidates, *, secret, project, params):
        quotes = sorted(c.quote for c in candidates)
        kept = quotes[1:-1] if len(quotes) >= 3 else quotes
        mean = (sum(kept) / len(kept)).quantize(TWO, rounding=ROUND_HALF_UP)
        bp = draw.coefficient_basis_points(secret=secret, project=project)
        reference = (mean * bp / Decimal(10000)).quantize(TWO, rounding=ROUND_HALF_UP)
        distance = {c.key: abs(c.quote - reference) for c in candidates}
        best = min(distance.values())
        tied = [k for k, d in distance.items() if d == best]
        winner, tie = self._tiebreak(tied, secret=secret, project=project)
        details = {
            "kept_quotes": [str(q) for q in kept],
            "mean": str(mean),
            "coefficient_bp": bp,
            "reference": str(reference),
            **tie,
        }
        return Outcome(winner=winner, details=details)


class CreditPreference(SelectionMethod):
    """信用择优: rank by credit score, keep a long list, draw a short list; the owner picks."""

    code = Method.CREDIT_PREFERENCE
    min_valid_fiscal = 2
    owner_picks = True

    def select(self, candidates, *, secret, project, params):
        ranked = sorted(candidates, key=lambda c: (-(c.credit or Decimal(0)), c.key))
        long_list = [c.key for c in ranked[: params["long_list"]]]
        short_list = draw.pick_many(
            long_list, params["short_list"], secret=secret, project=project, purpose="shortlist"
        )
        details = {
            "ranking": [{"key": c.key, "credit": str(c.credit or 0)} for c in ranked],
            "long_list": long_list,
            "short_list": short_list,
        }
        return Outcome(winner=None, details=details, shortlist=short_list)


class ScoredComparison(SelectionMethod):
    """比选: total = price weight x price score + (100 - price weight) x proposal score, /100;
    price score = lowest quote / quote x 100; proposal score = mean of the named evaluators."""

    code = Method.SCORED_COMPARISON
    min_valid_fiscal = 2

    def select(self, candidates, *, secret, project, params):
        weight = Decimal(params["price_weight"])
        lowest = min(c.quote for c in candidates)
        totals: dict[str, Decimal] = {}
        rows = []
        for c in candidates:
            price_score = (lowest / c.quote * 100).quantize(TWO, rounding=ROUND_HALF_UP)
            proposal = c.proposal_score or Decimal(0)
            total = ((weight * price_score + (100 - weight) * proposal) / 100).quantize(
                TWO, rounding=ROUND_HALF_UP
            )
            totals[c.key] = total
            rows.append(
                {
                    "key": c.key,
                    "price_score": str(price_score),
                    "proposal_score": str(proposal),
                    "total": str(total),
                }
            )
        best = max(totals.values())
        tied = [k for k, t in totals.items() if t == best]
        winner, tie = self._tiebreak(tied, secret=secret, project=project)
        return Outcome(winner=winner, details={"scores": sorted(rows, key=lambda r: r["key"]), **tie})


METHODS: dict[str, SelectionMethod] = {
    m.code: m
    for m in (
        DirectSelection(),
        RandomDraw(),
        LowestPrice(),
        ReferencePrice(),
        CreditPreference(),
        ScoredComparison(),
    )
}


def method_for(code: str) -> SelectionMethod:
    return METHODS[code]
