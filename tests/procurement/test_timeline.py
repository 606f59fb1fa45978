"""timeline.tick(): moves projects on time, idempotent and safe to run late or twice."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from marketplace.core.models import AuditEvent
from marketplace.core.workdays import add_working_days
from marketplace.procurement import services
from marketplace.procurement.models import (
    Contract,
    Escalation,
    Notification,
    Project,
    Selection,
    Status,
    WalkAway,
)
from marketplace.procurement.services.timeline import tick
from tests.factories import PDF_BYTES

from .factories import firm_user, pass_deadline, published_project

pytestmark = pytest.mark.django_db

K = Escalation.Kind


def pdf():
    return SimpleUploadedFile("c.pdf", PDF_BYTES, content_type="application/pdf")


def yesterday():
    return timezone.localdate() - timedelta(days=1)


def state() -> dict:
    """Everything tick() may change, to compare before and after a second run."""
    return {
        "statuses": dict(Project.objects.values_list("pk", "status")),
        "events": AuditEvent.objects.count(),
        "notifications": Notification.objects.count(),
        "escalations": sorted(Escalation.objects.values_list("project_id", "kind")),
        "selections": Selection.objects.count(),
        "walkaways": WalkAway.objects.count(),
    }


def applied(method="lowest_price", n=1, **overrides):
    """A private project with ``n`` applicants (one valid applicant is enough for private funds)."""
    overrides = {"price_floor": Decimal("20000"), "price_ceiling": Decimal("40000"), **overrides}
    if method == "direct":
        overrides["method_reason"] = "小额"
    if method == "scored_comparison":
        overrides |= {"price_weight": 50}
    project = published_project(method=method, funding_source="private", **overrides)
    firms = [firm_user(project.service_type) for _ in range(n)]
    for i, (_firm, user) in enumerate(firms):
        services.application_submit(actor=user, project=project, quote=Decimal("30000") + i)
    return project, firms


def selected():
    project, firms = applied()
    pass_deadline(project)
    tick()
    project.refresh_from_db()
    assert project.status == Status.SELECTED
    return project, firms[0][1]


def contracting():
    project, firm_user_ = selected()
    Project.objects.filter(pk=project.pk).update(publicity_ends_on=yesterday())
    tick()
    project.refresh_from_db()
    assert project.status == Status.CONTRACTING
    return project, firm_user_


def in_service():
    project, firm_user_ = contracting()
    services.contract_upload(actor=project.created_by, project=project, document=pdf())
    services.contract_confirm(actor=firm_user_, project=project)
    project.refresh_from_db()
    return project, firm_user_


def test_tick_closes_registration_but_waits_for_the_selection_time():
    project, _firms = applied()
    pass_deadline(project, selection_too=False)
    report = tick()
    project.refresh_from_db()
    assert report["closed"] == 1 and report["selected"] == 0
    assert project.status == Status.REGISTRATION_CLOSED
    assert project.applications.get().quote_amount == Decimal("30000")


def test_tick_does_not_close_before_the_deadline():
    project, _firms = applied()
    assert tick()["closed"] == 0
    project.refresh_from_db()
    assert project.status == Status.PUBLISHED


@pytest.mark.parametrize(
    ("method", "status"),
    [
        ("lowest_price", Status.SELECTED),
        ("reference_price", Status.SELECTED),
        ("random_draw", Status.SELECTED),
        ("credit_preference", Status.SELECTING),
    ],
)
def test_tick_runs_automatic_methods_at_selection_time(method, status):
    overrides = (
        {"price_floor": Decimal("30000"), "price_ceiling": Decimal("30000")}
        if method == "random_draw"
        else {}
    )
    project, _firms = applied(method, **overrides)
    pass_deadline(project, selection_too=False)
    tick()
    Project.objects.filter(pk=project.pk).update(selection_time=timezone.now() - timedelta(minutes=1))
    report = tick()
    project.refresh_from_db()
    assert report["selected"] == 1 and project.status == status
    assert project.selections.count() == 1 and project.selections.get().performed_by is None


def test_tick_leaves_direct_selection_to_the_owner():
    project, _firms = applied("direct")
    pass_deadline(project)
    tick()
    project.refresh_from_db()
    assert project.status == Status.REGISTRATION_CLOSED and not project.selections.exists()


def test_tick_skips_a_scored_comparison_without_scores():
    project, _firms = applied("scored_comparison")
    pass_deadline(project)
    report = tick()
    project.refresh_from_db()
    assert report["selected"] == 0 and project.status == Status.REGISTRATION_CLOSED


def test_tick_ends_publicity_only_after_publicity_ends_on():
    project, _user = selected()
    Project.objects.filter(pk=project.pk).update(publicity_ends_on=timezone.localdate())
    assert tick()["publicity_ended"] == 0
    project.refresh_from_db()
    assert project.status == Status.SELECTED
    Project.objects.filter(pk=project.pk).update(publicity_ends_on=yesterday())
    assert tick()["publicity_ended"] == 1
    project.refresh_from_db()
    assert project.status == Status.CONTRACTING
    assert project.contract_due == add_working_days(yesterday(), settings.CONTRACT_WORKING_DAYS)


def test_tick_does_not_end_publicity_with_an_objection_pending():
    project, firms = applied("lowest_price", n=2)
    pass_deadline(project)
    tick()
    loser = next(u for f, u in firms if f != project.selections.get().winner.intermediary)
    services.objection_file(actor=loser, project=project, text="异议")
    Project.objects.filter(pk=project.pk).update(publicity_ends_on=yesterday())
    tick()
    project.refresh_from_db()
    assert project.status == Status.OBJECTION_PENDING


def test_tick_escalates_an_overdue_contract_once():
    project, _user = contracting()
    Project.objects.filter(pk=project.pk).update(contract_due=yesterday())
    tick()
    assert list(Escalation.objects.values_list("project", "kind")) == [(project.pk, K.CONTRACT_OVERDUE)]
    project.refresh_from_db()
    assert project.status == Status.CONTRACTING
    notified = Notification.objects.filter(message__startswith="合同逾期未签订").count()
    assert notified >= 2  # the owner and the firm (and any regulators)
    before = state()
    tick()
    assert state() == before


def test_tick_escalates_late_and_seriously_late_delivery_once_each():
    project, _user = in_service()
    Project.objects.filter(pk=project.pk).update(delivery_due=yesterday())
    tick()
    assert list(Escalation.objects.values_list("kind", flat=True)) == [K.DELIVERY_LATE]
    long_ago = timezone.localdate() - timedelta(days=30)  # more than 10 working days
    Project.objects.filter(pk=project.pk).update(delivery_due=long_ago)
    tick()
    assert sorted(Escalation.objects.values_list("kind", flat=True)) == [
        K.DELIVERY_LATE,
        K.DELIVERY_SERIOUSLY_LATE,
    ]
    before = state()
    tick()
    assert state() == before


def test_delivery_is_seriously_late_only_after_10_working_days():
    project, _user = in_service()
    today = timezone.localdate()
    due = today - timedelta(days=1)
    while add_working_days(due - timedelta(days=1), 10) >= today:
        due -= timedelta(days=1)
    # ``due`` is the earliest due date that is still within 10 working days of today
    Project.objects.filter(pk=project.pk).update(delivery_due=due)
    tick()
    assert list(Escalation.objects.values_list("kind", flat=True)) == [K.DELIVERY_LATE]
    Project.objects.filter(pk=project.pk).update(delivery_due=due - timedelta(days=1))
    tick()
    assert Escalation.objects.filter(kind=K.DELIVERY_SERIOUSLY_LATE).count() == 1


def test_tick_escalates_overdue_acceptance_once():
    project, user = in_service()
    services.delivery_submit(actor=user, project=project, document=pdf())
    Project.objects.filter(pk=project.pk).update(acceptance_due=yesterday())
    tick()
    assert list(Escalation.objects.values_list("kind", flat=True)) == [K.ACCEPTANCE_OVERDUE]
    before = state()
    tick()
    assert state() == before


def test_tick_records_a_walkaway_when_the_firm_did_not_confirm_the_owners_upload():
    project, _user = contracting()
    services.contract_upload(actor=project.created_by, project=project, document=pdf())
    Project.objects.filter(pk=project.pk).update(contract_due=yesterday())
    tick()
    project.refresh_from_db()
    assert project.status == Status.FAILED
    walkaway = WalkAway.objects.get()
    assert walkaway.project == project and walkaway.reason == "未在期限内确认合同"
    assert walkaway.intermediary == project.selections.get().winner.intermediary
    before = state()
    tick()
    assert state() == before


def test_tick_escalates_rather_than_blaming_the_firm_when_the_owner_did_not_confirm():
    project, user = contracting()
    services.contract_upload(actor=user, project=project, document=pdf())
    Project.objects.filter(pk=project.pk).update(contract_due=yesterday())
    tick()
    project.refresh_from_db()
    assert project.status == Status.CONTRACTING and not WalkAway.objects.exists()
    assert Escalation.objects.get().kind == K.CONTRACT_OVERDUE
    assert Contract.objects.get().confirmed_at is None


def test_tick_closes_rated_projects():
    project, user = in_service()
    owner = project.created_by
    services.delivery_submit(actor=user, project=project, document=pdf())
    services.delivery_decide(actor=owner, project=project, accept=True)
    services.rating_submit(
        actor=owner,
        project=project,
        scores={"quality": 4, "timeliness": 4, "attitude": 4, "fee_compliance": 4, "conduct": 4},
    )
    services.rating_submit(
        actor=user, project=project, scores={"payment_timeliness": 5, "non_interference": 5}
    )
    report = tick()
    project.refresh_from_db()
    assert report["closed_rated"] == 1 and project.status == Status.CLOSED
    assert tick()["closed_rated"] == 0


def test_tick_is_idempotent_across_every_kind_of_project():
    """One of each: due to close, due to close and select at once (run late), publicity over,
    contract overdue, delivery late. The first run moves them all; the second changes nothing."""
    publicity_over, _ = selected()  # the helpers tick themselves: build these first
    overdue, _ = contracting()
    late, _ = in_service()
    Project.objects.filter(pk=publicity_over.pk).update(publicity_ends_on=yesterday())
    Project.objects.filter(pk=overdue.pk).update(contract_due=yesterday())
    Project.objects.filter(pk=late.pk).update(delivery_due=yesterday())
    late_project, _ = applied()
    pass_deadline(late_project)  # deadline and selection time both passed: one run does both
    close_only, _ = applied()
    pass_deadline(close_only, selection_too=False)

    first = tick()
    assert first["closed"] == 2 and first["selected"] == 1 and first["publicity_ended"] == 1
    assert first["escalated"] == 1 and first["contract_overdue"] == 1
    statuses = dict(Project.objects.values_list("pk", "status"))
    assert statuses[late_project.pk] == Status.SELECTED
    assert statuses[close_only.pk] == Status.REGISTRATION_CLOSED
    assert statuses[publicity_over.pk] == Status.CONTRACTING
    assert statuses[overdue.pk] == Status.CONTRACTING and statuses[late.pk] == Status.IN_SERVICE
    before = state()
    second = tick()
    assert state() == before
    assert second["closed"] == 0 and second["selected"] == 0 and second["escalated"] == 0
