"""The regulator's case and inspection pages. Thin: parse, call a selector or service, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from marketplace.accounts.decorators import role_required
from marketplace.accounts.models import Role
from marketplace.core.views import call_action, call_service
from marketplace.providers.models import Intermediary

from ..models import Complaint, Flag
from . import inspections, selectors, services
from .forms import (
    CaseOpenForm,
    ConclusionForm,
    ExplanationRequestForm,
    FindingForm,
    InspectorForm,
    PlanForm,
)
from .models import Case, InspectionTarget, Inspector

PAGE_SIZE = 20


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _ints(values) -> list[int]:
    return [int(v) for v in values if str(v).isdigit()][:50]


@role_required(Role.REGULATOR)
def case_list(request):
    status, cases = selectors.case_list(request.GET)
    return render(
        request,
        "oversight/cases/regulator/case_list.html",
        {"page_obj": _page(request, cases), "status": status, "statuses": Case.Status.choices},
    )


def _source(request) -> dict:
    flags = list(
        Flag.objects.filter(pk__in=_ints(request.GET.getlist("flag"))).select_related(
            "project__owner", "intermediary", "owner"
        )
    )
    complaint = target = None
    if not flags and request.GET.get("complaint", "").isdigit():
        complaint = (
            Complaint.objects.select_related("project__owner", "intermediary")
            .filter(pk=int(request.GET["complaint"]))
            .first()
        )
    if not flags and complaint is None and request.GET.get("target", "").isdigit():
        target = (
            InspectionTarget.objects.select_related("project__owner", "intermediary", "plan")
            .filter(pk=int(request.GET["target"]))
            .first()
        )
    if not flags and complaint is None and target is None:
        raise Http404
    return {"flags": flags, "complaint": complaint, "inspection_target": target}


@role_required(Role.REGULATOR)
def case_new(request):
    source = _source(request)
    derived = services.case_source_defaults(
        flags=source["flags"], complaint=source["complaint"], target=source["inspection_target"]
    )
    initial = {"intermediary_uscc": derived["intermediary"].uscc if derived["intermediary"] else ""}
    form = CaseOpenForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        uscc = form.cleaned_data["intermediary_uscc"].strip().upper()
        firm = Intermediary.objects.filter(uscc=uscc).first() if uscc else None
        if uscc and firm is None:
            form.add_error("intermediary_uscc", _("平台上没有该统一社会信用代码的中介机构。"))
        else:
            case = call_service(
                form,
                services.case_open,
                actor=request.user,
                title=form.cleaned_data["title"],
                summary=form.cleaned_data["summary"],
                intermediary=firm,
                **source,
            )
            if case is not None:
                messages.success(request, _("已立案：%(n)s。") % {"n": case.number})
                return redirect("oversight:case", pk=case.pk)
        status = 400
    context = {"form": form, "derived": derived, **source}
    return render(request, "oversight/cases/regulator/case_new.html", context, status=status)


def _parties(case: Case) -> list[tuple[str, str]]:
    parties = []
    if case.intermediary_id:
        parties.append(("intermediary", _("中介机构：%(n)s") % {"n": case.intermediary.name}))
    if case.owner_id:
        parties.append(("owner", _("项目业主：%(n)s") % {"n": case.owner.name}))
    return parties


@role_required(Role.REGULATOR)
def case_detail(request, pk: int):
    case = selectors.case_detail(pk)
    action = request.POST.get("action") if request.method == "POST" else None
    request_form = ExplanationRequestForm(
        request.POST if action == "request" else None, parties=_parties(case)
    )
    conclusion_form = ConclusionForm(request.POST if action == "conclude" else None)
    status = 200
    if action == "request" and request_form.is_valid():
        done = call_service(
            request_form,
            services.explanation_request,
            actor=request.user,
            case=case,
            party=request_form.cleaned_data["party"],
            question=request_form.cleaned_data["question"],
        )
        if done is not None:
            messages.success(request, _("已发出说明要求，答复期限 %(d)s。") % {"d": done.due_on})
            return redirect("oversight:case", pk=case.pk)
        status = 400
    elif action == "conclude" and conclusion_form.is_valid():
        data = conclusion_form.cleaned_data
        done = call_service(
            conclusion_form,
            services.case_conclude,
            actor=request.user,
            case=case,
            violation=data["violation"],
            violation_type=data["violation_type"],
            legal_basis=data["legal_basis"],
            conclusion=data["conclusion"],
        )
        if done is not None:
            messages.success(request, _("已作出处理结论。"))
            return redirect("oversight:case", pk=case.pk)
        status = 400
    elif action == "close":
        if call_action(request, services.case_close, actor=request.user, case=case) is not None:
            messages.success(request, _("案件已办结，处理结论已公开。"))
        return redirect("oversight:case", pk=case.pk)
    elif action:
        status = 400
    context = {
        "case": case,
        "request_form": request_form,
        "conclusion_form": conclusion_form,
        "can_close": case.status == Case.Status.REMEDYING,
    }
    return render(request, "oversight/cases/regulator/case_detail.html", context, status=status)


def attachment(request, pk: int):
    """An answer's attachment, served to regulators and the answering organisation only."""
    if not request.user.is_authenticated:
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    file = selectors.get_attachment_for(request.user, pk)
    response = FileResponse(
        file.file.open("rb"), as_attachment=False, filename=file.file.name.rsplit("/", 1)[-1]
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- inspections ----------------------------------------------------------------------------------


@role_required(Role.REGULATOR)
def inspection_list(request):
    return render(
        request,
        "oversight/cases/regulator/inspection_list.html",
        {"page_obj": _page(request, selectors.plan_list().order_by("-published_at"))},
    )


@role_required(Role.REGULATOR)
def inspection_new(request):
    form = PlanForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            plan = call_service(
                form,
                inspections.plan_create,
                actor=request.user,
                title=data["title"],
                scope_text=data["scope_text"],
                population_kind=data["population_kind"],
                sample_size=data["sample_size"],
                inspectors=list(data["inspectors"]),
                inspectors_per_target=data["inspectors_per_target"],
                service_type=data["service_type"],
                department=data["department"],
            )
            if plan is not None:
                messages.success(request, _("抽查计划 %(n)s 已公布。") % {"n": plan.number})
                return redirect("oversight:inspection", pk=plan.pk)
        status = 400
    return render(request, "oversight/cases/regulator/inspection_new.html", {"form": form}, status=status)


@role_required(Role.REGULATOR)
def inspection_detail(request, pk: int):
    plan = selectors.plan_detail(pk)
    action = request.POST.get("action") if request.method == "POST" else None
    status = 200
    bound_target = None
    if action == "draw":
        if call_action(request, inspections.plan_draw, actor=request.user, plan=plan) is not None:
            messages.success(request, _("已完成随机抽取，结果已公开。"))
        return redirect("oversight:inspection", pk=plan.pk)
    if action == "publish":
        if call_action(request, inspections.plan_results_publish, actor=request.user, plan=plan) is not None:
            messages.success(request, _("检查结果已公开。"))
        return redirect("oversight:inspection", pk=plan.pk)
    if action == "finding" and request.POST.get("target", "").isdigit():
        bound_target = int(request.POST["target"])
    forms = {}
    for target in plan.targets.all():
        data = request.POST if bound_target == target.pk else None
        forms[target.pk] = FindingForm(
            data,
            target_pk=target.pk,
            initial={
                "result": target.result if target.result != "pending" else "",
                "finding": target.finding,
            },
        )
    if bound_target is not None:
        form = forms.get(bound_target)
        if form is None:
            raise Http404
        if form.is_valid():
            target = next(t for t in plan.targets.all() if t.pk == bound_target)
            done = call_service(
                form,
                inspections.finding_record,
                actor=request.user,
                target=target,
                result=form.cleaned_data["result"],
                finding=form.cleaned_data["finding"],
            )
            if done is not None:
                messages.success(request, _("已登记检查结果：%(k)s。") % {"k": target.key})
                return redirect("oversight:inspection", pk=plan.pk)
        status = 400
    for target in plan.targets.all():
        target.form = forms[target.pk]
    return render(
        request,
        "oversight/cases/regulator/inspection_detail.html",
        {"plan": plan, "excluded": plan.draw_record.get("excluded", {})},
        status=status,
    )


@role_required(Role.REGULATOR)
def inspectors(request):
    form = InspectorForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            done = call_service(
                form,
                inspections.inspector_add,
                actor=request.user,
                code=data["code"],
                name=data["name"],
                id_number=data["id_number"],
                department=data["department"],
            )
            if done is not None:
                messages.success(request, _("已将 %(n)s 加入检查人员名录。") % {"n": done.name})
                return redirect("oversight:inspectors")
        status = 400
    roster = Inspector.objects.select_related("organisation", "department").order_by("code")
    return render(
        request,
        "oversight/cases/regulator/inspectors.html",
        {"form": form, "page_obj": _page(request, roster)},
        status=status,
    )
