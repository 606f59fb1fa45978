"""RSS and Atom feeds: the portal's notices (新闻公告) and the market's announcements (采购公告)."""

from __future__ import annotations

import datetime

from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _
from wagtail.models import Site

from marketplace.procurement import selectors as procurement_selectors

from .models import NoticePage

FEED_SIZE = 30


class NoticeFeed(Feed):
    title = _("枣庄市网上中介服务超市 · 新闻公告")
    description = _("平台发布的通知公告和工作动态。")

    def link(self):
        return reverse("home")

    def get_object(self, request, *args, **kwargs):
        return Site.find_for_request(request)

    def items(self, site):
        if site is None:
            return []
        root = site.root_page.localized
        return list(
            NoticePage.objects.descendant_of(root).live().public().order_by("-date", "-pk")[:FEED_SIZE]
        )

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return item.summary

    def item_link(self, item):
        return item.get_url()

    def item_pubdate(self, item):
        return timezone.make_aware(datetime.datetime.combine(item.date, datetime.time(9)))

    def item_updateddate(self, item):
        return item.last_published_at


class NoticeAtomFeed(NoticeFeed):
    feed_type = Atom1Feed
    subtitle = NoticeFeed.description


class AnnouncementFeed(Feed):
    title = _("枣庄市网上中介服务超市 · 采购公告")
    description = _("项目业主发布、平台审核后公开的中介服务采购项目。")

    def link(self):
        return reverse("procurement:announcements")

    def items(self):
        _filter, queryset = procurement_selectors.announcements({})
        return list(queryset[:FEED_SIZE])

    def item_title(self, item):
        return f"{item.title}（{item.public_number}）"

    def item_description(self, item):
        return f"{item.owner.name} · {item.service_type.name} · {item.get_method_display()} · {item.get_status_display()}"

    def item_link(self, item):
        return reverse("procurement:project", args=[item.pk])

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at


class AnnouncementAtomFeed(AnnouncementFeed):
    feed_type = Atom1Feed
    subtitle = AnnouncementFeed.description
