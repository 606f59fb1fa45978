"""Related-party rules RP01-RP06 (红顶中介): planted ties are flagged, look-alikes are not."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone

from marketplace.catalog.models import AffiliatedEntity, ApprovalItem
from marketplace.core.validators import id_hash
from marketplace.oversight import graph, services
from marketplace.oversight.models import DepartmentStaff, Flag, StaffRelative
from marketplace.oversight.rules.base import Scope, get_rule
from marketplace.procurement.models import Application, Project, Selection
from marketplace.providers.models import DeclaredTie, Shareholder
from tests.factories import (
    DepartmentFactory,
    IntermediaryFactory,
    PractitionerFactory,
    ServiceTypeFactory,
    make_id_number,
    make_uscc,
    member_of,
)
from tests.procurement.factories import operator_user, published_project

pytestmark = pytest.mark.django_db


def today() -> date:
    return timezone.localdate()


def person() -> str:
    return id_hash(make_id_number())


# --- building a market ------------------------------------------------------------------------


def approving_department(**kwargs):
    department = DepartmentFactory(**kwargs)
    department.item = ApprovalItem.objects.create(
        code=f"item-{department.code}", name_zh="建设项目环境影响评价审批", department=department
    )
    return department


def _project(department) -> Project:
    """A published project tied to ``department``'s approval item (the real services)."""
    service_type = ServiceTypeFactory()
    department.item.service_types.add(service_type)
    return published_project(service_type=service_type, approval_item=department.item)


def _apply(project, firm, *, state="valid") -> Application:
    return Application.objects.create(
        project=project,
        intermediary=firm,
        submitted_by=member_of(firm.organisation),
        submitted_at=timezone.now() - timedelta(days=10),
        sealed_quote="sealed",
        quote_amount=Decimal("60000.00"),
        state=state,
    )


def awarded(department, firm=None, *, days_ago=0, losers=()):
    """A project of ``department`` won by ``firm`` ``days_ago`` days ago (losers applied too)."""
    project = _project(department)
    firm = firm or IntermediaryFactory()
    winner = _apply(project, firm)
    for loser in losers:
        _apply(project, loser)
    Selection.objects.create(
        project=project,
        round=1,
        method=project.method,
        performed_at=timezone.now() - timedelta(days=days_ago),
        candidates=[winner.pk],
        winner=winner,
    )
    Project.objects.filter(pk=project.pk).update(status="selected")
    project.refresh_from_db()
    return SimpleNamespace(project=project, firm=firm, department=department)


def affiliate(department, **kwargs):
    values = {"kind": "institution", "name": "市环境科学研究院", "uscc": make_uscc("12")}
    values.update(kwargs)
    return AffiliatedEntity.objects.create(department=department, **values)


def holds(firm, *, share="30", uscc="", person_hash="", name="股东"):
    kind = Shareholder.Kind.PERSON if person_hash else Shareholder.Kind.FIRM
    return Shareholder.objects.create(
        intermediary=firm, kind=kind, name=name, uscc=uscc, id_hash=person_hash, share=Decimal(share)
    )


def on_staff(department, person_hash, *, started=None, ended=None, name="刘科长", **kwargs):
    return DepartmentStaff.objects.create(
        department=department,
        name=name,
        id_hash=person_hash,
        position=kwargs.pop("position", "审批科科长"),
        started_on=started or date(2010, 3, 1),
        ended_on=ended,
        **kwargs,
    )


def run(*codes, scope=None):
    services.monitor_run(scope=scope, codes=list(codes))
    return Flag.objects.filter(rule__in=codes, status=Flag.Status.OPEN)


def settings_update(code, **thresholds):
    operator = operator_user()
    rule = get_rule(code)
    services.rule_settings_update(
        actor=operator, code=code, weight=rule.default_weight, thresholds=thresholds
    )


def owned_by_affiliate(share="30"):
    department = approving_department()
    institute = affiliate(department)
    case = awarded(department)
    holds(case.firm, uscc=institute.uscc, name=institute.name, share=share)
    case.affiliate = institute
    return case


# --- RP01 ownership path ------------------------------------------------------------------------


def test_rp01_flags_an_affiliate_holding_shares_in_the_winner():
    case = owned_by_affiliate()

    flag = run("RP01").get()

    assert (flag.subject_type, flag.subject_id) == ("project", case.project.pk)
    assert (flag.intermediary_id, flag.department_id) == (case.firm.pk, case.department.pk)
    assert flag.evidence["min_hops"] == 1 and flag.evidence["path_count"] == 1
    path = flag.evidence["paths"][0]
    assert [n["label"] for n in path["nodes"]] == [
        case.firm.name,
        "市环境科学研究院",
        case.department.name_zh,
    ]
    assert [e["kind"] for e in path["edges"]] == ["shareholding", "affiliation"]


