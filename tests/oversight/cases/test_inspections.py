"""Random inspections: the plan's bad input, the verifiable draw (recomputed here from the
published record with hashlib only), the avoidance of tied inspectors, findings, publication and
a case opened from a finding."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse

from marketplace.core.errors import DomainError, ValidationFailed
from marketplace.core.models import AuditEvent
from marketplace.core.validators import id_hash
from marketplace.oversight.cases import inspections, services
from marketplace.oversight.models import (
    Case,
    DepartmentStaff,
    InspectionPlan,
    InspectionTarget,
    StaffRelative,
)
from marketplace.providers.models import DeclaredTie, Shareholder
from tests.factories import DepartmentFactory, IntermediaryFactory, PractitionerFactory

from .helpers import inspector, regulator_user, valid_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def regulator():
    return regulator_user()


@pytest.fixture
def firms():
    return [IntermediaryFactory() for _ in range(5)]


def _pool(regulator, n=4, **kwargs):
    organisation = regulator.memberships.get().organisation
    return [inspector(organisation, **kwargs) for _ in range(n)]


def _plan(regulator, pool, **overrides):
    values = {
        "actor": regulator,
        "title": "2026年第一批中介机构双随机抽查",
        "scope_text": "检查收费公示、从业人员社保和报告质量。",
        "population_kind": InspectionPlan.Population.FIRMS,
        "sample_size": 3,
        "inspectors": pool,
        "inspectors_per_target": 2,
    }
    values.update(overrides)
    return inspections.plan_create(**values)


def _independent_index(n, secret, number, purpose, candidates):
    """The published algorithm (docs/draws.md), written again without the platform's code."""
    material = f"{secret}|{number}|{purpose}|{','.join(candidates)}"
    limit = 2**256 - (2**256 % n)
    counter = 0
    while True:
        value = int(hashlib.sha256(f"{material}|{counter}".encode()).hexdigest(), 16)
        if value < limit:
            return value % n
        counter += 1


def _independent_pick_many(candidates, k, secret, number, purpose):
    remaining, chosen = sorted(candidates), []
    for step in range(1, k + 1):
        choice = remaining[_independent_index(len(remaining), secret, number, f"{purpose}:{step}", remaining)]
        chosen.append(choice)
        remaining.remove(choice)
    return chosen


def test_a_plan_freezes_its_population_and_publishes_only_the_commitment(regulator, firms, client):
    plan = _plan(regulator, _pool(regulator))
    assert plan.population == sorted(f.uscc for f in firms)
    assert plan.secret_commitment == hashlib.sha256(plan.secret.encode()).hexdigest()
    page = client.get(reverse("oversight:disclosure-inspection", args=[plan.pk])).content.decode()
    assert plan.secret_commitment in page
    assert plan.secret not in page


def test_anyone_can_recompute_the_draw_from_the_published_record(regulator, firms, client):
    pool = _pool(regulator, n=5)
    plan = inspections.plan_draw(actor=regulator, plan=_plan(regulator, pool))
    page = client.get(reverse("oversight:disclosure-inspection", args=[plan.pk])).content.decode()
    assert plan.secret in page and "zj-commitment-ok" in page
    # Recompute from what the page publishes: the secret, the number, the population, the pool.
    targets = _independent_pick_many(plan.population, 3, plan.secret, plan.number, "targets")
    assert [t.key for t in plan.targets.order_by("order")] == targets
    codes = sorted(i.code for i in pool)
    for target in plan.targets.prefetch_related("inspectors"):
        expected = _independent_pick_many(codes, 2, plan.secret, plan.number, f"inspectors:{target.key}")
        assert sorted(i.code for i in target.inspectors.all()) == sorted(expected)
        assert target.intermediary.uscc == target.key


def test_a_draw_is_never_rerun(regulator, firms):
    plan = inspections.plan_draw(actor=regulator, plan=_plan(regulator, _pool(regulator)))
    with pytest.raises(DomainError, match="不能重做"):
        inspections.plan_draw(actor=regulator, plan=plan)
    assert InspectionTarget.objects.filter(plan=plan).count() == 3
    assert AuditEvent.objects.filter(action="inspection.draw").count() == 1


