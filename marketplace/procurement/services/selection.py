"""Closing registration, selecting, the result publicity and objections."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import Role, User
from marketplace.core.audit import audit_record
from marketplace.core.errors import DomainError, NotAllowed
from marketplace.core.workdays import add_working_days

from .. import sealing
from ..methods import Candidate, method_for
from ..models import Application, EvaluatorScore, Method, Objection, Project, Selection, Status
from ..states import transition
from .applications import eligibility_many
from .common import lock_project, notify, notify_many, notify_regulators, require_owner

V = Application.State


def _fail(project: Project, reason: str, *, actor) -> Project:
    project.failure_reason = reason
    project.save(update_fields=["failure_reason"])
    transition(project, Status.FAILED, actor=actor, action="project.fail", note=reason)
    notify(project.owner_id, _("项目流标：%(p)s（%(r)s）") % {"p": project, "r": reason}, project)
    return project


def _valid(project: Project):
    return (
        project.applications.filter(state=V.VALID)
        .select_related("intermediary")
        .order_by("intermediary__uscc")
    )


def _check_enough(project: Project, *, actor) -> bool:
    method = method_for(project.method)
    count = project.applications.filter(state=V.VALID).count()
    needed = method.min_valid(project.funding_source)
    if count < needed:
        _fail(
            project,
            _("有效报名 %(n)s 家，少于 %(m)s 家。") % {"n": count, "m": needed},
            actor=actor,
        )
        return False
    return True


@transaction.atomic
def registration_close(*, project: Project, actor=None) -> Project:
    """At the deadline: unseal every quote, re-check eligibility on the deadline, fail the
    round if too few are valid. Idempotent: a closed project is returned as it is."""
    project = lock_project(project)
    if project.status != Status.PUBLISHED:
        return project
    if timezone.now() < project.registration_deadline:
        raise DomainError(_("报名尚未截止。"), code="too_early")
    applications = list(
        project.applications.select_for_update(of=("self",))
        .select_related("intermediary")
        .filter(state=V.SUBMITTED)
    )
    eligibility = eligibility_many(project, [app.intermediary for app in applications])
    for app in applications:
        app.quote_amount = sealing.unseal(project, app.intermediary_id, app.sealed_quote)
        app.credit_score_at_close = app.intermediary.credit_score
        reasons = eligibility[app.intermediary_id]
        if reasons:
            app.state = V.DISQUALIFIED
            app.disqualification_reason = " ".join(str(r) for r in reasons)
        else:
            app.state = V.VALID
    Application.objects.bulk_update(
        applications,
        ["quote_amount", "credit_score_at_close", "state", "disqualification_reason"],
        batch_size=500,
    )
    audit_record(
        actor=actor,
        action="project.unseal",
        obj=project,
        after={
            "quotes": {a.intermediary.uscc: str(a.quote_amount) for a in applications},
            "disqualified": {
                a.intermediary.uscc: a.disqualification_reason
                for a in applications
                if a.state == V.DISQUALIFIED
            },
        },
    )
    transition(project, Status.REGISTRATION_CLOSED, actor=actor, action="project.close_registration")
    if _check_enough(project, actor=actor):
        notify(project.owner_id, _("报名已截止：%(p)s") % {"p": project}, project)
    return project


def _candidates(project: Project) -> tuple[list[Candidate], dict[str, Application]]:
    apps = list(_valid(project).prefetch_related("scores"))
    by_key = {a.intermediary.uscc: a for a in apps}
    candidates = []
    for a in apps:
        scores = [s.score for s in a.scores.all()]
        proposal = (
            (sum(scores) / len(scores)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if scores else None
        )
        candidates.append(
            Candidate(
                key=a.intermediary.uscc,
                quote=a.quote_amount,
                credit=a.credit_score_at_close,
                proposal_score=proposal,
            )
        )
    return candidates, by_key


def _next_round(project: Project) -> int:
    last = project.selections.order_by("-round").first()
    return (last.round + 1) if last else 1


def _publish_result(project: Project, selection: Selection, *, actor) -> None:
    today = timezone.localdate()
    project.result_published_at = timezone.now()
    project.publicity_ends_on = add_working_days(today, settings.RESULT_PUBLICITY_WORKING_DAYS)
    project.save(update_fields=["result_published_at", "publicity_ends_on"])
    transition(project, Status.SELECTED, actor=actor, action="project.select")
    winner = selection.winner
    published = _("选取结果已公示：%(p)s") % {"p": project}
    messages = {project.owner_id: published}
    for app_pk, org_id in project.applications.filter(state=V.VALID).values_list(
        "pk", "intermediary__organisation_id"
    ):
        messages[org_id] = _("恭喜中选：%(p)s") % {"p": project} if app_pk == winner.pk else published
    notify_many(messages, project)


@transaction.atomic
def selection_run(*, project: Project, actor=None) -> Selection | None:
    """Run the project's method at the selection time. Random steps use the revealed secret.
    A second attempt for the same round is refused: a draw can never be rerun."""
    project = lock_project(project)
    if project.status == Status.PUBLISHED and timezone.now() >= project.registration_deadline:
        project = registration_close(project=project, actor=actor)
        if project.status == Status.FAILED:
            return None  # too few valid applicants: the round failed (流标), and stays failed
    if project.status not in (Status.REGISTRATION_CLOSED,):
        if project.selections.filter(annulled=False).exists():
            raise DomainError(_("该项目已完成选取，不能重新抽取。"), code="already_drawn")
        raise DomainError(
            _("项目当前状态为“%(s)s”，不能进行选取。") % {"s": Status(project.status).label},
            code="transition",
        )
    if timezone.now() < project.selection_time:
        raise DomainError(_("未到选取时间。"), code="too_early")
    method = method_for(project.method)
    if project.method == Method.SCORED_COMPARISON:
        missing = project.applications.filter(state=V.VALID, scores__isnull=True).count()
        if missing:
            raise DomainError(
                _("还有 %(n)s 家有效报名未录入方案评分。") % {"n": missing}, code="scores_missing"
            )
    candidates, by_key = _candidates(project)
    outcome = method.select(
        candidates,
        secret=project.secret,
        project=project.public_number,
        params={
            "long_list": settings.CREDIT_LONG_LIST,
            "short_list": settings.CREDIT_SHORT_LIST,
            "price_weight": project.price_weight,
        },
    )
    try:
        with transaction.atomic():
            selection = Selection.objects.create(
                project=project,
                round=_next_round(project),
                method=project.method,
                performed_at=timezone.now(),
                performed_by=actor if getattr(actor, "is_authenticated", False) else None,
                secret=project.secret,
                candidates=[
                    {
                        "key": c.key,
                        "quote": str(c.quote),
                        "credit": str(c.credit) if c.credit is not None else None,
                        "proposal_score": str(c.proposal_score) if c.proposal_score is not None else None,
                    }
                    for c in candidates
                ],
                details={**outcome.details, "shortlist": outcome.shortlist},
                winner=by_key[outcome.winner] if outcome.winner else None,
            )
    except IntegrityError as exc:
        raise DomainError(_("该项目已完成选取，不能重新抽取。"), code="already_drawn") from exc
    if not project.secret_revealed_at:
        project.secret_revealed_at = timezone.now()
        project.save(update_fields=["secret_revealed_at"])
    audit_record(
        actor=actor,
        action="selection.run",
        obj=selection,
        after={
            "round": selection.round,
            "secret": project.secret,
            "winner": outcome.winner,
            "details": selection.details,
        },
    )
    if outcome.needs_owner_pick:
        transition(project, Status.SELECTING, actor=actor, action="project.await_pick")
        notify(project.owner_id, _("请从候选名单中选定中介机构：%(p)s") % {"p": project}, project)
    else:
        _publish_result(project, selection, actor=actor)
    return selection


@transaction.atomic
def selection_pick(*, actor: User, project: Project, application: Application, reason: str) -> Selection:
    """The owner's final choice for direct selection (from the valid applicants) or credit
    preference (from the drawn short list), always with a written reason."""
    require_owner(actor, project)
    project = lock_project(project)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("请书面说明选定理由。"), field="reason")
    if project.method not in (Method.DIRECT, Method.CREDIT_PREFERENCE):
        raise DomainError(_("该选取方式不由业主选定。"), code="transition")
    if project.status == Status.REGISTRATION_CLOSED and project.method == Method.DIRECT:
        selection_run(project=project, actor=actor)
        project.refresh_from_db()
    if project.status != Status.SELECTING:
        raise DomainError(
            _("项目当前状态为“%(s)s”，不能选定。") % {"s": Status(project.status).label}, code="transition"
        )
    selection = project.selections.select_for_update().filter(annulled=False).order_by("-round").first()
    if selection is None or selection.winner_id:
        raise DomainError(_("该项目已完成选取，不能重新选定。"), code="already_drawn")
    application = Application.objects.select_related("intermediary").get(pk=application.pk)
    allowed = set(selection.details.get("shortlist") or [])
    if (
        application.project_id != project.pk
        or application.state != V.VALID
        or application.intermediary.uscc not in allowed
    ):
        raise DomainError(_("只能从候选名单中选定。"), field="application")
    if project.method == Method.DIRECT:
        threshold = Decimal(settings.DIRECT_SELECTION_THRESHOLDS[project.funding_source])
        if application.quote_amount >= threshold:
            raise DomainError(_("报价超过直接选取限额，不能直接选取。"), code="direct_threshold")
    selection.winner = application
    selection.reason = reason
    selection.performed_by = actor
    selection.save(update_fields=["winner", "reason", "performed_by"])
    audit_record(
        actor=actor,
        action="selection.pick",
        obj=selection,
        after={"winner": application.intermediary.uscc, "reason": reason},
    )
    _publish_result(project, selection, actor=actor)
    return selection


@transaction.atomic
def selection_start(*, actor: User, project: Project) -> Selection | None:
    """The owner starts a selection that is due (e.g. a scored comparison once every score is
    in) instead of waiting for the scheduler."""
    require_owner(actor, project)
    return selection_run(project=project, actor=actor)


@transaction.atomic
def scores_record(
    *, actor: User, project: Project, scores: list[tuple[Application, str, Decimal | str]]
) -> int:
    """Named evaluators' proposal scores (0-100) for a scored comparison, before it runs."""
    require_owner(actor, project)
    project = lock_project(project)
    if project.method != Method.SCORED_COMPARISON:
        raise DomainError(_("只有比选项目需要录入方案评分。"), code="transition")
    if project.status != Status.REGISTRATION_CLOSED:
        raise DomainError(_("报名截止后、比选前才能录入评分。"), code="transition")
    rows = []
    for application, evaluator, score in scores:
        evaluator = (evaluator or "").strip()
        if not evaluator:
            raise DomainError(_("请填写评审人姓名。"), field="evaluator")
        try:
            value = Decimal(str(score)).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError) as exc:
            raise DomainError(_("评分须为0至100之间的数字。"), field="score") from exc
        if not 0 <= value <= 100:
            raise DomainError(_("评分须为0至100之间的数字。"), field="score")
        if application.project_id != project.pk or application.state != V.VALID:
            raise DomainError(_("只能为本项目的有效报名评分。"), field="application")
        rows.append((application, evaluator, value))
    for application, evaluator, value in rows:
        EvaluatorScore.objects.update_or_create(
            application=application, evaluator=evaluator, defaults={"score": value}
        )
    audit_record(
        actor=actor,
        action="selection.scores",
        obj=project,
        after={"scores": [{"application": a.pk, "evaluator": e, "score": str(v)} for a, e, v in rows]},
    )
    return len(rows)


