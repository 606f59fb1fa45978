"""What each searchable object looks like to a backend: plain ``Doc`` values built from the
domain in batches (one query per table, whatever the batch size).

Only public data goes in: listed firms, active offers of listed firms, published projects.
Projects carry their announcement fields only; applicants, quotes and anything sealed are never
read here (``Project.applicants_disclosed`` is the gate the pages use; search needs none of it).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone

from .aliases import aliases_for
from .models import Kind

BODY_CHARS = 2000
# How much of the body is matched against (names, aliases and codes always are): enough for
# what a description is about, short enough to keep index rows small.
BODY_MATCH_CHARS = 300


def normalise(text: str) -> str:
    """Half-width, lower-case, single-spaced: how text is stored and how queries are compared."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


@dataclass
class Doc:
    kind: str
    object_id: int
    title: str
    url: str
    subtitle: str = ""
    body: str = ""
    keywords: list[str] = field(default_factory=list)
    rating: Decimal | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    date: datetime | None = None
    # facet field -> [(value, label)]
    terms: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    suggest: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, int]:
        return (self.kind, self.object_id)

    @property
    def text(self) -> str:
        return normalise(" ".join([self.title, self.subtitle, *self.keywords, self.body[:BODY_MATCH_CHARS]]))

    def add_term(self, name: str, value: str, label: str) -> None:
        values = self.terms.setdefault(name, [])
        if all(v != value for v, _ in values):
            values.append((value, label))


def _service_type_terms(doc: Doc, service_type) -> None:
    doc.add_term("service_type", service_type.code, service_type.name_zh)
    doc.keywords.append(service_type.name_zh)
    doc.keywords.extend(aliases_for(service_type.name_zh))


def _qualification_terms(doc: Doc, qualification_type, level) -> None:
    doc.add_term("qualification", qualification_type.code, qualification_type.name_zh)
    doc.keywords.append(qualification_type.name_zh)
    if level is not None:
        doc.add_term(
            "level",
            f"{qualification_type.code}:{level.code}",
            f"{qualification_type.name_zh} {level.name_zh}",
        )
        doc.keywords.append(level.name_zh)


def intermediary_docs(ids: Iterable[int]) -> dict[int, Doc]:
    from marketplace.providers.models import PUBLIC_STATUSES, Intermediary, Offer, Qualification

    today = timezone.localdate()
    firms = (
        Intermediary.objects.filter(pk__in=list(ids), status__in=PUBLIC_STATUSES)
        .prefetch_related(
            Prefetch(
                "offers",
                queryset=Offer.objects.filter(is_active=True).select_related("service_type"),
                to_attr="active_offers",
            ),
            Prefetch(
                "qualifications",
                queryset=Qualification.objects.filter(valid_until__gte=today).select_related(
                    "qualification_type", "level"
                ),
                to_attr="valid_qualifications",
            ),
        )
        .only("pk", "name", "uscc", "description", "status", "rating_score", "listed_at", "address")
    )
    docs: dict[int, Doc] = {}
    for firm in firms:
        doc = Doc(
            kind=Kind.INTERMEDIARY,
            object_id=firm.pk,
            title=firm.name,
            subtitle=firm.uscc,
            url=reverse("providers:profile", args=[firm.pk]),
            body=firm.description[:BODY_CHARS],
            keywords=[firm.uscc],
            rating=firm.rating_score,
            date=firm.listed_at,
            suggest=[firm.name],
        )
        doc.add_term("status", firm.status, str(Intermediary.Status(firm.status).label))
        for offer in firm.active_offers:
            _service_type_terms(doc, offer.service_type)
        for q in firm.valid_qualifications:
            _qualification_terms(doc, q.qualification_type, q.level)
        docs[firm.pk] = doc
    return docs


