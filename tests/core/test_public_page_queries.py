"""The busiest public pages run the same number of queries whatever the size of the market
(STYLE 14): each page is rendered from scratch (empty cache, anonymous visitor) on a small
market, the market grows past a page's worth of rows, and the page is rendered again. A page
that starts querying per row (or per firm, offer, project or notice) fails at once."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cms.models import NoticeIndexPage, NoticePage
from marketplace.providers.models import Intermediary

from ..cms.conftest import add_page, paragraph
from ..factories import IntermediaryFactory, OfferFactory, ServiceTypeFactory
from ..procurement.factories import operator_user, owner_user, published_project

S = Intermediary.Status


def _render_from_scratch(path: str) -> int:
    cache.clear()  # neither the page cache nor the home page's cached figures help
    with CaptureQueriesContext(connection) as queries:
        response = Client().get(path)
    assert response.status_code == 200
    return len(queries)


class _Market:
    def __init__(self):
        self.types = [ServiceTypeFactory() for _ in range(3)]
        self.owner, self.operator = owner_user(), operator_user()
        self.news = NoticeIndexPage.objects.get(slug="news")
        self.firms = self.projects = self.notices = 0

    def grow(self, firms: int, projects: int, notices: int) -> None:
        for _ in range(firms):
            firm = IntermediaryFactory(status=S.LISTED if self.firms % 2 else S.LISTED_UNDER_REVIEW)
            for service_type in self.types[: 1 + self.firms % 3]:
                OfferFactory(intermediary=firm, service_type=service_type)
            self.firms += 1
        for _ in range(projects):
            published_project(
                owner=self.owner,
                operator=self.operator,
                service_type=self.types[self.projects % 3],
                title=f"市中区第{self.projects + 1}号道路工程环境影响评价",
            )
            self.projects += 1
        for _ in range(notices):
            self.notices += 1
            add_page(
                self.news,
                NoticePage(
                    title=f"第{self.notices}号通知",
                    slug=f"notice-{self.notices}",
                    date=datetime.date(2026, 3, 1) + datetime.timedelta(days=self.notices),
                    summary="通知摘要。",
                    body=paragraph("<p>通知正文。</p>"),
                ),
            )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/", id="portal home"),
        pytest.param("/projects/", id="announcements"),
        pytest.param("/providers/", id="directory"),
    ],
)
def test_a_public_page_runs_as_many_queries_for_a_large_market_as_for_a_small_one(path):
    market = _Market()
    market.grow(firms=2, projects=2, notices=1)
    _render_from_scratch(path)  # per-process caches (content types, Wagtail's site) fill once
    small = _render_from_scratch(path)

    market.grow(firms=28, projects=23, notices=9)  # past the 20 rows of a list page, 6 on the home
    large = _render_from_scratch(path)

    assert large == small, f"{path}: {small} queries for 2 firms and 2 projects, {large} for 30 and 25"
