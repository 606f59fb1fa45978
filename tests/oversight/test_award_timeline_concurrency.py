"""FA03's award timeline under two per-change scans at once, on PostgreSQL: the state row's lock
makes one of them take in the new awards and the other see them taken, so every award is
numbered once and the numbers stay in time order."""

from __future__ import annotations

import time

import pytest

from marketplace.oversight import services
from marketplace.oversight.models import AwardTimeline, Flag
from marketplace.oversight.rules.forced_agency import timeline
from tests.conftest import requires_postgres
from tests.procurement.test_concurrency import race

from .test_forced_agency import Market

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_changes_at_once_number_each_new_award_once(monkeypatch):
    sync_projects = timeline._sync_projects

    def slow_sync(project_ids):  # both scans are inside the sync at the same time
        time.sleep(0.5)
        sync_projects(project_ids)

    monkeypatch.setattr(timeline, "_sync_projects", slow_sync)
    market = Market()
    item = market.approval_item()
    favourite = market.firm()
    rivals = [market.firm() for _ in range(3)]
    owner = market.owner()
    for i in range(6):
        market.won(owner, rivals[i % 3], days_ago=15 + i * 20, approval_item=item)
    market.won(owner, favourite, days_ago=40, approval_item=item)
    services.monitor_run(codes=["FA03"])  # the timeline holds the seven awards
    first = market.won(owner, favourite, days_ago=2, approval_item=item)
    second = market.won(owner, favourite, days_ago=1, approval_item=item)
    third = market.won(owner, favourite, days_ago=3, approval_item=item)

    results = race(
        lambda: services.monitor_run(scope=services.scope_for_project(first.pk, "selected"), codes=["FA03"]),
        lambda: services.monitor_run(scope=services.scope_for_project(second.pk, "selected"), codes=["FA03"]),
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    rows = list(AwardTimeline.objects.filter(department=item.department).order_by("at", "selection_id"))
    assert [row.seq for row in rows] == list(range(1, 11))
    assert {row.project_id for row in rows} >= {first.pk, second.pk, third.pk}
    (flag,) = Flag.objects.filter(rule="FA03", status=Flag.Status.OPEN)
    assert (flag.intermediary_id, flag.evidence["won"], flag.evidence["total"]) == (favourite.pk, 4, 10)
