"""The demo seeding of cases and inspections (``seed_demo`` runs it on the whole demo market;
here on a small one): what it promises is there, and a second run changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.utils import timezone

from marketplace.oversight import demo_cases
from marketplace.oversight.models import (
    Blacklisting,
    Case,
    CreditDeduction,
    ExplanationRequest,
    InspectionPlan,
)
from tests.factories import IntermediaryFactory, MembershipFactory, OrganisationFactory, member_of

from .helpers import awarded_project, project_flag

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_concluded_case_a_blacklisted_firm_an_open_request_and_plans():
    from marketplace.accounts.models import Role

    MembershipFactory(
        organisation=OrganisationFactory(kind=Role.REGULATOR, uscc=None), user__username="regulator"
    )
    for _ in range(3):
        firm = IntermediaryFactory()
        member_of(firm.organisation)
        project_flag(awarded_project(firm))
    for _ in range(3):
        IntermediaryFactory()
    out = StringIO()
    demo_cases.seed_into(out)
    assert "Cases: concluded JG" in out.getvalue()
    closed = Case.objects.get(status=Case.Status.CLOSED)
    assert CreditDeduction.objects.filter(case=closed, points=10).exists() and closed.remedied_at
    entry = Blacklisting.objects.get()
    assert entry.intermediary.blacklisted_until == entry.ends_on >= timezone.localdate()
    assert ExplanationRequest.objects.filter(status=ExplanationRequest.Status.PENDING).count() == 1
    assert sorted(InspectionPlan.objects.values_list("status", flat=True)) == ["concluded", "published"]
    again = StringIO()
    demo_cases.seed_into(again)
    assert "nothing to do" in again.getvalue()
    assert Case.objects.count() == 3
