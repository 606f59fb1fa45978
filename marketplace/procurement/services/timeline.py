"""Moving projects on time (Celery beat). Every job is idempotent and safe to run late or twice:
each project is handled in its own transaction under a row lock, and a step already taken is
skipped."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.core.errors import DomainError
from marketplace.core.workdays import add_working_days

from ..methods import method_for
from ..models import Contract, Escalation, Method, Objection, Project, Status
from ..states import transition
from .common import lock_project, notify, notify_regulators
from .contracts import record_walkaway, winning_application
from .selection import registration_close, selection_run

log = logging.getLogger(__name__)
LATE_DELIVERY_WORKING_DAYS = 10
BATCH_SIZE = 200


def _escalate(project: Project, kind: str, message: str) -> bool:
    try:
        with transaction.atomic():
            Escalation.objects.create(project=project, kind=kind, created_at=timezone.now())
    except IntegrityError:
        return False
    notify(project.owner_id, message, project)
    try:
        notify(winning_application(project).intermediary.organisation_id, message, project)
    except DomainError:
        pass
    notify_regulators(message, project)
    return True


@transaction.atomic
def publicity_end(*, project: Project) -> Project:
    project = lock_project(project)
    if project.status != Status.SELECTED or not project.publicity_ends_on:
        return project
    if timezone.localdate() <= project.publicity_ends_on:
        return project
    if project.objections.filter(outcome=Objection.Outcome.PENDING).exists():
        return project
    project.contract_due = add_working_days(project.publicity_ends_on, settings.CONTRACT_WORKING_DAYS)
    project.save(update_fields=["contract_due"])
    transition(project, Status.CONTRACTING, actor=None, action="project.contracting")
    winner = winning_application(project)
    for org_id in (project.owner_id, winner.intermediary.organisation_id):
        notify(
            org_id,
            _("公示期结束，请在 %(d)s 前签订合同：%(p)s") % {"d": project.contract_due, "p": project},
            project,
        )
    return project


@transaction.atomic
def contract_deadline(*, project: Project) -> Project:
    project = lock_project(project)
    if (
        project.status != Status.CONTRACTING
        or not project.contract_due
        or timezone.localdate() <= project.contract_due
    ):
        return project
    contract = Contract.objects.filter(project=project).first()
    if contract is not None and contract.uploaded_by_org_id == project.owner_id and not contract.confirmed_at:
        record_walkaway(project, _("未在期限内确认合同"), actor=None)
        return project
    _escalate(project, Escalation.Kind.CONTRACT_OVERDUE, _("合同逾期未签订：%(p)s") % {"p": project})
    return project


def _run(label: str, queryset, job) -> int:
    done = 0
    for pk in list(queryset.values_list("pk", flat=True)[:BATCH_SIZE]):
        try:
            job(pk)
            done += 1
        except DomainError as exc:
            log.info("%s skipped project %s: %s", label, pk, exc)
        except Exception:
            log.exception("%s failed for project %s", label, pk)
    return done


def tick() -> dict[str, int]:
    now = timezone.now()
    today = timezone.localdate()
    automatic = [m for m in Method.values if not method_for(m).owner_picks or m == Method.CREDIT_PREFERENCE]
    report = {
        "closed": _run(
            "close",
            Project.objects.filter(status=Status.PUBLISHED, registration_deadline__lte=now),
            lambda pk: registration_close(project=Project(pk=pk)),
        ),
        "selected": _run(
            "select",
            Project.objects.filter(
                status=Status.REGISTRATION_CLOSED, selection_time__lte=now, method__in=automatic
            ),
            lambda pk: selection_run(project=Project(pk=pk)),
        ),
        "publicity_ended": _run(
            "publicity",
            Project.objects.filter(status=Status.SELECTED, publicity_ends_on__lt=today),
            lambda pk: publicity_end(project=Project(pk=pk)),
        ),
        "contract_overdue": _run(
            "contract",
            Project.objects.filter(status=Status.CONTRACTING, contract_due__lt=today),
            lambda pk: contract_deadline(project=Project(pk=pk)),
        ),
    }
    late = 0
    for project in Project.objects.filter(status=Status.IN_SERVICE, delivery_due__lt=today)[:BATCH_SIZE]:
        late += _escalate(project, Escalation.Kind.DELIVERY_LATE, _("服务逾期：%(p)s") % {"p": project})
        if today > add_working_days(project.delivery_due, LATE_DELIVERY_WORKING_DAYS):
            _escalate(
                project,
                Escalation.Kind.DELIVERY_SERIOUSLY_LATE,
                _("服务逾期超过10个工作日（违规）：%(p)s") % {"p": project},
            )
    for project in Project.objects.filter(status=Status.DELIVERED, acceptance_due__lt=today)[:BATCH_SIZE]:
        late += _escalate(project, Escalation.Kind.ACCEPTANCE_OVERDUE, _("验收逾期：%(p)s") % {"p": project})
    report["escalated"] = late
    closed = 0
    for pk in Project.objects.filter(status=Status.RATED).values_list("pk", flat=True)[:BATCH_SIZE]:
        with transaction.atomic():
            project = lock_project(pk)
            if project.status == Status.RATED:
                transition(project, Status.CLOSED, actor=None, action="project.close")
                closed += 1
    report["closed_rated"] = closed
    return report
