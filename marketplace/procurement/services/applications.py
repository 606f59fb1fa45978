"""Applications with sealed quotes (报名/报价) and the eligibility check."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import Role, User
from marketplace.core.audit import audit_record
from marketplace.core.errors import DomainError, NotAllowed
from marketplace.core.money import money
from marketplace.providers.models import Intermediary, Qualification

from .. import sealing
from ..models import Application, Project, Status
from .common import acting_org, lock_project


def check_eligibility(project: Project, firm: Intermediary) -> list[str]:
    """Why ``firm`` may not apply to ``project`` (empty when it may)."""
    return eligibility_many(project, [firm])[firm.pk]


def eligibility_many(project: Project, firms: list[Intermediary]) -> dict[int, list[str]]:
    """Why each firm may not apply (an empty list when it may), in a fixed number of queries
    whatever the number of firms. Reads providers only: the blacklist term is written onto
    the firm by oversight."""
    from django.db.models import Count

    ids = [f.pk for f in firms]
    deadline_day = timezone.localdate(project.registration_deadline)
    today = timezone.localdate()
    excluded = set(
        project.exclusions.filter(intermediary_id__in=ids).values_list("intermediary_id", flat=True)
    )
    requirements = list(project.requirements.select_related("qualification_type", "min_level"))
    held: dict[int, list[tuple[int, int | None]]] = {}
    if requirements:
        for firm_id, qtype_id, rank in Qualification.objects.filter(
            intermediary_id__in=ids,
            valid_until__gte=deadline_day,
            valid_from__lte=deadline_day,
            qualification_type_id__in=[r.qualification_type_id for r in requirements],
        ).values_list("intermediary_id", "qualification_type_id", "level__rank"):
            held.setdefault(firm_id, []).append((qtype_id, rank))
    staff: dict[int, int] = {}
    if project.required_practitioners:
        staff = dict(
            Intermediary.objects.filter(pk__in=ids).annotate(n=Count("practitioners")).values_list("pk", "n")
        )

    def meets(firm_id: int, req) -> bool:
        for qtype_id, rank in held.get(firm_id, ()):
            if qtype_id != req.qualification_type_id:
                continue
            if req.min_level is None or (rank is not None and rank <= req.min_level.rank):
                return True
        return False

    result: dict[int, list[str]] = {}
    for firm in firms:
        reasons: list[str] = []
        if not firm.is_listed:
            reasons.append(_("机构未入驻或已被清退。"))
        if firm.blacklisted_until and firm.blacklisted_until >= today:
            reasons.append(
                _("机构被列入黑名单，至 %(d)s 前不得报名。") % {"d": firm.blacklisted_until.isoformat()}
            )
        if firm.pk in excluded:
            reasons.append(_("机构因利益冲突被要求回避。"))
        if requirements:
            met = [meets(firm.pk, r) for r in requirements]
            if project.qualification_rule == "all" and not all(met):
                missing = [
                    r.qualification_type.name for r, ok in zip(requirements, met, strict=True) if not ok
                ]
                reasons.append(_("缺少在报名截止日有效的资质：%(q)s。") % {"q": "、".join(missing)})
            if project.qualification_rule == "any" and not any(met):
                reasons.append(_("不具备在报名截止日有效的所需资质（具备其一即可）。"))
        if project.required_practitioners and staff.get(firm.pk, 0) < project.required_practitioners:
            reasons.append(_("从业人员不足 %(n)s 人。") % {"n": project.required_practitioners})
        result[firm.pk] = reasons
    return result


@transaction.atomic
def application_submit(
    *,
    actor: User,
    project: Project,
    quote: Decimal | str,
    proposal: str = "",
    client_ip: str | None = None,
    firm: Intermediary | None = None,
) -> Application:
    org = acting_org(actor, Role.INTERMEDIARY, firm.organisation if firm else None)
    firm = Intermediary.objects.select_for_update().get(organisation=org)
    project = lock_project(project)
    now = timezone.now()
    if project.status != Status.PUBLISHED:
        raise DomainError(_("该项目不在报名期内。"), code="not_open")
    if now >= project.registration_deadline:
        raise DomainError(
            _("报名已于 %(t)s 截止。")
            % {"t": timezone.localtime(project.registration_deadline).strftime("%Y-%m-%d %H:%M")},
            code="deadline",
        )
    reasons = check_eligibility(project, firm)
    if reasons:
        raise DomainError(" ".join(str(r) for r in reasons), code="ineligible")
    try:
        amount = money(quote)
    except ValueError as exc:
        raise DomainError(_("报价须为金额。"), field="quote") from exc
    if amount < project.price_floor or amount > project.price_ceiling:
        raise DomainError(
            _("报价须在 %(lo)s 元至 %(hi)s 元之间。")
            % {"lo": project.price_floor, "hi": project.price_ceiling},
            field="quote",
            code="out_of_band",
        )
    existing = Application.objects.filter(project=project, intermediary=firm).first()
    if existing is not None and existing.state != Application.State.WITHDRAWN:
        raise DomainError(_("本机构已报名该项目，不能重复报名。"), code="duplicate")
    sealed = sealing.seal(project, firm.pk, amount)
    if existing is not None:
        application = existing
        application.sealed_quote = sealed
        application.proposal = proposal or ""
        application.submitted_at = now
        application.submitted_by = actor
        application.client_ip = client_ip or None
        application.state = Application.State.SUBMITTED
        application.withdrawn_at = None
        application.save()
    else:
        try:
            with transaction.atomic():
                application = Application.objects.create(
                    project=project,
                    intermediary=firm,
                    submitted_by=actor,
                    submitted_at=now,
                    client_ip=client_ip or None,
                    sealed_quote=sealed,
                    proposal=proposal or "",
                )
        except IntegrityError as exc:
            raise DomainError(_("本机构已报名该项目，不能重复报名。"), code="duplicate") from exc
    # The audit log never holds the amount before close: only that a sealed quote was lodged.
    audit_record(
        actor=actor,
        action="application.submit",
        obj=application,
        after={"project": project.public_number, "firm": firm.uscc, "ip": client_ip or "", "sealed": True},
    )
    return application


@transaction.atomic
def application_withdraw(*, actor: User, application: Application) -> Application:
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("project", "intermediary")
        .get(pk=application.pk)
    )
    if not actor.memberships.filter(
        organisation_id=application.intermediary.organisation_id, role=Role.INTERMEDIARY
    ).exists():
        raise NotAllowed
    if application.state == Application.State.WITHDRAWN:
        return application
    if (
        application.project.status != Status.PUBLISHED
        or timezone.now() >= application.project.registration_deadline
    ):
        raise DomainError(_("报名截止后不能撤回。"), code="deadline")
    application.state = Application.State.WITHDRAWN
    application.withdrawn_at = timezone.now()
    application.save(update_fields=["state", "withdrawn_at"])
    audit_record(actor=actor, action="application.withdraw", obj=application, after={"state": "withdrawn"})
    return application
