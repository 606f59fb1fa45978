"""Data the rules need that arrives from outside procurement: complaints filed on the site (FA07)
and intermediary reports filed with approval cases, posted by approval systems (FA06)."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import Membership, Role, User
from marketplace.catalog.models import Department, ServiceType
from marketplace.core.audit import audit_record, snapshot
from marketplace.core.errors import DomainError, NotAllowed
from marketplace.core.tasks import enqueue_on_commit
from marketplace.core.validators import clean_uscc
from marketplace.procurement.models import Project
from marketplace.providers.models import Intermediary

from .models import Complaint, FiledReport
from .rules.base import COMPLAINT

MAX_COMPLAINT = 5000


@transaction.atomic
def complaint_file(
    *,
    actor: User | None,
    text: str,
    alleges_designation: bool = False,
    project: Project | None = None,
    intermediary: Intermediary | None = None,
    department: Department | None = None,
    contact: str = "",
) -> Complaint:
    """Anyone may complain (anonymously too, with a contact); a complaint that alleges an
    official designated an intermediary is what FA07 flags."""
    text = (text or "").strip()
    if not text:
        raise DomainError(_("请填写投诉内容。"), field="text")
    if len(text) > MAX_COMPLAINT:
        raise DomainError(_("投诉内容不得超过5000字。"), field="text")
    if project is None and intermediary is None and department is None:
        raise DomainError(_("请指明投诉涉及的项目、中介机构或部门。"), field="project")
    user = actor if getattr(actor, "is_authenticated", False) else None
    if user is None and not (contact or "").strip():
        raise DomainError(_("匿名投诉请留下联系方式，以便核实。"), field="contact")
    complaint = Complaint.objects.create(
        project=project,
        intermediary=intermediary,
        department=department or (project.department if project else None),
        alleges_designation=alleges_designation,
        text=text,
        filed_by=user,
        contact=(contact or "").strip()[:100],
        filed_at=timezone.now(),
    )
    audit_record(actor=user, action="complaint.file", obj=complaint, after=snapshot(complaint))
    if project is not None:
        enqueue_on_commit("marketplace.oversight.tasks.monitor_project", project.pk, COMPLAINT)
    return complaint


@transaction.atomic
def filed_report_receive(
    *,
    actor: User,
    approval_case_number: str,
    service_type_code: str,
    intermediary_uscc: str,
    filed_on: date,
    investment_project_code: str = "",
    department: Department | None = None,
) -> FiledReport:
    """An approval system reports which intermediary's report was filed with a case. Posted by
    an account of the approving department; idempotent on (department, case, service, firm)."""
    memberships = Membership.objects.filter(user=actor, role=Role.DEPARTMENT).select_related("organisation")
    departments = list(Department.objects.filter(organisation__in=[m.organisation for m in memberships]))
    if not departments:
        raise NotAllowed(_("只有审批部门的系统账号可以报送备案的中介报告。"))
    if department is None:
        department = departments[0]
    elif department not in departments:
        raise NotAllowed(_("只能报送本部门的审批案件。"))
    case = (approval_case_number or "").strip()
    if not case:
        raise DomainError(_("请填写审批事项办件号。"), field="approval_case_number")
    if not ServiceType.objects.filter(code=service_type_code).exists():
        raise DomainError(
            _("未知的中介服务事项：%(code)s。") % {"code": service_type_code}, field="service_type_code"
        )
    uscc = clean_uscc(intermediary_uscc, field="intermediary_uscc")
    if filed_on > timezone.localdate():
        raise DomainError(_("备案日期不能晚于今天。"), field="filed_on")
    existing = FiledReport.objects.filter(
        department=department,
        approval_case_number=case,
        service_type_code=service_type_code,
        intermediary_uscc=uscc,
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            report = FiledReport.objects.create(
                department=department,
                approval_case_number=case,
                investment_project_code=(investment_project_code or "").strip(),
                service_type_code=service_type_code,
                intermediary_uscc=uscc,
                filed_on=filed_on,
                received_at=timezone.now(),
            )
    except IntegrityError:
        return FiledReport.objects.get(
            department=department,
            approval_case_number=case,
            service_type_code=service_type_code,
            intermediary_uscc=uscc,
        )
    audit_record(actor=actor, action="filed_report.receive", obj=report, after=snapshot(report))
    firm = Intermediary.objects.filter(uscc=uscc).values_list("pk", flat=True).first()
    if firm:
        enqueue_on_commit("marketplace.oversight.tasks.monitor_intermediary", firm)
    return report
