"""The append-only audit log. Every service that changes state calls ``audit_record``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from .context import client_ip_var, request_id_var
from .models import AuditEvent

GENESIS_HASH = "0" * 64
# Arbitrary constant for pg_advisory_xact_lock: serialises appends so the chain never forks.
_AUDIT_LOCK_KEY = 7_310_001


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    if hasattr(value, "name") and hasattr(value, "url"):  # FieldFile
        return value.name or ""
    return str(value)


def canonical(value: Any) -> Any:
    """JSON-safe, deterministic form of a value (what is stored and what is hashed)."""
    return json.loads(json.dumps(value, default=_default, sort_keys=True, ensure_ascii=False))


def _event_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _payload(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "created_at": event.created_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "request_id": event.request_id,
        "client_ip": event.client_ip,
    }


def snapshot(instance: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """The concrete field values of a model instance, for ``before``/``after``."""
    names = fields or [f.attname for f in instance._meta.concrete_fields]
    return canonical({name: getattr(instance, name) for name in names})


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Must run inside the caller's transaction, so the event and the change
    it describes are written together or not at all."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside a transaction")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_LOCK_KEY])
    last = AuditEvent.objects.order_by("-seq").only("seq", "hash").first()
    user = actor if getattr(actor, "is_authenticated", False) else None
    event = AuditEvent(
        seq=(last.seq + 1) if last else 1,
        created_at=timezone.now(),
        actor=user,
        actor_label=(user.get_username() if user else str(actor or "system"))[:200],
        action=action,
        object_type=object_type or (obj._meta.label_lower if obj is not None else ""),
        object_id=str(object_id if object_id is not None else (obj.pk if obj is not None else "")),
        before=canonical(before) if before is not None else None,
        after=canonical(after) if after is not None else None,
        request_id=request_id_var.get(),
        client_ip=client_ip_var.get(),
        prev_hash=last.hash if last else GENESIS_HASH,
    )
    event.hash = _event_hash(event.prev_hash, _payload(event))
    event.save(force_insert=True)
    return event


@dataclass
class ChainReport:
    checked: int
    broken_at: int | None = None
    reason: str = ""
    # Hash of the last event checked: removing the newest events breaks no link, so a copy of
    # the count and this hash kept elsewhere is what shows such a truncation.
    head: str = GENESIS_HASH

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def audit_verify(batch_size: int = 2000) -> ChainReport:
    """Walk the chain in order; report the first event whose link or hash does not hold."""
    prev_hash = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=batch_size):
        if event.seq != expected_seq:
            return ChainReport(checked, event.seq, f"sequence gap: expected {expected_seq}")
        if event.prev_hash != prev_hash:
            return ChainReport(checked, event.seq, "link to the previous event does not match")
        if _event_hash(event.prev_hash, _payload(event)) != event.hash:
            return ChainReport(checked, event.seq, "content does not match its hash")
        prev_hash = event.hash
        expected_seq += 1
        checked += 1
    return ChainReport(checked, head=prev_hash)
