from django.db.models import Count, Q
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from marketplace.catalog.models import ServiceType
from marketplace.catalog.selectors import categories_with_counts
from marketplace.core.pagecache import public_page
from marketplace.providers.models import PUBLIC_STATUSES, Intermediary, Offer

from .health import run_checks


def _stats() -> dict[str, int]:
    counts = Intermediary.objects.aggregate(n=Count("pk", filter=Q(status__in=PUBLIC_STATUSES)))
    return {
        "intermediaries": counts["n"],
        "offers": Offer.objects.filter(is_active=True, intermediary__status__in=PUBLIC_STATUSES).count(),
        "service_types": ServiceType.objects.filter(is_active=True).count(),
    }


def market_home_context() -> dict:
    """What the home page shows of the market directory (also used by the portal's home page)."""
    return {
        "stats": _stats(),
        "categories": categories_with_counts(),
        "latest_intermediaries": Intermediary.objects.filter(status__in=PUBLIC_STATUSES).order_by(
            "-listed_at", "-pk"
        )[:8],
    }


@public_page
def home(request):
    """The portal's home page (a Wagtail ``cms.HomePage`` at the site root) when it is published;
    the plain market home otherwise, so ``/`` never breaks while editors rework the portal."""
    from django.http import Http404
    from wagtail.views import serve

    try:
        return serve(request, "")
    except Http404:
        return render(request, "home.html", market_home_context())


@never_cache
@require_safe
def healthz(request):
    """Readiness for load balancers and monitors: the database, the Celery broker (when one is
    configured) and the search backend, each with its time. 200 when every check passes, 503
    otherwise; never cached, and no connection string or server message in the body."""
    results = run_checks()
    healthy = all(r.ok for r in results)
    body = {
        "status": "ok" if healthy else "error",
        "checks": {r.name: r.as_json() for r in results},
    }
    return JsonResponse(body, status=200 if healthy else 503)


def page_not_found(request, exception):
    """404: the site's page, except under /api/, where clients get the API's JSON error body
    (a path that matches no API route, e.g. a non-numeric id, is still an API request)."""
    from django.views import defaults
    from rest_framework.exceptions import NotFound

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(NotFound.default_detail)}, status=404)
    return defaults.page_not_found(request, exception)
