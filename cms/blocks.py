"""The few StreamField blocks the portal's pages are written with.

Rich text is limited to a small set of features; Wagtail stores it through its own converter,
which keeps only those elements and attributes, so an editor cannot inject markup or scripts.
"""

from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.documents.blocks import DocumentChooserBlock

RICH_TEXT_FEATURES = ["h3", "h4", "bold", "italic", "ol", "ul", "link", "document-link"]


class ParagraphBlock(blocks.RichTextBlock):
    class Meta:
        icon = "pilcrow"
        label = _("正文")
        template = "cms/blocks/paragraph.html"


class HeadingBlock(blocks.CharBlock):
    class Meta:
        icon = "title"
        label = _("小标题")
        template = "cms/blocks/heading.html"


class StepsBlock(blocks.StructBlock):
    """办事步骤: an ordered list of steps, each with a title and a short explanation."""

    title = blocks.CharBlock(label=_("标题"), required=False)
    steps = blocks.ListBlock(
        blocks.StructBlock(
            [
                ("title", blocks.CharBlock(label=_("步骤"))),
                ("text", blocks.TextBlock(label=_("说明"), required=False)),
            ]
        ),
        label=_("步骤"),
    )

    class Meta:
        icon = "list-ol"
        label = _("办理步骤")
        template = "cms/blocks/steps.html"


class NoticeBlock(blocks.StructBlock):
    """A highlighted box: a legal basis, a warning or a tip."""

    kind = blocks.ChoiceBlock(
        choices=[("info", _("提示")), ("warning", _("注意")), ("basis", _("依据"))],
        default="info",
        label=_("类型"),
    )
    text = blocks.RichTextBlock(features=["bold", "italic", "link"], label=_("内容"))

    class Meta:
        icon = "warning"
        label = _("提示框")
        template = "cms/blocks/notice.html"


class LinkBlock(blocks.StructBlock):
    """A link to a page of the market (a list, a form) or of the portal."""

    text = blocks.CharBlock(label=_("链接文字"))
    page = blocks.PageChooserBlock(label=_("门户页面"), required=False)
    url = blocks.CharBlock(
        label=_("站内地址"), required=False, help_text=_("以 / 开头的站内路径，例如 /projects/")
    )

    class Meta:
        icon = "link"
        label = _("链接")
        template = "cms/blocks/link.html"

    def clean(self, value):
        from django.core.exceptions import ValidationError
        from wagtail.blocks import StructBlockValidationError

        value = super().clean(value)
        url = value.get("url") or ""
        if bool(value.get("page")) == bool(url):
            raise StructBlockValidationError(
                block_errors={"url": ValidationError(_("请选择一个门户页面或填写一个站内地址（二选一）。"))}
            )
        if url and (not url.startswith("/") or url.startswith("//")):
            raise StructBlockValidationError(
                block_errors={"url": ValidationError(_("站内地址必须以 / 开头。"))}
            )
        return value


class DocumentBlock(blocks.StructBlock):
    document = DocumentChooserBlock(label=_("文件"))
    title = blocks.CharBlock(label=_("显示名称"), required=False)

    class Meta:
        icon = "doc-full"
        label = _("附件")
        template = "cms/blocks/document.html"


class QuestionBlock(blocks.StructBlock):
    question = blocks.CharBlock(label=_("问题"))
    answer = blocks.RichTextBlock(features=["bold", "italic", "ol", "ul", "link"], label=_("解答"))

    class Meta:
        icon = "help"
        label = _("问答")
        template = "cms/blocks/question.html"


def body_blocks() -> list[tuple[str, blocks.Block]]:
    return [
        ("heading", HeadingBlock()),
        ("paragraph", ParagraphBlock(features=RICH_TEXT_FEATURES)),
        ("steps", StepsBlock()),
        ("notice", NoticeBlock()),
        ("link", LinkBlock()),
        ("document", DocumentBlock()),
    ]
