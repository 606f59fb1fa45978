"""Oversight pages: the regulator's risk queue, flags and complaints; the public rule pages
(with the operator's settings form) and the public complaint form. Thin: parse, call a
selector or service, render."""

from __future__ import annotations

from typing import TypeVar

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.accounts.decorators import role_required
from marketplace.accounts.models import Role
from marketplace.core.views import call_service

from . import intake, selectors, services
from .forms import Band, ComplaintForm, FlagDecisionForm, RuleSettingsForm
from .models import Category, Flag

T = TypeVar("T")
PAGE_SIZE = 20

TABS = {
    "projects": (gettext_lazy("项目"), selectors.project_risk_queue),
    "firms": (gettext_lazy("中介机构"), selectors.firm_risk),
    "departments": (gettext_lazy("部门"), selectors.department_risk),
}
DECIDABLE = (Flag.Status.OPEN, Flag.Status.RESOLVED)


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _role(request) -> str | None:
    membership = getattr(request, "membership", None)
    return membership.role if membership is not None else None


def _band_context() -> dict:
    return {
        "medium_from": settings.RISK_MEDIUM_FROM,
        "high_from": settings.RISK_HIGH_FROM,
        "bands": Band.choices,
    }


# --- regulator ----------------------------------------------------------------------------------


@role_required(Role.REGULATOR)
def risk_queue(request):
    tab = request.GET.get("tab", "projects")
    if tab not in TABS:
        tab = "projects"
    filterset, queryset = TABS[tab][1](request.user, request.GET)
    page_obj = _page(request, queryset)
    selectors.with_top_rules(page_obj, tab)
    context = {
        "tab": tab,
        "tabs": [(key, label) for key, (label, _selector) in TABS.items()],
        "filter": filterset,
        "page_obj": page_obj,
        **_band_context(),
    }
    return render(request, "oversight/regulator/risk_queue.html", context)


@role_required(Role.REGULATOR)
def flags(request):
    filterset, queryset = selectors.flag_list(request.user, request.GET)
    page_obj = _page(request, queryset)
    selectors.with_rule_titles(page_obj)
    for flag in page_obj:
        flag.subject_text = selectors.flag_subject(flag)
    return render(request, "oversight/regulator/flags.html", {"filter": filterset, "page_obj": page_obj})


@role_required(Role.REGULATOR)
def flag(request, pk: int):
    detail = selectors.flag_detail(request.user, pk)
    flag = detail["flag"]
    form = FlagDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = call_service(
            form,
            services.flag_decide,
            actor=request.user,
            flag=flag,
            confirm=form.confirm,
            reason=form.cleaned_data["reason"],
        )
        if done is not None:
            if done.status == Flag.Status.CONFIRMED:
                messages.success(request, _("已确认该风险提示。"))
            else:
                messages.success(request, _("已排除该风险提示，理由已记录。"))
            return redirect("oversight:flag", pk=flag.pk)
    context = {
        **detail,
        "form": form,
        "can_decide": flag.status in DECIDABLE,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "oversight/regulator/flag.html", context, status=status)


@role_required(Role.REGULATOR)
def complaints(request):
    queryset = selectors.complaint_list(request.user, request.GET)
    return render(
        request,
        "oversight/regulator/complaints.html",
        {"page_obj": _page(request, queryset), "designation_only": request.GET.get("designation") == "1"},
    )


# --- public: rules ------------------------------------------------------------------------------


def rules(request):
    category = request.GET.get("category", "")
    return render(
        request,
        "oversight/public/rules.html",
        {
            "rules": selectors.rule_rows(request.GET),
            "categories": Category.choices,
            "category": category if category in Category.values else "",
            "show_counts": _role(request) in (Role.REGULATOR, Role.OPERATOR),
        },
    )


def rule(request, code: str):
    detail = selectors.rule_detail(code)
    role = _role(request)
    is_operator = role == Role.OPERATOR
    form = None
    status = 200
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_operator:
            raise PermissionDenied(_("只有平台运营人员可以修改规则参数。"))
        form = RuleSettingsForm(detail["rule"], request.POST)
        if form.is_valid():
            done = call_service(
                form,
                services.rule_settings_update,
                actor=request.user,
                code=detail["rule"].code,
                weight=form.cleaned_data["weight"],
                thresholds=form.thresholds(),
                enabled=form.cleaned_data["enabled"],
                note=form.cleaned_data["note"],
            )
            if done is not None:
                messages.success(
                    request, _("规则参数已保存为第 %(version)s 版。") % {"version": done.version}
                )
                return redirect("oversight:rule", code=detail["rule"].code)
        status = 400
    elif is_operator:
        form = RuleSettingsForm(
            detail["rule"], initial=selectors.rule_settings_initial(detail["rule"], detail["setting"])
        )
    context = {
        **detail,
        "form": form,
        "show_counts": role in (Role.REGULATOR, Role.OPERATOR),
        "show_people": role in (Role.REGULATOR, Role.OPERATOR),
    }
    return render(request, "oversight/public/rule.html", context, status=status)


# --- public: complaints -------------------------------------------------------------------------


def complaint_new(request):
    initial = {"project_number": request.GET.get("project", "")[:32]}
    form = ComplaintForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            done = call_service(
                form,
                intake.complaint_file,
                actor=request.user,
                text=data["text"],
                alleges_designation=data["alleges_designation"],
                project=data["project_number"],
                intermediary=data["intermediary_uscc"],
                department=data["department"],
                contact=data["contact"],
            )
            if done is not None:
                return redirect("oversight:complaint-received")
        return render(request, "oversight/public/complaint_new.html", {"form": form}, status=400)
    return render(request, "oversight/public/complaint_new.html", {"form": form})


def complaint_received(request):
    return render(request, "oversight/public/complaint_received.html")
