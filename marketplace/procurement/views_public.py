"""Public procurement pages (采购公告, 中选公告, draw verification), the operator's check of new
projects and the regulator's lists. Thin: parse, call a selector or service, render."""

from __future__ import annotations

import re
from functools import lru_cache

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from marketplace.accounts.decorators import role_required
from marketplace.accounts.models import Role
from marketplace.core.pagecache import public_page
from marketplace.core.views import call_action, call_service

from . import selectors, selectors_public, services
from .forms_public import DisputeDecisionForm, ProjectCheckForm
from .methods import method_for
from .models import PUBLIC_STATUSES, Method, Rating, Status
from .services.projects import registration_period_ok

PAGE_SIZE = 20

RATING_CRITERIA = {
    "quality": gettext_lazy("服务质量"),
    "timeliness": gettext_lazy("服务时效"),
    "attitude": gettext_lazy("服务态度"),
    "fee_compliance": gettext_lazy("收费规范"),
    "conduct": gettext_lazy("廉洁从业"),
    "payment_timeliness": gettext_lazy("按时付款"),
    "non_interference": gettext_lazy("不干预独立执业"),
}


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _tune_filter(filterset, *, public: bool = True) -> None:
    """Date pickers for the date range; the public lists never hold drafts, so they offer only
    the public statuses."""
    fields = filterset.form.fields
    for name in ("published_from", "published_to"):
        fields[name].widget.input_type = "date"
    if public:
        fields["status"].choices = [
            (value, label) for value, label in fields["status"].choices if value in ("", *PUBLIC_STATUSES)
        ]


def _rating_rows(ratings: list[Rating]) -> list[dict]:
    return [
        {
            "rating": r,
            "scores": [(RATING_CRITERIA.get(k, k), v) for k, v in (r.scores or {}).items()],
        }
        for r in ratings
    ]


def _method_context(project) -> dict:
    return {
        "method": method_for(project.method),
        "min_valid": method_for(project.method).min_valid(project.funding_source),
        "long_list": settings.CREDIT_LONG_LIST,
        "short_list": settings.CREDIT_SHORT_LIST,
        "is_random_draw": project.method == Method.RANDOM_DRAW,
        "proposal_weight": 100 - project.price_weight,
    }


# --- public -------------------------------------------------------------------------------------


@public_page
def announcements(request):
    filterset, queryset = selectors.announcements(request.GET)
    _tune_filter(filterset)
    return render(
        request,
        "procurement/public/announcements.html",
        {"filter": filterset, "page_obj": _page(request, queryset)},
    )


def results(request):
    filterset, queryset = selectors_public.results(request.GET)
    _tune_filter(filterset)
    return render(
        request,
        "procurement/public/results.html",
        {"filter": filterset, "page_obj": _page(request, queryset)},
    )


def project(request, pk: int):
    detail = selectors_public.public_project_detail(request.user, pk)
    context = {
        **detail,
        **_method_context(detail["project"]),
        "ratings": _rating_rows(detail["ratings"]),
        "now": timezone.now(),
    }
    return render(request, "procurement/public/project.html", context)


def result(request, pk: int):
    record = selectors_public.result_record(request.user, pk)
    context = {**record, **_method_context(record["project"]), "today": timezone.localdate()}
    return render(request, "procurement/public/result.html", context)


@lru_cache(maxsize=1)
def _draw_script() -> str:
    """The stand-alone recompute script of docs/draws.md, shown on the verification page."""
    try:
        text = (settings.BASE_DIR / "docs" / "draws.md").read_text(encoding="utf-8")
    except OSError:
        return ""
    match = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    return match.group(1) if match else ""


def verify(request, pk: int):
    context = selectors_public.verification(request.user, pk)
    context["script"] = _draw_script()
    return render(request, "procurement/public/verify.html", context)


def draw_json(request, pk: int):
    record = selectors_public.draw_records(request.user, pk)
    response = JsonResponse(record, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'inline; filename="{record["project"]}-draw.json"'
    return response


# --- operator -----------------------------------------------------------------------------------


@role_required(Role.OPERATOR)
def check_queue(request):
    page_obj = _page(request, selectors_public.check_queue())
    now = timezone.now()
    for p in page_obj:
        p.period_ok = registration_period_ok(now, p.registration_deadline)
    return render(
        request,
        "procurement/public/check_queue.html",
        {"page_obj": page_obj, "min_days": settings.REGISTRATION_MIN_WORKING_DAYS},
    )


@role_required(Role.OPERATOR)
def check(request, pk: int):
    detail = selectors_public.public_project_detail(request.user, pk)
    project = detail["project"]
    form = ProjectCheckForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = call_service(
            form,
            services.project_check,
            actor=request.user,
            project=project,
            approve=form.approve,
            note=form.cleaned_data["note"],
        )
        if done is not None:
            if form.approve:
                messages.success(request, _("项目已发布：%(p)s") % {"p": done.public_number})
            else:
                messages.success(request, _("项目已退回业主：%(p)s") % {"p": done.public_number})
            return redirect("procurement:check-queue")
    context = {
        **detail,
        **_method_context(project),
        "ratings": _rating_rows(detail["ratings"]),
        "form": form,
        "can_check": project.status == Status.UNDER_CHECK,
        "period_ok": registration_period_ok(timezone.now(), project.registration_deadline),
        "min_days": settings.REGISTRATION_MIN_WORKING_DAYS,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "procurement/public/check.html", context, status=status)


# --- regulator ----------------------------------------------------------------------------------


@role_required(Role.REGULATOR)
def regulator_projects(request):
    filterset, queryset = selectors_public.regulator_projects(request.user, request.GET)
    _tune_filter(filterset, public=False)
    return render(
        request,
        "procurement/public/regulator_projects.html",
        {"filter": filterset, "page_obj": _page(request, queryset)},
    )


@role_required(Role.REGULATOR)
def disputes(request):
    return render(
        request,
        "procurement/public/disputes.html",
        {"page_obj": _page(request, selectors_public.pending_disputes().order_by("disputed_at", "pk"))},
    )


@require_POST
@role_required(Role.REGULATOR)
def dispute_decide(request, pk: int):
    rating = get_object_or_404(Rating, pk=pk)
    form = DisputeDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择处理结果。"))
        return redirect("procurement:disputes")
    uphold = form.cleaned_data["outcome"] == "uphold"
    if call_action(request, services.rating_dispute_decide, actor=request.user, rating=rating, uphold=uphold):
        if uphold:
            messages.success(request, _("申诉成立，该评价不再计入机构评价得分。"))
        else:
            messages.success(request, _("申诉不成立，评价保留。"))
    return redirect("procurement:disputes")


@role_required(Role.REGULATOR)
def objections(request):
    return render(
        request,
        "procurement/public/objections.html",
        {"page_obj": _page(request, selectors_public.pending_objections()), "today": timezone.localdate()},
    )
