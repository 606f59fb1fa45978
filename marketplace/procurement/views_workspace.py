"""The owners' and firms' procurement workspace: thin views that parse, call a service and render.

One page per project (``manage``) serves both parties and shows only the actions the acting
organisation may take in the project's current state; each action is a POST to its own URL that
calls one service and redirects back, or re-renders the page with the error (status 400).
Quotes are read only through ``selectors.project_detail`` / ``quote_visible`` (sealed before close).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from marketplace.accounts.decorators import role_required
from marketplace.accounts.models import Role
from marketplace.core.errors import DomainError, NotAllowed
from marketplace.core.views import call_service
from marketplace.providers.models import Intermediary
from marketplace.providers.selectors import intermediary_for_membership

from . import selectors, services
from . import selectors_workspace as sw
from .forms_workspace import (
    FIRM_CRITERIA,
    OWNER_CRITERIA,
    AmendForm,
    ApplicationForm,
    ConfirmForm,
    ContractForm,
    DeliveryDecisionForm,
    DeliveryForm,
    ObjectionAnswerForm,
    ObjectionForm,
    PickForm,
    ProjectForm,
    RatingForm,
    ReasonForm,
    RelaunchForm,
    ScoresForm,
)
from .models import Application, Contract, Delivery, Method, Objection, Project, Rating, Status

PAGE_SIZE = 20
S = Status

# The same colours as the public pages' status badge.
_WARNING = (S.REGISTRATION_CLOSED, S.SELECTING, S.OBJECTION_PENDING, S.UNDER_CHECK)
_INFO = (S.CONTRACTING, S.IN_SERVICE, S.DELIVERED, S.ACCEPTED, S.RATED)
BADGES = {
    S.PUBLISHED: "text-bg-success",
    **dict.fromkeys(_WARNING, "text-bg-warning"),
    S.SELECTED: "text-bg-primary",
    **dict.fromkeys(_INFO, "text-bg-info"),
    S.CLOSED: "text-bg-dark",
    S.FAILED: "text-bg-danger",
}

# What the owner does next, by state (a hint in the list: the project page has the actions).
OWNER_NEXT = {
    S.DRAFT: gettext_lazy("完善后提交审核"),
    S.UNDER_CHECK: gettext_lazy("等待平台审核"),
    S.RETURNED: gettext_lazy("按审核意见修改后重新提交"),
    S.PUBLISHED: gettext_lazy("报名中，等待报名截止"),
    S.SELECTING: gettext_lazy("从候选名单中选定中介机构"),
    S.SELECTED: gettext_lazy("结果公示中"),
    S.OBJECTION_PENDING: gettext_lazy("答复异议"),
    S.CONTRACTING: gettext_lazy("签订合同（上传或确认）"),
    S.IN_SERVICE: gettext_lazy("服务中，等待成果"),
    S.DELIVERED: gettext_lazy("验收服务成果"),
    S.ACCEPTED: gettext_lazy("评价中介机构"),
    S.RATED: gettext_lazy("等待完结"),
    S.FAILED: gettext_lazy("重新发布或变更选取方式"),
}
CLOSED_NEXT = {
    Method.SCORED_COMPARISON: gettext_lazy("录入评审人方案评分"),
    Method.DIRECT: gettext_lazy("选取时间到后直接选定"),
}

TIMELINE_LABELS = {
    "project.create": gettext_lazy("创建项目"),
    "project.update": gettext_lazy("修改项目"),
    "project.submit": gettext_lazy("提交平台审核"),
    "project.publish": gettext_lazy("审核通过，发布采购公告"),
    "project.return": gettext_lazy("审核退回"),
    "project.commit_secret": gettext_lazy("公布随机数承诺值（SHA-256）"),
    "project.cancel": gettext_lazy("项目取消"),
    "project.relaunch": gettext_lazy("重新发布"),
    "project.unseal": gettext_lazy("报价解密"),
    "project.close_registration": gettext_lazy("报名截止"),
    "project.fail": gettext_lazy("流标"),
    "project.await_pick": gettext_lazy("生成候选名单，待业主选定"),
    "project.select": gettext_lazy("选取结果公示"),
    "project.objection": gettext_lazy("收到异议"),
    "project.reopen_selection": gettext_lazy("异议成立，重新选取"),
    "project.objections_answered": gettext_lazy("异议已答复"),
    "project.contracting": gettext_lazy("进入合同签订"),
    "project.start_service": gettext_lazy("合同生效，开始服务"),
    "project.deliver": gettext_lazy("提交服务成果"),
    "project.accept": gettext_lazy("验收通过"),
    "project.return_delivery": gettext_lazy("成果退回修改"),
    "project.rated": gettext_lazy("双方完成评价"),
    "project.close": gettext_lazy("项目完结"),
    "selection.scores": gettext_lazy("录入方案评分"),
}


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _my_firm(request) -> Intermediary:
    firm = intermediary_for_membership(request.membership)
    if firm is None:
        raise Http404(_("当前机构尚未登记为中介机构。"))
    return firm


def _call_project_service(form: ProjectForm, service, **kwargs):
    """``call_service``, except that errors about the requirement or exclusion rows are shown in
    their fieldset (the form has no single field for them)."""

    def run():
        try:
            return service(**kwargs)
        except DomainError as exc:
            if exc.field in form.group_errors:
                form.group_errors[exc.field].append(exc.message)
                raise DomainError(_("请修改下方标出的内容。")) from exc
            raise

    return call_service(form, run)


# --- owner: my projects, posting and editing --------------------------------------------------


@dataclass
class ProjectRow:
    project: Project
    badge: str
    next_action: str


def _next_action(project: Project) -> str:
    if project.status == S.REGISTRATION_CLOSED:
        return str(CLOSED_NEXT.get(project.method, _("等待选取")))
    return str(OWNER_NEXT.get(project.status, "—"))


@role_required(Role.OWNER)
def my_projects(request):
    page_obj = _page(request, selectors.owner_projects(request.membership.organisation_id))
    rows = [ProjectRow(p, BADGES.get(p.status, "text-bg-secondary"), _next_action(p)) for p in page_obj]
    return render(request, "procurement/workspace/my_projects.html", {"page_obj": page_obj, "rows": rows})


def _project_form_page(request, form, project=None, status=200):
    return render(
        request,
        "procurement/workspace/project_form.html",
        {"form": form, "project": project},
        status=status,
    )


def _after_save(request, project: Project, message: str):
    if "submit" in request.POST:
        try:
            services.project_submit(actor=request.user, project=project)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            message = _("项目已保存并提交平台审核。")
    messages.success(request, message)
    return redirect("procurement:manage", pk=project.pk)


@role_required(Role.OWNER)
def project_create(request):
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = _call_project_service(
            form,
            services.project_create,
            actor=request.user,
            data=form.project_input(),
            owner=request.membership.organisation,
        )
        if project is not None:
            return _after_save(request, project, _("项目已保存为草稿。提交审核后由平台审核发布。"))
    return _project_form_page(request, form, status=400 if request.method == "POST" else 200)


@role_required(Role.OWNER)
def project_edit(request, pk: int):
    project = _owned(request, pk)
    if project.status not in (S.DRAFT, S.RETURNED):
        messages.error(request, _("项目提交审核后不能修改。"))
        return redirect("procurement:manage", pk=project.pk)
    form = ProjectForm(request.POST or None, initial=ProjectForm.initial_for(project))
    if request.method == "POST" and form.is_valid():
        saved = _call_project_service(
            form, services.project_update, actor=request.user, project=project, data=form.project_input()
        )
        if saved is not None:
            return _after_save(request, saved, _("项目已保存。"))
    return _project_form_page(request, form, project, status=400 if request.method == "POST" else 200)


def _owned(request, pk: int) -> Project:
    """The project, if the acting organisation owns it (404 unseen, 403 seen but not ours)."""
    project = selectors.get_project_for(request.user, pk, write=True)
    if request.membership is None or request.membership.organisation_id != project.owner_id:
        raise NotAllowed
    return project


# --- the project page -------------------------------------------------------------------------


def _available(project: Project, party: sw.Party, detail: dict) -> set[str]:
    """The actions the acting organisation may take now (the services check them again)."""
    now = timezone.now()
    status = project.status
    contract = detail["contract"]
    ratings = {r.direction: r for r in detail["ratings"]}
    actions: set[str] = set()
    if party.is_owner:
        if status in (S.DRAFT, S.RETURNED):
            actions |= {"edit", "submit"}
        if status in (S.DRAFT, S.UNDER_CHECK, S.RETURNED) or (
            status == S.PUBLISHED and now < project.registration_deadline
        ):
            actions.add("cancel")
        if status == S.FAILED:
            actions.add("relaunch")
        if (status == S.SELECTING and project.method in (Method.DIRECT, Method.CREDIT_PREFERENCE)) or (
            status == S.REGISTRATION_CLOSED
            and project.method == Method.DIRECT
            and now >= project.selection_time
        ):
            actions.add("pick")
        if status == S.REGISTRATION_CLOSED and project.method == Method.SCORED_COMPARISON:
            actions.add("scores")
            if now >= project.selection_time:
                actions.add("start")
        if status == S.OBJECTION_PENDING:
            actions.add("answer")
        if status == S.DELIVERED:
            actions.add("decide")
        if contract is not None and contract.confirmed_at and status not in (S.CLOSED, S.FAILED):
            actions.add("amend")
    is_contract_party = party.is_owner or party.is_winner
    if is_contract_party and status == S.CONTRACTING:
        if contract is None:
            actions.add("contract")
        elif not contract.confirmed_at:
            uploaded_by_owner = contract.uploaded_by_org_id == project.owner_id
            if uploaded_by_owner != party.is_owner:
                actions.add("contract_confirm")
    if is_contract_party and status in (S.ACCEPTED, S.RATED):
        mine = Rating.Direction.OWNER_RATES_FIRM if party.is_owner else Rating.Direction.FIRM_RATES_OWNER
        if mine not in ratings:
            actions.add("rate")
    if is_contract_party:
        about_me = Rating.Direction.FIRM_RATES_OWNER if party.is_owner else Rating.Direction.OWNER_RATES_FIRM
        if about_me in ratings and not ratings[about_me].disputed_at:
            actions.add("dispute")
    if party.is_winner:
        if status in (S.SELECTED, S.CONTRACTING):
            actions.add("decline")
        if status == S.IN_SERVICE:
            actions.add("deliver")
    if (
        party.is_applicant
        and not party.is_winner
        and party.application.state != Application.State.WITHDRAWN
        and status in (S.SELECTED, S.OBJECTION_PENDING)
        and sw.publicity_open(project)
    ):
        actions.add("object")
    return actions


def _waiting(project: Project, party: sw.Party, detail: dict) -> str:
    """What the project is waiting for, in a sentence (shown above the actions)."""
    status = project.status
    local = timezone.localtime
    if status == S.UNDER_CHECK:
        return _("已提交，等待平台审核。审核通过后发布采购公告。")
    if status == S.PUBLISHED:
        return _("报名中，报名截止时间：%(t)s。") % {
            "t": local(project.registration_deadline).strftime("%Y-%m-%d %H:%M")
        }
    if status == S.REGISTRATION_CLOSED:
        if project.method == Method.SCORED_COMPARISON:
            return _("报名已截止。全部有效报名录入方案评分后，到选取时间自动比选。")
        return _("报名已截止，到选取时间（%(t)s）进行选取。") % {
            "t": local(project.selection_time).strftime("%Y-%m-%d %H:%M")
        }
    if status == S.SELECTING:
        return _("候选名单已产生，等待业主选定。")
    if status == S.SELECTED:
        return _("选取结果公示中，公示期至 %(d)s；期满无异议即进入合同签订。") % {
            "d": project.publicity_ends_on
        }
    if status == S.OBJECTION_PENDING:
        return _("收到异议，业主答复前不能签订合同。")
    if status == S.CONTRACTING:
        contract = detail["contract"]
        if contract is None:
            return _("请在 %(d)s 前由任一方上传双方签署的合同。") % {"d": project.contract_due}
        return _("合同已上传，等待另一方确认。")
    if status == S.IN_SERVICE:
        return _("服务中，服务成果提交期限：%(d)s。") % {"d": project.delivery_due}
    if status == S.DELIVERED:
        return _("成果已提交，等待业主验收（期限 %(d)s）。") % {"d": project.acceptance_due}
    if status in (S.ACCEPTED, S.RATED):
        return _("已验收，双方互评后项目完结。")
    if status == S.FAILED:
        return _("项目流标。")
    if status in (S.CLOSED, S.CANCELLED, S.RELAUNCHED):
        return _("项目状态：%(s)s。") % {"s": project.get_status_display()}
    return ""


def _candidates(project: Project, detail: dict) -> list[Application]:
    """Whom the owner may pick: the drawn short list (credit preference) or every valid applicant
    (direct selection)."""
    valid = [
        r["application"] for r in detail["applications"] if r["application"].state == Application.State.VALID
    ]
    selection = detail["selection"]
    if project.status == S.SELECTING and selection is not None:
        shortlist = set(selection.details.get("shortlist") or [])
        return [a for a in valid if a.intermediary.uscc in shortlist]
    return valid


def _criteria(party: sw.Party) -> dict:
    return OWNER_CRITERIA if party.is_owner else FIRM_CRITERIA


def _build_forms(project, party, detail, actions, overrides) -> dict:
    overrides = overrides or {}
    factories = {
        "submit": lambda: ConfirmForm(prefix="submit"),
        "start": lambda: ConfirmForm(prefix="start"),
        "cancel": lambda: ReasonForm(prefix="cancel"),
        "relaunch": lambda: RelaunchForm(prefix="relaunch"),
        "pick": lambda: PickForm(prefix="pick", candidates=_candidates(project, detail)),
        "scores": lambda: ScoresForm(prefix="scores", applications=_candidates(project, detail)),
        "contract": lambda: ContractForm(prefix="contract"),
        "contract_confirm": lambda: ConfirmForm(prefix="contract_confirm"),
        "amend": lambda: AmendForm(prefix="amend"),
        "decline": lambda: ReasonForm(prefix="decline"),
        "deliver": lambda: DeliveryForm(prefix="deliver"),
        "decide": lambda: DeliveryDecisionForm(prefix="decide"),
        "rate": lambda: RatingForm(prefix="rate", criteria=_criteria(party)),
        "dispute": lambda: ReasonForm(prefix="dispute"),
        "object": lambda: ObjectionForm(prefix="object"),
    }
    forms = {key: overrides.get(key) or factories[key]() for key in actions if key in factories}
    if "answer" in actions:
        forms["answer"] = [
            (o, overrides.get(f"answer-{o.pk}") or ObjectionAnswerForm(prefix=f"answer-{o.pk}"))
            for o in detail["objections"]
            if o.outcome == Objection.Outcome.PENDING
        ]
    return forms


def _rating_rows(ratings):
    labels = {**OWNER_CRITERIA, **FIRM_CRITERIA}
    return [{"rating": r, "scores": [(labels.get(k, k), v) for k, v in r.scores.items()]} for r in ratings]


def _manage_page(request, pk: int, overrides: dict | None = None, status: int = 200):
    detail = selectors.project_detail(request.user, pk)
    project = detail["project"]
    party = sw.party_for(request.membership, project, detail["selection"])
    if party.side is None:
        raise NotAllowed
    actions = _available(project, party, detail)
    selection = detail["selection"]
    names = {r["firm"].uscc: r["firm"].name for r in detail["applications"]}
    shortlist = (
        [(k, names.get(k, k)) for k in (selection.details.get("shortlist") or [])] if selection else []
    )
    # Before registration closes nobody sees who applied (nor any quote): the owner a count,
    # a firm its own application only.
    applications = detail["applications"] if detail["quotes_open"] else []
    rating_about_me = None
    if "dispute" in actions:
        about = Rating.Direction.FIRM_RATES_OWNER if party.is_owner else Rating.Direction.OWNER_RATES_FIRM
        rating_about_me = next(r for r in detail["ratings"] if r.direction == about)
    events = [
        {
            "at": e.created_at,
            "label": TIMELINE_LABELS.get(e.action, e.action),
            "note": (e.after or {}).get("note", "") if e.action != "project.update" else "",
        }
        for e in sw.timeline(project)
        if e.action in TIMELINE_LABELS
    ]
    forms = _build_forms(project, party, detail, actions, overrides)
    shown = set(forms) | {f"answer-{o.pk}" for o, _form in forms.get("answer", [])}
    # A refused action whose form is not on the page in this state: its errors go on top.
    refused = [
        f"{form.fields[name].label}：{error}" if name in form.fields else error
        for key, form in (overrides or {}).items()
        if key not in shown
        for name, errors in form.errors.items()
        for error in errors
    ]
    context = {
        **detail,
        "refused": refused,
        "party": party,
        "actions": actions,
        "forms": forms,
        "badge": BADGES.get(project.status, "text-bg-secondary"),
        "waiting": _waiting(project, party, detail),
        "applications": applications,
        "application_count": detail["applicant_count"],
        "my_application": party.application,
        "winner": selection.winner if selection else None,
        "shortlist": shortlist,
        "scores": sw.evaluator_scores(project)
        if party.is_owner and project.method == Method.SCORED_COMPARISON
        else [],
        "rating_rows": _rating_rows(detail["ratings"]),
        "rating_about_me": rating_about_me,
        "timeline": events,
        "publicity_open": sw.publicity_open(project),
        "now": timezone.now(),
    }
    return render(request, "procurement/workspace/manage.html", context, status=status)


@role_required(Role.OWNER, Role.INTERMEDIARY)
def manage(request, pk: int):
    return _manage_page(request, pk)


def _party(request, pk: int, *, owner=False, winner=False, contract_party=False, applicant=False):
    """The project and the acting organisation's part in it, or 404/403 for the action."""
    project = selectors.get_project_for(request.user, pk)
    party = sw.party_for(request.membership, project)
    allowed = (
        (owner and party.is_owner)
        or (winner and party.is_winner)
        or (contract_party and (party.is_owner or party.is_winner))
        or (applicant and party.is_applicant)
    )
    if not allowed:
        raise NotAllowed
    return project, party


