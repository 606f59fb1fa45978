from __future__ import annotations

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from marketplace.accounts.models import Membership, Organisation, Role, User
from marketplace.core.errors import NotAllowed

from ..models import Notification, Project


def lock_project(project: Project | int) -> Project:
    pk = project.pk if isinstance(project, Project) else project
    return Project.objects.select_for_update(of=("self",)).select_related("service_type").get(pk=pk)


def acting_org(actor: User, role: str, organisation: Organisation | None = None) -> Organisation:
    """The organisation the actor acts for in ``role`` (the given one, or their only one)."""
    memberships = Membership.objects.filter(user=actor, role=role).select_related("organisation")
    if organisation is not None:
        memberships = memberships.filter(organisation=organisation)
    membership = memberships.first()
    if membership is None:
        raise NotAllowed
    return membership.organisation


def require_owner(actor: User, project: Project) -> None:
    if not Membership.objects.filter(user=actor, organisation_id=project.owner_id, role=Role.OWNER).exists():
        raise NotAllowed


def require_role(actor: User, role: str) -> None:
    if not actor.is_authenticated or not Membership.objects.filter(user=actor, role=role).exists():
        raise NotAllowed


def notify(organisation_id: int, message: str, project: Project | None = None) -> None:
    """A site notification now and an e-mail to the organisation's members after commit."""
    Notification.objects.create(
        organisation_id=organisation_id, project=project, message=message[:300], created_at=timezone.now()
    )
    emails = list(
        Membership.objects.filter(organisation_id=organisation_id)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if emails:
        subject = f"[中介超市] {message[:60]}"
        transaction.on_commit(lambda: send_mail(subject, message, None, emails, fail_silently=True))


def notify_many(messages: dict[int, str], project: Project | None = None) -> None:
    """One message per organisation, written in one statement (e.g. every applicant of a round)."""
    now = timezone.now()
    Notification.objects.bulk_create(
        Notification(organisation_id=org_id, project=project, message=text[:300], created_at=now)
        for org_id, text in messages.items()
    )
    emails: dict[int, list[str]] = {}
    for org_id, email in (
        Membership.objects.filter(organisation_id__in=list(messages))
        .exclude(user__email="")
        .values_list("organisation_id", "user__email")
    ):
        emails.setdefault(org_id, []).append(email)

    def send() -> None:
        for org_id, recipients in emails.items():
            send_mail(
                f"[中介超市] {messages[org_id][:60]}", messages[org_id], None, recipients, fail_silently=True
            )

    if emails:
        transaction.on_commit(send)


def notify_regulators(message: str, project: Project | None = None) -> None:
    for org_id in Organisation.objects.filter(kind=Role.REGULATOR, is_active=True).values_list(
        "pk", flat=True
    ):
        notify(org_id, message, project)