def test_rp01_follows_ownership_through_a_holding_firm():
    department = approving_department()
    institute = affiliate(department, kind="association", name="市环保产业协会")
    holding = IntermediaryFactory(name="某控股有限公司")
    case = awarded(department)
    holds(case.firm, uscc=holding.uscc, name=holding.name, share="70")
    holds(holding, uscc=institute.uscc, name=institute.name, share="20")

    flag = run("RP01").get()

    assert flag.evidence["min_hops"] == 2
    assert flag.evidence["paths"][0]["nodes"][1]["label"] == "某控股有限公司"


def test_rp01_flags_a_staff_member_holding_shares_but_not_a_former_one():
    department = approving_department()
    current, former = awarded(department), awarded(department)
    holds(current.firm, person_hash=(official := person()), name="刘科长")
    on_staff(department, official)
    holds(former.firm, person_hash=(retired := person()), name="退休人员")
    on_staff(department, retired, ended=today() - timedelta(days=2000))

    assert [f.subject_id for f in run("RP01")] == [current.project.pk]


def test_rp01_look_alike_an_affiliate_of_another_department_or_of_a_loser_is_not_flagged():
    department, other = approving_department(), approving_department()
    loser = IntermediaryFactory()
    case = awarded(department, losers=[loser])
    holds(case.firm, uscc=affiliate(other).uscc)
    holds(loser, uscc=affiliate(department).uscc)

    assert not run("RP01").exists()


def test_rp01_uses_the_latest_standing_award():
    case = owned_by_affiliate()
    Selection.objects.filter(project=case.project).update(annulled=True)
    clean_firm = IntermediaryFactory()
    winner = _apply(case.project, clean_firm)
    Selection.objects.create(
        project=case.project, round=2, method=case.project.method, performed_at=timezone.now(), winner=winner
    )

    assert not run("RP01").exists()


@pytest.mark.parametrize(
    ("thresholds", "flagged"), [({"min_share": "25"}, True), ({"min_share": "50"}, False)]
)
def test_rp01_min_share_threshold_changes_the_outcome(thresholds, flagged):
    owned_by_affiliate(share="30")
    settings_update("RP01", **thresholds)

    assert run("RP01").exists() is flagged


def test_rp01_max_hops_threshold_changes_the_outcome():
    department = approving_department()
    holding = IntermediaryFactory()
    case = awarded(department)
    holds(case.firm, uscc=holding.uscc)
    holds(holding, uscc=affiliate(department).uscc)
    assert run("RP01").exists()

    settings_update("RP01", max_hops=1)

    assert not run("RP01").exists()
    assert Flag.objects.get(rule="RP01").status == Flag.Status.RESOLVED


# --- RP02 staff or relative ---------------------------------------------------------------------


def test_rp02_flags_a_legal_representative_on_the_department_staff():
    department = approving_department()
    case = awarded(
        department, IntermediaryFactory(legal_representative="刘科长", legal_representative_id_hash=person())
    )
    on_staff(department, case.firm.legal_representative_id_hash, position="副局长")

    flag = run("RP02").get()

    assert (flag.subject_type, flag.subject_id, flag.intermediary_id) == (
        "project",
        case.project.pk,
        case.firm.pk,
    )
    [entry] = flag.evidence["people"]
    assert (entry["role"], entry["position"], entry["relation"]) == ("legal_representative", "副局长", "")


def test_rp02_flags_a_practitioner_who_is_a_declared_relative_of_staff():
    department = approving_department()
    case = awarded(department)
    practitioner = PractitionerFactory(intermediary=case.firm, name="赵工")
    official = on_staff(department, person(), name="赵处长")
    StaffRelative.objects.create(staff=official, name="赵工", id_hash=practitioner.id_hash, relation="子女")

    [entry] = run("RP02").get().evidence["people"]

    assert (entry["name"], entry["role"], entry["relation"], entry["staff"]) == (
        "赵工",
        "practitioner",
        "子女",
        "赵处长",
    )


def test_rp02_look_alike_staff_who_left_before_the_award_or_of_another_department_is_not_flagged():
    department, other = approving_department(), approving_department()
    left, elsewhere = awarded(department, days_ago=30), awarded(department)
    holds(left.firm, person_hash=(former := person()))
    on_staff(department, former, ended=today() - timedelta(days=60))
    holds(elsewhere.firm, person_hash=(official := person()))
    on_staff(other, official)

    assert not run("RP02").exists()