def _act(request, project: Project, key: str, form, run, success: str, redirect_pk: int | None = None):
    """Validate ``form``, call ``run(cleaned_data)`` (a service call); redirect back with
    ``success``, or show the page again with the form's errors (status 400)."""
    if form.is_valid():
        result = call_service(form, lambda: run(form.cleaned_data))
        if result is not None:
            messages.success(request, success)
            return redirect("procurement:manage", pk=redirect_pk or project.pk)
    return _manage_page(request, project.pk, {key: form}, status=400)


@require_POST
@role_required(Role.OWNER)
def manage_submit(request, pk: int):
    project = _owned(request, pk)
    form = ConfirmForm(request.POST, prefix="submit")
    return _act(
        request,
        project,
        "submit",
        form,
        lambda d: services.project_submit(actor=request.user, project=project),
        _("已提交平台审核。"),
    )


@require_POST
@role_required(Role.OWNER)
def manage_cancel(request, pk: int):
    project = _owned(request, pk)
    form = ReasonForm(request.POST, prefix="cancel")
    return _act(
        request,
        project,
        "cancel",
        form,
        lambda d: services.project_cancel(actor=request.user, project=project, reason=d["reason"]),
        _("项目已取消。"),
    )


@require_POST
@role_required(Role.OWNER)
def manage_relaunch(request, pk: int):
    project = _owned(request, pk)
    form = RelaunchForm(request.POST, prefix="relaunch")
    if form.is_valid():
        new = call_service(
            form,
            services.project_relaunch,
            actor=request.user,
            project=project,
            registration_deadline=form.cleaned_data["registration_deadline"],
            selection_time=form.cleaned_data["selection_time"],
            method=form.cleaned_data["method"] or None,
        )
        if new is not None:
            messages.success(request, _("已按原公告生成新的项目草稿，请核对后提交审核。"))
            return redirect("procurement:manage", pk=new.pk)
    return _manage_page(request, project.pk, {"relaunch": form}, status=400)


