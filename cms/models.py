"""Portal pages (门户): home, news and notices, policy documents, service guides and FAQ.

Pages are edited by operators in the Wagtail admin (``/cms-admin/``) with Wagtail's
moderation workflow, scheduling and revisions. Listings show live, public pages only, in the
visitor's language (the translation when there is one; see docs/portal.md).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import models
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page
from wagtail.search import index

from .blocks import DocumentBlock, QuestionBlock, body_blocks
from .forms import PortalPageForm, dated_slug

LIST_PAGE_SIZE = 20


def _page_of(request, queryset):
    return Paginator(queryset, LIST_PAGE_SIZE).get_page(request.GET.get("page"))


class PortalPageMixin:
    """Breadcrumbs for the pages below the home page (the home and its sections need none), and
    an ASCII slug for a Chinese title: Wagtail derives the slug from the title, which gives
    nothing for Chinese with ``WAGTAIL_ALLOW_UNICODE_SLUGS`` off, so an editor who leaves the
    slug empty gets ``notice-20261130`` (then ``-2``, ``-3``...) instead of an error."""

    base_form_class = PortalPageForm

    def _set_core_field_defaults(self):
        parent = getattr(self, "_cached_parent_obj", None) or (self.get_parent() if self.path else None)
        if not self.slug and parent is not None and self.title and not slugify(self.title):
            self.slug = dated_slug(self._meta.model_name, parent, self)
        super()._set_core_field_defaults()

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["breadcrumbs"] = list(self.get_ancestors().filter(depth__gt=2)) if self.depth > 3 else []
        return context


class HomePage(Page):
    """门户首页: the market's figures and latest announcements come from live data
    (``cms.selectors``); editors write the introduction and pick nothing else."""

    intro = models.TextField(_("导语"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["cms.NoticeIndexPage", "cms.PolicyIndexPage", "cms.GuideIndexPage", "cms.FaqPage"]
    template = "cms/home_page.html"

    class Meta:
        verbose_name = _("门户首页")

    def get_context(self, request, *args, **kwargs):
        from . import selectors

        context = super().get_context(request, *args, **kwargs)
        context.update(selectors.home_context(self))
        return context


class NoticeIndexPage(PortalPageMixin, Page):
    """新闻公告 栏目: the notices below it, newest first, paginated."""

    intro = models.TextField(_("导语"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.NoticePage"]
    template = "cms/notice_index_page.html"

    class Meta:
        verbose_name = _("新闻公告栏目")

    def notices(self):
        return NoticePage.objects.child_of(self).live().public().order_by("-date", "-pk")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        queryset = self.notices()
        kind = request.GET.get("kind", "")
        if kind in NoticePage.Kind.values:
            queryset = queryset.filter(kind=kind)
        context.update(page_obj=_page_of(request, queryset), kind=kind, kinds=NoticePage.Kind.choices)
        return context


class NoticePage(PortalPageMixin, Page):
    """新闻/通知公告: one article."""

    class Kind(models.TextChoices):
        NOTICE = "notice", _("通知公告")
        NEWS = "news", _("工作动态")

    date = models.DateField(_("发布日期"))
    kind = models.CharField(_("类别"), max_length=10, choices=Kind.choices, default=Kind.NOTICE)
    summary = models.TextField(_("摘要"), blank=True, max_length=500)
    body = StreamField(body_blocks(), verbose_name=_("正文"), blank=True)

    content_panels = [
        *Page.content_panels,
        MultiFieldPanel([FieldPanel("date"), FieldPanel("kind")], heading=_("发布信息")),
        FieldPanel("summary"),
        FieldPanel("body"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("summary"), index.SearchField("body")]
    parent_page_types = ["cms.NoticeIndexPage"]
    subpage_types: list[str] = []
    template = "cms/notice_page.html"

    class Meta:
        verbose_name = _("新闻公告")
        indexes = [models.Index(fields=["date"], name="cms_notice_date_idx")]


class PolicyIndexPage(PortalPageMixin, Page):
    """政策文件 栏目, filterable by status and issuing body."""

    intro = models.TextField(_("导语"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.PolicyPage"]
    template = "cms/policy_index_page.html"

    class Meta:
        verbose_name = _("政策文件栏目")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        base = PolicyPage.objects.child_of(self).live().public()
        queryset = base.order_by("-issued_on", "-pk")
        status = request.GET.get("status", "")
        if status in PolicyPage.Status.values:
            queryset = queryset.filter(status=status)
        issuer = request.GET.get("issuer", "").strip()
        if issuer:
            queryset = queryset.filter(issuing_body=issuer)
        context.update(
            page_obj=_page_of(request, queryset),
            status=status,
            issuer=issuer,
            statuses=PolicyPage.Status.choices,
            issuers=list(base.order_by("issuing_body").values_list("issuing_body", flat=True).distinct()),
        )
        return context


class PolicyPage(PortalPageMixin, Page):
    """政策文件: a policy document with its issuing body, number (文号), date and status."""

    class Status(models.TextChoices):
        IN_FORCE = "in_force", _("现行有效")
        REPEALED = "repealed", _("已废止")

    issuing_body = models.CharField(_("发文机关"), max_length=100)
    document_number = models.CharField(
        _("发文字号"), max_length=60, blank=True, help_text=_("例如：枣政办字〔2019〕21号")
    )
    issued_on = models.DateField(_("成文日期"))
    status = models.CharField(_("效力状态"), max_length=10, choices=Status.choices, default=Status.IN_FORCE)
    repealed_on = models.DateField(_("废止日期"), null=True, blank=True)
    summary = models.TextField(_("摘要"), blank=True, max_length=500)
    body = StreamField(body_blocks(), verbose_name=_("正文"), blank=True)
    attachments = StreamField([("document", DocumentBlock())], verbose_name=_("附件"), blank=True)

    content_panels = [
        *Page.content_panels,
        MultiFieldPanel(
            [
                FieldPanel("issuing_body"),
                FieldPanel("document_number"),
                FieldPanel("issued_on"),
                FieldPanel("status"),
                FieldPanel("repealed_on"),
            ],
            heading=_("文件信息"),
        ),
        FieldPanel("summary"),
        FieldPanel("body"),
        FieldPanel("attachments"),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("document_number"),
        index.SearchField("issuing_body"),
        index.SearchField("summary"),
        index.SearchField("body"),
        index.FilterField("status"),
    ]
    parent_page_types = ["cms.PolicyIndexPage"]
    subpage_types: list[str] = []
    template = "cms/policy_page.html"

    class Meta:
        verbose_name = _("政策文件")
        indexes = [
            models.Index(fields=["status", "issued_on"], name="cms_policy_status_idx"),
            models.Index(fields=["issuing_body"], name="cms_policy_issuer_idx"),
        ]

    def clean(self):
        from django.core.exceptions import ValidationError

        super().clean()
        if self.status == self.Status.REPEALED and not self.repealed_on:
            raise ValidationError({"repealed_on": _("已废止的文件须填写废止日期。")})
        if self.status == self.Status.IN_FORCE and self.repealed_on:
            raise ValidationError({"repealed_on": _("现行有效的文件不应有废止日期。")})


class GuideIndexPage(PortalPageMixin, Page):
    """办事指南 栏目."""

    intro = models.TextField(_("导语"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.GuidePage"]
    template = "cms/guide_index_page.html"

    class Meta:
        verbose_name = _("办事指南栏目")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        guides = GuidePage.objects.child_of(self).live().public().order_by("path")
        audience = request.GET.get("audience", "")
        if audience in GuidePage.Audience.values:
            guides = guides.filter(audience=audience)
        context.update(guides=guides, audience=audience, audiences=GuidePage.Audience.choices)
        return context


class GuidePage(PortalPageMixin, Page):
    """办事指南: how to do one thing on the platform (register, post a project, a method...)."""

    class Audience(models.TextChoices):
        PUBLIC = "public", _("社会公众")
        INTERMEDIARY = "intermediary", _("中介机构")
        OWNER = "owner", _("项目业主")

    audience = models.CharField(
        _("适用对象"), max_length=20, choices=Audience.choices, default=Audience.PUBLIC
    )
    summary = models.TextField(_("摘要"), blank=True, max_length=500)
    body = StreamField(body_blocks(), verbose_name=_("正文"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("audience"), FieldPanel("summary"), FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("summary"), index.SearchField("body")]
    parent_page_types = ["cms.GuideIndexPage"]
    subpage_types: list[str] = []
    template = "cms/guide_page.html"

    class Meta:
        verbose_name = _("办事指南")


class FaqPage(PortalPageMixin, Page):
    """常见问题: questions and answers."""

    intro = models.TextField(_("导语"), blank=True)
    questions = StreamField([("question", QuestionBlock())], verbose_name=_("问答"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("questions")]
    search_fields = [*Page.search_fields, index.SearchField("questions")]
    parent_page_types = ["cms.HomePage"]
    subpage_types: list[str] = []
    template = "cms/faq_page.html"

    class Meta:
        verbose_name = _("常见问题")
