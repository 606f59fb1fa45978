"""Random inspections (双随机、一公开): random targets, random inspectors, public results.

A plan freezes its population (the sorted keys: USCCs of firms or public numbers of projects)
and commits to a secret (its SHA-256 is published) when it is published. The draw reveals the
secret and uses ``procurement.draw`` exactly as a selection does, with the plan's number in place
of the project's:

* targets: ``pick_many(population, sample_size, secret, plan.number, purpose="targets")``;
* inspectors of each target, in the order drawn: ``pick_many(eligible, inspectors_per_target,
  secret, plan.number, purpose="inspectors:<target key>")`` where ``eligible`` is the sorted
  codes of the pool's inspectors minus those tied to the target.

An inspector is tied to a firm (and is never assigned to it) when the inspector's ID hash is the
firm's legal representative's, a practitioner's or a person shareholder's; when a declared close
relative of the inspector (``StaffRelative`` of a ``DepartmentStaff`` row with the inspector's ID
hash) is such a person; or when the inspector's department is one the firm declared a tie with.
For a project the same tests run against its contracted firm, and an inspector of the project's
own department is tied too. The exclusions are stored in the draw record, so anyone can recompute
the whole draw from what the plan's page publishes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import Membership, Role, User
from marketplace.catalog.models import Department, ServiceType
from marketplace.core.audit import audit_record, snapshot
from marketplace.core.errors import DomainError, NotAllowed, ValidationFailed
from marketplace.core.validators import id_hash
from marketplace.procurement import draw
from marketplace.procurement.models import Contract, Project, Status
from marketplace.procurement.services.common import notify, notify_regulators
from marketplace.providers.models import PUBLIC_STATUSES, DeclaredTie, Intermediary, Practitioner, Shareholder

from ..models import StaffRelative
from . import credit
from .models import InspectionPlan, InspectionTarget, Inspector
from .services import require_regulator

P = InspectionPlan.Status
PROJECT_STATUSES = (
    Status.CONTRACTING,
    Status.IN_SERVICE,
    Status.DELIVERED,
    Status.ACCEPTED,
    Status.RATED,
    Status.CLOSED,
)
MAX_SAMPLE = 500


def _regulator_org(actor: User):
    membership = (
        Membership.objects.filter(user=actor, role=Role.REGULATOR).select_related("organisation").first()
    )
    if membership is None:
        raise NotAllowed(_("只有监管人员可以办理双随机抽查。"))
    return membership.organisation


@transaction.atomic
def inspector_add(
    *, actor: User, code: str, name: str, id_number: str, department: Department | None = None
) -> Inspector:
    """Add an inspector to the regulator's roster (the ID number is kept only as a keyed hash)."""
    organisation = _regulator_org(actor)
    errors: dict[str | None, list[str]] = {}
    code, name = (code or "").strip(), (name or "").strip()
    if not code:
        errors.setdefault("code", []).append(_("请填写执法证号。"))
    elif Inspector.objects.filter(code=code).exists():
        errors.setdefault("code", []).append(_("该执法证号已在名录中。"))
    if not name:
        errors.setdefault("name", []).append(_("请填写姓名。"))
    hashed = ""
    try:
        hashed = id_hash(id_number)
    except DomainError as exc:
        errors.setdefault("id_number", []).append(exc.message)
    if errors:
        raise ValidationFailed(errors)
    inspector = Inspector.objects.create(
        code=code[:20], name=name[:100], id_hash=hashed, organisation=organisation, department=department
    )
    audit_record(
        actor=actor, action="inspector.add", obj=inspector, after=snapshot(inspector, ["code", "name"])
    )
    return inspector


def population_for(
    kind: str, *, service_type: ServiceType | None = None, department: Department | None = None
) -> list[str]:
    """The sorted keys of the plan's population (a filter over firms or projects)."""
    if kind == InspectionPlan.Population.FIRMS:
        firms = Intermediary.objects.filter(status__in=PUBLIC_STATUSES)
        if service_type is not None:
            firms = firms.filter(offers__service_type=service_type, offers__is_active=True)
        if department is not None:
            firms = firms.filter(contracts__project__department=department)
        return sorted(set(firms.values_list("uscc", flat=True)))
    projects = Project.objects.filter(status__in=PROJECT_STATUSES)
    if service_type is not None:
        projects = projects.filter(service_type=service_type)
    if department is not None:
        projects = projects.filter(department=department)
    return sorted(projects.values_list("public_number", flat=True))


