"""``manage.py seed_demo`` also replays the demo owners' projects (``marketplace.procurement.demo``):
every state and method is there, every draw verifies, open quotes stay sealed, the audit chain
holds, and what is still open is consistent with the real "now"."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from marketplace.catalog.models import ServiceType
from marketplace.core.audit import audit_verify
from marketplace.procurement import demo as procurement_demo
from marketplace.procurement.models import (
    Amendment,
    Application,
    Delivery,
    EvaluatorScore,
    Exclusion,
    FundingSource,
    Method,
    Objection,
    Project,
    Rating,
    Selection,
    Status,
    WalkAway,
)
from marketplace.providers.models import Intermediary

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(scope="class")
def seeded(django_db_setup, django_db_blocker):
    """``manage.py seed_demo`` once for the read-only checks of a class, rolled back after."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            if not ServiceType.objects.exists():  # a flushed database gets its catalogue back
                from marketplace.catalog.seed import seed_catalog

                seed_catalog()
            out = StringIO()
            call_command("seed_demo", stdout=out)
            yield out.getvalue()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def winner(project: Project) -> Intermediary:
    selection = project.selections.filter(annulled=False).exclude(winner=None).order_by("-round").first()
    return selection.winner.intermediary


class TestTheSeededProcurement:
    def test_every_state_and_every_method(self, seeded):
        projects = Project.objects.all()
        assert 55 <= projects.count() <= 70
        present = set(projects.values_list("status", flat=True))
        missing = set(Status.values) - present
        assert len(missing) <= 1, missing
        assert set(projects.values_list("method", flat=True)) == set(Method.values)
        # the ``owner`` login has a full workspace
        mine = projects.filter(owner__memberships__user__username="owner")
        assert mine.count() >= 8
        assert len(set(mine.values_list("status", flat=True))) >= 8
        # the summary table is printed
        assert "Demo procurement seeded" in seeded
        assert "relaunched" in seeded and "scored" in seeded

    def test_every_selection_verifies(self, seeded):
        numbers = list(
            Project.objects.filter(selections__isnull=False)
            .distinct()
            .values_list("public_number", flat=True)
        )
        assert len(numbers) >= 40
        rounds = 0
        for number in numbers:
            out = StringIO()
            call_command("verify_draw", number, stdout=out)  # exits 1 on a mismatch
            text = out.getvalue()
            assert "DOES NOT MATCH" not in text and "MISMATCH" not in text, text
            rounds += text.count(" VERIFIED")
        assert rounds == Selection.objects.count()
        # an upheld objection reran the selection: round 1 annulled, round 2 stands
        assert Selection.objects.filter(round=2, annulled=False).exists()
        assert Selection.objects.filter(round=1, annulled=True).exists()

    def test_quotes_stay_sealed_while_registration_is_open(self, seeded):
        now, today = timezone.now(), timezone.localdate()
        open_ = Project.objects.filter(status=Status.PUBLISHED)
        assert open_.exists()
        assert Application.objects.filter(project__in=open_).exists()
        assert not Application.objects.filter(
            project__status=Status.PUBLISHED, quote_amount__isnull=False
        ).exists()
        assert not open_.filter(registration_deadline__lte=now).exists()
        # what is still open is consistent with now: nothing beat would act on is due
        assert not Project.objects.filter(status=Status.SELECTED, publicity_ends_on__lt=today).exists()
        assert not Project.objects.filter(status=Status.CONTRACTING, contract_due__lt=today).exists()
        assert not Project.objects.filter(status=Status.IN_SERVICE, delivery_due__lt=today).exists()
        assert not Project.objects.filter(status=Status.DELIVERED, acceptance_due__lt=today).exists()
        closed = Project.objects.exclude(status__in=[Status.DRAFT, Status.UNDER_CHECK, Status.RETURNED])
        for project in closed.exclude(status__in=[Status.PUBLISHED, Status.CANCELLED]):
            assert project.registration_deadline <= now
        # quotes are within the band; applicants come from private test addresses
        for app in Application.objects.exclude(quote_amount=None).select_related("project"):
            assert app.project.price_floor <= app.quote_amount <= app.project.price_ceiling
        assert all(ip.startswith("10.") for ip in Application.objects.values_list("client_ip", flat=True))

    def test_the_audit_chain_holds(self, seeded):
        report = audit_verify()
        assert report.ok, report.reason
        assert "chain intact" in seeded and "BROKEN" not in seeded

    def test_the_stories(self, seeded):
        assert Project.objects.filter(status=Status.RETURNED).exclude(check_note="").exists()
        relaunched = Project.objects.filter(status=Status.RELAUNCHED)
        assert relaunched.count() >= 2
        children = Project.objects.filter(relaunch_of__in=relaunched)
        assert children.filter(status__in=[Status.IN_SERVICE, Status.CLOSED]).exists()
        draw_child = children.get(method=Method.RANDOM_DRAW)
        assert draw_child.funding_source == FundingSource.FISCAL and draw_child.status == Status.CLOSED
        assert "有效报名" in draw_child.relaunch_of.failure_reason  # the first round failed (流标)
        assert WalkAway.objects.count() == 1
        assert Objection.objects.filter(outcome=Objection.Outcome.UPHELD).exists()
        assert Objection.objects.filter(outcome=Objection.Outcome.REJECTED).exists()
        assert Objection.objects.filter(outcome=Objection.Outcome.PENDING).exists()
        assert Amendment.objects.exclude(reason="").count() >= 1
        assert (
            Delivery.objects.filter(decision=Delivery.Decision.RETURNED).exclude(decision_reason="").exists()
        )
        assert Rating.objects.exclude(disputed_at=None).count() == 1
        assert Exclusion.objects.exists()  # a firm with a declared tie is excluded (回避)
        assert EvaluatorScore.objects.values("evaluator").distinct().count() >= 3
        for direct in Project.objects.filter(method=Method.DIRECT):
            assert direct.method_reason
            limit = settings.DIRECT_SELECTION_THRESHOLDS[direct.funding_source]
            assert direct.price_ceiling < limit
        # both sides rated every rated or closed project, and firms have a public rating
        for project in Project.objects.filter(status__in=[Status.RATED, Status.CLOSED]):
            assert project.ratings.count() == 2
        assert Intermediary.objects.exclude(rating_score=None).count() >= 10
        for project in Project.objects.exclude(approval_item=None).select_related("approval_item"):
            assert project.approval_item.service_types.filter(pk=project.service_type_id).exists()
            assert project.department_id == project.approval_item.department_id

    def test_the_planted_cases(self, seeded):
        # one firm wins four projects for one department's approval items
        wins = Counter()
        for selection in (
            Selection.objects.filter(annulled=False)
            .exclude(winner=None)
            .select_related("winner__intermediary", "project")
        ):
            if selection.project.department_id:
                wins[(selection.winner.intermediary.name, selection.project.department_id)] += 1
        assert max(wins.values()) >= 4
        # an owner selects the same firm directly three times within a year, each below the threshold
        direct = Counter(
            (p.owner_id, winner(p).pk)
            for p in Project.objects.filter(method=Method.DIRECT, selections__winner__isnull=False).distinct()
        )
        assert max(direct.values()) >= 3

        # identical quotes from two firms in a lowest-price project, and in a random draw by design
        def has_identical(method):
            for project in Project.objects.filter(method=method):
                quotes = list(
                    project.applications.exclude(quote_amount=None).values_list("quote_amount", flat=True)
                )
                if len(quotes) != len(set(quotes)):
                    return True
            return False

        assert has_identical(Method.LOWEST_PRICE) and has_identical(Method.RANDOM_DRAW)
        # a private project with a single valid applicant
        assert any(
            p.applications.filter(state=Application.State.VALID).count() == 1
            for p in Project.objects.filter(funding_source=FundingSource.PRIVATE).exclude(
                method=Method.DIRECT
            )
            if p.selections.exists()
        )
        # two firms applying from the same address
        shared = Counter(Application.objects.values_list("project_id", "client_ip"))
        assert max(shared.values()) >= 2
        # a contract raised by 15%
        assert any(
            (a.new_amount / a.old_amount).quantize(Decimal("0.01")) == Decimal("1.15")
            for a in Amendment.objects.all()
        )

    def test_running_again_changes_nothing(self, seeded):
        before = (Project.objects.count(), Application.objects.count(), audit_verify().checked)
        out = StringIO()
        call_command("seed_demo", stdout=out)
        assert "projects are there already" in out.getvalue()
        assert (Project.objects.count(), Application.objects.count(), audit_verify().checked) == before
        assert procurement_demo.procurement_seeded()
