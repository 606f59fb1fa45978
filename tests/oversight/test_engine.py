from decimal import Decimal

import pytest
from django.db import connection, transaction

from marketplace.core.errors import DomainError, NotAllowed
from marketplace.oversight import services
from marketplace.oversight.models import Flag, RuleSetting, RuleSettingVersion
from marketplace.oversight.rules.base import AWARD, Scope, all_rules
from marketplace.procurement import services as procurement
from marketplace.procurement.models import Application
from marketplace.procurement.services import timeline
from tests.procurement.factories import firm_user, pass_deadline, published_project

pytestmark = pytest.mark.django_db


def _single_applicant_round():
    project = published_project(funding_source="private")
    firm, user = firm_user(project.service_type)
    procurement.application_submit(actor=user, project=project, quote=Decimal("70000"))
    pass_deadline(project)
    timeline.tick()
    project.refresh_from_db()
    return project, firm


def test_a_rule_match_becomes_one_open_flag_with_its_evidence():
    project, _firm = _single_applicant_round()
    services.monitor_run(codes=["CO01"])
    flag = Flag.objects.get(rule="CO01")
    assert flag.status == Flag.Status.OPEN and flag.project == project
    assert flag.evidence == {"project": project.public_number, "method": "lowest_price", "valid": 1}


def test_rerunning_the_rules_never_duplicates_a_flag():
    _single_applicant_round()
    services.monitor_run(codes=["CO01"])
    run = services.monitor_run(codes=["CO01"])
    assert Flag.objects.filter(rule="CO01").count() == 1
    assert run.summary["CO01"]["new"] == 0


def test_a_flag_whose_condition_has_gone_is_resolved_not_deleted():
    project, _firm = _single_applicant_round()
    services.monitor_run(codes=["CO01"])
    Application.objects.filter(project=project).update(state="disqualified")
    run = services.monitor_run(scope=services.scope_for_project(project.pk), codes=["CO01"])
    flag = Flag.objects.get(rule="CO01")
    assert flag.status == Flag.Status.RESOLVED and flag.resolved_at is not None
    assert run.summary["CO01"]["resolved"] == 1


def test_a_resolved_flag_reopens_when_its_condition_returns():
    project, _firm = _single_applicant_round()
    services.monitor_run(codes=["CO01"])
    Application.objects.filter(project=project).update(state="disqualified")
    services.monitor_run(codes=["CO01"])
    Application.objects.filter(project=project).update(state="valid")
    services.monitor_run(codes=["CO01"])
    assert Flag.objects.get(rule="CO01").status == Flag.Status.OPEN


def test_a_scoped_run_leaves_flags_of_other_projects_alone():
    first, _ = _single_applicant_round()
    second, _ = _single_applicant_round()
    services.monitor_run(codes=["CO01"])
    Application.objects.filter(project=first).update(state="disqualified")
    services.monitor_run(scope=Scope(project_ids=[second.pk]), codes=["CO01"])
    assert Flag.objects.filter(status=Flag.Status.OPEN).count() == 2


def _commit_settings_seen(run) -> list[str]:
    """The ``synchronous_commit`` statements a call sends, and the setting in force after it."""
    seen = []

    def watch(execute, sql, params, many, context):
        if "synchronous_commit" in sql:
            seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        run()
    return seen


@pytest.mark.django_db(transaction=True)
def test_a_per_change_run_in_its_own_transaction_commits_without_waiting_for_the_disk():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://... (CI does)")
    project, _firm = _single_applicant_round()
    seen = _commit_settings_seen(
        lambda: services.monitor_run(scope=services.scope_for_project(project.pk), codes=["CO01"])
    )
    assert seen == ["SET LOCAL synchronous_commit TO OFF"]
    assert Flag.objects.filter(rule="CO01", project=project).count() == 1
    with connection.cursor() as cursor:  # SET LOCAL ended with the run's transaction
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


def test_a_per_change_run_inside_a_callers_transaction_leaves_its_commit_alone():
    project, _firm = _single_applicant_round()
    with transaction.atomic():
        seen = _commit_settings_seen(
            lambda: services.monitor_run(scope=services.scope_for_project(project.pk), codes=["CO01"])
        )
    assert seen == []


def test_a_full_scan_commits_as_usual():
    _single_applicant_round()
    assert _commit_settings_seen(lambda: services.monitor_run(codes=["CO01"])) == []


def test_operators_change_thresholds_as_a_new_version(personas):
    services.rule_settings_update(actor=personas.operator, code="CO01", weight=8, thresholds={"max_valid": 2})
    setting = RuleSetting.objects.get(code="CO01")
    assert setting.version == 2 and setting.weight == 8 and setting.thresholds == {"max_valid": 2}
    assert RuleSettingVersion.objects.filter(setting=setting).count() == 2


