"""The public page cache (marketplace/core/pagecache.py): anonymous visitors of the home, the
announcements and the directory are served a stored page, with their own CSRF token; signed-in
users never are; languages, filters and pages are stored apart; new projects and firms show
once the cache time is over."""

from __future__ import annotations

import re
import threading
import time

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from cms.models import NoticeIndexPage
from marketplace.core import pagecache
from marketplace.providers.models import Intermediary

from ..cms.conftest import notice
from ..factories import IntermediaryFactory, OfferFactory, ServiceTypeFactory
from ..procurement.factories import published_project

PAGES = ["/", "/projects/", "/providers/"]
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def market(db):
    firm = IntermediaryFactory(name="鲁信工程咨询有限公司", status=Intermediary.Status.LISTED)
    OfferFactory(intermediary=firm)
    project = published_project(title="市中区学校改扩建工程环境影响评价")
    return firm, project


def _later(monkeypatch, seconds: float) -> None:
    """Move the page cache's clock forward (the stored pages' age; Django's own expiry is
    longer than the cache time, so the stored page is still there, and stale)."""
    real = time.time
    monkeypatch.setattr(pagecache, "_now", lambda: real() + seconds)


@pytest.mark.parametrize("path", PAGES)
def test_a_second_anonymous_visit_is_served_without_a_query(path, market, django_assert_num_queries):
    first = Client().get(path)

    with django_assert_num_queries(0):
        second = Client().get(path)

    assert first.status_code == second.status_code == 200
    assert TOKEN.sub("", first.content.decode()) == TOKEN.sub("", second.content.decode())


@pytest.mark.parametrize("path", PAGES)
def test_each_visitor_gets_a_working_csrf_token_of_their_own(path, market):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first_page = first.get(path).content.decode()
    second_page = second.get(path).content.decode()  # from the cache
    [first_token] = set(TOKEN.findall(first_page))
    [second_token] = set(TOKEN.findall(second_page))

    # The language switch on the cached page works with the visitor's own token and cookie.
    switched = second.post(
        reverse("set_language"), {"language": "en", "next": path, "csrfmiddlewaretoken": second_token}
    )

    assert first_token != second_token and pagecache.CSRF_PLACEHOLDER not in first_page + second_page
    assert switched.status_code == 302 and switched.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "csrftoken" in second.cookies


@pytest.mark.parametrize("path", PAGES)
def test_an_anonymous_visit_starts_no_session(path, market):
    client = Client()
    client.get(path)
    response = client.get(path)

    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert settings.SESSION_COOKIE_NAME not in client.cookies


@pytest.mark.parametrize("path", PAGES)
def test_a_signed_in_user_is_never_served_a_cached_page(path, market, client, login, personas):
    user = personas.intermediary
    user.full_name = "张晓明"
    user.save(update_fields=["full_name"])
    Client().get(path)  # an anonymous visit stores the page

    login(client, user)
    signed_in = client.get(path).content.decode()
    anonymous_after = Client().get(path).content.decode()

    assert "张晓明" in signed_in
    assert "张晓明" not in anonymous_after  # nor was the signed-in page stored for anyone


def test_languages_are_stored_apart(market):
    english = Client()
    english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    for path in PAGES:
        zh_first = Client().get(path).content.decode()
        en_page = english.get(path).content.decode()
        zh_again = Client().get(path).content.decode()
        en_by_header = Client().get(path, headers={"accept-language": "en"}).content.decode()

        assert '<html lang="zh-hans">' in zh_first and '<html lang="zh-hans">' in zh_again, path
        assert '<html lang="en">' in en_page and '<html lang="en">' in en_by_header, path
    assert "Procurement announcements" in english.get("/projects/").content.decode()
    assert "Procurement announcements" not in Client().get("/projects/").content.decode()


def test_filters_and_pages_are_stored_apart(db):
    wanted, other = ServiceTypeFactory(), ServiceTypeFactory()
    OfferFactory(service_type=wanted, intermediary=IntermediaryFactory(name="测绘院有限公司"))
    OfferFactory(service_type=other, intermediary=IntermediaryFactory(name="环评中心有限公司"))

    everyone = Client().get("/providers/").content.decode()
    filtered = Client().get("/providers/", {"service_type": wanted.code}).content.decode()

    assert "测绘院有限公司" in everyone and "环评中心有限公司" in everyone
    assert "测绘院有限公司" in filtered and "环评中心有限公司" not in filtered


def test_a_new_announcement_and_a_new_firm_show_once_the_cache_time_is_over(market, monkeypatch):
    for path in PAGES:
        Client().get(path)
    published_project(title="峄城区道路建设项目水土保持方案编制")
    OfferFactory(
        intermediary=IntermediaryFactory(name="新上架测绘有限公司", status=Intermediary.Status.LISTED)
    )

    within = {path: Client().get(path).content.decode() for path in ("/projects/", "/providers/")}
    _later(monkeypatch, settings.PUBLIC_PAGE_CACHE_SECONDS + 1)
    after = {path: Client().get(path).content.decode() for path in ("/projects/", "/providers/")}

    assert "峄城区道路建设项目水土保持方案编制" not in within["/projects/"]
    assert "新上架测绘有限公司" not in within["/providers/"]
    assert "峄城区道路建设项目水土保持方案编制" in after["/projects/"]
    assert "新上架测绘有限公司" in after["/providers/"]


