"""Races on PostgreSQL: two connections doing the same thing at the same moment (STYLE 16)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from marketplace.core.errors import DomainError
from marketplace.core.models import AuditEvent
from marketplace.procurement import services
from marketplace.procurement.models import Application, Contract, Project, Selection, Status
from marketplace.procurement.services.common import lock_project
from marketplace.procurement.services.timeline import publicity_end, tick
from tests.conftest import requires_postgres
from tests.factories import PDF_BYTES

from .factories import firm_user, pass_deadline, published_project

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(*jobs: Callable[[], object]) -> list[object]:
    """Run the jobs in threads released together; each result is a value or the exception."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def worker(i: int, job: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = job()
        except Exception as exc:  # collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return results


def _with_applicants(n=3):
    project = published_project()
    firms = [firm_user(project.service_type) for _ in range(n)]
    for i, (_firm, user) in enumerate(firms):
        services.application_submit(actor=user, project=project, quote=Decimal("70000") + i)
    return project, firms


@pytest.mark.parametrize("closed_first", [True, False], ids=["closed", "still-published"])
def test_two_selection_runs_at_once_make_one_selection(closed_first):
    project, _firms = _with_applicants()
    pass_deadline(project)
    if closed_first:
        services.registration_close(project=project)
    results = race(
        lambda: services.selection_run(project=Project(pk=project.pk)),
        lambda: services.selection_run(project=Project(pk=project.pk)),
    )
    selections = [r for r in results if isinstance(r, Selection)]
    errors = [r for r in results if isinstance(r, DomainError)]
    assert len(selections) == 1 and len(errors) == 1, results
    assert errors[0].code == "already_drawn"
    assert Selection.objects.filter(project_id=project.pk).count() == 1
    selection = Selection.objects.get(project_id=project.pk)
    assert selection.winner_id and selection.pk == selections[0].pk
    project.refresh_from_db()
    assert project.status == Status.SELECTED
    assert AuditEvent.objects.filter(action="selection.run").count() == 1
    assert AuditEvent.objects.filter(action="project.close_registration").count() == 1


def test_two_ticks_at_once_select_once():
    project, _firms = _with_applicants()
    pass_deadline(project)
    race(tick, tick)
    project.refresh_from_db()
    assert project.status == Status.SELECTED
    assert Selection.objects.filter(project_id=project.pk).count() == 1
    assert AuditEvent.objects.filter(action="project.unseal").count() == 1


def test_two_applications_for_the_same_firm_at_once_make_one():
    project = published_project()
    firm, user = firm_user(project.service_type)
    results = race(
        lambda: services.application_submit(actor=user, project=Project(pk=project.pk), quote="70000"),
        lambda: services.application_submit(actor=user, project=Project(pk=project.pk), quote="80000"),
    )
    applications = [r for r in results if isinstance(r, Application)]
    errors = [r for r in results if isinstance(r, DomainError)]
    assert len(applications) == 1 and len(errors) == 1, results
    assert errors[0].code == "duplicate"
    assert Application.objects.filter(project_id=project.pk, intermediary=firm).count() == 1
    assert AuditEvent.objects.filter(action="application.submit").count() == 1


def test_two_confirmations_of_the_same_contract_confirm_once():
    project, firms = _with_applicants()
    pass_deadline(project)
    services.registration_close(project=project)
    services.selection_run(project=project)
    Project.objects.filter(pk=project.pk).update(publicity_ends_on=timezone.localdate() - timedelta(days=1))
    publicity_end(project=project)
    project.refresh_from_db()
    winner = Selection.objects.get(project=project).winner.intermediary
    winner_user = next(user for firm, user in firms if firm == winner)
    pdf = SimpleUploadedFile("c.pdf", PDF_BYTES, content_type="application/pdf")
    services.contract_upload(actor=project.created_by, project=project, document=pdf)
    results = race(
        lambda: services.contract_confirm(actor=winner_user, project=Project(pk=project.pk)),
        lambda: services.contract_confirm(actor=winner_user, project=Project(pk=project.pk)),
    )
    assert all(isinstance(r, Contract) for r in results), results
    contract = Contract.objects.get(project=project)
    assert contract.confirmed_at is not None
    assert {r.confirmed_at for r in results} == {contract.confirmed_at}
    project.refresh_from_db()
    assert project.status == Status.IN_SERVICE
    assert AuditEvent.objects.filter(action="contract.confirm").count() == 1
    assert AuditEvent.objects.filter(action="project.start_service").count() == 1


def test_locking_one_project_does_not_block_another_of_the_same_service_type():
    first = published_project()
    second = published_project(service_type=first.service_type)
    locked, release = threading.Event(), threading.Event()

    def hold_first():
        with transaction.atomic():
            lock_project(first.pk)
            locked.set()
            release.wait(timeout=10)

    def lock_second():
        assert locked.wait(timeout=10)
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '500ms'")
                return lock_project(second.pk)
        finally:
            release.set()

    results = race(hold_first, lock_second)
    assert not isinstance(results[1], OperationalError), results
    assert isinstance(results[1], Project)
