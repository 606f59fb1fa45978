"""The project state machine: one table of allowed transitions (STYLE 4)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from marketplace.core.audit import audit_record
from marketplace.core.errors import DomainError
from marketplace.core.tasks import enqueue_on_commit

from .models import Project, Status

S = Status
MONITOR_PROJECT = "marketplace.oversight.tasks.monitor_project"

TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.UNDER_CHECK, S.CANCELLED}),
    S.UNDER_CHECK: frozenset({S.PUBLISHED, S.RETURNED, S.CANCELLED}),
    S.RETURNED: frozenset({S.UNDER_CHECK, S.CANCELLED}),
    S.PUBLISHED: frozenset({S.REGISTRATION_CLOSED, S.FAILED, S.CANCELLED}),
    S.REGISTRATION_CLOSED: frozenset({S.SELECTING, S.SELECTED, S.FAILED}),
    S.SELECTING: frozenset({S.SELECTED, S.FAILED}),
    S.SELECTED: frozenset({S.OBJECTION_PENDING, S.CONTRACTING}),
    S.OBJECTION_PENDING: frozenset({S.SELECTED, S.SELECTING, S.REGISTRATION_CLOSED, S.FAILED}),
    S.CONTRACTING: frozenset({S.IN_SERVICE, S.FAILED}),
    S.IN_SERVICE: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.ACCEPTED, S.IN_SERVICE}),
    S.ACCEPTED: frozenset({S.RATED}),
    S.RATED: frozenset({S.CLOSED}),
    S.FAILED: frozenset({S.RELAUNCHED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
    S.RELAUNCHED: frozenset(),
}

TERMINAL = frozenset(s for s, targets in TRANSITIONS.items() if not targets)


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def transition(project: Project, target: str, *, actor, action: str, note: str = "") -> Project:
    """Move a row-locked project to ``target`` or raise a domain error; audited."""
    if not can_transition(project.status, target):
        raise DomainError(
            _("项目当前状态为“%(current)s”，不能变更为“%(target)s”。")
            % {"current": Status(project.status).label, "target": Status(target).label},
            code="transition",
        )
    before = project.status
    project.status = target
    project.save(update_fields=["status", "updated_at"])
    after = {"status": target}
    if note:
        after["note"] = note
    audit_record(actor=actor, action=action, obj=project, before={"status": before}, after=after)
    enqueue_on_commit(MONITOR_PROJECT, project.pk, project.status)
    return project
