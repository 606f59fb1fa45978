"""Sealed quotes: nobody can read an amount before registration closes."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from cryptography.exceptions import InvalidTag
from django.core import mail
from django.forms.models import model_to_dict

from marketplace.core.models import AuditEvent
from marketplace.procurement import sealing, services
from marketplace.procurement.models import Application, Notification
from marketplace.procurement.sealing import QuoteStillSealed

from .factories import firm_user, pass_deadline, published_project

AMOUNT = "87654.32"

pytestmark = pytest.mark.django_db


def _apply(project, amount=AMOUNT):
    firm, user = firm_user(project.service_type)
    application = services.application_submit(actor=user, project=project, quote=amount, client_ip="10.9.8.7")
    return firm, user, application


def _everything_stored_about(application: Application) -> str:
    row = Application.objects.filter(pk=application.pk).values().get()
    events = AuditEvent.objects.values("before", "after", "action", "object_id", "actor_label")
    return json.dumps([row, list(events)], default=str, ensure_ascii=False)


def test_sealed_quote_is_not_stored_in_plaintext_in_the_application_or_the_audit_log():
    project = published_project()
    _firm, _user, application = _apply(project)
    stored = _everything_stored_about(application)
    for needle in (AMOUNT, "87654", "8765432"):
        assert needle not in stored
    application.refresh_from_db()
    assert application.sealed_quote and application.quote_amount is None
    submit = AuditEvent.objects.get(action="application.submit", object_id=str(application.pk))
    assert submit.after["sealed"] is True


def test_sealed_quote_is_not_in_notifications_or_mail():
    project = published_project()
    _apply(project)
    texts = list(Notification.objects.values_list("message", flat=True))
    texts += [m.subject + m.body for m in mail.outbox]
    assert not any("87654" in t for t in texts)


def test_unseal_before_the_deadline_raises_quote_still_sealed():
    project = published_project()
    firm, _user, application = _apply(project)
    with pytest.raises(QuoteStillSealed) as excinfo:
        sealing.unseal(project, firm.pk, application.sealed_quote)
    assert "报名截止前" in str(excinfo.value)


def test_unseal_after_the_deadline_returns_the_amount():
    project = published_project()
    firm, _user, application = _apply(project)
    project = pass_deadline(project)
    assert sealing.unseal(project, firm.pk, application.sealed_quote) == Decimal(AMOUNT)


def test_two_seals_of_the_same_amount_differ():
    project = published_project()
    firm, _user = firm_user(project.service_type)
    assert sealing.seal(project, firm.pk, Decimal(AMOUNT)) != sealing.seal(project, firm.pk, Decimal(AMOUNT))


def test_ciphertext_moved_to_another_application_fails_to_decrypt():
    project = published_project()
    _firm_a, _user_a, application_a = _apply(project)
    firm_b, _user_b, _application_b = _apply(project, "60000")
    project = pass_deadline(project)
    with pytest.raises(InvalidTag):
        sealing.unseal(project, firm_b.pk, application_a.sealed_quote)


def test_ciphertext_moved_to_another_project_fails_to_decrypt():
    project = published_project()
    firm, _user, application = _apply(project)
    other = published_project(service_type=project.service_type)
    other = pass_deadline(other)
    with pytest.raises(InvalidTag):
        sealing.unseal(other, firm.pk, application.sealed_quote)


def test_quote_amount_stays_null_until_registration_close():
    project = published_project()
    _firm, _user, application = _apply(project)
    application.refresh_from_db()
    assert application.quote_amount is None
    project = pass_deadline(project)  # past the deadline, but not yet closed
    application.refresh_from_db()
    assert application.quote_amount is None
    assert model_to_dict(application)["quote_amount"] is None
    services.registration_close(project=project)
    application.refresh_from_db()
    assert application.quote_amount == Decimal(AMOUNT)
    assert application.state == Application.State.VALID


def test_withdrawn_quote_is_never_unsealed():
    project = published_project()
    _firm, user, application = _apply(project)
    services.application_withdraw(actor=user, application=application)
    project = pass_deadline(project)
    services.registration_close(project=project)
    application.refresh_from_db()
    assert application.state == Application.State.WITHDRAWN and application.quote_amount is None
    unseal = AuditEvent.objects.get(action="project.unseal", object_id=str(project.pk))
    assert AMOUNT not in json.dumps(unseal.after)
