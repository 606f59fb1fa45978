"""Closing registration, the failure rules, running and picking, scores and objections."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from marketplace.core.errors import DomainError, NotAllowed
from marketplace.core.models import AuditEvent
from marketplace.procurement import services
from marketplace.procurement.models import Application, EvaluatorScore, Objection, Project, Selection, Status
from marketplace.procurement.verify import verify_selection

from .factories import firm_user, pass_deadline, published_project

pytestmark = pytest.mark.django_db

V = Application.State


def method_overrides(method: str) -> dict:
    if method == "random_draw":
        return {"price_floor": Decimal("80000"), "price_ceiling": Decimal("80000")}
    if method == "direct":
        return {"price_floor": Decimal("10000"), "price_ceiling": Decimal("40000"), "method_reason": "金额小"}
    if method == "scored_comparison":
        return {"price_weight": 40}
    return {}


def applied(method="lowest_price", quotes=("70000", "80000", "90000"), credits=None, **overrides):
    project = published_project(method=method, **{**method_overrides(method), **overrides})
    firms = []
    for i, quote in enumerate(quotes):
        firm, user = firm_user(
            project.service_type, **({"credit_score": Decimal(credits[i])} if credits else {})
        )
        services.application_submit(actor=user, project=project, quote=quote)
        firms.append((firm, user))
    return project, firms


def closed(*args, **kwargs):
    project, firms = applied(*args, **kwargs)
    project = pass_deadline(project)
    services.registration_close(project=project)
    project.refresh_from_db()
    return project, firms


def selected(*args, **kwargs):
    project, firms = closed(*args, **kwargs)
    services.selection_run(project=project)
    project.refresh_from_db()
    return project, firms


def app_of(project, firm) -> Application:
    return Application.objects.get(project=project, intermediary=firm)


def current(project) -> Selection:
    return project.selections.filter(annulled=False).order_by("-round").first()


# ------------------------------------------------------------------------------ failure rules


@pytest.mark.parametrize("method", ["random_draw", "lowest_price", "reference_price"])
def test_fiscal_draw_or_price_competition_with_two_valid_fails(method):
    quotes = ["80000", "80000"] if method == "random_draw" else ["70000", "80000"]
    project, _firms = closed(method, quotes=quotes, funding_source="fiscal")
    assert project.status == Status.FAILED
    assert project.failure_reason == "有效报名 2 家，少于 3 家。"
    assert not project.selections.exists()
    assert AuditEvent.objects.filter(action="project.fail", object_id=str(project.pk)).count() == 1


@pytest.mark.parametrize("method", ["credit_preference", "scored_comparison"])
def test_fiscal_credit_or_scored_with_one_valid_fails(method):
    project, _firms = closed(method, quotes=["80000"], funding_source="fiscal")
    assert project.status == Status.FAILED
    assert project.failure_reason == "有效报名 1 家，少于 2 家。"


@pytest.mark.parametrize("method", ["credit_preference", "scored_comparison"])
def test_fiscal_credit_or_scored_with_two_valid_proceeds(method):
    project, _firms = closed(method, quotes=["70000", "80000"], funding_source="fiscal")
    assert project.status == Status.REGISTRATION_CLOSED


def test_fiscal_lowest_price_with_three_valid_proceeds():
    project, _firms = closed("lowest_price", funding_source="fiscal")
    assert project.status == Status.REGISTRATION_CLOSED


@pytest.mark.parametrize("method", ["random_draw", "lowest_price", "reference_price", "credit_preference"])
def test_private_project_with_one_valid_proceeds(method):
    project, firms = closed(method, quotes=["80000"], funding_source="private")
    assert project.status == Status.REGISTRATION_CLOSED
    selection = services.selection_run(project=project)
    project.refresh_from_db()
    if method == "credit_preference":
        assert project.status == Status.SELECTING and selection.details["short_list"] == [firms[0][0].uscc]
    else:
        assert project.status == Status.SELECTED and selection.winner.intermediary == firms[0][0]


def test_private_project_with_no_valid_fails():
    project, _firms = closed("lowest_price", quotes=[], funding_source="private")
    assert project.status == Status.FAILED and project.failure_reason == "有效报名 0 家，少于 1 家。"


def test_withdrawn_applications_do_not_count():
    project, firms = applied("lowest_price")
    services.application_withdraw(actor=firms[0][1], application=app_of(project, firms[0][0]))
    project = pass_deadline(project)
    services.registration_close(project=project)
    project.refresh_from_db()
    assert project.status == Status.FAILED


def test_selection_run_on_an_unclosed_project_with_too_few_applicants_leaves_it_failed():
    project, _firms = applied("lowest_price", quotes=["70000", "80000"])
    project = pass_deadline(project)
    try:
        services.selection_run(project=project)
    except DomainError:
        pass
    project.refresh_from_db()
    assert project.status == Status.FAILED


# ------------------------------------------------------------------------- registration_close


def test_registration_close_unseals_and_records_credit():
    project, firms = applied("lowest_price", credits=["88.5", "70", "91"])
    project = pass_deadline(project)
    services.registration_close(project=project)
    rows = {a.intermediary_id: a for a in project.applications.all()}
    assert [rows[f.pk].quote_amount for f, _u in firms] == [
        Decimal("70000"),
        Decimal("80000"),
        Decimal("90000"),
    ]
    assert [rows[f.pk].credit_score_at_close for f, _u in firms] == [
        Decimal("88.5"),
        Decimal("70"),
        Decimal("91"),
    ]
    assert all(a.state == V.VALID for a in rows.values())


def test_registration_close_before_the_deadline_is_refused():
    project, _firms = applied()
    with pytest.raises(DomainError, match="报名尚未截止。"):
        services.registration_close(project=project)
    project.refresh_from_db()
    assert project.status == Status.PUBLISHED


def test_registration_close_is_idempotent():
    project, _firms = closed()
    events = AuditEvent.objects.count()
    services.registration_close(project=project)
    assert AuditEvent.objects.count() == events


def test_registration_close_disqualifies_a_firm_blacklisted_after_applying():
    project, firms = applied("lowest_price", quotes=["70000", "80000", "90000", "85000"])
    blacklisted = firms[0][0]
    blacklisted.blacklisted_until = timezone.localdate() + timedelta(days=365)
    blacklisted.save()
    project = pass_deadline(project)
    services.registration_close(project=project)
    application = app_of(project, blacklisted)
    assert application.state == V.DISQUALIFIED
    assert "黑名单" in application.disqualification_reason
    services.selection_run(project=project)
    assert current(project).winner.intermediary == firms[1][0]  # 80000: the blacklisted 70000 is out
    assert blacklisted.uscc not in [c["key"] for c in current(project).candidates]


# ------------------------------------------------------------------------------ selection_run


def test_selection_run_before_the_selection_time_is_refused():
    project, _firms = applied()
    pass_deadline(project, selection_too=False)
    services.registration_close(project=project)
    events = AuditEvent.objects.count()
    with pytest.raises(DomainError, match="未到选取时间。"):
        services.selection_run(project=project)
    project.refresh_from_db()
    assert project.status == Status.REGISTRATION_CLOSED and project.secret_revealed_at is None
    assert not project.selections.exists() and AuditEvent.objects.count() == events


def test_selection_run_records_inputs_and_reveals_the_secret():
    project, firms = selected("lowest_price")
    selection = project.selections.get()
    assert selection.round == 1 and selection.secret == project.secret and project.secret_revealed_at
    assert selection.winner.intermediary == firms[0][0]
    assert [c["key"] for c in selection.candidates] == sorted(f.uscc for f, _u in firms)
    assert project.status == Status.SELECTED and project.publicity_ends_on > timezone.localdate()
    assert verify_selection(selection).ok


def test_a_second_selection_run_is_refused_and_nothing_changes():
    project, _firms = selected("random_draw", quotes=["80000"] * 3)
    selection = project.selections.get()
    events = AuditEvent.objects.count()
    with pytest.raises(DomainError, match="不能重新抽取") as excinfo:
        services.selection_run(project=project)
    assert excinfo.value.code == "already_drawn"
    project.refresh_from_db()
    assert project.status == Status.SELECTED
    assert list(project.selections.values_list("pk", "winner")) == [(selection.pk, selection.winner_id)]
    assert AuditEvent.objects.count() == events


def test_a_second_run_while_the_owner_picks_is_refused():
    project, _firms = selected("credit_preference", quotes=["80000"] * 4, credits=["90", "80", "70", "60"])
    assert project.status == Status.SELECTING
    with pytest.raises(DomainError, match="不能重新抽取"):
        services.selection_run(project=project)
    assert project.selections.count() == 1


def test_scored_comparison_refuses_to_run_with_missing_scores():
    project, firms = closed("scored_comparison", quotes=["70000", "80000", "90000"])
    owner = project.created_by
    services.scores_record(
        actor=owner,
        project=project,
        scores=[
            (app_of(project, firms[0][0]), "王评审", "80"),
            (app_of(project, firms[1][0]), "王评审", "85"),
        ],
    )
    with pytest.raises(DomainError, match="还有 1 家有效报名未录入方案评分。"):
        services.selection_run(project=project)
    assert not project.selections.exists()
    services.scores_record(
        actor=owner, project=project, scores=[(app_of(project, firms[2][0]), "王评审", "99")]
    )
    selection = services.selection_run(project=project)
    # 40 x price + 60 x proposal: A 40 + 48 = 88.00; B 35.00 + 51 = 86.00; C 31.11 + 59.40 = 90.51
    assert selection.winner.intermediary == firms[2][0]


@pytest.mark.parametrize("score", ["-0.01", "100.01", "abc", "-5"])
def test_scores_out_of_0_to_100_are_refused(score):
    project, firms = closed("scored_comparison", quotes=["70000", "80000"])
    with pytest.raises(DomainError, match="评分须为0至100之间的数字。"):
        services.scores_record(
            actor=project.created_by,
            project=project,
            scores=[(app_of(project, firms[0][0]), "李评审", score)],
        )
    assert not EvaluatorScore.objects.exists()


@pytest.mark.parametrize("score", ["0", "100"])
def test_scores_at_0_and_100_are_accepted(score):
    project, firms = closed("scored_comparison", quotes=["70000", "80000"])
    services.scores_record(
        actor=project.created_by, project=project, scores=[(app_of(project, firms[0][0]), "李评审", score)]
    )
    assert EvaluatorScore.objects.get().score == Decimal(score)


def test_scores_need_a_named_evaluator_and_the_owner():
    project, firms = closed("scored_comparison", quotes=["70000", "80000"])
    application = app_of(project, firms[0][0])
    with pytest.raises(DomainError, match="请填写评审人姓名。"):
        services.scores_record(actor=project.created_by, project=project, scores=[(application, " ", "80")])
    with pytest.raises(NotAllowed):
        services.scores_record(actor=firms[0][1], project=project, scores=[(application, "自评", "100")])
    assert not EvaluatorScore.objects.exists()


def test_proposal_score_mean_rounds_half_up():
    project, firms = closed("scored_comparison", quotes=["70000", "80000"])
    a, b = app_of(project, firms[0][0]), app_of(project, firms[1][0])
    services.scores_record(
        actor=project.created_by,
        project=project,
        scores=[(a, "甲", "80.00"), (a, "乙", "80.01"), (b, "甲", "70"), (b, "乙", "70")],
    )
    selection = services.selection_run(project=project)
    recorded = {c["key"]: c["proposal_score"] for c in selection.candidates}
    assert recorded[firms[0][0].uscc] == "80.01"


# ------------------------------------------------------------------------------ selection_pick


def test_direct_selection_owner_picks_with_a_reason():
    project, firms = applied("direct", quotes=["30000", "20000"])
    project = pass_deadline(project)
    services.registration_close(project=project)
    chosen = app_of(project, firms[0][0])
    selection = services.selection_pick(
        actor=project.created_by, project=project, application=chosen, reason="曾承担同类项目"
    )
    project.refresh_from_db()
    assert project.status == Status.SELECTED
    assert selection.winner == chosen and selection.reason == "曾承担同类项目"
    assert selection.details["shortlist"] == sorted(f.uscc for f, _u in firms)


def test_selection_pick_requires_a_reason():
    project, firms = selected("credit_preference", quotes=["80000"] * 3, credits=["90", "80", "70"])
    shortlisted = current(project).details["short_list"][0]
    application = project.applications.get(intermediary__uscc=shortlisted)
    with pytest.raises(DomainError, match="请书面说明选定理由。"):
        services.selection_pick(
            actor=project.created_by, project=project, application=application, reason="  "
        )
    project.refresh_from_db()
    assert project.status == Status.SELECTING and current(project).winner is None


def test_selection_pick_refuses_a_firm_outside_the_short_list():
    project, firms = selected(
        "credit_preference", quotes=["80000"] * 5, credits=["90", "85", "80", "75", "70"]
    )
    short = current(project).details["short_list"]
    assert len(short) == 3
    outside = next(f for f, _u in firms if f.uscc not in short)
    with pytest.raises(DomainError, match="只能从候选名单中选定。"):
        services.selection_pick(
            actor=project.created_by, project=project, application=app_of(project, outside), reason="关系好"
        )
    inside = project.applications.get(intermediary__uscc=short[1])
    selection = services.selection_pick(
        actor=project.created_by, project=project, application=inside, reason="方案最优"
    )
    assert selection.winner == inside
    assert verify_selection(selection).ok


def test_selection_pick_refuses_an_application_of_another_project():
    project, _firms = selected("credit_preference", quotes=["80000"] * 2, credits=["90", "85"])
    other, other_firms = closed("lowest_price")
    with pytest.raises(DomainError, match="只能从候选名单中选定。"):
        services.selection_pick(
            actor=project.created_by,
            project=project,
            application=app_of(other, other_firms[0][0]),
            reason="x",
        )


def test_selection_pick_by_someone_other_than_the_owner_is_refused():
    project, firms = selected("credit_preference", quotes=["80000"] * 2, credits=["90", "85"])
    with pytest.raises(NotAllowed):
        services.selection_pick(
            actor=firms[0][1], project=project, application=app_of(project, firms[0][0]), reason="我"
        )


def test_selection_pick_refuses_direct_selection_at_or_above_the_threshold(settings):
    project, firms = applied("direct", quotes=["30000", "29999.99"])
    # The threshold is lowered after posting: the quote is now at it.
    settings.DIRECT_SELECTION_THRESHOLDS = {"fiscal": 30000, "private": 200000}
    project = pass_deadline(project)
    services.registration_close(project=project)
    owner = project.created_by
    with pytest.raises(DomainError, match="报价超过直接选取限额") as excinfo:
        services.selection_pick(
            actor=owner, project=project, application=app_of(project, firms[0][0]), reason="快"
        )
    assert excinfo.value.code == "direct_threshold"
    project.refresh_from_db()
    assert project.status == Status.REGISTRATION_CLOSED and not project.selections.exists()
    selection = services.selection_pick(
        actor=owner, project=project, application=app_of(project, firms[1][0]), reason="快"
    )
    assert selection.winner.quote_amount == Decimal("29999.99")


def test_selection_pick_for_a_method_the_owner_does_not_pick_is_refused():
    project, firms = selected("lowest_price")
    with pytest.raises(DomainError, match="该选取方式不由业主选定。"):
        services.selection_pick(
            actor=project.created_by,
            project=project,
            application=app_of(project, firms[1][0]),
            reason="更喜欢",
        )


# ---------------------------------------------------------------------------------- objections


def test_only_applicants_may_object():
    project, _firms = selected("lowest_price")
    _stranger, stranger_user = firm_user(project.service_type)
    for actor in (stranger_user, project.created_by):
        with pytest.raises(NotAllowed):
            services.objection_file(actor=actor, project=project, text="不公平")
    assert not Objection.objects.exists()


def test_objections_only_during_publicity():
    project, firms = closed("lowest_price")
    with pytest.raises(DomainError, match="只能在结果公示期内提出异议。"):
        services.objection_file(actor=firms[1][1], project=project, text="太早")
    services.selection_run(project=project)
    Project.objects.filter(pk=project.pk).update(publicity_ends_on=timezone.localdate() - timedelta(days=1))
    with pytest.raises(DomainError, match="只能在结果公示期内提出异议。"):
        services.objection_file(actor=firms[1][1], project=project, text="太晚")
    assert not Objection.objects.exists()


def test_objection_needs_text_and_holds_the_project():
    project, firms = selected("lowest_price")
    with pytest.raises(DomainError, match="请填写异议内容和理由。"):
        services.objection_file(actor=firms[1][1], project=project, text=" ")
    objection = services.objection_file(actor=firms[1][1], project=project, text="中选机构资质造假")
    project.refresh_from_db()
    assert project.status == Status.OBJECTION_PENDING
    assert objection.application == app_of(project, firms[1][0])


def test_upheld_objection_annuls_and_reruns_among_the_rest():
    project, firms = selected("lowest_price", quotes=["70000", "80000", "90000", "75000"])
    first = current(project)
    assert first.winner.intermediary == firms[0][0]
    objection = services.objection_file(actor=firms[1][1], project=project, text="中选机构业绩造假")
    services.objection_answer(actor=project.created_by, objection=objection, upheld=True, answer="经核实成立")
    project.refresh_from_db()
    first.refresh_from_db()
    loser = app_of(project, firms[0][0])
    assert first.annulled and loser.state == V.DISQUALIFIED and "异议成立" in loser.disqualification_reason
    second = current(project)
    assert second.round == 2 and second.winner.intermediary == firms[3][0]  # 75000
    assert firms[0][0].uscc not in [c["key"] for c in second.candidates]
    assert project.status == Status.SELECTED
    assert verify_selection(first).ok and verify_selection(second).ok
    objection.refresh_from_db()
    assert objection.outcome == Objection.Outcome.UPHELD


def test_upheld_objection_fails_the_round_when_too_few_remain():
    project, firms = selected("lowest_price")
    objection = services.objection_file(actor=firms[2][1], project=project, text="串标")
    services.objection_answer(actor=project.created_by, objection=objection, upheld=True, answer="成立")
    project.refresh_from_db()
    assert project.status == Status.FAILED
    assert project.failure_reason == "有效报名 2 家，少于 3 家。"
    assert project.selections.get().annulled


def test_upheld_objection_in_credit_preference_draws_a_new_short_list():
    project, firms = selected("credit_preference", quotes=["80000"] * 4, credits=["90", "85", "80", "75"])
    short = current(project).details["short_list"]
    picked = project.applications.get(intermediary__uscc=short[0])
    services.selection_pick(actor=project.created_by, project=project, application=picked, reason="信用最好")
    complainant = next(u for f, u in firms if f.uscc != short[0])
    objection = services.objection_file(actor=complainant, project=project, text="中选机构失信")
    services.objection_answer(actor=project.created_by, objection=objection, upheld=True, answer="成立")
    project.refresh_from_db()
    assert project.status == Status.SELECTING
    second = current(project)
    assert second.round == 2 and short[0] not in second.details["short_list"]


def test_upheld_objection_rejects_other_pending_objections():
    project, firms = selected("lowest_price", quotes=["70000", "80000", "90000", "75000"])
    first = services.objection_file(actor=firms[1][1], project=project, text="异议一")
    other = services.objection_file(actor=firms[2][1], project=project, text="异议二")
    services.objection_answer(actor=project.created_by, objection=first, upheld=True, answer="成立")
    other.refresh_from_db()
    assert other.outcome == Objection.Outcome.REJECTED and other.answer


def test_rejected_objection_returns_to_selected():
    project, firms = selected("lowest_price")
    winner = current(project).winner
    objection = services.objection_file(actor=firms[1][1], project=project, text="报价异常")
    with pytest.raises(DomainError, match="请填写答复内容。"):
        services.objection_answer(actor=project.created_by, objection=objection, upheld=False, answer="")
    services.objection_answer(actor=project.created_by, objection=objection, upheld=False, answer="报价合理")
    project.refresh_from_db()
    assert project.status == Status.SELECTED and current(project).winner == winner
    assert project.selections.count() == 1
    with pytest.raises(DomainError, match="该异议已答复。"):
        services.objection_answer(actor=project.created_by, objection=objection, upheld=True, answer="改判")


def test_only_the_owner_answers_objections():
    project, firms = selected("lowest_price")
    objection = services.objection_file(actor=firms[1][1], project=project, text="报价异常")
    with pytest.raises(NotAllowed):
        services.objection_answer(actor=firms[0][1], objection=objection, upheld=False, answer="不成立")
    objection.refresh_from_db()
    assert objection.outcome == Objection.Outcome.PENDING
