from django.http import Http404
from django.shortcuts import render

from . import selectors
from .models import ServiceType


def service_list(request):
    category = request.GET.get("category") or None
    return render(
        request,
        "catalog/service_list.html",
        {
            "service_types": selectors.service_types(category),
            "categories": selectors.categories_with_counts(),
            "category": category,
        },
    )


def service_detail(request, code: str):
    try:
        service_type = selectors.service_type_detail(code)
    except ServiceType.DoesNotExist:
        raise Http404 from None
    return render(request, "catalog/service_detail.html", {"service_type": service_type})