def offer_docs(ids: Iterable[int]) -> dict[int, Doc]:
    from marketplace.providers.models import PUBLIC_STATUSES, Offer

    offers = (
        Offer.objects.filter(pk__in=list(ids), is_active=True, intermediary__status__in=PUBLIC_STATUSES)
        .select_related("intermediary", "service_type", "current_fee")
        .prefetch_related("qualifications__qualification_type", "qualifications__level")
    )
    docs: dict[int, Doc] = {}
    for offer in offers:
        firm = offer.intermediary
        fee = offer.current_fee
        doc = Doc(
            kind=Kind.OFFER,
            object_id=offer.pk,
            title=offer.service_type.name_zh,
            subtitle=firm.name,
            url=reverse("providers:fee-history", args=[offer.pk]),
            body=f"{offer.description}\n{offer.included}"[:BODY_CHARS],
            keywords=[firm.name, firm.uscc],
            rating=firm.rating_score,
            price_min=fee.fee_min if fee else None,
            price_max=fee.fee_max if fee else None,
            date=fee.effective_from if fee else offer.updated_at,
            suggest=[offer.service_type.name_zh, *aliases_for(offer.service_type.name_zh)],
        )
        _service_type_terms(doc, offer.service_type)
        for q in offer.qualifications.all():
            _qualification_terms(doc, q.qualification_type, q.level)
        docs[offer.pk] = doc
    return docs


def project_docs(ids: Iterable[int]) -> dict[int, Doc]:
    from marketplace.procurement.models import PUBLIC_STATUSES, Project, Requirement, Status

    projects = (
        Project.objects.filter(pk__in=list(ids), status__in=PUBLIC_STATUSES)
        .select_related("owner", "service_type", "department", "approval_item")
        .prefetch_related(
            Prefetch(
                "requirements",
                queryset=Requirement.objects.select_related("qualification_type", "min_level"),
            )
        )
        # Announcement fields only: nothing about applicants, quotes or the draw secret.
        .only(
            "pk",
            "public_number",
            "title",
            "status",
            "service_content",
            "price_floor",
            "price_ceiling",
            "published_at",
            "owner__name",
            "service_type__code",
            "service_type__name_zh",
            "department__code",
            "department__name_zh",
            "approval_item__name_zh",
        )
    )
    docs: dict[int, Doc] = {}
    for project in projects:
        doc = Doc(
            kind=Kind.PROJECT,
            object_id=project.pk,
            title=project.title,
            subtitle=f"{project.public_number} · {project.owner.name}",
            url=reverse("procurement:project", args=[project.pk]),
            body=project.service_content[:BODY_CHARS],
            keywords=[project.public_number, project.owner.name],
            price_min=project.price_floor,
            price_max=project.price_ceiling,
            date=project.published_at,
            suggest=[project.title],
        )
        _service_type_terms(doc, project.service_type)
        doc.add_term("status", project.status, str(Status(project.status).label))
        if (department := project.department) is not None:
            doc.add_term("department", department.code, department.name_zh)
            doc.keywords.append(department.name_zh)
        if (item := project.approval_item) is not None:
            doc.keywords.append(item.name_zh)
        for req in project.requirements.all():
            _qualification_terms(doc, req.qualification_type, req.min_level)
        docs[project.pk] = doc
    return docs


BUILDERS: dict[str, Callable[[Iterable[int]], dict[int, Doc]]] = {
    Kind.INTERMEDIARY: intermediary_docs,
    Kind.OFFER: offer_docs,
    Kind.PROJECT: project_docs,
}


def all_ids(kind: str) -> Iterable[int]:
    """Every candidate id of a kind (the builders drop what is not public)."""
    from marketplace.procurement.models import PUBLIC_STATUSES as PROJECT_PUBLIC
    from marketplace.procurement.models import Project
    from marketplace.providers.models import PUBLIC_STATUSES, Intermediary, Offer

    qs: QuerySet[Any]
    if kind == Kind.INTERMEDIARY:
        qs = Intermediary.objects.filter(status__in=PUBLIC_STATUSES)
    elif kind == Kind.OFFER:
        qs = Offer.objects.filter(is_active=True, intermediary__status__in=PUBLIC_STATUSES)
    else:
        qs = Project.objects.filter(status__in=PROJECT_PUBLIC)
    return qs.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=2000)