@require_POST
@role_required(Role.OWNER)
def manage_pick(request, pk: int):
    project = _owned(request, pk)
    detail = selectors.project_detail(request.user, pk)
    form = PickForm(request.POST, prefix="pick", candidates=_candidates(project, detail))
    apps = {r["application"].pk: r["application"] for r in detail["applications"]}
    return _act(
        request,
        project,
        "pick",
        form,
        lambda d: services.selection_pick(
            actor=request.user, project=project, application=apps[d["application"]], reason=d["reason"]
        ),
        _("已选定中介机构，结果进入公示。"),
    )


@require_POST
@role_required(Role.OWNER)
def manage_start(request, pk: int):
    """The owner starts a due scored comparison once every valid application is scored."""
    project = _owned(request, pk)
    form = ConfirmForm(request.POST, prefix="start")
    return _act(
        request,
        project,
        "start",
        form,
        lambda d: services.selection_start(actor=request.user, project=project),
        _("比选已完成，结果进入公示。"),
    )


@require_POST
@role_required(Role.OWNER)
def manage_scores(request, pk: int):
    project = _owned(request, pk)
    detail = selectors.project_detail(request.user, pk)
    form = ScoresForm(request.POST, prefix="scores", applications=_candidates(project, detail))
    return _act(
        request,
        project,
        "scores",
        form,
        lambda d: services.scores_record(actor=request.user, project=project, scores=form.scores()),
        _("方案评分已录入。全部有效报名评分后，将在选取时间自动比选。"),
    )


