"""Competition rules CO02-CO09: a planted case is flagged, its look-alike is not, thresholds
change the outcome, a scoped run agrees with the full scan, explanations name the facts, and
the number of queries does not grow with the market.

Rounds are built with the ORM: the procurement services refuse most planted irregularities
(and would make the larger markets slow to build)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.accounts.models import Role
from marketplace.core.audit import canonical
from marketplace.core.validators import id_hash
from marketplace.oversight import services
from marketplace.oversight.models import Flag
from marketplace.oversight.rules.base import Scope, get_rule
from marketplace.oversight.rules.stats import quantile
from marketplace.procurement.models import Application, Project, Selection
from marketplace.providers.models import Shareholder
from tests.factories import (
    IntermediaryFactory,
    MembershipFactory,
    OrganisationFactory,
    ServiceTypeFactory,
    make_id_number,
)
from tests.procurement.factories import operator_user

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)
V = Application.State


class Market:
    """A small market of owners, firms and finished rounds."""

    def __init__(self):
        self.service_type = ServiceTypeFactory()
        self.owner = self.new_owner()
        self._users: dict[int, object] = {}

    def new_owner(self):
        return MembershipFactory(organisation=OrganisationFactory(kind=Role.OWNER)).organisation

    def firm(self, **kwargs):
        n = next(_numbers)
        values = {
            "phone": f"0632-{3000000 + n}",
            "email": f"firm{n}@example.cn",
            "address": f"枣庄市市中区测试路{n}号",
            "legal_representative_id_hash": id_hash(make_id_number()),
        }
        values.update(kwargs)
        return IntermediaryFactory(**values)

    def firms(self, count: int) -> list:
        return [self.firm() for _ in range(count)]

    def _user(self, organisation):
        if organisation.pk not in self._users:
            self._users[organisation.pk] = MembershipFactory(organisation=organisation).user
        return self._users[organisation.pk]

    def round(
        self,
        bids,
        *,
        winner=None,
        method: str = "lowest_price",
        owner=None,
        service_type=None,
        days_ago: int = 10,
        ips: dict | None = None,
    ) -> Project:
        """``bids``: (firm, amount) or (firm, amount, state); the winner's bid must be valid."""
        owner = owner or self.owner
        deadline = timezone.now() - timedelta(days=days_ago)
        project = Project.objects.create(
            public_number=f"ZZCO{next(_numbers):06d}",
            owner=owner,
            created_by=self._user(owner),
            title="某某道路建设项目造价咨询",
            service_type=service_type or self.service_type,
            funding_source="private",
            scale=Decimal("5000"),
            price_floor=Decimal("1000"),
            price_ceiling=Decimal("1000000"),
            service_content="编制工程量清单及招标控制价",
            service_days=30,
            method=method,
            registration_deadline=deadline,
            selection_time=deadline + timedelta(hours=1),
            status="selected" if winner else "registration_closed",
            published_at=deadline - timedelta(days=10),
        )
        applications = {}
        for bid in bids:
            firm, amount, state = (*bid, V.VALID) if len(bid) == 2 else bid
            applications[firm.pk] = Application.objects.create(
                project=project,
                intermediary=firm,
                submitted_by=self._user(firm.organisation),
                submitted_at=deadline - timedelta(days=1),
                client_ip=(ips or {}).get(firm.pk, f"10.1.{firm.pk % 250}.{firm.pk % 200 + 2}"),
                sealed_quote="sealed",
                quote_amount=Decimal(amount) if amount is not None else None,
                state=state,
                disqualification_reason="资质证书已过期" if state == V.DISQUALIFIED else "",
                withdrawn_at=deadline if state == V.WITHDRAWN else None,
            )
        if winner is not None:
            Selection.objects.create(
                project=project,
                method=method,
                performed_at=deadline + timedelta(hours=1),
                winner=applications[winner.pk],
            )
        return project


@pytest.fixture
def market():
    return Market()


