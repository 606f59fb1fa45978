"""The portal's skeleton: a home page (cms.HomePage) at the site root in place of Wagtail's
welcome page, its four sections (news, policies, guides, FAQ) and the English locale.

Runs on a fresh database (and again after a test flush): it only replaces the untouched
welcome page, so it never overwrites a portal that editors have built.
"""

import uuid

from django.conf import settings
from django.db import migrations

SECTIONS = [
    ("cms", "noticeindexpage", "新闻公告", "news", "平台发布的通知公告和工作动态。"),
    ("cms", "policyindexpage", "政策文件", "policies", "中介服务管理的法规、规章和规范性文件。"),
    ("cms", "guideindexpage", "办事指南", "guides", "入驻、发布项目、选取中介、投诉举报等事项怎么办。"),
    ("cms", "faqpage", "常见问题", "faq", "中介机构、项目业主和社会公众常问的问题。"),
]


def create_portal(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Page = apps.get_model("wagtailcore", "Page")
    Site = apps.get_model("wagtailcore", "Site")
    Locale = apps.get_model("wagtailcore", "Locale")

    for code, _name in settings.WAGTAIL_CONTENT_LANGUAGES:
        Locale.objects.get_or_create(language_code=code)
    locale = Locale.objects.get(language_code=settings.LANGUAGE_CODE)

    page_type = ContentType.objects.get_for_model(Page)
    welcome = Page.objects.filter(depth=2, content_type=page_type, numchild=0).order_by("path").first()
    site = Site.objects.filter(is_default_site=True).first()
    if welcome is None or site is None or site.root_page_id != welcome.pk:
        return  # a portal is there already (or the tree was changed by hand): leave it alone.
    root = Page.objects.get(depth=1)
    last = Page.objects.filter(depth=2).order_by("-path").first()
    home_path = root.path + _next_step(last.path[-4:])

    def create(app_label, model, path, depth, url_path, **fields):
        content_type, _created = ContentType.objects.get_or_create(app_label=app_label, model=model)
        model_class = apps.get_model(app_label, model)
        return model_class.objects.create(
            content_type=content_type,
            path=path,
            depth=depth,
            url_path=url_path,
            locale=locale,
            live=True,
            has_unpublished_changes=False,
            translation_key=uuid.uuid4(),
            draft_title=fields["title"],
            **fields,
        )

    home = create(
        "cms",
        "homepage",
        home_path,
        2,
        "/home/",
        title="枣庄市网上中介服务超市",
        slug="home",
        numchild=len(SECTIONS),
        intro="中介服务网上选、收费标准网上查、服务过程网上管。",
    )
    for index, (app_label, model, title, slug, intro) in enumerate(SECTIONS, start=1):
        create(
            app_label,
            model,
            home.path + f"{index:04d}",
            3,
            f"/home/{slug}/",
            title=title,
            slug=slug,
            numchild=0,
            show_in_menus=True,
            intro=intro,
        )
    site.root_page_id = home.pk
    site.save(update_fields=["root_page"])
    welcome.delete()


def _next_step(step: str) -> str:
    """The next treebeard path step (base 36, four characters)."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    number = int(step, 36) + 1
    out = ""
    for _i in range(4):
        number, digit = divmod(number, 36)
        out = alphabet[digit] + out
    return out


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0001_initial"),
        ("wagtailcore", "0098_apitoken"),
    ]

    operations = [migrations.RunPython(create_portal, migrations.RunPython.noop)]
