"""A visitor searches the market: everyday words, facets and suggestions, without page reloads."""

from __future__ import annotations

import pytest

from search.backends.database import DatabaseBackend

from ..search.conftest import market, reindex  # noqa: F401 (fixture)
from . import Page, expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def test_a_visitor_narrows_a_search_with_facets_and_suggestions(page: Page, market, screenshot):  # noqa: F811
    reindex(DatabaseBackend())
    page.goto("/search/?q=环评")
    hits = page.locator("article.search-hit")
    expect(hits).to_have_count(4)  # two firms and their two offers
    page.evaluate("window.__notReloaded = true")

    page.get_by_label("服务项目").check()
    expect(hits).to_have_count(2)
    expect(page.locator("#search-total")).to_contain_text("找到 2 条结果")
    assert "kind=offer" in page.url
    assert page.evaluate("window.__notReloaded === true")  # htmx swapped the results in place

    page.locator("#search-q").fill("环境")
    expect(page.locator("#search-suggestions option[value='环境影响评价']")).to_have_count(1)
    screenshot(page, "search-results")