def run(code: str, scope: Scope | None = None):
    return services.monitor_run(scope=scope, codes=[code])


def open_flags(code: str):
    return list(
        Flag.objects.filter(rule=code, status=Flag.Status.OPEN).order_by("subject_type", "subject_id")
    )


def update(code: str, **thresholds):
    services.rule_settings_update(
        actor=operator_user(), code=code, weight=get_rule(code).default_weight, thresholds=thresholds
    )


def matches_of(code: str, scope: Scope, keep) -> dict:
    rule = get_rule(code)
    params = rule.params({})
    return {
        (m.subject_type, m.subject_id, m.fingerprint(code)): canonical(m.evidence)
        for m in rule.find(scope, params)
        if keep(m)
    }


def count_queries(code: str) -> int:
    rule = get_rule(code)
    params = rule.params({})
    with CaptureQueriesContext(connection) as context:
        list(rule.find(Scope(), params))
    return len(context.captured_queries)


# --- planted cases (each returns what the scoped checks need) ----------------------------------


@dataclass
class Planted:
    project: Project  # a project of the case (its scope is used for the scoped run)
    subject_type: str
    subject_id: int


def plant_identical(market: Market) -> Planted:
    a, b, c = market.firms(3)
    project = market.round([(a, "80000"), (b, "80000"), (c, "90000")], winner=a)
    return Planted(project, "project", project.pk)


def plant_shared_phone(market: Market) -> Planted:
    a = market.firm(phone="0632-5551234")
    b = market.firm(phone="(0632) 555 1234")
    c = market.firm()
    project = market.round([(a, "80000"), (b, "85000"), (c, "90000")], winner=a)
    return Planted(project, "project", project.pk)


GAPS = ["0.040", "0.045", "0.050", "0.055", "0.060", "0.065", "0.070", "0.075"]


def plant_gaps(market: Market, service_type=None) -> Planted:
    """Eight ordinary rounds of one service type, one with the second quote just above the
    winner's (0.2%) and one with the winner far below everyone (40%)."""
    service_type = service_type or ServiceTypeFactory()
    projects = {}
    for gap in [*GAPS, "0.002", "0.400"]:
        winner, second, third = market.firms(3)
        quote = Decimal("100000")
        projects[gap] = market.round(
            [(winner, quote), (second, quote * (1 + Decimal(gap))), (third, quote * Decimal("1.5"))],
            winner=winner,
            service_type=service_type,
        )
    market.gap_projects = projects
    return Planted(projects["0.002"], "project", projects["0.002"].pk)


def plant_rotation(market: Market) -> Planted:
    a, b, c = market.firms(3)
    market.ring = (a, b, c)
    for winner in (a, b, c, a):
        others = [f for f in (a, b, c) if f != winner]
        market.round([(winner, "70000"), (others[0], "75000"), (others[1], "78000")], winner=winner)
    project = Application.objects.filter(intermediary=a).latest("pk").project
    return Planted(project, "intermediary", a.pk)


def plant_lowest_disqualified(market: Market) -> Planted:
    a, b, c = market.firms(3)
    project = market.round([(a, "70000", V.DISQUALIFIED), (b, "80000"), (c, "90000")], winner=b)
    return Planted(project, "project", project.pk)


def plant_others_disqualified(market: Market) -> Planted:
    a, b, c = market.firms(3)
    project = market.round(
        [(a, "90000"), (b, "70000", V.DISQUALIFIED), (c, "80000", V.DISQUALIFIED)], winner=a
    )
    return Planted(project, "project", project.pk)


def plant_owner_shares(market: Market) -> Planted:
    """Six owners with ten applications each; five disqualify 0-2 of them, one disqualifies 6."""
    pool = market.firms(5)
    owners = [market.new_owner() for _ in range(6)]
    for owner, disqualified in zip(owners, (0, 1, 1, 1, 2, 6), strict=True):
        states = [V.DISQUALIFIED] * disqualified + [V.VALID] * (10 - disqualified)
        for half in (states[:5], states[5:]):
            bids = [
                (firm, 60000 + 1000 * i, state)
                for i, (firm, state) in enumerate(zip(pool, half, strict=True))
            ]
            valid = [firm for firm, _amount, state in bids if state == V.VALID]
            market.round(bids, owner=owner, winner=valid[0] if valid else None)
    project = Project.objects.filter(owner=owners[-1]).latest("pk")
    market.strict_owner = owners[-1]
    return Planted(project, "owner", owners[-1].pk)


