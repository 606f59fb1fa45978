"""The demo portal (``make demo``): sections, the city's reform opinion and other policies, a
guide per selection method, notices and a FAQ, each in Chinese and English; the demo operator
becomes the portal's publisher. Pages go through Wagtail's revisions, as an editor's would.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from wagtail.documents import get_document_model
from wagtail.models import Site

from marketplace.accounts.models import User

from . import demo_content as content
from .models import (
    FaqPage,
    GuideIndexPage,
    GuidePage,
    HomePage,
    NoticeIndexPage,
    NoticePage,
    PolicyIndexPage,
    PolicyPage,
)
from .services import page_translate, portal_editor_grant

OPERATOR_USERNAME = "operator"


def portal_seeded() -> bool:
    return PolicyPage.objects.filter(document_number=content.REFORM_OPINION["document_number"]).exists()


def _home() -> HomePage:
    site = Site.objects.get(is_default_site=True)
    home = site.root_page.specific
    if not isinstance(home, HomePage):
        raise RuntimeError("the site root is not the portal's home page (cms migration 0002)")
    return home


def _section(home: HomePage, model, slug: str):
    return model.objects.child_of(home).get(slug=slug)


def _publish(parent, page, user):
    parent.add_child(instance=page)
    page.save_revision(user=user, log_action=True).publish(user=user)
    return page


def _translate(page, fields: dict) -> None:
    page_translate(page=page, language_code="en", fields=fields)


def _stream(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def _attachment(title: str, filename: str, text: str):
    document = get_document_model()(title=title)
    document.file.save(filename, ContentFile(text.encode("utf-8")), save=False)
    document.save()
    return document


def seed_portal(stdout=None) -> None:
    """Create the demo portal unless it is there; print one line."""
    if portal_seeded():
        if stdout:
            stdout.write("The demo portal is there already: nothing to do.")
        return
    user = User.objects.filter(username=OPERATOR_USERNAME).first()
    with transaction.atomic():
        counts = _seed(user)
    if stdout:
        stdout.write(
            "Portal: {policies} policies, {guides} guides, {notices} notices, FAQ, in Chinese and English; "
            "editors' admin at /cms-admin/".format(**counts)
        )


def _seed(user: User | None) -> dict[str, int]:
    home = _home()
    if user is not None:
        portal_editor_grant(actor=None, user=user, publisher=True)
    title, intro = content.HOME_TRANSLATION
    _translate(home, {"title": title, "intro": intro})
    sections = {
        "news": _section(home, NoticeIndexPage, "news"),
        "policies": _section(home, PolicyIndexPage, "policies"),
        "guides": _section(home, GuideIndexPage, "guides"),
        "faq": _section(home, FaqPage, "faq"),
    }
    for slug, page in sections.items():
        title, intro = content.SECTION_TRANSLATIONS[slug]
        _translate(page, {"title": title, "intro": intro})

    # Policies: the reform opinion (with an attachment) and two more.
    for data in [content.REFORM_OPINION, *content.OTHER_POLICIES]:
        zh, en = data["zh"], data["en"]
        attachments = []
        if data is content.REFORM_OPINION:
            doc = _attachment(
                "中介服务事项清单（演示）",
                "zhongjie-fuwu-qingdan.txt",
                "枣庄市行政审批中介服务事项清单（演示数据）\n见平台“服务事项”栏目。\n",
            )
            attachments = [
                {"type": "document", "value": {"document": doc.pk, "title": "中介服务事项清单（演示）"}}
            ]
        page = PolicyPage(
            title=zh["title"],
            slug=data["slug"],
            issuing_body=zh["issuing_body"],
            document_number=data["document_number"],
            issued_on=data["issued_on"],
            status=data["status"],
            repealed_on=data.get("repealed_on"),
            summary=zh["summary"],
            body=_stream(zh["body"]),
            attachments=_stream(attachments),
        )
        _publish(sections["policies"], page, user)
        _translate(
            page,
            {
                "title": en["title"],
                "issuing_body": en["issuing_body"],
                "summary": en["summary"],
                "body": _stream(en["body"]),
            },
        )

    for data in content.GUIDES:
        zh, en = data["zh"], data["en"]
        page = GuidePage(
            title=zh["title"],
            slug=data["slug"],
            audience=data["audience"],
            summary=zh["summary"],
            body=_stream(zh["body"]),
        )
        _publish(sections["guides"], page, user)
        _translate(page, {"title": en["title"], "summary": en["summary"], "body": _stream(en["body"])})

    for data in content.NOTICES:
        zh, en = data["zh"], data["en"]
        page = NoticePage(
            title=zh["title"],
            slug=data["slug"],
            date=data["date"],
            kind=data["kind"],
            summary=zh["summary"],
            body=_stream(zh["body"]),
        )
        _publish(sections["news"], page, user)
        _translate(page, {"title": en["title"], "summary": en["summary"], "body": _stream(en["body"])})

    # One notice scheduled for next week and one draft: they show in the admin, not on the site.
    scheduled = NoticePage(
        title="关于公布2026年度中介服务好差评结果的公告",
        slug="ratings-2026",
        date=timezone.localdate() + timedelta(days=7),
        kind="notice",
        summary="年度好差评结果汇总公布（定时发布）。",
        body=_stream([content.p("好差评结果见各中介机构主页。")]),
        live=False,
    )
    sections["news"].add_child(instance=scheduled)
    scheduled.go_live_at = timezone.now() + timedelta(days=7)
    scheduled.save_revision(user=user).publish(user=user)
    draft = NoticePage(
        title="关于调整直接选取限额的征求意见稿",
        slug="direct-selection-threshold-draft",
        date=timezone.localdate(),
        kind="notice",
        summary="草稿：尚未发布。",
        body=_stream([content.p("征求意见稿正文待完善。")]),
        live=False,
    )
    sections["news"].add_child(instance=draft)
    draft.save_revision(user=user)

    faq = sections["faq"]
    faq.questions = _stream(
        [
            {"type": "question", "value": {"question": q, "answer": f"<p>{a}</p>"}}
            for q, a in content.FAQ["zh"]
        ]
    )
    faq.save_revision(user=user).publish(user=user)
    _translate(
        faq,
        {
            "questions": _stream(
                [
                    {"type": "question", "value": {"question": q, "answer": f"<p>{a}</p>"}}
                    for q, a in content.FAQ["en"]
                ]
            )
        },
    )
    return {
        "policies": 1 + len(content.OTHER_POLICIES),
        "guides": len(content.GUIDES),
        "notices": len(content.NOTICES),
    }
