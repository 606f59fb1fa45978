"""Ground truth: the small synthetic market's planted violations are all flagged by their rules
(recall 100%), none of its look-alikes is flagged by the rule it resembles, and each rule's
precision on the market is reported (not asserted: the background may legitimately trigger some
rules, and those flags are listed).

Rules not registered yet (their module still landing) are left out of the assertions and named
in the output; the test is skipped only when no rule is registered at all."""

from __future__ import annotations

import time

import pytest

from marketplace.oversight.groundtruth import RULE_CODES, build_small_market, evaluate, report_lines
from marketplace.oversight.models import Flag
from marketplace.oversight.rules.base import REGISTRY, all_rules
from marketplace.oversight.services import monitor_run

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(scope="module")
def outcome(django_db_setup, django_db_blocker):
    """Build the small market and run the full scan once for the module (rolled back after)."""
    from django.db import transaction

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            all_rules()
            registered = sorted(code for code in RULE_CODES if code in REGISTRY)
            started = time.perf_counter()
            manifest = build_small_market(seed=2026)
            built = time.perf_counter() - started
            started = time.perf_counter()
            run = monitor_run()
            scanned = time.perf_counter() - started
            flags = list(Flag.objects.filter(status=Flag.Status.OPEN))
            result = evaluate(manifest, registered, flags)
            yield {
                "manifest": manifest,
                "registered": registered,
                "missing": [code for code in RULE_CODES if code not in REGISTRY],
                "result": result,
                "run": run,
                "built": built,
                "scanned": scanned,
            }
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def test_the_manifest_plants_every_rule_and_the_named_look_alikes(outcome):
    manifest = outcome["manifest"]
    planted = manifest.planted_by_rule()
    assert [code for code in RULE_CODES if not planted.get(code)] == []
    notes = " ".join(case["note"] for case in manifest.look_alikes)
    alikes = {case["rule"] for case in manifest.look_alikes}
    # The four look-alikes the issue names.
    assert {"RP03", "FE07", "FA02", "FA03", "CO02"} <= alikes
    for words in ("four years ago", "small survey", "only special-equipment inspector", "fixed price"):
        assert words in notes
    for case in (*manifest.planted, *manifest.look_alikes, *manifest.side_effects):
        assert set(case) == {"rule", "subject_type", "subject_id", "note"} and case["subject_id"]


def test_every_planted_case_is_flagged_by_its_rule(outcome):
    if not outcome["registered"]:
        pytest.skip("no monitoring rule is registered yet")
    result = outcome["result"]
    print()
    print(f"build {outcome['built']:.1f} s, full scan {outcome['scanned']:.1f} s")
    for line in outcome["manifest"].summary_lines():
        print(line)
    for line in report_lines(result):
        print(line)
    if outcome["missing"]:
        print("rules not registered yet (left out): " + ", ".join(outcome["missing"]))
    missed = [f"{c['rule']} {c['subject_type']}:{c['subject_id']} ({c['note']})" for c in result["missed"]]
    assert missed == [], "planted cases not flagged by their rule:\n" + "\n".join(missed)
    for code in outcome["registered"]:
        assert result["per_rule"][code]["recall"] == 1


def test_no_look_alike_is_flagged_by_the_rule_it_resembles(outcome):
    if not outcome["registered"]:
        pytest.skip("no monitoring rule is registered yet")
    flagged = [
        f"{c['rule']} {c['subject_type']}:{c['subject_id']} ({c['note']})"
        for c in outcome["result"]["flagged_look_alikes"]
    ]
    assert flagged == [], "look-alikes flagged:\n" + "\n".join(flagged)


def test_the_expected_side_effects_of_planted_scenarios_are_flagged(outcome):
    registered = set(outcome["registered"])
    open_keys = {(f.rule, f.subject_type, f.subject_id) for f in Flag.objects.filter(status=Flag.Status.OPEN)}
    absent = [
        f"{c['rule']} {c['subject_type']}:{c['subject_id']} ({c['note']})"
        for c in outcome["manifest"].side_effects
        if c["rule"] in registered and (c["rule"], c["subject_type"], c["subject_id"]) not in open_keys
    ]
    assert absent == []


def test_precision_is_reported_for_every_registered_rule(outcome):
    per_rule = outcome["result"]["per_rule"]
    assert set(per_rule) == set(outcome["registered"])
    for code, row in per_rule.items():
        assert row["flagged_subjects"] >= row["found"]
        assert row["precision"] is None or 0 <= row["precision"] <= 1
        # Whatever the background adds is listed by subject, for a reviewer to judge.
        assert len(row["other"]) == row["flagged_subjects"] - row["found"] - row["side_effects"], code
