"""Per-change runs of RP06 (a department's affiliate competing) and FA05 (relaunched or annulled
until one firm won) on the small ground-truth market: each reads only the few rows around the
change, and finds exactly what the full scan finds for the scope's subjects."""

from __future__ import annotations

import json

import pytest

from marketplace.oversight import services
from marketplace.oversight.groundtruth import build_small_market
from marketplace.oversight.rules.base import Scope, get_rule
from marketplace.procurement.models import Application

pytestmark = pytest.mark.django_db

CODES = ("RP06", "FA05")


def _found(code: str, scope: Scope) -> list[tuple]:
    rule = get_rule(code)
    params = rule.params(services.setting_for(rule).thresholds)
    return sorted(
        (
            m.subject_type,
            m.subject_id,
            m.project_id,
            m.intermediary_id,
            m.owner_id,
            m.department_id,
            m.fingerprint(code),
            json.dumps(m.evidence, sort_keys=True, default=str),
        )
        for m in rule.find(scope, params)
    )


def _about(found: list[tuple], scope: Scope) -> list[tuple]:
    """The findings a run over ``scope`` answers for (the engine's flags in scope)."""
    return [f for f in found if f[2] in (scope.project_ids or []) or f[3] in (scope.intermediary_ids or [])]


@pytest.fixture
def market():
    manifest = build_small_market(seed=2026)
    full = {code: _found(code, Scope()) for code in CODES}
    assert all(full.values())
    return manifest, full


def test_per_change_runs_find_exactly_the_full_scans_matches_for_every_project(market):
    _, full = market
    projects = sorted(set(Application.objects.values_list("project_id", flat=True)))

    for project_id in projects:
        scope = services.scope_for_project(project_id, "selected")
        for code in CODES:
            assert _found(code, scope) == _about(full[code], scope), (code, project_id)


def test_per_firm_runs_find_exactly_the_full_scans_matches_for_every_firm_involved(market):
    _, full = market
    firms = {f[3] for code in CODES for f in full[code]}
    firms |= set(
        Application.objects.filter(project_id__in={f[2] for f in full["FA05"]}).values_list(
            "intermediary_id", flat=True
        )
    )

    for firm_id in sorted(firms):
        scope = services.scope_for_intermediary(firm_id, records=True)
        for code in CODES:
            assert _found(code, scope) == _about(full[code], scope), (code, firm_id)


def test_a_change_touching_no_affiliate_reads_rp06_in_one_query(market, django_assert_num_queries):
    _, full = market
    flagged = {f[3] for f in full["RP06"]}
    application = Application.objects.exclude(intermediary_id__in=flagged).order_by("pk").first()
    scope = Scope(project_ids=[], intermediary_ids=[application.intermediary_id])
    rule = get_rule("RP06")

    with django_assert_num_queries(1):
        assert rule.find(scope, rule.params({})) == []


def test_fa05_per_change_reads_the_scopes_rounds_in_one_query(market, django_assert_num_queries):
    _, full = market
    annulled = next(f for f in full["FA05"] if '"annulled_reassigned"' in f[7])
    scope = services.scope_for_project(annulled[2], "selected")
    rule = get_rule("FA05")
    params = rule.params(services.setting_for(rule).thresholds)

    # The rounds of the scope's projects, and the annulment is found among them.
    with django_assert_num_queries(1):
        found = rule.find(scope, params)
    assert annulled[6] in {m.fingerprint("FA05") for m in found}
