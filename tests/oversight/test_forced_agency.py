"""Forced-agency rules FA01-FA09: each planted violation is flagged with the right subject and
evidence, its clean look-alike is not, thresholds change the outcome, a scoped run agrees with
the full scan, explanations name the facts in both languages, and the number of queries does not
grow with the market.

Awards, contracts and tailored requirements are planted with the ORM: the services refuse most
of these violations (a direct selection above the threshold, a regional requirement), and a
rule needs many rounds at chosen dates that the services would take minutes to produce.
"""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.accounts.models import Role
from marketplace.catalog.models import ApprovalItem
from marketplace.core.audit import canonical
from marketplace.oversight import intake, services
from marketplace.oversight.models import FiledReport, Flag, MonitorRun
from marketplace.oversight.rules.base import Scope, get_rule
from marketplace.procurement.models import (
    Amendment,
    Application,
    Contract,
    Project,
    Requirement,
    Selection,
    Status,
)
from tests.factories import (
    DepartmentFactory,
    IntermediaryFactory,
    OfferFactory,
    OrganisationFactory,
    QualificationLevelFactory,
    QualificationTypeFactory,
    ServiceTypeFactory,
    UserFactory,
    allow_qualification,
    make_uscc,
)
from tests.procurement.factories import operator_user

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)


# --- a small market, planted with the ORM ------------------------------------------------------


class Market:
    """Owners, firms and projects at chosen dates. Every firm made by ``firm`` offers the
    service type, so it counts as a rival of the others."""

    def __init__(self):
        self.service_type = ServiceTypeFactory(standard_practitioners=2)
        self.clerk = UserFactory()
        self.now = timezone.now()

    def owner(self, name: str | None = None):
        return OrganisationFactory(kind=Role.OWNER, **({"name": name} if name else {}))

    def firm(self, service_type=None, **kwargs):
        firm = IntermediaryFactory(**kwargs)
        OfferFactory(intermediary=firm, service_type=service_type or self.service_type)
        return firm

    def project(self, owner, *, days_ago: int = 0, **fields) -> Project:
        at = self.now - timedelta(days=days_ago)
        values = {
            "public_number": f"ZZ-FA-{next(_numbers):05d}",
            "owner": owner,
            "created_by": self.clerk,
            "title": "枣庄市某道路工程环境影响评价",
            "service_type": self.service_type,
            "funding_source": "fiscal",
            "scale": Decimal("800"),
            "price_floor": Decimal("10000"),
            "price_ceiling": Decimal("45000"),
            "service_content": "编制环境影响报告表并配合技术评估，项目位于枣庄市薛城区。",
            "service_days": 30,
            "method": "lowest_price",
            "registration_deadline": at - timedelta(days=1),
            "selection_time": at,
            "published_at": at - timedelta(days=10),
            "status": Status.SELECTED,
        }
        values.update(fields)
        if values.get("approval_item") is not None:
            values["department"] = values["approval_item"].department
        return Project.objects.create(**values)

    def apply(self, project, firm, quote=Decimal("30000"), state="valid") -> Application:
        application, _ = Application.objects.get_or_create(
            project=project,
            intermediary=firm,
            defaults={
                "submitted_by": self.clerk,
                "submitted_at": project.registration_deadline - timedelta(days=2),
                "sealed_quote": "sealed",
                "quote_amount": quote,
                "state": state,
            },
        )
        return application

    def award(self, project, firm, *, quote=Decimal("30000"), rnd: int = 1, annulled=False) -> Selection:
        return Selection.objects.create(
            project=project,
            round=rnd,
            method=project.method,
            performed_at=project.selection_time + timedelta(hours=rnd),
            winner=self.apply(project, firm, quote),
            annulled=annulled,
        )

    def won(self, owner, firm, *, days_ago: int = 0, quote=Decimal("30000"), **fields) -> Project:
        project = self.project(owner, days_ago=days_ago, **fields)
        self.award(project, firm, quote=quote)
        return project

    def contract(self, project, firm, amount=Decimal("30000")) -> Contract:
        return Contract.objects.create(
            project=project,
            intermediary=firm,
            amount=amount,
            document="contracts/signed.pdf",
            uploaded_by_org=project.owner,
            uploaded_at=project.selection_time + timedelta(days=6),
        )

    def approval_item(self, department=None) -> ApprovalItem:
        n = next(_numbers)
        item = ApprovalItem.objects.create(
            code=f"item-{n}", name_zh=f"建设项目审批{n}", department=department or DepartmentFactory()
        )
        item.service_types.add(self.service_type)
        return item


@pytest.fixture
def market() -> Market:
    return Market()


def run(code: str, scope: Scope | None = None):
    services.monitor_run(scope=scope, codes=[code])
    return list(Flag.objects.filter(rule=code, status=Flag.Status.OPEN).order_by("pk"))


def find(code: str, scope: Scope | None = None):
    rule = get_rule(code)
    return list(rule.find(scope or Scope(), rule.params({})))


def set_thresholds(code: str, **values):
    rule = get_rule(code)
    services.rule_settings_update(
        actor=operator_user(), code=code, weight=rule.default_weight, thresholds={**rule.defaults(), **values}
    )


def flags_in(scope: Scope, code: str) -> set:
    rows = Flag.objects.filter(rule=code)
    keep = set()
    for flag in rows:
        if flag.project_id in (scope.project_ids or []) or flag.intermediary_id in (
            scope.intermediary_ids or []
        ):
            evidence = json.dumps(flag.evidence, sort_keys=True)
            keep.add((flag.subject_type, flag.subject_id, flag.fingerprint, evidence, flag.status))
    return keep