@transaction.atomic
def objection_file(*, actor: User, project: Project, text: str) -> Objection:
    project = lock_project(project)
    application = project.applications.filter(
        intermediary__organisation__memberships__user=actor,
        intermediary__organisation__memberships__role=Role.INTERMEDIARY,
    ).first()
    if application is None:
        raise NotAllowed(_("只有参与报名的机构可以提出异议。"))
    if application.state == V.WITHDRAWN:
        raise DomainError(_("已撤回报名的机构不能提出异议。"), code="withdrawn")
    current = project.selections.filter(annulled=False, winner__isnull=False).order_by("-round").first()
    if current is not None and current.winner_id == application.pk:
        raise DomainError(_("中选机构不能对本项目结果提出异议。"), code="winner")
    if project.status not in (Status.SELECTED, Status.OBJECTION_PENDING) or (
        project.publicity_ends_on and timezone.localdate() > project.publicity_ends_on
    ):
        raise DomainError(_("只能在结果公示期内提出异议。"), code="transition")
    text = (text or "").strip()
    if not text:
        raise DomainError(_("请填写异议内容和理由。"), field="text")
    objection = Objection.objects.create(
        project=project, application=application, filed_by=actor, text=text, filed_at=timezone.now()
    )
    if project.status == Status.SELECTED:
        transition(project, Status.OBJECTION_PENDING, actor=actor, action="project.objection")
    audit_record(actor=actor, action="objection.file", obj=objection, after={"text": text})
    notify(project.owner_id, _("收到异议，请在合同签订前答复：%(p)s") % {"p": project}, project)
    notify_regulators(_("项目收到异议：%(p)s") % {"p": project}, project)
    return objection