def test_rp02_staff_who_joins_after_the_award_is_not_flagged():
    department = approving_department()
    case = awarded(department, days_ago=100)
    holds(case.firm, person_hash=(newcomer := person()))
    on_staff(department, newcomer, started=today() - timedelta(days=10))

    assert not run("RP02").exists()


def test_rp02_include_relatives_threshold_changes_the_outcome():
    department = approving_department()
    case = awarded(department)
    holds(case.firm, person_hash=(spouse := person()), name="钱女士")
    StaffRelative.objects.create(
        staff=on_staff(department, person()), name="钱女士", id_hash=spouse, relation="配偶"
    )
    assert run("RP02").exists()

    settings_update("RP02", include_relatives=False)

    assert not run("RP02").exists()


# --- RP03 revolving door ------------------------------------------------------------------------


def test_rp03_flags_staff_who_left_within_the_cooling_off_period():
    department = approving_department()
    case = awarded(department, days_ago=10)
    practitioner = PractitionerFactory(intermediary=case.firm, name="孙工")
    on_staff(department, practitioner.id_hash, name="孙工", ended=today() - timedelta(days=110))

    flag = run("RP03").get()

    assert (flag.subject_type, flag.subject_id, flag.department_id) == (
        "project",
        case.project.pk,
        department.pk,
    )
    [entry] = flag.evidence["people"]
    assert (entry["name"], entry["role"], entry["days_before_award"]) == ("孙工", "practitioner", 100)
    assert flag.evidence["cooling_off_days"] == 730


def test_rp03_look_alike_a_tie_ended_before_the_cooling_off_period_is_not_flagged():
    department = approving_department()
    case = awarded(department)
    practitioner = PractitionerFactory(intermediary=case.firm)
    on_staff(department, practitioner.id_hash, ended=today() - timedelta(days=731))

    assert not run("RP03").exists()


def test_rp03_someone_back_in_post_is_rp02_not_rp03():
    department = approving_department()
    case = awarded(department)
    holds(case.firm, person_hash=(official := person()))
    on_staff(department, official, started=date(2010, 1, 1), ended=today() - timedelta(days=400))
    on_staff(department, official, started=today() - timedelta(days=300))

    assert not run("RP03").exists()
    assert run("RP02").exists()


def test_rp03_cooling_off_threshold_changes_the_outcome():
    department = approving_department()
    case = awarded(department)
    on_staff(
        department, PractitionerFactory(intermediary=case.firm).id_hash, ended=today() - timedelta(days=400)
    )
    assert run("RP03").exists()

    settings_update("RP03", cooling_off_days=365)

    assert not run("RP03").exists()


# --- RP04 shared contacts -----------------------------------------------------------------------


def test_rp04_flags_a_phone_shared_with_the_department_after_normalisation():
    department = approving_department(phone="(0632) 331-2345")
    case = awarded(department, IntermediaryFactory(phone="0632-3312345"))

    flag = run("RP04").get()

    assert (flag.subject_type, flag.subject_id, flag.intermediary_id) == (
        "project",
        case.project.pk,
        case.firm.pk,
    )
    [contact] = flag.evidence["contacts"]
    assert (contact["field"], contact["value"], contact["party"]) == ("phone", "0632-3312345", "department")


def test_rp04_flags_contacts_shared_with_staff_and_affiliates():
    department = approving_department()
    awarded(department, IntermediaryFactory(email="Li.Ming@zz.gov.cn", address="市中区 青檀路 1 号"))
    on_staff(department, person(), name="李明", email="li.ming@zz.gov.cn ")
    affiliate(department, name="市环科院", address="市中区青檀路1号", uscc="")

    contacts = run("RP04").get().evidence["contacts"]

    assert sorted((c["field"], c["party"], c["with"]) for c in contacts) == [
        ("address", "affiliate", "市环科院"),
        ("email", "staff", "李明"),
    ]


def test_rp04_look_alike_another_departments_phone_or_a_former_staff_members_is_not_flagged():
    department, other = approving_department(), approving_department(phone="0632-3312345")
    awarded(department, IntermediaryFactory(phone="0632-3312345", email="x@example.cn"))
    on_staff(department, person(), email="x@example.cn", ended=today() - timedelta(days=30))

    assert not run("RP04").exists()
    assert other.phone  # the shared number belongs to a department with no project here


def test_rp04_match_switches_change_the_outcome():
    department = approving_department(phone="0632-3312345")
    awarded(department, IntermediaryFactory(phone="06323312345"))
    assert run("RP04").exists()

    settings_update("RP04", phone=False)

    assert not run("RP04").exists()


