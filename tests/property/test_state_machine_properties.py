"""The project state machine (marketplace/procurement/states.py): no sequence of calls, allowed
or not, reaches a state the transition table does not allow, and every refused call changes
nothing. Checked with Hypothesis on the table and on real rows."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.core.audit import audit_verify
from marketplace.core.errors import DomainError
from marketplace.core.models import AuditEvent
from marketplace.procurement.models import Project, Status
from marketplace.procurement.states import TERMINAL, TRANSITIONS, can_transition, transition
from tests.procurement.factories import owner_user, project_input

STATUSES = sorted(Status.values)


def _reachable(start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for target in TRANSITIONS[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_table_names_every_status_and_only_statuses():
    assert set(TRANSITIONS) == set(STATUSES)
    assert all(targets <= set(STATUSES) for targets in TRANSITIONS.values())


def test_every_status_is_reachable_from_a_draft():
    assert _reachable(Status.DRAFT) == set(STATUSES)


def test_every_status_can_still_reach_an_end():
    assert all(_reachable(status) & TERMINAL for status in STATUSES)


@given(st.lists(st.sampled_from(STATUSES), max_size=40))
def test_following_any_sequence_of_requests_stays_inside_the_table(requests):
    state = Status.DRAFT
    for target in requests:
        if can_transition(state, target):
            assert target in TRANSITIONS[state]
            state = target
    assert state in TRANSITIONS


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=st.lists(st.sampled_from(STATUSES), min_size=1, max_size=15))
def test_a_project_row_moves_only_along_the_table_and_refusals_change_nothing(requests):
    from marketplace.procurement import services

    project = services.project_create(actor=owner_user(), data=project_input())
    expected = project.status
    moved = 0
    for target in requests:
        allowed = can_transition(expected, target)
        try:
            with transaction.atomic():
                locked = Project.objects.select_for_update().get(pk=project.pk)
                transition(locked, target, actor=None, action="test.move")
        except DomainError:
            assert not allowed
        else:
            assert allowed
            expected = target
            moved += 1
        assert Project.objects.get(pk=project.pk).status == expected
    events = AuditEvent.objects.filter(object_id=str(project.pk), action="test.move").count()
    assert events == moved
    assert audit_verify().ok
