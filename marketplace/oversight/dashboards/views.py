"""The regulator dashboards page and its exports. Thin: validate the filters, call the
selectors, render or stream."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from marketplace.accounts.decorators import role_required
from marketplace.accounts.models import Role

from . import charts, exports, selectors
from .forms import DashboardFilterForm
from .tables import TABLES

SECTIONS = ["concentration", "prices", "fill", "overdue_summary", "flags"]
ROWS_ON_PAGE = 20  # the page shows the first rows of each table; the exports have them all


@role_required(Role.REGULATOR)
def dashboard(request):
    form = DashboardFilterForm(request.GET or None)
    context: dict = {"form": form, "query": request.GET.urlencode()}
    if form.is_bound and not form.is_valid():
        return render(request, "oversight/dashboards/index.html", context, status=400)
    filters = form.filters() if form.is_bound else selectors.Filters()
    sections = []
    for name in SECTIONS:
        table = TABLES[name]
        rows = list(table.rows(filters))
        sections.append(
            {
                "name": name,
                "table": table,
                "rows": rows[:ROWS_ON_PAGE],
                "total": len(rows),
                "chart": charts.CHARTS[name](rows),
            }
        )
    overdue = TABLES["overdue"]
    context.update(
        {
            "sections": sections,
            "overdue": overdue,
            "overdue_rows": list(selectors.overdue_rows(filters, limit=selectors.OVERDUE_ROWS_ON_PAGE)),
            "overdue_limit": selectors.OVERDUE_ROWS_ON_PAGE,
            "rows_on_page": ROWS_ON_PAGE,
            "charts": {s["name"]: s["chart"] for s in sections},
        }
    )
    return render(request, "oversight/dashboards/index.html", context)


@role_required(Role.REGULATOR)
def export(request, table: str, fmt: str):
    if table not in TABLES or fmt not in ("csv", "xlsx"):
        raise Http404
    form = DashboardFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        messages = [str(m) for errors in form.errors.values() for m in errors]
        return HttpResponse(
            _("筛选条件无效：") + " ".join(messages), status=400, content_type="text/plain; charset=utf-8"
        )
    filters = form.filters() if form.is_bound else selectors.Filters()
    respond = exports.csv_response if fmt == "csv" else exports.xlsx_response
    return respond(table, TABLES[table], filters)
