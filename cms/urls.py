"""The portal's own routes: feeds and sitemap. The pages themselves are served by Wagtail's
catch-all (``wagtail_urls``, last in ``config/urls.py``)."""

from django.contrib.sitemaps.views import sitemap
from django.urls import path

from . import feeds
from .sitemaps import sitemaps

app_name = "cms"


def sitemap_xml(request):
    return sitemap(request, sitemaps=sitemaps(request))


urlpatterns = [
    path("sitemap.xml", sitemap_xml, name="sitemap"),
    path("feeds/notices.rss", feeds.NoticeFeed(), name="notices-rss"),
    path("feeds/notices.atom", feeds.NoticeAtomFeed(), name="notices-atom"),
    path("feeds/announcements.rss", feeds.AnnouncementFeed(), name="announcements-rss"),
    path("feeds/announcements.atom", feeds.AnnouncementAtomFeed(), name="announcements-atom"),
]
