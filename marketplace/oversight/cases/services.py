"""Cases (监管案件), modelled on ProZorro's monitoring: open from flags, a complaint or an
inspection finding; ask the owner or the intermediary for explanations (3 working days); conclude
with the violation type and the legal basis; a confirmed violation costs credit and may blacklist;
the party remedies within 10 working days; the case closes and its conclusion is published.

Transitions: open -> remedying (violation) -> closed, or open -> closed (no violation)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import Membership, Role, User
from marketplace.core.audit import audit_record, snapshot
from marketplace.core.errors import DomainError, NotAllowed, ValidationFailed
from marketplace.core.validators import clean_upload
from marketplace.core.workdays import add_working_days
from marketplace.procurement.services.common import notify, notify_regulators
from marketplace.procurement.services.contracts import winning_application
from marketplace.providers.models import Intermediary

from .. import services as oversight_services
from ..models import Complaint, Flag
from . import credit
from .models import (
    Blacklisting,
    Case,
    CaseAttachment,
    CreditDeduction,
    ExplanationRequest,
    InspectionTarget,
    ViolationType,
)

ANSWER_WORKING_DAYS = 3
REMEDY_WORKING_DAYS = 10
MAX_ATTACHMENTS = 5
MAX_TEXT = 5000
S = Case.Status
TRANSITIONS: dict[str, set[str]] = {S.OPEN: {S.REMEDYING, S.CLOSED}, S.REMEDYING: {S.CLOSED}, S.CLOSED: set()}


def require_regulator(actor: User) -> None:
    if (
        not getattr(actor, "is_authenticated", False)
        or not Membership.objects.filter(user=actor, role=Role.REGULATOR).exists()
    ):
        raise NotAllowed(_("只有监管人员可以办理案件。"))


def is_member(actor: User, organisation_id: int | None) -> bool:
    return bool(
        organisation_id
        and getattr(actor, "is_authenticated", False)
        and Membership.objects.filter(user=actor, organisation_id=organisation_id).exists()
    )


def _text(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(message, field=field)
    if len(value) > MAX_TEXT:
        raise DomainError(_("内容不得超过5000字。"), field=field)
    return value


def _lock(case: Case) -> Case:
    return (
        Case.objects.select_for_update(of=("self",)).select_related("intermediary", "project").get(pk=case.pk)
    )


def _move(case: Case, status: str, *, actor: User | None, action: str, extra: dict | None = None) -> None:
    if status not in TRANSITIONS[case.status]:
        raise DomainError(
            _("案件当前状态（%(s)s）不能办理此事项。") % {"s": case.get_status_display()}, code="transition"
        )
    before = case.status
    case.status = status
    case.save()
    audit_record(
        actor=actor,
        action=action,
        obj=case,
        before={"status": before},
        after={"status": status, **(extra or {})},
    )


def _parties(case: Case) -> list[int]:
    orgs = []
    if case.intermediary is not None:
        orgs.append(case.intermediary.organisation_id)
    if case.owner_id:
        orgs.append(case.owner_id)
    return orgs


def _derive_firm(project, flags: Sequence[Flag]) -> Intermediary | None:
    firms = {f.intermediary_id for f in flags if f.intermediary_id}
    if len(firms) == 1:
        return Intermediary.objects.get(pk=firms.pop())
    if project is not None:
        try:
            return winning_application(project).intermediary
        except DomainError:
            return None
    return None


def case_source_defaults(
    *, flags: Sequence[Flag] = (), complaint: Complaint | None = None, target: InspectionTarget | None = None
) -> dict:
    """The project, intermediary and owner a new case concerns, derived from its source."""
    project = intermediary = owner = None
    if flags:
        projects = {f.project_id for f in flags if f.project_id}
        if len(projects) == 1:
            project = next(f.project for f in flags if f.project_id)
        intermediary = _derive_firm(project, flags)
        owners = {f.owner_id for f in flags if f.owner_id}
        owner = (
            project.owner
            if project
            else (next(f.owner for f in flags if f.owner_id) if len(owners) == 1 else None)
        )
    elif complaint is not None:
        project, intermediary = complaint.project, complaint.intermediary
        owner = project.owner if project else None
        if intermediary is None and project is not None:
            intermediary = _derive_firm(project, ())
    elif target is not None:
        project, intermediary = target.project, target.intermediary
        owner = project.owner if project else None
        if intermediary is None and project is not None:
            intermediary = _derive_firm(project, ())
    return {"project": project, "intermediary": intermediary, "owner": owner}


@transaction.atomic
def case_open(
    *,
    actor: User,
    title: str,
    summary: str,
    flags: Sequence[Flag] = (),
    complaint: Complaint | None = None,
    inspection_target: InspectionTarget | None = None,
    intermediary: Intermediary | None = None,
    include_owner: bool = True,
) -> Case:
    """Open a case from one or more flags, a complaint or an inspection finding (exactly one)."""
    require_regulator(actor)
    sources = [bool(flags), complaint is not None, inspection_target is not None]
    if sum(sources) != 1:
        raise DomainError(_("案件须来源于风险提示、投诉或抽查发现的问题（三选一）。"), field="source")
    errors: dict[str | None, list[str]] = {}
    title = (title or "").strip()
    summary = (summary or "").strip()
    if not title:
        errors.setdefault("title", []).append(_("请填写案由。"))
    if not summary:
        errors.setdefault("summary", []).append(_("请填写立案说明。"))
    if errors:
        raise ValidationFailed(errors)
    if flags:  # read afresh: a flag may have been decided since the page was shown
        flags = list(
            Flag.objects.filter(pk__in=[f.pk for f in flags])
            .select_related("project__owner", "intermediary", "owner")
            .order_by("pk")
        )
    if flags and any(f.status == Flag.Status.DISMISSED for f in flags):
        raise DomainError(_("已排除的风险提示不能立案。"), field="source")
    if inspection_target is not None:
        inspection_target = InspectionTarget.objects.select_related("project__owner", "intermediary").get(
            pk=inspection_target.pk
        )
    if inspection_target is not None and inspection_target.result != InspectionTarget.Result.PROBLEM:
        raise DomainError(_("只有发现问题的抽查对象才能立案。"), field="source")
    derived = case_source_defaults(flags=flags, complaint=complaint, target=inspection_target)
    firm = intermediary or derived["intermediary"]
    owner = derived["owner"] if include_owner else None
    if firm is None and owner is None:
        raise DomainError(_("请指明案件涉及的中介机构。"), field="intermediary")
    source = Case.Source.FLAGS if flags else (Case.Source.COMPLAINT if complaint else Case.Source.INSPECTION)
    now = timezone.now()
    case = Case.objects.create(
        number=f"tmp-{now.timestamp()}"[:20],
        title=title[:200],
        summary=summary[:MAX_TEXT],
        source=source,
        complaint=complaint,
        inspection_target=inspection_target,
        project=derived["project"],
        intermediary=firm,
        owner=owner,
        opened_at=now,
        opened_by=actor,
    )
    case.number = f"JG{timezone.localdate().year}{case.pk:05d}"
    case.save(update_fields=["number"])
    if flags:
        case.flags.set(flags)
    audit_record(
        actor=actor,
        action="case.open",
        obj=case,
        after={**snapshot(case), "flags": [f.pk for f in flags]},
    )
    message = _("监管部门已就“%(t)s”立案核查（案件 %(n)s）。") % {"t": case.title, "n": case.number}
    for org_id in _parties(case):
        notify(org_id, message, case.project)
    return case


@transaction.atomic
def explanation_request(*, actor: User, case: Case, party: str, question: str) -> ExplanationRequest:
    """Ask the case's intermediary or owner for an explanation, due in 3 working days."""
    require_regulator(actor)
    case = _lock(case)
    if case.status != S.OPEN:
        raise DomainError(_("只有核查中的案件可以要求说明。"), code="transition")
    question = _text(question, "question", _("请填写需要说明的问题。"))
    if party == "intermediary" and case.intermediary is not None:
        organisation_id = case.intermediary.organisation_id
    elif party == "owner" and case.owner_id:
        organisation_id = case.owner_id
    else:
        raise DomainError(_("该案件没有此当事方。"), field="party")
    due_on = add_working_days(timezone.localdate(), ANSWER_WORKING_DAYS)
    request = ExplanationRequest.objects.create(
        case=case,
        party_id=organisation_id,
        question=question,
        asked_at=timezone.now(),
        asked_by=actor,
        due_on=due_on,
    )
    audit_record(actor=actor, action="case.request", obj=request, after=snapshot(request))
    notify(
        organisation_id,
        _("监管部门要求就案件 %(n)s 作出说明，请于 %(d)s 前在平台答复。") % {"n": case.number, "d": due_on},
        case.project,
    )
    return request


