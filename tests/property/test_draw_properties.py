"""Properties of the verifiable draw (marketplace/procurement/draw.py), checked with Hypothesis
against an independent implementation of the rule published in docs/draws.md."""

from __future__ import annotations

import hashlib
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.procurement import draw

secrets_ = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
numbers = st.text(alphabet=string.ascii_uppercase + string.digits + "-", min_size=1, max_size=20)
usccs = st.lists(
    st.text(alphabet=string.digits + "ABCDEFGHJKLMNPQRTUWXY", min_size=18, max_size=18),
    min_size=1,
    max_size=40,
    unique=True,
).map(sorted)


def published_rule(n: int, secret: str, project: str, purpose: str, candidates: list[str]) -> int:
    """The derivation as docs/draws.md states it, written again from the text."""
    material = secret + "|" + project + "|" + purpose + "|" + ",".join(candidates)
    counter = 0
    while True:
        v = int(hashlib.sha256((material + "|" + str(counter)).encode()).hexdigest(), 16)
        if v < 2**256 - (2**256 % n):
            return v % n
        counter += 1


@settings(max_examples=200, deadline=None)
@given(secret=secrets_, project=numbers, candidates=usccs)
def test_the_winner_is_the_published_rules_choice_from_the_candidates(secret, project, candidates):
    chosen = draw.pick(candidates, secret=secret, project=project, purpose="winner")
    index = published_rule(len(candidates), secret, project, "winner", candidates)
    assert chosen == candidates[index]


@settings(max_examples=200, deadline=None)
@given(secret=secrets_, project=numbers, candidates=usccs, k=st.integers(min_value=0, max_value=50))
def test_a_short_list_holds_distinct_candidates_and_never_more_than_exist(secret, project, candidates, k):
    chosen = draw.pick_many(candidates, k, secret=secret, project=project, purpose="shortlist")
    assert len(chosen) == min(k, len(candidates))
    assert len(set(chosen)) == len(chosen) and set(chosen) <= set(candidates)
    assert chosen == draw.pick_many(candidates, k, secret=secret, project=project, purpose="shortlist")


@settings(max_examples=200, deadline=None)
@given(secret=secrets_, project=numbers)
def test_the_reference_price_coefficient_stays_between_95_and_98_percent(secret, project):
    assert 9500 <= draw.coefficient_basis_points(secret=secret, project=project) <= 9800


@settings(max_examples=100, deadline=None)
@given(secret=secrets_, other=secrets_)
def test_a_commitment_binds_the_platform_to_one_secret(secret, other):
    assert draw.commitment(secret) == hashlib.sha256(secret.encode()).hexdigest()
    assert (draw.commitment(secret) == draw.commitment(other)) == (secret == other)


@settings(max_examples=100, deadline=None)
@given(candidates=usccs.filter(lambda c: len(c) > 1))
def test_unsorted_candidates_are_refused(candidates):
    import pytest

    with pytest.raises(ValueError):
        draw.pick(list(reversed(candidates)), secret="0" * 64, project="P", purpose="winner")