@pytest.mark.parametrize(
    ("weight", "thresholds", "field"),
    [
        ("heavy", {}, "weight"),
        (500, {}, "weight"),
        (5, {"max_valid": "two"}, "max_valid"),
        (5, {"max_valid": 99}, "max_valid"),
        (5, {"max_valid": 1.5}, "max_valid"),
        (5, {"unknown": 1}, "thresholds"),
    ],
)
def test_bad_thresholds_are_refused_and_nothing_changes(personas, weight, thresholds, field):
    with pytest.raises(DomainError) as exc:
        services.rule_settings_update(
            actor=personas.operator, code="CO01", weight=weight, thresholds=thresholds
        )
    assert exc.value.field == field
    assert not RuleSetting.objects.filter(code="CO01", version__gt=1).exists()


def test_only_operators_change_rule_settings(personas):
    for user in (personas.regulator, personas.owner, personas.intermediary):
        with pytest.raises(NotAllowed):
            services.rule_settings_update(actor=user, code="CO01", weight=1, thresholds={})


def test_a_regulator_dismisses_a_flag_only_with_a_reason(personas):
    _single_applicant_round()
    services.monitor_run(codes=["CO01"])
    flag = Flag.objects.get()
    with pytest.raises(DomainError):
        services.flag_decide(actor=personas.regulator, flag=flag, confirm=False, reason=" ")
    flag.refresh_from_db()
    assert flag.status == Flag.Status.OPEN
    services.flag_decide(
        actor=personas.regulator, flag=flag, confirm=False, reason="业主为私营企业，仅一家报名属实"
    )
    flag.refresh_from_db()
    assert flag.status == Flag.Status.DISMISSED and flag.decision_reason


def test_a_dismissed_flag_stays_dismissed_on_rerun(personas):
    _single_applicant_round()
    services.monitor_run(codes=["CO01"])
    flag = Flag.objects.get()
    services.flag_decide(actor=personas.regulator, flag=flag, confirm=False, reason="已核实")
    services.monitor_run(codes=["CO01"])
    flag.refresh_from_db()
    assert flag.status == Flag.Status.DISMISSED


def test_only_regulators_decide_flags(personas):
    _single_applicant_round()
    services.monitor_run(codes=["CO01"])
    flag = Flag.objects.get()
    for user in (personas.operator, personas.owner, personas.intermediary):
        with pytest.raises(NotAllowed):
            services.flag_decide(actor=user, flag=flag, confirm=True, reason="x")


# --- which rules a change runs ------------------------------------------------------------------


def _codes(predicate):
    return {rule.code for rule in all_rules() if predicate(rule)}


def test_a_selection_runs_only_the_rules_that_read_awards_of_its_method():
    project, _firm = _single_applicant_round()  # a lowest-price round
    run = services.monitor_run(scope=services.scope_for_project(project.pk, "selected"))
    expected = _codes(
        lambda r: (
            r.scopes
            and (r.phases is None or AWARD in r.phases)
            and (r.methods is None or project.method in r.methods)
        )
    )
    assert set(run.summary) == expected
    assert {"RP01", "CO05", "FE08", "FA03"} <= expected
    assert not {"FA04", "PR01", "FE07", "CO08", "FA01", "FA02", "FE10", "FA09"} & expected


def test_a_posting_runs_only_the_rules_that_read_a_projects_terms():
    project = published_project()
    run = services.monitor_run(scope=services.scope_for_project(project.pk, "published"))
    assert set(run.summary) == {"FA04", "PR01"}


def test_a_change_to_a_firms_records_runs_only_the_rules_that_read_them():
    _project, firm = _single_applicant_round()
    run = services.monitor_run(scope=services.scope_for_intermediary(firm.pk, records=True))
    assert set(run.summary) == _codes(lambda r: r.firm_records)
    assert set(run.summary) >= {"RP01", "RP05", "CO03", "FE02", "FE03", "FA06"}


def test_a_change_of_unknown_kind_runs_every_rule_the_scope_concerns():
    project, _firm = _single_applicant_round()
    run = services.monitor_run(scope=services.scope_for_project(project.pk))
    assert set(run.summary) == _codes(lambda r: r.scopes)


def test_a_transition_rescans_the_project_for_its_new_phase(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.MONITOR_ON_CHANGE = True
    seen = []

    def scope_for_project(pk, status=None):
        seen.append((pk, status))
        return Scope(project_ids=[])

    monkeypatch.setattr(services, "scope_for_project", scope_for_project)
    with django_capture_on_commit_callbacks(execute=True):
        project, _firm = _single_applicant_round()
    assert (project.pk, "published") in seen and (project.pk, "selected") in seen
    assert all(status is not None for _pk, status in seen)


def test_a_selection_finds_the_single_applicant_flag_in_the_per_change_run():
    project, _firm = _single_applicant_round()
    services.monitor_run(scope=services.scope_for_project(project.pk, "selected"))
    assert Flag.objects.get(rule="CO01").project == project


def test_a_payment_runs_only_the_rules_that_read_payments():
    project, _firm = _single_applicant_round()
    run = services.monitor_run(scope=services.scope_for_project(project.pk, "payment"))
    assert set(run.summary) == {"FE05", "FE06", "FE09"}