def plant_cover_bidder(market: Market) -> Planted:
    """A firm that joins all ten rounds and never wins; five rivals share the rounds and wins."""
    cover = market.firm(name="陪标咨询有限公司")
    rivals = market.firms(5)
    for i in range(10):
        first, second = rivals[i % 5], rivals[(i + 1) % 5]
        market.round([(first, "70000"), (second, "72000"), (cover, "79000")], winner=first)
    market.cover = cover
    project = Application.objects.filter(intermediary=cover).latest("pk").project
    return Planted(project, "intermediary", cover.pk)


PLANTERS = {
    "CO02": plant_identical,
    "CO03": plant_shared_phone,
    "CO04": plant_gaps,
    "CO05": plant_rotation,
    "CO06": plant_lowest_disqualified,
    "CO07": plant_others_disqualified,
    "CO08": plant_owner_shares,
    "CO09": plant_cover_bidder,
}


# --- the estimator ---------------------------------------------------------------------------


def test_quartiles_follow_cardinal_type_8_estimator():
    values = list(range(1, 11))
    assert quantile(values, "0.25").quantize(Decimal("0.0001")) == Decimal("2.9167")
    assert quantile(values, "0.75").quantize(Decimal("0.0001")) == Decimal("8.0833")
    assert quantile([3, 1, 2], "0.5") == 2
    assert quantile([5], "0.25") == 5
    assert quantile([1, 2], "0.75") == 2


# --- CO02 identical quotes ---------------------------------------------------------------------


def test_co02_identical_quotes_in_a_price_competition_are_flagged(market):
    planted = plant_identical(market)
    run("CO02")
    [flag] = open_flags("CO02")
    assert (flag.subject_type, flag.subject_id, flag.project_id) == (
        "project",
        planted.project.pk,
        planted.project.pk,
    )
    [group] = flag.evidence["groups"]
    assert group["amount"] == "80000.00" and len(group["firms"]) == 2
    assert flag.evidence["method"] == "lowest_price"


def test_co02_identical_quotes_in_a_random_draw_at_the_fixed_price_are_not_flagged(market):
    firms = market.firms(4)
    market.round([(f, "60000") for f in firms], winner=firms[2], method="random_draw")
    run("CO02")
    assert open_flags("CO02") == []


def test_co02_a_disqualified_copy_of_a_quote_counts_but_a_withdrawn_one_does_not(market):
    a, b, c = market.firms(3)
    counted = market.round([(a, "80000"), (b, "80000", V.DISQUALIFIED)], winner=a)
    market.round([(a, "80000"), (c, None, V.WITHDRAWN)], winner=a)
    run("CO02")
    assert [f.subject_id for f in open_flags("CO02")] == [counted.pk]


def test_co02_raising_the_number_of_firms_clears_a_pair(market):
    plant_identical(market)
    run("CO02")
    update("CO02", min_firms=3)
    run("CO02")
    assert open_flags("CO02") == []
    assert Flag.objects.get(rule="CO02").status == Flag.Status.RESOLVED


def test_co02_explains_amount_and_firms(market):
    plant_identical(market)
    run("CO02")
    flag = open_flags("CO02")[0]
    rule = get_rule("CO02")
    names = [f["name"] for f in flag.evidence["groups"][0]["firms"]]
    for language in ("zh-hans", "en"):
        text = rule.explain(flag.evidence, language)
        assert flag.evidence["project"] in text and "80000.00" in text
        assert all(name in text for name in names)
    assert "均报价" in rule.explain(flag.evidence) and "same amount" in rule.explain(flag.evidence, "en")


