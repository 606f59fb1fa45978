"""Builders for the case tests: a flagged award, regulators, inspectors."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from marketplace.accounts.models import Role
from marketplace.core.validators import id_hash
from marketplace.oversight.models import Flag, Inspector, ViolationType
from marketplace.procurement.models import Application, Project, Selection
from tests.factories import (
    IntermediaryFactory,
    MembershipFactory,
    OrganisationFactory,
    make_id_number,
    member_of,
)
from tests.procurement.factories import published_project

_fingerprints = itertools.count()
_codes = itertools.count(1)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def regulator_user():
    return MembershipFactory(organisation=OrganisationFactory(kind=Role.REGULATOR, uscc=None)).user


def awarded_project(firm=None, owner=None) -> Project:
    """A published project whose selection named ``firm`` the winner."""
    firm = firm or IntermediaryFactory()
    project = published_project(owner=owner)
    application = Application.objects.create(
        project=project,
        intermediary=firm,
        submitted_by=member_of(firm.organisation),
        submitted_at=timezone.now() - timedelta(days=5),
        sealed_quote="sealed",
        quote_amount=Decimal("60000.00"),
        state=Application.State.VALID,
    )
    Selection.objects.create(
        project=project,
        round=1,
        method=project.method,
        performed_at=timezone.now() - timedelta(days=2),
        candidates=[application.pk],
        winner=application,
    )
    Project.objects.filter(pk=project.pk).update(status="selected")
    project.refresh_from_db()
    return project


def project_flag(project, *, rule="FE08", intermediary=None, status=Flag.Status.OPEN) -> Flag:
    now = timezone.now()
    return Flag.objects.create(
        rule=rule,
        category="fees",
        subject_type="project",
        subject_id=project.pk,
        fingerprint=f"case-fp-{next(_fingerprints)}",
        evidence={"project": project.public_number},
        weight=10,
        status=status,
        project=project,
        intermediary=intermediary,
        owner_id=project.owner_id,
        first_seen=now,
        last_seen=now,
    )


def inspector(organisation, *, person_id: str | None = None, department=None) -> Inspector:
    return Inspector.objects.create(
        code=f"ZF{next(_codes):04d}",
        name=f"检查员{next(_codes)}",
        id_hash=id_hash(person_id or valid_id()),
        organisation=organisation,
        department=department,
    )


def valid_id() -> str:
    from stdnum.cn import ric

    number = make_id_number()
    if ric.is_valid(number):
        return number
    body = number[:17]
    return body + ric.calc_check_digit(body + "0")


def violation(code: str) -> ViolationType:
    return ViolationType.objects.get(code=code)
