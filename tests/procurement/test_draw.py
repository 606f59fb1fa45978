"""The commit-reveal draw primitives (marketplace.procurement.draw)."""

from __future__ import annotations

import hashlib
import types

import pytest

from marketplace.procurement import draw

SECRET = "a1" * 32
PROJECT = "ZZZJ2026000007"
KEYS = [f"91370400{n:09d}Y" for n in range(1, 8)]


def test_commitment_is_sha256_of_the_secret():
    assert draw.commitment(SECRET) == hashlib.sha256(SECRET.encode()).hexdigest()


def test_new_secret_is_64_hex_characters_and_fresh():
    first, second = draw.new_secret(), draw.new_secret()
    assert len(first) == 64 and int(first, 16) >= 0
    assert first != second


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 64, 301, 1000])
def test_uniform_index_is_in_range(n):
    for i in range(50):
        value = draw.uniform_index(n, secret=f"{i:064x}", project=PROJECT, purpose="winner", candidates=KEYS)
        assert 0 <= value < n


def test_uniform_index_is_the_documented_formula():
    n = 7
    material = f"{SECRET}|{PROJECT}|winner|{','.join(KEYS)}"
    expected = int(hashlib.sha256(f"{material}|0".encode()).hexdigest(), 16) % n
    assert (
        draw.uniform_index(n, secret=SECRET, project=PROJECT, purpose="winner", candidates=KEYS) == expected
    )


def test_uniform_index_refuses_an_empty_draw():
    with pytest.raises(ValueError):
        draw.uniform_index(0, secret=SECRET, project=PROJECT, purpose="winner", candidates=[])


def test_uniform_index_rejects_the_biased_tail_and_tries_the_next_counter(monkeypatch):
    """For n = 3, 2**256 mod 3 == 1, so the single value 2**256 - 1 is in the biased tail: a
    digest of all f's at counter 0 must be rejected and counter 1 used instead."""
    n = 3
    assert (2**256) % n == 1
    real = hashlib.sha256
    calls: list[str] = []

    def fake_sha256(data: bytes):
        text = data.decode()
        calls.append(text)
        if text.endswith("|0"):
            return types.SimpleNamespace(hexdigest=lambda: "f" * 64)
        return real(data)

    monkeypatch.setattr(draw, "hashlib", types.SimpleNamespace(sha256=fake_sha256))
    value = draw.uniform_index(n, secret=SECRET, project=PROJECT, purpose="winner", candidates=KEYS[:3])
    material = f"{SECRET}|{PROJECT}|winner|{','.join(KEYS[:3])}"
    assert calls == [f"{material}|0", f"{material}|1"]
    assert value == int(real(f"{material}|1".encode()).hexdigest(), 16) % n


def test_uniform_index_accepts_the_largest_unbiased_value(monkeypatch):
    """2**256 - 2 is below the limit for n = 3 and is used as it is (no second hash)."""
    calls: list[str] = []

    def fake_sha256(data: bytes):
        calls.append(data.decode())
        return types.SimpleNamespace(hexdigest=lambda: "f" * 63 + "e")

    monkeypatch.setattr(draw, "hashlib", types.SimpleNamespace(sha256=fake_sha256))
    value = draw.uniform_index(3, secret=SECRET, project=PROJECT, purpose="winner", candidates=KEYS[:3])
    assert len(calls) == 1
    assert value == (2**256 - 2) % 3


def test_pick_requires_sorted_candidates():
    with pytest.raises(ValueError):
        draw.pick(list(reversed(KEYS)), secret=SECRET, project=PROJECT, purpose="winner")


def test_pick_returns_the_candidate_at_the_drawn_index():
    index = draw.uniform_index(len(KEYS), secret=SECRET, project=PROJECT, purpose="winner", candidates=KEYS)
    assert draw.pick(KEYS, secret=SECRET, project=PROJECT, purpose="winner") == KEYS[index]


def test_pick_depends_on_purpose_secret_and_candidates():
    base = draw.pick(KEYS, secret=SECRET, project=PROJECT, purpose="winner")
    results = {draw.pick(KEYS, secret=SECRET, project=PROJECT, purpose=f"p{i}") for i in range(30)}
    results |= {draw.pick(KEYS, secret=f"{i:064x}", project=PROJECT, purpose="winner") for i in range(30)}
    assert base in KEYS and len(results) > 1


def test_pick_many_is_distinct_and_drawn_in_order():
    chosen = draw.pick_many(list(reversed(KEYS)), 4, secret=SECRET, project=PROJECT, purpose="shortlist")
    assert len(chosen) == 4 and len(set(chosen)) == 4 and set(chosen) <= set(KEYS)
    remaining = sorted(KEYS)
    for step, key in enumerate(chosen, start=1):
        assert key == draw.pick(remaining, secret=SECRET, project=PROJECT, purpose=f"shortlist:{step}")
        remaining.remove(key)


def test_pick_many_stops_at_the_number_of_candidates():
    chosen = draw.pick_many(KEYS[:2], 5, secret=SECRET, project=PROJECT, purpose="shortlist")
    assert sorted(chosen) == KEYS[:2]


def test_coefficient_is_drawn_from_9500_to_9800():
    bp = draw.coefficient_basis_points(secret=SECRET, project=PROJECT)
    values = [str(v) for v in range(9500, 9801)]
    index = draw.uniform_index(301, secret=SECRET, project=PROJECT, purpose="coefficient", candidates=values)
    assert bp == 9500 + index
    assert draw.COEFFICIENT_VALUES == values