@transaction.atomic
def objection_answer(*, actor: User, objection: Objection, upheld: bool, answer: str) -> Objection:
    """The owner answers. Upheld: the winner is disqualified and the selection reruns from the
    recorded inputs among the rest (or the round fails if too few remain)."""
    project = lock_project(objection.project_id)
    require_owner(actor, project)
    objection = Objection.objects.select_for_update().get(pk=objection.pk)
    if objection.outcome != Objection.Outcome.PENDING:
        raise DomainError(_("该异议已答复。"), code="transition")
    answer = (answer or "").strip()
    if not answer:
        raise DomainError(_("请填写答复内容。"), field="answer")
    objection.outcome = Objection.Outcome.UPHELD if upheld else Objection.Outcome.REJECTED
    objection.answer = answer
    objection.answered_at = timezone.now()
    objection.save()
    audit_record(
        actor=actor,
        action="objection.answer",
        obj=objection,
        after={"outcome": objection.outcome, "answer": answer},
    )
    notify(
        objection.application.intermediary.organisation_id, _("异议已答复：%(p)s") % {"p": project}, project
    )
    if upheld:
        selection = project.selections.filter(annulled=False).order_by("-round").first()
        if selection and selection.winner_id:
            winner = selection.winner
            winner.state = V.DISQUALIFIED
            winner.disqualification_reason = _("异议成立：%(a)s") % {"a": answer}
            winner.save(update_fields=["state", "disqualification_reason"])
            selection.annulled = True
            selection.save(update_fields=["annulled"])
            audit_record(actor=actor, action="selection.annul", obj=selection, after={"reason": answer})
        project.objections.filter(outcome=Objection.Outcome.PENDING).update(
            outcome=Objection.Outcome.REJECTED,
            answer=_("因另一异议成立，本轮结果已撤销。"),
            answered_at=timezone.now(),
        )
        transition(project, Status.REGISTRATION_CLOSED, actor=actor, action="project.reopen_selection")
        if _check_enough(project, actor=actor) and not method_for(project.method).owner_picks:
            selection_run(project=project, actor=actor)
        elif project.status == Status.REGISTRATION_CLOSED and project.method == Method.CREDIT_PREFERENCE:
            selection_run(project=project, actor=actor)
    elif not project.objections.filter(outcome=Objection.Outcome.PENDING).exists():
        transition(project, Status.SELECTED, actor=actor, action="project.objections_answered")
    return objection