def assert_scoped_run_matches_full_scan(code: str, scope: Scope) -> None:
    """A scoped run on a fresh table flags the scope's subjects exactly as the full scan does,
    and the full scan afterwards neither changes nor resolves them."""
    Flag.objects.filter(rule=code).delete()
    services.monitor_run(scope=scope, codes=[code])
    scoped = flags_in(scope, code)
    services.monitor_run(codes=[code])
    assert scoped
    assert flags_in(scope, code) == scoped
    assert Flag.objects.filter(rule=code).count() > len(scoped), "the market has flags outside the scope"
    again = services.monitor_run(scope=scope, codes=[code])
    assert again.summary[code]["new"] == 0 and again.summary[code]["resolved"] == 0


# --- FA01 direct selection above the threshold --------------------------------------------------


def _direct(market, owner, firm, *, funding="fiscal", quote=Decimal("45000"), contract=None):
    project = market.won(
        owner, firm, quote=quote, method="direct", funding_source=funding, method_reason="紧急"
    )
    if contract is not None:
        market.contract(project, firm, contract)
    return project


def test_fa01_flags_a_direct_award_whose_contract_rose_above_the_threshold(market):
    owner, firm = market.owner(), market.firm()
    project = _direct(market, owner, firm, contract=Decimal("60000"))
    (flag,) = run("FA01")
    assert (flag.subject_type, flag.subject_id, flag.project_id, flag.owner_id) == (
        "project",
        project.pk,
        project.pk,
        owner.pk,
    )
    assert flag.intermediary_id == firm.pk
    assert flag.evidence["amount"] == "60000.00" and flag.evidence["quote"] == "45000.00"
    assert flag.evidence["threshold"] == "50000" and flag.evidence["funding_source"] == "fiscal"


def test_fa01_flags_a_winning_quote_at_the_threshold(market):
    project = _direct(market, market.owner(), market.firm(), quote=Decimal("50000"))
    assert [f.project_id for f in run("FA01")] == [project.pk]


def test_fa01_ignores_awards_below_the_threshold_of_their_funding_source(market):
    owner, firm = market.owner(), market.firm()
    _direct(market, owner, firm, quote=Decimal("45000"), contract=Decimal("45000"))
    _direct(market, owner, firm, funding="private", quote=Decimal("150000"))  # private limit 200,000
    market.won(owner, firm, quote=Decimal("900000"))  # competed: no limit
    assert run("FA01") == []


def test_fa01_ignores_an_annulled_direct_award(market):
    project = market.project(market.owner(), method="direct", method_reason="紧急")
    market.award(project, market.firm(), quote=Decimal("80000"), annulled=True)
    assert run("FA01") == []


def test_fa01_a_lower_threshold_flags_the_award(market):
    project = _direct(market, market.owner(), market.firm(), quote=Decimal("45000"))
    assert run("FA01") == []
    set_thresholds("FA01", fiscal="40000")
    (flag,) = run("FA01")
    assert flag.project_id == project.pk and flag.evidence["threshold"] == "40000"


def test_fa01_an_amendment_updates_the_flag_instead_of_adding_one(market):
    firm = market.firm()
    project = _direct(market, market.owner(), firm, contract=Decimal("60000"))
    run("FA01")
    Contract.objects.filter(project=project).update(amount=Decimal("70000"))
    Amendment.objects.create(
        contract=project.contract,
        old_amount=Decimal("60000"),
        new_amount=Decimal("70000"),
        reason="增加工作量",
        created_at=timezone.now(),
        created_by=market.clerk,
    )
    (flag,) = run("FA01")
    assert flag.evidence["amount"] == "70000.00"
    assert Flag.objects.filter(rule="FA01").count() == 1


def test_fa01_scoped_run_matches_the_full_scan(market):
    owner = market.owner()
    project = _direct(market, owner, market.firm(), quote=Decimal("55000"))
    _direct(market, owner, market.firm(), quote=Decimal("58000"))
    assert_scoped_run_matches_full_scan("FA01", services.scope_for_project(project.pk))


# --- FA02 repeated direct selection -------------------------------------------------------------


def _direct_picks(market, owner, firm, days_ago: list[int]):
    return [
        market.won(owner, firm, days_ago=d, method="direct", method_reason="小额", quote=Decimal("20000"))
        for d in days_ago
    ]


def test_fa02_flags_an_owner_directly_selecting_one_firm_three_times_in_a_year(market):
    owner, firm, other = market.owner(), market.firm(), market.firm()
    projects = _direct_picks(market, owner, firm, [300, 120, 5])
    _direct_picks(market, owner, other, [60])
    (flag,) = run("FA02")
    assert (flag.subject_type, flag.subject_id, flag.owner_id, flag.intermediary_id) == (
        "owner",
        owner.pk,
        owner.pk,
        firm.pk,
    )
    assert flag.project_id is None
    assert flag.evidence["count"] == 3 and flag.evidence["owner_total"] == 4
    assert flag.evidence["projects"] == [p.public_number for p in projects]
    assert flag.evidence["intermediary"] == firm.name and flag.evidence["uscc"] == firm.uscc


def test_fa02_ignores_picks_spread_over_more_than_a_year(market):
    market.firm()  # a rival
    _direct_picks(market, market.owner(), market.firm(), [800, 400, 1])
    assert run("FA02") == []


def test_fa02_ignores_a_firm_that_is_the_only_one_offering_the_service(market):
    niche = ServiceTypeFactory()
    owner, only = market.owner(), market.firm(service_type=niche)
    _direct_picks(market, owner, only, [200, 100, 10])
    Project.objects.update(service_type=niche)
    assert run("FA02") == []