# --- CO03 shared contacts ------------------------------------------------------------------------


def test_co03_applicants_sharing_a_phone_written_differently_are_flagged(market):
    planted = plant_shared_phone(market)
    run("CO03")
    [flag] = open_flags("CO03")
    assert (flag.subject_type, flag.subject_id) == ("project", planted.project.pk)
    [shared] = flag.evidence["shared"]
    assert shared["kind"] == "phone" and len(shared["firms"]) == 2


def test_co03_a_common_shareholder_and_a_firm_holding_another_are_flagged(market):
    a, b, c = market.firms(3)
    person = id_hash(make_id_number())
    for firm in (a, b):
        Shareholder.objects.create(intermediary=firm, kind="person", name="王五", id_hash=person, share=30)
    Shareholder.objects.create(intermediary=c, kind="firm", name=a.name, uscc=a.uscc, share=51)
    market.round([(a, "80000"), (b, "85000"), (c, "90000")], winner=a)
    run("CO03")
    [flag] = open_flags("CO03")
    kinds = {(s["kind"], s["value"]): {f["uscc"] for f in s["firms"]} for s in flag.evidence["shared"]}
    assert kinds == {("person", "王五"): {a.uscc, b.uscc}, ("firm", a.name): {a.uscc, c.uscc}}
    assert person not in str(flag.evidence)  # a person appears by name, never by the ID hash


def test_co03_a_shared_network_address_is_flagged_unless_operators_turn_it_off(market):
    a, b, c = market.firms(3)
    project = market.round(
        [(a, "80000"), (b, "85000"), (c, "90000")], winner=a, ips={a.pk: "10.9.8.7", b.pk: "10.9.8.7"}
    )
    run("CO03")
    [flag] = open_flags("CO03")
    assert flag.subject_id == project.pk
    assert flag.evidence["shared"] == [
        {
            "kind": "ip",
            "value": "10.9.8.7",
            "firms": sorted(({"name": f.name, "uscc": f.uscc} for f in (a, b)), key=lambda f: f["uscc"]),
        }
    ]
    update("CO03", network_address=False)
    run("CO03")
    assert open_flags("CO03") == []


def test_co03_linked_firms_in_different_rounds_and_independent_applicants_are_not_flagged(market):
    a = market.firm(phone="0632-5551234", address="枣庄市市中区光明路1号")
    b = market.firm(phone="0632-5551234", address="枣庄市 市中区 光明路 1号")
    c, d = market.firms(2)
    market.round([(a, "80000"), (c, "85000")], winner=a)
    market.round([(b, "80000"), (d, "85000")], winner=b)
    market.round([(c, "80000"), (d, "85000")], winner=c)
    run("CO03")
    assert open_flags("CO03") == []


def test_co03_explains_what_is_shared_by_whom(market):
    plant_shared_phone(market)
    run("CO03")
    flag = open_flags("CO03")[0]
    rule = get_rule("CO03")
    names = [f["name"] for f in flag.evidence["shared"][0]["firms"]]
    zh, en = rule.explain(flag.evidence), rule.explain(flag.evidence, "en")
    assert "联系电话" in zh and "phone" in en
    for text in (zh, en):
        assert flag.evidence["project"] in text and all(name in text for name in names)


# --- CO04 gap between the winner and the second quote -----------------------------------------


def test_co04_a_second_quote_just_above_and_a_winner_far_below_are_flagged(market):
    plant_gaps(market)
    run("CO04")
    flags = {f.subject_id: f for f in open_flags("CO04")}
    close, far = market.gap_projects["0.002"], market.gap_projects["0.400"]
    assert set(flags) == {close.pk, far.pk}
    assert flags[close.pk].evidence["direction"] == "close" and flags[close.pk].evidence["gap"] == "0.0020"
    assert flags[far.pk].evidence["direction"] == "far" and flags[far.pk].evidence["gap"] == "0.4000"
    assert flags[close.pk].evidence["peers"] == 10
    assert Decimal(flags[close.pk].evidence["lower"]) > Decimal("0.002")


