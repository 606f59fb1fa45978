"""Feeds and sitemap parse as XML and list only what is public; the portal home shows the live
market figures and latest announcements, and falls back to the market home without it."""

from __future__ import annotations

import datetime
from decimal import Decimal
from urllib.parse import urlparse

import pytest
from defusedxml import ElementTree as ET
from django.utils import timezone

from marketplace.procurement.models import Contract

from ..procurement.factories import published_project
from .conftest import notice

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture
def market(db):
    live = published_project(title="市中区学校改扩建工程环境影响评价")
    draft_owner_project = published_project(title="尚在审核的项目")
    draft_owner_project.status = "under_check"
    draft_owner_project.save(update_fields=["status"])
    return live, draft_owner_project


def test_notice_feeds_list_live_notices_only(client, portal):
    notice(portal.news, "正式通知", "live", date=datetime.date(2026, 2, 1))
    notice(portal.news, "草稿通知", "draft", publish=False)

    rss = ET.fromstring(client.get("/feeds/notices.rss").content)
    atom = ET.fromstring(client.get("/feeds/notices.atom").content)

    assert rss.tag == "rss" and [i.findtext("title") for i in rss.iter("item")] == ["正式通知"]
    assert rss.find("channel/item/link").text.endswith("/news/live/")
    assert [e.findtext(f"{ATOM}title") for e in atom.iter(f"{ATOM}entry")] == ["正式通知"]


def test_announcement_feeds_list_public_projects_only(client, market, django_assert_max_num_queries):
    live, hidden = market

    with django_assert_max_num_queries(3):
        rss = ET.fromstring(client.get("/feeds/announcements.rss").content)
    atom = ET.fromstring(client.get("/feeds/announcements.atom").content)

    titles = [i.findtext("title") for i in rss.iter("item")]
    assert titles == [f"{live.title}（{live.public_number}）"]
    assert rss.find("channel/item/link").text.endswith(f"/projects/{live.pk}/")
    assert len(list(atom.iter(f"{ATOM}entry"))) == 1


def test_sitemap_lists_public_pages_projects_and_lists_not_drafts(
    client, portal, market, django_assert_max_num_queries
):
    live, hidden = market
    notice(portal.news, "正式通知", "live")
    for n in range(5):
        notice(portal.news, f"通知{n}", f"n{n}")
    notice(portal.news, "草稿通知", "draft", publish=False)

    # One query per page type, whatever the number of pages.
    with django_assert_max_num_queries(20):
        response = client.get("/sitemap.xml")
    root = ET.fromstring(response.content)

    locations = {urlparse(loc.text).path for loc in root.iter(f"{SITEMAP}loc")}
    assert root.tag == f"{SITEMAP}urlset"
    assert {
        "/",
        "/news/",
        "/news/live/",
        "/guides/",
        "/projects/",
        "/results/",
        "/fees/",
        f"/projects/{live.pk}/",
    } <= locations
    assert "/news/draft/" not in locations and f"/projects/{hidden.pk}/" not in locations


def test_portal_home_shows_live_figures_announcements_and_disclosure_links(
    client, portal, market, personas, django_assert_max_num_queries
):
    live, _hidden = market
    signed = published_project(title="已签约的项目")
    signed.status = "contracting"
    signed.save(update_fields=["status"])
    Contract.objects.create(
        project=signed,
        intermediary=personas.firm,
        uploaded_by_org=signed.owner,
        amount=Decimal("88000.00"),
        document="contracts/x.pdf",
        uploaded_at=timezone.now(),
        confirmed_at=timezone.now(),
    )
    notice(portal.news, "首页通知", "home-notice")

    # Cold cache: the figures and lists are computed once (a fixed number of queries).
    with django_assert_max_num_queries(25):
        response = client.get("/")
    html = response.content.decode()

    assert response.status_code == 200
    assert live.title in html and "尚在审核的项目" not in html and "首页通知" in html
    assert 'action="/search/"' in html and 'name="q"' in html
    for path in ("/disclosure/blacklist/", "/disclosure/cases/", "/disclosure/inspections/"):
        assert f'href="{path}"' in html
    figures = html[html.index("zj-portal-figures") :]
    assert '<span class="zj-figure-number">1</span>' in figures  # one open project, one contract
    assert "88,000" in figures


def test_home_figures_are_cached_between_visits(client, portal, market, django_assert_max_num_queries):
    client.get("/")
    other = client.__class__()

    published_project(title="缓存期内新发布的项目")
    with django_assert_max_num_queries(18):
        html = other.get("/").content.decode()

    assert "缓存期内新发布的项目" not in html  # cached for cms.selectors.HOME_CACHE_SECONDS


def test_home_falls_back_to_the_market_home_when_the_portal_home_is_unpublished(client, portal):
    portal.home.unpublish()

    response = client.get("/")

    assert response.status_code == 200
    assert (
        "找中介，上超市" in response.content.decode() and "zj-portal-figures" not in response.content.decode()
    )


def test_existing_routes_are_not_shadowed_by_portal_pages(client, portal):
    from cms.models import NoticeIndexPage

    from .conftest import add_page

    add_page(portal.home, NoticeIndexPage(title="冒名栏目", slug="projects"))

    assert "冒名栏目" not in client.get("/projects/").content.decode()