def test_fa02_ignores_competed_wins(market):
    owner, firm = market.owner(), market.firm()
    market.firm()
    for days in (200, 100, 10):
        market.won(owner, firm, days_ago=days)
    assert run("FA02") == []


def test_fa02_a_burst_stays_flagged_after_a_later_pick(market):
    owner, firm = market.owner(), market.firm()
    market.firm()
    burst = _direct_picks(market, owner, firm, [700, 650, 600])
    _direct_picks(market, owner, firm, [5])
    (flag,) = run("FA02")
    assert flag.evidence["projects"] == [p.public_number for p in burst]


def test_fa02_thresholds_decide_count_and_window(market):
    owner, firm = market.owner(), market.firm()
    market.firm()
    _direct_picks(market, owner, firm, [300, 120, 5])
    set_thresholds("FA02", count=4)
    assert run("FA02") == []
    set_thresholds("FA02", count=3, days=200)
    assert run("FA02") == []
    set_thresholds("FA02", count=2, days=200)
    (flag,) = run("FA02")
    assert flag.evidence["count"] == 2 and flag.evidence["days"] == 200


def test_fa02_scoped_run_matches_the_full_scan(market):
    market.firm()
    owner, firm = market.owner(), market.firm()
    projects = _direct_picks(market, owner, firm, [30, 20, 10])
    _direct_picks(market, market.owner(), market.firm(), [30, 20, 10])
    assert_scoped_run_matches_full_scan("FA02", services.scope_for_project(projects[0].pk))


# --- FA03 a department's projects concentrated on one firm -------------------------------------


def _department_round(market, *, favourite_wins: int, others: int, service_type=None, favourite=None):
    item = market.approval_item()
    favourite = favourite or market.firm(service_type=service_type)
    rivals = [market.firm(service_type=service_type) for _ in range(3)]
    owner = market.owner()
    projects = []
    for i in range(favourite_wins):
        extra = {"service_type": service_type} if service_type else {}
        projects.append(market.won(owner, favourite, days_ago=10 + i * 20, approval_item=item, **extra))
    for i in range(others):
        extra = {"service_type": service_type} if service_type else {}
        market.won(owner, rivals[i % 3], days_ago=15 + i * 20, approval_item=item, **extra)
    return item.department, favourite, projects


def test_fa03_flags_a_firm_winning_forty_percent_of_a_departments_projects(market):
    department, firm, projects = _department_round(market, favourite_wins=4, others=6)
    (flag,) = run("FA03")
    assert (flag.subject_type, flag.subject_id, flag.department_id, flag.intermediary_id) == (
        "department",
        department.pk,
        department.pk,
        firm.pk,
    )
    e = flag.evidence
    assert (e["won"], e["total"], e["share"]) == (4, 10, "40.0")
    assert sorted(e["projects"]) == sorted(p.public_number for p in projects)
    assert e["department"] == department.name_zh


def test_fa03_ignores_a_smaller_share(market):
    _department_round(market, favourite_wins=3, others=7)
    assert run("FA03") == []


def test_fa03_ignores_a_department_with_too_few_projects(market):
    _department_round(market, favourite_wins=4, others=5)
    assert run("FA03") == []


def test_fa03_ignores_a_firm_that_wins_because_it_is_the_only_one_qualified(market):
    niche = ServiceTypeFactory()
    only = market.firm(service_type=niche)
    item = market.approval_item()
    owner = market.owner()
    for i in range(10):
        market.won(owner, only, days_ago=5 + i * 10, approval_item=item, service_type=niche)
    assert run("FA03") == []


def test_fa03_ignores_projects_not_tied_to_an_approval_item(market):
    owner, firm = market.owner(), market.firm()
    market.firm()
    for i in range(10):
        market.won(owner, firm, days_ago=5 + i * 10)
    assert run("FA03") == []


def test_fa03_thresholds_decide_share_and_minimum(market):
    _department_round(market, favourite_wins=4, others=5)
    assert run("FA03") == []
    set_thresholds("FA03", min_projects=9)
    assert len(run("FA03")) == 1
    set_thresholds("FA03", min_projects=9, share="50")
    assert run("FA03") == []


def test_fa03_scoped_run_matches_the_full_scan(market):
    _department_round(market, favourite_wins=4, others=6)
    _, _, projects = _department_round(market, favourite_wins=5, others=5)
    assert_scoped_run_matches_full_scan("FA03", services.scope_for_project(projects[0].pk))


def test_fa03_a_change_in_one_department_leaves_the_firms_flag_in_another_alone(market):
    first, firm, _projects = _department_round(market, favourite_wins=4, others=6)
    second, _firm, projects = _department_round(market, favourite_wins=4, others=6, favourite=firm)
    services.monitor_run(codes=["FA03"])
    assert {f.department_id for f in Flag.objects.filter(rule="FA03", status="open")} == {first.pk, second.pk}
    result = services.monitor_run(
        scope=services.scope_for_project(projects[0].pk, "selected"), codes=["FA03"]
    )
    assert result.summary["FA03"] == {**result.summary["FA03"], "matches": 1, "new": 0, "resolved": 0}
    assert {f.department_id for f in Flag.objects.filter(rule="FA03", status="open")} == {first.pk, second.pk}


def _scoped_fa03(project, status="selected"):
    return run("FA03", services.scope_for_project(project.pk, status))


