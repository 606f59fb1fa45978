"""Process rules PR01-PR06: deadlines and periods kept in working days.

Violations the services refuse (a short registration period, a late application) are planted
with the ORM; dates around the 2025 National Day holiday (1-8 October off, Sunday 28 September
and Saturday 11 October worked) show that periods are counted in working days, not calendar
days.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.accounts.models import Role
from marketplace.core import workdays
from marketplace.core.models import CalendarDay
from marketplace.core.workdays import is_working_day
from marketplace.oversight import services
from marketplace.oversight.models import Flag
from marketplace.oversight.rules.base import Scope, get_rule
from marketplace.procurement.models import (
    Application,
    Contract,
    Delivery,
    Project,
    Status,
    WalkAway,
)
from tests.factories import IntermediaryFactory, MembershipFactory, OrganisationFactory, ServiceTypeFactory
from tests.procurement.factories import operator_user, published_project

pytestmark = pytest.mark.django_db

CODES = ["PR01", "PR02", "PR03", "PR04", "PR05", "PR06"]
_numbers = itertools.count(1)


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """An aware Asia/Shanghai datetime."""
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))


def before(day: date, working_days: int) -> date:
    """The date from which ``day`` is ``working_days`` working days later (as the rules count)."""
    current, remaining = day, working_days
    while remaining:
        if is_working_day(current):
            remaining -= 1
        current -= timedelta(days=1)
    return current


@pytest.fixture(autouse=True)
def _national_day_2025():
    """The official 2025 calendar around National Day, whatever the seed holds: the holidays and
    the two weekend days worked in exchange (the seed from chinese-calendar asks it for weekday
    working days only, so it leaves the make-up Sunday and Saturday out)."""
    holidays = [date(2025, 10, d) for d in (1, 2, 3, 6, 7, 8)]
    for day in holidays:
        CalendarDay.objects.update_or_create(date=day, defaults={"kind": CalendarDay.Kind.HOLIDAY})
    for day in (date(2025, 9, 28), date(2025, 10, 11)):
        CalendarDay.objects.update_or_create(date=day, defaults={"kind": CalendarDay.Kind.WORKDAY})


def today() -> date:
    return timezone.localdate()


# --- a small market built with the ORM ---------------------------------------------------------


def _owner():
    return MembershipFactory(organisation=OrganisationFactory(kind=Role.OWNER))


def project(membership=None, status: str = Status.CLOSED, **fields) -> Project:
    """A project with a regular 7-working-day registration period (3 to 12 November 2025)."""
    membership = membership or _owner()
    deadline = fields.pop("registration_deadline", at(date(2025, 11, 12), 17))
    values = {
        "public_number": f"ZZZJTEST{next(_numbers):06d}",
        "owner": membership.organisation,
        "created_by": membership.user,
        "title": "某某道路建设项目环境影响评价",
        "service_type": ServiceTypeFactory(),
        "funding_source": "fiscal",
        "scale": Decimal("5000"),
        "price_floor": Decimal("50000"),
        "price_ceiling": Decimal("100000"),
        "service_content": "编制环境影响报告书",
        "service_days": 30,
        "method": "lowest_price",
        "registration_deadline": deadline,
        "selection_time": deadline + timedelta(hours=1),
        "published_at": at(date(2025, 11, 3), 9),
        "status": status,
    }
    values.update(fields)
    return Project.objects.create(**values)


def apply(project: Project, firm=None, *, submitted_at: datetime | None = None, state: str = "valid"):
    firm = firm or IntermediaryFactory()
    user = MembershipFactory(organisation=firm.organisation).user
    return Application.objects.create(
        project=project,
        intermediary=firm,
        submitted_by=user,
        submitted_at=submitted_at or at(date(2025, 11, 5)),
        sealed_quote="sealed",
        quote_amount=Decimal("80000"),
        state=state,
    )


def contract(project: Project, firm, *, confirmed_at: datetime | None = None) -> Contract:
    return Contract.objects.create(
        project=project,
        intermediary=firm,
        amount=Decimal("80000"),
        document="contracts/test.pdf",
        uploaded_by_org=project.owner,
        uploaded_at=at(date(2025, 11, 20)),
        confirmed_at=confirmed_at,
    )


def awarded(status: str = Status.CLOSED, firm=None, **fields) -> tuple[Project, object]:
    """A project won by ``firm`` (which applied), with a confirmed contract unless told otherwise."""
    firm = firm or IntermediaryFactory()
    p = project(status=status, **fields)
    apply(p, firm)
    return p, firm


def in_service(*, delivery_due: date, first_delivery: datetime | None = None, status=Status.CLOSED):
    p, firm = awarded(status=status, contract_due=date(2025, 11, 24), delivery_due=delivery_due)
    contract(p, firm, confirmed_at=at(date(2025, 11, 21)))
    if first_delivery is not None:
        Delivery.objects.create(
            project=p, document="deliveries/r.pdf", delivered_at=first_delivery, decision="accepted"
        )
    return p, firm


def walkaway(firm, day: date) -> Project:
    p, _ = awarded(status=Status.FAILED, firm=firm)
    WalkAway.objects.create(project=p, intermediary=firm, reason="人员不足，无法履约", recorded_at=at(day))
    return p


def find(code: str, **thresholds):
    rule = get_rule(code)
    return list(rule.find(Scope(), rule.params(thresholds)))


def matches_for(code: str, p: Project, **thresholds):
    return [m for m in find(code, **thresholds) if m.project_id == p.pk]


def set_thresholds(code: str, **thresholds) -> None:
    rule = get_rule(code)
    services.rule_settings_update(
        actor=operator_user(), code=code, weight=rule.default_weight, thresholds=thresholds
    )


def open_flags(code: str, p: Project):
    return Flag.objects.filter(rule=code, project=p, status=Flag.Status.OPEN)


@dataclass
class Market:
    planted: dict[str, Project] = field(default_factory=dict)


def market() -> Market:
    """One planted violation per rule and a clean look-alike next to each."""
    m = Market()
    # PR01: 3 working days across the National Day holiday; a 5-working-day period.
    m.planted["PR01"] = project(
        published_at=at(date(2025, 9, 29)), registration_deadline=at(date(2025, 10, 10), 17)
    )
    project(published_at=at(date(2025, 11, 3)), registration_deadline=at(date(2025, 11, 10), 17))
    # PR02: 20 minutes late; exactly at the deadline.
    p = project()
    apply(p, submitted_at=at(date(2025, 11, 12), 17, 20))
    apply(p, submitted_at=at(date(2025, 11, 12), 17))
    m.planted["PR02"] = p
    # PR03: no contract 3 working days after the deadline; a contract confirmed on the day.
    m.planted["PR03"], _ = awarded(status=Status.CONTRACTING, contract_due=before(today(), 3))
    p, firm = awarded(contract_due=date(2025, 11, 10))
    contract(p, firm, confirmed_at=at(date(2025, 11, 10), 23, 30))
    # PR04: first delivery 13 working days late; another 5 working days late.
    m.planted["PR04"], _ = in_service(delivery_due=date(2025, 9, 19), first_delivery=at(date(2025, 10, 14)))
    in_service(delivery_due=date(2025, 11, 3), first_delivery=at(date(2025, 11, 10)))
    # PR05: publicity of 1 working day; 3 working days across the holiday.
    m.planted["PR05"] = project(
        result_published_at=at(date(2025, 9, 30)), publicity_ends_on=date(2025, 10, 9)
    )
    project(result_published_at=at(date(2025, 9, 30)), publicity_ends_on=date(2025, 10, 11))
    # PR06: a firm with three walk-aways within a year; one with a single walk-away.
    serial = IntermediaryFactory()
    for day in (date(2025, 1, 6), date(2025, 5, 6), date(2025, 11, 6)):
        m.planted["PR06"] = walkaway(serial, day)
    walkaway(IntermediaryFactory(), date(2025, 6, 3))
    return m


# --- PR01 registration period ------------------------------------------------------------------


def test_pr01_flags_a_registration_period_shorter_than_five_working_days():
    p = project(published_at=at(date(2025, 9, 29)), registration_deadline=at(date(2025, 10, 10), 17))
    [match] = matches_for("PR01", p)
    assert (match.subject_type, match.subject_id) == ("project", p.pk)
    assert match.owner_id == p.owner_id
    assert match.evidence == {
        "project": p.public_number,
        "published_on": "2025-09-29",
        "deadline": "2025-10-10 17:00",
        "working_days": 3,
        "minimum": 5,
    }


def test_pr01_passes_five_working_days_over_a_weekend_and_a_project_the_platform_published():
    over_weekend = project(
        published_at=at(date(2025, 11, 3)), registration_deadline=at(date(2025, 11, 10), 17)
    )
    real = published_project()
    assert matches_for("PR01", over_weekend) == []
    assert matches_for("PR01", real) == []


def test_pr01_never_flags_drafts():
    draft = project(status=Status.DRAFT, published_at=None, registration_deadline=at(date(2025, 11, 4)))
    assert matches_for("PR01", draft) == []


def test_pr01_minimum_is_a_threshold():
    p = project(published_at=at(date(2025, 11, 3)), registration_deadline=at(date(2025, 11, 10), 17))
    services.monitor_run(codes=["PR01"])
    assert not open_flags("PR01", p).exists()
    set_thresholds("PR01", min_working_days=6)
    services.monitor_run(codes=["PR01"])
    assert open_flags("PR01", p).get().evidence["minimum"] == 6


def test_pr01_explains_in_both_languages():
    rule = get_rule("PR01")
    evidence = {
        "project": "ZZZJ2025000001",
        "published_on": "2025-09-29",
        "deadline": "2025-10-10 17:00",
        "working_days": 3,
        "minimum": 5,
    }
    zh, en = rule.explain(evidence), rule.explain(evidence, "en")
    assert all(
        s in zh for s in ("ZZZJ2025000001", "2025-09-29", "2025-10-10 17:00", "3 个工作日", "5 个工作日")
    )
    assert all(s in en for s in ("ZZZJ2025000001", "2025-09-29", "3 working day", "minimum of 5"))


# --- PR02 late application ---------------------------------------------------------------------


def test_pr02_flags_an_application_accepted_after_the_deadline():
    p = project()
    late = apply(p, submitted_at=at(date(2025, 11, 12), 17, 20))
    [match] = matches_for("PR02", p)
    assert (match.subject_type, match.subject_id, match.intermediary_id) == (
        "project",
        p.pk,
        late.intermediary_id,
    )
    assert match.evidence["minutes_late"] == 20
    assert match.evidence["submitted_at"] == "2025-11-12 17:20"
    assert match.evidence["deadline"] == "2025-11-12 17:00"
    assert match.evidence["uscc"] == late.intermediary.uscc


def test_pr02_passes_an_application_exactly_at_the_deadline_and_a_withdrawn_late_one():
    p = project()
    apply(p, submitted_at=at(date(2025, 11, 12), 17))
    apply(p, submitted_at=at(date(2025, 11, 12), 18), state="withdrawn")
    assert matches_for("PR02", p) == []


def test_pr02_does_not_disclose_applicants_of_a_project_still_sealed():
    p = project(status=Status.PUBLISHED)
    apply(p, submitted_at=at(date(2025, 11, 12), 17, 20), state="submitted")
    assert matches_for("PR02", p) == []
    Project.objects.filter(pk=p.pk).update(status=Status.REGISTRATION_CLOSED)
    assert len(matches_for("PR02", p)) == 1


def test_pr02_the_flag_resolves_when_the_application_is_withdrawn():
    p = project()
    late = apply(p, submitted_at=at(date(2025, 11, 12), 17, 20))
    services.monitor_run(codes=["PR02"])
    assert open_flags("PR02", p).count() == 1
    Application.objects.filter(pk=late.pk).update(state="withdrawn")
    services.monitor_run(scope=services.scope_for_intermediary(late.intermediary_id), codes=["PR02"])
    assert Flag.objects.get(rule="PR02").status == Flag.Status.RESOLVED


def test_pr02_explains_in_both_languages():
    rule = get_rule("PR02")
    evidence = {
        "project": "ZZZJ2025000002",
        "firm": "枣庄某某评估有限公司",
        "uscc": "91370400000000001X",
        "deadline": "2025-11-12 17:00",
        "submitted_at": "2025-11-12 17:20",
        "minutes_late": 20,
    }
    zh, en = rule.explain(evidence), rule.explain(evidence, "en")
    for text in (zh, en):
        assert all(s in text for s in ("ZZZJ2025000002", "枣庄某某评估有限公司", "17:00", "17:20", "20"))
    assert "逾期 20 分钟" in zh and "20 minute(s) late" in en


# --- PR03 contract deadline ---------------------------------------------------------------------


def test_pr03_flags_a_missing_contract_past_the_deadline():
    p, _ = awarded(status=Status.CONTRACTING, contract_due=before(today(), 3))
    [match] = matches_for("PR03", p)
    assert (match.subject_type, match.subject_id) == ("project", p.pk)
    assert match.evidence["state"] == "missing"
    assert match.evidence["overdue_working_days"] == 3


def test_pr03_flags_an_unconfirmed_contract_and_a_late_confirmation():
    unconfirmed, firm = awarded(status=Status.CONTRACTING, contract_due=before(today(), 1))
    contract(unconfirmed, firm)
    # 07:00 on 11 November in Shanghai is still 10 November in UTC: the local date counts.
    late, firm = awarded(contract_due=date(2025, 11, 10))
    contract(late, firm, confirmed_at=at(date(2025, 11, 11), 7))
    assert [m.evidence["state"] for m in matches_for("PR03", unconfirmed)] == ["unconfirmed"]
    [match] = matches_for("PR03", late)
    assert match.evidence["state"] == "confirmed_late"
    assert match.evidence["confirmed_on"] == "2025-11-11"
    assert match.evidence["overdue_working_days"] == 1


def test_pr03_passes_a_confirmation_late_on_the_last_day_a_deadline_not_yet_passed_and_a_walkaway():
    on_time, firm = awarded(contract_due=date(2025, 11, 10))
    contract(on_time, firm, confirmed_at=at(date(2025, 11, 10), 23, 30))
    due_today, _ = awarded(status=Status.CONTRACTING, contract_due=today())
    walked, firm = awarded(status=Status.FAILED, contract_due=before(today(), 3))
    WalkAway.objects.create(project=walked, intermediary=firm, reason="放弃", recorded_at=timezone.now())
    assert [m for m in find("PR03") if m.project_id in (on_time.pk, due_today.pk, walked.pk)] == []


def test_pr03_grace_period_is_a_threshold():
    p, _ = awarded(status=Status.CONTRACTING, contract_due=before(today(), 3))
    services.monitor_run(codes=["PR03"])
    assert open_flags("PR03", p).exists()
    set_thresholds("PR03", grace_working_days=3)
    services.monitor_run(codes=["PR03"])
    assert not open_flags("PR03", p).exists()
    assert Flag.objects.get(rule="PR03", project=p).status == Flag.Status.RESOLVED


def test_pr03_explains_in_both_languages():
    rule = get_rule("PR03")
    evidence = {
        "project": "ZZZJ2025000003",
        "contract_due": "2025-11-10",
        "grace_working_days": 0,
        "state": "confirmed_late",
        "confirmed_on": "2025-11-12",
        "overdue_working_days": 2,
    }
    zh, en = rule.explain(evidence), rule.explain(evidence, "en")
    assert all(s in zh for s in ("ZZZJ2025000003", "2025-11-10", "2025-11-12", "逾期 2 个工作日"))
    assert all(s in en for s in ("ZZZJ2025000003", "2025-11-10", "2025-11-12", "2 working day(s) overdue"))
    missing = {**evidence, "state": "missing", "confirmed_on": None, "grace_working_days": 2}
    assert "未上传合同" in rule.explain(missing) and "2 个工作日宽限" in rule.explain(missing)
    assert "no contract" in rule.explain(missing, "en")


# --- PR04 late delivery -------------------------------------------------------------------------


def test_pr04_flags_a_delivery_more_than_ten_working_days_late():
    p, firm = in_service(delivery_due=date(2025, 9, 19), first_delivery=at(date(2025, 10, 14)))
    [match] = matches_for("PR04", p)
    assert (match.subject_type, match.subject_id, match.intermediary_id) == ("project", p.pk, firm.pk)
    assert match.evidence["working_days_late"] == 13
    assert match.evidence["delivered_on"] == "2025-10-14"
    assert match.evidence["firm"] == firm.name


def test_pr04_flags_work_still_undelivered_eleven_working_days_after_the_deadline():
    p, firm = in_service(delivery_due=before(today(), 11), status=Status.IN_SERVICE)
    [match] = matches_for("PR04", p)
    assert match.evidence["delivered_on"] is None
    assert match.evidence["as_of"] == today().isoformat()
    assert match.evidence["working_days_late"] == 11


def test_pr04_passes_five_and_ten_working_days_late():
    five, _ = in_service(delivery_due=date(2025, 11, 3), first_delivery=at(date(2025, 11, 10)))
    # 21 calendar days, but the National Day holiday leaves 10 working days.
    ten, _ = in_service(delivery_due=date(2025, 9, 19), first_delivery=at(date(2025, 10, 10)))
    waiting, _ = in_service(delivery_due=before(today(), 10), status=Status.IN_SERVICE)
    assert [m for m in find("PR04") if m.project_id in (five.pk, ten.pk, waiting.pk)] == []


def test_pr04_counts_the_first_delivery_even_when_it_was_returned():
    p, _ = in_service(delivery_due=date(2025, 11, 3), first_delivery=at(date(2025, 11, 10)))
    Delivery.objects.create(project=p, document="deliveries/r2.pdf", delivered_at=at(date(2025, 12, 15)))
    assert matches_for("PR04", p) == []


def test_pr04_lateness_is_a_threshold():
    p, _ = in_service(delivery_due=date(2025, 11, 3), first_delivery=at(date(2025, 11, 10)))
    services.monitor_run(codes=["PR04"])
    assert not open_flags("PR04", p).exists()
    set_thresholds("PR04", late_working_days=4)
    services.monitor_run(codes=["PR04"])
    assert open_flags("PR04", p).get().evidence["working_days_late"] == 5


def test_pr04_explains_in_both_languages():
    rule = get_rule("PR04")
    evidence = {
        "project": "ZZZJ2025000004",
        "firm": "枣庄某某测绘有限公司",
        "delivery_due": "2025-09-19",
        "delivered_on": "2025-10-14",
        "as_of": "2025-10-14",
        "working_days_late": 13,
        "threshold": 10,
    }
    zh, en = rule.explain(evidence), rule.explain(evidence, "en")
    for text in (zh, en):
        assert all(
            s in text for s in ("ZZZJ2025000004", "枣庄某某测绘有限公司", "2025-09-19", "2025-10-14", "13")
        )
    waiting = {**evidence, "delivered_on": None, "as_of": "2026-01-05"}
    assert "仍未提交" in rule.explain(waiting) and "not delivered as of 2026-01-05" in rule.explain(
        waiting, "en"
    )


# --- PR05 acceptance and publicity --------------------------------------------------------------


def _delivered(acceptance_due: date, *, decision: str = "pending", decided_at: datetime | None = None):
    p, _ = in_service(
        delivery_due=date(2025, 12, 31), status=Status.DELIVERED if decision == "pending" else Status.ACCEPTED
    )
    Project.objects.filter(pk=p.pk).update(acceptance_due=acceptance_due)
    delivery = Delivery.objects.create(
        project=p,
        document="deliveries/r.pdf",
        delivered_at=at(date(2025, 11, 3)),
        decision=decision,
        decided_at=decided_at,
    )
    return p, delivery


def test_pr05_flags_a_delivery_left_pending_past_the_acceptance_deadline():
    p, delivery = _delivered(before(today(), 4))
    [match] = matches_for("PR05", p)
    assert (match.subject_type, match.subject_id) == ("project", p.pk)
    assert match.key == {"kind": "acceptance_overdue", "project": p.pk, "delivery": delivery.pk}
    assert match.evidence["kind"] == "acceptance_overdue"
    assert match.evidence["decided_on"] is None
    assert match.evidence["overdue_working_days"] == 4


def test_pr05_flags_an_acceptance_decided_after_the_deadline():
    p, _ = _delivered(date(2025, 11, 17), decision="accepted", decided_at=at(date(2025, 11, 19)))
    [match] = matches_for("PR05", p)
    assert match.evidence["decided_on"] == "2025-11-19"
    assert match.evidence["overdue_working_days"] == 2


def test_pr05_passes_acceptance_on_the_deadline_and_a_deadline_not_yet_passed():
    on_time, _ = _delivered(date(2025, 11, 17), decision="accepted", decided_at=at(date(2025, 11, 17), 18))
    waiting, _ = _delivered(today())
    assert [m for m in find("PR05") if m.project_id in (on_time.pk, waiting.pk)] == []


def test_pr05_flags_a_result_publicity_shorter_than_three_working_days():
    # Nine calendar days, but the holiday leaves one working day (9 October).
    p = project(result_published_at=at(date(2025, 9, 30)), publicity_ends_on=date(2025, 10, 9))
    [match] = matches_for("PR05", p)
    assert match.key == {"kind": "short_publicity", "project": p.pk}
    assert match.evidence == {
        "kind": "short_publicity",
        "project": p.public_number,
        "result_published_on": "2025-09-30",
        "publicity_ends_on": "2025-10-09",
        "working_days": 1,
        "minimum": 3,
    }


def test_pr05_passes_a_publicity_across_the_holiday_that_still_has_three_working_days():
    # 9 and 10 October and the make-up working Saturday 11 October.
    p = project(result_published_at=at(date(2025, 9, 30)), publicity_ends_on=date(2025, 10, 11))
    assert matches_for("PR05", p) == []


def test_pr05_both_findings_on_one_project_are_two_flags():
    p, _ = _delivered(before(today(), 4))
    Project.objects.filter(pk=p.pk).update(
        result_published_at=at(date(2025, 9, 30)), publicity_ends_on=date(2025, 10, 9)
    )
    services.monitor_run(codes=["PR05"])
    kinds = sorted(f.evidence["kind"] for f in open_flags("PR05", p))
    assert kinds == ["acceptance_overdue", "short_publicity"]


def test_pr05_thresholds_change_both_findings():
    publicity = project(result_published_at=at(date(2025, 9, 30)), publicity_ends_on=date(2025, 10, 11))
    pending, _ = _delivered(before(today(), 2))
    services.monitor_run(codes=["PR05"])
    assert not open_flags("PR05", publicity).exists() and open_flags("PR05", pending).exists()
    set_thresholds("PR05", min_publicity_days=4, acceptance_grace_working_days=2)
    services.monitor_run(codes=["PR05"])
    assert open_flags("PR05", publicity).get().evidence["minimum"] == 4
    assert not open_flags("PR05", pending).exists()


def test_pr05_explains_both_kinds_in_both_languages():
    rule = get_rule("PR05")
    publicity = {
        "kind": "short_publicity",
        "project": "ZZZJ2025000005",
        "result_published_on": "2025-09-30",
        "publicity_ends_on": "2025-10-09",
        "working_days": 1,
        "minimum": 3,
    }
    acceptance = {
        "kind": "acceptance_overdue",
        "project": "ZZZJ2025000006",
        "delivered_on": "2025-11-03",
        "acceptance_due": "2025-11-17",
        "grace_working_days": 0,
        "decision": "pending",
        "decided_on": None,
        "overdue_working_days": 4,
    }
    zh, en = rule.explain(publicity), rule.explain(publicity, "en")
    assert all(s in zh for s in ("ZZZJ2025000005", "2025-09-30", "2025-10-09", "仅 1 个工作日", "3 个工作日"))
    assert all(s in en for s in ("ZZZJ2025000005", "2025-10-09", "1 working day", "minimum of 3"))
    zh, en = rule.explain(acceptance), rule.explain(acceptance, "en")
    assert all(s in zh for s in ("ZZZJ2025000006", "2025-11-17", "未作验收结论", "逾期 4 个工作日"))
    assert all(s in en for s in ("ZZZJ2025000006", "2025-11-17", "awaiting", "4 working day(s) overdue"))


# --- PR06 walk-aways ----------------------------------------------------------------------------


def test_pr06_flags_each_walkaway_on_its_project():
    firm = IntermediaryFactory()
    p = walkaway(firm, date(2025, 6, 3))
    [match] = find("PR06")
    assert (match.subject_type, match.subject_id, match.intermediary_id) == ("project", p.pk, firm.pk)
    assert match.evidence["recorded_on"] == "2025-06-03"
    assert match.evidence["reason"] == "人员不足，无法履约"
    assert "serious" not in match.evidence


def test_pr06_three_walkaways_within_a_year_is_a_serious_finding_on_the_firm():
    firm = IntermediaryFactory()
    projects = [walkaway(firm, day) for day in (date(2025, 1, 6), date(2025, 5, 6), date(2025, 11, 6))]
    matches = find("PR06")
    [serious] = [m for m in matches if m.subject_type == "intermediary"]
    assert (serious.subject_id, serious.intermediary_id, serious.project_id) == (firm.pk, firm.pk, None)
    assert serious.evidence["serious"] is True
    assert serious.evidence["count"] == 3
    assert serious.evidence["projects"] == [p.public_number for p in projects]
    assert (serious.evidence["first_on"], serious.evidence["last_on"]) == ("2025-01-06", "2025-11-06")
    assert len([m for m in matches if m.subject_type == "project"]) == 3


def test_pr06_three_walkaways_spread_over_more_than_a_year_are_not_serious():
    firm = IntermediaryFactory()
    for day in (date(2024, 1, 10), date(2024, 9, 2), date(2025, 3, 3)):
        walkaway(firm, day)
    matches = find("PR06")
    assert len(matches) == 3
    assert all(m.subject_type == "project" for m in matches)


def test_pr06_a_fourth_walkaway_updates_the_serious_flag_rather_than_adding_one():
    firm = IntermediaryFactory()
    for day in (date(2025, 1, 6), date(2025, 5, 6), date(2025, 11, 6)):
        walkaway(firm, day)
    services.monitor_run(codes=["PR06"])
    walkaway(firm, date(2025, 12, 1))
    services.monitor_run(codes=["PR06"])
    serious = Flag.objects.get(rule="PR06", subject_type="intermediary")
    assert serious.status == Flag.Status.OPEN and serious.evidence["count"] == 4


def test_pr06_window_is_a_threshold():
    firm = IntermediaryFactory()
    for day in (date(2024, 1, 10), date(2024, 9, 2), date(2025, 3, 3)):
        walkaway(firm, day)
    services.monitor_run(codes=["PR06"])
    assert not Flag.objects.filter(rule="PR06", subject_type="intermediary").exists()
    set_thresholds("PR06", window_days=450)
    services.monitor_run(codes=["PR06"])
    serious = Flag.objects.get(rule="PR06", subject_type="intermediary")
    assert serious.subject_id == firm.pk and serious.evidence["window_days"] == 450


def test_pr06_a_firm_scoped_run_finds_the_serious_finding():
    firm = IntermediaryFactory()
    for day in (date(2025, 1, 6), date(2025, 5, 6), date(2025, 11, 6)):
        walkaway(firm, day)
    services.monitor_run(scope=services.scope_for_intermediary(firm.pk), codes=["PR06"])
    assert Flag.objects.filter(rule="PR06", intermediary_id=firm.pk, status=Flag.Status.OPEN).count() == 4


def test_pr06_explains_both_kinds_in_both_languages():
    rule = get_rule("PR06")
    single = {
        "project": "ZZZJ2025000007",
        "firm": "枣庄某某咨询有限公司",
        "uscc": "91370400000000002X",
        "recorded_on": "2025-06-03",
        "reason": "人员不足，无法履约",
    }
    serious = {
        "serious": True,
        "firm": "枣庄某某咨询有限公司",
        "uscc": "91370400000000002X",
        "count": 3,
        "first_on": "2025-01-06",
        "last_on": "2025-11-06",
        "projects": ["ZZZJ2025000007", "ZZZJ2025000008", "ZZZJ2025000009"],
        "serious_count": 3,
        "window_days": 365,
    }
    for text in (rule.explain(single), rule.explain(single, "en")):
        assert all(s in text for s in ("ZZZJ2025000007", "枣庄某某咨询有限公司", "2025-06-03", "人员不足"))
    zh, en = rule.explain(serious), rule.explain(serious, "en")
    for text in (zh, en):
        assert all(
            s in text for s in ("枣庄某某咨询有限公司", "ZZZJ2025000009", "2025-01-06", "2025-11-06", "365")
        )
    assert "严重失信" in zh and "serious" in en


# --- every rule: scoped runs and query counts ---------------------------------------------------


def _open(code: str, p: Project, scope: Scope) -> set:
    flags = Flag.objects.filter(rule=code, status=Flag.Status.OPEN)
    return {
        (f.subject_type, f.subject_id, f.fingerprint, repr(sorted(f.evidence.items())))
        for f in flags
        if f.project_id == p.pk
        or (f.subject_type == "intermediary" and f.subject_id in scope.intermediary_ids)
    }


@pytest.mark.parametrize("code", CODES)
def test_a_scoped_run_gives_the_same_flags_as_the_full_scan(code):
    planted = market().planted[code]
    scope = services.scope_for_project(planted.pk)
    services.monitor_run(scope=scope, codes=[code])
    scoped = _open(code, planted, scope)
    run = services.monitor_run(codes=[code])
    assert scoped and scoped == _open(code, planted, scope)
    assert run.summary[code]["resolved"] == 0


@pytest.mark.parametrize("code", CODES)
def test_queries_do_not_grow_with_the_market(code):
    rule = get_rule(code)
    params = rule.params({})

    def count() -> tuple[int, int]:
        workdays._year_exceptions.cache_clear()
        with CaptureQueriesContext(connection) as queries:
            found = list(rule.find(Scope(), params))
        return len(queries), len(found)

    market()
    small, small_found = count()
    market()
    market()
    large, large_found = count()
    assert large_found == 3 * small_found > 0
    assert small == large <= 12
