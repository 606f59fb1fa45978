"""The search parameters, read from a query string by the page and the API alike.

Nothing a visitor types becomes an error page: an invalid value is dropped and named in a
message, an unknown code simply matches nothing, a page past the end shows a message."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.core.forms import DateInput, Form

from .models import Kind
from .query import FACET_FIELDS, MAX_PAGE, MAX_QUERY_CHARS, SearchQuery

CODE = re.compile(r"^[A-Za-z0-9_.:\-]{1,120}$")
MONEY_LIMIT = Decimal("1000000000000")

SORT_CHOICES = [
    ("relevance", gettext_lazy("相关度")),
    ("newest", gettext_lazy("最新")),
    ("price", gettext_lazy("价格从低到高")),
    ("-price", gettext_lazy("价格从高到低")),
    ("rating", gettext_lazy("评价最高")),
]


class SearchForm(Form):
    q = forms.CharField(label=gettext_lazy("关键词"), required=False, strip=True)
    kind = forms.ChoiceField(
        label=gettext_lazy("类别"), required=False, choices=[("", gettext_lazy("全部"))] + Kind.choices
    )
    service_type = forms.CharField(required=False)
    qualification = forms.CharField(required=False)
    level = forms.CharField(required=False)
    status = forms.CharField(required=False)
    department = forms.CharField(required=False)
    price_min = forms.DecimalField(
        label=gettext_lazy("最低价（元）"),
        required=False,
        min_value=0,
        max_value=MONEY_LIMIT,
        decimal_places=2,
    )
    price_max = forms.DecimalField(
        label=gettext_lazy("最高价（元）"),
        required=False,
        min_value=0,
        max_value=MONEY_LIMIT,
        decimal_places=2,
    )
    rating_min = forms.DecimalField(
        label=gettext_lazy("最低评价"), required=False, min_value=0, max_value=5, decimal_places=2
    )
    date_from = forms.DateField(label=gettext_lazy("日期起"), required=False, widget=DateInput)
    date_to = forms.DateField(label=gettext_lazy("日期止"), required=False, widget=DateInput)
    sort = forms.ChoiceField(label=gettext_lazy("排序"), required=False, choices=SORT_CHOICES)
    page = forms.IntegerField(required=False, min_value=1)


FIELD_NAMES = {
    "kind": gettext_lazy("类别"),
    "service_type": gettext_lazy("服务类型"),
    "qualification": gettext_lazy("资质"),
    "level": gettext_lazy("资质等级"),
    "status": gettext_lazy("状态"),
    "department": gettext_lazy("部门"),
    "price_min": gettext_lazy("最低价"),
    "price_max": gettext_lazy("最高价"),
    "rating_min": gettext_lazy("最低评价"),
    "date_from": gettext_lazy("日期起"),
    "date_to": gettext_lazy("日期止"),
    "sort": gettext_lazy("排序"),
    "page": gettext_lazy("页码"),
}


def parse(params: Any) -> tuple[SearchQuery, list[str]]:
    """A ``SearchQuery`` from request parameters, and messages for what was ignored."""
    form = SearchForm(params)
    form.is_valid()
    data: dict[str, Any] = dict(form.cleaned_data)
    messages: list[str] = []
    for name in form.errors:
        data.pop(name, None)
        messages.append(_("筛选条件“%(field)s”的值无效，已忽略。") % {"field": FIELD_NAMES.get(name, name)})
    filters: dict[str, str] = {}
    for name in FACET_FIELDS:
        value = (data.get(name) or "").strip()
        if not value:
            continue
        if CODE.match(value):
            filters[name] = value
        else:
            messages.append(_("筛选条件“%(field)s”的值无效，已忽略。") % {"field": FIELD_NAMES[name]})
    page = data.get("page") or 1
    if page > MAX_PAGE:
        messages.append(_("页码超出范围。"))
    if (
        data.get("price_min") is not None
        and data.get("price_max") is not None
        and data["price_min"] > data["price_max"]
    ):
        messages.append(_("最低价高于最高价，没有符合条件的结果。"))
    query = SearchQuery(
        q=data.get("q") or "",
        kind=data.get("kind") or None,
        filters=filters,
        price_min=data.get("price_min"),
        price_max=data.get("price_max"),
        rating_min=data.get("rating_min"),
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        sort=data.get("sort") or "relevance",
        page=page,
    )
    if "truncated" in query.notes:
        messages.append(_("关键词过长，只按前 %(n)d 个字检索。") % {"n": MAX_QUERY_CHARS})
    if "operators" in query.notes:
        messages.append(_("关键词中的符号已忽略，请直接输入要查找的词。"))
    if "too_many_terms" in query.notes:
        messages.append(_("关键词过多，只按前几个词检索。"))
    if query.q and not query.terms:
        messages.append(_("关键词中没有可检索的文字。"))
    return query, messages