def test_fa03_a_change_counts_awards_made_while_monitoring_was_off(market):
    department, firm, projects = _department_round(market, favourite_wins=3, others=6)
    services.monitor_run(codes=["FA03"])  # builds the award timeline; 3 of 9 is no flag
    assert run("FA03") == []
    item = Project.objects.get(pk=projects[0].pk).approval_item
    latest = market.won(market.owner(), firm, days_ago=1, approval_item=item)  # no scan of its own
    market.won(market.owner(), firm, days_ago=2, approval_item=item)
    (flag,) = _scoped_fa03(latest)
    assert (flag.department_id, flag.intermediary_id) == (department.pk, firm.pk)
    assert (flag.evidence["won"], flag.evidence["total"]) == (5, 11)


def test_fa03_an_annulled_award_stops_counting_when_its_project_goes_back_to_competition(market):
    department, firm, projects = _department_round(market, favourite_wins=4, others=6)
    (flag,) = run("FA03")
    Selection.objects.filter(project=projects[0]).update(annulled=True)
    assert _scoped_fa03(projects[0], "registration_closed") == []
    flag.refresh_from_db()
    assert flag.status == Flag.Status.RESOLVED


def test_fa03_an_award_dated_before_the_last_keeps_the_timeline_in_time_order(market):
    from marketplace.oversight.models import AwardTimeline

    department, firm, projects = _department_round(market, favourite_wins=3, others=6)
    services.monitor_run(codes=["FA03"])
    item = Project.objects.get(pk=projects[0].pk).approval_item
    early = market.won(market.owner(), firm, days_ago=300, approval_item=item)
    (flag,) = _scoped_fa03(early)
    assert (flag.evidence["won"], flag.evidence["total"]) == (4, 10)
    rows = list(AwardTimeline.objects.filter(department=department).order_by("at", "selection_id"))
    assert [row.seq for row in rows] == list(range(1, 11))


def test_fa03_scoped_run_ignores_a_firm_that_is_the_only_one_qualified(market):
    niche = ServiceTypeFactory()
    only = market.firm(service_type=niche)
    item = market.approval_item()
    owner = market.owner()
    projects = [
        market.won(owner, only, days_ago=5 + i * 10, approval_item=item, service_type=niche)
        for i in range(10)
    ]
    assert _scoped_fa03(projects[0]) == []
    rival = market.firm(service_type=niche)  # now someone else offers it: every award had a rival
    assert rival and len(_scoped_fa03(projects[0])) == 1


# --- FA04 requirements beyond the allowance ----------------------------------------------------


@pytest.fixture
def licences(market):
    """An allowed licence with standard level 乙级 (rank 2) and a licence the service may not ask for."""
    allowed = QualificationTypeFactory(name_zh="环评资质", name_en="EIA licence")
    grade_a = QualificationLevelFactory(qualification_type=allowed, name_zh="甲级", name_en="Grade A", rank=1)
    grade_b = QualificationLevelFactory(qualification_type=allowed, name_zh="乙级", name_en="Grade B", rank=2)
    allow_qualification(market.service_type, allowed, grade_b)
    foreign = QualificationTypeFactory(name_zh="测绘资质", name_en="Surveying licence")
    return {"allowed": allowed, "a": grade_a, "b": grade_b, "foreign": foreign}


def test_fa04_flags_each_requirement_beyond_the_allowance(market, licences):
    project = market.project(
        market.owner(),
        status=Status.PUBLISHED,
        required_practitioners=5,
        service_content="仅限本市注册企业报名，编制环境影响报告表",
    )
    Requirement.objects.create(
        project=project, qualification_type=licences["allowed"], min_level=licences["a"]
    )
    Requirement.objects.create(project=project, qualification_type=licences["foreign"])
    (flag,) = run("FA04")
    assert (flag.subject_type, flag.subject_id, flag.project_id) == ("project", project.pk, project.pk)
    kinds = {f["kind"]: f for f in flag.evidence["findings"]}
    assert set(kinds) == {"level_above_standard", "extra_qualification", "excess_practitioners", "regional"}
    assert (
        kinds["level_above_standard"]["level"] == "甲级"
        and kinds["level_above_standard"]["standard"] == "乙级"
    )
    assert kinds["extra_qualification"]["qualification"] == "测绘资质"
    assert (kinds["excess_practitioners"]["required"], kinds["excess_practitioners"]["standard"]) == (5, 2)
    assert kinds["regional"]["field"] == "service_content" and "本市" in kinds["regional"]["phrase"]


def test_fa04_ignores_requirements_within_the_allowance(market, licences):
    project = market.project(market.owner(), status=Status.PUBLISHED, required_practitioners=2)
    Requirement.objects.create(
        project=project, qualification_type=licences["allowed"], min_level=licences["b"]
    )
    assert "枣庄市" in project.service_content  # naming the site is not a regional limit
    assert run("FA04") == []


def test_fa04_ignores_a_draft_nobody_has_seen(market, licences):
    project = market.project(market.owner(), status=Status.DRAFT, required_practitioners=9)
    Requirement.objects.create(project=project, qualification_type=licences["foreign"])
    assert run("FA04") == []


def test_fa04_thresholds_allow_a_margin_and_switch_off_the_wording_check(market):
    market.project(market.owner(), required_practitioners=3, title="限本市企业参加的环境影响评价")
    (flag,) = run("FA04")
    assert {f["kind"] for f in flag.evidence["findings"]} == {"excess_practitioners", "regional"}
    set_thresholds("FA04", practitioner_margin=1)
    (flag,) = run("FA04")
    assert [f["kind"] for f in flag.evidence["findings"]] == ["regional"]
    set_thresholds("FA04", practitioner_margin=1, regional_wording=False)
    assert run("FA04") == []


def test_fa04_scoped_run_matches_the_full_scan(market):
    project = market.project(market.owner(), required_practitioners=4)
    market.project(market.owner(), required_practitioners=6)
    assert_scoped_run_matches_full_scan("FA04", services.scope_for_project(project.pk))


