"""Per-change runs of the related-party rules RP01-RP05 on the small ground-truth market: the
same findings as the full scan for every scoped subject, from walks shared by the whole run."""

from __future__ import annotations

from dataclasses import replace

import pytest

from marketplace.oversight import graph, services
from marketplace.oversight.groundtruth import build_small_market
from marketplace.oversight.rules.base import Scope, get_rule
from marketplace.procurement.models import Selection
from tests.oversight.matching import found

pytestmark = pytest.mark.django_db

TIE_CODES = ("RP01", "RP02", "RP03", "RP04", "RP05")


def _about(found: set[tuple], scope: Scope) -> set[tuple]:
    """The findings a run over ``scope`` is answerable for (the engine's flags in scope)."""
    return {f for f in found if f[2] in scope.project_ids or f[3] in scope.intermediary_ids}


@pytest.fixture
def market(monkeypatch):
    manifest = build_small_market(seed=2026)
    # The full scan through the recursive SQL walk, whatever the number of firms.
    monkeypatch.setattr(graph, "SEEDED_MAX_FIRMS", 0)
    full = {code: found(code, Scope()) for code in TIE_CODES}
    monkeypatch.undo()
    return manifest, full


def test_per_change_runs_find_exactly_the_full_scans_ties_for_every_awarded_project(market):
    _, full = market
    projects = sorted(
        set(Selection.objects.filter(winner__isnull=False).values_list("project_id", flat=True))
    )
    assert all(full[code] for code in TIE_CODES if code != "RP04") and projects

    for project_id in projects:
        scope = services.scope_for_project(project_id)  # one scope for the five rules, as in a run
        for code in TIE_CODES:
            assert found(code, scope) == _about(full[code], scope), (code, project_id)


def test_per_firm_runs_find_exactly_the_full_scans_ties_for_the_planted_winners(market):
    manifest, full = market
    firms = {f[3] for code in TIE_CODES for f in full[code]}
    assert firms

    for firm_id in sorted(firms):
        scope = services.scope_for_intermediary(firm_id)
        for code in TIE_CODES:
            assert found(code, scope) == _about(full[code], scope), (code, firm_id)


def test_a_per_change_run_walks_once_for_the_five_rules(market, django_assert_max_num_queries):
    _, full = market
    project_id = next(f[2] for f in full["RP05"])
    scope = services.scope_for_project(project_id)
    params = {
        code: get_rule(code).params(services.setting_for(get_rule(code)).thresholds) for code in TIE_CODES
    }

    # the scoped project's award, the tie rules' settings, the firms, one query per hop (3 and the
    # free step), the scoped firms' awards in the departments they reach, the declared ties
    with django_assert_max_num_queries(1 + 1 + 1 + 4 + 1 + 1):
        found = [list(get_rule(code).find(scope, params[code])) for code in TIE_CODES]

    assert found[-1]


def test_rp05_reuses_the_tie_rules_walks_of_the_same_full_run(market, django_assert_max_num_queries):
    scope = Scope()
    for code in TIE_CODES[:-1]:
        rule = get_rule(code)
        list(rule.find(scope, rule.params(services.setting_for(rule).thresholds)))

    with django_assert_max_num_queries(2):  # the tie rules' settings and the declared ties
        found = list(get_rule("RP05").find(scope, get_rule("RP05").params({})))

    assert found


def test_the_run_cache_is_not_part_of_a_scopes_identity():
    scope = Scope(project_ids=[1], intermediary_ids=[2])
    scope.cache["x"] = 1

    assert scope == Scope(project_ids=[1], intermediary_ids=[2])
    assert "cache" not in repr(scope)
    assert replace(scope).cache == {}
