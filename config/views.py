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


def market_home_context() -> dict:
    """What the home page shows of the market directory (also used by the portal's home page)."""
    return {
        "stats": _stats(),
        "categories": categories_with_counts(),
        "latest_intermediaries": Intermediary.objects.filter(status__in=PUBLIC_STATUSES).order_by(
            "-listed_at", "-pk"
        )[:8],
    }


@cache_page(HOME_CACHE_SECONDS)
@vary_on_cookie
def home(request):
    """The portal's home page (a Wagtail ``cms.HomePage`` at the site root) when it is published;
    the plain market home otherwise, so ``/`` never breaks while editors rework the portal."""
    from django.http import Http404
    from wagtail.views import serve

    try:
        return serve(request, "")
    except Http404:
        return render(request, "home.html", market_home_context())


def healthz(request):
    """Liveness and readiness: the database answers, and the broker when one is configured."""
    from django.conf import settings
    from django.db import connection
    from django.http import JsonResponse

    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report any failure as unhealthy
        checks["database"] = f"error: {type(exc).__name__}"
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        try:
            from config.celery import app

            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            checks["broker"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503
    )