# --- FA05 relaunched or annulled until one firm wins ------------------------------------------


def _chain(market, owner, firm, relaunches: int, *, won: bool = True) -> list[Project]:
    chain = [market.project(owner, status=Status.RELAUNCHED, failure_reason="有效报名不足3家", days_ago=90)]
    for i in range(relaunches):
        last = i == relaunches - 1
        chain.append(
            market.project(
                owner,
                relaunch_of=chain[-1],
                days_ago=60 - 30 * i,
                status=(Status.SELECTED if won else Status.PUBLISHED) if last else Status.RELAUNCHED,
                failure_reason="" if last else "有效报名不足3家",
            )
        )
    if won:
        market.award(chain[-1], firm)
    return chain


def test_fa05_flags_a_project_relaunched_twice_until_a_firm_won(market):
    firm = market.firm()
    chain = _chain(market, market.owner(), firm, relaunches=2)
    (flag,) = run("FA05")
    assert (flag.subject_type, flag.subject_id, flag.intermediary_id) == ("project", chain[-1].pk, firm.pk)
    e = flag.evidence
    assert e["kind"] == "relaunch_chain" and e["relaunches"] == 2 and e["intermediary"] == firm.name
    assert [p["project"] for p in e["chain"]] == [p.public_number for p in chain]
    assert e["chain"][0]["status"] == "relaunched" and e["chain"][0]["reason"] == "有效报名不足3家"


def test_fa05_ignores_a_single_relaunch_and_a_chain_nobody_has_won(market):
    _chain(market, market.owner(), market.firm(), relaunches=1)
    _chain(market, market.owner(), market.firm(), relaunches=3, won=False)
    assert run("FA05") == []


def test_fa05_flags_an_annulled_result_given_to_another_firm(market):
    first, second = market.firm(), market.firm()
    project = market.project(market.owner())
    market.award(project, first, rnd=1, annulled=True)
    market.award(project, second, rnd=2)
    (flag,) = run("FA05")
    assert (flag.subject_type, flag.subject_id, flag.intermediary_id) == ("project", project.pk, second.pk)
    e = flag.evidence
    assert (e["kind"], e["annulled_round"], e["new_round"]) == ("annulled_reassigned", 1, 2)
    assert (e["annulled_winner"], e["intermediary"]) == (first.name, second.name)


def test_fa05_ignores_an_annulled_round_that_then_failed(market):
    project = market.project(market.owner(), status=Status.FAILED)
    market.award(project, market.firm(), annulled=True)
    assert run("FA05") == []


def test_fa05_thresholds_decide_the_number_of_relaunches_and_the_annulment_check(market):
    _chain(market, market.owner(), market.firm(), relaunches=1)
    project = market.project(market.owner())
    market.award(project, market.firm(), annulled=True)
    market.award(project, market.firm(), rnd=2)
    assert [f.evidence["kind"] for f in run("FA05")] == ["annulled_reassigned"]
    set_thresholds("FA05", relaunches=1, annulled_reassignment=False)
    assert [f.evidence["kind"] for f in run("FA05")] == ["relaunch_chain"]


def test_fa05_scoped_run_matches_the_full_scan(market):
    chain = _chain(market, market.owner(), market.firm(), relaunches=2)
    _chain(market, market.owner(), market.firm(), relaunches=2)
    assert_scoped_run_matches_full_scan("FA05", services.scope_for_project(chain[-1].pk))


# --- FA06 reports procured off the platform ----------------------------------------------------


def _report(department, uscc: str, case: str, service_code: str) -> FiledReport:
    return FiledReport.objects.create(
        department=department,
        approval_case_number=case,
        service_type_code=service_code,
        intermediary_uscc=uscc,
        filed_on=timezone.localdate() - timedelta(days=3),
        received_at=timezone.now(),
    )


def test_fa06_flags_a_report_by_a_firm_that_did_not_win_the_case_here(market):
    department = DepartmentFactory()
    winner, filer = market.firm(), market.firm()
    project = market.won(market.owner(), winner, approval_case_number="ZZSP-2026-0001")
    report = _report(department, filer.uscc, "ZZSP-2026-0001", market.service_type.code)
    (flag,) = run("FA06")
    assert (flag.subject_type, flag.subject_id, flag.department_id, flag.intermediary_id) == (
        "department",
        department.pk,
        department.pk,
        filer.pk,
    )
    e = flag.evidence
    assert (e["case"], e["uscc"], e["intermediary"]) == ("ZZSP-2026-0001", filer.uscc, filer.name)
    assert (e["platform_project"], e["platform_winner"]) == (project.public_number, winner.name)
    assert e["filed_on"] == report.filed_on.isoformat()


def test_fa06_flags_a_report_by_a_firm_not_on_the_platform(market):
    department = DepartmentFactory()
    outsider = make_uscc()
    _report(department, outsider, "ZZSP-2026-0002", market.service_type.code)
    (flag,) = run("FA06")
    assert flag.intermediary_id is None and flag.evidence["uscc"] == outsider
    assert flag.evidence["intermediary"] is None and flag.evidence["platform_project"] is None


def test_fa06_ignores_a_report_procured_here(market):
    firm = market.firm()
    market.won(market.owner(), firm, approval_case_number="ZZSP-2026-0003")
    _report(DepartmentFactory(), firm.uscc, "ZZSP-2026-0003", market.service_type.code)
    assert run("FA06") == []


def test_fa06_counts_an_annulled_award_as_not_procured(market):
    firm = market.firm()
    project = market.project(market.owner(), approval_case_number="ZZSP-2026-0004")
    market.award(project, firm, annulled=True)
    _report(DepartmentFactory(), firm.uscc, "ZZSP-2026-0004", market.service_type.code)
    assert len(run("FA06")) == 1


