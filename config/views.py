from django.db.models import Count, Q
from django.shortcuts import render
from django.views.decorators.cache import cache_page
from django.views.decorators.vary import vary_on_cookie

from marketplace.catalog.models import ServiceType
from marketplace.catalog.selectors import categories_with_counts
from marketplace.providers.models import PUBLIC_STATUSES, Intermediary, Offer

HOME_CACHE_SECONDS = 60


def _stats() -> dict[str, int]:
    counts = Intermediary.objects.aggregate(n=Count("pk", filter=Q(status__in=PUBLIC_STATUSES)))
    return {
        "intermediaries": counts["n"],
        "offers": Offer.objects.filter(is_active=True, intermediary__status__in=PUBLIC_STATUSES).count(),
        "service_types": ServiceType.objects.filter(is_active=True).count(),
    }


@cache_page(HOME_CACHE_SECONDS)
@vary_on_cookie
def home(request):
    context = {
        "stats": _stats(),
        "categories": categories_with_counts(),
        "latest_intermediaries": Intermediary.objects.filter(status__in=PUBLIC_STATUSES).order_by(
            "-listed_at", "-pk"
        )[:8],
    }
    return render(request, "home.html", context)
