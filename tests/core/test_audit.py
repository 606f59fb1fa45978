import pytest
from django.core.management import call_command
from django.db import transaction

from marketplace.core.audit import audit_record, audit_verify
from marketplace.core.models import AuditEvent


def _record(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit_record(
                actor=None, action="test.event", object_type="test.thing", object_id=i, after={"i": i}
            )


@pytest.mark.django_db
def test_intact_chain_verifies():
    _record(5)
    report = audit_verify()
    assert report.ok and report.checked == 5


@pytest.mark.django_db
def test_edited_event_is_detected_at_its_position():
    _record(5)
    AuditEvent.objects.filter(seq=3).update(after={"i": 999})
    report = audit_verify()
    assert report.broken_at == 3


@pytest.mark.django_db
def test_deleted_event_is_detected():
    _record(5)
    AuditEvent.objects.filter(seq=2).delete()
    report = audit_verify()
    assert report.broken_at == 3


@pytest.mark.django_db
def test_reordered_events_are_detected():
    _record(4)
    a, b = AuditEvent.objects.get(seq=2), AuditEvent.objects.get(seq=3)
    AuditEvent.objects.filter(pk=a.pk).update(seq=-1)
    AuditEvent.objects.filter(pk=b.pk).update(seq=2)
    AuditEvent.objects.filter(pk=a.pk).update(seq=3)
    assert audit_verify().broken_at == 2


@pytest.mark.django_db(transaction=True)
def test_audit_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        audit_record(actor=None, action="x", object_type="t", object_id=1)
    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db
def test_verify_audit_command_reports_the_first_broken_link(capsys):
    _record(3)
    AuditEvent.objects.filter(seq=2).update(action="tampered")
    with pytest.raises(SystemExit) as exc:
        call_command("verify_audit")
    assert exc.value.code == 1
    assert "#2" in capsys.readouterr().out
