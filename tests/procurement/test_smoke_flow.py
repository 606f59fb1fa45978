from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from marketplace.core.audit import audit_verify
from marketplace.procurement import services
from marketplace.procurement.models import Project, Status
from marketplace.procurement.services import timeline
from tests.factories import PDF_BYTES

from .factories import firm_user, pass_deadline, published_project


def pdf():
    return SimpleUploadedFile("c.pdf", PDF_BYTES, content_type="application/pdf")


@pytest.mark.django_db
def test_lowest_price_project_runs_from_posting_to_closing():
    project = published_project()
    owner = project.created_by
    firms = [firm_user(project.service_type) for _ in range(3)]
    for (_firm, user), quote in zip(firms, ["90000", "70000", "80000"], strict=True):
        services.application_submit(actor=user, project=project, quote=Decimal(quote), client_ip="10.0.0.1")
    project = pass_deadline(project)
    report = timeline.tick()
    assert report["closed"] == 1 and report["selected"] == 1
    project.refresh_from_db()
    assert project.status == Status.SELECTED
    selection = project.selections.get()
    assert selection.winner.intermediary == firms[1][0]
    Project.objects.filter(pk=project.pk).update(
        publicity_ends_on=timezone.localdate() - timezone.timedelta(days=1)
    )
    timeline.tick()
    project.refresh_from_db()
    assert project.status == Status.CONTRACTING
    winner_user = firms[1][1]
    services.contract_upload(actor=owner, project=project, document=pdf())
    services.contract_confirm(actor=winner_user, project=project)
    project.refresh_from_db()
    assert project.status == Status.IN_SERVICE and project.contract.amount == Decimal("70000.00")
    services.delivery_submit(actor=winner_user, project=project, document=pdf(), note="报告书")
    services.delivery_decide(actor=owner, project=project, accept=True)
    services.rating_submit(
        actor=owner,
        project=project,
        scores={"quality": 5, "timeliness": 4, "attitude": 5, "fee_compliance": 5, "conduct": 5},
    )
    services.rating_submit(
        actor=winner_user, project=project, scores={"payment_timeliness": 5, "non_interference": 5}
    )
    project.refresh_from_db()
    assert project.status == Status.RATED
    timeline.tick()
    project.refresh_from_db()
    assert project.status == Status.CLOSED
    firms[1][0].refresh_from_db()
    assert firms[1][0].rating_score == Decimal("4.80")
    assert audit_verify().ok