def test_fa06_has_no_thresholds_and_is_switched_off_by_disabling_it(market):
    _report(DepartmentFactory(), make_uscc(), "ZZSP-2026-0005", market.service_type.code)
    assert len(run("FA06")) == 1
    services.rule_settings_update(actor=operator_user(), code="FA06", weight=12, thresholds={}, enabled=False)
    Flag.objects.filter(rule="FA06").delete()
    assert run("FA06") == []


def test_fa06_scoped_run_matches_the_full_scan(market):
    firm, other = market.firm(), market.firm()
    _report(DepartmentFactory(), firm.uscc, "ZZSP-2026-0006", market.service_type.code)
    _report(DepartmentFactory(), other.uscc, "ZZSP-2026-0007", market.service_type.code)
    assert_scoped_run_matches_full_scan("FA06", services.scope_for_intermediary(firm.pk))


# --- FA07 complaints alleging designation ------------------------------------------------------


def test_fa07_flags_the_project_a_designation_complaint_names(market):
    project = market.project(market.owner(), approval_item=market.approval_item())
    complaint = intake.complaint_file(
        actor=None,
        text="审批窗口工作人员要求我们必须委托某某环评公司。",
        alleges_designation=True,
        project=project,
        contact="13800000000",
    )
    (flag,) = run("FA07")
    assert (flag.subject_type, flag.subject_id, flag.project_id, flag.department_id) == (
        "project",
        project.pk,
        project.pk,
        project.department_id,
    )
    assert flag.evidence["complaints"][0]["id"] == complaint.pk
    assert "必须委托" in flag.evidence["complaints"][0]["excerpt"]


def test_fa07_a_complaint_about_a_project_is_flagged_by_the_rescan_it_triggers(
    market, settings, django_capture_on_commit_callbacks
):
    settings.MONITOR_ON_CHANGE = True
    project = market.project(market.owner(), approval_item=market.approval_item())
    with django_capture_on_commit_callbacks(execute=True):
        intake.complaint_file(
            actor=None, text="要求必须委托指定公司。", alleges_designation=True, project=project, contact="1"
        )
    flag = Flag.objects.get(rule="FA07")
    assert (flag.subject_type, flag.subject_id, flag.status) == ("project", project.pk, Flag.Status.OPEN)
    # The complaint's rescan runs FA07 alone; no transition of the project runs it.
    assert MonitorRun.objects.latest("pk").summary.keys() == {"FA07"}
    run = services.monitor_run(scope=services.scope_for_project(project.pk, "selected"))
    assert "FA07" not in run.summary


def test_fa07_flags_a_department_or_a_firm_when_no_project_is_named(market):
    department, firm = DepartmentFactory(), market.firm()
    intake.complaint_file(
        actor=None, text="窗口指定中介。", alleges_designation=True, department=department, contact="1"
    )
    intake.complaint_file(
        actor=None, text="该公司自称局里指定。", alleges_designation=True, intermediary=firm, contact="1"
    )
    subjects = {(f.subject_type, f.subject_id) for f in run("FA07")}
    assert subjects == {("department", department.pk), ("intermediary", firm.pk)}


def test_fa07_ignores_complaints_that_do_not_allege_designation(market):
    project = market.project(market.owner())
    intake.complaint_file(actor=None, text="报告质量很差。", project=project, contact="1")
    assert run("FA07") == []


def test_fa07_a_minimum_number_of_complaints_per_subject(market):
    project = market.project(market.owner())
    intake.complaint_file(
        actor=None, text="指定中介。", alleges_designation=True, project=project, contact="1"
    )
    set_thresholds("FA07", min_complaints=2)
    assert run("FA07") == []
    intake.complaint_file(
        actor=None, text="又被指定。", alleges_designation=True, project=project, contact="2"
    )
    (flag,) = run("FA07")
    assert len(flag.evidence["complaints"]) == 2


def test_fa07_scoped_run_matches_the_full_scan(market):
    first, second = market.project(market.owner()), market.project(market.owner())
    for project in (first, second):
        intake.complaint_file(
            actor=None, text="指定中介。", alleges_designation=True, project=project, contact="1"
        )
    assert_scoped_run_matches_full_scan("FA07", services.scope_for_project(first.pk))


# --- FA08 captive supplier ---------------------------------------------------------------------


def _contracts(market, owner, firm, n: int) -> list[Project]:
    projects = []
    for i in range(n):
        project = market.won(owner, firm, days_ago=10 * i)
        market.contract(project, firm, Decimal("20000"))
        projects.append(project)
    return projects


def test_fa08_flags_a_firm_whose_four_contracts_are_all_with_one_owner(market):
    owner, firm = market.owner(), market.firm()
    _contracts(market, owner, firm, 4)
    (flag,) = run("FA08")
    assert (flag.subject_type, flag.subject_id, flag.intermediary_id, flag.owner_id) == (
        "intermediary",
        firm.pk,
        firm.pk,
        owner.pk,
    )
    assert flag.evidence == {
        "intermediary": firm.name,
        "owner": owner.name,
        "contracts": 4,
        "total": "80000.00",
    }


def test_fa08_ignores_a_firm_with_another_client_or_few_contracts(market):
    owner = market.owner()
    busy = market.firm()
    _contracts(market, owner, busy, 4)
    _contracts(market, market.owner(), busy, 1)
    _contracts(market, owner, market.firm(), 3)
    assert run("FA08") == []