def test_co04_rounds_of_a_service_type_with_too_few_rounds_are_not_judged(market):
    plant_gaps(market)
    other_type = ServiceTypeFactory()
    winner, second = market.firms(2)
    odd = market.round([(winner, "100000"), (second, "100100")], winner=winner, service_type=other_type)
    run("CO04")
    assert odd.pk not in {f.subject_id for f in open_flags("CO04")}


def test_co04_a_reference_price_round_won_above_the_lowest_quote_is_left_out(market):
    service_type = ServiceTypeFactory()
    plant_gaps(market, service_type)
    lowest, winner = market.firms(2)
    odd = market.round(
        [(lowest, "99900"), (winner, "100000")],
        winner=winner,
        method="reference_price",
        service_type=service_type,
    )
    run("CO04")
    assert odd.pk not in {f.subject_id for f in open_flags("CO04")}
    assert {f.evidence["peers"] for f in open_flags("CO04")} == {10}


def test_co04_requiring_more_rounds_per_service_type_clears_the_flags(market):
    plant_gaps(market)
    run("CO04")
    update("CO04", min_projects=11)
    run("CO04")
    assert open_flags("CO04") == []


def test_co04_explains_quotes_gap_and_fence(market):
    plant_gaps(market)
    run("CO04")
    flag = next(f for f in open_flags("CO04") if f.evidence["direction"] == "close")
    rule = get_rule("CO04")
    zh, en = rule.explain(flag.evidence), rule.explain(flag.evidence, "en")
    for text in (zh, en):
        assert flag.evidence["project"] in text and "0.20%" in text
        assert flag.evidence["winner"] in text and flag.evidence["second"] in text
    assert "下限" in zh and "lower fence" in en


# --- CO05 bid rotation ---------------------------------------------------------------------------


def test_co05_three_firms_taking_turns_to_win_are_each_flagged(market):
    plant_rotation(market)
    run("CO05")
    flags = open_flags("CO05")
    assert sorted(f.subject_id for f in flags) == sorted(f.pk for f in market.ring)
    assert all(f.subject_type == "intermediary" and f.intermediary_id == f.subject_id for f in flags)
    evidence = flags[0].evidence
    assert len(evidence["rounds"]) == 4 and evidence["winners"] == 3
    assert [f["uscc"] for f in evidence["firms"]] == sorted(f.uscc for f in market.ring)


def test_co05_a_single_pair_taking_turns_is_not_a_group(market):
    a, b = market.firms(2)
    for winner in (a, b, a, b, a):
        loser = b if winner == a else a
        market.round([(winner, "70000"), (loser, "75000")], winner=winner)
    run("CO05")
    assert open_flags("CO05") == []


def test_co05_a_group_where_one_firm_always_wins_or_draws_decide_is_not_rotation(market):
    a, b, c = market.firms(3)
    for _ in range(4):
        market.round([(a, "70000"), (b, "75000"), (c, "78000")], winner=a)
    d, e, f = market.firms(3)
    for winner in (d, e, f, d):
        market.round([(d, "60000"), (e, "60000"), (f, "60000")], winner=winner, method="random_draw")
    run("CO05")
    assert open_flags("CO05") == []


def test_co05_a_fourth_member_makes_one_larger_group_not_two_flags(market):
    a, b, c, d = market.firms(4)
    for winner in (a, b, c, a):
        market.round([(f, str(70000 + 1000 * i)) for i, f in enumerate((a, b, c, d))], winner=winner)
    run("CO05")
    flags = open_flags("CO05")
    assert len(flags) == 4
    assert {len(f.evidence["firms"]) for f in flags} == {4}