@require_POST
@role_required(Role.OWNER)
def manage_answer(request, pk: int, oid: int):
    project = _owned(request, pk)
    objection = get_object_or_404(Objection, pk=oid, project=project)
    key = f"answer-{objection.pk}"
    form = ObjectionAnswerForm(request.POST, prefix=key)
    return _act(
        request,
        project,
        key,
        form,
        lambda d: services.objection_answer(
            actor=request.user, objection=objection, upheld=d["upheld"], answer=d["answer"]
        ),
        _("异议已答复。"),
    )


@require_POST
@role_required(Role.OWNER, Role.INTERMEDIARY)
def manage_contract(request, pk: int):
    project, _party_ = _party(request, pk, contract_party=True)
    form = ContractForm(request.POST, request.FILES, prefix="contract")
    return _act(
        request,
        project,
        "contract",
        form,
        lambda d: services.contract_upload(
            actor=request.user,
            project=project,
            document=d["document"],
            pay_after_acceptance=d["pay_after_acceptance"],
        ),
        _("合同已上传，等待对方确认。"),
    )


@require_POST
@role_required(Role.OWNER, Role.INTERMEDIARY)
def manage_contract_confirm(request, pk: int):
    project, _party_ = _party(request, pk, contract_party=True)
    form = ConfirmForm(request.POST, prefix="contract_confirm")
    return _act(
        request,
        project,
        "contract_confirm",
        form,
        lambda d: services.contract_confirm(actor=request.user, project=project),
        _("合同已确认，服务开始。"),
    )


