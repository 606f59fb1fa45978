"""CO06 in a per-change run reads the scoped rounds' quotes in one plain query and decides in
Python (``LowestQuoteDisqualified._scoped``); it must agree with the full scan's query on every
corner the query handles: ties, an objection upheld against a disqualified winner, a round
without a standing result or without a valid quote, a re-run selection, and methods in which
the price does not decide alone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketplace.oversight import services
from marketplace.oversight.rules.base import Scope
from marketplace.procurement.models import Application, Project, Selection
from tests.oversight.test_competition import Market, V, matches_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def market():
    return Market()


def corner_rounds(market: Market) -> list[Project]:
    rounds = []

    def round_(bids, **kwargs):
        rounds.append(market.round(bids, **kwargs))
        return rounds[-1]

    a, b, c, d = market.firms(4)
    round_([(a, "70000", V.DISQUALIFIED), (b, "80000"), (c, "90000")], winner=b)  # flagged
    round_([(a, "70000", V.DISQUALIFIED), (b, "70000"), (c, "90000")], winner=b)  # a tie: not
    # Two disqualified quotes as low as each other: the first application is named.
    round_([(c, "60000", V.DISQUALIFIED), (d, "60000", V.DISQUALIFIED), (a, "80000")], winner=a)
    round_([(a, "70000", V.DISQUALIFIED), (b, "80000")], winner=None)  # no result: not
    round_([(a, "70000", V.DISQUALIFIED), (b, "80000", V.DISQUALIFIED)], winner=None)  # no valid
    round_([(a, "70000", V.DISQUALIFIED), (b, "80000")], winner=b, method="scored_comparison")
    round_([(a, "70000", V.DISQUALIFIED), (b, "80000"), (d, None)], winner=b, method="reference_price")
    round_([(a, "50000", V.WITHDRAWN), (b, "80000"), (c, "85000", V.DISQUALIFIED)], winner=b)
    # An objection upheld against the first winner (disqualified since), the round re-run.
    upheld = round_([(a, "70000"), (b, "80000"), (c, "90000")], winner=a)
    Application.objects.filter(project=upheld, intermediary=a).update(state=V.DISQUALIFIED)
    Selection.objects.filter(project=upheld).update(annulled=True)
    Selection.objects.create(
        project=upheld,
        round=2,
        method=upheld.method,
        performed_at=upheld.selection_time + timedelta(days=1),
        winner=Application.objects.get(project=upheld, intermediary=b),
    )
    # A re-run selection after an annulled one that the objection did not concern.
    rerun = round_([(c, "65000", V.DISQUALIFIED), (a, "70000"), (b, "80000")], winner=a)
    Selection.objects.filter(project=rerun).update(annulled=True)
    Selection.objects.create(
        project=rerun,
        round=2,
        method=rerun.method,
        performed_at=rerun.selection_time + timedelta(days=1),
        winner=Application.objects.get(project=rerun, intermediary=b),
    )
    market.corner_firms = (a, b, c, d)
    return rounds


def test_a_scoped_run_agrees_with_the_full_scan_on_every_corner(market):
    rounds = corner_rounds(market)
    full = matches_of("CO06", Scope(), lambda m: True)
    flagged = {subject for _type, subject, _fp in full}
    assert flagged == {rounds[0].pk, rounds[2].pk, rounds[6].pk, rounds[9].pk}
    for project in rounds:
        scope = services.scope_for_project(project.pk)
        assert matches_of("CO06", scope, lambda m: True) == matches_of(
            "CO06", Scope(), lambda m, pk=project.pk: m.subject_id == pk
        ), project.public_number
    every = Scope(project_ids=[p.pk for p in rounds], intermediary_ids=[])
    assert matches_of("CO06", every, lambda m: True) == full
    firm = services.scope_for_intermediary(market.corner_firms[0].pk)
    assert matches_of("CO06", firm, lambda m: True) == full


def test_the_tied_disqualified_quote_named_is_the_first_application(market):
    rounds = corner_rounds(market)
    [evidence] = matches_of("CO06", services.scope_for_project(rounds[2].pk), lambda m: True).values()
    assert evidence["firm"] == market.corner_firms[2].name
    [evidence] = matches_of("CO06", services.scope_for_project(rounds[9].pk), lambda m: True).values()
    assert evidence["winner"] == market.corner_firms[1].name  # the standing (second) selection
