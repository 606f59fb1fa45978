"""sitemap.xml: the portal's pages and the market's public pages (lists, projects, firms)."""

from __future__ import annotations

from django.contrib.sitemaps import Sitemap
from django.urls import reverse
from wagtail.contrib.sitemaps import Sitemap as WagtailSitemap

from marketplace.procurement.models import PUBLIC_STATUSES as PROJECT_PUBLIC_STATUSES
from marketplace.procurement.models import Project
from marketplace.providers.models import PUBLIC_STATUSES as FIRM_PUBLIC_STATUSES
from marketplace.providers.models import Intermediary

MARKET_LISTS = (
    "procurement:announcements",
    "procurement:results",
    "providers:directory",
    "providers:fee-index",
    "catalog:service-list",
)


class MarketListSitemap(Sitemap):
    changefreq = "hourly"

    def items(self):
        return list(MARKET_LISTS)

    def location(self, item):
        return reverse(item)


class ProjectSitemap(Sitemap):
    changefreq = "daily"

    def items(self):
        return (
            Project.objects.filter(status__in=PROJECT_PUBLIC_STATUSES).only("pk", "updated_at").order_by("pk")
        )

    def location(self, item):
        return reverse("procurement:project", args=[item.pk])

    def lastmod(self, item):
        return item.updated_at


class ProviderSitemap(Sitemap):
    changefreq = "weekly"

    def items(self):
        return Intermediary.objects.filter(status__in=FIRM_PUBLIC_STATUSES).only("pk").order_by("pk")

    def location(self, item):
        return reverse("providers:profile", args=[item.pk])


def sitemaps(request) -> dict[str, Sitemap]:
    return {
        "pages": WagtailSitemap(request),
        "market": MarketListSitemap(),
        "projects": ProjectSitemap(),
        "providers": ProviderSitemap(),
    }