@require_POST
@role_required(Role.OWNER)
def manage_contract_amend(request, pk: int):
    project = _owned(request, pk)
    form = AmendForm(request.POST, prefix="amend")
    return _act(
        request,
        project,
        "amend",
        form,
        lambda d: services.contract_amend(
            actor=request.user, project=project, new_amount=d["new_amount"], reason=d["reason"]
        ),
        _("合同变更已记录并公示。"),
    )


@require_POST
@role_required(Role.INTERMEDIARY)
def manage_decline(request, pk: int):
    project, _party_ = _party(request, pk, winner=True)
    form = ReasonForm(request.POST, prefix="decline")
    return _act(
        request,
        project,
        "decline",
        form,
        lambda d: services.winner_decline(actor=request.user, project=project, reason=d["reason"]),
        _("已放弃中选。此记录计入信用。"),
    )


@require_POST
@role_required(Role.INTERMEDIARY)
def manage_deliver(request, pk: int):
    project, _party_ = _party(request, pk, winner=True)
    form = DeliveryForm(request.POST, request.FILES, prefix="deliver")
    return _act(
        request,
        project,
        "deliver",
        form,
        lambda d: services.delivery_submit(
            actor=request.user, project=project, document=d["document"], note=d["note"]
        ),
        _("服务成果已提交，等待业主验收。"),
    )


