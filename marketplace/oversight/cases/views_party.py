"""The parties' pages in the workspace: answer explanation requests, report the remedy."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from marketplace.accounts.decorators import role_required
from marketplace.accounts.models import Role
from marketplace.core.views import call_service

from . import selectors, services
from .forms import AnswerForm, RemedyForm
from .models import Case, ExplanationRequest

PARTY_ROLES = (Role.INTERMEDIARY, Role.OWNER)


@role_required(*PARTY_ROLES)
def my_cases(request):
    return render(
        request, "oversight/cases/party/case_list.html", {"cases": selectors.party_cases(request.user)}
    )


@role_required(*PARTY_ROLES)
def my_case(request, pk: int):
    case, requests = selectors.party_case(request.user, pk)
    action = request.POST.get("action") if request.method == "POST" else None
    status = 200
    answering = (
        int(request.POST["request"])
        if action == "answer" and request.POST.get("request", "").isdigit()
        else None
    )
    for item in requests:
        bound = answering == item.pk
        item.form = AnswerForm(request.POST if bound else None, prefix=f"r{item.pk}")
        if bound and item.form.is_valid():
            done = call_service(
                item.form,
                services.explanation_answer,
                actor=request.user,
                request=item,
                answer=item.form.cleaned_data["answer"],
                files=request.FILES.getlist(f"r{item.pk}-files"),
            )
            if done is not None:
                messages.success(request, _("说明已提交。"))
                return redirect("oversight:my-case", pk=case.pk)
            status = 400
    remedy_form = RemedyForm(request.POST if action == "remedy" else None, prefix="remedy")
    if action == "remedy" and remedy_form.is_valid():
        done = call_service(
            remedy_form,
            services.case_remedy_report,
            actor=request.user,
            case=case,
            report=remedy_form.cleaned_data["report"],
        )
        if done is not None:
            messages.success(request, _("整改情况已报告。"))
            return redirect("oversight:my-case", pk=case.pk)
        status = 400
    context = {
        "case": case,
        "requests": requests,
        "remedy_form": remedy_form,
        "can_remedy": case.status == Case.Status.REMEDYING and not case.remedied_at,
        "pending": ExplanationRequest.Status.PENDING,
    }
    return render(request, "oversight/cases/party/case_detail.html", context, status=status)