def test_fa08_threshold_lowers_the_number_of_contracts(market):
    _contracts(market, market.owner(), market.firm(), 3)
    assert run("FA08") == []
    set_thresholds("FA08", more_than=2)
    assert len(run("FA08")) == 1


def test_fa08_scoped_run_matches_the_full_scan(market):
    projects = _contracts(market, market.owner(), market.firm(), 4)
    _contracts(market, market.owner(), market.firm(), 5)
    assert_scoped_run_matches_full_scan("FA08", services.scope_for_project(projects[0].pk))


# --- FA09 discretionary picks land on one firm -------------------------------------------------


def _picks(market, owner, firm, days_ago: list[int]) -> list[Project]:
    methods = itertools.cycle(["credit_preference", "scored_comparison"])
    return [market.won(owner, firm, days_ago=d, method=next(methods), price_weight=30) for d in days_ago]


def test_fa09_flags_an_owners_discretionary_picks_landing_on_one_firm(market):
    owner, firm = market.owner(), market.firm()
    projects = _picks(market, owner, firm, [200, 100, 3])
    _picks(market, owner, market.firm(), [50])
    (flag,) = run("FA09")
    assert (flag.subject_type, flag.subject_id, flag.owner_id, flag.intermediary_id) == (
        "owner",
        owner.pk,
        owner.pk,
        firm.pk,
    )
    assert flag.evidence["count"] == 3 and flag.evidence["owner_total"] == 4
    assert flag.evidence["projects"] == [p.public_number for p in projects]


def test_fa09_ignores_wins_by_price_or_by_draw(market):
    owner, firm = market.owner(), market.firm()
    for days, method in ((200, "lowest_price"), (100, "random_draw"), (3, "reference_price")):
        market.won(owner, firm, days_ago=days, method=method)
    assert run("FA09") == []


def test_fa09_thresholds_decide_count_and_window(market):
    _picks(market, market.owner(), market.firm(), [200, 100, 3])
    set_thresholds("FA09", count=3, days=150)
    assert run("FA09") == []
    set_thresholds("FA09", count=2, days=150)
    assert len(run("FA09")) == 1


def test_fa09_scoped_run_matches_the_full_scan(market):
    projects = _picks(market, market.owner(), market.firm(), [30, 20, 10])
    _picks(market, market.owner(), market.firm(), [30, 20, 10])
    assert_scoped_run_matches_full_scan("FA09", services.scope_for_project(projects[0].pk))


# --- every rule: explanations and query counts ------------------------------------------------


def _plant_fa01(market, n):
    for _ in range(n):
        _direct(market, market.owner(), market.firm(), contract=Decimal("60000"))


def _plant_fa02(market, n):
    market.firm()  # a rival
    for _ in range(n):
        _direct_picks(market, market.owner(), market.firm(), [30, 20, 10])


def _plant_fa03(market, n):
    for _ in range(n):
        _department_round(market, favourite_wins=4, others=6)


def _plant_fa04(market, n):
    qualification = QualificationTypeFactory()
    for _ in range(n):
        project = market.project(market.owner(), required_practitioners=5, title="仅限本市企业")
        Requirement.objects.create(project=project, qualification_type=qualification)


def _plant_fa05(market, n):
    for _ in range(n):
        _chain(market, market.owner(), market.firm(), relaunches=2)
        project = market.project(market.owner())
        market.award(project, market.firm(), annulled=True)
        market.award(project, market.firm(), rnd=2)


def _plant_fa06(market, n):
    for i in range(n):
        case = f"ZZSP-Q-{next(_numbers)}-{i}"
        market.won(market.owner(), market.firm(), approval_case_number=case)
        _report(DepartmentFactory(), market.firm().uscc, case, market.service_type.code)


def _plant_fa07(market, n):
    for _ in range(n):
        project = market.project(market.owner())
        intake.complaint_file(
            actor=None, text="指定中介。", alleges_designation=True, project=project, contact="1"
        )
        intake.complaint_file(
            actor=None,
            text="指定中介。",
            alleges_designation=True,
            department=DepartmentFactory(),
            contact="1",
        )


def _plant_fa08(market, n):
    for _ in range(n):
        _contracts(market, market.owner(), market.firm(), 4)


def _plant_fa09(market, n):
    for _ in range(n):
        _picks(market, market.owner(), market.firm(), [30, 20, 10])


PLANT = {
    "FA01": _plant_fa01,
    "FA02": _plant_fa02,
    "FA03": _plant_fa03,
    "FA04": _plant_fa04,
    "FA05": _plant_fa05,
    "FA06": _plant_fa06,
    "FA07": _plant_fa07,
    "FA08": _plant_fa08,
    "FA09": _plant_fa09,
}


# FA03's full scan also rebuilds the award timeline (a fixed seven statements).
TIMELINE_REBUILD = {"FA03": 7}


@pytest.mark.parametrize("code", sorted(PLANT))
def test_the_number_of_queries_does_not_grow_with_the_market(market, code):
    rule = get_rule(code)
    params = rule.params({})
    PLANT[code](market, 1)
    with CaptureQueriesContext(connection) as small:
        few = list(rule.find(Scope(), params))
    PLANT[code](market, 4)
    with CaptureQueriesContext(connection) as large:
        many = list(rule.find(Scope(), params))
    assert few and len(many) > len(few)
    assert len(large) == len(small) <= 3 + TIMELINE_REBUILD.get(code, 0)


@pytest.mark.parametrize("code", sorted(PLANT))
def test_every_rule_describes_itself_with_its_thresholds_as_data(code):
    rule = get_rule(code)
    assert rule.category == "forced_agency" and rule.title_zh and rule.title_en
    assert rule.basis_zh and rule.basis_en and rule.__doc__
    assert 1 <= rule.default_weight <= 20
    for threshold in rule.thresholds.values():
        assert threshold.label_zh and threshold.label_en
        assert threshold.clean(canonical(threshold.default)) == threshold.default


