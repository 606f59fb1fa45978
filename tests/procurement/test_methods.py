"""The six selection methods on fixed inputs: pure functions, no database."""

from __future__ import annotations

import hashlib
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import pytest

from marketplace.procurement import draw
from marketplace.procurement.methods import (
    Candidate,
    CreditPreference,
    DirectSelection,
    LowestPrice,
    RandomDraw,
    ReferencePrice,
    ScoredComparison,
    method_for,
)
from marketplace.procurement.models import Method

SECRET = "5f" * 32
PROJECT = "ZZZJ2026000042"
# Sorted on purpose: these stand in for USCCs, which the methods sort themselves.
KEYS = ["91370400000000001A", "91370400000000002B", "91370400000000003C", "91370400000000004D"]
PARAMS = {"long_list": 7, "short_list": 3, "price_weight": 30}


def cand(key: str, quote: str, credit: str | None = None, proposal: str | None = None) -> Candidate:
    return Candidate(
        key=key,
        quote=Decimal(quote),
        credit=Decimal(credit) if credit is not None else None,
        proposal_score=Decimal(proposal) if proposal is not None else None,
    )


def secret_for(i: int) -> str:
    return hashlib.sha256(f"secret-{i}".encode()).hexdigest()


def test_registry_has_each_method_once():
    assert set(Method.values) == {method_for(code).code for code in Method.values}


def test_lowest_price_single_lowest_wins_without_a_draw():
    candidates = [cand(KEYS[0], "90000"), cand(KEYS[1], "70000.00"), cand(KEYS[2], "80000")]
    outcome = LowestPrice().select(candidates, secret=SECRET, project=PROJECT, params=PARAMS)
    assert outcome.winner == KEYS[1]
    assert outcome.details == {"lowest": "70000.00"}
    assert not outcome.needs_owner_pick


def test_lowest_price_tie_is_broken_by_the_draw_deterministically():
    candidates = [
        cand(KEYS[3], "70000"),
        cand(KEYS[0], "90000"),
        cand(KEYS[1], "70000"),
        cand(KEYS[2], "70000"),
    ]
    tied = [KEYS[1], KEYS[2], KEYS[3]]
    outcome = LowestPrice().select(candidates, secret=SECRET, project=PROJECT, params=PARAMS)
    expected = draw.pick(tied, secret=SECRET, project=PROJECT, purpose="tiebreak")
    assert outcome.winner == expected
    assert outcome.details["tie"] == tied and outcome.details["tiebreak_winner"] == expected
    again = LowestPrice().select(list(reversed(candidates)), secret=SECRET, project=PROJECT, params=PARAMS)
    assert again.winner == expected
    # The draw, not the input order, decides: across secrets each tied firm wins sometimes.
    winners = {
        LowestPrice().select(candidates, secret=secret_for(i), project=PROJECT, params=PARAMS).winner
        for i in range(60)
    }
    assert winners == set(tied)


