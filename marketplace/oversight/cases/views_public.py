"""Public disclosure pages (一公开): concluded cases, the blacklist and random inspections."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from marketplace.procurement import draw

from . import selectors

PAGE_SIZE = 20


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def cases(request):
    queryset = selectors.public_cases(request.GET)
    return render(
        request,
        "oversight/cases/public/case_list.html",
        {
            "page_obj": _page(request, queryset),
            "q": request.GET.get("q", ""),
            "violation": request.GET.get("violation") == "1",
        },
    )


def case(request, pk: int):
    return render(request, "oversight/cases/public/case_detail.html", {"case": selectors.public_case(pk)})


def blacklist(request):
    history, entries = selectors.blacklist(request.GET)
    return render(
        request,
        "oversight/cases/public/blacklist.html",
        {"page_obj": _page(request, entries), "history": history},
    )


def blacklist_entry(request, pk: int):
    return render(
        request, "oversight/cases/public/blacklist_entry.html", {"entry": selectors.blacklist_entry(pk)}
    )


def inspections(request):
    return render(
        request,
        "oversight/cases/public/inspection_list.html",
        {"page_obj": _page(request, selectors.plan_list().order_by("-published_at"))},
    )


def inspection(request, pk: int):
    plan = selectors.plan_detail(pk)
    if plan is None:
        raise Http404
    revealed = plan.status != plan.Status.PUBLISHED
    return render(
        request,
        "oversight/cases/public/inspection_detail.html",
        {
            "plan": plan,
            "revealed": revealed,
            "commitment_ok": revealed and draw.commitment(plan.secret) == plan.secret_commitment,
            "excluded": plan.draw_record.get("excluded", {}),
            "results_public": plan.status == plan.Status.CONCLUDED,
        },
    )
