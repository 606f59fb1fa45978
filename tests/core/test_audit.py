import pytest
from django.core.management import call_command
from django.db import transaction

from marketplace.core.audit import _event_hash, _payload, audit_record, audit_verify
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


def _edit_payload(seq: int) -> None:
    AuditEvent.objects.filter(seq=seq).update(after={"i": 999})


def _edit_and_rehash(seq: int) -> None:
    """Edit an event and recompute its own hash, as someone who knows the algorithm would."""
    event = AuditEvent.objects.get(seq=seq)
    event.after = {"i": 999}
    AuditEvent.objects.filter(pk=event.pk).update(
        after=event.after, hash=_event_hash(event.prev_hash, _payload(event))
    )


def _delete(seq: int) -> None:
    AuditEvent.objects.filter(seq=seq).delete()


def _swap_positions(seq: int) -> None:
    """Events ``seq`` and ``seq + 1`` change places (their sequence numbers are swapped)."""
    a, b = AuditEvent.objects.get(seq=seq), AuditEvent.objects.get(seq=seq + 1)
    AuditEvent.objects.filter(pk=a.pk).update(seq=-1)
    AuditEvent.objects.filter(pk=b.pk).update(seq=seq)
    AuditEvent.objects.filter(pk=a.pk).update(seq=seq + 1)


def _swap_contents(seq: int) -> None:
    """Rows ``seq`` and ``seq + 1`` keep their ids and numbers but exchange everything else."""
    fields = ["created_at", "actor_label", "action", "object_type", "object_id", "before", "after"]
    fields += ["prev_hash", "hash"]
    a, b = AuditEvent.objects.get(seq=seq), AuditEvent.objects.get(seq=seq + 1)
    values_a = {f: getattr(a, f) for f in fields}
    values_b = {f: getattr(b, f) for f in fields}
    # prev_hash and hash are unique: park one row's on placeholders first.
    AuditEvent.objects.filter(pk=a.pk).update(prev_hash="a" * 64, hash="b" * 64)
    AuditEvent.objects.filter(pk=b.pk).update(**values_a)
    AuditEvent.objects.filter(pk=a.pk).update(**values_b)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("tamper", "seq", "named", "reason"),
    [
        (_edit_payload, 3, 3, "content does not match its hash"),
        (_edit_and_rehash, 3, 4, "link to the previous event does not match"),
        (_delete, 3, 4, "sequence gap: expected 3"),
        (_delete, 1, 2, "sequence gap: expected 1"),
        (_swap_positions, 2, 2, "link to the previous event does not match"),
        (_swap_contents, 2, 2, "link to the previous event does not match"),
    ],
    ids=["edit", "edit-and-rehash", "delete", "delete-first", "swap-positions", "swap-contents"],
)
def test_verify_audit_command_fails_naming_the_tampered_event(capsys, tamper, seq, named, reason):
    _record(5)
    call_command("verify_audit")
    assert "OK: 5 audit events" in capsys.readouterr().out

    tamper(seq)
    with pytest.raises(SystemExit) as exc:
        call_command("verify_audit")

    assert exc.value.code == 1
    out = capsys.readouterr().out
    assert f"BROKEN at event #{named}: {reason}" in out


@pytest.mark.django_db
def test_removing_the_newest_event_shows_in_the_count_and_last_hash(capsys):
    _record(5)
    call_command("verify_audit")
    before = capsys.readouterr().out
    AuditEvent.objects.filter(seq=5).delete()

    call_command("verify_audit")
    after = capsys.readouterr().out

    last = AuditEvent.objects.get(seq=4).hash
    assert f"OK: 4 audit events, chain intact; last hash {last}." in after
    assert last not in before and "OK: 5 audit events" in before