@require_POST
@role_required(Role.OWNER)
def manage_delivery_decide(request, pk: int):
    project = _owned(request, pk)
    form = DeliveryDecisionForm(request.POST, prefix="decide")
    return _act(
        request,
        project,
        "decide",
        form,
        lambda d: services.delivery_decide(
            actor=request.user, project=project, accept=d["accept"], reason=d["reason"]
        ),
        _("验收结论已记录。"),
    )


@require_POST
@role_required(Role.OWNER, Role.INTERMEDIARY)
def manage_rate(request, pk: int):
    project, party = _party(request, pk, contract_party=True)
    form = RatingForm(request.POST, prefix="rate", criteria=_criteria(party))
    return _act(
        request,
        project,
        "rate",
        form,
        lambda d: services.rating_submit(
            actor=request.user, project=project, scores=form.scores(), comment=d["comment"]
        ),
        _("评价已提交并公开。"),
    )


@require_POST
@role_required(Role.OWNER, Role.INTERMEDIARY)
def manage_dispute(request, pk: int, rid: int):
    project, _party_ = _party(request, pk, contract_party=True)
    rating = get_object_or_404(Rating, pk=rid, project=project)
    form = ReasonForm(request.POST, prefix="dispute")
    return _act(
        request,
        project,
        "dispute",
        form,
        lambda d: services.rating_dispute(actor=request.user, rating=rating, reason=d["reason"]),
        _("申诉已提交，由监管部门处理。"),
    )


