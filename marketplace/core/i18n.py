from django.db import models
from django.utils.translation import get_language


def use_english() -> bool:
    return (get_language() or "zh-hans").startswith("en")


class BilingualNameMixin(models.Model):
    """``name_zh`` is the official name; ``name_en`` its English rendering; ``name`` picks one."""

    name_zh = models.CharField("名称", max_length=200)
    name_en = models.CharField("Name (English)", max_length=200, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        if use_english() and self.name_en:
            return self.name_en
        return self.name_zh