def _expected_reference(kept: list[str], bp: int) -> Decimal:
    kept_d = [Decimal(q) for q in kept]
    mean = (sum(kept_d) / len(kept_d)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return (mean * bp / Decimal(10000)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_reference_price_drops_highest_and_lowest_and_nearest_wins():
    quotes = ["60000", "77000", "80000", "86000", "100000"]
    candidates = [cand(k, q) for k, q in zip([*KEYS, "91370400000000005E"], quotes, strict=True)]
    outcome = ReferencePrice().select(candidates, secret=SECRET, project=PROJECT, params=PARAMS)
    details = outcome.details
    assert details["kept_quotes"] == ["77000", "80000", "86000"]
    assert details["mean"] == "81000.00"
    bp = details["coefficient_bp"]
    assert 9500 <= bp <= 9800
    assert bp == draw.coefficient_basis_points(secret=SECRET, project=PROJECT)
    reference = _expected_reference(["77000", "80000", "86000"], bp)
    assert details["reference"] == str(reference)
    nearest = min(candidates, key=lambda c: abs(c.quote - reference))
    assert outcome.winner == nearest.key


def test_reference_price_coefficient_covers_95_to_98_percent():
    values = {draw.coefficient_basis_points(secret=secret_for(i), project=PROJECT) for i in range(400)}
    assert min(values) >= 9500 and max(values) <= 9800
    assert min(values) < 9550 and max(values) > 9750  # spread over the whole band


def test_reference_price_with_two_candidates_drops_nothing():
    candidates = [cand(KEYS[0], "50000"), cand(KEYS[1], "90000")]
    outcome = ReferencePrice().select(candidates, secret=SECRET, project=PROJECT, params=PARAMS)
    assert outcome.details["kept_quotes"] == ["50000", "90000"]
    assert outcome.details["mean"] == "70000.00"
    # 70000 x 95%..98% = 66500..68600: the 50000 quote (distance >= 16500) is always nearer
    # than 90000 (distance >= 21400).
    assert outcome.winner == KEYS[0]


def test_reference_price_with_three_candidates_keeps_the_middle_one():
    candidates = [cand(KEYS[0], "50000"), cand(KEYS[1], "60000"), cand(KEYS[2], "90000")]
    outcome = ReferencePrice().select(candidates, secret=SECRET, project=PROJECT, params=PARAMS)
    assert outcome.details["kept_quotes"] == ["60000"]
    assert outcome.details["mean"] == "60000.00"
    assert outcome.winner == KEYS[1]  # 57000..58800 is nearest 60000


def test_reference_price_tie_is_broken_by_the_draw():
    # kept 77000, 77000, 80000 -> mean 78000 -> reference 74100..76440: both 77000 quotes are
    # nearest whatever the coefficient.
    candidates = [
        cand(KEYS[0], "50000"),
        cand(KEYS[3], "77000"),
        cand(KEYS[1], "77000"),
        cand(KEYS[2], "80000"),
        cand("91370400000000005E", "100000"),
    ]
    outcome = ReferencePrice().select(candidates, secret=SECRET, project=PROJECT, params=PARAMS)
    assert outcome.details["mean"] == "78000.00"
    assert outcome.details["tie"] == [KEYS[1], KEYS[3]]
    expected = draw.pick([KEYS[1], KEYS[3]], secret=SECRET, project=PROJECT, purpose="tiebreak")
    assert outcome.winner == outcome.details["tiebreak_winner"] == expected


def test_random_draw_winner_is_deterministic_for_a_fixed_secret():
    candidates = [cand(k, "80000") for k in reversed(KEYS)]
    first = RandomDraw().select(candidates, secret=SECRET, project=PROJECT, params=PARAMS)
    second = RandomDraw().select(candidates, secret=SECRET, project=PROJECT, params=PARAMS)
    assert first.winner == second.winner == draw.pick(KEYS, secret=SECRET, project=PROJECT, purpose="winner")
    assert first.details == {"candidates": KEYS}


def test_random_draw_is_roughly_uniform_over_many_secrets():
    candidates = [cand(k, "80000") for k in KEYS]
    wins = Counter(
        RandomDraw().select(candidates, secret=secret_for(i), project=PROJECT, params=PARAMS).winner
        for i in range(2000)
    )
    assert set(wins) == set(KEYS)
    for key in KEYS:
        assert 0.15 * 2000 <= wins[key] <= 0.35 * 2000, wins


def test_random_draw_depends_on_project_number():
    candidates = [cand(k, "80000") for k in KEYS]
    winners = {
        RandomDraw().select(candidates, secret=SECRET, project=f"ZZZJ2026{n:06d}", params=PARAMS).winner
        for n in range(40)
    }
    assert len(winners) > 1


def test_credit_preference_long_list_by_credit_then_short_list_drawn():
    keys = [f"91370400{n:09d}X" for n in range(1, 11)]
    credits = ["70", "95", "88", None, "88", "60", "99.5", "75", "91", "80"]
    candidates = [cand(k, "80000", credit=c) for k, c in zip(keys, credits, strict=True)]
    outcome = CreditPreference().select(candidates, secret=SECRET, project=PROJECT, params=PARAMS)
    # 99.5, 95, 91, 88 (key 3 before key 5), 88, 80, 75 -- the seven best; None counts as 0.
    long_list = [keys[6], keys[1], keys[8], keys[2], keys[4], keys[9], keys[7]]
    assert outcome.details["long_list"] == long_list
    assert [r["key"] for r in outcome.details["ranking"]][-1] == keys[3]
    assert outcome.details["ranking"][-1]["credit"] == "0"
    short = outcome.details["short_list"]
    assert short == outcome.shortlist
    assert len(short) == 3 and len(set(short)) == 3 and set(short) <= set(long_list)
    assert short == draw.pick_many(long_list, 3, secret=SECRET, project=PROJECT, purpose="shortlist")
    assert outcome.winner is None and outcome.needs_owner_pick


def test_credit_preference_with_fewer_candidates_than_the_lists():
    candidates = [cand(KEYS[1], "80000", credit="90"), cand(KEYS[0], "80000", credit="85")]
    outcome = CreditPreference().select(candidates, secret=SECRET, project=PROJECT, params=PARAMS)
    assert outcome.details["long_list"] == [KEYS[1], KEYS[0]]
    assert sorted(outcome.shortlist) == [KEYS[0], KEYS[1]]
    assert outcome.winner is None


def test_scored_comparison_totals_computed_by_hand():
    candidates = [
        cand(KEYS[0], "80000", proposal="70"),
        cand(KEYS[1], "100000", proposal="90"),
        cand(KEYS[2], "90000", proposal="85"),
    ]
    outcome = ScoredComparison().select(candidates, secret=SECRET, project=PROJECT, params=PARAMS)
    # price score = lowest / quote x 100: 100, 80, 88.888.. -> 88.89
    # total = (30 x price + 70 x proposal) / 100:
    #   A: (3000 + 4900) / 100 = 79.00; B: (2400 + 6300) / 100 = 87.00;
    #   C: (2666.70 + 5950) / 100 = 86.167 -> 86.17
    rows = {r["key"]: r for r in outcome.details["scores"]}
    assert rows[KEYS[0]] == {
        "key": KEYS[0],
        "price_score": "100.00",
        "proposal_score": "70",
        "total": "79.00",
    }
    assert rows[KEYS[1]]["price_score"] == "80.00" and rows[KEYS[1]]["total"] == "87.00"
    assert rows[KEYS[2]]["price_score"] == "88.89" and rows[KEYS[2]]["total"] == "86.17"
    assert [r["key"] for r in outcome.details["scores"]] == KEYS[:3]
    assert outcome.winner == KEYS[1]


def test_scored_comparison_tie_is_broken_by_the_draw():
    candidates = [cand(KEYS[0], "80000", proposal="80"), cand(KEYS[1], "80000", proposal="80")]
    outcome = ScoredComparison().select(candidates, secret=SECRET, project=PROJECT, params=PARAMS)
    assert outcome.details["tie"] == KEYS[:2]
    assert outcome.winner == draw.pick(KEYS[:2], secret=SECRET, project=PROJECT, purpose="tiebreak")


def test_direct_selection_returns_a_shortlist_of_all():
    candidates = [cand(k, "30000") for k in reversed(KEYS)]
    outcome = DirectSelection().select(candidates, secret=SECRET, project=PROJECT, params=PARAMS)
    assert outcome.winner is None and outcome.needs_owner_pick
    assert outcome.shortlist == KEYS
    assert DirectSelection.owner_picks and CreditPreference.owner_picks


@pytest.mark.parametrize(
    ("method", "fiscal", "private"),
    [
        (Method.DIRECT, 1, 1),
        (Method.RANDOM_DRAW, 3, 1),
        (Method.LOWEST_PRICE, 3, 1),
        (Method.REFERENCE_PRICE, 3, 1),
        (Method.CREDIT_PREFERENCE, 2, 1),
        (Method.SCORED_COMPARISON, 2, 1),
    ],
)
def test_minimum_valid_applicants_per_funding_source(method, fiscal, private):
    assert method_for(method).min_valid("fiscal") == fiscal
    assert method_for(method).min_valid("private") == private
