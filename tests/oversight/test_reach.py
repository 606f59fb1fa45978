"""A known change to a project runs each rule over what the change can move (``Rule.reach``):
the project alone for rules whose every match is about one project, the project and its
winners for aggregates over an owner's or a firm's awards. On the small ground-truth market the
narrowed runs find exactly the full scan's matches about what they cover, and a narrowed run
leaves the flags of firms it does not cover alone."""

from __future__ import annotations

import json

import pytest

from marketplace.oversight import services
from marketplace.oversight.groundtruth import build_small_market
from marketplace.oversight.models import Flag
from marketplace.oversight.rules.base import (
    PHASE_OF_STATUS,
    REACH_APPLICANTS,
    REACH_PROJECT,
    REACH_WINNERS,
    Scope,
    all_rules,
)
from marketplace.procurement.models import Application, Method, Selection
from tests.oversight.matching import found

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# A status that moves a project into each phase (the event a per-change run is told).
STATUS_OF_PHASE = {phase: status for status, phase in reversed(PHASE_OF_STATUS.items())}
OTHER_PROJECTS = 25


def _narrowed_rules():
    return [rule for rule in all_rules() if rule.reach != REACH_APPLICANTS]


def test_every_rule_declares_how_far_a_project_change_reaches():
    reaches = {rule.code: rule.reach for rule in all_rules()}
    assert set(reaches.values()) <= {REACH_PROJECT, REACH_WINNERS, REACH_APPLICANTS}
    # The related-party walks are shared with RP05's totals per winner; the rotation and
    # cover-bidding rings need every applicant.
    assert reaches["FE01"] == REACH_PROJECT and reaches["RP01"] == reaches["RP05"] == REACH_WINNERS
    assert reaches["CO05"] == reaches["CO09"] == REACH_APPLICANTS


def test_a_project_event_narrows_the_scope_and_other_changes_keep_it_whole():
    scope = Scope(project_ids=[7], intermediary_ids=[1, 2, 3], event="award", winner_ids=[2])
    assert scope.narrowed(REACH_PROJECT) == Scope(project_ids=[7], event="award", winner_ids=[2])
    assert scope.narrowed(REACH_WINNERS).intermediary_ids == [2]
    assert scope.narrowed(REACH_APPLICANTS) is scope
    for whole in (
        Scope(project_ids=[7], intermediary_ids=[1, 2, 3], event=None, winner_ids=[2]),  # unknown kind
        Scope(project_ids=[7], intermediary_ids=[1, 2, 3], event="firm", winner_ids=[2]),  # firm records
        Scope(project_ids=[7], intermediary_ids=[1, 2, 3], event="award"),  # not a project's scope
    ):
        assert whole.narrowed(REACH_PROJECT) is whole


def test_a_change_after_posting_skips_the_rules_that_read_only_other_selection_methods():
    build_small_market(seed=2026)
    drawn = Selection.objects.filter(method=Method.RANDOM_DRAW, annulled=False).first()
    direct = Selection.objects.filter(method=Method.DIRECT, annulled=False).first()

    after_draw = services.monitor_run(scope=services.scope_for_project(drawn.project_id, "selected"))
    after_pick = services.monitor_run(scope=services.scope_for_project(direct.project_id, "selected"))
    edited = services.monitor_run(scope=services.scope_for_project(direct.project_id, "draft"))

    assert {"FA01", "FA02", "FE10", "FA09", "CO04", "CO05", "CO09"}.isdisjoint(after_draw.summary)
    assert {"CO01", "FE01", "RP01"} <= set(after_draw.summary)
    assert {"FA01", "FA02", "FE10"} <= set(after_pick.summary)
    assert {"CO01", "CO05", "CO09", "FA09"}.isdisjoint(after_pick.summary)
    # While a project is posted its method may still be edited: every posting rule runs.
    posting = {r.code for r in all_rules() if r.scopes and (r.phases is None or "posting" in r.phases)}
    assert edited.summary.keys() == posting


def test_a_projects_scope_knows_the_firms_that_won_its_rounds_annulled_or_not():
    build_small_market(seed=2026)
    annulled = Selection.objects.filter(annulled=True, winner__isnull=False).select_related("winner").first()
    assert annulled is not None
    project_id = annulled.project_id
    scope = services.scope_for_project(project_id, "selected")
    winners = set(
        Selection.objects.filter(project_id=project_id, winner__isnull=False).values_list(
            "winner__intermediary_id", flat=True
        )
    )
    assert set(scope.winner_ids) == winners and annulled.winner.intermediary_id in winners
    assert set(scope.intermediary_ids) == set(
        Application.objects.filter(project_id=project_id).values_list("intermediary_id", flat=True)
    )