# --- RP05 undeclared ties -----------------------------------------------------------------------


def test_rp05_flags_an_undeclared_tie_on_the_intermediary():
    case = owned_by_affiliate()

    flag = run("RP05").get()

    assert (flag.subject_type, flag.subject_id) == ("intermediary", case.firm.pk)
    assert (flag.project_id, flag.department_id, flag.intermediary_id) == (
        case.project.pk,
        case.department.pk,
        case.firm.pk,
    )
    assert [t["rule"] for t in flag.evidence["ties"]] == ["RP01"]
    assert flag.weight > get_rule("RP01").default_weight


@pytest.mark.parametrize("ended", [None, "past"])
def test_rp05_look_alike_the_same_tie_declared_is_flagged_by_rp01_only(ended):
    case = owned_by_affiliate()
    DeclaredTie.objects.create(
        intermediary=case.firm,
        department=case.department,
        affiliate=case.affiliate,
        kind=DeclaredTie.Kind.AFFILIATED,
        ended_on=today() - timedelta(days=400) if ended else None,
        description="市环境科学研究院持股30%",
    )

    assert run("RP01").exists()
    assert not run("RP05").exists()


def test_rp05_a_tie_declared_with_another_department_does_not_count():
    case = owned_by_affiliate()
    DeclaredTie.objects.create(
        intermediary=case.firm, department=approving_department(), kind="other", description="其他"
    )

    assert run("RP05").exists()


def test_rp05_resolves_once_the_tie_is_declared():
    case = owned_by_affiliate()
    run("RP05")
    DeclaredTie.objects.create(
        intermediary=case.firm, department=case.department, kind="affiliated", description="已补报"
    )

    services.monitor_run(scope=services.scope_for_intermediary(case.firm.pk), codes=["RP05"])

    assert Flag.objects.get(rule="RP05").status == Flag.Status.RESOLVED


def test_rp05_follows_the_thresholds_of_the_tie_rules():
    department = approving_department()
    case = awarded(department)
    on_staff(
        department, PractitionerFactory(intermediary=case.firm).id_hash, ended=today() - timedelta(days=400)
    )
    assert [t["rule"] for t in run("RP05").get().evidence["ties"]] == ["RP03"]

    settings_update("RP03", cooling_off_days=365)

    assert not run("RP05").exists()


# --- RP06 affiliates competing ------------------------------------------------------------------


def test_rp06_flags_a_department_affiliate_applying_for_its_approval_items():
    department = approving_department()
    institute_firm = IntermediaryFactory(name="市环境科学研究院")
    affiliate(department, uscc=institute_firm.uscc, name="市环境科学研究院")
    case = awarded(department, losers=[institute_firm])

    flag = run("RP06").get()

    assert (flag.subject_type, flag.subject_id) == ("project", case.project.pk)
    assert (flag.intermediary_id, flag.department_id) == (institute_firm.pk, department.pk)
    assert flag.evidence["via"] == "itself" and flag.evidence["affiliate_kind"] == "institution"


def test_rp06_flags_a_firm_majority_owned_by_an_affiliate_but_not_a_minority_holding():
    department = approving_department()
    majority, minority = IntermediaryFactory(), IntermediaryFactory()
    association = affiliate(department, kind="association", name="市环保产业协会")
    holds(majority, uscc=association.uscc, share="60")
    holds(minority, uscc=association.uscc, share="30")
    awarded(department, losers=[majority, minority])

    flag = run("RP06").get()

    assert flag.intermediary_id == majority.pk
    assert (flag.evidence["via"], flag.evidence["share"], flag.evidence["affiliate"]) == (
        "majority_owner",
        "60",
        "市环保产业协会",
    )


def test_rp06_look_alike_an_affiliate_of_another_department_or_a_withdrawn_application_is_not_flagged():
    department, other = approving_department(), approving_department()
    elsewhere, withdrawn = IntermediaryFactory(), IntermediaryFactory()
    affiliate(other, uscc=elsewhere.uscc)
    affiliate(department, uscc=withdrawn.uscc)
    case = awarded(department, losers=[elsewhere])
    _apply(case.project, withdrawn, state="withdrawn")

    assert not run("RP06").exists()


def test_rp06_majority_share_threshold_changes_the_outcome():
    department = approving_department()
    firm = IntermediaryFactory()
    holds(firm, uscc=affiliate(department).uscc, share="60")
    awarded(department, losers=[firm])
    assert run("RP06").exists()

    settings_update("RP06", majority_share="70")

    assert not run("RP06").exists()


# --- every rule: scoped runs, explanations, query counts -----------------------------------------

