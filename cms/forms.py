"""The admin form of the portal's pages: the slug may be left empty for a Chinese title."""

from __future__ import annotations

from django.utils import timezone
from django.utils.text import slugify
from wagtail.admin.forms import WagtailAdminPageForm
from wagtail.models import Page


def dated_slug(model_name: str, parent: Page, instance: Page | None = None) -> str:
    """``notice-20261130``, then ``-2``, ``-3``... until it is free under ``parent``."""
    base = f"{model_name.removesuffix('page')}-{timezone.localdate():%Y%m%d}"
    candidate, number = base, 1
    while not Page._slug_is_available(candidate, parent, instance):
        number += 1
        candidate = f"{base}-{number}"
    return candidate


class PortalPageForm(WagtailAdminPageForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            self.fields["slug"].required = False

    def clean(self):
        cleaned_data = super().clean()
        title = cleaned_data.get("title") or ""
        if "slug" in self.fields and not cleaned_data.get("slug"):
            slug = slugify(title)
            if slug and Page._slug_is_available(slug, self.parent_page, self.instance):
                cleaned_data["slug"] = slug
            else:
                cleaned_data["slug"] = dated_slug(
                    self.instance._meta.model_name, self.parent_page, self.instance
                )
        return cleaned_data
