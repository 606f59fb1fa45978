"""Each portal page type renders what a visitor needs, within a query budget, in both languages;
unpublished pages are never visible."""

from __future__ import annotations

import datetime
import json
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from wagtail.models import PageViewRestriction

from cms.services import page_translate

from ..conftest import login_as
from .conftest import guide, notice, paragraph, policy

ROLES = ["anonymous", "intermediary", "owner", "department", "regulator", "operator"]


def _as(client, personas, role):
    login_as(client, None if role == "anonymous" else getattr(personas, role))
    return client


def test_notice_index_lists_live_notices_newest_first(client, portal, django_assert_max_num_queries):
    notice(portal.news, "较早的通知", "older", date=datetime.date(2026, 1, 2))
    notice(portal.news, "较新的通知", "newer", date=datetime.date(2026, 4, 2))

    with django_assert_max_num_queries(12):
        response = client.get("/news/")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("较新的通知") < html.index("较早的通知")


def test_notice_index_paginates_and_filters_by_kind(client, portal):
    for n in range(23):
        notice(portal.news, f"第{n:02d}号通知", f"n{n}", date=datetime.date(2026, 1, 1) + timedelta(days=n))
    notice(portal.news, "工作动态一则", "news-1", kind="news", date=datetime.date(2025, 1, 1))

    second = client.get("/news/?page=2").content.decode()
    only_news = client.get("/news/?kind=news").content.decode()

    assert "第00号通知" in second and "第22号通知" not in second  # 24 items, 20 a page, newest first
    assert "工作动态一则" in only_news and "第05号通知" not in only_news


def test_notice_page_shows_date_kind_and_body(client, portal, django_assert_max_num_queries):
    page = notice(portal.news)

    with django_assert_max_num_queries(12):
        response = client.get(page.url)

    html = response.content.decode()
    assert "关于开展中介服务专项检查的通知" in html and "2026-03-01" in html and "检查安排如下" in html
    assert "通知公告" in html


def test_policy_page_shows_issuer_number_date_status_and_attachment(
    client, portal, django_assert_max_num_queries
):
    from django.core.files.base import ContentFile
    from wagtail.documents import get_document_model

    document = get_document_model()(title="中介服务事项清单")
    document.file.save("qingdan.txt", ContentFile(b"list"), save=False)
    document.save()
    page = policy(
        portal.policies,
        attachments=json.dumps([{"type": "document", "value": {"document": document.pk, "title": "附件一"}}]),
    )

    with django_assert_max_num_queries(14):
        response = client.get(page.url)

    html = response.content.decode()
    for text in (
        "枣庄市人民政府办公室",
        "枣政办字〔2019〕21号",
        "2019-07-24",
        "现行有效",
        "附件一",
        document.url,
    ):
        assert text in html


def test_policy_index_filters_by_status_and_issuer(client, portal, django_assert_max_num_queries):
    policy(portal.policies)
    policy(
        portal.policies,
        "运行管理规则（试行）",
        "trial",
        issuing_body="枣庄市行政审批服务局",
        document_number="",
        status="repealed",
        repealed_on=datetime.date(2023, 12, 31),
    )

    with django_assert_max_num_queries(14):
        repealed = client.get("/policies/?status=repealed").content.decode()
    by_issuer = client.get("/policies/", {"issuer": "枣庄市人民政府办公室"}).content.decode()

    assert "运行管理规则（试行）" in repealed and "枣政办字〔2019〕21号" not in repealed
    assert "枣政办字〔2019〕21号" in by_issuer and "运行管理规则（试行）" not in by_issuer


def test_repealed_policy_needs_its_repeal_date(portal):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        policy(portal.policies, status="repealed")

    assert "repealed_on" in error.value.message_dict


def test_guide_index_and_guide_render_their_blocks(client, portal, django_assert_max_num_queries):
    page = guide(portal.guides)
    guide(portal.guides, "中介机构如何入驻", "register", audience="intermediary")

    with django_assert_max_num_queries(12):
        index = client.get("/guides/?audience=owner").content.decode()
    with django_assert_max_num_queries(12):
        detail = client.get(page.url).content.decode()

    assert "选取方式：随机抽取" in index and "中介机构如何入驻" not in index
    for text in ("怎么选", "承诺密钥", "抽取可验证", 'href="/projects/"'):
        assert text in detail


def test_faq_page_renders_questions(client, portal, django_assert_max_num_queries):
    faq = portal.faq
    faq.questions = json.dumps(
        [{"type": "question", "value": {"question": "外地机构可以入驻吗？", "answer": "<p>可以。</p>"}}]
    )
    faq.save_revision().publish()

    with django_assert_max_num_queries(10):
        html = client.get("/faq/").content.decode()

    assert "<summary>外地机构可以入驻吗？</summary>" in html