CODES = ["RP01", "RP02", "RP03", "RP04", "RP05", "RP06"]


def plant_every_tie():
    """One department, each tie on its own project, plus a clean project."""
    department = approving_department(phone="0632-3300001")
    institute = affiliate(department, name="市环境科学研究院")
    owned = awarded(department)
    holds(owned.firm, uscc=institute.uscc, name=institute.name, share="35")
    staffed = awarded(
        department, IntermediaryFactory(legal_representative="周局", legal_representative_id_hash=person())
    )
    on_staff(department, staffed.firm.legal_representative_id_hash, name="周局", position="副局长")
    revolving = awarded(department)
    on_staff(
        department,
        PractitionerFactory(intermediary=revolving.firm, name="吴工").id_hash,
        name="吴工",
        ended=today() - timedelta(days=200),
    )
    contact = awarded(department, IntermediaryFactory(phone="0632 3300001"))
    competitor = IntermediaryFactory(name="市环境科学研究院服务部")
    affiliate(department, uscc=competitor.uscc, name="市环境科学研究院服务部", kind="enterprise")
    competing = awarded(department, losers=[competitor])
    clean = awarded(department)
    return SimpleNamespace(
        department=department,
        projects=[owned, staffed, revolving, contact, competing, clean],
        by_code={
            "RP01": owned,
            "RP02": staffed,
            "RP03": revolving,
            "RP04": contact,
            "RP05": owned,
            "RP06": competing,
        },
    )


def _flag_set(code):
    return {
        (f.subject_type, f.subject_id, f.fingerprint, f.project_id, f.intermediary_id)
        for f in Flag.objects.filter(rule=code, status=Flag.Status.OPEN)
    }


@pytest.mark.parametrize("code", CODES)
def test_a_scoped_run_gives_the_full_scans_flags_for_its_subject(code):
    world = plant_every_tie()
    run(code)
    full = _flag_set(code)
    Flag.objects.filter(rule=code).delete()
    subject = world.by_code[code].project

    services.monitor_run(scope=services.scope_for_project(subject.pk), codes=[code])

    expected = {f for f in full if f[3] == subject.pk}
    assert expected and {f for f in _flag_set(code) if f[3] == subject.pk} == expected
    assert _flag_set(code) <= full


@pytest.mark.parametrize("code", CODES)
def test_a_scoped_run_resolves_only_its_own_flags(code):
    plant_every_tie()
    run(code)
    before = _flag_set(code)

    other = awarded(approving_department())
    services.monitor_run(scope=services.scope_for_project(other.project.pk), codes=[code])

    assert _flag_set(code) == before


EXPLAINED = {
    "RP01": (["市环境科学研究院", "持股 35%"], ["市环境科学研究院", "holds 35%"]),
    "RP02": (["周局", "副局长", "法定代表人"], ["周局", "legal representative"]),
    "RP03": (["吴工", "离职"], ["吴工", "left"]),
    "RP04": (["电话", "0632 3300001"], ["phone", "0632 3300001"]),
    "RP05": (["未申报", "RP01"], ["never declared", "RP01"]),
    "RP06": (["市环境科学研究院服务部", "所办企业"], ["市环境科学研究院服务部", "department-run enterprise"]),
}


@pytest.mark.parametrize("code", CODES)
def test_explain_names_the_facts_in_both_languages(code):
    world = plant_every_tie()
    flag = run(code).get(project=world.by_code[code].project)
    rule = get_rule(code)
    zh, en = rule.explain(flag.evidence), rule.explain(flag.evidence, "en")

    assert world.by_code[code].project.public_number in zh and world.by_code[code].project.public_number in en
    for fact in EXPLAINED[code][0]:
        assert fact in zh
    for fact in EXPLAINED[code][1]:
        assert fact in en


WALK = 1 + graph.WALK_QUERIES  # the awards, then one walk
QUERY_BOUND = {"RP01": WALK, "RP02": WALK, "RP03": WALK, "RP04": WALK, "RP05": 1 + 4 * WALK + 1, "RP06": 3}


@pytest.mark.parametrize("code", CODES)
def test_queries_do_not_grow_with_the_market(code, django_assert_max_num_queries):
    rule = get_rule(code)
    params = rule.params({})
    plant_every_tie()
    with django_assert_max_num_queries(QUERY_BOUND[code]):
        small = list(rule.find(Scope(), params))
    plant_every_tie()
    plant_every_tie()
    with django_assert_max_num_queries(QUERY_BOUND[code]):
        large = list(rule.find(Scope(), params))

    assert len(large) == 3 * len(small) > 0