@require_POST
@role_required(Role.INTERMEDIARY)
def manage_object(request, pk: int):
    project, _party_ = _party(request, pk, applicant=True)
    form = ObjectionForm(request.POST, prefix="object")
    return _act(
        request,
        project,
        "object",
        form,
        lambda d: services.objection_file(actor=request.user, project=project, text=d["text"]),
        _("异议已提交，业主须在签订合同前答复。"),
    )


def _serve(file):
    response = FileResponse(file.open("rb"), as_attachment=False, filename=file.name.rsplit("/", 1)[-1])
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@role_required(Role.OWNER, Role.INTERMEDIARY)
def contract_document(request, pk: int):
    project, _party_ = _party(request, pk, contract_party=True)
    contract = Contract.objects.filter(project=project).first()
    if contract is None or not contract.document:
        raise Http404
    return _serve(contract.document)


@role_required(Role.OWNER, Role.INTERMEDIARY)
def delivery_document(request, pk: int, did: int):
    project, _party_ = _party(request, pk, contract_party=True)
    delivery = get_object_or_404(Delivery, pk=did, project=project)
    return _serve(delivery.document)


# --- intermediary: opportunities, applying, my applications ------------------------------------


@role_required(Role.INTERMEDIARY)
def opportunities(request):
    firm = _my_firm(request)
    page_obj = _page(request, sw.opportunities(firm))
    rows = sw.opportunities_with_eligibility(page_obj, firm)
    return render(
        request,
        "procurement/workspace/opportunities.html",
        {"firm": firm, "page_obj": page_obj, "rows": rows},
    )


