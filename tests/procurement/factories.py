"""Helpers to build projects in any state through the real services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from marketplace.accounts.models import Role
from marketplace.core.workdays import add_working_days
from marketplace.procurement import services
from marketplace.procurement.models import Project
from tests.factories import (
    IntermediaryFactory,
    MembershipFactory,
    OfferFactory,
    OrganisationFactory,
    ServiceTypeFactory,
)


def future_deadline(working_days: int = 7):
    day = add_working_days(timezone.localdate(), working_days)
    return timezone.make_aware(timezone.datetime(day.year, day.month, day.day, 17, 0))


def owner_user():
    return MembershipFactory(organisation=OrganisationFactory(kind=Role.OWNER)).user


def operator_user():
    return MembershipFactory(organisation=OrganisationFactory(kind=Role.OPERATOR, uscc=None)).user


def project_input(service_type=None, **overrides) -> services.ProjectInput:
    deadline = overrides.pop("registration_deadline", None) or future_deadline()
    values = {
        "title": "某某道路建设项目环境影响评价",
        "service_type": service_type or ServiceTypeFactory(),
        "funding_source": "fiscal",
        "scale": Decimal("5000"),
        "price_floor": Decimal("50000"),
        "price_ceiling": Decimal("100000"),
        "service_content": "编制环境影响报告书并配合技术评估",
        "service_days": 30,
        "method": "lowest_price",
        "registration_deadline": deadline,
        "selection_time": deadline + timedelta(hours=1),
    }
    values.update(overrides)
    return services.ProjectInput(**values)


def published_project(owner=None, operator=None, **overrides) -> Project:
    owner = owner or owner_user()
    operator = operator or operator_user()
    project = services.project_create(actor=owner, data=project_input(**overrides))
    services.project_submit(actor=owner, project=project)
    services.project_check(actor=operator, project=project, approve=True)
    project.refresh_from_db()
    return project


def firm_user(service_type, **firm_kwargs):
    firm = IntermediaryFactory(**firm_kwargs)
    OfferFactory(intermediary=firm, service_type=service_type)
    user = MembershipFactory(organisation=firm.organisation).user
    return firm, user


def pass_deadline(project: Project, *, selection_too: bool = True) -> Project:
    """Move the project's clock past its registration deadline (and selection time)."""
    past = timezone.now() - timedelta(minutes=5)
    Project.objects.filter(pk=project.pk).update(
        registration_deadline=past,
        selection_time=past if selection_too else timezone.now() + timedelta(days=1),
    )
    project.refresh_from_db()
    return project