@transaction.atomic
def explanation_answer(
    *, actor: User, request: ExplanationRequest, answer: str, files: Sequence[UploadedFile] = ()
) -> ExplanationRequest:
    """The party answers on the site, with up to five attachments (PDF, PNG or JPEG)."""
    request = ExplanationRequest.objects.select_for_update().select_related("case").get(pk=request.pk)
    if not is_member(actor, request.party_id):
        raise NotAllowed(_("只有被要求说明的单位可以答复。"))
    if request.status != ExplanationRequest.Status.PENDING:
        raise DomainError(_("该说明要求已答复。"), code="answered")
    if request.case.status != S.OPEN:
        raise DomainError(_("案件已作出结论，不再接受说明。"), code="transition")
    answer = _text(answer, "answer", _("请填写说明内容。"))
    files = [f for f in files if f]
    if len(files) > MAX_ATTACHMENTS:
        raise DomainError(_("附件最多5个。"), field="files")
    for upload in files:
        clean_upload(upload, field="files")
    now = timezone.now()
    request.answer = answer
    request.answered_at = now
    request.answered_by = actor
    request.status = ExplanationRequest.Status.ANSWERED
    request.save(update_fields=["answer", "answered_at", "answered_by", "status"])
    for upload in files:
        CaseAttachment.objects.create(
            request=request, file=upload, original_name=(upload.name or "")[:200], uploaded_at=now
        )
    audit_record(
        actor=actor,
        action="case.answer",
        obj=request,
        after={"answer": answer, "files": [f.name for f in files], "late": now.date() > request.due_on},
    )
    notify_regulators(
        _("案件 %(n)s 的当事方已答复说明要求。") % {"n": request.case.number}, request.case.project
    )
    return request


