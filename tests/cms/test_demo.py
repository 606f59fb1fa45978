"""``make demo`` builds a portal with the city's reform opinion and a guide per selection method,
in both languages."""

from __future__ import annotations

import datetime

from cms import demo
from cms.models import GuidePage, NoticePage, PolicyPage

METHOD_GUIDES = {
    "direct-selection",
    "random-draw",
    "lowest-price",
    "reference-price",
    "credit-preference",
    "scored-comparison",
}


def test_demo_portal_has_the_reform_opinion_and_a_guide_per_method(client, portal):
    demo.seed_portal()

    opinion = PolicyPage.objects.get(locale__language_code="zh-hans", document_number="枣政办字〔2019〕21号")
    guides = set(
        GuidePage.objects.filter(locale__language_code="zh-hans").live().values_list("slug", flat=True)
    )
    html = client.get(opinion.url).content.decode()

    assert opinion.live and opinion.issued_on == datetime.date(2019, 7, 24) and opinion.status == "in_force"
    assert opinion.issuing_body == "枣庄市人民政府办公室" and opinion.attachments
    assert METHOD_GUIDES <= guides and {"register", "post-a-project", "complaints"} <= guides
    assert "十四、放开中介服务市场" in html


def test_demo_portal_is_complete_in_english(client, portal):
    demo.seed_portal()

    client.cookies["django_language"] = "en"
    guides = client.get("/guides/").content.decode()
    opinion = client.get("/policies/zaozhengbanzi-2019-21/").content.decode()

    for zh in GuidePage.objects.filter(locale__language_code="zh-hans"):
        english = zh.get_translation(zh.locale.__class__.objects.get(language_code="en"))
        assert english.live and english.title != zh.title
        assert english.title in guides
    assert "Open the intermediary-service market" in opinion and "枣政办字〔2019〕21号" in opinion


def test_demo_portal_keeps_a_draft_and_a_scheduled_notice_off_the_site(client, portal):
    demo.seed_portal()

    hidden = NoticePage.objects.filter(live=False)
    listing = client.get("/news/").content.decode()

    assert hidden.count() == 2 and hidden.filter(go_live_at__isnull=False).count() == 1
    for page in hidden:
        assert page.title not in listing


def test_demo_portal_is_seeded_once(portal):
    demo.seed_portal()
    count = PolicyPage.objects.count()

    demo.seed_portal()

    assert PolicyPage.objects.count() == count