def test_fa01_explains_the_amount_and_threshold(market):
    project = _direct(market, market.owner(), market.firm(), contract=Decimal("60000"))
    (match,) = find("FA01")
    rule = get_rule("FA01")
    zh, en = rule.explain(canonical(match.evidence)), rule.explain(canonical(match.evidence), "en")
    for text in (zh, en):
        assert project.public_number in text and "60000.00" in text and "50000" in text
    assert "直接选取" in zh and "财政资金" in zh
    assert "directly awarded" in en and "fiscal" in en


def test_fa02_and_fa09_explain_the_owner_firm_and_projects(market):
    owner, firm = market.owner("枣庄市某某开发公司"), market.firm()
    market.firm()
    direct = _direct_picks(market, owner, firm, [30, 20, 10])
    picked = _picks(market, owner, firm, [25, 15, 5])
    for code, projects in (("FA02", direct), ("FA09", picked)):
        (match,) = find(code)
        evidence = canonical(match.evidence)
        zh, en = get_rule(code).explain(evidence), get_rule(code).explain(evidence, "en")
        for text in (zh, en):
            assert owner.name in text and firm.name in text and "365" in text
            assert all(p.public_number in text for p in projects)
        assert "3 次" in zh
        assert ("3 times" if code == "FA02" else "3 of 3 times") in en


def test_fa03_explains_the_share(market):
    department, firm, projects = _department_round(market, favourite_wins=4, others=6)
    (match,) = find("FA03")
    evidence = canonical(match.evidence)
    zh, en = get_rule("FA03").explain(evidence), get_rule("FA03").explain(evidence, "en")
    assert department.name_zh in zh and department.name_en in en
    for text in (zh, en):
        assert firm.name in text and "40.0%" in text and projects[0].public_number in text
    assert "10 个项目" in zh and "4 of the 10" in en


def test_fa04_explains_every_finding(market, licences):
    project = market.project(market.owner(), required_practitioners=5, service_content="须在枣庄市注册")
    Requirement.objects.create(
        project=project, qualification_type=licences["allowed"], min_level=licences["a"]
    )
    Requirement.objects.create(project=project, qualification_type=licences["foreign"])
    (match,) = find("FA04")
    evidence = canonical(match.evidence)
    zh, en = get_rule("FA04").explain(evidence), get_rule("FA04").explain(evidence, "en")
    assert all(s in zh for s in (project.public_number, "测绘资质", "甲级", "乙级", "5 人", "须在枣庄市注册"))
    assert all(
        s in en for s in (project.public_number, "Surveying licence", "Grade A", "Grade B", "5 practitioners")
    )
    assert "region" in en


def test_fa05_explains_the_chain_and_the_annulment(market):
    firm = market.firm()
    chain = _chain(market, market.owner(), firm, relaunches=2)
    first, second = market.firm(), market.firm()
    project = market.project(market.owner())
    market.award(project, first, annulled=True)
    market.award(project, second, rnd=2)
    rule = get_rule("FA05")
    by_kind = {m.evidence["kind"]: canonical(m.evidence) for m in find("FA05")}
    zh, en = rule.explain(by_kind["relaunch_chain"]), rule.explain(by_kind["relaunch_chain"], "en")
    for text in (zh, en):
        assert all(p.public_number in text for p in chain) and firm.name in text
    assert "2 次重新发布" in zh and "relaunched 2 times" in en
    zh, en = rule.explain(by_kind["annulled_reassigned"]), rule.explain(by_kind["annulled_reassigned"], "en")
    for text in (zh, en):
        assert project.public_number in text and first.name in text and second.name in text
    assert "撤销" in zh and "annulled" in en


def test_fa06_explains_the_case_and_the_firm(market):
    department = DepartmentFactory(
        name_zh="枣庄市生态环境局", name_en="Zaozhuang Ecology and Environment Bureau"
    )
    outsider = make_uscc()
    _report(department, outsider, "ZZSP-2026-0100", market.service_type.code)
    (match,) = find("FA06")
    evidence = canonical(match.evidence)
    zh, en = get_rule("FA06").explain(evidence), get_rule("FA06").explain(evidence, "en")
    for text in (zh, en):
        assert outsider in text and "ZZSP-2026-0100" in text
    assert "枣庄市生态环境局" in zh and market.service_type.name_zh in zh and "未经中介超市选取" in zh
    assert "Zaozhuang Ecology" in en and market.service_type.name_en in en and "not selected" in en


def test_fa07_explains_the_complaints(market):
    project = market.project(market.owner())
    intake.complaint_file(
        actor=None, text="窗口要求必须找某公司。", alleges_designation=True, project=project, contact="1"
    )
    (match,) = find("FA07")
    evidence = canonical(match.evidence)
    zh, en = get_rule("FA07").explain(evidence), get_rule("FA07").explain(evidence, "en")
    for text in (zh, en):
        assert project.public_number in text and "必须找某公司" in text
    assert "指定中介" in zh and "designation" in en


def test_fa08_explains_the_contracts(market):
    owner, firm = market.owner(), market.firm()
    _contracts(market, owner, firm, 4)
    (match,) = find("FA08")
    evidence = canonical(match.evidence)
    zh, en = get_rule("FA08").explain(evidence), get_rule("FA08").explain(evidence, "en")
    for text in (zh, en):
        assert firm.name in text and owner.name in text and "80000.00" in text and "4" in text
    assert "未与其他业主签约" in zh and "none with any other owner" in en
