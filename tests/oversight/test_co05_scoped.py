"""CO05 in a per-change run reads only the scoped firms' own rounds (``BidRotation._around``):
it must find exactly what the full scan finds for the scoped firms, whatever their partners
did elsewhere, fall back to the neighbourhood search where a crowd cuts the search short, and
cost the same few queries however large the market."""

from __future__ import annotations

import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.oversight import services
from marketplace.oversight.rules.base import Scope, get_rule
from marketplace.procurement.models import Application, Project
from tests.oversight.test_competition import Market, V, matches_of, plant_rotation

pytestmark = pytest.mark.django_db


@pytest.fixture
def market():
    return Market()


def tangled_market(market: Market, seed: int = 1) -> list:
    """Nine firms entering overlapping rounds: groups of three to six that share some rounds
    and not others, wins that rotate or not, disqualified and withdrawn applications, random
    draws and rounds outside the window."""
    rng = random.Random(seed)
    firms = market.firms(9)
    core, fringe = firms[:5], firms[5:]
    for _ in range(48):
        entrants = rng.sample(core, rng.randint(3, 5)) + rng.sample(fringe, rng.randint(0, 2))
        states = [rng.choice([V.VALID] * 6 + [V.DISQUALIFIED, V.WITHDRAWN]) for _ in entrants]
        states[0] = V.VALID
        bids = [(f, str(70000 + 1000 * i), s) for i, (f, s) in enumerate(zip(entrants, states, strict=True))]
        valid = [f for f, s in zip(entrants, states, strict=True) if s == V.VALID]
        winner = rng.choice([*valid, None]) if rng.random() < 0.9 else None
        market.round(
            bids,
            winner=winner,
            method=rng.choice(["lowest_price", "lowest_price", "scored_comparison", "random_draw"]),
            days_ago=rng.choice([10, 40, 200, 400]),
        )
    return firms


def about(firms):
    wanted = set(firms)
    return lambda match: match.subject_id in wanted


def test_a_scoped_run_finds_exactly_what_the_full_scan_finds_for_the_scoped_firms(market):
    firms = tangled_market(market)
    plant_rotation(market)
    full = matches_of("CO05", Scope(), lambda match: True)
    assert len({tuple(sorted(f["uscc"] for f in e["firms"])) for e in full.values()}) >= 2
    assert any(len(e["firms"]) >= 4 for e in full.values())
    for project in Project.objects.filter(applications__intermediary__in=firms).distinct():
        scope = services.scope_for_project(project.pk, "selected")
        assert matches_of("CO05", scope, lambda m: True) == matches_of(
            "CO05", Scope(), about(scope.intermediary_ids)
        ), project.public_number
    for firm in [*firms, *market.ring]:
        scope = services.scope_for_intermediary(firm.pk)
        assert matches_of("CO05", scope, lambda m: True) == matches_of("CO05", Scope(), about([firm.pk]))


def test_a_group_is_judged_on_all_its_rounds_not_only_the_changed_one(market):
    """The changed round is one of the ring's; the ring's other rounds decide the flag."""
    plant_rotation(market)
    a, b, c = market.ring
    market.round([(a, "70000"), (market.firm(), "71000")], winner=a)  # a's round without the ring
    project = Application.objects.filter(intermediary=b).latest("pk").project
    scope = services.scope_for_project(project.pk, "selected")
    found = matches_of("CO05", scope, lambda m: True)
    assert sorted(subject for _type, subject, _fp in found) == sorted(f.pk for f in market.ring)
    assert found == matches_of("CO05", Scope(), about([a.pk, b.pk, c.pk]))


def test_a_crowd_cutting_the_search_short_falls_back_to_the_neighbourhood_search(market, monkeypatch):
    from marketplace.oversight.rules.competition import rotation

    monkeypatch.setattr(rotation, "MAX_CANDIDATES", 30)
    crowd = market.firms(10)
    for winner in crowd[:4]:
        market.round([(f, str(70000 + 1000 * i)) for i, f in enumerate(crowd)], winner=winner)
    plant_rotation(market)
    rule = get_rule("CO05")
    params = rule.params({})
    crowded = services.scope_for_project(
        Application.objects.filter(intermediary=crowd[0]).latest("pk").project_id
    )
    searched = []
    original = rotation.BidRotation._search

    def spy(self, rounds, scope, params):
        searched.append(scope)
        return original(self, rounds, scope, params)

    monkeypatch.setattr(rotation.BidRotation, "_search", spy)
    assert rule.find(crowded, params) == []  # the crowd's groups larger than two are not examined
    assert searched == [crowded]
    ring = services.scope_for_project(
        Application.objects.filter(intermediary=market.ring[0]).latest("pk").project_id
    )
    assert sorted(m.subject_id for m in rule.find(ring, params)) == sorted(f.pk for f in market.ring)
    assert searched == [crowded]  # the ring's own search was complete


def queries_of_a_scoped_run(project_id: int) -> int:
    rule = get_rule("CO05")
    scope, params = services.scope_for_project(project_id), rule.params({})
    with CaptureQueriesContext(connection) as context:
        list(rule.find(scope, params))
    return len(context.captured_queries)


def test_a_scoped_run_costs_the_same_few_queries_however_large_the_market(market):
    plant_rotation(market)
    ring_round = Application.objects.filter(intermediary=market.ring[0]).latest("pk").project_id
    quiet_round = market.round([(f, "70000") for f in market.firms(3)], winner=None).pk
    small = (queries_of_a_scoped_run(ring_round), queries_of_a_scoped_run(quiet_round))
    for _ in range(3):
        plant_rotation(market)
        tangled_market(market)
    assert (queries_of_a_scoped_run(ring_round), queries_of_a_scoped_run(quiet_round)) == small == (2, 1)
