"""The rules that carry an OCP red-flag code select, on a small market, exactly the processes
that the published indicator definition selects on the market's OCDS export (``cardinal``
computes them from the JSON alone). Where a rule departs from the indicator on purpose, a test
below names the case and shows the difference."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from marketplace.core.workdays import is_working_day
from marketplace.oversight import services
from marketplace.oversight.models import Flag
from marketplace.oversight.ocds.mapping import ocid
from marketplace.procurement.models import Application, Project, Selection

from . import cardinal
from .helpers import FullMarket, export

pytestmark = pytest.mark.django_db
V = Application.State
# Cardinal's setting for a platform whose random draws and direct selections have no price
# competition (DESIGN section 6: the owner fixes the price or picks).
NO_PRICE_COMPARISON = {"randomDraw", "directSelection"}


@pytest.fixture
def market():
    return FullMarket()


def flagged_by(code: str) -> set[str]:
    """The ocids of the projects the rule flags, after a full run."""
    services.monitor_run(codes=[code])
    numbers = Flag.objects.filter(rule=code, status=Flag.Status.OPEN, project__isnull=False).values_list(
        "project__public_number", flat=True
    )
    return {ocid(number) for number in numbers}


def ocids(*projects: Project) -> set[str]:
    by_number = {r["tender"]["id"]: r["ocid"] for r in export()["releases"]}
    return {by_number[p.public_number] for p in projects}


# --- R018 single bid / CO01 ------------------------------------------------------------------------


def test_co01_and_r018_select_the_same_rounds(market):
    a, b, c = market.firms(3)
    single = market.round([(a, "80000")], winner=a)
    single_draw = market.round([(b, "50000")], method="random_draw")
    Project.objects.filter(pk=single_draw.pk).update(status="failed")
    market.round([(a, "80000"), (b, "90000")], winner=a)  # two bids
    market.round([(c, "80000")], winner=c, method="direct")  # not a competitive method
    sealed = market.round([(a, "80000")])
    Project.objects.filter(pk=sealed.pk).update(
        status="published", registration_deadline=timezone.now() + timedelta(days=2)
    )
    expected = ocids(single, single_draw)
    assert cardinal.r018(export()["releases"]) == expected
    assert flagged_by("CO01") == expected


def test_co01_counts_valid_applicants_where_r018_counts_every_bid(market):
    """A departure by design, reported to the rule's owner: OCDS numberOfTenderers counts every
    firm that bid, CO01 the valid ones. A lone valid bid beside a disqualified one is CO01 only;
    a lone bid that was disqualified is R018 only."""
    a, b = market.firms(2)
    one_valid_one_out = market.round([(a, "80000"), (b, "70000", V.DISQUALIFIED)], winner=a)
    lone_disqualified = market.round([(b, "70000", V.DISQUALIFIED)])
    releases = export()["releases"]
    assert cardinal.r018(releases) == ocids(lone_disqualified)
    assert flagged_by("CO01") == ocids(one_valid_one_out)


# --- R028 identical bid prices / CO02 ---------------------------------------------------------------


def test_co02_and_r028_select_the_same_rounds(market):
    a, b, c, d = market.firms(4)
    lowest = market.round([(a, "80000"), (b, "80000"), (c, "90000")], winner=a)
    scored = market.round([(a, "60000"), (c, "60000")], winner=c, method="scored_comparison")
    with_disqualified = market.round([(a, "75000"), (d, "75000", V.DISQUALIFIED)], winner=a)
    market.round([(a, "50000"), (b, "50000")], winner=b, method="random_draw")  # fixed price
    market.round([(a, "50000"), (b, "50000")], winner=b, method="direct")  # a pick
    market.round([(a, "81000"), (b, "82000")], winner=a)  # different prices
    market.round([(a, "83000"), (b, "83000", V.WITHDRAWN)], winner=a)  # withdrawn bid
    expected = ocids(lowest, scored, with_disqualified)
    assert cardinal.r028(export()["releases"], no_price_comparison=NO_PRICE_COMPARISON) == expected
    assert flagged_by("CO02") == expected


# --- R035 all except winning bid disqualified / CO07 -----------------------------------------------


def test_co07_and_r035_select_the_same_rounds(market):
    a, b, c = market.firms(3)
    others_out = market.round(
        [(a, "80000"), (b, "70000", V.DISQUALIFIED), (c, "75000", V.DISQUALIFIED)], winner=a
    )
    market.round([(a, "80000"), (b, "85000")], winner=a)  # a valid rival
    market.round([(a, "80000")], winner=a)  # nobody else applied
    pending = market.round([(a, "80000"), (b, "70000", V.DISQUALIFIED)])  # owner still to pick
    Selection.objects.create(project=pending, method="credit_preference", performed_at=timezone.now())
    # The first winner's award annulled on an upheld objection, then awarded to the only valid firm.
    reawarded = market.round([(a, "80000"), (b, "70000", V.DISQUALIFIED), (c, "90000", V.DISQUALIFIED)])
    first, second = (
        Application.objects.get(project=reawarded, intermediary=b),
        Application.objects.get(project=reawarded, intermediary=a),
    )
    Selection.objects.create(
        project=reawarded,
        round=1,
        method="lowest_price",
        performed_at=timezone.now(),
        winner=first,
        annulled=True,
    )
    Selection.objects.create(
        project=reawarded, round=2, method="lowest_price", performed_at=timezone.now(), winner=second
    )
    Project.objects.filter(pk=reawarded.pk).update(status="selected")
    expected = ocids(others_out, reawarded)
    assert cardinal.r035(export()["releases"]) == expected
    assert flagged_by("CO07") == expected


# --- R036 lowest bid disqualified / CO06 ------------------------------------------------------------


def test_co06_and_r036_select_the_same_rounds(market):
    a, b, c = market.firms(3)
    lowest_out = market.round([(a, "85000"), (b, "90000"), (c, "70000", V.DISQUALIFIED)], winner=a)
    reference = market.round(
        [(a, "85000"), (b, "90000"), (c, "60000", V.DISQUALIFIED)], winner=b, method="reference_price"
    )
    market.round([(a, "70000"), (c, "70000", V.DISQUALIFIED)], winner=a)  # a valid bid as low
    market.round([(a, "85000"), (c, "70000", V.DISQUALIFIED)], winner=a, method="scored_comparison")
    market.round([(a, "85000"), (c, "70000", V.DISQUALIFIED)])  # no award yet
    market.round([(a, "70000"), (c, "85000", V.DISQUALIFIED)], winner=a)  # a higher bid out
    expected = ocids(lowest_out, reference)
    assert cardinal.r036(export()["releases"]) == expected
    assert flagged_by("CO06") == expected


def test_co06_leaves_out_a_winner_removed_by_an_upheld_objection_where_r036_does_not(market):
    """A departure by design: the lowest bidder won, an objection against it was upheld (its
    award cancelled, its bid disqualified) and the next firm won. Due process, not the owner,
    removed it, so CO06 stays silent; R036 cannot tell from the export and flags it."""
    a, b = market.firms(2)
    project = market.round([(a, "80000"), (b, "70000", V.DISQUALIFIED)])
    removed, second = (
        Application.objects.get(project=project, intermediary=b),
        Application.objects.get(project=project, intermediary=a),
    )
    Selection.objects.create(
        project=project,
        round=1,
        method="lowest_price",
        performed_at=timezone.now(),
        winner=removed,
        annulled=True,
    )
    Selection.objects.create(
        project=project, round=2, method="lowest_price", performed_at=timezone.now(), winner=second
    )
    Project.objects.filter(pk=project.pk).update(status="selected")
    assert cardinal.r036(export()["releases"]) == ocids(project)
    assert flagged_by("CO06") == set()


# --- R003 short submission period / PR01 -----------------------------------------------------------


def test_pr01_and_r003_select_the_same_projects_on_weeks_without_holidays(market):
    """PR01 counts working days (5), R003 calendar days. For projects published on a Monday of
    weeks with no holiday or make-up day, 5 working days are exactly 7 calendar days, so with
    Cardinal's threshold set to 7 (its settings file allows it) the two must agree."""
    monday = datetime(2026, 3, 9, 9, 0)  # March 2026: no public holiday, no make-up working day
    span = [monday.date() + timedelta(days=n) for n in range(21)]
    assert all(is_working_day(d) == (d.weekday() < 5) for d in span)
    a = market.firm()
    projects = {}
    for days in (1, 2, 4, 5, 6, 7, 8, 14):
        for week in (0, 1):
            published = timezone.make_aware(monday + timedelta(weeks=week))
            project = market.round([(a, "80000")], winner=a)
            deadline = published + timedelta(days=days, hours=8)
            Project.objects.filter(pk=project.pk).update(
                published_at=published, registration_deadline=deadline, selection_time=deadline
            )
            projects[(days, week)] = project
    short = [p for (days, _week), p in projects.items() if days < 7]
    expected = ocids(*short)
    assert cardinal.r003(export()["releases"], threshold=7) == expected
    assert flagged_by("PR01") == expected