def test_a_new_portal_notice_shows_on_the_home_once_the_cache_time_is_over(market, monkeypatch):
    Client().get("/")
    notice(NoticeIndexPage.objects.get(slug="news"), "关于系统维护的通知", "maintenance")

    within = Client().get("/").content.decode()
    _later(monkeypatch, settings.PUBLIC_PAGE_CACHE_SECONDS + 1)
    after = Client().get("/").content.decode()

    assert "关于系统维护的通知" not in within and "关于系统维护的通知" in after


def test_a_stale_page_is_served_while_another_request_renders_it_anew(
    market, monkeypatch, django_assert_num_queries
):
    Client().get("/projects/")
    published_project(title="峄城区道路建设项目水土保持方案编制")
    _later(monkeypatch, settings.PUBLIC_PAGE_CACHE_SECONDS + 1)
    with translation.override(settings.LANGUAGE_CODE):
        key = pagecache.cache_key(RequestFactory().get("/projects/"))
    cache.add(f"{key}:lock", 1, 10)  # another request is rendering the page

    with django_assert_num_queries(0):
        meanwhile = Client().get("/projects/").content.decode()
    cache.delete(f"{key}:lock")
    then = Client().get("/projects/").content.decode()

    assert "市中区学校改扩建工程环境影响评价" in meanwhile
    assert "峄城区道路建设项目水土保持方案编制" not in meanwhile
    assert "峄城区道路建设项目水土保持方案编制" in then


def test_with_no_stored_page_a_visitor_waits_for_the_render_under_way_instead_of_rendering(
    market, django_assert_num_queries
):
    Client().get("/projects/")
    with translation.override(settings.LANGUAGE_CODE):
        key = pagecache.cache_key(RequestFactory().get("/projects/"))
    rendered = cache.get(key)
    cache.delete(key)
    cache.add(f"{key}:lock", 1, 10)  # another request is rendering the page, none is stored
    finishing = threading.Timer(0.3, lambda: cache.set(key, rendered, 60))  # ... and stores it
    finishing.start()

    with django_assert_num_queries(0):
        response = Client().get("/projects/")
    finishing.join()

    assert "市中区学校改扩建工程环境影响评价" in response.content.decode()


def test_a_visitor_waiting_for_a_render_that_stores_nothing_renders_the_page_itself(market):
    with translation.override(settings.LANGUAGE_CODE):
        key = pagecache.cache_key(RequestFactory().get("/projects/"))
    cache.add(f"{key}:lock", 1, 10)
    giving_up = threading.Timer(0.3, lambda: cache.delete(f"{key}:lock"))
    giving_up.start()

    response = Client().get("/projects/")
    giving_up.join()

    assert "市中区学校改扩建工程环境影响评价" in response.content.decode()


def test_the_cache_is_off_at_zero_seconds(market, settings):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0
    Client().get("/projects/")
    published_project(title="峄城区道路建设项目水土保持方案编制")

    assert "峄城区道路建设项目水土保持方案编制" in Client().get("/projects/").content.decode()


# What is never stored: answers that set a cookie, hold a token the view asked for itself,
# are private, or are not a plain 200.


def _counting_view(make_response):
    calls = []

    @pagecache.public_page
    def view(request):
        calls.append(1)
        return make_response(request)

    return view, calls


def _visit(view, path="/thing/"):
    request = RequestFactory().get(path)
    request.user = AnonymousUser()
    return view(request)


@pytest.mark.parametrize(
    "make_response",
    [
        pytest.param(lambda r: _with_cookie(HttpResponse("页面")), id="sets a cookie"),
        pytest.param(lambda r: HttpResponse(f"token {get_token(r)}"), id="asks for a token itself"),
        pytest.param(lambda r: _private(HttpResponse("页面")), id="private"),
        pytest.param(lambda r: HttpResponse("没有", status=404), id="not found"),
    ],
)
def test_answers_that_are_not_for_everyone_are_never_stored(make_response):
    view, calls = _counting_view(make_response)

    first, second = _visit(view), _visit(view)

    assert len(calls) == 2
    assert pagecache.CSRF_PLACEHOLDER.encode() not in first.content + second.content


def test_a_plain_page_is_stored(db):
    view, calls = _counting_view(lambda r: HttpResponse("页面"))

    _visit(view)
    _visit(view)

    assert len(calls) == 1


def test_a_visitor_with_a_session_is_never_served_a_stored_page(db):
    view, calls = _counting_view(lambda r: HttpResponse("页面"))
    _visit(view)
    request = RequestFactory().get("/thing/")
    request.COOKIES[settings.SESSION_COOKIE_NAME] = "abc"

    view(request)

    assert len(calls) == 2


def _with_cookie(response):
    response.set_cookie("seen", "1")
    return response


def _private(response):
    response["Cache-Control"] = "private"
    return response