def test_english_visitor_reads_the_translation_at_the_same_address(client, portal):
    page = guide(portal.guides)
    page_translate(
        page=page, language_code="en", fields={"title": "Selection method: random draw", "summary": "A draw."}
    )

    client.cookies["django_language"] = "en"
    english = client.get("/guides/random-draw/").content.decode()
    client.cookies["django_language"] = "zh-hans"
    chinese = client.get("/guides/random-draw/").content.decode()

    assert "Selection method: random draw" in english and "Service guides" not in chinese
    assert "选取方式：随机抽取" in chinese


def test_untranslated_page_falls_back_to_chinese_for_english_visitors(client, portal):
    guide(portal.guides)

    client.cookies["django_language"] = "en"
    response = client.get("/guides/random-draw/")

    assert response.status_code == 200 and "选取方式：随机抽取" in response.content.decode()


# --- unpublished pages ----------------------------------------------------------------------------


def _hidden_pages(portal):
    draft = notice(portal.news, "草稿通知", "draft", publish=False)
    scheduled = notice(portal.news, "定时通知", "scheduled", publish=False)
    scheduled.go_live_at = timezone.now() + timedelta(days=3)
    scheduled.save_revision().publish()
    withdrawn = notice(portal.news, "已撤回通知", "withdrawn")
    withdrawn.unpublish()
    private = notice(portal.news, "内部通知", "private")
    PageViewRestriction.objects.create(page=private, restriction_type=PageViewRestriction.LOGIN)
    return {"draft": draft, "scheduled": scheduled, "withdrawn": withdrawn}, private


@pytest.mark.parametrize("role", ROLES)
def test_unpublished_pages_are_never_visible(client, portal, personas, role):
    hidden, _private = _hidden_pages(portal)
    visible = notice(portal.news, "正式通知", "live")
    client = _as(client, personas, role)

    listing = client.get("/news/").content.decode()
    home = client.get("/").content.decode()

    assert "正式通知" in listing and client.get(visible.url).status_code == 200
    for key, page in hidden.items():
        assert client.get(f"/news/{page.slug}/").status_code == 404, key
        assert page.title not in listing and page.title not in home, key


def test_login_restricted_page_is_not_listed_for_the_public(client, portal):
    _hidden, private = _hidden_pages(portal)

    listing = client.get("/news/").content.decode()
    response = client.get("/news/private/")

    assert "内部通知" not in listing
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_scheduled_notice_goes_live_when_the_task_runs(client, portal):
    from cms.tasks import publish_scheduled

    page = notice(portal.news, "定时通知", "scheduled", publish=False)
    page.go_live_at = timezone.now() + timedelta(minutes=5)
    page.save_revision().publish()
    assert client.get("/news/scheduled/").status_code == 404

    later = timezone.now() + timedelta(minutes=6)
    with mock.patch("django.utils.timezone.now", return_value=later):
        publish_scheduled()

    assert client.get("/news/scheduled/").status_code == 200


def test_rich_text_from_the_editor_is_sanitised():
    """What editors type goes through Wagtail's converter limited to the portal's features."""
    from wagtail.admin.rich_text.converters.contentstate import ContentstateConverter

    from cms.blocks import RICH_TEXT_FEATURES

    converter = ContentstateConverter(features=RICH_TEXT_FEATURES)
    hostile = '<p onclick="x()">正文<script>alert(1)</script><a href="javascript:alert(1)">链接</a><img src="x"/></p>'

    stored = converter.to_database_format(converter.from_database_format(hostile))

    assert "正文" in stored
    for bad in ("<script", "onclick", "javascript:", "<img"):
        assert bad not in stored


def test_link_block_refuses_addresses_outside_the_site():
    from wagtail.blocks import StructBlockValidationError

    from cms.blocks import LinkBlock

    block = LinkBlock()
    for url in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        with pytest.raises(StructBlockValidationError):
            block.clean(block.to_python({"text": "x", "page": None, "url": url}))
    assert (
        block.clean(block.to_python({"text": "x", "page": None, "url": "/projects/"}))["url"] == "/projects/"
    )


def test_paragraph_helper_is_valid_streamfield_json():
    assert json.loads(paragraph("<p>x</p>"))[0]["type"] == "paragraph"


def test_a_chinese_title_without_slug_gets_a_dated_ascii_slug(portal):
    from cms.models import NoticePage

    first = NoticePage(title="关于系统维护的通知", date=datetime.date(2026, 3, 1))
    second = NoticePage(title="关于系统维护的通知", date=datetime.date(2026, 3, 1))
    portal.news.add_child(instance=first)
    portal.news.add_child(instance=second)

    today = timezone.localdate().strftime("%Y%m%d")
    assert first.slug == f"notice-{today}" and second.slug == f"notice-{today}-2"
