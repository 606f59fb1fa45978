"""Reads for the portal: the live market figures and latest announcements on the home page.

The market figures and lists are cached for ``HOME_CACHE_SECONDS`` (they are the same for
every visitor and language); the portal's own notices are read live so that a published
notice shows at once to signed-in users (anonymous visitors are served the whole page from
the public page cache, ``marketplace/core/pagecache.py``, so within 30 s).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db.models import Count, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from marketplace.procurement import selectors as procurement_selectors
from marketplace.procurement import selectors_public
from marketplace.procurement.models import Contract, Project, Status

HOME_CACHE_SECONDS = 60
HOME_LIST_SIZE = 6
# Paths built by other modules in parallel (search, the regulator's disclosures): linked by path.
SEARCH_PATH = "/search/"
DISCLOSURE_LINKS = (
    ("/disclosure/blacklist/", "blacklist"),
    ("/disclosure/cases/", "cases"),
    ("/disclosure/inspections/", "inspections"),
)


def _year_start() -> datetime.datetime:
    today = timezone.localdate()
    return datetime.datetime(today.year, 1, 1, tzinfo=timezone.get_current_timezone())


def market_figures() -> dict[str, Any]:
    """Open projects (报名中) and this year's signed contracts (count and amount); the listed
    intermediaries are counted by the market home's own figures (``config.views``). Two queries,
    cached."""

    def compute() -> dict[str, Any]:
        open_projects = Project.objects.filter(status=Status.PUBLISHED).count()
        contracts = Contract.objects.filter(confirmed_at__gte=_year_start()).aggregate(
            n=Count("pk"), amount=Sum("amount")
        )
        return {
            "open_projects": open_projects,
            "contracts_this_year": contracts["n"],
            "contract_amount_this_year": contracts["amount"] or 0,
            "year": timezone.localdate().year,
        }

    return cache.get_or_set("cms:home:figures", compute, HOME_CACHE_SECONDS)


def latest_announcements(limit: int = HOME_LIST_SIZE) -> list[dict[str, Any]]:
    """The newest public announcements (采购公告), through the procurement selector."""

    def compute() -> list[dict[str, Any]]:
        _filter, queryset = procurement_selectors.announcements({})
        return [
            {
                "pk": p.pk,
                "title": p.title,
                "public_number": p.public_number,
                "status": p.get_status_display(),
                "status_code": p.status,
                "published_at": p.published_at,
                "owner": p.owner.name,
            }
            for p in queryset[:limit]
        ]

    return cache.get_or_set("cms:home:announcements", compute, HOME_CACHE_SECONDS)


def latest_results(limit: int = HOME_LIST_SIZE) -> list[dict[str, Any]]:
    """The newest results (中选公告), through the public procurement selector."""

    def compute() -> list[dict[str, Any]]:
        _filter, queryset = selectors_public.results({})
        return [
            {
                "pk": p.pk,
                "title": p.title,
                "winner": p.winner_name,
                "published_at": p.result_published_at,
            }
            for p in queryset[:limit]
        ]

    return cache.get_or_set("cms:home:results", compute, HOME_CACHE_SECONDS)


def latest_notices(home, limit: int = HOME_LIST_SIZE):
    """The newest live notices under this home page (in its language)."""
    from .models import NoticePage

    return list(NoticePage.objects.descendant_of(home).live().public().order_by("-date", "-pk")[:limit])


# What the portal's sections are called where an editor has not translated their page (the
# same words as the site navigation, so a fresh site reads right in English too).
SECTION_LABELS = {
    "noticeindexpage": _("新闻公告"),
    "policyindexpage": _("政策文件"),
    "guideindexpage": _("办事指南"),
    "faqpage": _("常见问题"),
}


def sections(home) -> list:
    """The home page's live sections (news, policies, guides, FAQ) for the portal's navigation
    (plain pages: a title and a URL are all the home page needs of them), each with a ``label``
    in the visitor's language: the page's title in Chinese, the section's usual name (translated
    like the site navigation) in other languages."""
    pages = list(
        home.get_children().live().public().in_menu().order_by("path").select_related("content_type")
    )
    chinese = (translation.get_language() or "").startswith("zh")
    for page in pages:
        label = SECTION_LABELS.get(page.content_type.model)
        page.label = page.title if chinese or label is None else str(label)
    return pages


def home_context(home) -> dict[str, Any]:
    from config.views import market_home_context

    from .models import NoticeIndexPage

    home_sections = sections(home)
    notice_type = ContentType.objects.get_for_model(NoticeIndexPage)
    return {
        **market_home_context(),
        "figures": market_figures(),
        "latest_announcements": latest_announcements(),
        "latest_results": latest_results(),
        "latest_notices": latest_notices(home),
        "sections": home_sections,
        "notice_index": next((s for s in home_sections if s.content_type_id == notice_type.pk), None),
        "search_path": SEARCH_PATH,
        "disclosure_links": DISCLOSURE_LINKS,
    }
