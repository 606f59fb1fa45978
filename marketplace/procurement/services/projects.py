"""Posting, checking, cancelling and relaunching projects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import Organisation, Role, User
from marketplace.catalog.models import ApprovalItem, QualificationLevel, QualificationType, ServiceType
from marketplace.core.audit import audit_record, snapshot
from marketplace.core.errors import DomainError
from marketplace.core.money import money
from marketplace.core.validators import reject_regional_restriction
from marketplace.core.workdays import working_days_between
from marketplace.providers.models import Intermediary

from .. import draw, sealing
from ..models import Exclusion, FundingSource, Method, Project, Requirement, Status
from ..states import transition
from .common import acting_org, lock_project, notify, require_owner, require_role

PROJECT_FIELDS = [
    "title",
    "service_type_id",
    "investment_project_code",
    "approval_case_number",
    "approval_item_id",
    "department_id",
    "funding_source",
    "scale",
    "price_floor",
    "price_ceiling",
    "service_content",
    "service_days",
    "required_practitioners",
    "qualification_rule",
    "method",
    "method_reason",
    "price_weight",
    "registration_deadline",
    "selection_time",
]


@dataclass
class ProjectInput:
    title: str
    service_type: ServiceType
    funding_source: str
    scale: Decimal | str
    price_floor: Decimal | str
    price_ceiling: Decimal | str
    service_content: str
    service_days: int
    method: str
    registration_deadline: datetime
    selection_time: datetime
    method_reason: str = ""
    price_weight: int = 0
    investment_project_code: str = ""
    approval_case_number: str = ""
    approval_item: ApprovalItem | None = None
    required_practitioners: int = 0
    qualification_rule: str = "any"
    requirements: list[tuple[QualificationType, QualificationLevel | None]] = field(default_factory=list)
    exclusions: list[tuple[Intermediary, str]] = field(default_factory=list)


def registration_period_ok(published: datetime, deadline: datetime) -> bool:
    """At least the minimum number of whole working days between publication and deadline."""
    days = working_days_between(timezone.localdate(published), timezone.localdate(deadline))
    return days >= settings.REGISTRATION_MIN_WORKING_DAYS


def _clean(data: ProjectInput) -> dict:
    errors_field = None
    title = (data.title or "").strip()
    if not title:
        raise DomainError(_("请填写项目名称。"), field="title")
    if not data.service_type.is_active:
        raise DomainError(_("该服务事项已停用。"), field="service_type")
    if data.funding_source not in FundingSource.values:
        raise DomainError(_("请选择资金来源。"), field="funding_source")
    if data.method not in Method.values:
        raise DomainError(_("请选择选取方式。"), field="method")
    try:
        scale = Decimal(str(data.scale)).quantize(Decimal("0.01"))
        floor = money(data.price_floor)
        ceiling = money(data.price_ceiling)
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(_("金额须为数字。"), field="price_ceiling") from exc
    if scale < 0:
        raise DomainError(_("项目规模不能为负数。"), field="scale")
    if floor < 0 or ceiling <= 0:
        raise DomainError(_("限价须为正数。"), field="price_floor")
    if ceiling < floor:
        raise DomainError(_("最高限价不能低于最低限价。"), field="price_ceiling")
    content = (data.service_content or "").strip()
    if not content:
        raise DomainError(_("请填写服务内容。"), field="service_content")
    reject_regional_restriction(title, field="title")
    reject_regional_restriction(content, field="service_content")
    reject_regional_restriction(data.method_reason or "", field="method_reason")
    if not data.service_days or data.service_days <= 0 or data.service_days > 720:
        raise DomainError(_("服务时限须为1至720个工作日。"), field="service_days")
    reason = (data.method_reason or "").strip()
    if data.method == Method.DIRECT:
        threshold = Decimal(settings.DIRECT_SELECTION_THRESHOLDS[data.funding_source])
        if ceiling >= threshold:
            raise DomainError(
                _("直接选取仅适用于最高限价低于 %(limit)s 元的%(source)s项目。")
                % {"limit": threshold, "source": FundingSource(data.funding_source).label},
                field="method",
                code="direct_threshold",
            )
        if not reason:
            raise DomainError(_("直接选取必须书面说明理由。"), field="method_reason")
    if data.method == Method.RANDOM_DRAW and floor != ceiling:
        raise DomainError(
            _("随机抽取按业主确定的固定价格进行：最低限价须等于最高限价。"), field="price_floor"
        )
    weight = data.price_weight or 0
    if data.method == Method.SCORED_COMPARISON and not 10 <= weight <= 90:
        raise DomainError(_("比选须公布价格分权重（10%至90%）。"), field="price_weight")
    if data.qualification_rule not in ("any", "all"):
        raise DomainError(_("请选择资质要求组合方式。"), field="qualification_rule")
    if (
        data.required_practitioners < 0
        or data.required_practitioners > data.service_type.standard_practitioners
    ):
        raise DomainError(
            _("从业人员要求不得超过该服务事项的标准（%(n)s 人）。")
            % {"n": data.service_type.standard_practitioners},
            field="required_practitioners",
            code="excess_practitioners",
        )
    allowed = {
        a.qualification_type_id: a.standard_level
        for a in data.service_type.allowed_qualifications.select_related("standard_level")
    }
    seen: set[int] = set()
    for qtype, level in data.requirements:
        if qtype.pk not in allowed:
            raise DomainError(
                _("“%(q)s”不是该服务事项可要求的资质。") % {"q": qtype.name},
                field="requirements",
                code="qualification_not_allowed",
            )
        if qtype.pk in seen:
            raise DomainError(_("资质要求重复：%(q)s。") % {"q": qtype.name}, field="requirements")
        seen.add(qtype.pk)
        if level is not None:
            if level.qualification_type_id != qtype.pk:
                raise DomainError(_("所选等级不属于该资质类型。"), field="requirements")
            standard = allowed[qtype.pk]
            if standard is not None and level.rank < standard.rank:
                raise DomainError(
                    _("资质等级要求不得高于标准等级（%(level)s）。") % {"level": standard.name},
                    field="requirements",
                    code="level_above_standard",
                )
    for firm, why in data.exclusions:
        if not (why or "").strip():
            raise DomainError(_("回避须说明理由：%(firm)s。") % {"firm": firm.name}, field="exclusions")
    if (
        data.approval_item is not None
        and not data.approval_item.service_types.filter(pk=data.service_type.pk).exists()
    ):
        raise DomainError(_("所选审批事项不需要该中介服务。"), field="approval_item")
    now = timezone.now()
    if data.registration_deadline <= now:
        raise DomainError(_("报名截止时间须晚于当前时间。"), field="registration_deadline")
    if not registration_period_ok(now, data.registration_deadline):
        raise DomainError(
            _("报名期不得少于 %(n)s 个工作日。") % {"n": settings.REGISTRATION_MIN_WORKING_DAYS},
            field="registration_deadline",
            code="short_registration",
        )
    if data.selection_time < data.registration_deadline:
        raise DomainError(_("选取时间不能早于报名截止时间。"), field="selection_time")
    del errors_field
    return {
        "title": title,
        "service_type": data.service_type,
        "investment_project_code": (data.investment_project_code or "").strip(),
        "approval_case_number": (data.approval_case_number or "").strip(),
        "approval_item": data.approval_item,
        "department": data.approval_item.department if data.approval_item else None,
        "funding_source": data.funding_source,
        "scale": scale,
        "price_floor": floor,
        "price_ceiling": ceiling,
        "service_content": content,
        "service_days": data.service_days,
        "required_practitioners": data.required_practitioners,
        "qualification_rule": data.qualification_rule,
        "method": data.method,
        "method_reason": reason,
        "price_weight": weight if data.method == Method.SCORED_COMPARISON else 0,
        "registration_deadline": data.registration_deadline,
        "selection_time": data.selection_time,
    }


def _write_children(project: Project, data: ProjectInput) -> None:
    project.requirements.all().delete()
    project.exclusions.all().delete()
    Requirement.objects.bulk_create(
        Requirement(project=project, qualification_type=q, min_level=lv) for q, lv in data.requirements
    )
    Exclusion.objects.bulk_create(
        Exclusion(project=project, intermediary=f, reason=why.strip()) for f, why in data.exclusions
    )


@transaction.atomic
def project_create(*, actor: User, data: ProjectInput, owner: Organisation | None = None) -> Project:
    org = acting_org(actor, Role.OWNER, owner)
    cleaned = _clean(data)
    project = Project.objects.create(owner=org, created_by=actor, public_number="", **cleaned)
    year = timezone.localdate().year
    project.public_number = f"{settings.PROJECT_NUMBER_PREFIX}{year}{project.pk:06d}"
    project.save(update_fields=["public_number"])
    _write_children(project, data)
    audit_record(actor=actor, action="project.create", obj=project, after=snapshot(project, PROJECT_FIELDS))
    return project


@transaction.atomic
def project_update(*, actor: User, project: Project, data: ProjectInput) -> Project:
    require_owner(actor, project)
    project = lock_project(project)
    if project.status not in (Status.DRAFT, Status.RETURNED):
        raise DomainError(_("项目提交审核后不能修改。"), code="transition")
    before = snapshot(project, PROJECT_FIELDS)
    for name, value in _clean(data).items():
        setattr(project, name, value)
    project.save()
    _write_children(project, data)
    audit_record(
        actor=actor,
        action="project.update",
        obj=project,
        before=before,
        after=snapshot(project, PROJECT_FIELDS),
    )
    return project


@transaction.atomic
def project_submit(*, actor: User, project: Project) -> Project:
    require_owner(actor, project)
    project = lock_project(project)
    if project.status == Status.UNDER_CHECK:
        return project
    transition(project, Status.UNDER_CHECK, actor=actor, action="project.submit")
    for org_id in Organisation.objects.filter(kind=Role.OPERATOR).values_list("pk", flat=True):
        notify(org_id, _("新项目待审核：%(p)s") % {"p": project}, project)
    return project


@transaction.atomic
def project_check(*, actor: User, project: Project, approve: bool, note: str = "") -> Project:
    """The operator approves (publishes) or returns a project with reasons."""
    require_role(actor, Role.OPERATOR)
    project = lock_project(project)
    if approve:
        if project.status == Status.PUBLISHED:
            return project
        now = timezone.now()
        if not registration_period_ok(now, project.registration_deadline):
            raise DomainError(
                _("按今天发布，报名期将少于 %(n)s 个工作日：请退回业主调整报名截止时间。")
                % {"n": settings.REGISTRATION_MIN_WORKING_DAYS},
                code="short_registration",
            )
        secret = draw.new_secret()
        project.secret = secret
        project.secret_commitment = draw.commitment(secret)
        project.quote_key_wrapped = sealing.new_wrapped_key(project.public_number)
        project.published_at = now
        project.check_note = (note or "").strip()
        project.save(
            update_fields=["secret", "secret_commitment", "quote_key_wrapped", "published_at", "check_note"]
        )
        transition(project, Status.PUBLISHED, actor=actor, action="project.publish", note=project.check_note)
        audit_record(
            actor=actor,
            action="project.commit_secret",
            obj=project,
            after={"sha256": project.secret_commitment},
        )
        notify(project.owner_id, _("项目已发布：%(p)s") % {"p": project}, project)
    else:
        note = (note or "").strip()
        if not note:
            raise DomainError(_("退回须说明理由。"), field="note")
        project.check_note = note
        project.save(update_fields=["check_note"])
        transition(project, Status.RETURNED, actor=actor, action="project.return", note=note)
        notify(project.owner_id, _("项目被退回：%(p)s（%(n)s）") % {"p": project, "n": note}, project)
    return project


@transaction.atomic
def project_cancel(*, actor: User, project: Project, reason: str) -> Project:
    require_owner(actor, project)
    project = lock_project(project)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("取消项目须说明理由。"), field="reason")
    if project.status == Status.PUBLISHED and timezone.now() >= project.registration_deadline:
        raise DomainError(_("报名已截止，不能取消项目。"), code="transition")
    project.failure_reason = reason
    project.save(update_fields=["failure_reason"])
    transition(project, Status.CANCELLED, actor=actor, action="project.cancel", note=reason)
    for firm_org in project.applications.values_list("intermediary__organisation_id", flat=True):
        notify(firm_org, _("项目已取消：%(p)s") % {"p": project}, project)
    return project


@transaction.atomic
def project_relaunch(
    *,
    actor: User,
    project: Project,
    registration_deadline: datetime,
    selection_time: datetime,
    method: str | None = None,
    method_reason: str | None = None,
    price_weight: int | None = None,
) -> Project:
    """A failed round is posted again as a new draft (with the same terms unless changed)."""
    require_owner(actor, project)
    project = lock_project(project)
    requirements = [
        (r.qualification_type, r.min_level)
        for r in project.requirements.select_related("qualification_type", "min_level")
    ]
    exclusions = [(e.intermediary, e.reason) for e in project.exclusions.select_related("intermediary")]
    data = ProjectInput(
        title=project.title,
        service_type=project.service_type,
        funding_source=project.funding_source,
        scale=project.scale,
        price_floor=project.price_floor,
        price_ceiling=project.price_ceiling,
        service_content=project.service_content,
        service_days=project.service_days,
        method=method or project.method,
        method_reason=project.method_reason if method_reason is None else method_reason,
        price_weight=project.price_weight if price_weight is None else price_weight,
        registration_deadline=registration_deadline,
        selection_time=selection_time,
        investment_project_code=project.investment_project_code,
        approval_case_number=project.approval_case_number,
        approval_item=project.approval_item,
        required_practitioners=project.required_practitioners,
        qualification_rule=project.qualification_rule,
        requirements=requirements,
        exclusions=exclusions,
    )
    transition(project, Status.RELAUNCHED, actor=actor, action="project.relaunch")
    new = project_create(actor=actor, data=data, owner=project.owner)
    new.relaunch_of = project
    new.save(update_fields=["relaunch_of"])
    return new