@transaction.atomic
def case_conclude(
    *,
    actor: User,
    case: Case,
    violation: bool | None,
    violation_type: ViolationType | None,
    legal_basis: str,
    conclusion: str,
) -> Case:
    """Record the conclusion. A violation costs the intermediary the code list's points and,
    where the code list says so, blacklists it; the party then has 10 working days to remedy.
    Without a violation the case closes and its conclusion is published at once."""
    require_regulator(actor)
    case = _lock(case)
    if case.status != S.OPEN:
        raise DomainError(_("该案件已作出结论。"), code="transition")
    errors: dict[str | None, list[str]] = {}
    conclusion = (conclusion or "").strip()
    legal_basis = (legal_basis or "").strip()
    if violation is None:
        errors.setdefault("violation", []).append(_("请选择是否构成违规。"))
    if not conclusion:
        errors.setdefault("conclusion", []).append(_("请填写处理结论及理由。"))
    if not legal_basis:
        errors.setdefault("legal_basis", []).append(_("请填写法律依据。"))
    if violation and violation_type is None:
        errors.setdefault("violation_type", []).append(_("构成违规的，请选择违规行为类型。"))
    if violation is False and violation_type is not None:
        errors.setdefault("violation_type", []).append(_("不构成违规的，不应选择违规行为类型。"))
    if errors:
        raise ValidationFailed(errors)
    today = timezone.localdate()
    waiting = case.requests.filter(status=ExplanationRequest.Status.PENDING, due_on__gte=today).exists()
    if waiting:
        raise DomainError(_("尚有未到期的说明要求，请待当事方答复或期限届满后再作结论。"), code="waiting")
    now = timezone.now()
    case.violation = violation
    case.violation_type = violation_type if violation else None
    case.legal_basis = legal_basis[:MAX_TEXT]
    case.conclusion = conclusion[:MAX_TEXT]
    case.concluded_at = now
    case.concluded_by = actor
    open_flags = list(case.flags.filter(status__in=(Flag.Status.OPEN, Flag.Status.RESOLVED)).order_by("pk"))
    for flag in open_flags:
        oversight_services.flag_decide(actor=actor, flag=flag, confirm=bool(violation), reason=conclusion)
    if not violation:
        case.closed_at = now
        _move(case, S.CLOSED, actor=actor, action="case.conclude", extra={"violation": False})
        message = _("案件 %(n)s 已办结：不构成违规。结论已公开。") % {"n": case.number}
    elif violation_type is not None:  # a violation without a type was refused above
        case.remedy_due = add_working_days(today, REMEDY_WORKING_DAYS)
        _move(
            case,
            S.REMEDYING,
            actor=actor,
            action="case.conclude",
            extra={"violation": True, "type": violation_type.code, "remedy_due": case.remedy_due},
        )
        if case.intermediary_id:
            _penalise(case, violation_type, actor=actor, today=today)
        message = _("案件 %(n)s 认定构成违规（%(t)s），请于 %(d)s 前整改并在平台报告。") % {
            "n": case.number,
            "t": violation_type.name,
            "d": case.remedy_due,
        }
    for org_id in _parties(case):
        notify(org_id, message, case.project)
    return case