def test_co05_stays_bounded_when_many_firms_enter_the_same_rounds(market, monkeypatch, caplog):
    from marketplace.oversight.rules import competition

    monkeypatch.setattr(competition, "MAX_CANDIDATES", 30)
    crowd = market.firms(10)  # C(10, 3) = 120 groups of three would be examined, and so on
    for winner in crowd[:4]:
        market.round([(f, str(70000 + 1000 * i)) for i, f in enumerate(crowd)], winner=winner)
    plant_rotation(market)
    with caplog.at_level("WARNING", logger=competition.__name__):
        run("CO05")
    assert "its groups larger than 2 are not examined" in caplog.text
    # The crowd's search stopped (reported in the log), the ring's did not.
    assert sorted(f.subject_id for f in open_flags("CO05")) == sorted(f.pk for f in market.ring)


def test_co05_requiring_more_rounds_clears_the_group(market):
    plant_rotation(market)
    run("CO05")
    update("CO05", min_rounds=5)
    run("CO05")
    assert open_flags("CO05") == []


def test_co05_explains_the_group_rounds_and_winners(market):
    plant_rotation(market)
    run("CO05")
    flag = open_flags("CO05")[0]
    rule = get_rule("CO05")
    for language in ("zh-hans", "en"):
        text = rule.explain(flag.evidence, language)
        assert all(f.name in text for f in market.ring)
        assert all(r["project"] in text for r in flag.evidence["rounds"])
    assert "轮流中选" in rule.explain(flag.evidence) and "took turns" in rule.explain(flag.evidence, "en")


# --- CO06 lowest quote disqualified --------------------------------------------------------------


def test_co06_a_disqualified_lowest_quote_in_a_price_round_is_flagged(market):
    planted = plant_lowest_disqualified(market)
    run("CO06")
    [flag] = open_flags("CO06")
    assert flag.subject_id == planted.project.pk
    assert flag.evidence["quote"] == "70000.00" and flag.evidence["lowest_valid"] == "80000.00"
    assert flag.evidence["reason"] == "资质证书已过期" and flag.evidence["winner_quote"] == "80000.00"


def test_co06_not_in_a_draw_nor_when_a_valid_quote_is_as_low(market):
    a, b, c = market.firms(3)
    market.round([(a, "60000", V.DISQUALIFIED), (b, "60000"), (c, "60000")], winner=b, method="random_draw")
    market.round([(a, "70000", V.DISQUALIFIED), (b, "70000"), (c, "90000")], winner=b)
    market.round([(a, "80000", V.DISQUALIFIED), (b, "70000"), (c, "90000")], winner=b)
    run("CO06")
    assert open_flags("CO06") == []


def test_co06_a_flag_resolves_when_the_disqualification_is_reversed(market):
    planted = plant_lowest_disqualified(market)
    run("CO06")
    Application.objects.filter(project=planted.project, state=V.DISQUALIFIED).update(state=V.VALID)
    run("CO06", services.scope_for_project(planted.project.pk))
    assert Flag.objects.get(rule="CO06").status == Flag.Status.RESOLVED


def test_co06_explains_firm_quote_and_reason(market):
    plant_lowest_disqualified(market)
    run("CO06")
    flag = open_flags("CO06")[0]
    rule = get_rule("CO06")
    for language in ("zh-hans", "en"):
        text = rule.explain(flag.evidence, language)
        assert flag.evidence["firm"] in text and "70000.00" in text and "资质证书已过期" in text
        assert flag.evidence["winner"] in text


# --- CO07 all others disqualified ----------------------------------------------------------------


def test_co07_a_winner_alone_valid_among_disqualified_rivals_is_flagged(market):
    planted = plant_others_disqualified(market)
    run("CO07")
    [flag] = open_flags("CO07")
    assert flag.subject_id == planted.project.pk
    assert len(flag.evidence["disqualified"]) == 2
    assert {d["reason"] for d in flag.evidence["disqualified"]} == {"资质证书已过期"}


