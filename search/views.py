"""The search page (/search/): a search box with suggestions, facets and results that htmx
updates in place. Thin: parse the parameters, call the search interface, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import services
from .backends.base import SearchUnavailable
from .forms import SORT_CHOICES, SearchForm, parse
from .models import Kind
from .query import FacetValue, SearchResult


def run_search(params) -> tuple[SearchResult | None, list[str]]:
    query, messages = parse(params)
    try:
        result = services.search(query)
    except SearchUnavailable:
        return None, [*messages, _("搜索服务暂时不可用，请稍后再试。")]
    if result.out_of_range:
        messages.append(_("页码超出范围，共 %(pages)d 页。") % {"pages": result.pages})
    return result, messages


def _facet_groups(result: SearchResult) -> list[tuple[str, str, list[FacetValue]]]:
    """Facets in display order with their titles; a chosen value that matched nothing stays
    listed (count 0) so the visitor sees what is filtering the results and can undo it."""
    titles = {
        "kind": _("类别"),
        "service_type": _("服务类型"),
        "qualification": _("资质"),
        "level": _("资质等级"),
        "status": _("状态"),
        "department": _("部门"),
    }
    chosen = dict(result.query.filters)
    if result.query.kind:
        chosen["kind"] = result.query.kind
    groups = []
    for name, title in titles.items():
        values = list(result.facets.get(name, []))
        if name in chosen and all(v.value != chosen[name] for v in values):
            values.append(FacetValue(chosen[name], chosen[name], 0, selected=True))
        if values:
            groups.append((name, title, values))
    return groups


@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    result, messages = run_search(request.GET)
    facet_groups = _facet_groups(result) if result else []
    context = {
        "form": SearchForm(request.GET or None),
        "result": result,
        "messages_list": messages,
        "q": request.GET.get("q", "")[:200],
        "facet_groups": facet_groups,
        "sort_choices": SORT_CHOICES,
        "kinds": Kind.choices,
    }
    template = "search/_results.html" if request.headers.get("HX-Request") else "search/search.html"
    return render(request, template, context)


@require_GET
def suggest(request: HttpRequest) -> HttpResponse:
    try:
        items = services.suggest(request.GET.get("q", ""))
    except SearchUnavailable:
        items = []
    return render(request, "search/_suggestions.html", {"items": items})