def test_narrowed_runs_find_exactly_the_full_scans_matches_about_what_they_cover():
    build_small_market(seed=2026)
    rules = _narrowed_rules()
    full = {rule.code: found(rule.code, Scope()) for rule in rules}
    flagged = {f[2] for found in full.values() for f in found if f[2] is not None}
    decided = sorted(set(Selection.objects.filter(winner__isnull=False).values_list("project_id", flat=True)))
    projects = sorted(flagged | set(decided[:: max(1, len(decided) // OTHER_PROJECTS)]))
    assert len(flagged) > 20 and all(full[code] for code in ("FE01", "FA02", "RP01", "RP05", "PR06"))

    for project_id in projects:
        for rule in rules:
            for phase in sorted(rule.phases or {"award"}):
                if phase == "payment":
                    scope = services.scope_for_project(project_id, "payment")
                else:
                    scope = services.scope_for_project(project_id, STATUS_OF_PHASE[phase])
                narrowed = scope.narrowed(rule.reach)
                expected = {f for f in full[rule.code] if narrowed.holds(f[2], f[3])}
                assert found(rule.code, narrowed) == expected, (rule.code, project_id, phase)


def test_a_selection_leaves_a_losing_firms_flags_on_other_projects_to_their_own_changes():
    build_small_market(seed=2026)
    services.monitor_run()
    flag = Flag.objects.filter(rule="FE01", status=Flag.Status.OPEN).first()
    assert flag is not None
    # A round of another project that the flagged firm entered and lost.
    lost = (
        Selection.objects.filter(project__applications__intermediary_id=flag.intermediary_id, annulled=False)
        .exclude(project_id=flag.project_id)
        .exclude(winner__intermediary_id=flag.intermediary_id)
        .exclude(winner__isnull=True)
        .first()
    )
    assert lost is not None
    Flag.objects.filter(pk=flag.pk).update(evidence={"stale": True})

    run = services.monitor_run(scope=services.scope_for_project(lost.project_id, "selected"))

    flag.refresh_from_db()
    assert flag.status == Flag.Status.OPEN and flag.evidence == {"stale": True}
    assert run.summary["FE01"]["resolved"] == 0
    # A change of unknown kind to the same project still answers for every applicant's quotes.
    services.monitor_run(scope=services.scope_for_project(lost.project_id))
    flag.refresh_from_db()
    assert flag.status == Flag.Status.OPEN and flag.evidence != {"stale": True}


def _open_flags(codes: set[str]) -> set[tuple]:
    rows = Flag.objects.filter(rule__in=codes, status=Flag.Status.OPEN).values_list(
        "rule", "subject_type", "subject_id", "fingerprint", "evidence"
    )
    return {(*row[:4], json.dumps(row[4], sort_keys=True)) for row in rows}


def _regive(selection: Selection) -> int:
    """Annul a decided round and give the project to another applicant in a new round, as an
    upheld objection and a new selection do; returns the project's id."""
    other = (
        Application.objects.filter(project_id=selection.project_id, quote_amount__isnull=False)
        .exclude(intermediary_id=selection.winner.intermediary_id)
        .order_by("pk")
        .first()
    )
    Selection.objects.filter(pk=selection.pk).update(annulled=True)
    Selection.objects.create(
        project_id=selection.project_id,
        round=selection.round + 1,
        method=selection.method,
        performed_at=selection.performed_at,
        winner=other,
    )
    return selection.project_id


def test_after_a_project_is_given_to_another_firm_the_per_change_run_leaves_what_a_full_scan_would():
    """The narrowed rules' flags after a per-change run over a re-awarded project are the flags
    a full scan then finds: nothing the change moved lies outside what they covered."""
    build_small_market(seed=2026)
    services.monitor_run()
    codes = {rule.code for rule in _narrowed_rules() if rule.phases is None or "award" in rule.phases}
    # Re-award projects whose winners carry flags of the owner-firm and firm-level rules.
    flagged = Flag.objects.filter(rule__in=["FA02", "FA09", "FE10", "RP05", "FA08"], status=Flag.Status.OPEN)
    firms = set(flagged.values_list("intermediary_id", flat=True))
    rounds = [
        s
        for s in Selection.objects.filter(annulled=False, winner__intermediary_id__in=firms)
        .select_related("winner")
        .order_by("-performed_at")
        if Application.objects.filter(project_id=s.project_id, quote_amount__isnull=False)
        .exclude(intermediary_id=s.winner.intermediary_id)
        .exists()
    ][:6]
    assert len(rounds) >= 3
    before = _open_flags(codes)

    for selection in rounds:
        services.monitor_run(scope=services.scope_for_project(_regive(selection), "selected"))
    after_changes = _open_flags(codes)
    services.monitor_run(codes=sorted(codes))

    assert after_changes != before  # the changes moved some flags
    assert _open_flags(codes) == after_changes