def _penalise(case: Case, violation_type: ViolationType, *, actor: User, today) -> None:
    firm = Intermediary.objects.select_for_update().get(pk=case.intermediary_id or 0)
    if violation_type.deduction:
        deduction = CreditDeduction.objects.create(
            intermediary=firm,
            case=case,
            violation_type=violation_type,
            points=violation_type.deduction,
            reason=violation_type.name_zh,
            occurred_on=today,
            created_at=timezone.now(),
        )
        audit_record(actor=actor, action="credit.deduct", obj=deduction, after=snapshot(deduction))
    if violation_type.blacklist_days:
        entry = Blacklisting.objects.create(
            intermediary=firm,
            case=case,
            violation_type=violation_type,
            basis=case.legal_basis,
            starts_on=today,
            ends_on=today + timedelta(days=violation_type.blacklist_days - 1),
        )
        before = firm.blacklisted_until
        if before is None or before < entry.ends_on:
            firm.blacklisted_until = entry.ends_on
            firm.save(update_fields=["blacklisted_until"])
        audit_record(
            actor=actor,
            action="blacklist.add",
            obj=entry,
            before={"blacklisted_until": before},
            after={**snapshot(entry), "blacklisted_until": firm.blacklisted_until},
        )
    credit.credit_recompute(intermediary_ids=[firm.pk], actor=actor)


@transaction.atomic
def case_remedy_report(*, actor: User, case: Case, report: str) -> Case:
    """The party reports what it did to remedy the violation."""
    case = _lock(case)
    if not any(is_member(actor, org) for org in _parties(case)):
        raise NotAllowed(_("只有案件当事方可以报告整改情况。"))
    if case.status != S.REMEDYING:
        raise DomainError(_("该案件不在整改期。"), code="transition")
    if case.remedied_at:
        raise DomainError(_("已报告整改情况。"), code="done")
    case.remedy_report = _text(report, "report", _("请填写整改情况。"))
    case.remedied_at = timezone.now()
    case.save(update_fields=["remedy_report", "remedied_at"])
    audit_record(actor=actor, action="case.remedy", obj=case, after={"remedy_report": case.remedy_report})
    notify_regulators(_("案件 %(n)s 的当事方已报告整改情况。") % {"n": case.number}, case.project)
    return case


@transaction.atomic
def case_close(*, actor: User, case: Case) -> Case:
    """Close a case after the remedy was reported or its period ended; the conclusion is public."""
    require_regulator(actor)
    case = _lock(case)
    if case.status != S.REMEDYING:
        raise DomainError(_("只有整改期的案件可以办结。"), code="transition")
    if not case.remedied_at and case.remedy_due is not None and timezone.localdate() <= case.remedy_due:
        raise DomainError(_("整改期限未满且当事方尚未报告整改，暂不能办结。"), code="waiting")
    case.closed_at = timezone.now()
    _move(case, S.CLOSED, actor=actor, action="case.close", extra={"remedied": bool(case.remedied_at)})
    for org_id in _parties(case):
        notify(org_id, _("案件 %(n)s 已办结，处理结论已公开。") % {"n": case.number}, case.project)
    return case


def escalate_overdue(*, today=None) -> dict[str, int]:
    """Overdue answers and remedies are reported to the regulators and the party, once each
    (compare-and-swap on ``escalated_at``), so the tick can run any number of times."""
    today = today or timezone.localdate()
    done = {"answers": 0, "remedies": 0}
    for request in ExplanationRequest.objects.filter(
        status=ExplanationRequest.Status.PENDING, due_on__lt=today, escalated_at__isnull=True
    ).select_related("case")[:500]:
        with transaction.atomic():
            now = timezone.now()
            if not ExplanationRequest.objects.filter(pk=request.pk, escalated_at__isnull=True).update(
                escalated_at=now
            ):
                continue
            audit_record(actor=None, action="case.request.overdue", obj=request, after={"escalated_at": now})
            message = _("案件 %(n)s 的说明要求已逾期（期限 %(d)s）。") % {
                "n": request.case.number,
                "d": request.due_on,
            }
            notify(request.party_id, message, request.case.project)
            notify_regulators(message, request.case.project)
            done["answers"] += 1
    for case in Case.objects.filter(
        status=S.REMEDYING, remedy_due__lt=today, remedied_at__isnull=True, remedy_escalated_at__isnull=True
    ).select_related("intermediary")[:500]:
        with transaction.atomic():
            now = timezone.now()
            if not Case.objects.filter(pk=case.pk, remedy_escalated_at__isnull=True).update(
                remedy_escalated_at=now
            ):
                continue
            audit_record(
                actor=None, action="case.remedy.overdue", obj=case, after={"remedy_escalated_at": now}
            )
            message = _("案件 %(n)s 整改期限已过，当事方未报告整改。") % {"n": case.number}
            for org_id in _parties(case):
                notify(org_id, message, case.project)
            notify_regulators(message, case.project)
            done["remedies"] += 1
    return done