def test_co07_rivals_that_withdrew_or_stayed_valid_are_not_flagged(market):
    a, b, c = market.firms(3)
    market.round([(a, "90000"), (b, None, V.WITHDRAWN), (c, None, V.WITHDRAWN)], winner=a)
    market.round([(a, "90000"), (b, "70000", V.DISQUALIFIED), (c, "95000")], winner=a)
    run("CO07")
    assert open_flags("CO07") == []


def test_co07_requiring_more_disqualified_rivals_clears_the_flag(market):
    plant_others_disqualified(market)
    run("CO07")
    update("CO07", min_others=3)
    run("CO07")
    assert open_flags("CO07") == []


def test_co07_explains_winner_and_disqualified(market):
    plant_others_disqualified(market)
    run("CO07")
    flag = open_flags("CO07")[0]
    rule = get_rule("CO07")
    for language in ("zh-hans", "en"):
        text = rule.explain(flag.evidence, language)
        assert flag.evidence["winner"] in text and flag.evidence["project"] in text
        assert all(d["name"] in text for d in flag.evidence["disqualified"])


# --- CO08 owner disqualifying many ---------------------------------------------------------------


def test_co08_an_owner_disqualifying_far_more_than_its_peers_is_flagged(market):
    planted = plant_owner_shares(market)
    run("CO08")
    [flag] = open_flags("CO08")
    assert (flag.subject_type, flag.subject_id, flag.owner_id) == (
        "owner",
        planted.subject_id,
        planted.subject_id,
    )
    assert flag.evidence["applications"] == 10 and flag.evidence["disqualified"] == 6
    assert flag.evidence["share"] == "0.6000" and flag.evidence["owners"] == 6


def test_co08_an_owner_with_too_few_applications_is_not_judged(market):
    plant_owner_shares(market)
    small = market.new_owner()
    firms = market.firms(4)
    market.round(
        [(f, "70000", V.DISQUALIFIED) for f in firms[:3]] + [(firms[3], "80000")],
        owner=small,
        winner=firms[3],
    )
    run("CO08")
    assert small.pk not in {f.subject_id for f in open_flags("CO08")}


def test_co08_rounds_outside_the_window_do_not_count(market):
    plant_owner_shares(market)
    Project.objects.filter(owner=market.strict_owner).update(
        registration_deadline=timezone.now() - timedelta(days=400)
    )
    run("CO08")
    assert open_flags("CO08") == []


def test_co08_a_wider_fence_clears_the_owner(market):
    plant_owner_shares(market)
    run("CO08")
    update("CO08", iqr_multiplier="3")
    run("CO08")
    assert open_flags("CO08") == []


def test_co08_explains_counts_share_and_fence(market):
    plant_owner_shares(market)
    run("CO08")
    flag = open_flags("CO08")[0]
    rule = get_rule("CO08")
    for language in ("zh-hans", "en"):
        text = rule.explain(flag.evidence, language)
        assert flag.evidence["owner"] in text and "60.00%" in text and " 6 " in f" {text} "


# --- CO09 cover bidding --------------------------------------------------------------------------


def test_co09_a_frequent_bidder_that_never_wins_is_flagged(market):
    plant_cover_bidder(market)
    run("CO09")
    [flag] = open_flags("CO09")
    assert (flag.subject_type, flag.subject_id, flag.intermediary_id) == (
        "intermediary",
        market.cover.pk,
        market.cover.pk,
    )
    assert flag.evidence["bids"] == 10 and flag.evidence["wins"] == 0 and flag.evidence["firms"] == 6


def test_co09_a_firm_winning_because_it_alone_qualifies_and_its_disqualified_rivals_are_not_flagged(market):
    only, *others = market.firms(4)
    for _ in range(10):
        market.round([(only, "90000")] + [(f, "70000", V.DISQUALIFIED) for f in others], winner=only)
    update("CO09", min_bids=2)
    run("CO09")
    assert open_flags("CO09") == []


def test_co09_losing_draws_is_not_cover_bidding(market):
    unlucky, *rivals = market.firms(4)
    for i in range(10):
        market.round(
            [(unlucky, "60000")] + [(f, "60000") for f in rivals], winner=rivals[i % 3], method="random_draw"
        )
    run("CO09")
    assert open_flags("CO09") == []