def test_an_inspector_tied_to_a_firm_is_never_assigned_to_it(regulator):
    """Three ties, one per kind: the inspector is a practitioner of firm A, the inspector's
    declared relative holds shares in firm B, and firm C declared a tie with the inspector's
    department. With a pool of three and two per target, each firm gets the other two."""
    department = DepartmentFactory()
    a, b, c = IntermediaryFactory(), IntermediaryFactory(), IntermediaryFactory()
    organisation = regulator.memberships.get().organisation
    person_a, person_b = valid_id(), valid_id()
    ins_a = inspector(organisation, person_id=person_a)
    ins_b = inspector(organisation, person_id=person_b)
    ins_c = inspector(organisation, department=department)
    PractitionerFactory(intermediary=a, id_hash=id_hash(person_a))
    staff = DepartmentStaff.objects.create(
        department=department, name="王某", id_hash=id_hash(person_b), started_on="2020-01-01"
    )
    relative_id = valid_id()
    StaffRelative.objects.create(staff=staff, name="王某某", id_hash=id_hash(relative_id), relation="子女")
    Shareholder.objects.create(
        intermediary=b, kind=Shareholder.Kind.PERSON, name="王某某", id_hash=id_hash(relative_id), share=40
    )
    DeclaredTie.objects.create(intermediary=c, department=department, kind="other", description="曾合作")
    plan = _plan(regulator, [ins_a, ins_b, ins_c], sample_size=3)
    plan = inspections.plan_draw(actor=regulator, plan=plan)
    assigned = {t.intermediary_id: {i.pk for i in t.inspectors.all()} for t in plan.targets.all()}
    assert assigned == {a.pk: {ins_b.pk, ins_c.pk}, b.pk: {ins_a.pk, ins_c.pk}, c.pk: {ins_a.pk, ins_b.pk}}
    assert plan.draw_record["excluded"] == {
        a.uscc: {ins_a.code: "practitioner:self"},
        b.uscc: {ins_b.code: "shareholder:relative"},
        c.uscc: {ins_c.code: "declared_tie"},
    }


def test_a_sample_larger_than_the_population_is_refused_and_nothing_is_written(regulator, firms):
    with pytest.raises(DomainError, match="大于抽查对象总数（5）"):
        _plan(regulator, _pool(regulator), sample_size=6)
    assert not InspectionPlan.objects.exists()


def test_a_pool_smaller_than_needed_is_refused_and_nothing_is_written(regulator, firms):
    with pytest.raises(ValidationFailed) as error:
        _plan(regulator, _pool(regulator, n=1), inspectors_per_target=2)
    assert "检查人员库只有 1 人" in str(error.value.errors["inspectors"][0])
    assert not InspectionPlan.objects.exists()


def test_a_pool_left_too_small_by_ties_is_refused_before_the_plan_exists(regulator):
    firm = IntermediaryFactory()
    person = valid_id()
    organisation = regulator.memberships.get().organisation
    pool = [inspector(organisation, person_id=person), inspector(organisation)]
    PractitionerFactory(intermediary=firm, id_hash=id_hash(person))
    with pytest.raises(DomainError, match="回避后可派人员少于 2 人"):
        _plan(regulator, pool, sample_size=1)
    assert not InspectionPlan.objects.exists()


def test_findings_are_published_once_all_are_recorded_and_a_finding_opens_a_case(regulator, firms, client):
    plan = inspections.plan_draw(actor=regulator, plan=_plan(regulator, _pool(regulator)))
    targets = list(plan.targets.order_by("order"))
    with pytest.raises(ValidationFailed):
        inspections.finding_record(actor=regulator, target=targets[0], result="problem", finding="  ")
    for target in targets[1:]:
        inspections.finding_record(
            actor=regulator, target=target, result="no_problem", finding="未发现问题。"
        )
    with pytest.raises(DomainError, match="还有 1 个对象"):
        inspections.plan_results_publish(actor=regulator, plan=plan)
    inspections.finding_record(
        actor=regulator, target=targets[0], result="problem", finding="三名从业人员无社保缴纳记录。"
    )
    page = client.get(reverse("oversight:disclosure-inspection", args=[plan.pk])).content.decode()
    assert "三名从业人员无社保缴纳记录" not in page  # results are public once published
    plan = inspections.plan_results_publish(actor=regulator, plan=plan)
    page = client.get(reverse("oversight:disclosure-inspection", args=[plan.pk])).content.decode()
    assert "三名从业人员无社保缴纳记录" in page
    with pytest.raises(DomainError, match="只有发现问题的抽查对象"):
        services.case_open(actor=regulator, title="t", summary="s", inspection_target=targets[1])
    case = services.case_open(
        actor=regulator, title="从业人员社保不实", summary="抽查发现。", inspection_target=targets[0]
    )
    assert (case.source, case.intermediary) == (Case.Source.INSPECTION, targets[0].intermediary)
    targets[0].intermediary.refresh_from_db()
    assert targets[0].intermediary.credit_score == 97  # an inspection finding costs 3 points


def test_a_project_population_avoids_inspectors_of_the_projects_department(regulator):
    from marketplace.procurement.models import Contract, Project

    from .helpers import awarded_project

    department = DepartmentFactory()
    project = awarded_project()
    Project.objects.filter(pk=project.pk).update(status="in_service", department=department)
    Contract.objects.create(
        project=project,
        intermediary=project.selections.get().winner.intermediary,
        amount=60000,
        document="contracts/x.pdf",
        uploaded_by_org=project.owner,
        uploaded_at=project.published_at,
    )
    organisation = regulator.memberships.get().organisation
    own = inspector(organisation, department=department)
    others = [inspector(organisation), inspector(organisation)]
    plan = _plan(regulator, [own, *others], population_kind=InspectionPlan.Population.PROJECTS, sample_size=1)
    assert plan.population == [project.public_number]
    plan = inspections.plan_draw(actor=regulator, plan=plan)
    target = plan.targets.get()
    assert target.project == project
    assert set(target.inspectors.all()) == set(others)
    assert plan.draw_record["excluded"] == {project.public_number: {own.code: "project_department"}}
