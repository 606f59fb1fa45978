"""The portal: a visitor lands on the home page, reads a guide and opens an announcement; an
operator (the portal's publisher) writes and publishes a notice in the Wagtail admin, and the
public sees it."""

from __future__ import annotations

import base64
import re

import pytest
from django_otp.oath import totp

from cms import demo
from cms.models import NoticeIndexPage
from cms.services import portal_editor_grant
from marketplace.accounts.models import Role

from ..factories import MembershipFactory, OrganisationFactory
from ..procurement.factories import published_project
from . import Page, expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PASSWORD = "Pa55word!2026"  # UserFactory's


def _token(secret: str) -> str:
    return f"{totp(base64.b32decode(secret + '=' * (-len(secret) % 8))):06d}"


def test_visitor_reads_a_guide_and_opens_an_announcement(page: Page, screenshot, browser_errors):
    demo.seed_portal()
    project = published_project(title="市中区实验学校扩建工程环境影响评价")

    page.goto("/")
    expect(page.locator("#announcements-title")).to_be_visible()
    expect(page.locator(".zj-portal-figures")).to_contain_text("正在报名的项目")
    screenshot(page, "home")

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="办事指南").click()
    expect(page).to_have_url(re.compile(r"/guides/$"))
    page.get_by_role("link", name="选取方式：随机抽取").click()
    expect(page.locator("h1")).to_have_text("选取方式：随机抽取")
    expect(page.locator("main")).to_contain_text("SHA-256")
    screenshot(page, "guide")

    page.goto("/")
    page.get_by_role("link", name=project.title).click()
    expect(page).to_have_url(re.compile(rf"/projects/{project.pk}/$"))
    expect(page.locator("h1")).to_contain_text(project.title)
    assert browser_errors == []


def test_operator_writes_and_publishes_a_notice(page: Page, browser, live_server, screenshot, browser_errors):
    operator = MembershipFactory(
        organisation=OrganisationFactory(kind=Role.OPERATOR, uscc=None, name="平台运营中心"),
        user__username="bianji",
    ).user
    portal_editor_grant(actor=None, user=operator, publisher=True)
    news = NoticeIndexPage.objects.get(slug="news")

    page.goto("/accounts/login/?next=/cms-admin/")
    page.get_by_label("用户名").fill("bianji")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/setup/"))
    secret = page.locator("#totp-secret").inner_text().strip()
    page.get_by_label("动态验证码").fill(_token(secret))
    page.get_by_role("button", name="验证并启用").click()

    page.goto(f"/cms-admin/pages/add/cms/noticepage/{news.pk}/")
    page.locator("#id_title").fill("关于网上中介服务超市系统维护的通知")
    page.locator("#id_date").fill("2026-12-01")
    page.locator("#id_summary").fill("12月5日22:00至24:00系统维护，暂停报名。")
    screenshot(page, "editor")
    page.locator("footer .dropdown-toggle, [data-w-dropdown-target='toggle']").last.click()
    page.locator("button[name='action-publish']").click()
    expect(page.locator(".messages")).to_contain_text("关于网上中介服务超市系统维护的通知")

    visitor = browser.new_context(base_url=live_server.url, locale="zh-CN").new_page()
    visitor.goto("/news/")
    visitor.get_by_role("link", name="关于网上中介服务超市系统维护的通知").click()
    expect(visitor.locator("main")).to_contain_text("暂停报名")
    visitor.context.close()
    assert browser_errors == []