def test_co09_requiring_more_bids_clears_the_firm(market):
    plant_cover_bidder(market)
    run("CO09")
    update("CO09", min_bids=11)
    run("CO09")
    assert open_flags("CO09") == []


def test_co09_explains_bids_and_wins(market):
    plant_cover_bidder(market)
    run("CO09")
    flag = open_flags("CO09")[0]
    rule = get_rule("CO09")
    zh, en = rule.explain(flag.evidence), rule.explain(flag.evidence, "en")
    for text in (zh, en):
        assert "陪标咨询有限公司" in text and "10" in text and "0.00%" in text
    assert "仅中选 0 次" in zh and "won 0" in en


# --- every rule: scoped runs and query counts ------------------------------------------------------


def test_co08_a_scoped_run_leaves_owners_to_the_full_scan(market):
    planted = plant_owner_shares(market)
    run("CO08")
    before = [(f.pk, f.status, f.evidence) for f in Flag.objects.filter(rule="CO08")]
    summary = run("CO08", services.scope_for_project(planted.project.pk)).summary
    assert "CO08" not in summary  # not triggered by a project change
    assert [(f.pk, f.status, f.evidence) for f in Flag.objects.filter(rule="CO08")] == before


@pytest.mark.parametrize("code", sorted(set(PLANTERS) - {"CO08"}))
def test_a_scoped_run_gives_the_same_flags_as_the_full_scan(market, code):
    planted = PLANTERS[code](market)
    plant_identical(market)  # unrelated noise for the rules that look elsewhere
    scope = services.scope_for_project(planted.project.pk)

    def about_subject(match):
        return (match.subject_type, match.subject_id) == (planted.subject_type, planted.subject_id)

    full = matches_of(code, Scope(), about_subject)
    assert full, "the planted case must be found"
    assert matches_of(code, scope, about_subject) == full
    run(code)
    before = [(f.pk, f.status, f.evidence) for f in Flag.objects.filter(rule=code).order_by("pk")]
    summary = run(code, scope).summary[code]
    assert summary["new"] == 0 and summary["resolved"] == 0 and summary["matches"] >= 1
    assert [(f.pk, f.status, f.evidence) for f in Flag.objects.filter(rule=code).order_by("pk")] == before


@pytest.mark.parametrize("code", sorted(PLANTERS))
def test_the_number_of_queries_does_not_grow_with_the_market(market, code):
    PLANTERS[code](market)
    small = count_queries(code)
    for _ in range(3):
        PLANTERS[code](market)
        plant_identical(market)
        plant_lowest_disqualified(market)
    # CO04 and CO09 also store their peer statistics (delete and insert in a transaction).
    assert count_queries(code) == small <= (5 if code in ("CO04", "CO09") else 3)


def test_co06_ignores_a_winner_removed_by_an_upheld_objection():
    from marketplace.oversight import services as oversight
    from marketplace.oversight.models import Flag
    from marketplace.procurement import services as procurement
    from marketplace.procurement.models import Objection
    from tests.procurement.factories import firm_user, pass_deadline, published_project

    project = published_project()
    owner = project.created_by
    firms = [firm_user(project.service_type) for _ in range(4)]
    for (_firm, user), quote in zip(firms, ["60000", "70000", "80000", "90000"], strict=True):
        procurement.application_submit(actor=user, project=project, quote=Decimal(quote))
    pass_deadline(project)
    procurement.tick()
    procurement.objection_file(actor=firms[1][1], project=project, text="中选机构从业人员不足")
    procurement.objection_answer(
        actor=owner, objection=Objection.objects.get(project=project), upheld=True, answer="经核实异议成立"
    )
    project.refresh_from_db()
    assert project.selections.filter(annulled=True).exists()

    oversight.monitor_run(codes=["CO06"])

    assert not Flag.objects.filter(rule="CO06", project=project).exists()