def tied_inspectors(inspectors: Sequence[Inspector], firm_ids: set[int]) -> dict[int, dict[str, str]]:
    """For each firm, the codes of the inspectors tied to it and why. Queries are filtered by the
    pool's ID hashes and departments (a handful), not by the population (possibly thousands)."""
    by_hash: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for inspector in inspectors:
        if inspector.id_hash:  # an empty hash would match every firm without one
            by_hash[inspector.id_hash].append((inspector.code, "self"))
    for staff_hash, relative_hash in StaffRelative.objects.filter(
        staff__id_hash__in=[i.id_hash for i in inspectors]
    ).values_list("staff__id_hash", "id_hash"):
        for code, _why in list(by_hash.get(staff_hash, [])):
            if _why == "self":
                by_hash[relative_hash].append((code, "relative"))
    hashes = list(by_hash)
    ties: dict[int, dict[str, str]] = defaultdict(dict)

    def add(firm_id: int, person_hash: str, role: str) -> None:
        if firm_id in firm_ids:
            for code, why in by_hash[person_hash]:
                ties[firm_id].setdefault(code, f"{role}:{why}")

    for firm_id, person in Intermediary.objects.filter(legal_representative_id_hash__in=hashes).values_list(
        "pk", "legal_representative_id_hash"
    ):
        add(firm_id, person, "legal_representative")
    for firm_id, person in Practitioner.objects.filter(id_hash__in=hashes).values_list(
        "intermediary_id", "id_hash"
    ):
        add(firm_id, person, "practitioner")
    for firm_id, person in Shareholder.objects.filter(
        kind=Shareholder.Kind.PERSON, id_hash__in=hashes
    ).values_list("intermediary_id", "id_hash"):
        add(firm_id, person, "shareholder")
    by_department: dict[int, list[str]] = defaultdict(list)
    for inspector in inspectors:
        if inspector.department_id:
            by_department[inspector.department_id].append(inspector.code)
    for firm_id, department_id in DeclaredTie.objects.filter(
        department_id__in=list(by_department)
    ).values_list("intermediary_id", "department_id"):
        if firm_id in firm_ids:
            for code in by_department[department_id]:
                ties[firm_id].setdefault(code, "declared_tie")
    return ties


def _target_objects(kind: str, keys: Sequence[str]) -> dict[str, Any]:
    if kind == InspectionPlan.Population.FIRMS:
        return {f.uscc: f for f in Intermediary.objects.filter(uscc__in=keys)}
    return {p.public_number: p for p in Project.objects.filter(public_number__in=keys)}


def exclusions(
    plan_kind: str, inspectors: Sequence[Inspector], keys: Sequence[str]
) -> dict[str, dict[str, str]]:
    """Per target key: the inspectors who may not inspect it, with the reason code."""
    objects = _target_objects(plan_kind, keys)
    result: dict[str, dict[str, str]] = {key: {} for key in keys}
    if plan_kind == InspectionPlan.Population.FIRMS:
        ties = tied_inspectors(inspectors, {o.pk for o in objects.values()})
        for key, firm in objects.items():
            result[key].update(ties.get(firm.pk, {}))
        return result
    contracted = dict(
        Contract.objects.filter(project__public_number__in=keys).values_list(
            "project__public_number", "intermediary_id"
        )
    )
    ties = tied_inspectors(inspectors, set(contracted.values()))
    for key, project in objects.items():
        firm_id = contracted.get(key)
        if firm_id:
            result[key].update(ties.get(firm_id, {}))
        for inspector in inspectors:
            if project.department_id and inspector.department_id == project.department_id:
                result[key].setdefault(inspector.code, "project_department")
    return result


