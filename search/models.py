"""The database backend's index and the outbox cursor.

The outbox is the audit log (``core.AuditEvent``): every service writes an event in the same
transaction as its change, events are numbered in commit order, and nothing deletes them.
``OutboxCursor`` remembers the last event whose change reached the index, so a drain that fails
leaves the cursor where it was and the next drain picks the same events up again.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    INTERMEDIARY = "intermediary", _("中介机构")
    OFFER = "offer", _("服务项目")
    PROJECT = "project", _("采购公告")


class SearchDocument(models.Model):
    """检索文档: one searchable object, denormalised for the database backend."""

    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.BigIntegerField()
    title = models.CharField(max_length=300)
    subtitle = models.CharField(max_length=300, blank=True)
    # Lower-cased, half-width text that queries match against: title, aliases, codes, the start
    # of the body. On PostgreSQL its character pairs are indexed (``grams_tsv``, migration 0002).
    # (On SQLite, a migration that adds a column rebuilds this table and drops the FTS triggers:
    # see 0003 for how to restore them.)
    text = models.TextField()
    body = models.TextField(blank=True)
    url = models.CharField(max_length=200)
    rating = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    price_min = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    price_max = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    date = models.DateTimeField(null=True)
    suggest = models.CharField(max_length=300, blank=True)
    # The document's facet values as ``SearchFacet`` ids ("12 57 301"): a keyword search reads
    # them with the ranked matches and counts facets in one pass, without a join.
    facets = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = _("检索文档")
        verbose_name_plural = _("检索文档")
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="search_document_unique")]
        indexes = [
            models.Index(fields=["kind", "-date"]),
            models.Index(fields=["kind", "price_min"]),
            models.Index(fields=["kind", "rating"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id} {self.title}"


class SearchTerm(models.Model):
    """A filterable, countable value of a document (service type, qualification, status...)."""

    document = models.ForeignKey(SearchDocument, on_delete=models.CASCADE, related_name="terms")
    field = models.CharField(max_length=20)
    value = models.CharField(max_length=120)
    label = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["document", "field", "value"], name="search_term_unique"),
        ]
        indexes = [models.Index(fields=["field", "value", "document"])]

    def __str__(self) -> str:
        return f"{self.field}={self.value}"


class SearchFacet(models.Model):
    """A facet value (a service type, a qualification, a status...) and its label, numbered so
    that a document lists its values compactly in ``SearchDocument.facets``."""

    field = models.CharField(max_length=20)
    value = models.CharField(max_length=120)
    label = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["field", "value"], name="search_facet_unique")]

    def __str__(self) -> str:
        return f"{self.field}={self.value}"


class OutboxCursor(models.Model):
    """How far the audit log (the outbox) has been applied to the active backend."""

    backend = models.CharField(max_length=20, unique=True)
    last_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(null=True)
    failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.backend} @ {self.last_seq}"
