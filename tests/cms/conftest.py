"""The portal as a fresh migrate leaves it (home and four sections, cms migration 0002), and
helpers to add pages through Wagtail's revisions as an editor would."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass

import pytest
from wagtail.models import Site

from cms.models import (
    FaqPage,
    GuideIndexPage,
    GuidePage,
    HomePage,
    NoticeIndexPage,
    NoticePage,
    PolicyIndexPage,
    PolicyPage,
)


@dataclass
class Portal:
    home: HomePage
    news: NoticeIndexPage
    policies: PolicyIndexPage
    guides: GuideIndexPage
    faq: FaqPage


@pytest.fixture
def portal(db) -> Portal:
    home = Site.objects.get(is_default_site=True).root_page.specific
    return Portal(
        home=home,
        news=NoticeIndexPage.objects.child_of(home).get(),
        policies=PolicyIndexPage.objects.child_of(home).get(),
        guides=GuideIndexPage.objects.child_of(home).get(),
        faq=FaqPage.objects.child_of(home).get(),
    )


def paragraph(html: str) -> str:
    return json.dumps([{"type": "paragraph", "value": html}])


def add_page(parent, page, *, publish: bool = True):
    page.live = False  # a new page is live by default in Wagtail; editors' pages start as drafts
    parent.add_child(instance=page)
    revision = page.save_revision()
    if publish:
        revision.publish()
        page.refresh_from_db()
    return page


def notice(parent, title="关于开展中介服务专项检查的通知", slug="inspection", *, publish=True, **fields):
    defaults = {
        "date": datetime.date(2026, 3, 1),
        "summary": "专项检查安排。",
        "body": paragraph("<p>检查安排如下。</p>"),
    }
    return add_page(parent, NoticePage(title=title, slug=slug, **{**defaults, **fields}), publish=publish)


def policy(
    parent, title="枣庄市人民政府办公室关于深化改革的实施意见", slug="reform", *, publish=True, **fields
):
    defaults = {
        "issuing_body": "枣庄市人民政府办公室",
        "document_number": "枣政办字〔2019〕21号",
        "issued_on": datetime.date(2019, 7, 24),
        "body": paragraph("<p>放开中介服务市场。</p>"),
    }
    return add_page(parent, PolicyPage(title=title, slug=slug, **{**defaults, **fields}), publish=publish)


def guide(parent, title="选取方式：随机抽取", slug="random-draw", *, publish=True, **fields):
    defaults = {
        "audience": "owner",
        "summary": "在合格报名机构中随机抽取。",
        "body": json.dumps(
            [
                {"type": "heading", "value": "怎么选"},
                {
                    "type": "steps",
                    "value": {"title": "步骤", "steps": [{"title": "承诺密钥", "text": "发布时公开摘要。"}]},
                },
                {"type": "notice", "value": {"kind": "basis", "text": "<p>抽取可验证。</p>"}},
                {"type": "link", "value": {"text": "查看采购公告", "page": None, "url": "/projects/"}},
            ]
        ),
    }
    return add_page(parent, GuidePage(title=title, slug=slug, **{**defaults, **fields}), publish=publish)