@role_required(Role.INTERMEDIARY)
def apply(request, pk: int):
    firm = _my_firm(request)
    project = selectors.get_project_for(request.user, pk)
    is_open = project.status == S.PUBLISHED and timezone.now() < project.registration_deadline
    reasons = services.check_eligibility(project, firm) if is_open else []
    existing = (
        Application.objects.filter(project=project, intermediary=firm)
        .exclude(state=Application.State.WITHDRAWN)
        .first()
    )
    initial = {"quote": project.price_floor} if project.method == Method.RANDOM_DRAW else {}
    form = ApplicationForm(request.POST or None, project=project, initial=initial)
    if request.method == "POST" and form.is_valid():
        application = call_service(
            form,
            services.application_submit,
            actor=request.user,
            project=project,
            quote=form.cleaned_data["quote"],
            proposal=form.cleaned_data["proposal"],
            client_ip=request.META.get("REMOTE_ADDR"),
            firm=firm,
        )
        if application is not None:
            messages.success(request, _("报名成功。报价已加密保存，报名截止前任何人都无法查看。"))
            return redirect("procurement:my-applications")
    context = {
        "project": project,
        "firm": firm,
        "form": form,
        "is_open": is_open,
        "reasons": reasons,
        "existing": existing,
        "requirements": list(project.requirements.select_related("qualification_type", "min_level")),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "procurement/workspace/apply.html", context, status=status)


@dataclass
class ApplicationRow:
    application: Application
    quote: object
    can_withdraw: bool


def _my_applications_page(request, firm, status=200):
    page_obj = _page(request, selectors.firm_applications(firm))
    now = timezone.now()
    rows = [
        ApplicationRow(
            application=a,
            quote=selectors.quote_visible(a.project, a),
            can_withdraw=a.state == Application.State.SUBMITTED
            and a.project.status == S.PUBLISHED
            and now < a.project.registration_deadline,
        )
        for a in page_obj
    ]
    return render(
        request,
        "procurement/workspace/my_applications.html",
        {"firm": firm, "page_obj": page_obj, "rows": rows},
        status=status,
    )


@role_required(Role.INTERMEDIARY)
def my_applications(request):
    return _my_applications_page(request, _my_firm(request))


@require_POST
@role_required(Role.INTERMEDIARY)
def application_withdraw(request, aid: int):
    firm = _my_firm(request)
    application = sw.application_for(firm, aid)
    try:
        services.application_withdraw(actor=request.user, application=application)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _my_applications_page(request, firm, status=400)
    messages.success(request, _("报名已撤回。截止前可以重新报名。"))
    return redirect("procurement:my-applications")


# --- everyone with an organisation ------------------------------------------------------------


@role_required(*Role.values)
def notifications(request):
    membership = request.membership
    items = list(selectors.notifications_for(membership.organisation_id))
    linkable = membership.role in (Role.OWNER, Role.INTERMEDIARY)
    return render(
        request,
        "procurement/workspace/notifications.html",
        {"items": items, "linkable": linkable},
    )