@transaction.atomic
def plan_create(
    *,
    actor: User,
    title: str,
    scope_text: str,
    population_kind: str,
    sample_size: int | None,
    inspectors: Sequence[Inspector],
    inspectors_per_target: int = 2,
    service_type: ServiceType | None = None,
    department: Department | None = None,
) -> InspectionPlan:
    """Define and publish a plan: its population is frozen and the draw's secret committed."""
    require_regulator(actor)
    errors: dict[str | None, list[str]] = {}
    title, scope_text = (title or "").strip(), (scope_text or "").strip()
    if not title:
        errors.setdefault("title", []).append(_("请填写计划名称。"))
    if not scope_text:
        errors.setdefault("scope_text", []).append(_("请填写检查内容。"))
    if population_kind not in InspectionPlan.Population.values:
        errors.setdefault("population_kind", []).append(_("请选择抽查对象。"))
    if not sample_size or sample_size < 1:
        errors.setdefault("sample_size", []).append(_("抽取数量至少为1。"))
    elif sample_size > MAX_SAMPLE:
        errors.setdefault("sample_size", []).append(_("抽取数量不得超过500。"))
    if not inspectors_per_target or inspectors_per_target < 1:
        errors.setdefault("inspectors_per_target", []).append(_("每个对象至少派1名检查人员。"))
    inspectors = sorted({i.pk: i for i in inspectors if i.is_active}.values(), key=lambda i: i.code)
    if inspectors_per_target and len(inspectors) < inspectors_per_target:
        errors.setdefault("inspectors", []).append(
            _("检查人员库只有 %(n)s 人，少于每个对象所需的 %(k)s 人。")
            % {"n": len(inspectors), "k": inspectors_per_target}
        )
    if errors:
        raise ValidationFailed(errors)
    sample_size = int(sample_size or 0)
    population = population_for(population_kind, service_type=service_type, department=department)
    if not population:
        raise DomainError(_("按所选条件没有可抽查的对象。"), field="population_kind")
    if sample_size > len(population):
        raise DomainError(
            _("抽取数量（%(k)s）大于抽查对象总数（%(n)s）。") % {"k": sample_size, "n": len(population)},
            field="sample_size",
        )
    # Every object of the population must have enough untied inspectors, so the draw can never
    # fail (or be tempted to be rerun) because of who it picked.
    short = [
        key
        for key, tied in exclusions(population_kind, inspectors, population).items()
        if len(inspectors) - len(tied) < inspectors_per_target
    ]
    if short:
        raise DomainError(
            _("检查人员库不足：%(n)s 个对象回避后可派人员少于 %(k)s 人（如 %(key)s）。")
            % {"n": len(short), "k": inspectors_per_target, "key": short[0]},
            field="inspectors",
        )
    secret = draw.new_secret()
    now = timezone.now()
    plan = InspectionPlan.objects.create(
        number=f"tmp-{now.timestamp()}"[:20],
        title=title[:200],
        scope_text=scope_text,
        population_kind=population_kind,
        service_type=service_type,
        department=department,
        population=population,
        sample_size=sample_size,
        inspectors_per_target=inspectors_per_target,
        secret=secret,
        secret_commitment=draw.commitment(secret),
        published_at=now,
        created_by=actor,
    )
    plan.number = f"CC{timezone.localdate().year}{plan.pk:04d}"
    plan.save(update_fields=["number"])
    plan.inspectors.set(inspectors)
    audit_record(
        actor=actor,
        action="inspection.plan",
        obj=plan,
        after={
            **snapshot(plan, ["number", "title", "population_kind", "sample_size", "secret_commitment"]),
            "population": len(population),
            "inspectors": [i.code for i in inspectors],
        },
    )
    return plan


def draw_compute(
    *,
    secret: str,
    number: str,
    population: Sequence[str],
    sample_size: int,
    per_target: int,
    pool: Sequence[str],
    excluded: dict[str, dict[str, str]],
) -> list[tuple[str, list[str]]]:
    """The draw as a pure function of the published record (what anyone can rerun)."""
    targets = draw.pick_many(list(population), sample_size, secret=secret, project=number, purpose="targets")
    assigned = []
    for key in targets:
        eligible = sorted(code for code in pool if code not in excluded.get(key, {}))
        if len(eligible) < per_target:
            raise DomainError(_("对象 %(key)s 回避后可派检查人员不足。") % {"key": key}, code="pool")
        chosen = draw.pick_many(
            eligible, per_target, secret=secret, project=number, purpose=f"inspectors:{key}"
        )
        assigned.append((key, chosen))
    return assigned


@transaction.atomic
def plan_draw(*, actor: User, plan: InspectionPlan) -> InspectionPlan:
    """Reveal the secret and draw the targets and their inspectors. Never rerun."""
    require_regulator(actor)
    plan = InspectionPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != P.PUBLISHED:
        raise DomainError(_("该计划已抽取，抽取结果不能重做。"), code="drawn")
    pool = list(plan.inspectors.order_by("code"))
    codes = [i.code for i in pool]
    excluded = exclusions(plan.population_kind, pool, plan.population)
    assigned = draw_compute(
        secret=plan.secret,
        number=plan.number,
        population=plan.population,
        sample_size=plan.sample_size,
        per_target=plan.inspectors_per_target,
        pool=codes,
        excluded=excluded,
    )
    objects = _target_objects(plan.population_kind, [key for key, _c in assigned])
    by_code = {i.code: i for i in pool}
    firms = plan.population_kind == InspectionPlan.Population.FIRMS
    for order, (key, chosen) in enumerate(assigned, start=1):
        target = InspectionTarget.objects.create(
            plan=plan,
            order=order,
            key=key,
            intermediary=objects.get(key) if firms else None,
            project=None if firms else objects.get(key),
        )
        target.inspectors.set([by_code[c] for c in chosen])
    now = timezone.now()
    plan.status = P.DRAWN
    plan.drawn_at = now
    plan.draw_record = {
        "pool": codes,
        "excluded": {key: tied for key, tied in excluded.items() if tied and key in dict(assigned)},
        "targets": [{"key": key, "inspectors": chosen} for key, chosen in assigned],
    }
    plan.save(update_fields=["status", "drawn_at", "draw_record"])
    audit_record(
        actor=actor,
        action="inspection.draw",
        obj=plan,
        before={"status": P.PUBLISHED},
        after={"status": P.DRAWN, "secret": plan.secret, "targets": plan.draw_record["targets"]},
    )
    for key, _chosen in assigned:
        drawn = objects.get(key)
        if firms and drawn is not None:
            notify(
                drawn.organisation_id, _("贵单位被抽中为双随机抽查对象（计划 %(n)s）。") % {"n": plan.number}
            )
    return plan


@transaction.atomic
def finding_record(*, actor: User, target: InspectionTarget, result: str, finding: str) -> InspectionTarget:
    """Record what the inspection of one target found."""
    require_regulator(actor)
    target = InspectionTarget.objects.select_for_update().select_related("plan").get(pk=target.pk)
    if target.plan.status != P.DRAWN:
        raise DomainError(_("只有检查中的计划可以登记检查结果。"), code="transition")
    errors: dict[str | None, list[str]] = {}
    if result not in (InspectionTarget.Result.NO_PROBLEM, InspectionTarget.Result.PROBLEM):
        errors.setdefault("result", []).append(_("请选择检查结论。"))
    finding = (finding or "").strip()
    if not finding:
        errors.setdefault("finding", []).append(_("请填写检查情况。"))
    if errors:
        raise ValidationFailed(errors)
    before = {"result": target.result, "finding": target.finding}
    target.result, target.finding = result, finding[:5000]
    target.recorded_at, target.recorded_by = timezone.now(), actor
    target.save(update_fields=["result", "finding", "recorded_at", "recorded_by"])
    audit_record(
        actor=actor,
        action="inspection.finding",
        obj=target,
        before=before,
        after={"result": result, "finding": finding},
    )
    return target


@transaction.atomic
def plan_results_publish(*, actor: User, plan: InspectionPlan) -> InspectionPlan:
    """Publish the results once every target has a finding (一公开)."""
    require_regulator(actor)
    plan = InspectionPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != P.DRAWN:
        raise DomainError(_("只有检查中的计划可以公开结果。"), code="transition")
    pending = plan.targets.filter(result=InspectionTarget.Result.PENDING).count()
    if pending:
        raise DomainError(_("还有 %(n)s 个对象未登记检查结果。") % {"n": pending}, code="pending")
    plan.status = P.CONCLUDED
    plan.results_published_at = timezone.now()
    plan.save(update_fields=["status", "results_published_at"])
    audit_record(
        actor=actor,
        action="inspection.publish",
        obj=plan,
        before={"status": P.DRAWN},
        after={"status": P.CONCLUDED},
    )
    firm_ids = list(plan.targets.exclude(intermediary=None).values_list("intermediary_id", flat=True))
    if firm_ids:
        credit.credit_recompute(intermediary_ids=firm_ids, actor=actor)
    notify_regulators(_("双随机抽查计划 %(n)s 的结果已公开。") % {"n": plan.number})
    return plan
